/** The `norm_grad` helper kernel: the per-channel norm affine's gradients over a tile of rows. */
import {
  type FunctionBuilder,
  type Local,
  add,
  fadd,
  fma,
  fmul,
  forRange,
  fsub,
  get,
  i32,
  load,
  mul,
  set,
  store,
} from './encoder.js';
import { type KernelParams, arg, defineKernel } from './kernel-def.js';

const L = (m: { local(t: 'i32'): Local }): Local => m.local('i32');

/**
 * `norm_grad(t, dn, center, rstd, gamma, dxhat, dgamma, dbeta, C, rows)`: with xhat = (t - center) * rstd,
 * dgamma += sum dn * xhat, dbeta += sum dn, and dxhat = dn * gamma per row.
 */
export const NORM_GRAD_KERNEL = defineKernel({
  name: 'norm_grad',
  mode: 'once',
  args: [
    arg.ptr('t', 'the norm input [rows, C]'),
    arg.ptr('dn', 'gradient of the norm output [rows, C]'),
    arg.ptr('center', 'per-channel mean [C]'),
    arg.ptr('rstd', 'per-channel 1 / sqrt(var + eps) [C]'),
    arg.ptr('gamma', 'norm scale [C]'),
    arg.ptr('dxhat', 'output: dn * gamma [rows, C]'),
    arg.ptr('dgamma', 'sum of dn * xhat [C], accumulated into'),
    arg.ptr('dbeta', 'sum of dn [C], accumulated into'),
    arg.i32('C', 'channels, a multiple of 4'),
    arg.i32('rows', 'rows of the tile'),
  ],
  emit: (f, P) => emitNormGrad(f, P),
});

function emitNormGrad(
  f: FunctionBuilder,
  P: KernelParams<'t' | 'dn' | 'center' | 'rstd' | 'gamma' | 'dxhat' | 'dgamma' | 'dbeta' | 'C' | 'rows'>,
): void {
  const { t, dn, center, rstd, gamma, dxhat, dgamma, dbeta, C, rows } = P;
  const r = L(f);
  const c0 = L(f);
  const off = L(f);
  const cs = L(f);
  const d = f.local('v128');
  const xh = f.local('v128');
  f.run(
    set(cs, mul(get(C), i32(4))),
    forRange(r, i32(0), get(rows), 1, [
      forRange(c0, i32(0), get(cs), 16, [
        set(off, add(mul(get(r), get(cs)), get(c0))),
        set(d, load(add(get(dn), get(off)))),
        set(
          xh,
          fmul(fsub(load(add(get(t), get(off))), load(add(get(center), get(c0)))), load(add(get(rstd), get(c0)))),
        ),
        store(add(get(dgamma), get(c0)), fma(get(d), get(xh), load(add(get(dgamma), get(c0))))),
        store(add(get(dbeta), get(c0)), fadd(get(d), load(add(get(dbeta), get(c0))))),
        store(add(get(dxhat), get(off)), fmul(get(d), load(add(get(gamma), get(c0))))),
      ]),
    ]),
  );
}
