/**
 * The kernel table: every kernel of the module, by name, in module order. The module is built from this list
 * (see module.ts); the runtime marshals each call through the kernel's definition. A kernel that calls others
 * comes after them.
 */
import { Tensor3dError } from '../../errors.js';
import { type KernelDefinition } from './kernel-def.js';
import { depthwiseKernel } from './gen-depthwise.js';
import { filterGradKernel } from './gen-depthwise-filter-grad.js';
import { GEMM_GELU_KERNEL, GEMM_KERNEL, GEMM_TUNING_KERNELS } from './gen-gemm.js';
import { GELU_KERNEL, GELU_RATIONAL_KERNEL } from './gen-gelu.js';
import { GN_STATS_KERNEL } from './gen-gn-stats.js';
import { GN_APPLY_KERNEL } from './gen-gn-apply.js';
import { BLOCK_TAIL_KERNEL } from './gen-block-tail.js';
import { GRID_ADD_KERNEL, GRID_GATHER_KERNEL } from './gen-grid.js';
import { GEMM_TN_ACC_KERNEL } from './gen-gemm-tn-acc.js';
import { GELU_GRAD_KERNEL } from './gen-gelu-grad.js';
import { MUL_INTO_KERNEL } from './gen-mul-into.js';
import { COLSUM_ACC_KERNEL } from './gen-colsum-acc.js';
import { NORM_GRAD_KERNEL } from './gen-norm-grad.js';
import { AFFINE2_KERNEL } from './gen-affine2.js';
import { BLOCK_TAIL_BACKWARD_KERNEL } from './gen-block-tail-backward.js';

/** Kernel sizes with a generated depthwise kernel. */
export const DEPTHWISE_KERNEL_SIZES = [3, 5, 7] as const;

/** A list of kernel definitions in module order (see {@link KERNEL_TABLE}). */
export type KernelTable = readonly KernelDefinition[];

/** Every kernel of tensor3d's module, in module order. */
export const KERNEL_TABLE: KernelTable = Object.freeze([
  ...DEPTHWISE_KERNEL_SIZES.flatMap((k) => [
    depthwiseKernel({ k, stride: 1, transposed: false }),
    depthwiseKernel({ k, stride: 2, transposed: false }),
    depthwiseKernel({ k, stride: 2, transposed: true }),
    filterGradKernel(k, 1),
    filterGradKernel(k, 2),
  ]),
  GEMM_KERNEL,
  GEMM_GELU_KERNEL,
  ...GEMM_TUNING_KERNELS,
  GELU_KERNEL,
  GELU_RATIONAL_KERNEL,
  GN_STATS_KERNEL,
  GN_APPLY_KERNEL,
  BLOCK_TAIL_KERNEL,
  GRID_ADD_KERNEL,
  GRID_GATHER_KERNEL,
  GEMM_TN_ACC_KERNEL,
  GELU_GRAD_KERNEL,
  MUL_INTO_KERNEL,
  COLSUM_ACC_KERNEL,
  NORM_GRAD_KERNEL,
  AFFINE2_KERNEL,
  BLOCK_TAIL_BACKWARD_KERNEL,
]);

/**
 * Checks a table: unique names, and every kernel's callees earlier in the list. Throws a `Tensor3dError`
 * (`UNKNOWN_KERNEL`) naming the kernel otherwise.
 */
export function checkKernelTable(table: KernelTable): void {
  const seen = new Set<string>();
  for (const def of table) {
    if (seen.has(def.name)) throw new Tensor3dError('UNKNOWN_KERNEL', `kernel table: ${def.name} is listed twice`);
    for (const callee of def.calls ?? []) {
      if (!seen.has(callee)) {
        throw new Tensor3dError(
          'UNKNOWN_KERNEL',
          `kernel table: ${def.name} calls ${callee}, which must come before it`,
        );
      }
    }
    seen.add(def.name);
  }
}

/** The definition of kernel `name` in {@link KERNEL_TABLE}; a `Tensor3dError` (`UNKNOWN_KERNEL`) if there is none. */
export function kernelDefinition(name: string): KernelDefinition {
  const def = KERNEL_TABLE.find((d) => d.name === name);
  if (!def) throw new Tensor3dError('UNKNOWN_KERNEL', `tensor3d kernels: no kernel named ${name}`);
  return def;
}
