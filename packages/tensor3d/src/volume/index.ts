export * from './volume.js';
