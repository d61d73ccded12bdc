/// <reference types="@webgpu/types" />
/**
 * How a WGSL kernel is declared: its uniform parameters (named, typed, documented once), its storage bindings and
 * its body. The WGSL header (parameter struct, bindings, helpers) is generated from the declaration, so a
 * parameter's name and type exist in one place and the typed call ({@link GpuRuntime.run}) takes an object.
 */

/** Scalar type of a uniform parameter. */
export type ParamType = 'u32' | 'i32' | 'f32';

/** One uniform parameter: its WGSL type and a one-line description. */
export interface ParamDecl {
  type: ParamType;
  doc: string;
}

/** One storage binding: name, access, element type and a one-line description. */
export interface BindingDecl {
  name: string;
  access: 'read' | 'read_write';
  doc: string;
  /**
   * WGSL element type (default `f32`). `u32` reads and writes raw 32-bit words: packed halves, or an f32 tensor's
   * bits when a kernel must see them exactly (no float load that could flush a subnormal or quiet a NaN).
   */
  type?: 'f32' | 'u32';
}

/**
 * A kernel: `P` declares the uniform parameters (in struct order), `K` the compile-time constants the source is
 * specialised on (kernel size, channel counts, ...; each distinct `K` is one cached pipeline).
 */
export interface KernelDefinition<P extends Record<string, ParamDecl>, K> {
  /** Name, for labels and error messages. */
  name: string;
  /** Uniform parameters, in WGSL struct order. */
  params: P;
  /** Threads per workgroup (1-D), at most 128 so every adapter (compatibility level included) runs it. */
  workgroupSize: number;
  /** Storage bindings (in binding order, after the uniform at binding 0) for the given constants. */
  bindings(consts: K): BindingDecl[];
  /** WGSL after the generated header: constants, helpers and `fn main` (called by the generated entry point). */
  body(consts: K): string;
}

/** Values of a kernel's parameters, typed from its declaration. */
export type ParamValues<P extends Record<string, ParamDecl>> = { [name in keyof P]: number };

/** Declares a kernel (identity, for type inference of `P` and `K`). */
export function defineKernel<P extends Record<string, ParamDecl>, K>(
  def: KernelDefinition<P, K>,
): KernelDefinition<P, K> {
  return def;
}

/** Largest count of workgroups per dispatch dimension every adapter supports. */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/**
 * The full WGSL source of a kernel for one set of constants. The entry point `entry` computes a linear
 * workgroup index (dispatches larger than 65535 groups are folded into 2-D) and calls the body's
 * `fn main(group: u32, local: u32)`.
 */
export function kernelSource<P extends Record<string, ParamDecl>, K>(def: KernelDefinition<P, K>, consts: K): string {
  const fields = Object.entries(def.params).map(([name, p]) => `  ${name}: ${p.type}, // ${p.doc}`);
  // A struct needs one member at least.
  if (fields.length === 0) fields.push('  unused: u32,');
  const bindings = def
    .bindings(consts)
    .map(
      (b, i) =>
        `@group(0) @binding(${i + 1}) var<storage, ${b.access}> ${b.name}: array<${b.type ?? 'f32'}>; // ${b.doc}`,
    );
  return [
    `// kernel: ${def.name}`,
    'struct Params {',
    ...fields,
    '};',
    '@group(0) @binding(0) var<uniform> params: Params;',
    ...bindings,
    def.body(consts),
    `@compute @workgroup_size(${def.workgroupSize})`,
    'fn entry(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,',
    '         @builtin(local_invocation_index) lid: u32) {',
    '  main(wid.x + wid.y * nwg.x, lid);',
    '}',
    '',
  ].join('\n');
}

/** Packs parameter values into the bytes of the uniform struct (4 bytes each, rounded up to 16). */
export function packParams<P extends Record<string, ParamDecl>>(params: P, values: ParamValues<P>): ArrayBuffer {
  const names = Object.keys(params);
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil((names.length * 4) / 16) * 16));
  const view = new DataView(bytes);
  names.forEach((name, i) => {
    const v = values[name as keyof P];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`kernel parameter '${name}' must be a finite number, got ${String(v)}`);
    }
    switch (params[name].type) {
      case 'u32':
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
          throw new Error(`kernel parameter '${name}' = ${v} is not a u32`);
        view.setUint32(i * 4, v, true);
        break;
      case 'i32':
        if (!Number.isInteger(v) || Math.abs(v) > 0x7fffffff)
          throw new Error(`kernel parameter '${name}' = ${v} is not an i32`);
        view.setInt32(i * 4, v, true);
        break;
      default:
        view.setFloat32(i * 4, v, true);
    }
  });
  return bytes;
}

/** WGSL helpers shared by several kernels (exact GELU through a relative-precision erfc). */
export const WGSL_GELU = /* wgsl */ `
// erfc with relative error below 1.2e-7 everywhere (Chebyshev-fitted exp form, Numerical Recipes §6.2).
fn erfc_(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
          t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
          t * (-0.82215223 + t * 0.17087277)))))))));
  return select(2.0 - r, r, x >= 0.0);
}
// Exact GELU x * Phi(x) = 0.5 x erfc(-x / sqrt(2)) (not the tanh approximation).
fn gelu(x: f32) -> f32 {
  return 0.5 * x * erfc_(-x * 0.70710678118654752);
}
`;

/**
 * WGSL statements splitting the flat voxel index `index` of a [D, H, W] grid whose sizes are the kernel
 * parameters `${sizes}D`, `${sizes}H`, `${sizes}W` into `${name}d`, `${name}h`, `${name}w` (u32, or i32 with
 * `signed` for index arithmetic that can go negative). One generator, so every kernel walks voxels in one order.
 *
 * @example
 * ```ts
 * wgslVoxelCoords('o', 'o', 'out', true); // let ow = i32(o % params.outW); let oh = ...; let od = ...;
 * ```
 */
export function wgslVoxelCoords(name: string, index: string, sizes: string, signed = false): string {
  const cast = (e: string): string => (signed ? `i32(${e})` : e);
  const [H, W] = [`params.${sizes}H`, `params.${sizes}W`];
  return [
    `let ${name}w = ${cast(`${index} % ${W}`)};`,
    `  let ${name}h = ${cast(`(${index} / ${W}) % ${H}`)};`,
    `  let ${name}d = ${cast(`${index} / (${W} * ${H})`)};`,
  ].join('\n');
}

/**
 * WGSL statements summing `value` over a workgroup of `size` threads (a power of two) by a tree reduction in the
 * workgroup array `array`, in a fixed order (deterministic); afterwards `array[0]` holds the sum. Every thread of
 * the workgroup must reach it (it contains barriers).
 *
 * @example
 * ```ts
 * `var<workgroup> partial: array<f32, 128>; ... ${wgslWorkgroupSum('partial', 'acc', 128)} ... partial[0]`
 * ```
 */
export function wgslWorkgroupSum(array: string, value: string, size: number): string {
  return /* wgsl */ `${array}[local] = ${value};
  workgroupBarrier();
  for (var s = ${size / 2}u; s > 0u; s = s >> 1u) {
    if (local < s) { ${array}[local] += ${array}[local + s]; }
    workgroupBarrier();
  }`;
}

/** Declarations of the `inD … outW` kernel parameters that {@link gridParams} fills (spread into `params`). */
export const GRID_PARAMS = {
  inD: { type: 'u32', doc: 'input depth' },
  inH: { type: 'u32', doc: 'input height' },
  inW: { type: 'u32', doc: 'input width' },
  outD: { type: 'u32', doc: 'output depth' },
  outH: { type: 'u32', doc: 'output height' },
  outW: { type: 'u32', doc: 'output width' },
} as const;

/**
 * The `inD … outW` kernel parameters of a kernel mapping a [D, H, W] input grid onto an output grid.
 *
 * @example
 * ```ts
 * rt.run(kernel, variant, { channels, ...gridParams([8, 8, 8], [4, 4, 4]), stride: 2 }, buffers, groups);
 * ```
 */
export function gridParams(
  inSize: readonly [number, number, number],
  outSize: readonly [number, number, number],
): { inD: number; inH: number; inW: number; outD: number; outH: number; outW: number } {
  return {
    inD: inSize[0],
    inH: inSize[1],
    inW: inSize[2],
    outD: outSize[0],
    outH: outSize[1],
    outW: outSize[2],
  };
}

/**
 * WGSL statements opening a kernel that runs one thread per (channel, voxel) of a [channels, voxels] tensor:
 * the flat index `idx` of this thread (from `main`'s `group` and `local`), an early return past the end, and the
 * channel and voxel it names. `channels` and `voxels` are WGSL u32 expressions.
 *
 * @example
 * ```ts
 * wgslChannelVoxelThread({ workgroup: 64, channels: 'params.channels', voxels: 'inVox', channel: 'c', voxel: 'i' });
 * ```
 */
export function wgslChannelVoxelThread(o: {
  workgroup: number;
  channels: string;
  voxels: string;
  channel: string;
  voxel: string;
}): string {
  return /* wgsl */ `let idx = group * ${o.workgroup}u + local;
  if (idx >= ${o.channels} * ${o.voxels}) { return; }
  let ${o.channel} = idx / ${o.voxels};
  let ${o.voxel} = idx - ${o.channel} * ${o.voxels};`;
}
