/** The `affine2` kernel: a per-channel affine map of two arrays, out = A x + B y + D. */
import { type FunctionBuilder, type Local, add, fma, forRange, get, i32, load, mul, set, store } from './encoder.js';
import { type KernelParams, arg, defineKernel } from './kernel-def.js';

const L = (m: { local(t: 'i32'): Local }): Local => m.local('i32');

/** `affine2(out, x, y, A, B, D, C, start, end, tid)`: out = A x + B y + D per channel, rows [start, end). */
export const AFFINE2_KERNEL = defineKernel({
  name: 'affine2',
  mode: 'range',
  args: [
    arg.ptr('out', 'output [M, C]; may be x or y'),
    arg.ptr('x', 'first input [M, C]'),
    arg.ptr('y', 'second input [M, C]'),
    arg.ptr('A', 'per-channel factor of x [C]'),
    arg.ptr('B', 'per-channel factor of y [C]'),
    arg.ptr('D', 'per-channel offset [C]'),
    arg.i32('C', 'channels, a multiple of 4'),
  ],
  emit: (f, P) => emitAffine2(f, P),
});

function emitAffine2(f: FunctionBuilder, P: KernelParams<'out' | 'x' | 'y' | 'A' | 'B' | 'D' | 'C'>): void {
  const { out, x, y, A, B, D, C, start, end } = P;
  const r = L(f);
  const c0 = L(f);
  const off = L(f);
  const cs = L(f);
  f.run(
    set(cs, mul(get(C), i32(4))),
    forRange(r, get(start), get(end), 1, [
      forRange(c0, i32(0), get(cs), 16, [
        set(off, add(mul(get(r), get(cs)), get(c0))),
        store(
          add(get(out), get(off)),
          fma(
            load(add(get(A), get(c0))),
            load(add(get(x), get(off))),
            fma(load(add(get(B), get(c0))), load(add(get(y), get(off))), load(add(get(D), get(c0)))),
          ),
        ),
      ]),
    ]),
  );
}
