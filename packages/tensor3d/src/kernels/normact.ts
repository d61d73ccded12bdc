/**
 * Exact GELU and per-channel GroupNorm (one group per channel, i.e. instance norm with affine) on the
 * WebAssembly kernels, for channels-last [M, C] data (M = voxels of one sample).
 */
import { Tensor3dError } from '../errors.js';
import { type KernelRuntime } from './runtime.js';
import { GELU_KERNEL, GELU_RATIONAL_KERNEL } from './wasm/gen-gelu.js';
import { GN_STATS_KERNEL, STATS_CHUNK } from './wasm/gen-gn-stats.js';
import { GN_APPLY_KERNEL } from './wasm/gen-gn-apply.js';

/**
 * Exact (erf) GELU of every value. The default `erfc` form keeps a relative error of about 1e-6 including the
 * negative tail; the `rational` form (what the fused block's GEMM epilogue runs) is about 3x cheaper, with an
 * absolute error of at most 3e-7 * max(1, |x|).
 */
export function gelu(rt: KernelRuntime, x: Float32Array, options: { form?: 'erfc' | 'rational' } = {}): Float32Array {
  const mark = rt.mark();
  try {
    const a = rt.put(x);
    rt.run(options.form === 'rational' ? GELU_RATIONAL_KERNEL : GELU_KERNEL, { x: a }, { end: x.length, grain: 1024 });
    return rt.f32(a, x.length).slice();
  } finally {
    rt.release(mark);
  }
}

/** Per-channel mean and biased variance. */
export interface ChannelStats {
  mean: Float64Array;
  variance: Float64Array;
}

function checkRows(fn: string, x: Float32Array, m: number, c: number): void {
  if (!Number.isInteger(m) || m < 1 || !Number.isInteger(c) || c < 1) {
    throw new Tensor3dError('BAD_SHAPE', `${fn}: M and C must be positive integers, got M=${m}, C=${c}`);
  }
  if (x.length !== m * c)
    throw new Tensor3dError('BAD_SHAPE', `${fn}: x has ${x.length} values, [${m}, ${c}] needs ${m * c}`);
}

/** Copies [M, C] into kernel memory as [M, Cp] with Cp = C rounded up to 4. */
function putPadded(rt: KernelRuntime, x: Float32Array, m: number, c: number, cp: number): number {
  const a = rt.alloc(m * cp * 4);
  const v = rt.f32(a, m * cp);
  if (c === cp) v.set(x);
  else {
    v.fill(0);
    for (let r = 0; r < m; r++) v.set(x.subarray(r * c, r * c + c), r * cp);
  }
  return a;
}

/** Statistics of data already in kernel memory ([M, Cp] at `a`, Cp a multiple of 4). */
export function channelStatsInMemory(rt: KernelRuntime, a: number, m: number, cp: number): ChannelStats {
  const mark = rt.mark();
  try {
    // shift by the first voxel: the sums are of (x - x0), which keeps E[x^2] - E[x]^2 free of cancellation
    const shift = rt.alloc(cp * 4);
    rt.f32(shift, cp).set(rt.f32(a, cp));
    const part = rt.alloc(rt.threads * cp * 16);
    rt.f64(part, rt.threads * cp * 2).fill(0);
    rt.run(GN_STATS_KERNEL, { x: a, shift, part, C: cp }, { end: m, grain: STATS_CHUNK });
    const parts = rt.f64(part, rt.threads * cp * 2);
    const sh = rt.f32(shift, cp);
    const mean = new Float64Array(cp);
    const variance = new Float64Array(cp);
    for (let ch = 0; ch < cp; ch++) {
      let s = 0;
      let q = 0;
      for (let t = 0; t < rt.threads; t++) {
        s += parts[t * cp * 2 + ch];
        q += parts[t * cp * 2 + cp + ch];
      }
      const ms = s / m;
      mean[ch] = sh[ch] + ms;
      variance[ch] = Math.max(0, q / m - ms * ms);
    }
    return { mean, variance };
  } finally {
    rt.release(mark);
  }
}

/** Per-channel mean and biased variance over the M voxels of x [M, C]. */
export function channelStats(rt: KernelRuntime, x: Float32Array, m: number, c: number): ChannelStats {
  checkRows('channelStats', x, m, c);
  const cp = (c + 3) & ~3;
  const mark = rt.mark();
  try {
    const s = channelStatsInMemory(rt, putPadded(rt, x, m, c, cp), m, cp);
    return { mean: s.mean.slice(0, c), variance: s.variance.slice(0, c) };
  } finally {
    rt.release(mark);
  }
}

/** Per-channel center, scale and shift that apply the norm: y = (x - center) * scale + shift. */
export interface ChannelAffine {
  center: Float32Array;
  scale: Float32Array;
  shift: Float32Array;
}

/** The affine map of GroupNorm from statistics: center = mean, scale = gamma / sqrt(var + eps), shift = beta. */
export function normAffine(
  stats: ChannelStats,
  gamma: ArrayLike<number> | undefined,
  beta: ArrayLike<number> | undefined,
  eps: number,
): ChannelAffine {
  const c = stats.mean.length;
  const center = Float32Array.from(stats.mean);
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    scale[ch] = (gamma ? gamma[ch] : 1) / Math.sqrt(stats.variance[ch] + eps);
    shift[ch] = beta ? beta[ch] : 0;
  }
  return { center, scale, shift };
}

/** Applies y = (x - center[c]) * scale[c] + shift[c] to x [M, C]. */
export function channelAffine(
  rt: KernelRuntime,
  x: Float32Array,
  m: number,
  c: number,
  a: ChannelAffine,
): Float32Array {
  checkRows('channelAffine', x, m, c);
  for (const key of ['center', 'scale', 'shift'] as const) {
    if (a[key].length !== c)
      throw new Tensor3dError('BAD_SHAPE', `channelAffine: ${key} has ${a[key].length} values, expected ${c}`);
  }
  const cp = (c + 3) & ~3;
  const mark = rt.mark();
  try {
    const x0 = putPadded(rt, x, m, c, cp);
    const [center, scale, shift] = [a.center, a.scale, a.shift].map((v) => {
      const addr = rt.alloc(cp * 4);
      rt.f32(addr, cp).fill(0).set(v);
      return addr;
    });
    rt.run(GN_APPLY_KERNEL, { x: x0, y: x0, center, scale, shift, C: cp }, { end: m, grain: 64 });
    const v = rt.f32(x0, m * cp);
    if (c === cp) return v.slice();
    const out = new Float32Array(m * c);
    for (let r = 0; r < m; r++) out.set(v.subarray(r * cp, r * cp + c), r * c);
    return out;
  } finally {
    rt.release(mark);
  }
}

/**
 * GroupNorm with one group per channel (MedNeXt's norm) of one sample x [M, C]: statistics over the M voxels,
 * biased variance, then y = (x - mean) / sqrt(var + eps) * gamma + beta.
 */
export function groupNormPerChannel(
  rt: KernelRuntime,
  x: Float32Array,
  m: number,
  c: number,
  gamma?: ArrayLike<number>,
  beta?: ArrayLike<number>,
  eps = 1e-5,
): Float32Array {
  return channelAffine(rt, x, m, c, normAffine(channelStats(rt, x, m, c), gamma, beta, eps));
}
