/**
 * @mednext-ts/io-nifti: NIfTI-1/2 reading and writing, affines and orientation, BraTS case assembly.
 *
 * This entry runs in browsers and Node (no `node:*` imports); `@mednext-ts/io-nifti/node` adds file helpers
 * that use node:fs and node:zlib.
 */
export { NiftiError, type NiftiErrorCode } from './errors.js';
export {
  datatypeByCode,
  datatypeByName,
  datatypeForArray,
  supportedDatatypes,
  type DatatypeInfo,
  type DatatypeName,
  type NiftiTypedArray,
} from './datatypes.js';
export {
  DEFAULT_MAX_BYTES,
  NIFTI1_HEADER_SIZE,
  NIFTI2_HEADER_SIZE,
  cloneHeader,
  emptyHeader,
  encodeHeader,
  parseHeader,
  type HeaderLimits,
  type NiftiExtension,
  type NiftiHeader,
  type ParsedHeader,
} from './header.js';
export {
  affineToQuaternion,
  analyzeAffine,
  bestAffine,
  assertFiniteGeometry,
  identity4,
  matmul4,
  method1Affine,
  orientationCodes,
  qformAffine,
  qformAffineIgnoringCode,
  sformAffine,
  type AffineFallback,
  type Mat4,
  type QuaternionForm,
} from './affine.js';
export { cToDisk, diskToC, type NumericArray } from './layout.js';
export { NiftiImage, headerScaling, setAffine, type COrderVolume, type FromCOrderOptions } from './image.js';
export {
  BoundedOutput,
  InflateLimitError,
  isGzip,
  webGunzip,
  webGunzipBounded,
  webGzip,
  type BoundedDecompressor,
  type Compressor,
  type Decompressor,
  type OutputLimit,
} from './gzip.js';
export { decodeNifti, decodeNiftiPair, decodeNiftiSync, swapBytes, type DecodeOptions } from './read.js';
export { chooseFormat, encodeNifti, encodeNiftiRaw, encodeValues, type EncodeOptions } from './write.js';
export { axisMapping, parseOrientation, reorient, type AxisMapping } from './orientation.js';
export { ExactSum, computeStats, float64LittleEndianBytes, type ValueStats } from './stats.js';
export {
  AFFINE_TOLERANCE,
  BRATS_LABEL_SUFFIX,
  BRATS_MODALITIES,
  assembleBratsCase,
  type BratsCase,
  type NamedImage,
} from './brats.js';
export {
  convertDatatype,
  resolveDatatype,
  summarizeNifti,
  type ConversionResult,
  type NiftiSummary,
} from './convert.js';
export { affineSpacing } from './spacing.js';
