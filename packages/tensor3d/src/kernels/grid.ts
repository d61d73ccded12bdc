/**
 * Strided-window copies between a dense channels-last block and a larger volume, on operands in kernel memory
 * (see `wasm/gen-grid.ts`): `gridAddInMemory` adds the block into the window, `gridGatherInMemory` copies the
 * window out. A window starts at `origin` in the volume and takes every `step`-th voxel along each axis.
 */
import { Tensor3dError } from '../errors.js';
import { type KernelArgs } from './wasm/kernel-def.js';
import { GRID_ADD_KERNEL, GRID_GATHER_KERNEL } from './wasm/gen-grid.js';
import { type KernelRuntime } from './runtime.js';

/** A dense block and the window of a larger volume it maps to (byte addresses in kernel memory). */
export interface GridWindow {
  /** the dense block [d, h, w, c] */
  dense: number;
  denseSpatial: [number, number, number];
  /** the volume [D, H, W, c] */
  volume: number;
  volumeSpatial: [number, number, number];
  /** floats per voxel, a multiple of 4 */
  c: number;
  /** the window's first voxel in the volume */
  origin: [number, number, number];
  /** voxel step of the window along every axis (1 = a contiguous box) */
  step: number;
}

function gridArgs(fn: string, g: GridWindow): KernelArgs<typeof GRID_ADD_KERNEL> {
  const { c, step } = g;
  if (c % 4 !== 0) throw new Tensor3dError('BAD_SHAPE', `${fn}: c must be a multiple of 4, got ${c}`);
  if (!Number.isInteger(step) || step < 1)
    throw new Tensor3dError('BAD_ARGUMENT', `${fn}: step must be a positive integer, got ${step}`);
  for (let a = 0; a < 3; a++) {
    const last = g.origin[a] + (g.denseSpatial[a] - 1) * step;
    if (g.origin[a] < 0 || last >= g.volumeSpatial[a]) {
      throw new Tensor3dError(
        'BAD_SHAPE',
        `${fn}: the window (origin ${g.origin.join(',')}, step ${step}, size ${g.denseSpatial.join('x')}) ` +
          `leaves the volume ${g.volumeSpatial.join('x')}`,
      );
    }
  }
  const [, vh, vw] = g.volumeSpatial;
  const voxel = c * 4;
  const first = g.volume + ((g.origin[0] * vh + g.origin[1]) * vw + g.origin[2]) * voxel;
  const [, h, w] = g.denseSpatial;
  return {
    dense: g.dense,
    grid: first,
    C: c,
    W: w,
    H: h,
    voxelStep: step * voxel,
    lineStep: step * vw * voxel,
    planeStep: step * vh * vw * voxel,
  };
}

/** volume[window] += dense. */
export function gridAddInMemory(rt: KernelRuntime, g: GridWindow): void {
  rt.run(GRID_ADD_KERNEL, gridArgs('gridAddInMemory', g), { end: g.denseSpatial[0] });
}

/** dense = volume[window]. */
export function gridGatherInMemory(rt: KernelRuntime, g: GridWindow): void {
  rt.run(GRID_GATHER_KERNEL, gridArgs('gridGatherInMemory', g), { end: g.denseSpatial[0] });
}
