/**
 * Generators of the strided-grid copies a whole network needs between its convolutions, on channels-last data:
 * `grid_add` adds a dense [D, H, W, C] block into a strided window of a larger volume (the up block's one-voxel
 * front padding and its stride-2 residual, added straight into the skip connection) and `grid_gather` copies a
 * strided window into a dense block (the down block's stride-2 1x1x1 residual input). Both run over planes
 * (the outermost axis of the dense block), so threads split them by plane.
 */
import { type FunctionBuilder, add, fadd, forRange, get, i32, load, mul, set, store } from './encoder.js';
import { type KernelParams, arg, defineKernel } from './kernel-def.js';

/** The arguments of both grid kernels (dispatched over the planes of the dense block). */
const GRID_ARGS = [
  arg.ptr('dense', 'the dense block [D, H, W, C]'),
  arg.ptr('grid', 'first voxel of the strided window in the volume'),
  arg.i32('C', 'floats per voxel, a multiple of 4'),
  arg.i32('W', 'voxels per line of the dense block'),
  arg.i32('H', 'lines per plane of the dense block'),
  arg.i32('voxelStep', 'byte distance between neighbouring window voxels along W'),
  arg.i32('lineStep', 'byte distance between window lines (along H)'),
  arg.i32('planeStep', 'byte distance between window planes (along D)'),
];
type GridArg = (typeof GRID_ARGS)[number]['name'];

/** `grid_add`: window += dense. */
export const GRID_ADD_KERNEL = defineKernel({
  name: 'grid_add',
  mode: 'range',
  args: GRID_ARGS,
  emit: (f, P) => emitGridKernel(f, P, 'add'),
});

/** `grid_gather`: dense = window. */
export const GRID_GATHER_KERNEL = defineKernel({
  name: 'grid_gather',
  mode: 'range',
  args: GRID_ARGS,
  emit: (f, P) => emitGridKernel(f, P, 'gather'),
});

/** Emits the body of `grid_add` (grid += dense) or `grid_gather` (dense = grid). */
function emitGridKernel(f: FunctionBuilder, P: KernelParams<GridArg>, kind: 'add' | 'gather'): void {
  const { dense, grid, C, W, H, voxelStep, lineStep, planeStep, start, end } = P;
  const z = f.local('i32');
  const y = f.local('i32');
  const x = f.local('i32');
  const c = f.local('i32');
  const src = f.local('i32'); // running dense address
  const dst = f.local('i32'); // grid voxel address
  const cb = f.local('i32');
  const body =
    kind === 'add'
      ? store(add(get(dst), get(c)), fadd(load(add(get(dst), get(c))), load(add(get(src), get(c)))))
      : store(add(get(src), get(c)), load(add(get(dst), get(c))));
  f.run(
    set(cb, mul(get(C), i32(4))),
    forRange(z, get(start), get(end), 1, [
      forRange(y, i32(0), get(H), 1, [
        set(src, add(get(dense), mul(mul(add(mul(get(z), get(H)), get(y)), get(W)), get(cb)))),
        set(dst, add(add(get(grid), mul(get(z), get(planeStep))), mul(get(y), get(lineStep)))),
        forRange(x, i32(0), get(W), 1, [
          forRange(c, i32(0), get(cb), 16, [body]),
          set(src, add(get(src), get(cb))),
          set(dst, add(get(dst), get(voxelStep))),
        ]),
      ]),
    ]),
  );
}
