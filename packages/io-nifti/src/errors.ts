/**
 * Typed errors. Every rejection names the file (when known) and a stable `code`, so callers can
 * branch on the problem without parsing messages.
 */

/** Stable machine-readable reasons a NIfTI file or request is rejected. */
export type NiftiErrorCode =
  | 'TRUNCATED_HEADER'
  | 'BAD_SIZEOF_HDR'
  | 'BAD_MAGIC'
  | 'BAD_DIM'
  | 'TOO_LARGE'
  | 'BAD_DATATYPE'
  | 'BITPIX_MISMATCH'
  | 'BAD_VOX_OFFSET'
  | 'TRUNCATED_DATA'
  | 'BAD_GZIP'
  | 'NOT_EXACT'
  | 'SHAPE_MISMATCH'
  | 'AFFINE_MISMATCH'
  | 'BAD_AFFINE'
  | 'MISSING_FILE'
  | 'BAD_ARGUMENT'
  | 'WRITE_FAILED';

/** Error raised for any malformed NIfTI input or invalid request; `file` is `undefined` for in-memory data. */
export class NiftiError extends Error {
  override readonly name = 'NiftiError';

  constructor(
    /** Stable reason code. */
    readonly code: NiftiErrorCode,
    message: string,
    /** File (or label) the problem was found in. */
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(file === undefined ? message : `${file}: ${message}`, options);
  }
}
