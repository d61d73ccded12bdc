/// <reference types="@webgpu/types" />
import { createParamsBuffer, elementwiseGroups, encodeKernel, readBuffer } from '@mednext-ts/tensor3d/webgpu';

import { deepSupervisionWeights } from '../deep-supervision.js';
import type { DiceFocalOptions, SoftDiceOptions } from '../region-losses.js';
import {
  REDUCE_WORKGROUP_SIZE,
  REGION_LOSS_COMBINE_KERNEL,
  REGION_LOSS_GRADIENT_KERNEL,
  REGION_LOSS_PARTIALS_KERNEL,
  REGION_LOSS_REDUCE_KERNEL,
} from './region-loss-kernels.js';
import { MedNeXtError } from '../../errors.js';

/**
 * Which region loss, with the options of its tfjs twin: `'dice-focal'` is `batchDiceFocalLoss`
 * (`(1 − batch Dice) + focal`, the seed recipe), `'dice-bce'` is `regionDiceBceLoss`
 * (`BCE − Dice`, nnU-Net v1's BraTS-region loss). `channelAxis` is replaced by `layout`.
 */
export type WebGPURegionLossSpec =
  | { loss: 'dice-focal'; options?: Omit<DiceFocalOptions, 'channelAxis'> }
  | { loss: 'dice-bce'; options?: Omit<SoftDiceOptions, 'channelAxis'> };

/** Options of {@link WebGPURegionLoss}. */
export interface WebGPURegionLossOptions {
  /** `'channels-last'` for `[N, D, H, W, C]` buffers (the tfjs layout, default), `'channels-first'` for `[N, C, D, H, W]`. */
  layout?: 'channels-last' | 'channels-first';
  /** One weight per output, full resolution first (default: nnU-Net's, {@link deepSupervisionWeights}). */
  weights?: readonly number[];
}

/** The buffers of one deep-supervision output: float32, `shape` elements each, STORAGE usage. */
export interface WebGPURegionLossInputs {
  /** The network's logits at this scale. */
  logits: GPUBuffer;
  /** The targets at this scale (the nearest-neighbour pyramid of nnU-Net, as `targetPyramid` builds it). */
  target: GPUBuffer;
  /** Receives `∂(total loss)/∂logits` (zeros for an output whose weight is 0). */
  grad: GPUBuffer;
}

interface ScaleBuffers {
  elements: number;
  /** N·C, the (sample, channel) pairs. */
  pairs: number;
  weight: number;
  chunks: number;
  partials: GPUBuffer;
  sums: GPUBuffer;
  coefficients: GPUBuffer;
  uniforms: { partials: GPUBuffer; reduce: GPUBuffer; combine: GPUBuffer; gradient: GPUBuffer };
}

/**
 * The region loss with deep supervision on the GPU: `Σ_s w_s · loss(logits_s, target_s)` and its
 * gradient with respect to every `logits_s`, as WGSL kernels (the same formulas as the tfjs
 * `deepSupervisionLoss(outputs, targets, batchDiceFocalLoss)`). Built once for a set of output
 * shapes; {@link record} then adds the whole computation to a command encoder, with no readback.
 *
 * @example
 * ```ts
 * const loss = new WebGPURegionLoss(device, { loss: 'dice-focal' }, [[2, 64, 64, 64, 3], [2, 32, 32, 32, 3]]);
 * const encoder = device.createCommandEncoder();
 * loss.record(encoder, [{ logits, target, grad }, { logits: l1, target: t1, grad: g1 }]);
 * device.queue.submit([encoder.finish()]);
 * console.log(await loss.readTotal()); // the weighted total, as a number
 * ```
 */
export class WebGPURegionLoss {
  /** `[outputs + 1]` float32: each output's weighted term, then the total. Stays on the GPU. */
  readonly losses: GPUBuffer;
  private readonly scales: ScaleBuffers[];
  private readonly shapes: number[][];

  constructor(
    readonly device: GPUDevice,
    spec: WebGPURegionLossSpec,
    shapes: ReadonlyArray<readonly number[]>,
    options: WebGPURegionLossOptions = {},
  ) {
    const owner = 'WebGPURegionLoss';
    const channelsLast = (options.layout ?? 'channels-last') === 'channels-last';
    const weights = options.weights ?? deepSupervisionWeights(shapes.length);
    if (shapes.length === 0) throw new MedNeXtError('LOSS_CONFIG', `${owner}: at least one output shape is needed`);
    if (weights.length !== shapes.length) {
      throw new MedNeXtError('LOSS_CONFIG', `${owner}: ${shapes.length} output shapes but ${weights.length} weights`);
    }
    if ('channelAxis' in (spec.options ?? {})) {
      throw new MedNeXtError(
        'LOSS_CONFIG',
        `${owner}: "channelAxis" is not an option here; pass layout: 'channels-first' or 'channels-last'`,
      );
    }
    const focal = spec.loss === 'dice-focal';
    const focalOptions: DiceFocalOptions = focal ? (spec.options ?? {}) : {};
    const gamma = focalOptions.gamma ?? 2;
    const alpha = focalOptions.alpha;
    const batchDice = focal ? true : ((spec.options as SoftDiceOptions | undefined)?.batchDice ?? false);
    const smooth = spec.options?.smooth ?? (focal ? 1e-5 : 0);
    if (!Number.isFinite(gamma) || gamma < 0)
      throw new MedNeXtError('LOSS_CONFIG', `${owner}: gamma must be a finite number >= 0, got ${gamma}`);
    if (alpha !== undefined && !(alpha >= 0 && alpha <= 1))
      throw new MedNeXtError('LOSS_CONFIG', `${owner}: alpha must be in [0, 1], got ${alpha}`);

    this.shapes = shapes.map((s) => [...s]);
    this.losses = device.createBuffer({
      label: 'region loss terms',
      size: (shapes.length + 1) * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    const firstActive = weights.findIndex((w) => w !== 0);
    const elementUniforms = {
      channelsLast: channelsLast ? 1 : 0,
      focal: focal ? 1 : 0,
      gamma,
      useAlpha: alpha === undefined ? 0 : 1,
      alphaPositive: alpha === undefined ? 0 : 2 * alpha - 1,
      alphaNegative: alpha === undefined ? 0 : 1 - alpha,
    };
    const storage = (label: string, floats: number) =>
      device.createBuffer({ label, size: Math.max(4, floats * 4), usage: GPUBufferUsage.STORAGE });

    this.scales = shapes.map((shape, s) => {
      if (shape.length < 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
        throw new MedNeXtError(
          'GPU_INPUT',
          `${owner}: output ${s} has shape [${shape}]; expected [N, ...spatial, C] or [N, C, ...spatial]`,
        );
      }
      const [samples, channels] = channelsLast ? [shape[0]!, shape[shape.length - 1]!] : [shape[0]!, shape[1]!];
      const elements = shape.reduce((a, b) => a * b, 1);
      const voxels = elements / (samples * channels);
      if (elements * 4 > device.limits.maxStorageBufferBindingSize) {
        throw new MedNeXtError(
          'GPU_LIMIT',
          `${owner}: output ${s} of shape [${shape}] is ${elements * 4} bytes, above this device's ` +
            `maxStorageBufferBindingSize (${device.limits.maxStorageBufferBindingSize}); use a smaller batch or patch`,
        );
      }
      const maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
      if (samples * channels > maxGroups)
        throw new MedNeXtError('GPU_LIMIT', `${owner}: output ${s} has more than ${maxGroups} (sample, channel) pairs`);
      // About 8 voxels per thread, more when the chunk count would pass the dispatch limit.
      const chunkVoxels = Math.max(REDUCE_WORKGROUP_SIZE * 8, Math.ceil(voxels / maxGroups));
      const chunks = Math.ceil(voxels / chunkVoxels);
      const inverseElements = 1 / elements;
      const weight = weights[s]!;
      return {
        elements,
        pairs: samples * channels,
        weight,
        chunks,
        partials: storage(`region loss partials ${s}`, samples * channels * chunks * 4),
        sums: storage(`region loss sums ${s}`, samples * channels * 4),
        coefficients: storage(`region loss coefficients ${s}`, samples * channels * 2),
        uniforms: {
          partials: createParamsBuffer(device, REGION_LOSS_PARTIALS_KERNEL, {
            ...elementUniforms,
            voxels,
            channels,
            chunks,
            chunkVoxels,
          }),
          reduce: createParamsBuffer(device, REGION_LOSS_REDUCE_KERNEL, { chunks }),
          combine: createParamsBuffer(device, REGION_LOSS_COMBINE_KERNEL, {
            samples,
            channels,
            batchDice: batchDice ? 1 : 0,
            diceSmooth: smooth,
            diceOffset: focal ? 1 : 0,
            inverseElements,
            weight,
            output: s,
            total: shapes.length,
            first: s === firstActive ? 1 : 0,
          }),
          gradient: createParamsBuffer(device, REGION_LOSS_GRADIENT_KERNEL, {
            ...elementUniforms,
            voxels,
            channels,
            inverseElements,
            weight,
          }),
        },
      };
    });
  }

  /**
   * Records the loss and its gradients into `encoder`: afterwards {@link losses} holds the terms
   * and the total, and every `grad` buffer the gradient of the total w.r.t. its logits.
   */
  record(encoder: GPUCommandEncoder, inputs: readonly WebGPURegionLossInputs[]): void {
    const owner = 'WebGPURegionLoss.record';
    if (inputs.length !== this.scales.length) {
      throw new MedNeXtError(
        'GPU_INPUT',
        `${owner}: ${inputs.length} outputs given, the loss was built for ${this.scales.length}`,
      );
    }
    inputs.forEach((input, s) => {
      for (const key of ['logits', 'target', 'grad'] as const) {
        const b = input[key];
        if (!b || b.size < this.scales[s]!.elements * 4 || (b.usage & GPUBufferUsage.STORAGE) === 0) {
          throw new MedNeXtError(
            'GPU_INPUT',
            `${owner}: output ${s} "${key}" must be a STORAGE buffer of at least ${this.scales[s]!.elements * 4} bytes ` +
              `(shape [${this.shapes[s]}])`,
          );
        }
      }
      if (input.grad === input.logits || input.grad === input.target) {
        throw new MedNeXtError(
          'GPU_INPUT',
          `${owner}: output ${s} "grad" must be a buffer of its own, not the logits or the targets`,
        );
      }
    });
    // Outputs with weight 0 are left out of the loss, as in deepSupervisionLoss; their gradient is 0.
    this.scales.forEach((scale, s) => {
      if (scale.weight === 0) encoder.clearBuffer(inputs[s]!.grad, 0, scale.elements * 4);
    });
    if (this.scales.every((scale) => scale.weight === 0)) encoder.clearBuffer(this.losses);
    const pass = encoder.beginComputePass({ label: 'region loss' });
    const device = this.device;
    this.scales.forEach((scale, s) => {
      if (scale.weight === 0) return;
      const { logits, target, grad } = inputs[s]!;
      const bytes = scale.elements * 4;
      const whole = (buffer: GPUBuffer) => ({ buffer, offset: 0, size: bytes });
      const pairs = scale.pairs;
      encodeKernel(device, pass, REGION_LOSS_PARTIALS_KERNEL, undefined, {
        bindings: { logits: whole(logits), targets: whole(target), partials: scale.partials },
        params: scale.uniforms.partials,
        groups: scale.chunks * pairs,
      });
      encodeKernel(device, pass, REGION_LOSS_REDUCE_KERNEL, undefined, {
        bindings: { partials: scale.partials, sums: scale.sums },
        params: scale.uniforms.reduce,
        groups: pairs,
      });
      encodeKernel(device, pass, REGION_LOSS_COMBINE_KERNEL, undefined, {
        bindings: { sums: scale.sums, coefficients: scale.coefficients, losses: this.losses },
        params: scale.uniforms.combine,
        groups: 1,
      });
      encodeKernel(device, pass, REGION_LOSS_GRADIENT_KERNEL, undefined, {
        bindings: {
          logits: whole(logits),
          targets: whole(target),
          coefficients: scale.coefficients,
          grad: whole(grad),
        },
        params: scale.uniforms.gradient,
        groups: elementwiseGroups(scale.elements),
      });
    });
    pass.end();
  }

  /** Bytes of the loss's own GPU buffers (terms, per-output partial sums, coefficients, uniforms). */
  get bytes(): number {
    let total = this.losses.size;
    for (const scale of this.scales) {
      total += scale.partials.size + scale.sums.size + scale.coefficients.size;
      for (const u of Object.values(scale.uniforms)) total += u.size;
    }
    return total;
  }

  /** Reads the total loss (the last entry of {@link losses}) back to the host. */
  async readTotal(): Promise<number> {
    const values = await readBuffer(this.device, this.losses, this.scales.length + 1);
    return values[this.scales.length]!;
  }

  /** Frees the loss's own buffers (not the inputs). */
  dispose(): void {
    this.losses.destroy();
    for (const scale of this.scales) {
      scale.partials.destroy();
      scale.sums.destroy();
      scale.coefficients.destroy();
      for (const u of Object.values(scale.uniforms)) u.destroy();
    }
  }
}
