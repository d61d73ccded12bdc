/** @mednext-ts/metrics (work in progress). */
export {};
