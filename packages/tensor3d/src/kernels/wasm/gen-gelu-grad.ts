/** The `gelu_grad` helper kernel: GELU and its derivative in one pass (the rational form differentiated). */
import {
  type Expr,
  type FunctionBuilder,
  type Local,
  add,
  fadd,
  fdiv,
  fma,
  fmul,
  forRange,
  fpmax,
  fpmin,
  fsub,
  get,
  i32,
  load,
  mul,
  set,
  splatF,
  store,
} from './encoder.js';
import { RATIONAL_CLAMP, RATIONAL_P, RATIONAL_Q } from './gelu-math.js';
import { type KernelParams, arg, defineKernel } from './kernel-def.js';

const L = (m: { local(t: 'i32'): Local }): Local => m.local('i32');

/** Coefficients of P'(u) from those of P(u) (constant term first). */
function derivative(p: readonly number[]): number[] {
  return p.slice(1).map((c, i) => c * (i + 1));
}

function horner(acc: Local, u: Local, coeffs: readonly number[]): Expr[] {
  const steps: Expr[] = [set(acc, splatF(coeffs[coeffs.length - 1]))];
  for (let i = coeffs.length - 2; i >= 0; i--) steps.push(set(acc, fma(get(acc), get(u), splatF(coeffs[i]))));
  return steps;
}

/**
 * `gelu_grad(a, g, count)`: g = gelu(a) and, in place, a = gelu'(a), for `count` floats (a multiple of 4). With
 * gelu(x) = x (1/2 + x R(x^2)), R = P/Q: gelu'(x) = 1/2 + 2 x R + 2 x^3 R'(x^2), R' = (P' - R Q') / Q, evaluated at
 * x clamped to the fit's range (beyond it the derivative is 0 or 1 to within 1e-6); within 5e-6 of Phi(x) + x phi(x).
 */
export const GELU_GRAD_KERNEL = defineKernel({
  name: 'gelu_grad',
  mode: 'once',
  args: [
    arg.ptr('a', 'pre-activations; replaced by the derivative of GELU at a'),
    arg.ptr('g', 'output: gelu(a)'),
    arg.i32('count', 'floats, a multiple of 4'),
  ],
  emit: (f, P) => emitGeluGrad(f, P),
});

function emitGeluGrad(f: FunctionBuilder, P: KernelParams<'a' | 'g' | 'count'>): void {
  const { a, g, count } = P;
  const i = L(f);
  const v = (): Local => f.local('v128');
  const [x, xc, u, p, q, dp, dq, rr] = [v(), v(), v(), v(), v(), v(), v(), v()];
  f.run(
    forRange(i, i32(0), mul(get(count), i32(4)), 16, [
      set(x, load(add(get(a), get(i)))),
      set(xc, fpmax(fpmin(get(x), splatF(RATIONAL_CLAMP)), splatF(-RATIONAL_CLAMP))),
      set(u, fmul(get(xc), get(xc))),
      ...horner(p, u, RATIONAL_P),
      ...horner(q, u, RATIONAL_Q),
      ...horner(dp, u, derivative(RATIONAL_P)),
      ...horner(dq, u, derivative(RATIONAL_Q)),
      set(rr, fdiv(get(p), get(q))), // R
      set(dp, fdiv(fsub(get(dp), fmul(get(rr), get(dq))), get(q))), // R'
      store(add(get(g), get(i)), fmul(get(x), fma(get(xc), get(rr), splatF(0.5)))),
      // 1/2 + 2 xc (R + xc^2 R')
      set(dq, fma(get(u), get(dp), get(rr))),
      store(add(get(a), get(i)), fma(fadd(get(xc), get(xc)), get(dq), splatF(0.5))),
    ]),
  );
}
