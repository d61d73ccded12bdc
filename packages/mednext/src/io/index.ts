/** Array file formats: NumPy `.npy` reading and writing. */
export { parseNpy, serializeNpy, type NpyArray } from './npy.js';
