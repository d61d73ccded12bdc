/// <reference types="@webgpu/types" />
/**
 * The trained parameters as the GPU trainer sees them: every GPU weight of {@link GpuWeights} with its PyTorch and
 * GPU shapes (the transposed 1x1x1 convs are OUT x IN on the GPU, IN x OUT x 1 x 1 x 1 in PyTorch), conversions
 * between the two layouts, and the refresh of each block's packed `<block>.vectors` (norm gamma, norm beta, conv2
 * bias, conv3 bias, which the fused bottleneck reads) after the optimizer has moved its sources.
 */
import type { GpuRuntime, GpuTensor } from '@mednext-ts/tensor3d/webgpu';
import { MedNeXtError } from '../../errors.js';
import type { MedNeXt } from '../../model/mednext.js';
import { isTransposedPointwise, transpose, type GpuWeights } from '../../network/engines/webgpu/weights.js';

/** One trained parameter. */
export interface TrainedParameter {
  /** Official state-dict name. */
  name: string;
  /** Its GPU weight (updated in place by the optimizer). */
  tensor: GpuTensor;
  /** Shape of the PyTorch state-dict tensor. */
  torchShape: number[];
  /** Shape of the GPU weight: `[OUT, IN, 1, 1, 1]` for the transposed convs, else `torchShape`. */
  gpuShape: number[];
  /** For the transposed convs: the PyTorch layout's `[rows (IN), cols (OUT)]`. */
  transposed?: [number, number];
}

/** The four sources of one block's packed vectors, in packing order, and the packed tensor. */
interface PackedBlock {
  vectors: GpuTensor;
  sources: GpuTensor[];
  names: string[];
}

const VECTOR_SOURCES = ['norm.weight', 'norm.bias', 'conv2.bias', 'conv3.bias'] as const;

/** The trainer's view of the GPU weights. */
export class TrainedParameters {
  /** Every parameter in the model's order (the order the CPU optimizer first sees their gradients). */
  readonly list: readonly TrainedParameter[];
  private readonly byName: Map<string, TrainedParameter>;
  private readonly blocks: PackedBlock[] = [];

  constructor(
    model: MedNeXt,
    weights: GpuWeights,
    private readonly dummy?: { name: string; data: Float32Array },
  ) {
    const tensors = new Map(weights.entries());
    const list: TrainedParameter[] = [];
    for (const [name, variable] of model.params) {
      if (name === 'dummy_tensor') continue;
      const tensor = tensors.get(name);
      if (!tensor) throw new Error(`WebGPU trainer: parameter '${name}' has no GPU weight`);
      const torchShape = [...variable.shape];
      if (isTransposedPointwise(name)) {
        const [cIn, cOut] = torchShape;
        list.push({ name, tensor, torchShape, gpuShape: [cOut, cIn, 1, 1, 1], transposed: [cIn, cOut] });
      } else {
        list.push({ name, tensor, torchShape, gpuShape: torchShape });
      }
    }
    this.list = list;
    this.byName = new Map(list.map((p) => [p.name, p]));
    for (const [name, vectors] of tensors) {
      const block = /^(.*)\.vectors$/.exec(name)?.[1];
      if (block === undefined) continue;
      const names = VECTOR_SOURCES.map((s) => `${block}.${s}`);
      this.blocks.push({ vectors, names, sources: names.map((n) => this.get(n).tensor) });
    }
  }

  /** The parameter `name` (official name). */
  get(name: string): TrainedParameter {
    const p = this.byName.get(name);
    if (!p) throw new Error(`WebGPU trainer: no parameter named '${name}'`);
    return p;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** PyTorch-layout values → the GPU weight's layout (a copy only for the transposed convs). */
  toGpuLayout(name: string, data: Float32Array): Float32Array {
    const t = this.get(name).transposed;
    return t ? transpose(data, t[0], t[1]) : data;
  }

  /** GPU-layout values → the PyTorch layout. */
  toTorchLayout(name: string, data: Float32Array): Float32Array {
    const t = this.get(name).transposed;
    return t ? transpose(data, t[1], t[0]) : data;
  }

  /**
   * Records the copies that rebuild `<block>.vectors` from its four source parameters, for every block one of
   * whose sources is in `changed` (default: every block).
   */
  recordVectorRefresh(encoder: GPUCommandEncoder, changed?: ReadonlySet<string>): void {
    for (const b of this.blocks) {
      if (changed && !b.names.some((n) => changed.has(n))) continue;
      let at = 0;
      for (const src of b.sources) {
        encoder.copyBufferToBuffer(src.buffer, 0, b.vectors.buffer, at * 4, src.length * 4);
        at += src.length;
      }
    }
  }

  /**
   * The parameters by official name in the PyTorch layout (with `dummy_tensor`, which the network never reads,
   * as the model holds it, so the map is a whole state dict).
   */
  async read(rt: GpuRuntime): Promise<Map<string, Float32Array>> {
    const data = await rt.finish(this.list.map((p) => p.tensor));
    const out = new Map<string, Float32Array>();
    if (this.dummy) out.set(this.dummy.name, this.dummy.data.slice());
    this.list.forEach((p, i) => out.set(p.name, this.toTorchLayout(p.name, data[i])));
    return out;
  }

  /**
   * Replaces every parameter (PyTorch layout) and rebuilds the packed vectors. Checks everything first: nothing
   * is written when a name is missing or unknown or a length is wrong.
   * @throws MedNeXtError `WEIGHTS_MISMATCH` naming the parameter
   */
  write(device: GPUDevice, weights: ReadonlyMap<string, Float32Array>): void {
    const owner = 'WebGPU trainer writeWeights';
    for (const [name, data] of weights) {
      if (name === this.dummy?.name) continue;
      const p = this.byName.get(name);
      if (!p) throw new MedNeXtError('WEIGHTS_MISMATCH', `${owner}: '${name}' is not a parameter of this model`);
      if (data.length !== p.tensor.length) {
        throw new MedNeXtError(
          'WEIGHTS_MISMATCH',
          `${owner}: '${name}' has ${data.length} values, shape [${p.torchShape}] needs ${p.tensor.length}`,
        );
      }
    }
    const missing = this.list.filter((p) => !weights.has(p.name)).map((p) => p.name);
    if (missing.length) {
      throw new MedNeXtError(
        'WEIGHTS_MISMATCH',
        `${owner}: ${missing.length} parameters are missing (${missing.slice(0, 5).join(', ')}` +
          `${missing.length > 5 ? ', ...' : ''}); give the whole state dict`,
      );
    }
    for (const p of this.list) {
      const data = this.toGpuLayout(p.name, weights.get(p.name) as Float32Array);
      device.queue.writeBuffer(p.tensor.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    }
    const encoder = device.createCommandEncoder({ label: 'WebGPU trainer: packed vectors' });
    this.recordVectorRefresh(encoder);
    device.queue.submit([encoder.finish()]);
  }
}
