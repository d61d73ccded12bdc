import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { PatchPredictor } from '@mednext-ts/tensor3d';
import { describe, expect, it } from 'vitest';
import { ensembleProbabilities, segmentCase } from '../src/inference/pipeline.js';
import { mednextPredictor, type InferenceModel } from '../src/inference/predictor.js';
import { MedNeXt } from '../src/model/index.js';
import { resolvePostprocess } from '../src/postprocess/config.js';
import { smallSsaTask } from './helpers/ssa-task.js';

const task = smallSsaTask({ id: 'pipeline-test', modalities: ['a', 'b'] });

/** A "model" thresholding the (z-scored) first channel: WT where > 0.5, TC where > 1, ET where > 1.5. */
function thresholdModel(patch: [number, number, number]): InferenceModel {
  const v = patch[0] * patch[1] * patch[2];
  const predictor: PatchPredictor = (p, count) => {
    const out = new Float32Array(count * 3 * v);
    for (let b = 0; b < count; b++)
      for (let i = 0; i < v; i++) {
        const x = p[b * 2 * v + i]!;
        out[(b * 3 + 0) * v + i] = x > 0.5 ? 1 : 0;
        out[(b * 3 + 1) * v + i] = x > 1 ? 1 : 0;
        out[(b * 3 + 2) * v + i] = x > 1.5 ? 1 : 0;
      }
    return out;
  };
  return { name: `threshold-${patch.join('x')}`, predictor, patchSize: patch, inChannels: 2, outChannels: 3 };
}

describe('segmentCase', () => {
  it('preprocesses like training, predicts on the crop and pastes labels back into the original grid', async () => {
    // 12 x 10 x 9 grid; brain (non-zero) only inside x 2..9, y 3..8, z 1..7; a bright blob at x 5..6
    const [nx, ny, nz] = [12, 10, 9];
    const n = nx * ny * nz;
    const image = new Float32Array(2 * n);
    for (let x = 2; x < 10; x++)
      for (let y = 3; y < 9; y++)
        for (let z = 1; z < 8; z++) {
          const i = (x * ny + y) * nz + z;
          image[i] = x === 5 || x === 6 ? 10 : 1;
          image[n + i] = 1 + ((x + y + z) % 3);
        }
    const raw = {
      id: 'case',
      image: { data: image, shape: [2, nx, ny, nz] as [number, number, number, number] },
      modalities: ['a', 'b'],
    };
    const result = await segmentCase(raw, task, [thresholdModel([8, 8, 8])], resolvePostprocess(task), {
      overlap: 0.5,
    });
    expect(result.cropBox).toEqual({ start: [2, 3, 1], end: [10, 9, 8] });
    expect(result.shape).toEqual([nx, ny, nz]);
    expect(result.probabilities.shape).toEqual([3, nx, ny, nz]);
    // z-scored over the 336 brain voxels, 84 of value 10 and 252 of 1: mean 3.25, std ~3.897 -> blob 1.73 (ET), rest -0.58 (nothing)
    for (let x = 0; x < nx; x++)
      for (let y = 0; y < ny; y++)
        for (let z = 0; z < nz; z++) {
          const inBox = x >= 2 && x < 10 && y >= 3 && y < 9 && z >= 1 && z < 8;
          const expected = inBox && (x === 5 || x === 6) ? 3 : 0;
          expect(result.labels[(x * ny + y) * nz + z]).toBe(expected);
        }
  });
});

describe('ensembleProbabilities', () => {
  it('averages members of different patch sizes with weights and checks compatibility', async () => {
    const image = {
      data: Float32Array.from({ length: 2 * 6 * 6 * 6 }, (_, i) => (i < 216 ? (i % 7) / 3 : 0)),
      shape: [2, 6, 6, 6] as [number, number, number, number],
    };
    const a = thresholdModel([4, 4, 4]);
    const constant: InferenceModel = {
      ...thresholdModel([6, 2, 6]),
      name: 'constant',
      predictor: (_p, count) => new Float32Array(count * 3 * 72).fill(0.5),
    };
    const out = await ensembleProbabilities(image, [a, constant], { weights: [1, 3] });
    for (let i = 0; i < 216; i++) {
      const x = image.data[i]!;
      expect(out.data[i]).toBeCloseTo(((x > 0.5 ? 1 : 0) + 1.5) / 4, 6);
    }
    await expect(ensembleProbabilities(image, [a, { ...a, outChannels: 2 }])).rejects.toThrow(/predicts 2 regions/);
    await expect(ensembleProbabilities(image, [{ ...a, inChannels: 4 }])).rejects.toThrow(/takes 4 input channels/);
    await expect(ensembleProbabilities(image, [a], { weights: [1, 2] })).rejects.toThrow(/2 ensemble weights for 1/);
  });
});

describe('mednextPredictor', () => {
  it('runs a MedNeXt on batched windows and returns sigmoid probabilities, with TTA', async () => {
    await tf.setBackend('cpu');
    const model = MedNeXt.create(
      {
        in_channels: 2,
        n_channels: 2,
        n_classes: 3,
        exp_r: 2,
        kernel_size: 3,
        do_res: true,
        do_res_up_down: true,
        block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
      },
      { seed: 3 },
    );
    const predictor = mednextPredictor(model, [16, 16, 16]);
    const patches = Float32Array.from({ length: 2 * 2 * 4096 }, (_, i) => Math.sin(i));
    const before = tf.memory().numTensors;
    const probs = await predictor(patches, 2);
    expect(tf.memory().numTensors).toBe(before);
    expect(probs.length).toBe(2 * 3 * 4096);
    expect(probs.every((p) => p > 0 && p < 1)).toBe(true);
    // the batch is independent per sample: predicting the second window alone gives the same values
    const single = await predictor(patches.subarray(2 * 4096), 1);
    for (const i of [0, 100, 3 * 4096 - 1]) expect(single[i]).toBeCloseTo(probs[3 * 4096 + i]!, 5);
    const image = {
      data: patches.subarray(0, 2 * 20 * 16 * 16),
      shape: [2, 20, 16, 16] as [number, number, number, number],
    };
    const out = await ensembleProbabilities(
      image,
      [{ name: 'tiny', predictor, patchSize: [16, 16, 16], inChannels: 2, outChannels: 3 }],
      { tta: true, swBatch: 2 },
    );
    expect(out.shape).toEqual([3, 20, 16, 16]);
    expect(out.data.every((p) => p > 0 && p < 1)).toBe(true);
    model.dispose();
  });
});
