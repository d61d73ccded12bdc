/// <reference types="@webgpu/types" />
/**
 * Compiled kernels, shared: the WGSL source of a kernel definition specialised on one set of constants is generated
 * once per process, and its compute pipeline is compiled once per `GPUDevice`, whichever `GpuRuntime` (or
 * `encodeKernel` call) asks for it. Compiling is slow (seconds per model on a software rasteriser), and a
 * trainer, its validation network and the tests open many runtimes on one device.
 *
 * Keys are exact, never hashes: a variant is found by the identity of its definition object plus a canonical
 * text of its constants ({@link kernelConstantsKey}), and a pipeline by the identity of its variant on a device.
 * Both caches hold their keys weakly: a definition or a device nobody references takes its entries with it. A lost
 * or destroyed device is never revived (WebGPU hands out a new `GPUDevice` object instead), so a new device never
 * meets the pipelines of an old one.
 */
import { kernelSource, type BindingDecl, type KernelDefinition, type ParamDecl } from './kernel.js';

/** One kernel definition specialised on one set of constants: its WGSL and bindings, generated once. */
export interface KernelVariant {
  /** The definition's name (for labels and errors). */
  readonly name: string;
  /** The full WGSL source ({@link kernelSource}). */
  readonly source: string;
  /** The storage bindings, in binding order (after the uniform at binding 0). */
  readonly bindings: readonly BindingDecl[];
}

/** A compiled variant on one device, with the bind group layout every dispatch of it uses. */
export interface CompiledKernel {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

interface DefinitionVariants {
  /** By {@link kernelConstantsKey} of the constants. */
  byConstants: Map<string, KernelVariant>;
  /** By source, so constants that differ only in ways the source ignores (key order) share one variant. */
  bySource: Map<string, KernelVariant>;
}

const variantsByDefinition = new WeakMap<object, DefinitionVariants>();
const pipelinesByDevice = new WeakMap<GPUDevice, WeakMap<KernelVariant, CompiledKernel>>();

/**
 * An exact text of a kernel's compile-time constants: plain data only (numbers, strings, booleans, null,
 * undefined, arrays and plain objects of them), written with types and key order kept, so two constants with the
 * same text produce the same source.
 * @throws Error naming the kernel for anything else (a function, a class instance), whose text would not be exact
 */
export function kernelConstantsKey(value: unknown, kernel: string): string {
  switch (typeof value) {
    case 'undefined':
      return 'u';
    case 'boolean':
      return value ? 't' : 'f';
    case 'number':
      // -0 prints as 0; keep it apart so the key is exact even where a body would tell them apart.
      return Object.is(value, -0) ? '-0' : String(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'n';
      if (Array.isArray(value)) return `[${value.map((v) => kernelConstantsKey(v, kernel)).join(',')}]`;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto === Object.prototype || proto === null) {
        const record = value as Record<string, unknown>;
        const fields = Object.keys(record).map((k) => `${JSON.stringify(k)}:${kernelConstantsKey(record[k], kernel)}`);
        return `{${fields.join(',')}}`;
      }
      break;
    }
  }
  throw new Error(
    `kernel ${kernel}: compile-time constants must be plain data (numbers, strings, booleans, arrays, plain ` +
      `objects), got a ${typeof value === 'object' ? (value as object).constructor?.name : typeof value}`,
  );
}

/**
 * The variant of `def` for `consts`: generated on first use, then the same object for equal constants (a
 * definition object must not be changed after its first use).
 */
export function kernelVariant<P extends Record<string, ParamDecl>, K>(
  def: KernelDefinition<P, K>,
  consts: K,
): KernelVariant {
  let variants = variantsByDefinition.get(def);
  if (!variants) variantsByDefinition.set(def, (variants = { byConstants: new Map(), bySource: new Map() }));
  const key = kernelConstantsKey(consts, def.name);
  let variant = variants.byConstants.get(key);
  if (!variant) {
    const source = kernelSource(def, consts);
    variant = variants.bySource.get(source);
    if (!variant) {
      variant = { name: def.name, source, bindings: Object.freeze(def.bindings(consts)) };
      variants.bySource.set(source, variant);
    }
    variants.byConstants.set(key, variant);
  }
  return variant;
}

/**
 * The compiled pipeline of `variant` on `device`, compiling it on first use on that device.
 * @param onCompile called when this call compiled it (for counters)
 */
export function compiledKernel(device: GPUDevice, variant: KernelVariant, onCompile?: () => void): CompiledKernel {
  let onDevice = pipelinesByDevice.get(device);
  if (!onDevice) pipelinesByDevice.set(device, (onDevice = new WeakMap()));
  let compiled = onDevice.get(variant);
  if (!compiled) {
    const label = variant.name;
    const module = device.createShaderModule({ code: variant.source, label });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'entry' }, label });
    compiled = { pipeline, layout: pipeline.getBindGroupLayout(0) };
    onDevice.set(variant, compiled);
    onCompile?.();
  }
  return compiled;
}
