export * from './tensor-map.js';
export * from './safetensors.js';
export * from './state-dict.js';
export * from './upkern.js';
export * from './zip.js';
export * from './pickle.js';
export * from './pth.js';
export * from './checkpoint.js';
