/**
 * Preparation of a training batch for the GPU trainer, on the GPU: the channels-last patches the sample pool
 * gives are uploaded as they come, and small kernels record the layout change into one channels-first input per
 * sample (the network runs sample by sample) and, per deep-supervision level, one batched channels-first target
 * `[N, R, d, h, w]` (the loss sees the whole batch). The target pyramid is nnU-Net's nearest-neighbour
 * downsampling with the source indices of `targetPyramid` (`nearestIndices`), so the GPU targets equal the CPU
 * step's exactly. The host does no per-voxel work between steps.
 */
import { channelsLastToFirst, type GpuRuntime, type GpuTensor } from '@mednext-ts/tensor3d/webgpu';
import { MedNeXtError } from '../../errors.js';
import { nearestIndices } from '../../losses/deep-supervision.js';
import { allocateValue, channelRanges, releaseValue, type GpuValue } from '../../network/engines/webgpu/values.js';

/** The sizes of one batch. */
export interface BatchShape {
  batch: number;
  spatial: readonly [number, number, number];
  /** Input channels (modalities). */
  modalities: number;
  /** Target channels (regions). */
  regions: number;
}

/**
 * Checks the lengths of a channels-last batch.
 * @throws MedNeXtError `GPU_INPUT` naming the expected shape and count
 */
export function checkBatch(batch: { x: Float32Array; y: Float32Array }, s: BatchShape): void {
  const vox = s.spatial[0] * s.spatial[1] * s.spatial[2];
  const expect = (what: 'x' | 'y', channels: number, meaning: string): void => {
    const values = s.batch * vox * channels;
    const got = batch[what]?.length;
    if (got !== values) {
      throw new MedNeXtError(
        'GPU_INPUT',
        `WebGPU trainer step: batch.${what} has ${got} values, expected [batch, D, H, W, ${meaning}] = ` +
          `${s.batch}x${s.spatial.join('x')}x${channels} = ${values} (channels-last)`,
      );
    }
  };
  expect('x', s.modalities, 'modalities');
  expect('y', s.regions, 'regions');
}

/** Spatial size of deep-supervision level `level` (factor 2^level, rounded as nnU-Net rounds). */
export function levelSize(spatial: readonly [number, number, number], level: number): [number, number, number] {
  const f = 2 ** level;
  return [Math.round(spatial[0] / f), Math.round(spatial[1] / f), Math.round(spatial[2] / f)];
}

/** A batch on the GPU, channels-first (the caller releases both with {@link releaseGpuBatch}). */
export interface GpuBatch {
  /** One `[modalities, D, H, W]` value per sample. */
  inputs: GpuValue[];
  /** Per level, the batched targets `[N, regions, ...levelSize(level)]`; empty when not asked for. */
  targets: GpuTensor[];
}

/**
 * Uploads channels-last batches of one shape and records their channels-first form. Holds the nearest-index
 * tables of the target pyramid (fixed by the patch size), uploaded once.
 */
export class GpuBatchLayout {
  private readonly tables: GpuTensor[];

  /** @param levels supervised levels (1, or 5 with deep supervision) */
  constructor(
    private readonly rt: GpuRuntime,
    private readonly shape: BatchShape,
    readonly levels: number,
  ) {
    const [D, H, W] = shape.spatial;
    this.tables = Array.from({ length: levels - 1 }, (_, i) => {
      const [d, h, w] = levelSize(shape.spatial, i + 1);
      const table = Float32Array.from([...nearestIndices(D, d), ...nearestIndices(H, h), ...nearestIndices(W, w)]);
      return rt.upload(table, `target pyramid indices, level ${i + 1}`);
    });
  }

  /**
   * Uploads `batch` and records its layout change into the runtime's encoder. Call it before recording anything
   * else of the step: the uploads then reuse pooled buffers (an upload while commands are recorded cannot).
   * @param withTargets whether to build the target pyramid (a GPU loss); a host loss reads `batch.y` itself
   */
  record(batch: { x: Float32Array; y: Float32Array }, withTargets: boolean): GpuBatch {
    const { rt, shape } = this;
    const { modalities, regions, spatial } = shape;
    const vox = spatial[0] * spatial[1] * spatial[2];
    const sampleValues = vox * modalities;
    // Every sample's channels-last block is contiguous: uploaded without a host copy, one binding each (the
    // trainer's binding check covers one input sample).
    const rawInputs = Array.from({ length: shape.batch }, (_, n) =>
      rt.upload(batch.x.subarray(n * sampleValues, (n + 1) * sampleValues), `input ${n} (channels-last)`),
    );
    const rawTargets = withTargets ? rt.upload(batch.y, 'targets (channels-last)') : undefined;
    const inputs = rawInputs.map((raw, n) => {
      const value = allocateValue(rt, modalities, [spatial[0], spatial[1], spatial[2]], `input ${n}`);
      channelRanges(modalities, value.partChannels).forEach(({ first, count }, part) =>
        channelsLastToFirst(rt, {
          input: raw,
          output: value.parts[part]!,
          batch: 1,
          inSize: spatial,
          channels: modalities,
          firstChannel: first,
          outChannels: count,
        }),
      );
      // Released while recording: a later kernel that gets the buffer writes it after this copy read it.
      rt.release(raw);
      return value;
    });
    const targets: GpuTensor[] = [];
    if (rawTargets) {
      for (let level = 0; level < this.levels; level++) {
        const outSize = levelSize(spatial, level);
        const out = rt.tensor(shape.batch * regions * outSize[0] * outSize[1] * outSize[2], `targets out_${level}`);
        channelsLastToFirst(rt, {
          input: rawTargets,
          output: out,
          batch: shape.batch,
          inSize: spatial,
          channels: regions,
          indices: level > 0 ? { table: this.tables[level - 1]!, outSize } : undefined,
        });
        targets.push(out);
      }
      rt.release(rawTargets);
    }
    return { inputs, targets };
  }

  /** Frees the index tables. */
  dispose(): void {
    for (const t of this.tables) this.rt.destroy(t);
    this.tables.length = 0;
  }
}

/** Gives a batch's buffers back to the runtime's pool. */
export function releaseGpuBatch(rt: GpuRuntime, b: GpuBatch): void {
  for (const v of b.inputs) releaseValue(rt, v);
  for (const t of b.targets) rt.release(t);
  b.inputs = [];
  b.targets = [];
}
