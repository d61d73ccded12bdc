/**
 * Weights I/O (browser-safe): state dicts, safetensors, PyTorch `.pth` checkpoints, UpKern kernel
 * resampling, and one entry point ({@link parseWeights}, {@link loadNetworkWeights}) for any supported file.
 * The ZIP and pickle readers behind `.pth` are internal. Reading files from disk: `@mednext-ts/mednext/node`.
 */
// The in-memory form of a checkpoint: named tensors.
export { formatShape, type NamedTensor, type StateDict } from './tensor-map.js';
// Reader and writer for the `.safetensors` format.
export { parseSafetensors, type SafetensorsFile, serializeSafetensors } from './safetensors.js';
// Moving weights between a {@link MedNeXt} and a state dict (official names, PyTorch layouts).
export {
  configFromMetadata,
  configToMetadata,
  formatLoadReport,
  getStateDict,
  type LoadOptions,
  type LoadReport,
  loadStateDict,
  readStateDict,
  type ShapeMismatch,
} from './state-dict.js';
// UpKern (MedNeXt paper, §2.3): initialising a large-kernel network from a small-kernel one.
export { resampleKernel, upkernLoad, type UpKernReport } from './upkern.js';
// The raw-deflate function a caller supplies to read compressed `.pth` entries (Node passes zlib's).
export { type InflateRaw } from './zip.js';
// Reading PyTorch checkpoints (`torch.save`, zip format of PyTorch >= 1.6).
export { isZip, type PthCheckpoint, readPth, type ReadPthOptions } from './pth.js';
// One entry point for weight files.
export { type LoadedWeights, parseWeights } from './checkpoint.js';
// Recovering a MedNeXt configuration from a state dict's tensor names and shapes alone.
export { describeInferredConfig, inferMedNeXtConfig, type InferredConfig } from './infer-config.js';
// A network's config and weights from any supported file.
export { networkWeights, type NetworkWeights } from './network-weights.js';
