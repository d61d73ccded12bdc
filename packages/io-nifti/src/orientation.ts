/**
 * Reorientation by axis permutation and flips only (no resampling): the voxel grid is re-indexed so
 * that the image axes point to the requested anatomical directions, and the affine is updated so that
 * every voxel keeps its world position.
 */
import {
  affineToQuaternion,
  matmul4,
  orientationCodes,
  qformAffine,
  setQuaternionFields,
  sformAffine,
  type Mat4,
} from './affine.js';
import type { NiftiTypedArray } from './datatypes.js';
import { NiftiError } from './errors.js';
import { cloneHeader } from './header.js';
import { NiftiImage } from './image.js';

const AXIS_OF: Record<string, { world: number; positive: boolean }> = {
  R: { world: 0, positive: true },
  L: { world: 0, positive: false },
  A: { world: 1, positive: true },
  P: { world: 1, positive: false },
  S: { world: 2, positive: true },
  I: { world: 2, positive: false },
};

/** For each output axis: which input axis feeds it and whether it is reversed. */
export interface AxisMapping {
  source: [number, number, number];
  flip: [boolean, boolean, boolean];
}

/** Checks an orientation string such as `'RAS'` (one letter per world axis). */
export function parseOrientation(codes: string): string {
  const up = codes.toUpperCase();
  const worlds = [...up].map((c) => AXIS_OF[c]?.world);
  if (up.length !== 3 || worlds.some((w) => w === undefined) || new Set(worlds).size !== 3) {
    throw new NiftiError(
      'BAD_ARGUMENT',
      `orientation "${codes}" must be three letters from R/L, A/P, S/I, one per axis (e.g. RAS, LPS)`,
    );
  }
  return up;
}

/** The permutation/flips that turn orientation `from` into `to` (both like `'LPS'`). */
export function axisMapping(from: string, to: string): AxisMapping {
  const src = parseOrientation(from);
  const dst = parseOrientation(to);
  const source: [number, number, number] = [0, 0, 0];
  const flip: [boolean, boolean, boolean] = [false, false, false];
  for (let t = 0; t < 3; t++) {
    const want = AXIS_OF[dst[t]!]!;
    const s = [...src].findIndex((c) => AXIS_OF[c]!.world === want.world);
    source[t] = s;
    flip[t] = AXIS_OF[src[s]!]!.positive !== want.positive;
  }
  return { source, flip };
}

/**
 * Returns the image re-indexed to orientation `target` (default `'RAS'`), data and header both updated.
 * Returns the same image when it is already in that orientation. Channels (dims >= 4) are carried along.
 * Images without qform and sform (both codes 0) cannot be reoriented: their geometry is unknown.
 */
export function reorient(image: NiftiImage, target = 'RAS'): NiftiImage {
  const to = parseOrientation(target);
  const from = image.orientation;
  if (from === to) return image;
  if (image.header.qformCode <= 0 && image.header.sformCode <= 0) {
    // Without a qform or sform the fallback affine is rebuilt from pixdim alone, so a flipped grid could not
    // record its new orientation: refuse rather than silently mislabel the image.
    throw new NiftiError(
      'BAD_ARGUMENT',
      `image has no orientation (qform_code = sform_code = 0; ${from} is only the fallback); cannot reorient to ${to}`,
    );
  }
  const map = axisMapping(from, to);
  const inShape = image.spatialShape;
  const outShape = map.source.map((s) => inShape[s]!) as [number, number, number];
  const data = permuteData(image.data, inShape, outShape, map, image.channels);
  // P maps new voxel indices to old ones: old[s_t] = flip ? n_s - 1 - new[t] : new[t].
  const P: Mat4 = [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 1],
  ];
  for (let t = 0; t < 3; t++) {
    const s = map.source[t]!;
    P[s]![t] = map.flip[t] ? -1 : 1;
    P[s]![3] = map.flip[t] ? inShape[s]! - 1 : 0;
  }
  const h = cloneHeader(image.header);
  const dims = Math.max(3, h.dim[0]!);
  h.dim[0] = dims;
  for (let t = 0; t < 3; t++) h.dim[t + 1] = outShape[t]!;
  const oldPixdim = [...h.pixdim];
  for (let t = 0; t < 3; t++) h.pixdim[t + 1] = oldPixdim[map.source[t]! + 1]!;
  // Which image axis is frequency/phase/slice no longer holds after a permutation.
  h.dimInfo = 0;
  const sform = sformAffine(image.header);
  if (sform) {
    const m = matmul4(sform, P);
    h.srowX = [...m[0]!];
    h.srowY = [...m[1]!];
    h.srowZ = [...m[2]!];
  }
  const qform = qformAffine(image.header);
  if (qform) {
    const q = affineToQuaternion(matmul4(qform, P));
    setQuaternionFields(h, q);
    h.pixdim[0] = q.qfac;
  }
  return new NiftiImage(h, data, image.affineFallback);
}

function permuteData(
  src: NiftiTypedArray,
  inShape: [number, number, number],
  outShape: [number, number, number],
  map: AxisMapping,
  channels: number,
): NiftiTypedArray {
  const Ctor = src.constructor as new (n: number) => NiftiTypedArray;
  const out = new Ctor(src.length);
  const inStride = [1, inShape[0], inShape[0] * inShape[1]];
  // Step and start in the source for a unit step along each output axis.
  const step = [0, 1, 2].map((t) => (map.flip[t] ? -1 : 1) * inStride[map.source[t]!]!);
  const start = [0, 1, 2].reduce(
    (acc, t) => acc + (map.flip[t] ? (inShape[map.source[t]!]! - 1) * inStride[map.source[t]!]! : 0),
    0,
  );
  const n = inShape[0] * inShape[1] * inShape[2];
  let d = 0;
  for (let c = 0; c < channels; c++) {
    const base = c * n + start;
    for (let k = 0; k < outShape[2]; k++) {
      for (let j = 0; j < outShape[1]; j++) {
        let s = base + k * step[2]! + j * step[1]!;
        for (let i = 0; i < outShape[0]; i++, d++, s += step[0]!) out[d] = src[s]!;
      }
    }
  }
  return out;
}

export { orientationCodes };
