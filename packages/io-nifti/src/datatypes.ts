/**
 * The NIfTI datatype codes this package reads and writes, and the typed arrays that hold them.
 */

/** Typed arrays holding raw (unscaled) voxel values. int64/uint64 files are held as exact float64. */
export type NiftiTypedArray =
  Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/** Names of the supported datatypes. */
export type DatatypeName =
  'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64' | 'int64' | 'uint64';

type TypedArrayCtor = {
  new (length: number): NiftiTypedArray;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): NiftiTypedArray;
};

/** Description of one datatype. */
export interface DatatypeInfo {
  code: number;
  name: DatatypeName;
  /** Bytes per voxel on disk. */
  bytes: number;
  /** Whether the on-disk values are integers. */
  integer: boolean;
  /** Smallest and largest storable values (exactly representable in float64 for every type but (u)int64). */
  min: number;
  max: number;
  /** In-memory array class. int64/uint64 use Float64Array, which is exact up to 2^53. */
  array: TypedArrayCtor;
}

const TABLE: DatatypeInfo[] = [
  { code: 2, name: 'uint8', bytes: 1, integer: true, min: 0, max: 255, array: Uint8Array },
  { code: 256, name: 'int8', bytes: 1, integer: true, min: -128, max: 127, array: Int8Array },
  { code: 4, name: 'int16', bytes: 2, integer: true, min: -32768, max: 32767, array: Int16Array },
  { code: 512, name: 'uint16', bytes: 2, integer: true, min: 0, max: 65535, array: Uint16Array },
  { code: 8, name: 'int32', bytes: 4, integer: true, min: -(2 ** 31), max: 2 ** 31 - 1, array: Int32Array },
  { code: 768, name: 'uint32', bytes: 4, integer: true, min: 0, max: 2 ** 32 - 1, array: Uint32Array },
  {
    code: 16,
    name: 'float32',
    bytes: 4,
    integer: false,
    min: -3.4028234663852886e38,
    max: 3.4028234663852886e38,
    array: Float32Array,
  },
  {
    code: 64,
    name: 'float64',
    bytes: 8,
    integer: false,
    min: -Number.MAX_VALUE,
    max: Number.MAX_VALUE,
    array: Float64Array,
  },
  // Held as float64: only values within +-2^53 are exact, which the reader and writer check.
  {
    code: 1024,
    name: 'int64',
    bytes: 8,
    integer: true,
    min: -Number.MAX_SAFE_INTEGER,
    max: Number.MAX_SAFE_INTEGER,
    array: Float64Array,
  },
  { code: 1280, name: 'uint64', bytes: 8, integer: true, min: 0, max: Number.MAX_SAFE_INTEGER, array: Float64Array },
];

const BY_CODE = new Map(TABLE.map((d) => [d.code, d]));
const BY_NAME = new Map(TABLE.map((d) => [d.name, d]));

/** Datatype for a NIfTI code, or `undefined` when unsupported. */
export function datatypeByCode(code: number): DatatypeInfo | undefined {
  return BY_CODE.get(code);
}

/** Datatype for a name such as `'int16'`, or `undefined` when unsupported. */
export function datatypeByName(name: string): DatatypeInfo | undefined {
  return BY_NAME.get(name as DatatypeName);
}

/** All supported datatypes. */
export function supportedDatatypes(): readonly DatatypeInfo[] {
  return TABLE;
}

/** The natural datatype for a typed array (Float64Array maps to float64). */
export function datatypeForArray(data: NiftiTypedArray): DatatypeInfo {
  const found = TABLE.find((d) => d.array === data.constructor);
  if (!found) throw new TypeError(`unsupported typed array ${data.constructor.name}`);
  return found;
}

/** NIfTI codes of datatypes that exist in the standard but are not supported here (complex, RGB...). */
export const KNOWN_UNSUPPORTED_DATATYPES: Readonly<Record<number, string>> = {
  1: 'binary',
  32: 'complex64',
  128: 'rgb24',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
  2304: 'rgba32',
};
