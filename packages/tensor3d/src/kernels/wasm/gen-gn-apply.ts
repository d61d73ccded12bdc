/** The normalisation-apply kernel: a per-channel affine map y = (x - center) * scale + shift. */
import { type FunctionBuilder, add, fma, forRange, fsub, get, i32, load, mul, set, store } from './encoder.js';
import { type KernelParams, arg, defineKernel } from './kernel-def.js';

/**
 * `gn_apply(x, y, center, scale, shift, C, start, end, tid)`: y = (x - center[c]) * scale[c] + shift[c] for rows
 * in [start, end). Subtracting the mean before scaling avoids the cancellation of the folded x*s + (b - m*s)
 * when a channel's mean is large against its spread; the extra subtraction is free in this memory-bound loop.
 */
export const GN_APPLY_KERNEL = defineKernel({
  name: 'gn_apply',
  mode: 'range',
  args: [
    arg.ptr('x', 'input [M, C] (dispatched over rows)'),
    arg.ptr('y', 'output [M, C]; may be x'),
    arg.ptr('center', 'per-channel center [C] (the mean)'),
    arg.ptr('scale', 'per-channel scale [C] (gamma / sqrt(var + eps))'),
    arg.ptr('shift', 'per-channel shift [C] (beta)'),
    arg.i32('C', 'channels, a multiple of 4'),
  ],
  emit: (f, P) => emitGroupNormApply(f, P),
});

function emitGroupNormApply(f: FunctionBuilder, P: KernelParams<'x' | 'y' | 'center' | 'scale' | 'shift' | 'C'>): void {
  const { x, y, center, scale, shift, C, start, end } = P;
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
