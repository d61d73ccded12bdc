export * from './tensor-map.js';
export * from './safetensors.js';
export * from './state-dict.js';
export * from './upkern.js';
