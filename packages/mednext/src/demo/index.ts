/** The built-in demo: seeded phantom cases, overlay pictures and figures, and a PNG encoder for them. */
// Overlay pictures and figures of a case and its labels.
export {
  coloursForLabels,
  type FigureOptions,
  figurePngs,
  type FigureRow,
  labelCentre,
  type OverlayOptions,
  overlayPngs,
  type Plane,
  renderFigure,
  renderOverlay,
  type RgbImage,
} from './overlay.js';
// A seeded synthetic BraTS-like case.
export { generatePhantom, type Phantom, phantomAffine, type PhantomOptions, type PhantomVariant } from './phantom.js';
// A minimal PNG encoder (8-bit RGB) for the overlay pictures.
export { crc32, encodePng } from './png.js';
// Seeded synthetic cases for any task.
export { generateTaskPhantom, type TaskPhantom, type TaskPhantomOptions } from './task-phantom.js';
