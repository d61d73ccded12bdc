/**
 * Gaussian importance map for sliding-window blending (nnU-Net's "Gaussian" weighting).
 */
import { Tensor3dError } from '../errors.js';
import type { Shape3 } from './volume.js';

/** Options of {@link gaussianImportanceMap}. */
export interface GaussianOptions {
  /** Standard deviation as a fraction of the patch size, per axis (nnU-Net: 1/8). */
  sigmaScale?: number;
}

/**
 * Weights for blending overlapping window predictions: a separable Gaussian centred on voxel
 * `floor(n / 2)` of each axis (nnU-Net's centre) with `sigma = sigmaScale * n`, scaled so the
 * maximum is 1.
 *
 * nnU-Net builds the same map with `scipy.ndimage.gaussian_filter` applied to a delta; that
 * kernel is the sampled Gaussian truncated at 4 sigma, which for `sigma = n / 8` reaches the
 * patch border, so the analytic form here is the same map. Values never reach 0 (the smallest
 * is about `exp(-24)` in the corners), so every voxel of every window gets some weight and the
 * normalisation by the summed weights is always defined.
 *
 * @returns a C-order `Float32Array` with `shape[0] * shape[1] * shape[2]` entries.
 */
export function gaussianImportanceMap(shape: Shape3, options: GaussianOptions = {}): Float32Array {
  const sigmaScale = options.sigmaScale ?? 1 / 8;
  if (!(sigmaScale > 0))
    throw new Tensor3dError('BAD_ARGUMENT', `gaussianImportanceMap: sigmaScale must be > 0, got ${sigmaScale}`);
  for (const n of shape) {
    if (!Number.isInteger(n) || n <= 0)
      throw new Tensor3dError('BAD_SHAPE', `gaussianImportanceMap: bad patch shape [${shape.join(', ')}]`);
  }
  const profiles = shape.map((n) => gaussianProfile(n, sigmaScale * n));
  const [px, py, pz] = profiles as [Float64Array, Float64Array, Float64Array];
  const out = new Float32Array(shape[0] * shape[1] * shape[2]);
  let i = 0;
  for (let x = 0; x < shape[0]; x++) {
    for (let y = 0; y < shape[1]; y++) {
      const wxy = px[x]! * py[y]!;
      for (let z = 0; z < shape[2]; z++) out[i++] = wxy * pz[z]!;
    }
  }
  return out;
}

/** 1-D Gaussian over `n` samples centred on `floor(n/2)`, peak 1. */
function gaussianProfile(n: number, sigma: number): Float64Array {
  const centre = Math.floor(n / 2);
  const profile = new Float64Array(n);
  for (let i = 0; i < n; i++) profile[i] = Math.exp(-((i - centre) ** 2) / (2 * sigma * sigma));
  return profile;
}
