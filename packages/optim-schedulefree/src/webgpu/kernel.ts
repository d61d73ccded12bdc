/// <reference types="@webgpu/types" />
/**
 * A WGSL compute kernel declared once: its storage buffers and uniform scalars are named and typed
 * in one object, from which both the WGSL bindings and the TypeScript call signature are derived,
 * so the shader and its callers cannot disagree about names, order or access.
 */

/** Access of a storage binding. Every storage binding is an `array<f32>`. */
export type StorageAccess = 'read' | 'read_write';
/** Type of a uniform scalar. */
export type UniformType = 'f32' | 'u32';

/** What {@link declareKernel} takes. */
export interface KernelDeclaration<S extends Record<string, StorageAccess>, U extends Record<string, UniformType>> {
  /** Kernel name, used as the shader and pipeline label (shows up in WebGPU error messages). */
  name: string;
  /**
   * Storage buffers in binding order, each `array<f32>` under its key's name in WGSL. Names (here and
   * in `uniforms`) must be WGSL identifiers that are not reserved words (`target`, `smooth`, `filter`,
   * `sample`, ... are reserved).
   */
  storage: S;
  /** Uniform scalars, reachable in WGSL as `params.<name>`. */
  uniforms: U;
  /** The WGSL after the generated bindings; it must define `@compute ... fn main(...)`. */
  code: string;
}

/** A range of a buffer, in bytes; `offset` must be a multiple of the device's `minStorageBufferOffsetAlignment`. */
export interface BufferRange {
  buffer: GPUBuffer;
  /** Start in bytes (default 0). */
  offset?: number;
  /** Length in bytes (default: to the end of the buffer). */
  size?: number;
}

/** The values of a kernel's uniforms, by name. */
export type UniformValues<U extends Record<string, UniformType>> = { [K in keyof U]: number };

/** One dispatch of a kernel. */
export interface KernelCall<S extends Record<string, StorageAccess>> {
  /** A buffer (or range) for every storage binding. */
  storage: { [K in keyof S]: GPUBuffer | BufferRange };
  /** The uniform buffer, written with {@link Kernel.writeUniforms}. */
  uniforms: GPUBuffer;
  /** Workgroup counts `[x, y, z]`; each at most `maxComputeWorkgroupsPerDimension`. */
  workgroups: readonly [number, number?, number?];
}

interface DevicePipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** A declared kernel: builds its pipeline once per device and records typed dispatches. */
export interface Kernel<S extends Record<string, StorageAccess>, U extends Record<string, UniformType>> {
  readonly declaration: KernelDeclaration<S, U>;
  /** The full WGSL source (generated bindings + code). */
  readonly wgsl: string;
  /** Bytes of the uniform block (a multiple of 16). */
  readonly uniformBytes: number;
  /** Creates a uniform buffer for this kernel, optionally filled with `values`. */
  createUniforms(device: GPUDevice, values?: UniformValues<U>): GPUBuffer;
  /** Writes `values` into a uniform buffer through the queue (ordered before later submits). */
  writeUniforms(device: GPUDevice, buffer: GPUBuffer, values: UniformValues<U>): void;
  /** Records one dispatch into an open compute pass. */
  dispatch(device: GPUDevice, pass: GPUComputePassEncoder, call: KernelCall<S>): void;
}

/** Declares a kernel; the pipeline is compiled lazily, once per device. */
export function declareKernel<S extends Record<string, StorageAccess>, U extends Record<string, UniformType>>(
  declaration: KernelDeclaration<S, U>,
): Kernel<S, U> {
  const storageNames = Object.keys(declaration.storage) as Array<keyof S & string>;
  const uniformNames = Object.keys(declaration.uniforms) as Array<keyof U & string>;
  // Scalars only, so the WGSL uniform layout is plain 4-byte packing; a trailing `_pad` keeps the
  // struct non-empty, and the block is rounded up to 16 bytes.
  const blockBytes = Math.ceil(((uniformNames.length + 1) * 4) / 16) * 16;
  const header = [
    `struct Params {\n${uniformNames.map((n) => `  ${n}: ${declaration.uniforms[n]},`).join('\n')}\n  _pad: u32,\n}`,
    '@group(0) @binding(0) var<uniform> params: Params;',
    ...storageNames.map(
      (n, i) =>
        `@group(0) @binding(${i + 1}) var<storage, ${declaration.storage[n] === 'read' ? 'read' : 'read_write'}> ${n}: array<f32>;`,
    ),
  ].join('\n');
  const wgsl = `${header}\n${declaration.code}`;
  const pipelines = new WeakMap<GPUDevice, DevicePipeline>();

  function pipelineFor(device: GPUDevice): DevicePipeline {
    let entry = pipelines.get(device);
    if (!entry) {
      const module = device.createShaderModule({ label: declaration.name, code: wgsl });
      const layout = device.createBindGroupLayout({
        label: declaration.name,
        entries: [
          { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
          ...storageNames.map((n, i) => ({
            binding: i + 1,
            visibility: GPUShaderStage.COMPUTE,
            buffer: { type: declaration.storage[n] === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
          })),
        ],
      });
      const pipeline = device.createComputePipeline({
        label: declaration.name,
        layout: device.createPipelineLayout({ label: declaration.name, bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main' },
      });
      entry = { pipeline, layout };
      pipelines.set(device, entry);
    }
    return entry;
  }

  function pack(values: UniformValues<U>): ArrayBuffer {
    const bytes = new ArrayBuffer(blockBytes);
    const f32 = new Float32Array(bytes);
    const u32 = new Uint32Array(bytes);
    uniformNames.forEach((n, i) => {
      const value = values[n];
      if (typeof value !== 'number' || Number.isNaN(value)) {
        throw new Error(`${declaration.name}: uniform "${n}" must be a number, got ${String(value)}`);
      }
      if (declaration.uniforms[n] === 'u32') {
        if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
          throw new Error(`${declaration.name}: uniform "${n}" must be a u32, got ${value}`);
        }
        u32[i] = value;
      } else {
        f32[i] = value; // float64 → float32, round to nearest even
      }
    });
    return bytes;
  }

  return {
    declaration,
    wgsl,
    uniformBytes: blockBytes,
    createUniforms(device, values) {
      const buffer = device.createBuffer({
        label: `${declaration.name} uniforms`,
        size: blockBytes,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      if (values) device.queue.writeBuffer(buffer, 0, pack(values));
      return buffer;
    },
    writeUniforms(device, buffer, values) {
      device.queue.writeBuffer(buffer, 0, pack(values));
    },
    dispatch(device, pass, call) {
      const { pipeline, layout } = pipelineFor(device);
      const bindGroup = device.createBindGroup({
        label: declaration.name,
        layout,
        entries: [
          { binding: 0, resource: { buffer: call.uniforms } },
          ...storageNames.map((n, i) => {
            const b: GPUBuffer | BufferRange | undefined = call.storage[n];
            if (b === undefined) throw new Error(`${declaration.name}: no buffer for storage binding "${n}"`);
            const range: BufferRange = 'buffer' in b ? b : { buffer: b };
            return { binding: i + 1, resource: { buffer: range.buffer, offset: range.offset ?? 0, size: range.size } };
          }),
        ],
      });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(call.workgroups[0], call.workgroups[1] ?? 1, call.workgroups[2] ?? 1);
    },
  };
}

/** Threads per workgroup of the element-wise kernels (within compatibility mode's default limit of 128). */
export const ELEMENTWISE_WORKGROUP_SIZE = 64;

/**
 * WGSL of an element-wise `main`: one thread per element on a 2-D grid of workgroups (so more than
 * 65535 · 64 elements fit one dispatch), returning past the end of `lengthOf` (a bound array).
 * `body` sees the element index as `i`.
 */
export function elementwiseMain(lengthOf: string, body: string): string {
  return `
@compute @workgroup_size(${ELEMENTWISE_WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * groups.x + wid.x) * ${ELEMENTWISE_WORKGROUP_SIZE}u + lid;
  if (i >= arrayLength(&${lengthOf})) { return; }
${body}
}`;
}

/** Workgroup grid `[x, y]` for `count` elements of an element-wise kernel. */
export function elementwiseGrid(device: GPUDevice, count: number): [number, number] {
  const groups = Math.ceil(count / ELEMENTWISE_WORKGROUP_SIZE);
  const maxPerDim = device.limits.maxComputeWorkgroupsPerDimension;
  const x = Math.min(groups, maxPerDim);
  const y = Math.ceil(groups / x);
  if (y > maxPerDim) throw new Error(`elementwiseGrid: ${count} elements exceed one dispatch`);
  return [Math.max(1, x), Math.max(1, y)];
}

/**
 * Splits `[0, count)` elements of float32 buffers into ranges that each fit one storage binding
 * (`maxBindingBytes`, at most the device's `maxStorageBufferBindingSize`), with every range
 * starting on the device's `minStorageBufferOffsetAlignment`.
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
