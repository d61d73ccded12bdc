/** The `mul_into` helper kernel: an elementwise product in place. */
import { type FunctionBuilder, type Local, add, fmul, forRange, get, i32, load, mul, store } from './encoder.js';
import { type KernelParams, arg, defineKernel } from './kernel-def.js';

const L = (m: { local(t: 'i32'): Local }): Local => m.local('i32');

/** `mul_into(x, y, count)`: x *= y elementwise over `count` floats (a multiple of 4). */
export const MUL_INTO_KERNEL = defineKernel({
  name: 'mul_into',
  mode: 'once',
  args: [
    arg.ptr('x', 'values, multiplied in place'),
    arg.ptr('y', 'factors'),
    arg.i32('count', 'floats, a multiple of 4'),
  ],
  emit: (f, P) => emitMulInto(f, P),
});

function emitMulInto(f: FunctionBuilder, P: KernelParams<'x' | 'y' | 'count'>): void {
  const { x, y, count } = P;
  const i = L(f);
  f.run(
    forRange(i, i32(0), mul(get(count), i32(4)), 16, [
      store(add(get(x), get(i)), fmul(load(add(get(x), get(i))), load(add(get(y), get(i))))),
    ]),
  );
}
