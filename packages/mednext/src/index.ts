/**
 * @mednext-ts/mednext: MedNeXt v1 networks, weights I/O, training, inference and ensembling.
 */
export * from './tasks/index.js';
