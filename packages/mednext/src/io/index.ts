export { parseNpy, serializeNpy, type NpyArray } from './npy.js';
