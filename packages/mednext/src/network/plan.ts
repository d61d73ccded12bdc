/**
 * The one place that chooses how a forward pass runs: which engine executes the walk, and on the tfjs engine
 * which path each block takes, with a sentence saying why. Everything it decides from is passed in (the
 * environment included), so the decisions are plain data a test can check.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernels } from '@mednext-ts/tensor3d';
import { allBlocks, type Architecture, type BlockSpec } from '../model/architecture.js';
import { MedNeXtError } from '../errors.js';

/** The engine that executes {@link walkMedNeXt} for a forward pass. */
export type ForwardEngineName = 'kernel-heap' | 'tfjs';

/**
 * How the tfjs engine runs one block:
 * - `fused-kernel`: the fused WebAssembly block (inference, host backends, fast kernels on);
 * - `composite`: tfjs ops (inference elsewhere; plain autodiff under a tape with `leanGradients: false`);
 * - `lean`: the memory-lean custom gradients (training);
 * - `lean+fused-tail`: lean, with the block tail on the WebAssembly kernels (training on host backends).
 */
export type BlockPath = 'fused-kernel' | 'composite' | 'lean' | 'lean+fused-tail';

/** What the environment offers (see {@link currentForwardEnvironment}). */
export interface ForwardEnvironment {
  /** The active tfjs backend. */
  backend: string;
  /** Whether the fused WebAssembly kernels serve that backend now (a host backend with the fast kernels on). */
  hostKernels: boolean;
}

/** What a forward pass asks for (the options of `MedNeXt.forward`, defaults resolved by the caller or here). */
export interface ForwardRequest {
  architecture: Architecture;
  /** A gradient is recorded (or training was requested): the blocks must be differentiable. */
  training: boolean;
  /** Use the fused kernels for inference where they apply (default true). */
  fused?: boolean;
  /** Train on the memory-lean custom gradients (default true); false: tfjs's plain autodiff. */
  leanGradients?: boolean;
  /** Recompute each block in the backward pass (lean training only; default false). */
  checkpointBlocks?: boolean;
  /** Chunk size of composite inference blocks, in expanded elements (default 2^23; 0 = no chunking). */
  chunkElements?: number;
  environment: ForwardEnvironment;
}

/** The decision of {@link planForward}. */
export interface ForwardPlan {
  engine: ForwardEngineName;
  training: boolean;
  /** Each block's path on the tfjs engine, by block name (empty for the kernel-heap engine, which runs them all). */
  blocks: ReadonlyMap<string, BlockPath>;
  /** Skip additions and blocks use the lean custom gradients (lean training). */
  lean: boolean;
  /** Per-block recomputation in the backward pass (lean training only). */
  checkpointBlocks: boolean;
  /** Chunk size of composite inference blocks (0 under a tape, where chunks only cost time). */
  chunkElements: number;
  /** Why, in one line, e.g. `kernel-heap: inference on host backend wasm, fast kernels on, no GRN blocks`. */
  reason: string;
}

/** Default chunk size of composite inference blocks (2^23 elements: 32 MB chunks). */
export const DEFAULT_CHUNK_ELEMENTS = 2 ** 23;

/** What the environment offers now: the active backend, and whether the fused kernels serve it. */
export function currentForwardEnvironment(): ForwardEnvironment {
  return {
    backend: tf.getBackend(),
    hostKernels: wasmKernels.fusedBlockAvailable() && wasmKernels.fastKernelsActive(),
  };
}

/** Whether the fused WebAssembly block kernel implements block `b` (no GRN; k 3/5/7; channels multiples of 4). */
export function fusedBlockSupports(b: BlockSpec): boolean {
  return !b.grn && [3, 5, 7].includes(b.kernel) && b.cIn % 4 === 0 && b.cOut % 4 === 0;
}

/** Why the fused kernel does not take block `b` (for plan reasons). */
function unsupportedBecause(b: BlockSpec): string {
  if (b.grn) return 'GRN';
  if (![3, 5, 7].includes(b.kernel)) return `kernel ${b.kernel}`;
  return 'channels not a multiple of 4';
}

/** "GRN ×3, kernel 9 ×2": the causes of the blocks the fused kernel does not take, counted. */
function describeUnsupported(blocks: BlockSpec[]): string {
  const counts = new Map<string, number>();
  for (const b of blocks) {
    const why = unsupportedBecause(b);
    counts.set(why, (counts.get(why) ?? 0) + 1);
  }
  return [...counts].map(([why, n]) => `${why} ×${n}`).join(', ');
}

/** Why the fused kernels are not available in `env`. */
function kernelsMissing(env: ForwardEnvironment): string {
  return ['cpu', 'wasm'].includes(env.backend)
    ? `host backend ${env.backend} with the fast kernels off`
    : `backend ${env.backend} is not a host backend`;
}

/**
 * Chooses the engine and each block's path for a forward pass:
 * - inference on a host backend with the fast kernels on, every block taken by the fused kernel, `fused` not
 *   false: the kernel-heap engine (the whole pass in the WebAssembly heap);
 * - other inference: the tfjs engine, each block on the fused kernel where it applies, else composite
 *   (chunked by `chunkElements`);
 * - training: the tfjs engine with lean gradients (the kernel tail where it applies), optionally recomputed per
 *   block; or plain autodiff with `leanGradients: false`.
 *
 * @example
 * ```ts
 * const plan = planForward({ architecture: model.architecture, training: false, environment: currentForwardEnvironment() });
 * console.log(plan.reason); // kernel-heap: inference on host backend wasm, fast kernels on, no GRN blocks
 * ```
 */
export function planForward(request: ForwardRequest): ForwardPlan {
  const { architecture, training, environment: env } = request;
  const blocks = allBlocks(architecture);
  const unsupported = blocks.filter((b) => !fusedBlockSupports(b));
  const fusedCount = blocks.length - unsupported.length;
  const paths = new Map<string, BlockPath>();
  const plan = (engine: ForwardEngineName, lean: boolean, reason: string): ForwardPlan => ({
    engine,
    training,
    blocks: paths,
    lean,
    checkpointBlocks: lean && (request.checkpointBlocks ?? false),
    chunkElements: training ? 0 : (request.chunkElements ?? DEFAULT_CHUNK_ELEMENTS),
    reason,
  });

  if (training) {
    if (request.leanGradients === false) {
      for (const b of blocks) paths.set(b.name, 'composite');
      return plan('tfjs', false, 'tfjs: training, plain tfjs autodiff (leanGradients: false)');
    }
    const tail = env.hostKernels;
    for (const b of blocks) paths.set(b.name, tail && fusedBlockSupports(b) ? 'lean+fused-tail' : 'lean');
    const recompute = request.checkpointBlocks ? ', each block recomputed in the backward pass' : '';
    const tails = tail
      ? `kernel tail on ${fusedCount} of ${blocks.length} blocks (host backend ${env.backend}, fast kernels on` +
        (unsupported.length ? `; not on ${describeUnsupported(unsupported)})` : ')')
      : `composite tails (${kernelsMissing(env)})`;
    return plan('tfjs', true, `tfjs: training, lean gradients${recompute}, ${tails}`);
  }

  const chunks = `, composite blocks chunked by ${request.chunkElements ?? DEFAULT_CHUNK_ELEMENTS} elements`;
  if (request.fused === false) {
    for (const b of blocks) paths.set(b.name, 'composite');
    return plan('tfjs', false, `tfjs: inference, fused kernels off (fused: false)${chunks}`);
  }
  if (!env.hostKernels) {
    for (const b of blocks) paths.set(b.name, 'composite');
    return plan('tfjs', false, `tfjs: inference, ${kernelsMissing(env)}${chunks}`);
  }
  if (unsupported.length === 0) {
    // Every block taken by the fused kernel implies no GRN block and supported kernels and channels.
    return plan(
      'kernel-heap',
      false,
      `kernel-heap: inference on host backend ${env.backend}, fast kernels on, no GRN blocks`,
    );
  }
  for (const b of blocks) paths.set(b.name, fusedBlockSupports(b) ? 'fused-kernel' : 'composite');
  return plan(
    'tfjs',
    false,
    `tfjs: inference on host backend ${env.backend}, fast kernels on, fused kernel on ${fusedCount} of ` +
      `${blocks.length} blocks, composite on ${describeUnsupported(unsupported)}${chunks}`,
  );
}

/** What a GPU probe found, for {@link planDeviceEngine}. */
export type GpuProbeResult =
  | { found: true; description: string; software: boolean }
  | { found: false; reason: string }
  /** The probe was not run (e.g. no GPU device node on this machine): nothing to pay for on CPU-only machines. */
  | { found: false; notProbed: true; reason: string };

/** The decision of {@link planDeviceEngine}: the WebGPU engine, or tfjs (whose own engines {@link planForward} picks). */
export interface DeviceEnginePlan {
  engine: 'webgpu' | 'tfjs';
  reason: string;
}

/**
 * Chooses between the WebGPU engine and tfjs for inference from the `--backend` preference and what a GPU probe
 * found (the caller probes; this decides):
 * - `webgpu`: the WebGPU engine on whatever adapter there is (an error when there is none);
 * - `auto`: the WebGPU engine only on a hardware adapter. Software adapters (llvmpipe, lavapipe, SwiftShader,
 *   WARP) are correct but slower than the CPU kernels, so `auto` keeps tfjs and its kernel-heap engine there;
 * - any other backend: tfjs.
 *
 * @throws MedNeXtError `GPU_UNAVAILABLE` when `webgpu` is requested and the probe found no adapter
 * @example
 * ```ts
 * planDeviceEngine('auto', { found: true, description: 'NVIDIA H100', software: false }).engine; // 'webgpu'
 * ```
 */
export function planDeviceEngine(preference: string, gpu: GpuProbeResult): DeviceEnginePlan {
  if (preference === 'webgpu') {
    if (!gpu.found) throw new MedNeXtError('GPU_UNAVAILABLE', `--backend webgpu: ${gpu.reason}`);
    const slow = gpu.software ? '; a software adapter, slower than the CPU kernels' : '';
    return { engine: 'webgpu', reason: `requested explicitly (${gpu.description})${slow}` };
  }
  if (preference !== 'auto') return { engine: 'tfjs', reason: `--backend ${preference}` };
  if (!gpu.found) return { engine: 'tfjs', reason: gpu.reason };
  if (gpu.software) {
    return {
      engine: 'tfjs',
      reason: `the only WebGPU adapter is a software one (${gpu.description}); the CPU kernels are faster`,
    };
  }
  return { engine: 'webgpu', reason: `a GPU adapter was found (${gpu.description})` };
}
