/**
 * Data augmentation operations on multi-channel patches (`[channels, nx, ny, nz]`, float32).
 *
 * These are the building blocks of nnU-Net-style augmentation: mirroring, spatial
 * (rotation/scaling) resampling, intensity scale/shift, contrast, gamma, Gaussian noise and blur,
 * and low-resolution simulation. Randomness is passed in explicitly (see {@link Random}) so a
 * training run is reproducible from its seed. Intensity operations work **in place** on the
 * channel they are given (patches are fresh copies anyway) and return the same volume.
 */
import { Tensor3dError } from '../errors.js';
import type { Random } from './augment-random.js';
import { allocateLike, assertShape, type ChannelVolume, type Shape3, type VoxelArray } from './volume.js';

function spatial(volume: ChannelVolume<VoxelArray>): Shape3 {
  return [volume.shape[1], volume.shape[2], volume.shape[3]];
}

function channelView(volume: ChannelVolume<Float32Array>, channel: number): Float32Array {
  const [c, nx, ny, nz] = volume.shape;
  if (!Number.isInteger(channel) || channel < 0 || channel >= c) {
    throw new Tensor3dError('BAD_SHAPE', `augment: channel ${channel} out of range (volume has ${c})`);
  }
  const per = nx * ny * nz;
  return volume.data.subarray(channel * per, (channel + 1) * per);
}

/** Mirrors every channel along the axes whose flag is true (axis 0 = x). Returns a new volume. */
export function flipChannels<T extends VoxelArray>(
  volume: ChannelVolume<T>,
  axes: readonly [boolean, boolean, boolean],
): ChannelVolume<T> {
  assertShape(volume.data, volume.shape, 'flipChannels');
  const [c, nx, ny, nz] = volume.shape;
  const out = allocateLike(volume.data, volume.data.length);
  for (let ch = 0; ch < c; ch++) {
    for (let x = 0; x < nx; x++) {
      const sx = axes[0] ? nx - 1 - x : x;
      for (let y = 0; y < ny; y++) {
        const sy = axes[1] ? ny - 1 - y : y;
        const to = ((ch * nx + x) * ny + y) * nz;
        const from = ((ch * nx + sx) * ny + sy) * nz;
        if (axes[2]) for (let z = 0; z < nz; z++) out[to + z] = volume.data[from + nz - 1 - z]!;
        else out.set(volume.data.subarray(from, from + nz), to);
      }
    }
  }
  return { ...volume, data: out, shape: [c, nx, ny, nz] };
}

/** `v ← v · scale + shift` on one channel, in place. */
export function scaleShiftIntensity(
  volume: ChannelVolume<Float32Array>,
  channel: number,
  scale: number,
  shift: number,
): ChannelVolume<Float32Array> {
  const d = channelView(volume, channel);
  for (let i = 0; i < d.length; i++) d[i] = d[i]! * scale + shift;
  return volume;
}

/**
 * Contrast change on one channel, in place: `v ← (v − mean)·factor + mean`, then clipped to the
 * channel's original [min, max] (nnU-Net's "preserve range").
 */
export function adjustContrast(
  volume: ChannelVolume<Float32Array>,
  channel: number,
  factor: number,
): ChannelVolume<Float32Array> {
  const d = channelView(volume, channel);
  let sum = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    sum += v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const mean = sum / d.length;
  for (let i = 0; i < d.length; i++) d[i] = Math.min(hi, Math.max(lo, (d[i]! - mean) * factor + mean));
  return volume;
}

/** Adds zero-mean Gaussian noise of standard deviation `std` to one channel, in place. */
export function addGaussianNoise(
  volume: ChannelVolume<Float32Array>,
  channel: number,
  std: number,
  rng: Random,
): ChannelVolume<Float32Array> {
  rng.addNormal(channelView(volume, channel), std);
  return volume;
}

/** Normalised 1-D Gaussian kernel truncated at 4 sigma (as scipy's gaussian_filter). */
export function gaussianKernel1d(sigma: number): Float64Array {
  if (!(sigma > 0)) throw new Tensor3dError('BAD_ARGUMENT', `gaussianKernel1d: sigma must be positive, got ${sigma}`);
  const r = Math.max(1, Math.round(4 * sigma));
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp((-0.5 * i * i) / (sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= s;
  return k;
}

/**
 * Separable Gaussian blur of one channel, in place, with standard deviation `sigma[a]` voxels
 * along axis a (0 leaves an axis alone). Borders use reflection (`d c b | a b c d | c b a`,
 * scipy's 'mirror') so a constant image stays constant.
 */
export function gaussianBlur(
  volume: ChannelVolume<Float32Array>,
  channel: number,
  sigma: readonly [number, number, number],
): ChannelVolume<Float32Array> {
  const d = channelView(volume, channel);
  const shape = spatial(volume);
  const strides = [shape[1] * shape[2], shape[2], 1];
  const tmp = new Float64Array(Math.max(...shape));
  for (let a = 0; a < 3; a++) {
    if (!(sigma[a]! > 0)) continue;
    const k = gaussianKernel1d(sigma[a]!);
    const taps = k.length;
    const r = (taps - 1) / 2;
    const n = shape[a]!;
    const st = strides[a]!;
    // Source offset of every (position, tap) pair along this axis, reflection included.
    const period = 2 * (n - 1);
    const table = new Int32Array(n * taps);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < taps; j++) {
        let m = n === 1 ? 0 : (((i + j - r) % period) + period) % period;
        if (m >= n) m = period - m;
        table[i * taps + j] = m * st;
      }
    }
    const [b0, b1] = [0, 1, 2].filter((b) => b !== a) as [number, number];
    for (let u = 0; u < shape[b0]!; u++) {
      for (let v = 0; v < shape[b1]!; v++) {
        const base = u * strides[b0]! + v * strides[b1]!;
        for (let i = 0; i < n; i++) {
          let acc = 0;
          const row = i * taps;
          for (let j = 0; j < taps; j++) acc += k[j]! * d[base + table[row + j]!]!;
          tmp[i] = acc;
        }
        for (let i = 0; i < n; i++) d[base + i * st] = tmp[i]!;
      }
    }
  }
  return volume;
}

/**
 * Gamma transform of one channel, in place (nnU-Net's): rescale to [0, 1] over the channel's
 * range, raise to `gamma`, map back to the range. With `invert` the image is negated before and
 * after (so dark structures are affected). With `retainStats` the mean and standard deviation are
 * restored afterwards.
 */
export function adjustGamma(
  volume: ChannelVolume<Float32Array>,
  channel: number,
  gamma: number,
  options: { invert?: boolean; retainStats?: boolean } = {},
): ChannelVolume<Float32Array> {
  const d = channelView(volume, channel);
  const n = d.length;
  const sign = options.invert ? -1 : 1;
  // One pass for range and moments (float64 sums; the data are z-scored, so E[x²] − mean² is safe).
  let lo = Infinity;
  let hi = -Infinity;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const v = sign * d[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    sum += v;
    sq += v * v;
  }
  const mean = sum / n;
  const std = Math.sqrt(Math.max(0, sq / n - mean * mean));
  const range = hi - lo;
  if (range === 0) return volume;
  const eps = 1e-7; // as nnU-Net, keeps the division finite
  const scale = range + eps;
  let sum2 = 0;
  let sq2 = 0;
  for (let i = 0; i < n; i++) {
    const v = Math.pow((sign * d[i]! - lo) / scale, gamma) * scale + lo;
    d[i] = v;
    sum2 += v;
    sq2 += v * v;
  }
  if (options.retainStats) {
    const mean2 = sum2 / n;
    const std2 = Math.sqrt(Math.max(0, sq2 / n - mean2 * mean2));
    const f = std / (std2 + 1e-8);
    for (let i = 0; i < n; i++) d[i] = (d[i]! - mean2) * f + mean;
  }
  if (sign < 0) for (let i = 0; i < d.length; i++) d[i] = -d[i]!;
  return volume;
}

/** Trilinear interpolation of a single channel at a (fractional) voxel position; `fill` outside. */
function sampleLinear(d: Float32Array, shape: Shape3, x: number, y: number, z: number, fill: number): number {
  const [nx, ny, nz] = shape;
  if (x < 0 || y < 0 || z < 0 || x > nx - 1 || y > ny - 1 || z > nz - 1) return fill;
  const x0 = Math.min(Math.floor(x), nx - 2 < 0 ? 0 : nx - 2);
  const y0 = Math.min(Math.floor(y), ny - 2 < 0 ? 0 : ny - 2);
  const z0 = Math.min(Math.floor(z), nz - 2 < 0 ? 0 : nz - 2);
  const fx = nx === 1 ? 0 : x - x0;
  const fy = ny === 1 ? 0 : y - y0;
  const fz = nz === 1 ? 0 : z - z0;
  const x1 = Math.min(x0 + 1, nx - 1);
  const y1 = Math.min(y0 + 1, ny - 1);
  const z1 = Math.min(z0 + 1, nz - 1);
  const at = (i: number, j: number, k: number) => d[(i * ny + j) * nz + k]!;
  const c00 = at(x0, y0, z0) * (1 - fz) + at(x0, y0, z1) * fz;
  const c01 = at(x0, y1, z0) * (1 - fz) + at(x0, y1, z1) * fz;
  const c10 = at(x1, y0, z0) * (1 - fz) + at(x1, y0, z1) * fz;
  const c11 = at(x1, y1, z0) * (1 - fz) + at(x1, y1, z1) * fz;
  return (c00 * (1 - fy) + c01 * fy) * (1 - fx) + (c10 * (1 - fy) + c11 * fy) * fx;
}

/**
 * Resamples a patch out of `source` through an affine map: output voxel `p` (patch index) reads
 * the source at `center + M · (p − (size − 1)/2)`, where `M` is a row-major 3x3 matrix. The
 * identity matrix with an integer-aligned centre reproduces a plain crop. `linear` interpolation
 * is for images, `nearest` for label maps; positions outside the source read `fill`.
 */
export function transformPatch<T extends VoxelArray>(
  source: ChannelVolume<T>,
  center: readonly [number, number, number],
  size: Shape3,
  matrix: readonly number[],
  interpolation: 'linear' | 'nearest',
  fill = 0,
): ChannelVolume<T> {
  assertShape(source.data, source.shape, 'transformPatch');
  if (matrix.length !== 9)
    throw new Tensor3dError('BAD_SHAPE', `transformPatch: matrix must have 9 entries, got ${matrix.length}`);
  const [c, nx, ny, nz] = source.shape;
  const per = nx * ny * nz;
  const [px, py, pz] = size;
  const out = allocateLike(source.data, c * px * py * pz);
  const m = matrix;
  const h = [(px - 1) / 2, (py - 1) / 2, (pz - 1) / 2];
  const chans = Array.from({ length: c }, (_, ch) => source.data.subarray(ch * per, (ch + 1) * per));
  const f32 = chans.map((a) => (a instanceof Float32Array ? a : Float32Array.from(a)));
  let o = 0;
  const outPer = px * py * pz;
  for (let i = 0; i < px; i++) {
    const di = i - h[0]!;
    for (let j = 0; j < py; j++) {
      const dj = j - h[1]!;
      for (let k = 0; k < pz; k++, o++) {
        const dk = k - h[2]!;
        const x = center[0] + m[0]! * di + m[1]! * dj + m[2]! * dk;
        const y = center[1] + m[3]! * di + m[4]! * dj + m[5]! * dk;
        const z = center[2] + m[6]! * di + m[7]! * dj + m[8]! * dk;
        if (interpolation === 'nearest') {
          const xi = Math.round(x);
          const yi = Math.round(y);
          const zi = Math.round(z);
          const inside = xi >= 0 && yi >= 0 && zi >= 0 && xi < nx && yi < ny && zi < nz;
          const idx = (xi * ny + yi) * nz + zi;
          for (let ch = 0; ch < c; ch++) out[ch * outPer + o] = inside ? chans[ch]![idx]! : fill;
        } else if (x < 0 || y < 0 || z < 0 || x > nx - 1 || y > ny - 1 || z > nz - 1) {
          for (let ch = 0; ch < c; ch++) out[ch * outPer + o] = fill;
        } else {
          // Corner indices and weights once, then every channel (same arithmetic as sampleLinear).
          const x0 = Math.min(Math.floor(x), Math.max(0, nx - 2));
          const y0 = Math.min(Math.floor(y), Math.max(0, ny - 2));
          const z0 = Math.min(Math.floor(z), Math.max(0, nz - 2));
          const fx = nx === 1 ? 0 : x - x0;
          const fy = ny === 1 ? 0 : y - y0;
          const fz = nz === 1 ? 0 : z - z0;
          const dx = (Math.min(x0 + 1, nx - 1) - x0) * ny * nz;
          const dy = (Math.min(y0 + 1, ny - 1) - y0) * nz;
          const dz = Math.min(z0 + 1, nz - 1) - z0;
          const i000 = (x0 * ny + y0) * nz + z0;
          for (let ch = 0; ch < c; ch++) {
            const s = f32[ch]!;
            const c00 = s[i000]! * (1 - fz) + s[i000 + dz]! * fz;
            const c01 = s[i000 + dy]! * (1 - fz) + s[i000 + dy + dz]! * fz;
            const c10 = s[i000 + dx]! * (1 - fz) + s[i000 + dx + dz]! * fz;
            const c11 = s[i000 + dx + dy]! * (1 - fz) + s[i000 + dx + dy + dz]! * fz;
            out[ch * outPer + o] = (c00 * (1 - fy) + c01 * fy) * (1 - fx) + (c10 * (1 - fy) + c11 * fy) * fx;
          }
        }
      }
    }
  }
  return { data: out, shape: [c, px, py, pz] };
}

/**
 * Row-major 3x3 matrix for {@link transformPatch}: rotation by `angles` (radians, about axes
 * x, y, z, applied in that order) times a uniform `scale` of the sampling grid. `scale < 1`
 * samples a smaller region, i.e. magnifies the image.
 */
export function rotationScaleMatrix(angles: readonly [number, number, number], scale = 1): number[] {
  const [a, b, g] = angles;
  const rx = [1, 0, 0, 0, Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a)];
  const ry = [Math.cos(b), 0, Math.sin(b), 0, 1, 0, -Math.sin(b), 0, Math.cos(b)];
  const rz = [Math.cos(g), -Math.sin(g), 0, Math.sin(g), Math.cos(g), 0, 0, 0, 1];
  const mul = (p: number[], q: number[]) =>
    Array.from({ length: 9 }, (_, n) => {
      const r = Math.floor(n / 3);
      const col = n % 3;
      return p[r * 3]! * q[col]! + p[r * 3 + 1]! * q[3 + col]! + p[r * 3 + 2]! * q[6 + col]!;
    });
  return mul(rz, mul(ry, rx)).map((v) => v * scale);
}

/**
 * Low-resolution simulation on one channel, in place: downsample by `zoom` (< 1) with nearest
 * neighbour, then upsample back to the original size with trilinear interpolation (nnU-Net uses
 * cubic for the upsampling; linear keeps this cheap and has the same purpose: losing detail).
 */
export function simulateLowResolution(
  volume: ChannelVolume<Float32Array>,
  channel: number,
  zoom: number,
): ChannelVolume<Float32Array> {
  if (!(zoom > 0 && zoom <= 1))
    throw new Tensor3dError('BAD_ARGUMENT', `simulateLowResolution: zoom must be in (0, 1], got ${zoom}`);
  const d = channelView(volume, channel);
  const shape = spatial(volume);
  const small = shape.map((n) => Math.max(1, Math.round(n * zoom))) as Shape3;
  const low = new Float32Array(small[0] * small[1] * small[2]);
  // Nearest: low voxel i covers [i·n/m, (i+1)·n/m); take the source voxel at its centre.
  const pick = (i: number, a: number) => Math.min(shape[a]! - 1, Math.floor(((i + 0.5) * shape[a]!) / small[a]!));
  let o = 0;
  for (let i = 0; i < small[0]; i++)
    for (let j = 0; j < small[1]; j++)
      for (let k = 0; k < small[2]; k++) low[o++] = d[(pick(i, 0) * shape[1] + pick(j, 1)) * shape[2] + pick(k, 2)]!;
  // Upsample with aligned centres: source position of voxel x is (x + 0.5)·m/n − 0.5, clamped.
  const back = (x: number, a: number) =>
    Math.min(small[a]! - 1, Math.max(0, ((x + 0.5) * small[a]!) / shape[a]! - 0.5));
  o = 0;
  for (let x = 0; x < shape[0]; x++)
    for (let y = 0; y < shape[1]; y++)
      for (let z = 0; z < shape[2]; z++) d[o++] = sampleLinear(low, small, back(x, 0), back(y, 1), back(z, 2), 0);
  return volume;
}
