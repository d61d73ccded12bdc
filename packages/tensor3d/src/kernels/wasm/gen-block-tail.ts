/**
 * Generator of the fused inverted-bottleneck tail: norm-apply -> expand 1x1x1 (+GELU) -> compress 1x1x1 (+residual)
 * over tiles of voxels, so the expanded tensor (E channels per voxel, typically 2-4x the block's input) only
 * ever exists as one tile in a per-thread scratch buffer, in cache, and never in memory.
 */
import { add, call, forRange, get, i32, ifThen, ltS, mul, set, sub } from './encoder.js';
import { arg, defineKernel } from './kernel-def.js';

/**
 * `block_tail`: the inverted-bottleneck tail over voxel tiles, dispatched over rows (voxels). Calls the module's
 * `gn_apply`, `gemm_gelu` and `gemm` on one tile at a time; the tile's rows [i0, i1) are addressed through
 * pointers shifted by -i0 rows (i32 arithmetic wraps), so the callees' absolute row indices land in the scratch
 * buffers.
 */
export const BLOCK_TAIL_KERNEL = defineKernel({
  name: 'block_tail',
  mode: 'range',
  args: [
    arg.ptr('h', 'the tail input [M, C] (e.g. a depthwise conv output)'),
    arg.ptr('center', 'norm affine: per-channel center [C]'),
    arg.ptr('scale', 'norm affine: per-channel scale [C]'),
    arg.ptr('shift', 'norm affine: per-channel shift [C]'),
    arg.i32('C', 'input channels, a multiple of 4'),
    arg.ptr('bp2', 'expand weights [C -> E], packed panels'),
    arg.ptr('bias2', 'expand bias [E], padded to whole panels'),
    arg.i32('E', 'expanded channels'),
    arg.ptr('bp3', 'compress weights [E -> Cout], packed panels'),
    arg.ptr('bias3', 'compress bias [Cout], padded to whole panels'),
    arg.i32('Cout', 'output channels, a multiple of 4'),
    arg.ptr('out', 'output [M, Cout]'),
    arg.ptr('res', 'residual [M, Cout] added to the output, or 0 for none'),
    arg.ptr('scratch', 'per-thread scratch base; thread t uses scratch + t * scratchStride'),
    arg.i32('scratchStride', 'bytes of scratch per thread: MT * (C + E) floats, rounded up to 64 bytes'),
    arg.i32('MT', 'rows per tile'),
  ],
  calls: ['gn_apply', 'gemm_gelu', 'gemm'],
  emit: (f, P, callIndex) => {
    const gnApply = callIndex('gn_apply');
    const gemmGelu = callIndex('gemm_gelu');
    const gemm = callIndex('gemm');
    const i0 = f.local('i32');
    const i1 = f.local('i32');
    const s1 = f.local('i32'); // normalised tile [MT, C]
    const s2 = f.local('i32'); // expanded tile [MT, E]
    const s1r = f.local('i32'); // s1 shifted by -i0 rows
    const s2r = f.local('i32');
    f.run(
      set(s1, add(get(P.scratch), mul(get(P.tid), get(P.scratchStride)))),
      set(s2, add(get(s1), mul(mul(get(P.MT), get(P.C)), i32(4)))),
      forRange(i0, get(P.start), get(P.end), 0, [
        set(i1, add(get(i0), get(P.MT))),
        ifThen(ltS(get(P.end), get(i1)), [set(i1, get(P.end))]),
        set(s1r, sub(get(s1), mul(mul(get(i0), get(P.C)), i32(4)))),
        set(s2r, sub(get(s2), mul(mul(get(i0), get(P.E)), i32(4)))),
        call(
          gnApply,
          get(P.h),
          get(s1r),
          get(P.center),
          get(P.scale),
          get(P.shift),
          get(P.C),
          get(i0),
          get(i1),
          get(P.tid),
        ),
        call(
          gemmGelu,
          get(s1r),
          get(P.bp2),
          get(P.bias2),
          get(s2r),
          i32(0),
          get(P.C),
          get(P.E),
          get(P.MT),
          get(i0),
          get(i1),
          get(P.tid),
        ),
        call(
          gemm,
          get(s2r),
          get(P.bp3),
          get(P.bias3),
          get(P.out),
          get(P.res),
          get(P.E),
          get(P.Cout),
          get(P.MT),
          get(i0),
          get(i1),
          get(P.tid),
        ),
        set(i0, get(i1)),
      ]),
    );
  },
});
