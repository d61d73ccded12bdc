/**
 * The vector GELU code shared by the kernels: the exact (erfc) and rational forms evaluated on f32x4 values,
 * and {@link geluRange}, the in-place GELU loop of the `gelu` kernels and the GEMM epilogue. Not a kernel itself.
 */
import {
  type Expr,
  type FunctionBuilder,
  type Local,
  add,
  f32Load,
  f32Store,
  fabs,
  fadd,
  fdiv,
  fma,
  fmul,
  fpmax,
  fpmin,
  fsub,
  get,
  i32,
  i32x4Add,
  i32x4Shl,
  inc,
  lane,
  leS,
  load,
  ltS,
  mul,
  seq,
  set,
  splat,
  splatF,
  splatI,
  store,
  vand,
  whileLoop,
} from './encoder.js';

/** Scratch locals of one GELU evaluation, allocated once per function. */
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
/** 1.5 * 2^23: adding it rounds a float below 2^22 in magnitude to an integer held in the low mantissa bits. */
const ROUND_MAGIC = 12582912;

// exp(r) on |r| <= ~0.36 as 1 + r*(c1 + r*(c2 + ...)): a degree-5 relative-error minimax fit (Lawson iterations on
// 20001 points, float32 coefficients; max relative error 1.1e-7), one degree less than Taylor needs.
const EXP_C = [
  1, 0.9999996423721313, 0.4999907910823822, 0.16667716205120087, 0.041907165199518204, 0.008288558572530746,
];

/**
 * The erfc form of `v = gelu(v)` (exact, erf form): gelu(x) = max(x, 0) - |x|/2 * erfc(|x|/sqrt 2).
 * Written without a select: for x <= 0 this is x/2 * erfc(-x/sqrt 2), for x > 0 it is x - x/2 * erfc(x/sqrt 2),
 * both equal to x * Phi(x); the negative tail keeps its relative accuracy (no 1 - erf cancellation).
 * The exponent -x^2/2 is carried as an exact head (x rounded to 12 bits, squared) plus a small tail, and
 * the head is cancelled against n*ln2 first, so exp() keeps ~1e-7 relative accuracy far into the tail.
 */
function geluSteps(v: Local, tmp: GeluTemps): Expr[] {
  const { a, t, p, n, h, l } = tmp;
  const t2 = a; // |x| is dead once t is formed; a holds n as a float until the exp polynomial
  const steps: Expr[] = [
    set(a, fpmin(fabs(get(v)), splatF(GELU_CLAMP))),
    set(h, vand(get(a), splatI(-4096))), // high 12 bits of |x|: its square is exact
    set(l, fmul(fsub(get(a), get(h)), fmul(fadd(get(a), get(h)), splatF(0.5)))), // x^2/2 - h^2/2
    set(h, fmul(get(h), fmul(get(h), splatF(0.5)))), // exact h^2/2
    set(t, fdiv(splatF(1), fma(get(a), splatF(Math.SQRT1_2 * 0.5), splatF(1)))),
    set(p, splatF(ERFC_P[ERFC_P.length - 1])),
  ];
  for (let i = ERFC_P.length - 2; i >= 0; i--) steps.push(set(p, fma(get(p), get(t), splatF(ERFC_P[i]))));
  // y = P(t) - h - l = n ln2 + r. Rounding (P - h)/ln2 by adding 1.5*2^23 leaves n in the low mantissa bits (no
  // float->int conversion); l only nudges r. ln2 is split Cody-Waite style: the 9-bit head makes n*head exact
  // and h + n*head (nearly cancelling) exact too.
  steps.push(set(n, fadd(fmul(fsub(get(p), get(h)), splatF(Math.LOG2E)), splatF(ROUND_MAGIC))));
  steps.push(set(t2, fsub(get(n), splatF(ROUND_MAGIC)))); // n as a float
  steps.push(
    set(
      p,
      fsub(
        fsub(fsub(get(p), fadd(get(h), fmul(get(t2), splatF(0.693359375)))), get(l)),
        fmul(get(t2), splatF(-2.1219444005469057e-4)),
      ),
    ),
  );
  // exp(r), Horner, in a
  steps.push(set(a, splatF(EXP_C[EXP_C.length - 1])));
  for (let i = EXP_C.length - 2; i >= 0; i--) steps.push(set(a, fma(get(a), get(p), splatF(EXP_C[i]))));
  // scale by 2^(n-1) (the 1/2 of gelu folded in): bits of n + magic are 0x4B400000 + n; adding 126 and shifting
  // left by 23 leaves (n - 1 + 127) << 23
  steps.push(set(n, i32x4Shl(i32x4Add(get(n), splatI(126)), i32(23))));
  steps.push(set(a, fmul(fmul(get(a), get(n)), get(t)))); // a = erfc(|x|/sqrt 2) / 2
  steps.push(set(v, fsub(fpmax(get(v), splatF(0)), fmul(fabs(get(v)), get(a)))));
  return steps;
}

// GELU as x * (1/2 + x * P(x^2) / Q(x^2)) on |x| <= 5.65 (x clamped there; beyond, Phi(x) is 0 or 1 to within
// 1e-8): a rational fit made for this project (linearised least squares with Lawson reweighting, degree 5/5 in
// u = x^2) of (Phi(x) - 1/2) / x, relative error 2.4e-8 in exact arithmetic. In float32 the GELU error is at most
// 2.8e-7 * max(1, |x|), a few ulp: exact GELU in absolute terms at a third of the instructions of the erfc form,
// though without that form's relative accuracy far in the negative tail. Constant term first.
export const RATIONAL_CLAMP = 5.65;
export const RATIONAL_P = [
  0.3989422619342804, 0.0341792106628418, 0.004691562615334988, 0.00017128861509263515, 6.288089934969321e-6,
  2.199224624632734e-8,
];
export const RATIONAL_Q = [
  1, 0.2523408532142639, 0.02881779707968235, 0.0018989997915923595, 7.40041141398251e-5, 1.1705902807079838e-6,
];

/** The GELU forms: `erfc` keeps ~1e-7 relative accuracy everywhere; `rational` is ~3x cheaper, exact in absolute terms. */
export type GeluForm = 'erfc' | 'rational';

function geluRationalSteps(v: Local, tmp: GeluTemps): Expr[] {
  const { a, t, p, n } = tmp;
  const steps: Expr[] = [
    set(a, fpmax(fpmin(get(v), splatF(RATIONAL_CLAMP)), splatF(-RATIONAL_CLAMP))),
    set(t, fmul(get(a), get(a))),
    set(p, splatF(RATIONAL_P[RATIONAL_P.length - 1])),
    set(n, splatF(RATIONAL_Q[RATIONAL_Q.length - 1])),
  ];
  for (let i = RATIONAL_P.length - 2; i >= 0; i--) {
    steps.push(set(p, fma(get(p), get(t), splatF(RATIONAL_P[i]))));
    steps.push(set(n, fma(get(n), get(t), splatF(RATIONAL_Q[i]))));
  }
  steps.push(set(p, fma(get(a), fdiv(get(p), get(n)), splatF(0.5))));
  steps.push(set(v, fmul(get(v), get(p))));
  return steps;
}

function geluFormSteps(form: GeluForm): (v: Local, tmp: GeluTemps) => Expr[] {
  return form === 'rational' ? geluRationalSteps : geluSteps;
}

/** Vectors per iteration of the GELU loops (interleaved for instruction-level parallelism; 3 measured best). */
export const GELU_UNROLL = 3;

/** Locals of {@link geluRange}, allocated once per function. */
export interface GeluRangeLocals {
  form: GeluForm;
  i: Local;
  off: Local;
  vs: Local[];
  tmps: GeluTemps[];
}

export function geluRangeLocals(f: FunctionBuilder, form: GeluForm = 'erfc'): GeluRangeLocals {
  const vs = Array.from({ length: GELU_UNROLL }, () => f.local('v128'));
  return { form, i: f.local('i32'), off: f.local('i32'), vs, tmps: vs.map(() => geluTemps(f)) };
}

/**
 * In place GELU of `count` floats at byte address `base` (any count: whole vectors, interleaved by
 * GELU_UNROLL, then one vector at a time, then the last floats one lane at a time).
 */
export function geluRange(base: Local, count: Local, L: GeluRangeLocals): Expr {
  const { i, off, vs, tmps } = L;
  const v = vs[0];
  const steps = geluFormSteps(L.form);
  const one = (w: Local): Expr => seq(...steps(w, tmps[0]));
  const lists = vs.map((w, u) => steps(w, tmps[u]));
  const interleaved: Expr[] = [];
  for (let s = 0; s < lists[0].length; s++) for (const l of lists) interleaved.push(l[s]);
  return seq(
    set(i, i32(0)),
    whileLoop(leS(add(get(i), i32(4 * GELU_UNROLL)), get(count)), [
      set(off, add(get(base), mul(get(i), i32(4)))),
      ...vs.map((w, u) => set(w, load(get(off), u * 16))),
      ...interleaved,
      ...vs.map((w, u) => store(get(off), get(w), u * 16)),
      inc(i, 4 * GELU_UNROLL),
    ]),
    whileLoop(leS(add(get(i), i32(4)), get(count)), [
      set(off, add(get(base), mul(get(i), i32(4)))),
      set(v, load(get(off))),
      one(v),
      store(get(off), get(v)),
      inc(i, 4),
    ]),
    whileLoop(ltS(get(i), get(count)), [
      set(off, add(get(base), mul(get(i), i32(4)))),
      set(v, splat(f32Load(get(off)))),
      one(v),
      f32Store(get(off), lane(get(v), 0)),
      inc(i, 1),
    ]),
  );
}
