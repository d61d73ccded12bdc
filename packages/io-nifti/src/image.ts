/**
 * `NiftiImage`: a header plus its raw voxel values in on-disk order, with scaling, geometry and
 * C-order conversion.
 */
import {
  bestAffine,
  orientationCodes,
  qformAffine,
  sformAffine,
  affineToQuaternion,
  setQuaternionFields,
  type AffineFallback,
  type Mat4,
} from './affine.js';
import { datatypeByCode, datatypeForArray, type DatatypeInfo, type NiftiTypedArray } from './datatypes.js';
import { NiftiError } from './errors.js';
import { cloneHeader, emptyHeader, type NiftiHeader } from './header.js';
import { cToDisk, diskToC } from './layout.js';

/** A C-order volume compatible with `@mednext-ts/tensor3d`'s `Volume`/`ChannelVolume`. */
export interface COrderVolume<T extends NiftiTypedArray = Float32Array> {
  data: T;
  /** `[nx, ny, nz]` for single-channel images, `[c, nx, ny, nz]` otherwise. */
  shape: number[];
  /** Voxel sizes pixdim[1..3]. */
  spacing: [number, number, number];
}

/** The linear scaling the header asks for, or `null` when values are used as stored. */
export function headerScaling(h: NiftiHeader): { slope: number; inter: number } | null {
  const slope = h.sclSlope;
  const inter = Number.isFinite(h.sclInter) ? h.sclInter : 0;
  // Slope 0 (or NaN) means "no scaling" in the standard; (1, 0) is a no-op.
  if (!Number.isFinite(slope) || slope === 0 || (slope === 1 && inter === 0)) return null;
  return { slope, inter };
}

/** Options for {@link NiftiImage.fromCOrder}. */
export interface FromCOrderOptions {
  /** Copy geometry and metadata (qform, sform, codes, pixdim, units, intent, descrip) from this image or header. */
  reference?: NiftiImage | NiftiHeader;
  /** Datatype to store (default: the reference's when its typed array matches, else the array's natural type). */
  datatype?: number;
  /** Set both qform and sform from this affine (codes default to 1 = scanner when not copied). */
  affine?: Mat4;
  /** Voxel sizes when neither reference nor affine gives them. */
  spacing?: [number, number, number];
  descrip?: string;
  /**
   * Any other header fields to set explicitly (units, intent, codes, cal_min/max...), applied last. `dim`,
   * `datatype` and `bitpix` always come from the data and cannot be overridden here.
   */
  header?: Partial<Omit<NiftiHeader, 'dim' | 'datatype' | 'bitpix' | 'format' | 'littleEndian' | 'magic'>>;
}

/** A NIfTI image: header and raw values in on-disk order (x fastest, then y, z, t...). */
export class NiftiImage {
  /**
   * @param header - the header; `dim`, `datatype` and `bitpix` must describe `data`.
   * @param data - raw (unscaled) voxel values in on-disk order.
   * @param affineFallback - affine used when both qform and sform codes are 0 (see {@link bestAffine}).
   */
  constructor(
    readonly header: NiftiHeader,
    readonly data: NiftiTypedArray,
    readonly affineFallback: AffineFallback = 'method1',
  ) {
    const expected = this.shape.reduce((a, b) => a * b, 1);
    if (data.length !== expected) {
      throw new NiftiError(
        'SHAPE_MISMATCH',
        `image data has ${data.length} values but dim [${this.shape.join(', ')}] needs ${expected}`,
      );
    }
  }

  /** Used dimensions, dim[1..dim[0]]. */
  get shape(): number[] {
    return this.header.dim.slice(1, this.header.dim[0]! + 1);
  }

  /** The three spatial dimensions, padded with 1. */
  get spatialShape(): [number, number, number] {
    const s = this.shape;
    return [s[0] ?? 1, s[1] ?? 1, s[2] ?? 1];
  }

  /** Product of dims 4 and up (time points or channels); 1 for 3-D images. */
  get channels(): number {
    return this.shape.slice(3).reduce((a, b) => a * b, 1);
  }

  /** Datatype of the stored values. */
  get datatype(): DatatypeInfo {
    const dt = datatypeByCode(this.header.datatype);
    if (!dt) throw new NiftiError('BAD_DATATYPE', `datatype ${this.header.datatype} is not supported`);
    return dt;
  }

  /** Voxel sizes pixdim[1..3]. */
  get spacing(): [number, number, number] {
    return [this.header.pixdim[1]!, this.header.pixdim[2]!, this.header.pixdim[3]!];
  }

  /** The voxel-to-world affine: sform if coded, else qform, else the fallback. */
  get affine(): Mat4 {
    return bestAffine(this.header, this.affineFallback);
  }

  /** The qform affine or `null` when qform_code is 0. */
  get qform(): Mat4 | null {
    return qformAffine(this.header);
  }

  /** The sform affine or `null` when sform_code is 0. */
  get sform(): Mat4 | null {
    return sformAffine(this.header);
  }

  /** Orientation codes of the affine, e.g. `'RAS'`. */
  get orientation(): string {
    return orientationCodes(this.affine);
  }

  /** The scaling applied to raw values, or `null`. */
  get scaling(): { slope: number; inter: number } | null {
    return headerScaling(this.header);
  }

  /** Flat on-disk index of voxel (i, j, k, t). */
  index(i: number, j: number, k: number, t = 0): number {
    const [nx, ny, nz] = this.spatialShape;
    return i + nx * (j + ny * (k + nz * t));
  }

  /** Raw stored value at (i, j, k, t). */
  rawAt(i: number, j: number, k: number, t = 0): number {
    return this.data[this.index(i, j, k, t)]!;
  }

  /** Scaled value at (i, j, k, t), in float64. */
  valueAt(i: number, j: number, k: number, t = 0): number {
    const raw = this.rawAt(i, j, k, t);
    const s = this.scaling;
    return s ? raw * s.slope + s.inter : raw;
  }

  /** All scaled values as float64, on-disk order (a copy). */
  scaledValues(): Float64Array {
    const out = new Float64Array(this.data.length);
    const s = this.scaling;
    if (!s) {
      out.set(this.data);
      return out;
    }
    const src = this.data;
    for (let i = 0; i < src.length; i++) out[i] = src[i]! * s.slope + s.inter;
    return out;
  }

  /**
   * Scaled values in C order (z fastest) as float32 (default) or float64. Scaling is computed in float64
   * and rounded once. Shape is `[nx, ny, nz]`, or `[c, nx, ny, nz]` when the image has more than one channel.
   */
  toCOrder(type: 'float32'): COrderVolume<Float32Array>;
  toCOrder(type: 'float64'): COrderVolume<Float64Array>;
  toCOrder(): COrderVolume<Float32Array>;
  toCOrder(type: 'float32' | 'float64' = 'float32'): COrderVolume<Float32Array> | COrderVolume<Float64Array> {
    const [nx, ny, nz] = this.spatialShape;
    const c = this.channels;
    const out = type === 'float64' ? new Float64Array(this.data.length) : new Float32Array(this.data.length);
    const s = this.scaling;
    diskToC(this.data, out, nx, ny, nz, c, s?.slope ?? 1, s?.inter ?? 0);
    return { data: out, shape: this.cShape(), spacing: this.spacing } as
      COrderVolume<Float32Array> | COrderVolume<Float64Array>;
  }

  /**
   * A single-channel image as a `@mednext-ts/tensor3d` `Volume` (scaled float32, C order, `shape` a
   * 3-tuple). Throws for multi-channel images; use {@link toChannelVolume} there.
   */
  toVolume(): { data: Float32Array; shape: [number, number, number]; spacing: [number, number, number] } {
    if (this.channels !== 1) {
      throw new NiftiError(
        'SHAPE_MISMATCH',
        `image has ${this.channels} channels (shape [${this.shape.join(', ')}]); use toChannelVolume()`,
      );
    }
    const { data, spacing } = this.toCOrder('float32');
    return { data, shape: this.spatialShape, spacing };
  }

  /** The image as a `@mednext-ts/tensor3d` `ChannelVolume`: scaled float32, C order, shape `[c, nx, ny, nz]`. */
  toChannelVolume(): {
    data: Float32Array;
    shape: [number, number, number, number];
    spacing: [number, number, number];
  } {
    const { data, spacing } = this.toCOrder('float32');
    return { data, shape: [this.channels, ...this.spatialShape], spacing };
  }

  /** Raw (unscaled) values in C order, same typed array class as {@link data}. */
  rawToCOrder(): COrderVolume<NiftiTypedArray> {
    const [nx, ny, nz] = this.spatialShape;
    const Ctor = this.data.constructor as new (n: number) => NiftiTypedArray;
    const out = new Ctor(this.data.length);
    diskToC(this.data, out, nx, ny, nz, this.channels);
    return { data: out, shape: this.cShape(), spacing: this.spacing };
  }

  private cShape(): number[] {
    const [nx, ny, nz] = this.spatialShape;
    const c = this.channels;
    return c === 1 ? [nx, ny, nz] : [c, nx, ny, nz];
  }

  /** A new image with the same header (datatype updated to match) and other raw on-disk data. */
  withData(data: NiftiTypedArray, datatype?: number): NiftiImage {
    const h = cloneHeader(this.header);
    const dt = datatype !== undefined ? datatypeByCode(datatype) : undefined;
    h.datatype = dt ? dt.code : datatypeForArray(data).code;
    h.bitpix = (dt ?? datatypeForArray(data)).bytes * 8;
    return new NiftiImage(h, data, this.affineFallback);
  }

  /**
   * Builds an image from a C-order array of shape `[nx, ny, nz]` or `[c, nx, ny, nz]`.
   * With `reference`, the output carries the reference's geometry exactly (qform/sform fields are copied,
   * not recomputed) and its units, intent and descrip; scaling, cal_min/cal_max and extensions are reset.
   */
  static fromCOrder(data: NiftiTypedArray, shape: readonly number[], options: FromCOrderOptions = {}): NiftiImage {
    if (shape.length !== 3 && shape.length !== 4) {
      throw new NiftiError('BAD_ARGUMENT', `shape must be [nx, ny, nz] or [c, nx, ny, nz], got [${shape.join(', ')}]`);
    }
    const [c, nx, ny, nz] = shape.length === 3 ? [1, ...shape] : shape;
    const n = c! * nx! * ny! * nz!;
    if (data.length !== n) {
      throw new NiftiError(
        'SHAPE_MISMATCH',
        `data has ${data.length} values but shape [${shape.join(', ')}] needs ${n}`,
      );
    }
    const ref = options.reference instanceof NiftiImage ? options.reference.header : options.reference;
    const h = ref ? cloneHeader(ref) : emptyHeader();
    if (ref) {
      const [rx, ry, rz] = [ref.dim[1], ref.dim[0]! >= 2 ? ref.dim[2] : 1, ref.dim[0]! >= 3 ? ref.dim[3] : 1];
      if (rx !== nx || ry !== ny || rz !== nz) {
        throw new NiftiError(
          'SHAPE_MISMATCH',
          `data is ${nx}x${ny}x${nz} but the reference image is ${rx}x${ry}x${rz}; its geometry would not apply`,
        );
      }
    }
    h.dim = [shape.length === 3 ? 3 : 4, nx!, ny!, nz!, shape.length === 3 ? 1 : c!, 1, 1, 1];
    for (let i = h.dim[0]! + 1; i < 8; i++) h.dim[i] = 1;
    h.sclSlope = 1;
    h.sclInter = 0;
    // cal_min/cal_max are the reference's display window; they would be wrong for new data (e.g. labels).
    h.calMin = 0;
    h.calMax = 0;
    h.extensions = [];
    const natural = datatypeForArray(data);
    const dt = options.datatype !== undefined ? datatypeByCode(options.datatype) : natural;
    if (!dt) throw new NiftiError('BAD_DATATYPE', `datatype ${options.datatype} is not supported`);
    h.datatype = dt.code;
    h.bitpix = dt.bytes * 8;
    if (!ref && options.spacing) h.pixdim = [1, ...options.spacing, 1, 1, 1, 1];
    if (options.affine) setAffine(h, options.affine);
    if (options.descrip !== undefined) h.descrip = options.descrip;
    if (options.header) Object.assign(h, structuredClone(options.header));
    const Ctor = data.constructor as new (n: number) => NiftiTypedArray;
    const disk = new Ctor(n);
    cToDisk(data, disk, nx!, ny!, nz!, c!);
    return new NiftiImage(h, disk);
  }
}

/**
 * Sets sform rows to `affine` and the qform fields to its rotation part (pixdim[0..3] updated), keeping
 * existing codes when set and using 1 (scanner) otherwise.
 */
export function setAffine(h: NiftiHeader, affine: Mat4, codes?: { qform?: number; sform?: number }): void {
  h.srowX = [...affine[0]!];
  h.srowY = [...affine[1]!];
  h.srowZ = [...affine[2]!];
  const q = affineToQuaternion(affine);
  setQuaternionFields(h, q);
  h.pixdim = [q.qfac, ...q.pixdim, ...h.pixdim.slice(4)];
  h.qformCode = codes?.qform ?? (h.qformCode > 0 ? h.qformCode : 1);
  h.sformCode = codes?.sform ?? (h.sformCode > 0 ? h.sformCode : 1);
}
