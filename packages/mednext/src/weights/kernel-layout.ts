/**
 * MedNeXt block weights from the official state dict's PyTorch layouts to the channels-last layouts of
 * `@mednext-ts/tensor3d`'s inverted-bottleneck kernels. A MedNeXt block is such a bottleneck: `conv1`
 * (depthwise) -> `norm` (GroupNorm, one group per channel) -> `conv2` (1x1x1 expand) -> GELU -> `conv3`
 * (1x1x1 compress). Convert once per block and reuse.
 *
 * @example
 * ```ts
 * const weights = blockWeightsFromTorch(params, 3);
 * const packed = wasmKernels.packBlockWeights(rt, weights);
 * ```
 */
import { wasmKernels } from '@mednext-ts/tensor3d';

/** A MedNeXt block's parameters as in the official state dict (PyTorch layouts), as flat float32 arrays. */
export interface TorchBlockParams {
  /** `conv1.weight` [C, 1, k, k, k] (the transposed conv of an up block has the same layout) */
  conv1Weight: Float32Array;
  /** `conv1.bias` [C] */
  conv1Bias: Float32Array;
  /** `norm.weight` [C] */
  normWeight: Float32Array;
  /** `norm.bias` [C] */
  normBias: Float32Array;
  /** `conv2.weight` [E, C, 1, 1, 1] */
  conv2Weight: Float32Array;
  /** `conv2.bias` [E] */
  conv2Bias: Float32Array;
  /** `conv3.weight` [Cout, E, 1, 1, 1] */
  conv3Weight: Float32Array;
  /** `conv3.bias` [Cout] */
  conv3Bias: Float32Array;
}

/**
 * Converts a MedNeXt block's PyTorch-layout parameters (kernel size `k`) to the kernels' channels-last layouts:
 * the depthwise filter [C, k^3] -> [k^3, C], expand [E, C] -> [C, E], compress [Cout, E] -> [E, Cout].
 */
export function blockWeightsFromTorch(p: TorchBlockParams, k: number): wasmKernels.InvertedBottleneckWeights {
  const transpose = wasmKernels.transposeMatrix;
  const c = p.conv1Bias.length;
  const e = p.conv2Bias.length;
  const cout = p.conv3Bias.length;
  const taps = k * k * k;
  if (p.conv1Weight.length !== c * taps)
    throw new Error(`blockWeightsFromTorch: conv1.weight is not [${c}, 1, ${k}, ${k}, ${k}]`);
  if (p.conv2Weight.length !== e * c)
    throw new Error(`blockWeightsFromTorch: conv2.weight is not [${e}, ${c}, 1, 1, 1]`);
  if (p.conv3Weight.length !== cout * e)
    throw new Error(`blockWeightsFromTorch: conv3.weight is not [${cout}, ${e}, 1, 1, 1]`);
  return {
    k,
    dwFilter: transpose(p.conv1Weight, c, taps),
    dwBias: p.conv1Bias,
    gamma: p.normWeight,
    beta: p.normBias,
    w2: transpose(p.conv2Weight, e, c),
    b2: p.conv2Bias,
    w3: transpose(p.conv3Weight, cout, e),
    b3: p.conv3Bias,
  };
}
