/// <reference types="@webgpu/types" />
/**
 * The Schedule-Free parameter updates as WGSL kernels. Each evaluates, in float32, the same
 * operations in the same order as the tfjs update (see `adamw-schedulefree.ts`), with every scalar
 * coefficient computed on the host in float64 by the shared schedule code and rounded once to
 * float32, exactly as tfjs rounds a JS number multiplied into a float32 tensor.
 */
import {
  bindingSlices,
  defineKernel,
  elementwiseGroups,
  elementwiseMain,
  encodeKernel,
  ELEMENTWISE_WORKGROUP_SIZE,
  type KernelDefinition,
  type ParamDecl,
  type ParamValues,
} from '@mednext-ts/tensor3d/webgpu';
import { lerpForm, type AdamWStepCoefficients, type SGDStepCoefficients } from '../schedule.js';

/** WGSL of `lerp(a, b, w)` in PyTorch's two-branch form, with `fromEnd`/`factor` from {@link lerpForm}. */
const LERP_WGSL = `
fn lerp2(a: f32, b: f32, fromEnd: u32, factor: f32) -> f32 {
  if (fromEnd != 0u) { return b - (b - a) * factor; }
  return a + (b - a) * factor;
}`;

/** Schedule-Free AdamW: second moment, normalised step, decay at y, then y and z from the old z. */
export const ADAMW_STEP_KERNEL = defineKernel({
  name: 'schedulefree_adamw_step',
  params: {
    beta2: { type: 'f32', doc: 'second-moment decay β2' },
    oneMinusBeta2: { type: 'f32', doc: '1 − β2, computed in float64' },
    biasCorrection2: { type: 'f32', doc: "1 − β2^t with the group's t" },
    eps: { type: 'f32', doc: 'added after the square root' },
    weightDecay: { type: 'f32', doc: 'decoupled decay at y; 0 skips the term' },
    lerpFromEnd: { type: 'u32', doc: '1: lerp(y, z, c) as z − (z − y)·(1 − c), 0: y + (z − y)·c' },
    lerpFactor: { type: 'f32', doc: 'c, or 1 − c when lerpFromEnd' },
    yStepCoefficient: { type: 'f32', doc: 'lr_t·(β1·(1 − c) − 1)' },
    lr: { type: 'f32', doc: 'warmed-up lr_t, the z step' },
  },
  workgroupSize: ELEMENTWISE_WORKGROUP_SIZE,
  bindings: () => [
    { name: 'y', access: 'read_write', doc: 'the parameters: y before the step, y after (train mode)' },
    { name: 'z', access: 'read_write', doc: 'the base iterate z' },
    { name: 'v', access: 'read_write', doc: 'the second moment exp_avg_sq' },
    { name: 'grad', access: 'read', doc: 'the gradient, taken at y' },
  ],
  body: () => `${LERP_WGSL}
${elementwiseMain(
  'y',
  `  let g = grad[i];
  let yOld = y[i];
  let zOld = z[i];
  let vNew = v[i] * params.beta2 + (g * params.oneMinusBeta2) * g;
  let denom = sqrt(vNew / params.biasCorrection2) + params.eps;
  var u = g / denom;
  if (params.weightDecay != 0.0) { u = u + yOld * params.weightDecay; }
  v[i] = vNew;
  y[i] = lerp2(yOld, zOld, params.lerpFromEnd, params.lerpFactor) + u * params.yStepCoefficient;
  z[i] = zOld - u * params.lr;`,
)}`,
});

/** Schedule-Free SGD: the AdamW skeleton with `u = g (+ weightDecay·y)` and no normalisation. */
export const SGD_STEP_KERNEL = defineKernel({
  name: 'schedulefree_sgd_step',
  params: {
    weightDecay: { type: 'f32', doc: 'decoupled decay at y; 0 skips the term' },
    lerpFromEnd: { type: 'u32', doc: '1: lerp(y, z, c) as z − (z − y)·(1 − c), 0: y + (z − y)·c' },
    lerpFactor: { type: 'f32', doc: 'c, or 1 − c when lerpFromEnd' },
    yStepCoefficient: { type: 'f32', doc: 'lr_t·(momentum·(1 − c) − 1)' },
    lr: { type: 'f32', doc: 'warmed-up lr_t, the z step' },
  },
  workgroupSize: ELEMENTWISE_WORKGROUP_SIZE,
  bindings: () => [
    { name: 'y', access: 'read_write', doc: 'the parameters: y before the step, y after' },
    { name: 'z', access: 'read_write', doc: 'the base iterate z' },
    { name: 'grad', access: 'read', doc: 'the gradient, taken at y' },
  ],
  body: () => `${LERP_WGSL}
${elementwiseMain(
  'y',
  `  let yOld = y[i];
  let zOld = z[i];
  var u = grad[i];
  if (params.weightDecay != 0.0) { u = u + yOld * params.weightDecay; }
  y[i] = lerp2(yOld, zOld, params.lerpFromEnd, params.lerpFactor) + u * params.yStepCoefficient;
  z[i] = zOld - u * params.lr;`,
)}`,
});

/** The train()/eval() switch: `p ← lerp(p, z, w)` (x → y with w = 1 − β, y → x with w = 1 − 1/β). */
export const INTERPOLATE_KERNEL = defineKernel({
  name: 'schedulefree_interpolate',
  params: {
    lerpFromEnd: { type: 'u32', doc: '1: z − (z − p)·(1 − w), 0: p + (z − p)·w' },
    lerpFactor: { type: 'f32', doc: 'w, or 1 − w when lerpFromEnd' },
  },
  workgroupSize: ELEMENTWISE_WORKGROUP_SIZE,
  bindings: () => [
    { name: 'p', access: 'read_write', doc: 'the parameters, moved in place' },
    { name: 'z', access: 'read', doc: 'the base iterate z' },
  ],
  body: () => `${LERP_WGSL}
${elementwiseMain('p', '  p[i] = lerp2(p[i], z[i], params.lerpFromEnd, params.lerpFactor);')}`,
});

/** Uniform values of {@link ADAMW_STEP_KERNEL} for one step. */
export function adamwStepUniforms(c: AdamWStepCoefficients): ParamValues<typeof ADAMW_STEP_KERNEL.params> {
  const form = lerpForm(c.ckp1);
  return {
    beta2: c.beta2,
    oneMinusBeta2: c.oneMinusBeta2,
    biasCorrection2: c.biasCorrection2,
    eps: c.eps,
    weightDecay: c.weightDecay,
    lerpFromEnd: form.fromEnd ? 1 : 0,
    lerpFactor: form.factor,
    yStepCoefficient: c.yStepCoefficient,
    lr: c.lr,
  };
}

/** Uniform values of {@link SGD_STEP_KERNEL} for one step. */
export function sgdStepUniforms(c: SGDStepCoefficients): ParamValues<typeof SGD_STEP_KERNEL.params> {
  const form = lerpForm(c.ckp1);
  return {
    weightDecay: c.weightDecay,
    lerpFromEnd: form.fromEnd ? 1 : 0,
    lerpFactor: form.factor,
    yStepCoefficient: c.yStepCoefficient,
    lr: c.lr,
  };
}

/** Uniform values of {@link INTERPOLATE_KERNEL} for weight `w`. */
export function interpolateUniforms(w: number): ParamValues<typeof INTERPOLATE_KERNEL.params> {
  const form = lerpForm(w);
  return { lerpFromEnd: form.fromEnd ? 1 : 0, lerpFactor: form.factor };
}

/**
 * Records an element-wise kernel over `length` float32 elements of whole buffers, split into
 * slices that each fit one storage binding: every buffer is bound at the same element range.
 * @param maxBindingBytes cap per binding (default and upper bound: the device's `maxStorageBufferBindingSize`)
 */
export function recordElementwise<P extends Record<string, ParamDecl>>(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  kernel: KernelDefinition<P, undefined>,
  buffers: Record<string, GPUBuffer>,
  length: number,
  uniforms: GPUBuffer,
  maxBindingBytes?: number,
): void {
  const name = kernel.name;
  if (!Number.isInteger(length) || length < 0)
    throw new Error(`${name}: length must be a non-negative integer, got ${length}`);
  for (const { name: key } of kernel.bindings(undefined)) {
    const buffer = buffers[key];
    if (!buffer) throw new Error(`${name}: no buffer for "${key}"`);
    if (buffer.size < length * 4) {
      throw new Error(
        `${name}: buffer "${key}" holds ${buffer.size} bytes, ${length} float32 elements need ${length * 4}`,
      );
    }
    if ((buffer.usage & GPUBufferUsage.STORAGE) === 0) throw new Error(`${name}: buffer "${key}" lacks STORAGE usage`);
  }
  for (const slice of bindingSlices(device, length, maxBindingBytes)) {
    const bindings: Record<string, { buffer: GPUBuffer; offset: number; size: number }> = {};
    for (const key of Object.keys(buffers)) {
      bindings[key] = { buffer: buffers[key]!, offset: slice.offset * 4, size: slice.count * 4 };
    }
    encodeKernel(device, pass, kernel, undefined, {
      params: uniforms,
      bindings,
      groups: elementwiseGroups(slice.count),
    });
  }
}
