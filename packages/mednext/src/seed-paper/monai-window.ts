/**
 * MONAI 1.1 `sliding_window_inference` semantics, as the seed paper's code runs it.
 *
 * Differences from the project's own (nnU-Net-style) sliding window: windows advance by a fixed
 * stride `int(roi * (1 - overlap))` from 0 and the last one is moved back to end flush with the
 * border (it may overlap its neighbour much more); the Gaussian importance map is not rescaled
 * and is clamped from below at 1e-3 (MONAI's floor); axes smaller than the window are padded
 * `floor` before / `ceil` after, which both libraries share.
 */
import type { Shape3 } from '@mednext-ts/tensor3d';

/**
 * Window starts along one axis in MONAI 1.1 (`_get_scan_interval` + `dense_patch_slices`),
 * in the coordinates of the unpadded image (negative = padding before).
 * @example monaiWindowStarts(84, 64, 0.5) // [0, 20]
 * @example monaiWindowStarts(172, 128, 0.7) // [0, 38, 44]
 */
export function monaiWindowStarts(size: number, roi: number, overlap: number): number[] {
  if (!(overlap >= 0 && overlap < 1))
    throw new RangeError(`monaiWindowStarts: overlap must be in [0, 1), got ${overlap}`);
  if (!Number.isInteger(size) || size <= 0 || !Number.isInteger(roi) || roi <= 0) {
    throw new RangeError(`monaiWindowStarts: size (${size}) and roi (${roi}) must be positive integers`);
  }
  // Axes below the window are padded (r - s) // 2 before; windows are then placed on the padded axis.
  const padBefore = size < roi ? Math.floor((roi - size) / 2) : 0;
  const padded = Math.max(size, roi);
  // Python: int(roi * (1 - overlap)) on doubles; JS doubles give the same value (38.400000000000006 -> 38).
  const interval = padded === roi ? roi : Math.max(Math.trunc(roi * (1 - overlap)), 1);
  const limit = Math.ceil(padded / interval);
  let count = 1;
  for (let d = 0; d < limit; d++) {
    if (d * interval + roi >= padded) {
      count = d + 1;
      break;
    }
  }
  const starts: number[] = [];
  for (let d = 0; d < count; d++) {
    const start = d * interval;
    starts.push(start - Math.max(start + roi - padded, 0) - padBefore);
  }
  return starts;
}

/**
 * MONAI 1.1's Gaussian importance map (`compute_importance_map`, mode `gaussian`): per axis
 * `exp(-x^2 / (2 sigma^2))` with `x = -(r-1)/2 .. (r-1)/2` and `sigma = sigmaScale * r`, in float32,
 * outer product (not rescaled), then clamped from below at `max(smallest non-zero, 1e-3)`.
 */
export function monaiGaussianImportanceMap(roi: Shape3, sigmaScale = 0.125): Float32Array {
  const f = Math.fround;
  const profiles = roi.map((r) => {
    const sigma = f(sigmaScale * r);
    const denom = f(-2 * f(sigma * sigma));
    const g = new Float32Array(r);
    for (let t = 0; t < r; t++) {
      const x = f(-(r - 1) / 2 + t);
      g[t] = Math.exp(f(f(x * x) / denom));
    }
    return g;
  }) as [Float32Array, Float32Array, Float32Array];
  const [gx, gy, gz] = profiles;
  const out = new Float32Array(roi[0] * roi[1] * roi[2]);
  let i = 0;
  let smallest = Number.POSITIVE_INFINITY;
  for (let x = 0; x < roi[0]; x++) {
    for (let y = 0; y < roi[1]; y++) {
      const gxy = f(gx[x]! * gy[y]!);
      for (let z = 0; z < roi[2]; z++) {
        const v = f(gxy * gz[z]!);
        out[i++] = v;
        if (v > 0 && v < smallest) smallest = v;
      }
    }
  }
  const floor = Math.max(smallest, 1e-3);
  for (let k = 0; k < out.length; k++) if (out[k]! < floor) out[k] = floor;
  return out;
}
