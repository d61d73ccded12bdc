/**
 * The volume representation shared by every package.
 *
 * Voxels are stored in C order with the LAST axis fastest, like a NumPy array, and the axes
 * are the image axes (x, y, z) of the NIfTI file: `shape = [nx, ny, nz]`, index
 * `(x * ny + y) * nz + z`. This is what nibabel's `get_fdata()` indexing and the PyTorch
 * pipelines of nnU-Net/MedNeXt see, so patch sizes (128x160x112), connected-component
 * numbering ("first voxel in C order") and checkpoint kernels mean the same thing here as
 * there. (NIfTI files store x fastest; `@mednext-ts/io-nifti` converts.)
 */
import { Tensor3dError } from '../errors.js';

/** Typed arrays a volume can hold. */
export type VoxelArray =
  Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** The typed-array constructors a {@link VoxelArray} may be built by. */
const VOXEL_ARRAY_TYPES = [
  Float32Array,
  Float64Array,
  Int8Array,
  Uint8Array,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
] as const;

/**
 * A new zero-filled array of `length` elements of the same element type as `data`. The standard typed-array
 * constructor is used, never `data.constructor`: a Node `Buffer` (a Uint8Array subclass, what `fs.readFile`
 * gives) would otherwise be built by `Buffer(n)`, which Node deprecates with a warning on the terminal.
 * @example
 * allocateLike(new Float32Array(8), 2); // Float32Array [0, 0]
 */
export function allocateLike<T extends VoxelArray>(data: T, length: number): T {
  for (const Ctor of VOXEL_ARRAY_TYPES) if (data instanceof Ctor) return new Ctor(length) as T;
  throw new Tensor3dError('BAD_ARGUMENT', `unsupported voxel array ${Object.prototype.toString.call(data)}`);
}

/** Shape of a 3-D volume, `[nx, ny, nz]`, last axis fastest in memory. */
export type Shape3 = [number, number, number];

/** A single-channel 3-D volume in C order. */
export interface Volume<T extends VoxelArray = Float32Array> {
  data: T;
  shape: Shape3;
  /** Voxel size in mm along each axis (defaults to 1 where unknown). */
  spacing?: [number, number, number];
}

/** A multi-channel volume, `[channels, nx, ny, nz]`, channel slowest (one contiguous volume per channel). */
export interface ChannelVolume<T extends VoxelArray = Float32Array> {
  data: T;
  /** `[channels, nx, ny, nz]`. */
  shape: [number, number, number, number];
  spacing?: [number, number, number];
}

/** Number of voxels of a shape. */
export function voxelCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Flat index of voxel (x, y, z) in a C-order volume of this shape. */
export function flatIndex(shape: Shape3, x: number, y: number, z: number): number {
  return (x * shape[1] + y) * shape[2] + z;
}

/** Throws when `data.length` does not match `shape`; `what` names the volume in the message. */
export function assertShape(data: { length: number }, shape: readonly number[], what = 'volume'): void {
  const expected = voxelCount(shape);
  if (data.length !== expected) {
    throw new Tensor3dError(
      'BAD_SHAPE',
      `${what}: shape [${shape.join(', ')}] needs ${expected} voxels but the data has ${data.length}`,
    );
  }
}
