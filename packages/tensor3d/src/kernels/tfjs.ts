/**
 * Registers the WebAssembly kernels as tfjs kernels for the CPU backends (`cpu`, `wasm`), under the names the
 * ops already use, so model code stays one: `DepthwiseConv3D`, `DepthwiseConv3DBackpropInput` and
 * `DepthwiseConv3DBackpropFilter` (the depthwise ops of `../ops` and their gradients) and `BatchMatMul` (what `tf.matMul` runs, i.e. every pointwise conv).
 *
 * Each registration keeps the kernel it replaces and hands it every call the fast path does not cover
 * (other kernel sizes, strides or paddings; batched or transposed-A matmuls; non-float32 inputs).
 */
import { Tensor3dError } from '../errors.js';
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { type KernelRuntime, createKernelRuntime, createKernelRuntimeSync } from './runtime.js';
import {
  type Shape5,
  convOutSize,
  depthwiseConv3d,
  depthwiseConv3dFilterGrad,
  depthwiseConvTranspose3d,
} from './depthwise.js';
import { gemmInMemory, packPanels } from './pointwise.js';
import { GEMM_DEFAULT } from './wasm/gen-gemm.js';
import { registerDepthwiseConv3dKernels } from '../ops/depthwise-conv3d/register.js';

/** Backends the kernels can be registered for (both keep tensors in host-readable memory). */
export const FAST_KERNEL_BACKENDS = ['cpu', 'wasm'] as const;

/** Kernel names this module registers. */
export const FAST_KERNEL_NAMES = [
  'DepthwiseConv3D',
  'DepthwiseConv3DBackpropInput',
  'DepthwiseConv3DBackpropFilter',
  'BatchMatMul',
] as const;

let runtime: KernelRuntime | undefined;

/** The runtime the registered kernels use: the one installed with {@link setKernelRuntime}, else single-threaded. */
export function getKernelRuntime(): KernelRuntime {
  runtime ??= createKernelRuntimeSync();
  return runtime;
}

/** Makes the registered kernels use `rt` (e.g. a two-thread runtime from `createKernelRuntime`). */
export function setKernelRuntime(rt: KernelRuntime): void {
  runtime = rt;
}

interface HostBackend {
  readSync(dataId: object): unknown;
  makeTensorInfo?: (shape: number[], dtype: DataType, values?: Float32Array) => TensorInfo;
  makeOutput?: (shape: number[], dtype: DataType, memoryOffset?: number, values?: Float32Array) => TensorInfo;
}

function read(backend: unknown, t: TensorInfo): Float32Array {
  const v = (backend as HostBackend).readSync(t.dataId);
  if (v instanceof Float32Array) return v;
  return Float32Array.from(v as ArrayLike<number>);
}

/** The tfjs-backend-wasm internals the zero-copy paths use (its tensors live in its WebAssembly heap). */
interface WasmHeapBackend {
  dataIdMap: { get(dataId: object): { memoryOffset: number | null } | undefined };
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

function wasmHeap(backend: unknown): WasmHeapBackend | undefined {
  const b = backend as Partial<WasmHeapBackend>;
  return b.dataIdMap && b.wasm?.HEAPU8 && typeof b.makeOutput === 'function' ? (b as WasmHeapBackend) : undefined;
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A view of a float32 tensor's place in the wasm backend's heap, or undefined where it has none. */
function heapView(heap: WasmHeapBackend, t: TensorInfo): Float32Array | undefined {
  const offset = heap.dataIdMap.get(t.dataId)?.memoryOffset;
  if (t.dtype !== 'float32' || typeof offset !== 'number') return undefined;
  return new Float32Array(heap.wasm.HEAPU8.buffer, offset, sizeOf(t.shape));
}

/**
 * A float32 tensor's values without copying where the backend allows (a view of the wasm backend's heap; the
 * cpu backend's readSync returns its stored array). Views die when that heap grows: take them after every
 * allocation on the backend, as the {@link fillOutputs} callbacks do.
 */
function input(backend: unknown, t: TensorInfo): Float32Array {
  const heap = wasmHeap(backend);
  return (heap && heapView(heap, t)) ?? read(backend, t);
}

/**
 * Makes float32 output tensors of `shapes` and has `fill` write their values: on the wasm backend straight into
 * the tensors' places in its heap (no temporary array the size of an output, which on a fresh allocation also
 * costs its page faults); elsewhere into arrays handed to the backend afterwards. `fill` takes its {@link input}
 * views itself, after the outputs exist (allocating them may grow the heap and detach earlier views). The
 * outputs are freed again if `fill` throws.
 */
function fillOutputs(backend: unknown, shapes: number[][], fill: (dsts: Float32Array[]) => void): TensorInfo[] {
  const heap = wasmHeap(backend);
  if (!heap) {
    const values = shapes.map((shape) => new Float32Array(sizeOf(shape)));
    fill(values);
    return values.map((v, i) => output(backend, shapes[i], v));
  }
  const infos = shapes.map((shape) => heap.makeOutput(shape, 'float32'));
  try {
    fill(
      infos.map((info) => {
        const view = heapView(heap, info);
        if (!view) throw new Tensor3dError('RUNTIME_UNAVAILABLE', 'tensor3d fast kernels: output has no heap offset');
        return view;
      }),
    );
    return infos;
  } catch (e) {
    for (const info of infos) heap.disposeData(info.dataId, true);
    throw e;
  }
}

/** {@link fillOutputs} for one output. */
function fillOutput(backend: unknown, shape: number[], fill: (dst: Float32Array) => void): TensorInfo {
  return fillOutputs(backend, [shape], ([dst]) => fill(dst))[0];
}

/**
 * Runs `fill` on host views of float32 `inputs` and of new float32 tensors of `outShapes` on the active backend,
 * and returns those tensors: on the wasm backend the views are its heap itself, so a caller (e.g. a custom op
 * running the kernels) reads and writes tensors without a copy or a temporary array. `fill` must not create
 * tensors (that may grow the heap under the views). The new tensors are freed if `fill` throws.
 */
export function withHostArrays(
  inputs: tf.Tensor[],
  outShapes: number[][],
  fill: (ins: Float32Array[], outs: Float32Array[]) => void,
): tf.Tensor[] {
  for (const t of inputs) {
    if (t.dtype !== 'float32')
      throw new Tensor3dError('BAD_ARGUMENT', `withHostArrays: inputs must be float32, got ${t.dtype}`);
  }
  const backend = tf.backend();
  const infos = fillOutputs(backend, outShapes, (outs) =>
    fill(
      inputs.map((t) => input(backend, t)),
      outs,
    ),
  );
  return infos.map((info) => tf.engine().makeTensorFromTensorInfo(info));
}

function output(backend: unknown, shape: number[], values: Float32Array): TensorInfo {
  const b = backend as HostBackend;
  if (typeof b.makeTensorInfo === 'function') return b.makeTensorInfo(shape, 'float32', values);
  if (typeof b.makeOutput === 'function') return b.makeOutput(shape, 'float32', undefined, values);
  throw new Tensor3dError(
    'RUNTIME_UNAVAILABLE',
    'tensor3d fast kernels: backend has neither makeTensorInfo nor makeOutput',
  );
}

type Triple = [number, number, number];

function uniform(t: Triple | undefined): number | undefined {
  return t && t[0] === t[1] && t[1] === t[2] ? t[0] : undefined;
}

/** Cubic filter [k,k,k,C] with k in {3,5,7}, or undefined. */
function cubicK(filter: TensorInfo): number | undefined {
  const [a, b, c] = filter.shape;
  return a === b && b === c && [3, 5, 7].includes(a) ? a : undefined;
}

function flipFilter(f: Float32Array, k: number, c: number): Float32Array {
  const out = new Float32Array(f.length);
  const taps = k * k * k;
  for (let t = 0; t < taps; t++) out.set(f.subarray(t * c, t * c + c), (taps - 1 - t) * c);
  return out;
}

function depthwiseForward(fallback: KernelFunc | undefined): KernelFunc {
  return (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as { strides: Triple; pad: Triple };
    const k = cubicK(filter);
    const s = uniform(attrs.strides);
    const p = uniform(attrs.pad);
    if (k && (s === 1 || s === 2) && p !== undefined && p < k && x.dtype === 'float32' && x.shape.length === 5) {
      const [n, d, h, w, c] = x.shape;
      const outShape = [n, ...[d, h, w].map((v) => convOutSize(v, k, s, p)), c];
      return fillOutput(args.backend, outShape, (out) =>
        depthwiseConv3d(getKernelRuntime(), {
          x: input(args.backend, x),
          shape: x.shape as Shape5,
          filter: read(args.backend, filter),
          k,
          stride: s,
          pad: p,
          out,
        }),
      );
    }
    if (!fallback) throw new Tensor3dError('UNKNOWN_KERNEL', 'DepthwiseConv3D: no kernel for these attributes');
    return fallback(args);
  };
}

function depthwiseBackpropInput(fallback: KernelFunc | undefined): KernelFunc {
  return (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as { strides: Triple; pad: Triple; inputShape: Shape5 };
    const k = cubicK(filter);
    const s = uniform(attrs.strides);
    const p = uniform(attrs.pad);
    const out = attrs.inputShape;
    if (k && p !== undefined && p < k && dy.dtype === 'float32' && dy.shape.length === 5) {
      const stride1 = s === 1 && out.slice(1, 4).every((n, a) => n === dy.shape[a + 1] + k - 1 - 2 * p);
      if (s === 2 || stride1) {
        return fillOutput(args.backend, [...out], (dst) => {
          const base = { x: input(args.backend, dy), shape: dy.shape as Shape5, k, out: dst };
          if (s === 2) {
            depthwiseConvTranspose3d(getKernelRuntime(), {
              ...base,
              filter: read(args.backend, filter),
              pad: p,
              outputShape: [out[1], out[2], out[3]],
            });
          } else {
            // stride-1 transposed conv = forward conv with the flipped kernel and padding k-1-p
            depthwiseConv3d(getKernelRuntime(), {
              ...base,
              filter: flipFilter(read(args.backend, filter), k, filter.shape[3]),
              stride: 1,
              pad: k - 1 - p,
            });
          }
        });
      }
    }
    if (!fallback)
      throw new Tensor3dError('UNKNOWN_KERNEL', 'DepthwiseConv3DBackpropInput: no kernel for these attributes');
    return fallback(args);
  };
}

function depthwiseBackpropFilter(fallback: KernelFunc | undefined): KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs as unknown as {
      strides: Triple;
      pad: Triple;
      filterShape: [number, number, number, number];
    };
    const fs = attrs.filterShape;
    const k = fs[0] === fs[1] && fs[1] === fs[2] && [3, 5, 7].includes(fs[0]) ? fs[0] : undefined;
    const s = uniform(attrs.strides);
    const p = uniform(attrs.pad);
    if (
      k &&
      (s === 1 || s === 2) &&
      p !== undefined &&
      p < k &&
      x.shape.length === 5 &&
      dy.shape.length === 5 &&
      x.dtype === 'float32' &&
      dy.dtype === 'float32' &&
      [1, 2, 3].every((a) => dy.shape[a] === convOutSize(x.shape[a], k, s, p))
    ) {
      const values = depthwiseConv3dFilterGrad(getKernelRuntime(), {
        x: input(args.backend, x),
        shape: x.shape as Shape5,
        dy: input(args.backend, dy),
        dyShape: dy.shape as Shape5,
        k,
        stride: s,
        pad: p,
      });
      return output(args.backend, [...fs], values);
    }
    if (!fallback)
      throw new Tensor3dError('UNKNOWN_KERNEL', 'DepthwiseConv3DBackpropFilter: no kernel for these attributes');
    return fallback(args);
  };
}

/** B [K, N] from b as stored: [K, N], or [N, K] when transposed. */
function bAsKN(b: Float32Array, k: number, n: number, transposed: boolean): Float32Array {
  if (!transposed) return b;
  const out = new Float32Array(k * n);
  for (let j = 0; j < n; j++) for (let kk = 0; kk < k; kk++) out[kk * n + j] = b[j * k + kk];
  return out;
}

function batchMatMul(fallback: KernelFunc | undefined): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    // rows of every batch of A concatenated form one tall-skinny GEMM against the single B
    const batch = (t: TensorInfo): number => t.shape.slice(0, -2).reduce((x, y) => x * y, 1);
    if (!transposeA && a.dtype === 'float32' && b.dtype === 'float32' && batch(b) === 1 && a.shape.length >= 2) {
      const m = batch(a) * a.shape[a.shape.length - 2];
      const k = a.shape[a.shape.length - 1];
      const n = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
      const kb = transposeB ? b.shape[b.shape.length - 1] : b.shape[b.shape.length - 2];
      if (k === kb && m > 0 && n > 0 && a.shape.length >= b.shape.length) {
        const rt = getKernelRuntime();
        const mark = rt.mark();
        try {
          return fillOutput(args.backend, [...a.shape.slice(0, -1), n], (dst) => {
            const w = bAsKN(read(args.backend, b), k, n, transposeB);
            const nw = 4 * GEMM_DEFAULT.nrv;
            const packedB = rt.put(packPanels(w, k, n, GEMM_DEFAULT.nrv));
            const packedBias = rt.alloc(Math.ceil(n / nw) * nw * 4);
            rt.f32(packedBias, Math.ceil(n / nw) * nw).fill(0);
            const ap = rt.put(input(args.backend, a));
            const c = rt.alloc(m * n * 4);
            gemmInMemory(rt, { a: ap, packedB, packedBias, c, residual: 0 }, m, k, n);
            dst.set(rt.f32(c, m * n));
          });
        } finally {
          rt.release(mark);
        }
      }
    }
    if (!fallback) throw new Tensor3dError('UNKNOWN_KERNEL', 'BatchMatMul: no kernel for these inputs');
    return fallback(args);
  };
}

const FACTORIES: Record<(typeof FAST_KERNEL_NAMES)[number], (fallback: KernelFunc | undefined) => KernelFunc> = {
  DepthwiseConv3D: depthwiseForward,
  DepthwiseConv3DBackpropInput: depthwiseBackpropInput,
  DepthwiseConv3DBackpropFilter: depthwiseBackpropFilter,
  BatchMatMul: batchMatMul,
};

/**
 * One call to switch the fast kernels on: creates a runtime with `threads` threads (default: the logical
 * cores, at most 4; 1 where workers or shared memory are missing), makes it current and registers the
 * kernels for the CPU backends tfjs knows. Returns the registered `kernel@backend` pairs and the runtime.
 */
export async function enableFastKernels(
  options: { threads?: number; backends?: readonly string[] } = {},
): Promise<{ registered: string[]; runtime: KernelRuntime }> {
  const cores =
    (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ??
    (await import('node:os').then((os) => os.availableParallelism?.() ?? os.cpus().length).catch(() => 1));
  const rt = await createKernelRuntime({ threads: options.threads ?? Math.min(4, Math.max(1, cores)) });
  return { registered: registerFastKernels({ runtime: rt, backends: options.backends }), runtime: rt };
}

/** Options of {@link registerFastKernels}. */
export interface RegisterFastKernelsOptions {
  /** Backends to register for (default both `cpu` and `wasm`). */
  backends?: readonly string[];
  /** Kernels to register (default all of {@link FAST_KERNEL_NAMES}). */
  kernels?: readonly (typeof FAST_KERNEL_NAMES)[number][];
  /** Runtime to use (default: the current one, see {@link setKernelRuntime}). */
  runtime?: KernelRuntime;
}

const replaced = new Map<string, { previous: KernelConfig | undefined; ours: KernelFunc }>();

/**
 * Registers the fast kernels for every requested backend that tfjs knows (its package is imported), replacing
 * what is registered under the same names and keeping it as the fallback. Importing a backend package
 * afterwards overwrites its kernels, so call this after the backend is set up. Idempotent. Returns the
 * `kernel@backend` pairs now served by the fast kernels.
 */
export function registerFastKernels(options: RegisterFastKernelsOptions = {}): string[] {
  if (options.runtime) setKernelRuntime(options.runtime);
  // the reference depthwise kernels become the fallbacks; registering them later would skip our names
  registerDepthwiseConv3dKernels();
  const done: string[] = [];
  for (const backendName of options.backends ?? FAST_KERNEL_BACKENDS) {
    if (!tf.findBackendFactory(backendName)) continue;
    for (const kernelName of options.kernels ?? FAST_KERNEL_NAMES) {
      const key = `${kernelName}@${backendName}`;
      const current = tf.getKernel(kernelName, backendName);
      const entry = replaced.get(key);
      if (!entry || current?.kernelFunc !== entry.ours) {
        if (current) tf.unregisterKernel(kernelName, backendName);
        const ours = FACTORIES[kernelName](current?.kernelFunc);
        replaced.set(key, { previous: current, ours });
        tf.registerKernel({ kernelName, backendName, kernelFunc: ours });
      }
      done.push(key);
    }
  }
  return done;
}

/**
 * Whether the fast kernels serve `backendName` (default: the active backend) right now: registered by
 * {@link registerFastKernels} and not since overwritten or unregistered. Callers use it to pick paths built on
 * the same kernels (e.g. the fused MedNeXt block) only when the user enabled them.
 */
export function fastKernelsActive(backendName: string = tf.getBackend()): boolean {
  for (const [key, { ours }] of replaced) {
    const [kernelName, b] = key.split('@');
    if (b === backendName && tf.getKernel(kernelName, b)?.kernelFunc === ours) return true;
  }
  return false;
}

/** Puts back the kernels {@link registerFastKernels} replaced (where ours are still the registered ones). */
export function unregisterFastKernels(): void {
  for (const [key, { previous, ours }] of replaced) {
    const [kernelName, backendName] = key.split('@');
    if (tf.getKernel(kernelName, backendName)?.kernelFunc !== ours) continue;
    tf.unregisterKernel(kernelName, backendName);
    if (previous) tf.registerKernel(previous);
  }
  replaced.clear();
}
