/**
 * Assembling a BraTS case (four co-registered MRI modalities and an optional label map) from decoded
 * images. File discovery lives in the Node entry; this part works anywhere.
 */
import type { Mat4 } from './affine.js';
import { NiftiError } from './errors.js';
import type { NiftiImage } from './image.js';
import { diskToC } from './layout.js';

/** Modality suffixes of the BraTS 2023/2024 layout, in the default channel order. */
export const BRATS_MODALITIES = ['t1n', 't1c', 't2w', 't2f'] as const;

/** Suffix of the label map file. */
export const BRATS_LABEL_SUFFIX = 'seg';

/** Largest absolute difference between affine entries still treated as the same geometry (mm). */
export const AFFINE_TOLERANCE = 1e-3;

/** A decoded image and where it came from. */
export interface NamedImage {
  /** Modality key, e.g. `'t1n'`. */
  name: string;
  /** File path or label for error messages. */
  file: string;
  image: NiftiImage;
}

/** A loaded BraTS case. */
export interface BratsCase {
  /** Case ID (the file-name prefix, e.g. `BraTS-GLI-00000-000`). */
  id: string;
  /** The channel order used. */
  modalities: string[];
  /** Scaled intensities, C order, `[channels, nx, ny, nz]`, float32. */
  image: { data: Float32Array; shape: [number, number, number, number]; spacing: [number, number, number] };
  /** The label map in C order, `[nx, ny, nz]`, when a `-seg` file exists. */
  label?: { data: Uint8Array; shape: [number, number, number] };
  /**
   * The first modality's image: use its header (e.g. `NiftiImage.fromCOrder(seg, shape, { reference })`) to
   * write outputs with the case's exact geometry.
   */
  reference: NiftiImage;
  /** Files used, by modality key (and `seg`). */
  files: Record<string, string>;
}

function sameAffine(a: Mat4, b: Mat4): boolean {
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) if (!(Math.abs(a[i]![j]! - b[i]![j]!) <= AFFINE_TOLERANCE)) return false;
  return true;
}

/**
 * A case is made of 3-D volumes: dim[0] >= 3 with every dimension past the third equal to 1. A 2-D image (one
 * slice stored as dim[0] = 2) is refused like a 4-D one, rather than silently read as an nx x ny x 1 volume.
 */
function require3D(m: NamedImage): void {
  const shape = m.image.shape;
  if (shape.length < 3 || m.image.channels !== 1) {
    throw new NiftiError(
      'SHAPE_MISMATCH',
      `${m.name} is ${shape.length}-D with shape [${shape.join(', ')}]; a case needs 3-D volumes ` +
        '(dim[0] = 3, or higher with every extra dimension 1)',
      m.file,
    );
  }
  if (!m.image.affine.every((row) => row.every(Number.isFinite))) {
    throw new NiftiError('BAD_AFFINE', `${m.name} has an affine with non-finite values`, m.file);
  }
}

function checkGeometry(ref: NamedImage, other: NamedImage): void {
  require3D(other);
  const a = ref.image.shape;
  const b = other.image.shape;
  if (other.image.channels !== 1 || a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new NiftiError(
      'SHAPE_MISMATCH',
      `shape [${b.join(', ')}] differs from ${ref.name} (${ref.file}) with shape [${a.join(', ')}]`,
      other.file,
    );
  }
  if (!sameAffine(ref.image.affine, other.image.affine)) {
    const fmt = (m: Mat4) => JSON.stringify(m.slice(0, 3));
    throw new NiftiError(
      'AFFINE_MISMATCH',
      `affine ${fmt(other.image.affine)} differs from ${ref.name} (${ref.file}) affine ${fmt(ref.image.affine)} by more than ${AFFINE_TOLERANCE}`,
      other.file,
    );
  }
}

/**
 * Stacks modality images (in the given order) into one C-order float32 volume and converts the optional
 * label map to uint8, after checking that every file has the first one's shape and affine.
 */
export function assembleBratsCase(id: string, modalities: NamedImage[], seg?: NamedImage): BratsCase {
  const first = modalities[0];
  if (!first) throw new NiftiError('BAD_ARGUMENT', `case ${id}: no modalities given`);
  require3D(first);
  for (const m of modalities.slice(1)) checkGeometry(first, m);
  if (seg) checkGeometry(first, seg);
  const [nx, ny, nz] = first.image.spatialShape;
  const n = nx * ny * nz;
  const data = new Float32Array(n * modalities.length);
  modalities.forEach((m, c) => {
    const s = m.image.scaling;
    diskToC(m.image.data, data.subarray(c * n, (c + 1) * n), nx, ny, nz, 1, s?.slope ?? 1, s?.inter ?? 0);
  });
  const files: Record<string, string> = Object.fromEntries(modalities.map((m) => [m.name, m.file]));
  const result: BratsCase = {
    id,
    modalities: modalities.map((m) => m.name),
    image: { data, shape: [modalities.length, nx, ny, nz], spacing: first.image.spacing },
    reference: first.image,
    files,
  };
  if (seg) {
    result.label = { data: labelsToUint8(seg), shape: [nx, ny, nz] };
    files[seg.name] = seg.file;
  }
  return result;
}

/** Label map values as uint8 in C order; every value must be an integer 0..255. */
function labelsToUint8(seg: NamedImage): Uint8Array {
  const [nx, ny, nz] = seg.image.spatialShape;
  const values = seg.image.scaling ? seg.image.scaledValues() : seg.image.data;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v > 255) {
      throw new NiftiError('NOT_EXACT', `label map holds ${v} at voxel ${i}; labels must be integers 0..255`, seg.file);
    }
  }
  const out = new Uint8Array(values.length);
  diskToC(values, out, nx, ny, nz);
  return out;
}
