/// <reference types="@webgpu/types" />
/**
 * MedNeXt parameters on the GPU: uploaded once from the model's PyTorch-layout state dict (official names),
 * with the transposed 1x1x1 convolutions (up blocks' `res_conv`, the heads' `conv_out`, stored IN x OUT)
 * turned into the OUT x IN layout of the pointwise kernel. Everything else is used in its PyTorch layout:
 * depthwise `conv1` [C, k, k, k], `conv2` [E, C], `conv3` [CO, E], stem and down `res_conv` [CO, CI].
 */
import { packBottleneckVectors, type GpuRuntime, type GpuTensor } from '@mednext-ts/tensor3d/webgpu';
import type { MedNeXt } from '../../../model/mednext.js';

/**
 * Names whose weight is a transposed conv stored [IN, OUT, 1, 1, 1] in PyTorch and OUT x IN on the GPU (the up
 * blocks' `res_conv`, the heads' `conv_out`).
 */
export function isTransposedPointwise(name: string): boolean {
  return /^up_\d\.res_conv\.weight$/.test(name) || /^out_\d\.conv_out\.weight$/.test(name);
}

/** [rows, cols] → [cols, rows]. */
export function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/**
 * The network's parameters as GPU tensors, by official state-dict name, plus `<block>.vectors` (norm gamma, norm
 * beta, conv2 bias, conv3 bias packed for the fused bottleneck).
 */
export class GpuWeights {
  private readonly tensors = new Map<string, GpuTensor>();

  private constructor(private readonly rt: GpuRuntime) {}

  /** Uploads every parameter of `model` (except `dummy_tensor`, which the network never reads). */
  static async upload(rt: GpuRuntime, model: MedNeXt): Promise<GpuWeights> {
    const w = new GpuWeights(rt);
    for (const [name, variable] of model.params) {
      if (name === 'dummy_tensor') continue;
      let data = (await variable.data()) as Float32Array;
      if (isTransposedPointwise(name)) {
        const [cIn, cOut] = variable.shape;
        data = transpose(data, cIn, cOut);
      }
      w.tensors.set(name, rt.upload(data, name));
    }
    // The fused bottleneck reads a block's per-channel vectors from one buffer: `<block>.vectors`.
    for (const name of model.params.keys()) {
      const block = /^(.*)\.norm\.weight$/.exec(name)?.[1];
      if (block === undefined) continue;
      const read = async (n: string): Promise<Float32Array> => {
        const v = model.params.get(`${block}.${n}`);
        if (!v) throw new Error(`WebGPU MedNeXt: parameter '${block}.${n}' is missing from the model`);
        return (await v.data()) as Float32Array;
      };
      const packed = packBottleneckVectors({
        gamma: await read('norm.weight'),
        beta: await read('norm.bias'),
        b2: await read('conv2.bias'),
        b3: await read('conv3.bias'),
      });
      w.tensors.set(`${block}.vectors`, rt.upload(packed, `${block}.vectors`));
    }
    return w;
  }

  /**
   * The tensor of parameter `name`.
   * @throws Error naming the parameter when the model has none of that name
   */
  get(name: string): GpuTensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`WebGPU MedNeXt: parameter '${name}' is missing from the model`);
    return t;
  }

  /** Every tensor by name: the parameters (GPU layout) and each block's packed `<block>.vectors`. */
  entries(): IterableIterator<[string, GpuTensor]> {
    return this.tensors.entries();
  }

  /** Frees every parameter buffer. */
  dispose(): void {
    for (const t of this.tensors.values()) this.rt.destroy(t);
    this.tensors.clear();
  }
}
