/**
 * Generator of the fused MedNeXt block tail: norm-apply -> expand 1x1x1 (+GELU) -> compress 1x1x1 (+residual)
 * over tiles of voxels, so the expanded tensor (E = exp_r * C channels per voxel, 2-4x the block's input) only
 * ever exists as one tile in a per-thread scratch buffer, in cache, and never in memory.
 */
import { type ModuleBuilder, add, call, forRange, get, i32, ifThen, ltS, mul, set, sub } from './encoder.js';

/** Parameters of `block_tail`, in order (the last three come from the dispatcher). */
export const BLOCK_TAIL_PARAMS = [
  'h', // depthwise output [M, C]
  'center', // GroupNorm affine, [C] each
  'scale',
  'shift',
  'C',
  'bp2', // expand weights, packed panels, [C -> E]
  'bias2',
  'E',
  'bp3', // compress weights, packed panels, [E -> Cout]
  'bias3',
  'Cout',
  'out', // [M, Cout]
  'res', // residual [M, Cout] or 0
  'scratch', // per-thread scratch base; thread t uses scratch + t * scratchStride
  'scratchStride',
  'MT', // rows per tile
  'start',
  'end',
  'tid',
] as const;

/**
 * Emits `block_tail(...)`. Calls the module's `gn_apply`, `gemm_gelu` and `gemm` on one tile at a time; the
 * tile's rows [i0, i1) are addressed through pointers shifted by -i0 rows (i32 arithmetic wraps), so the
 * callees' absolute row indices land in the scratch buffers.
 */
export function emitBlockTail(m: ModuleBuilder): void {
  const byName = (n: string): number => m.functionIndex(n, 'block_tail');
  const gnApply = byName('gn_apply');
  const gemmGelu = byName('gemm_gelu');
  const gemm = byName('gemm');
  const { f, P } = m.funcWithParams('block_tail', BLOCK_TAIL_PARAMS);
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
}
