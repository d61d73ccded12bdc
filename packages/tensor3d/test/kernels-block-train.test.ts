import { describe, expect, it } from 'vitest';
import { random, useKernelRuntimes } from './helpers/kernel-test-utils.js';
import { type BlockTailWeights, blockTailBackward, blockTailForward, erfReference } from '../src/kernels/index.js';
import { GEMM_TN_ACC_KERNEL } from '../src/kernels/wasm/gen-gemm-tn-acc.js';
import { GELU_GRAD_KERNEL } from '../src/kernels/wasm/gen-gelu-grad.js';

function tailWeights(c: number, e: number, cout: number, seed: number): BlockTailWeights {
  return {
    gamma: random(c, seed).map((v) => 1 + 0.5 * v),
    beta: random(c, seed + 1, 0.5),
    w2: random(c * e, seed + 2, 1.5 / Math.sqrt(c)),
    b2: random(e, seed + 3, 0.3),
    w3: random(e * cout, seed + 4, 1 / Math.sqrt(e)),
    b3: random(cout, seed + 5, 0.1),
  };
}

const phi = (x: number): number => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
const Phi = (x: number): number => 0.5 * (1 + erfReference(x / Math.SQRT2));

/** The tail and its gradients of L = sum(y * dy) in float64, written out step by step. */
function reference(t: Float32Array, dy: Float32Array, m: number, w: BlockTailWeights, eps = 1e-5) {
  const c = w.gamma.length;
  const e = w.b2.length;
  const cout = w.b3.length;
  const mean = new Float64Array(c);
  const rstd = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += t[i * c + ch];
    mean[ch] = s / m;
    let q = 0;
    for (let i = 0; i < m; i++) q += (t[i * c + ch] - mean[ch]) ** 2;
    rstd[ch] = 1 / Math.sqrt(q / m + eps);
  }
  const xhat = new Float64Array(m * c);
  const n = new Float64Array(m * c);
  for (let i = 0; i < m; i++)
    for (let ch = 0; ch < c; ch++) {
      xhat[i * c + ch] = (t[i * c + ch] - mean[ch]) * rstd[ch];
      n[i * c + ch] = xhat[i * c + ch] * w.gamma[ch] + w.beta[ch];
    }
  const a = new Float64Array(m * e);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < e; j++) {
      let s = w.b2[j];
      for (let ch = 0; ch < c; ch++) s += n[i * c + ch] * w.w2[ch * e + j];
      a[i * e + j] = s;
    }
  const g = a.map((x) => x * Phi(x));
  const y = new Float64Array(m * cout);
  for (let i = 0; i < m; i++)
    for (let o = 0; o < cout; o++) {
      let s = w.b3[o];
      for (let j = 0; j < e; j++) s += g[i * e + j] * w.w3[j * cout + o];
      y[i * cout + o] = s;
    }
  const dW3 = new Float64Array(e * cout);
  const dB3 = new Float64Array(cout);
  const da = new Float64Array(m * e);
  for (let i = 0; i < m; i++) {
    for (let o = 0; o < cout; o++) dB3[o] += dy[i * cout + o];
    for (let j = 0; j < e; j++) {
      let s = 0;
      for (let o = 0; o < cout; o++) {
        dW3[j * cout + o] += g[i * e + j] * dy[i * cout + o];
        s += dy[i * cout + o] * w.w3[j * cout + o];
      }
      const x = a[i * e + j];
      da[i * e + j] = s * (Phi(x) + x * phi(x));
    }
  }
  const dW2 = new Float64Array(c * e);
  const dB2 = new Float64Array(e);
  const dn = new Float64Array(m * c);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < e; j++) {
      dB2[j] += da[i * e + j];
      for (let ch = 0; ch < c; ch++) {
        dW2[ch * e + j] += n[i * c + ch] * da[i * e + j];
        dn[i * c + ch] += da[i * e + j] * w.w2[ch * e + j];
      }
    }
  const dGamma = new Float64Array(c);
  const dBeta = new Float64Array(c);
  const dt = new Float64Array(m * c);
  for (let ch = 0; ch < c; ch++) {
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < m; i++) {
      const d = dn[i * c + ch];
      dGamma[ch] += d * xhat[i * c + ch];
      dBeta[ch] += d;
      s1 += d * w.gamma[ch];
      s2 += d * w.gamma[ch] * xhat[i * c + ch];
    }
    for (let i = 0; i < m; i++) {
      const dxh = dn[i * c + ch] * w.gamma[ch];
      dt[i * c + ch] = rstd[ch] * (dxh - s1 / m - (xhat[i * c + ch] * s2) / m);
    }
  }
  return { y, dt, dGamma, dBeta, dW2, dB2, dW3, dB3 };
}

/** max |got - want| / (atol + rtol * max |want|): at most 1 passes. */
function relErr(got: Float32Array, want: Float64Array): number {
  expect(got.length).toBe(want.length);
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst / (1e-5 + 2e-5 * scale);
}

const rts = useKernelRuntimes();

describe('block tail for training (forward and backward on the kernels)', () => {
  const cases = [
    { label: 'C 8 -> E 16 -> Cout 8, 301 voxels (several tiles, a partial one)', c: 8, e: 16, cout: 8, m: 301 },
    { label: 'C 12 -> E 36 -> Cout 4 (N not a multiple of 16)', c: 12, e: 36, cout: 4, m: 77 },
    { label: 'C 16 -> E 64 -> Cout 32, 1500 voxels', c: 16, e: 64, cout: 32, m: 1500 },
  ];
  for (const cs of cases) {
    it(`every gradient matches a float64 reference: ${cs.label}`, () => {
      const w = tailWeights(cs.c, cs.e, cs.cout, cs.m);
      // t with a per-channel offset and scale, as a depthwise output has
      const t = random(cs.m * cs.c, 7).map((v, i) => 3 * v + (i % cs.c) * 0.25);
      const dy = random(cs.m * cs.cout, 9);
      const want = reference(t, dy, cs.m, w);
      for (const rt of [rts.one, rts.two]) {
        expect(relErr(blockTailForward(rt, t, cs.m, w), want.y)).toBeLessThanOrEqual(1);
        const got = blockTailBackward(rt, t, dy, cs.m, w);
        for (const key of ['dt', 'dGamma', 'dBeta', 'dW2', 'dB2', 'dW3', 'dB3'] as const) {
          expect(relErr(got[key], want[key]), `${key} (${rt.threads} thread(s))`).toBeLessThanOrEqual(1);
        }
      }
    });
  }

  it('gemm_tn_acc accumulates A^T B over rows (N with a 4-wide remainder), gelu_grad gives gelu and its derivative', () => {
    const rt = rts.one;
    const [rows, k, n] = [37, 12, 20];
    const a = random(rows * k, 21);
    const b = random(rows * n, 22);
    const c0 = random(k * n, 23);
    const mark = rt.mark();
    const [aA, bA, cA] = [rt.put(a), rt.put(b), rt.put(c0)];
    rt.call(GEMM_TN_ACC_KERNEL, { a: aA, b: bA, c: cA, K: k, N: n, rows });
    const want = Float64Array.from(c0);
    for (let r = 0; r < rows; r++)
      for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) want[i * n + j] += a[r * k + i] * b[r * n + j];
    expect(relErr(rt.f32(cA, k * n).slice(), want)).toBeLessThanOrEqual(1);
    // gelu_grad on a sweep through both clamps
    const x = Float32Array.from({ length: 4000 }, (_, i) => -10 + (20 * i) / 3999);
    const xA = rt.put(x);
    const g = rt.alloc(x.length * 4);
    rt.call(GELU_GRAD_KERNEL, { a: xA, g, count: x.length });
    const gelu = rt.f32(g, x.length);
    const d = rt.f32(xA, x.length);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      expect(Math.abs(gelu[i] - v * Phi(v))).toBeLessThan(3e-7 * Math.max(1, Math.abs(v)));
      expect(Math.abs(d[i] - (Phi(v) + v * phi(v)))).toBeLessThan(5e-6);
    }
    rt.release(mark);
  });

  it('checks shapes with messages that name the operand', () => {
    const w = tailWeights(8, 16, 8, 1);
    expect(() => blockTailBackward(rts.one, new Float32Array(80), new Float32Array(7), 10, w)).toThrow(
      /dy has 7 values, expected 80/,
    );
    expect(() => blockTailForward(rts.one, new Float32Array(81), 10, w)).toThrow(/t has 81 values, expected 80/);
    expect(() => blockTailForward(rts.one, new Float32Array(60), 10, tailWeights(6, 12, 6, 1))).toThrow(
      /multiples of 4/,
    );
  });
});
