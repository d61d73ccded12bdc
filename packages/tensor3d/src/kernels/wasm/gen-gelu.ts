/** The GELU kernels: in-place GELU of a float array, split between threads by element. */
import { type FunctionBuilder, add, get, i32, mul, set, sub } from './encoder.js';
import { type KernelParams, arg, defineKernel } from './kernel-def.js';
import { type GeluForm, geluRange, geluRangeLocals } from './gelu-math.js';

const GELU_ARGS = [arg.ptr('x', 'the values, GELU applied in place to floats [start, end)')];

/** In place GELU of floats [start, end) of the array at x, in `form`. */
function emitGelu(f: FunctionBuilder, P: KernelParams<'x'>, form: GeluForm): void {
  const { x, start, end } = P;
  const base = f.local('i32');
  const count = f.local('i32');
  f.run(
    set(base, add(get(x), mul(get(start), i32(4)))),
    set(count, sub(get(end), get(start))),
    geluRange(base, count, geluRangeLocals(f, form)),
  );
}

/** `gelu`: exact GELU (erfc form, relative error about 1e-6), in place, one float per dispatched row. */
export const GELU_KERNEL = defineKernel({
  name: 'gelu',
  mode: 'range',
  args: GELU_ARGS,
  emit: (f, P) => emitGelu(f, P, 'erfc'),
});

/** `gelu_rational`: GELU in the rational form of the GEMM epilogue (about 3x cheaper), in place. */
export const GELU_RATIONAL_KERNEL = defineKernel({
  name: 'gelu_rational',
  mode: 'range',
  args: GELU_ARGS,
  emit: (f, P) => emitGelu(f, P, 'rational'),
});
