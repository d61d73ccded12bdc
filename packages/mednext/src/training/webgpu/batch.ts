/**
 * Host-side preparation of a training batch for the GPU trainer: the channels-last patches the sample pool gives
 * become one channels-first input per sample (the network runs sample by sample) and, per deep-supervision level,
 * one batched channels-first target `[N, R, d, h, w]` (the loss sees the whole batch). The target pyramid is
 * nnU-Net's nearest-neighbour downsampling with the same source indices as `targetPyramid`.
 */
import { MedNeXtError } from '../../errors.js';
import { nearestIndices } from '../../losses/deep-supervision.js';

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

/** `[N, D, H, W, C]` → one `[C, D, H, W]` array per sample. */
export function samplesChannelsFirst(
  data: Float32Array,
  batch: number,
  spatial: readonly [number, number, number],
  channels: number,
): Float32Array[] {
  const vox = spatial[0] * spatial[1] * spatial[2];
  return Array.from({ length: batch }, (_, n) => {
    const out = new Float32Array(channels * vox);
    const base = n * vox * channels;
    for (let v = 0; v < vox; v++) {
      for (let c = 0; c < channels; c++) out[c * vox + v] = data[base + v * channels + c];
    }
    return out;
  });
}

/** Spatial size of deep-supervision level `level` (factor 2^level, rounded as nnU-Net rounds). */
export function levelSize(spatial: readonly [number, number, number], level: number): [number, number, number] {
  const f = 2 ** level;
  return [Math.round(spatial[0] / f), Math.round(spatial[1] / f), Math.round(spatial[2] / f)];
}

/**
 * The target pyramid of a channels-last batch `[N, D, H, W, R]`, batched channels-first: level `l` is
 * `[N, R, ...levelSize(l)]`, each voxel the nearest source voxel (`nearestIndices`, as `downsampleTarget`).
 */
export function targetPyramidChannelsFirst(
  y: Float32Array,
  batch: number,
  spatial: readonly [number, number, number],
  regions: number,
  levels: number,
): Float32Array[] {
  const [D, H, W] = spatial;
  return Array.from({ length: levels }, (_, level) => {
    const [d, h, w] = levelSize(spatial, level);
    const iz = nearestIndices(D, d);
    const iy = nearestIndices(H, h);
    const ix = nearestIndices(W, w);
    const vox = d * h * w;
    const out = new Float32Array(batch * regions * vox);
    for (let n = 0; n < batch; n++) {
      for (let z = 0; z < d; z++) {
        for (let yy = 0; yy < h; yy++) {
          for (let x = 0; x < w; x++) {
            const src = (((n * D + iz[z]!) * H + iy[yy]!) * W + ix[x]!) * regions;
            const v = (z * h + yy) * w + x;
            for (let r = 0; r < regions; r++) out[(n * regions + r) * vox + v] = y[src + r]!;
          }
        }
      }
    }
    return out;
  });
}
