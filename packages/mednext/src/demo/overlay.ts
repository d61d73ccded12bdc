/**
 * Overlay pictures: a slice through the tumour centre in each plane, one panel per modality,
 * labels coloured over the greyscale image (like the paper's Figures 1 and 2).
 */
import type { Shape3, Volume, VoxelArray } from '@mednext-ts/tensor3d';
import type { LabelDefinition } from '../tasks/index.js';
import { drawText, fillRect, textHeight, textWidth } from './font.js';
import { encodePng, type ZlibDeflate } from './png.js';

/** The three orthogonal planes. Axial fixes z, coronal fixes y, sagittal fixes x. */
export type Plane = 'axial' | 'coronal' | 'sagittal';

/** An RGB picture, rows top to bottom. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** Options of {@link renderOverlay}. */
export interface OverlayOptions {
  /** Colour per label value; missing labels get a palette colour. */
  colours?: Record<number, [number, number, number]>;
  /** Opacity of the label colours, default 0.45. */
  alpha?: number;
  /** Panels are scaled up by an integer factor until their smaller side is at least this many pixels; default 200. */
  minPanelSize?: number;
  /**
   * `fill` (default) blends the label colours over the image; `contour` draws only the outline of each label in
   * its colour, fully opaque, so the tumour's texture stays visible.
   */
  style?: 'fill' | 'contour';
}

const NAMED_COLOURS: Record<string, [number, number, number]> = {
  ET: [255, 215, 0],
  NETC: [230, 40, 40],
  NCR: [230, 40, 40],
  SNFH: [40, 200, 70],
  ED: [40, 200, 70],
  CC: [0, 190, 255],
};
const PALETTE: [number, number, number][] = [
  [230, 40, 40],
  [40, 200, 70],
  [255, 215, 0],
  [0, 190, 255],
  [200, 80, 255],
  [255, 140, 0],
];

/** BraTS-like colours for a task's labels: ET yellow, NETC red, edema green, cyst cyan. */
export function coloursForLabels(labels: readonly LabelDefinition[]): Record<number, [number, number, number]> {
  return Object.fromEntries(
    labels.map((l, i) => [l.value, NAMED_COLOURS[l.name.toUpperCase()] ?? PALETTE[i % PALETTE.length]!]),
  );
}

/** Centroid (rounded voxel indices) of the non-zero labels, or the grid centre when there are none. */
export function labelCentre(label: Volume<VoxelArray>): [number, number, number] {
  const [nx, ny, nz] = label.shape;
  let sx = 0;
  let sy = 0;
  let sz = 0;
  let n = 0;
  let i = 0;
  for (let x = 0; x < nx; x++)
    for (let y = 0; y < ny; y++)
      for (let z = 0; z < nz; z++, i++) {
        if (label.data[i]) {
          sx += x;
          sy += y;
          sz += z;
          n++;
        }
      }
  if (n === 0) return [Math.floor(nx / 2), Math.floor(ny / 2), Math.floor(nz / 2)];
  return [Math.round(sx / n), Math.round(sy / n), Math.round(sz / n)];
}

/** Grey-level window of a modality: 0.5th and 99.5th percentiles of its non-zero voxels (from a sample). */
function intensityWindow(data: VoxelArray): [number, number] {
  const step = Math.max(1, Math.floor(data.length / 200_000));
  const values: number[] = [];
  for (let i = 0; i < data.length; i += step) if (data[i] !== 0) values.push(data[i]!);
  if (values.length === 0) return [0, 1];
  values.sort((a, b) => a - b);
  const lo = values[Math.floor(0.005 * (values.length - 1))]!;
  const hi = values[Math.ceil(0.995 * (values.length - 1))]!;
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

/** Voxel (x, y, z) shown at panel pixel (column, row) of a plane, before scaling. */
function planeGeometry(plane: Plane, shape: Shape3, spacing: [number, number, number], index: number) {
  // Columns and rows: which axis, how many voxels, voxel size. Rows run from high to low index so
  // anterior (y) and superior (z) end up at the top for RAS-like grids.
  const axes = plane === 'axial' ? ([0, 1] as const) : plane === 'coronal' ? ([0, 2] as const) : ([1, 2] as const);
  const cols = shape[axes[0]];
  const rows = shape[axes[1]];
  const voxel = (c: number, r: number): [number, number, number] => {
    const v: [number, number, number] = [index, index, index];
    v[axes[0]] = c;
    v[axes[1]] = rows - 1 - r;
    return v;
  };
  return { cols, rows, colMm: spacing[axes[0]], rowMm: spacing[axes[1]], voxel };
}

/**
 * Renders one plane through `centre`: the modalities side by side, each with the labels blended
 * on top (pass no label for plain images). Anisotropic voxels are stretched to their true aspect.
 */
export function renderOverlay(
  images: readonly Volume<VoxelArray>[],
  label: Volume<VoxelArray> | undefined,
  plane: Plane,
  centre: [number, number, number],
  options: OverlayOptions = {},
): RgbImage {
  if (images.length === 0) throw new RangeError('renderOverlay: no images');
  const shape = images[0]!.shape;
  for (const [i, img] of [...images, ...(label ? [label] : [])].entries()) {
    if (img.shape.some((n, a) => n !== shape[a]))
      throw new RangeError(
        `renderOverlay: volume ${i} has shape [${img.shape.join(', ')}], expected [${shape.join(', ')}]`,
      );
  }
  const spacing = images[0]!.spacing ?? [1, 1, 1];
  const fixedAxis = plane === 'axial' ? 2 : plane === 'coronal' ? 1 : 0;
  const index = Math.min(shape[fixedAxis] - 1, Math.max(0, centre[fixedAxis]));
  const g = planeGeometry(plane, shape, spacing, index);
  const pixelMm = Math.min(g.colMm, g.rowMm);
  const baseW = Math.round((g.cols * g.colMm) / pixelMm);
  const baseH = Math.round((g.rows * g.rowMm) / pixelMm);
  const scale = Math.max(1, Math.ceil((options.minPanelSize ?? 200) / Math.min(baseW, baseH)));
  const panelW = baseW * scale;
  const panelH = baseH * scale;
  const gap = 4;
  const width = images.length * panelW + (images.length - 1) * gap;
  const rgb = new Uint8Array(width * panelH * 3);
  const contour = options.style === 'contour';
  const alpha = contour ? 1 : (options.alpha ?? 0.45);
  const colours = options.colours ?? {};
  const [, ny, nz] = shape;
  const voxelRow = (r: number) => Math.min(g.rows - 1, Math.floor(((r / scale) * pixelMm) / g.rowMm));
  const voxelCol = (c: number) => Math.min(g.cols - 1, Math.floor(((c / scale) * pixelMm) / g.colMm));
  const labelAt = (c: number, r: number): number => {
    if (!label || c < 0 || r < 0 || c >= panelW || r >= panelH) return 0;
    const [x, y, z] = g.voxel(voxelCol(c), voxelRow(r));
    return label.data[(x * ny + y) * nz + z]!;
  };
  // In contour style a pixel is drawn when one of its four neighbours shows another label (or lies outside).
  const onOutline = (c: number, r: number, l: number): boolean =>
    labelAt(c - 1, r) !== l || labelAt(c + 1, r) !== l || labelAt(c, r - 1) !== l || labelAt(c, r + 1) !== l;
  for (const [m, img] of images.entries()) {
    const [lo, hi] = intensityWindow(img.data);
    const x0 = m * (panelW + gap);
    for (let r = 0; r < panelH; r++) {
      const vr = voxelRow(r);
      for (let c = 0; c < panelW; c++) {
        const vc = voxelCol(c);
        const [x, y, z] = g.voxel(vc, vr);
        const i = (x * ny + y) * nz + z;
        const grey = Math.max(0, Math.min(255, ((img.data[i]! - lo) / (hi - lo)) * 255));
        let R = grey;
        let G = grey;
        let B = grey;
        const l = label ? label.data[i]! : 0;
        if (l && (!contour || onOutline(c, r, l))) {
          const col = colours[l] ?? PALETTE[(l - 1) % PALETTE.length]!;
          R = (1 - alpha) * grey + alpha * col[0];
          G = (1 - alpha) * grey + alpha * col[1];
          B = (1 - alpha) * grey + alpha * col[2];
        }
        const o = (r * width + x0 + c) * 3;
        rgb[o] = R;
        rgb[o + 1] = G;
        rgb[o + 2] = B;
      }
    }
  }
  return { width, height: panelH, rgb };
}

/** PNG files (bytes) for the three planes through the label centre (or `centre` when given). */
export function overlayPngs(
  images: readonly Volume<VoxelArray>[],
  label: Volume<VoxelArray> | undefined,
  options: OverlayOptions & { centre?: [number, number, number]; deflate?: ZlibDeflate } = {},
): Record<Plane, Uint8Array> {
  const shape = images[0]!.shape;
  const centre =
    options.centre ??
    (label ? labelCentre(label) : [Math.floor(shape[0] / 2), Math.floor(shape[1] / 2), Math.floor(shape[2] / 2)]);
  const out = {} as Record<Plane, Uint8Array>;
  for (const plane of ['axial', 'coronal', 'sagittal'] as const) {
    const img = renderOverlay(images, label, plane, centre, options);
    out[plane] = encodePng(img.width, img.height, img.rgb, options.deflate);
  }
  return out;
}

/** One row of a figure: a label map over every modality, with a title ("prediction", "truth"). */
export interface FigureRow {
  title: string;
  /** Labels to draw over the images (none: the plain images). */
  label?: Volume<VoxelArray>;
}

/** Options of {@link renderFigure}: the overlay options plus the annotations. */
export interface FigureOptions extends OverlayOptions {
  /** Name of each modality, written over its column (e.g. `t1n`, `t1c`, `t2w`, `t2f`). */
  names?: readonly string[];
  /** Legend entries, drawn under the panels with their colours (e.g. the task's labels). */
  legend?: readonly { value: number; name: string }[];
  /**
   * The anatomical direction each voxel axis increases towards, e.g. `'LPS'` (io-nifti's `orientationCodes` of
   * the image's affine). Gives the orientation letters at the panel edges; without it none are drawn.
   */
  orientation?: string;
}

const OPPOSITE: Record<string, string> = { R: 'L', L: 'R', A: 'P', P: 'A', S: 'I', I: 'S' };
const BAND: [number, number, number] = [24, 24, 24];
const TEXT: [number, number, number] = [235, 235, 235];
const MARK: [number, number, number] = [255, 255, 120];
const BLACK: [number, number, number] = [0, 0, 0];

/** Which voxel axes run along a plane's columns (left to right) and rows (bottom to top). */
function planeAxes(plane: Plane): [number, number] {
  return plane === 'axial' ? [0, 1] : plane === 'coronal' ? [0, 2] : [1, 2];
}

/** The letters at a panel's left, right, top and bottom edges for an orientation code such as `'LPS'`. */
export function edgeLetters(
  plane: Plane,
  orientation: string,
): { left: string; right: string; top: string; bottom: string } {
  const [colAxis, rowAxis] = planeAxes(plane);
  const right = orientation[colAxis]?.toUpperCase() ?? '?';
  const top = orientation[rowAxis]?.toUpperCase() ?? '?';
  return { left: OPPOSITE[right] ?? '?', right, top, bottom: OPPOSITE[top] ?? '?' };
}

function blit(target: RgbImage, source: RgbImage, x: number, y: number): void {
  for (let r = 0; r < source.height; r++) {
    const from = r * source.width * 3;
    target.rgb.set(source.rgb.subarray(from, from + source.width * 3), ((y + r) * target.width + x) * 3);
  }
}

/**
 * Renders one plane as an annotated figure: a header with the plane and slice index, the modality names over
 * the columns, one titled row of panels per label map (e.g. the prediction and, beside it, the truth), the
 * orientation letters on every panel, and a legend of the label colours.
 */
export function renderFigure(
  images: readonly Volume<VoxelArray>[],
  rows: readonly FigureRow[],
  plane: Plane,
  centre: [number, number, number],
  options: FigureOptions = {},
): RgbImage {
  if (rows.length === 0) throw new RangeError('renderFigure: no rows');
  const rendered = rows.map((row) => renderOverlay(images, row.label, plane, centre, options));
  const panelsW = rendered[0]!.width;
  const panelH = rendered[0]!.height;
  const gap = 4;
  const panelW = (panelsW - (images.length - 1) * gap) / images.length;
  const scale = panelH >= 160 ? 2 : 1;
  const pad = 3 * scale;
  const band = textHeight(scale) + 2 * pad;
  const shape = images[0]!.shape;
  const fixedAxis = plane === 'axial' ? 2 : plane === 'coronal' ? 1 : 0;
  const index = Math.min(shape[fixedAxis] - 1, Math.max(0, centre[fixedAxis]));
  const header = `${plane} slice ${index + 1} of ${shape[fixedAxis]} (${'xyz'[fixedAxis]}=${index})`;
  const legend = options.legend ?? [];
  const legendText = legend.map((e) => e.name);
  const legendW = legendText.reduce((w, t) => w + band + textWidth(t, scale) + 4 * pad, 0);
  const width = Math.max(panelsW, textWidth(header, scale) + 2 * pad, legendW + pad);
  const hasNames = (options.names?.length ?? 0) > 0;
  const height = band + (hasNames ? band : 0) + rows.length * (band + panelH) + (legend.length > 0 ? band : 0);
  const figure: RgbImage = { width, height, rgb: new Uint8Array(width * height * 3) };
  fillRect(figure, 0, 0, width, height, BAND);
  drawText(figure, header, pad, pad, scale, TEXT);
  let y = band;
  if (hasNames) {
    options.names!.forEach((name, m) => {
      const x = m * (panelW + gap) + (panelW - textWidth(name, scale)) / 2;
      drawText(figure, name, Math.max(0, Math.round(x)), y + pad, scale, TEXT);
    });
    y += band;
  }
  const letters = options.orientation ? edgeLetters(plane, options.orientation) : undefined;
  const th = textHeight(scale);
  for (const [k, row] of rows.entries()) {
    drawText(figure, row.title, pad, y + pad, scale, TEXT);
    y += band;
    blit(figure, rendered[k]!, 0, y);
    if (letters) {
      for (let m = 0; m < images.length; m++) {
        const x0 = m * (panelW + gap);
        const midY = y + Math.round((panelH - th) / 2);
        const cw = textWidth('M', scale);
        drawText(figure, letters.left, x0 + 2, midY, scale, MARK, BLACK);
        drawText(figure, letters.right, x0 + panelW - cw - 2, midY, scale, MARK, BLACK);
        drawText(figure, letters.top, x0 + Math.round((panelW - cw) / 2), y + 2, scale, MARK, BLACK);
        drawText(figure, letters.bottom, x0 + Math.round((panelW - cw) / 2), y + panelH - th - 2, scale, MARK, BLACK);
      }
    }
    y += panelH;
  }
  if (legend.length > 0) {
    let x = pad;
    for (const entry of legend) {
      const colour = options.colours?.[entry.value] ?? PALETTE[(entry.value - 1) % PALETTE.length]!;
      fillRect(figure, x, y + pad, th, th, colour);
      x += th + pad;
      drawText(figure, entry.name, x, y + pad, scale, TEXT);
      x += textWidth(entry.name, scale) + 3 * pad;
    }
  }
  return figure;
}

/**
 * PNG files (bytes) of the annotated figure ({@link renderFigure}) for the three planes through the centre of
 * the first row's labels (or `centre` when given).
 */
export function figurePngs(
  images: readonly Volume<VoxelArray>[],
  rows: readonly FigureRow[],
  options: FigureOptions & { centre?: [number, number, number]; deflate?: ZlibDeflate } = {},
): Record<Plane, Uint8Array> {
  const shape = images[0]!.shape;
  const first = rows[0]?.label;
  const centre =
    options.centre ??
    (first ? labelCentre(first) : [Math.floor(shape[0] / 2), Math.floor(shape[1] / 2), Math.floor(shape[2] / 2)]);
  const out = {} as Record<Plane, Uint8Array>;
  for (const plane of ['axial', 'coronal', 'sagittal'] as const) {
    const img = renderFigure(images, rows, plane, centre, options);
    out[plane] = encodePng(img.width, img.height, img.rgb, options.deflate);
  }
  return out;
}
