/**
 * Generators of the strided-grid copies a whole network needs between its convolutions, on channels-last data:
 * `grid_add` adds a dense [D, H, W, C] block into a strided window of a larger volume (the up block's one-voxel
 * front padding and its stride-2 residual, added straight into the skip connection) and `grid_gather` copies a
 * strided window into a dense block (the down block's stride-2 1x1x1 residual input). Both run over planes
 * (the outermost axis of the dense block), so threads split them by plane.
 */
import { type ModuleBuilder, add, fadd, forRange, get, i32, load, mul, set, store } from './encoder.js';

/** Parameters of both grid kernels, in order (the last three come from the dispatcher). */
export const GRID_PARAMS = [
  'dense', // the dense block [D, H, W, C]
  'grid', // first voxel of the strided window
  'C', // floats per voxel, a multiple of 4
  'W', // voxels per line of the dense block
  'H', // lines per plane of the dense block
  'voxelStep', // byte distance between neighbouring window voxels along W
  'lineStep', // ... along H
  'planeStep', // ... along D
  'start',
  'end',
  'tid',
] as const;

/** Emits `grid_add` (grid += dense) or `grid_gather` (dense = grid). */
export function emitGridKernel(m: ModuleBuilder, kind: 'add' | 'gather'): void {
  const f = m.func(
    kind === 'add' ? 'grid_add' : 'grid_gather',
    GRID_PARAMS.map(() => 'i32'),
  );
  const [dense, grid, C, W, H, voxelStep, lineStep, planeStep, start, end] = f.params;
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
