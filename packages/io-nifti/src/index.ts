/** @mednext-ts/io-nifti (work in progress). */
export {};
