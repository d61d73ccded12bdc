export * from './region-losses.js';
export * from './deep-supervision.js';
