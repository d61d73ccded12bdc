/// <reference types="@webgpu/types" />
/**
 * Recording a declared kernel ({@link defineKernel}) onto buffers the caller owns, without a {@link GpuRuntime}:
 * for code that keeps its own long-lived buffers and uniform blocks (optimizer state, loss scratch) and rewrites
 * the uniforms between submits. The WGSL is the same {@link kernelSource} the runtime compiles, and its pipeline is the one
 * the runtimes on the device share (`pipeline-cache.ts`), so a kernel is declared and compiled once whichever way
 * it is dispatched.
 *
 * @example
 * ```ts
 * const scale = defineKernel({
 *   name: 'scale', params: { factor: { type: 'f32', doc: 'multiplier' } }, workgroupSize: 64,
 *   bindings: () => [{ name: 'x', access: 'read_write', doc: 'scaled in place' }],
 *   body: () => elementwiseMain('x', '  x[i] = x[i] * params.factor;'),
 * });
 * const uniforms = createParamsBuffer(device, scale, { factor: 2 });
 * const pass = encoder.beginComputePass();
 * encodeKernel(device, pass, scale, undefined, { params: uniforms, bindings: { x: buffer },
 *   groups: elementwiseGroups(n) });
 * pass.end();
 * ```
 */
import { compiledKernel, kernelVariant } from './pipeline-cache.js';
import {
  packParams,
  MAX_WORKGROUPS_PER_DIMENSION,
  type KernelDefinition,
  type ParamDecl,
  type ParamValues,
} from './kernel.js';

/** A byte range of a buffer bound to one storage binding; `offset` must meet `minStorageBufferOffsetAlignment`. */
export interface BufferRange {
  buffer: GPUBuffer;
  /** Start in bytes (default 0). */
  offset?: number;
  /** Length in bytes (default: to the end of the buffer). */
  size?: number;
}

/** One recorded dispatch onto caller-owned buffers. */
export interface EncodeKernelCall {
  /** The uniform block (from {@link createParamsBuffer}). */
  params: GPUBuffer;
  /** A buffer (whole) or a range for every storage binding, by name. */
  bindings: Record<string, GPUBuffer | BufferRange>;
  /** Workgroups (linear; folded into 2-D above 65535 exactly as the runtime does). */
  groups: number;
}

/** Bytes of a kernel's uniform block (a multiple of 16, as {@link packParams} writes it). */
export function paramsBytes<P extends Record<string, ParamDecl>, K>(def: KernelDefinition<P, K>): number {
  return Math.max(16, Math.ceil((Object.keys(def.params).length * 4) / 16) * 16);
}

/** A uniform buffer for `def`'s parameters, filled with `values` when given (through the queue). */
export function createParamsBuffer<P extends Record<string, ParamDecl>, K>(
  device: GPUDevice,
  def: KernelDefinition<P, K>,
  values?: ParamValues<P>,
): GPUBuffer {
  const buffer = device.createBuffer({
    label: `${def.name} params`,
    size: paramsBytes(def),
    usage: 0x40 /* UNIFORM */ | 0x8 /* COPY_DST */,
  });
  if (values) writeParams(device, buffer, def, values);
  return buffer;
}

/** Writes `values` into a uniform buffer of `def` (through the queue: ordered before later submits). */
export function writeParams<P extends Record<string, ParamDecl>, K>(
  device: GPUDevice,
  buffer: GPUBuffer,
  def: KernelDefinition<P, K>,
  values: ParamValues<P>,
): void {
  device.queue.writeBuffer(buffer, 0, packParams(def.params, values));
}

/**
 * Records one dispatch of `def` (specialised on `consts`) into an open compute pass.
 * @throws Error naming the kernel when a binding is missing or the dispatch is too large
 */
export function encodeKernel<P extends Record<string, ParamDecl>, K>(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  def: KernelDefinition<P, K>,
  consts: K,
  call: EncodeKernelCall,
): void {
  if (call.groups <= 0) return;
  const variant = kernelVariant(def, consts);
  const { pipeline, layout } = compiledKernel(device, variant);
  const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: call.params } }];
  variant.bindings.forEach((b, i) => {
    const bound = call.bindings[b.name];
    if (!bound) throw new Error(`kernel ${def.name}: binding '${b.name}' is missing`);
    const range: BufferRange = 'buffer' in bound ? bound : { buffer: bound };
    entries.push({ binding: i + 1, resource: { buffer: range.buffer, offset: range.offset ?? 0, size: range.size } });
  });
  const bindGroup = device.createBindGroup({ layout, entries, label: def.name });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  const x = Math.min(call.groups, MAX_WORKGROUPS_PER_DIMENSION);
  const y = Math.ceil(call.groups / x);
  if (y > MAX_WORKGROUPS_PER_DIMENSION)
    throw new Error(`kernel ${def.name}: ${call.groups} workgroups in one dispatch`);
  pass.dispatchWorkgroups(x, y);
}

/**
 * WGSL `fn main` of an element-wise kernel: one invocation per element (index `i`), returning past the end of
 * the bound array `lengthOf`. The kernel's `workgroupSize` must be `workgroupSize` here.
 */
export function elementwiseMain(lengthOf: string, body: string, workgroupSize = ELEMENTWISE_WORKGROUP_SIZE): string {
  return `
fn main(group: u32, local: u32) {
  let i = group * ${workgroupSize}u + local;
  if (i >= arrayLength(&${lengthOf})) { return; }
${body}
}`;
}

/** Threads per workgroup of element-wise kernels (within the compatibility level's limit of 128). */
export const ELEMENTWISE_WORKGROUP_SIZE = 64;

/** Workgroups covering `count` elements of an element-wise kernel. */
export function elementwiseGroups(count: number, workgroupSize = ELEMENTWISE_WORKGROUP_SIZE): number {
  return Math.ceil(count / workgroupSize);
}

/**
 * Splits `[0, count)` f32 elements into ranges that each fit one storage binding (`maxBindingBytes`, at most the
 * device's `maxStorageBufferBindingSize`), each starting on the device's `minStorageBufferOffsetAlignment`.
 * @param maxBindingBytes a smaller cap than the device's (tests use it to exercise the split)
 */
export function bindingSlices(
  device: GPUDevice,
  count: number,
  maxBindingBytes = device.limits.maxStorageBufferBindingSize,
): Array<{ offset: number; count: number }> {
  const align = device.limits.minStorageBufferOffsetAlignment;
  const cap = Math.min(maxBindingBytes, device.limits.maxStorageBufferBindingSize);
  const perSlice = Math.floor(cap / align) * (align / 4);
  if (perSlice <= 0) {
    throw new Error(`bindingSlices: a binding of ${cap} bytes is below the offset alignment ${align}`);
  }
  const slices: Array<{ offset: number; count: number }> = [];
  for (let start = 0; start < count; start += perSlice) {
    slices.push({ offset: start, count: Math.min(perSlice, count - start) });
  }
  return slices;
}

/** A storage buffer (STORAGE | COPY_SRC | COPY_DST) holding `values`; at least 4 bytes, so it can be bound. */
export function storageBuffer(device: GPUDevice, values: ArrayLike<number>, label?: string): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: Math.max(4, values.length * 4),
    usage: 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8 /* COPY_DST */,
  });
  device.queue.writeBuffer(buffer, 0, Float32Array.from(values));
  return buffer;
}

/** Reads the first `length` f32 elements of a buffer with COPY_SRC usage (after all submitted work). */
export async function readBuffer(device: GPUDevice, buffer: GPUBuffer, length: number): Promise<Float32Array> {
  if (length === 0) return new Float32Array(0);
  const bytes = length * 4;
  const staging = device.createBuffer({ size: bytes, usage: 0x1 /* MAP_READ */ | 0x8 /* COPY_DST */ });
  const encoder = device.createCommandEncoder({ label: 'readBuffer' });
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(1 /* READ */);
  const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}

/**
 * Collects the device's uncaught errors (validation, out of memory) into the returned array, so a caller (a test,
 * a benchmark) can assert that nothing went wrong silently.
 */
export function collectDeviceErrors(device: GPUDevice): string[] {
  const errors: string[] = [];
  device.onuncapturederror = (e) => errors.push(e.error.message);
  return errors;
}
