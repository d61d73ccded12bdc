/**
 * Host-side layout helpers for the kernels' weights: PyTorch stores 1x1x1 convolution weights as [out, in] and
 * the GEMM kernels take [in, out] (rows = K), so weights are transposed once when packed.
 */
import { Tensor3dError } from '../errors.js';

/** The transpose of a row-major [rows, cols] matrix, as a new [cols, rows] array. */
export function transposeMatrix(src: Float32Array, rows: number, cols: number): Float32Array {
  if (src.length !== rows * cols) {
    throw new Tensor3dError('BAD_SHAPE', `transposeMatrix: ${src.length} values do not form a ${rows}x${cols} matrix`);
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let q = 0; q < cols; q++) out[q * rows + r] = src[r * cols + q];
  return out;
}
