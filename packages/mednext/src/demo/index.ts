/** The built-in demo: phantom cases and overlay pictures. */
export * from './overlay.js';
export * from './phantom.js';
export * from './png.js';
export * from './task-phantom.js';
