/**
 * Plain JavaScript references of the kernels (float64 accumulation), straight from the definitions. They are
 * the oracles of the kernel tests and a readable statement of each kernel's semantics; they are slow.
 */
import type { Shape5, Tensor5 } from './depthwise.js';

/** Depthwise conv (forward, any stride) or transposed conv (stride 2, scatter form), NDHWC. */
export function depthwiseReference(
  x: Float32Array,
  shape: Shape5,
  filter: Float32Array,
  k: number,
  opts: { stride: number; pad: number; transposed: boolean; bias?: Float32Array; outSpatial: number[] },
): Tensor5 {
  const [n, d, h, w, c] = shape;
  const [od, oh, ow] = opts.outSpatial;
  const acc = new Float64Array(n * od * oh * ow * c);
  const s = opts.stride;
  const p = opts.pad;
  for (let b = 0; b < n; b++)
    for (let z = 0; z < d; z++)
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++)
          for (let ch = 0; ch < c; ch++) {
            const v = x[(((b * d + z) * h + y) * w + xx) * c + ch];
            // scatter form for both: forward = gather written as scatter over outputs that read this input
            for (let td = 0; td < k; td++)
              for (let th = 0; th < k; th++)
                for (let tw = 0; tw < k; tw++) {
                  let o0: number, o1: number, o2: number;
                  if (opts.transposed) {
                    o0 = z * 2 - p + td;
                    o1 = y * 2 - p + th;
                    o2 = xx * 2 - p + tw;
                  } else {
                    // input z = o*s - p + t  =>  o = (z + p - t) / s
                    const a0 = z + p - td;
                    const a1 = y + p - th;
                    const a2 = xx + p - tw;
                    if (a0 % s !== 0 || a1 % s !== 0 || a2 % s !== 0) continue;
                    o0 = a0 / s;
                    o1 = a1 / s;
                    o2 = a2 / s;
                  }
                  if (o0 < 0 || o0 >= od || o1 < 0 || o1 >= oh || o2 < 0 || o2 >= ow) continue;
                  acc[(((b * od + o0) * oh + o1) * ow + o2) * c + ch] += v * filter[((td * k + th) * k + tw) * c + ch];
                }
          }
  const out = new Float32Array(acc.length);
  for (let i = 0; i < acc.length; i++) out[i] = acc[i] + (opts.bias ? opts.bias[i % c] : 0);
  return { data: out, shape: [n, od, oh, ow, c] };
}

/** Y = X W + bias, float64 accumulation. */
export function matmulReference(
  x: Float32Array,
  m: number,
  k: number,
  w: Float32Array,
  n: number,
  bias?: Float32Array,
): Float32Array {
  const out = new Float32Array(m * n);
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let kk = 0; kk < k; kk++) {
      const a = x[i * k + kk];
      for (let j = 0; j < n; j++) row[j] += a * w[kk * n + j];
    }
    for (let j = 0; j < n; j++) out[i * n + j] = row[j] + (bias ? bias[j] : 0);
  }
  return out;
}

/** erf in float64 (Taylor series below 2.5, continued fraction of erfc above); error below 1e-14. */
export function erfReference(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 80; n++) {
      term *= (-ax * ax) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * sum * (2 / Math.sqrt(Math.PI));
  }
  return Math.sign(x) * (1 - erfcLarge(ax));
}

function erfcLarge(ax: number): number {
  let f = ax;
  for (let n = 120; n >= 1; n--) f = ax + n / 2 / f;
  return Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * f);
}

/** Exact GELU in float64: x * Phi(x), the negative tail through erfc (no cancellation). */
export function geluReference(x: number): number {
  const z = -x / Math.SQRT2;
  const erfc = z >= 2.5 ? erfcLarge(z) : 1 - erfReference(z);
  return 0.5 * x * erfc;
}

/** Filter gradient of the forward depthwise conv (float64 sums): dW[t, c] = sum_o dy[o, c] x[o*s - p + t, c]. */
export function depthwiseFilterGradReference(
  x: Float32Array,
  shape: Shape5,
  dy: Float32Array,
  dyShape: Shape5,
  k: number,
  stride: number,
  pad: number,
): Float32Array {
  const [n, d, h, w, c] = shape;
  const [, od, oh, ow] = dyShape;
  const acc = new Float64Array(k * k * k * c);
  for (let b = 0; b < n; b++)
    for (let z = 0; z < od; z++)
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++)
          for (let td = 0; td < k; td++) {
            const iz = z * stride - pad + td;
            if (iz < 0 || iz >= d) continue;
            for (let th = 0; th < k; th++) {
              const iy = y * stride - pad + th;
              if (iy < 0 || iy >= h) continue;
              for (let tw = 0; tw < k; tw++) {
                const ix = xx * stride - pad + tw;
                if (ix < 0 || ix >= w) continue;
                const xo = (((b * d + iz) * h + iy) * w + ix) * c;
                const yo = (((b * od + z) * oh + y) * ow + xx) * c;
                const fo = ((td * k + th) * k + tw) * c;
                for (let ch = 0; ch < c; ch++) acc[fo + ch] += dy[yo + ch] * x[xo + ch];
              }
            }
          }
  return Float32Array.from(acc);
}
