/** @mednext-ts/optim-schedulefree (work in progress). */
export {};
