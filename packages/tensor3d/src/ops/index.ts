/** tfjs ops the project needs and tfjs lacks, with kernels for every supported backend and gradients. */
export * from './depthwise-conv3d/index.js';
export { registerCoreGradients, hasCoreGradients } from './core-gradients.js';
