/**
 * How a MedNeXt network runs: the topology written once ({@link walkMedNeXt}), the contract an engine implements
 * to execute it ({@link NetworkEngine}), and the one place that chooses the engine and each block's path for a
 * forward pass ({@link planForward}, with the reason it chose). The engines themselves (tfjs, kernel heap, ONNX
 * graph) are internal; `MedNeXt.forward` and `mednextToOnnx` use them.
 *
 * @example
 * ```ts
 * import { MedNeXt, presetConfig } from '@mednext-ts/mednext';
 * const model = MedNeXt.create(presetConfig('B', { inChannels: 4, nClasses: 3 }));
 * console.log(model.plan().reason); // e.g. "kernel-heap: inference on host backend wasm, fast kernels on, no GRN blocks"
 * ```
 */
export { walkMedNeXt, type NetworkEngine, type WalkOptions } from './engine.js';
export {
  DEFAULT_CHUNK_ELEMENTS,
  currentForwardEnvironment,
  fusedBlockSupports,
  planDeviceEngine,
  planForward,
  type BlockPath,
  type ForwardEngineName,
  type ForwardEnvironment,
  type ForwardPlan,
  type ForwardRequest,
  type DeviceEnginePlan,
  type GpuProbeResult,
} from './plan.js';
/** One MedNeXt block on tfjs tensors (plain ops), for experiments and block-level fixtures. */
export { runBlock, type BlockRunOptions } from './engines/tfjs/block.js';
/** The tfjs building blocks of the network (NDHWC, PyTorch-layout weights). */
export { gelu, grn, type ParamGetter } from './engines/tfjs/layers.js';
