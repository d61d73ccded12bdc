/**
 * Generators of the memory-bound kernels: exact GELU, per-channel GroupNorm statistics and the
 * normalisation apply. Also exports {@link geluInPlace}, the vector GELU used by the GEMM epilogue.
 */
import {
  type Expr,
  type FunctionBuilder,
  type Local,
  type ModuleBuilder,
  add,
  f64x2Add,
  fabs,
  fadd,
  fdiv,
  fma,
  fmax,
  fmin,
  fmul,
  fneg,
  fnearest,
  forRange,
  fsub,
  get,
  highHalf,
  i32,
  i32x4Add,
  i32x4Shl,
  i32x4Splat,
  inc,
  load,
  ltS,
  madd,
  mul,
  promoteLow,
  seq,
  set,
  splatF,
  store,
  truncSat,
  vand,
} from './encoder.js';

/** Scratch locals of {@link geluInPlace}, allocated once per function. */
export interface GeluTemps {
  a: Local;
  t: Local;
  p: Local;
  n: Local;
  h: Local;
  l: Local;
}

export function geluTemps(f: FunctionBuilder): GeluTemps {
  const v = (): Local => f.local('v128');
  return { a: v(), t: v(), p: v(), n: v(), h: v(), l: v() };
}

// erfc(z) = t * exp(-z^2 + P(t)), t = 1 / (1 + z/2), z >= 0: the Chebyshev-fitted form published in
// Numerical Recipes (fractional error < 1.2e-7 for every z >= 0). Coefficients of P, constant term first.
const ERFC_P = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223,
  0.17087277,
];

/** Beyond this |x| the erfc factor would underflow the 2^n construction; gelu(x) is then ~0 or x anyway. */
const GELU_CLAMP = 12.9;

/**
 * `v = gelu(v)` exactly (erf form): gelu(x) = max(x, 0) - |x|/2 * erfc(|x|/sqrt 2).
 * Written without a select: for x <= 0 this is x/2 * erfc(-x/sqrt 2), for x > 0 it is x - x/2 * erfc(x/sqrt 2),
 * both equal to x * Phi(x); the negative tail keeps its relative accuracy (no 1 - erf cancellation).
 * The exponent -x^2/2 is carried as an exact head (x rounded to 12 bits, squared) plus a small tail, and
 * the head is cancelled against n*ln2 first, so exp() keeps ~1e-7 relative accuracy far into the tail.
 */
export function geluInPlace(v: Local, tmp: GeluTemps): Expr {
  const { a, t, p, n, h, l } = tmp;
  const steps: Expr[] = [
    set(a, fmin(fabs(get(v)), splatF(GELU_CLAMP))),
    set(h, vand(get(a), i32x4Splat(i32(-4096)))), // high 12 bits of |x|: its square is exact
    set(l, fmul(fmul(fsub(get(a), get(h)), fadd(get(a), get(h))), splatF(0.5))), // x^2/2 - h^2/2
    set(h, fmul(fmul(get(h), get(h)), splatF(0.5))), // exact h^2/2
    set(t, fdiv(splatF(1), fma(get(a), splatF(Math.SQRT1_2 * 0.5), splatF(1)))),
    set(p, splatF(ERFC_P[ERFC_P.length - 1])),
  ];
  for (let i = ERFC_P.length - 2; i >= 0; i--) steps.push(set(p, fma(get(p), get(t), splatF(ERFC_P[i]))));
  // y = P(t) - h - l = n ln2 + r, |r| <= ln2/2; ln2 split Cody-Waite style (the head has 9 bits, so n*head is exact)
  steps.push(set(n, fnearest(fmul(fsub(fsub(get(p), get(h)), get(l)), splatF(Math.LOG2E)))));
  steps.push(
    set(
      p,
      fsub(
        fsub(fadd(fsub(fneg(get(h)), fmul(get(n), splatF(0.693359375))), get(p)), get(l)),
        fmul(get(n), splatF(-2.1219444005469057e-4)),
      ),
    ),
  );
  // degree-7 Taylor series of exp(r), Horner, in a
  steps.push(set(a, splatF(1 / 5040)));
  for (const c of [1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 1]) steps.push(set(a, fma(get(a), get(p), splatF(c))));
  // scale by 2^n: build the float bits (n + 127) << 23
  steps.push(set(n, i32x4Shl(i32x4Add(truncSat(get(n)), i32x4Splat(i32(127))), i32(23))));
  steps.push(set(a, fmul(fmul(get(a), get(n)), get(t)))); // a = erfc(|x|/sqrt 2)
  steps.push(set(v, fsub(fmax(get(v), splatF(0)), fmul(fmul(fabs(get(v)), splatF(0.5)), get(a)))));
  return seq(...steps);
}

/** `gelu(x, y, start, end, tid)`: y[i] = gelu(x[i]) for 4-float vectors i in [start, end). */
export function emitGelu(m: ModuleBuilder): void {
  const f = m.func('gelu', ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [x, y, start, end] = f.params;
  const i = f.local('i32');
  const off = f.local('i32');
  const v = f.local('v128');
  const tmp = geluTemps(f);
  f.run(
    forRange(i, get(start), get(end), 1, [
      set(off, mul(get(i), i32(16))),
      set(v, load(add(get(x), get(off)))),
      geluInPlace(v, tmp),
      store(add(get(y), get(off)), get(v)),
    ]),
  );
}

/** Rows per float32 partial sum before it is added to the float64 totals. */
export const STATS_CHUNK = 64;

/**
 * `gn_stats(x, shift, part, C, start, end, tid)`: for rows (voxels) in [start, end) of an [M, C] array, adds
 * sum(x - shift[c]) and sum((x - shift[c])^2) per channel into float64 arrays at `part + tid*C*16`
 * (sums, then squares). Float32 partials over {@link STATS_CHUNK} rows keep the float64 work small.
 */
export function emitGroupNormStats(m: ModuleBuilder): void {
  const f = m.func('gn_stats', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [x, shift, part, C, start, end, tid] = f.params;
  const cs = f.local('i32');
  const r0 = f.local('i32');
  const r1 = f.local('i32');
  const r = f.local('i32');
  const c0 = f.local('i32');
  const p = f.local('i32');
  const sums = f.local('i32');
  const sq = f.local('i32');
  const s = f.local('v128');
  const q = f.local('v128');
  const sh = f.local('v128');
  const v = f.local('v128');
  const addF64 = (addr: Local, acc: Local): Expr =>
    seq(
      store(get(addr), f64x2Add(load(get(addr)), promoteLow(get(acc)))),
      store(get(addr), f64x2Add(load(get(addr), 16), promoteLow(highHalf(get(acc)))), 16),
    );
  f.run(
    set(cs, mul(get(C), i32(4))),
    forRange(r0, get(start), get(end), STATS_CHUNK, [
      set(r1, add(get(r0), i32(STATS_CHUNK))),
      // r1 = min(r0 + chunk, end)
      seqIf(ltS(get(end), get(r1)), set(r1, get(end))),
      forRange(c0, i32(0), get(cs), 16, [
        set(s, splatF(0)),
        set(q, splatF(0)),
        set(sh, load(add(get(shift), get(c0)))),
        set(p, add(add(get(x), mul(get(r0), get(cs))), get(c0))),
        forRange(r, get(r0), get(r1), 1, [
          set(v, fsub(load(get(p)), get(sh))),
          set(s, fadd(get(s), get(v))),
          madd(q, get(v), get(v)),
          inc(p, get(cs)),
        ]),
        set(sums, add(add(get(part), mul(get(tid), mul(get(cs), i32(4)))), mul(get(c0), i32(2)))),
        set(sq, add(get(sums), mul(get(cs), i32(2)))),
        addF64(sums, s),
        addF64(sq, q),
      ]),
    ]),
  );
}

function seqIf(cond: Expr, then: Expr): Expr {
  return (f) => {
    cond(f);
    f.emit(0x04, 0x40);
    then(f);
    f.emit(0x0b);
  };
}

/**
 * `gn_apply(x, y, center, scale, shift, C, start, end, tid)`: y = (x - center[c]) * scale[c] + shift[c] for rows
 * in [start, end). Subtracting the mean before scaling avoids the cancellation of the folded x*s + (b - m*s)
 * when a channel's mean is large against its spread; the extra subtraction is free in this memory-bound loop.
 */
export function emitGroupNormApply(m: ModuleBuilder): void {
  const f = m.func('gn_apply', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [x, y, center, scale, shift, C, start, end] = f.params;
  const cs = f.local('i32');
  const r = f.local('i32');
  const c0 = f.local('i32');
  const base = f.local('i32');
  f.run(
    set(cs, mul(get(C), i32(4))),
    forRange(r, get(start), get(end), 1, [
      set(base, mul(get(r), get(cs))),
      forRange(c0, i32(0), get(cs), 16, [
        store(
          add(add(get(y), get(base)), get(c0)),
          fma(
            fsub(load(add(add(get(x), get(base)), get(c0))), load(add(get(center), get(c0)))),
            load(add(get(scale), get(c0))),
            load(add(get(shift), get(c0))),
          ),
        ),
      ]),
    ]),
  );
}
