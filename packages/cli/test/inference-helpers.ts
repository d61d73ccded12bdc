/**
 * Fixtures for the inference command tests: a phantom written as a BraTS case folder and a tiny
 * random-weight MedNeXt checkpoint (the commands are tested for plumbing, geometry and file
 * handling here; segmentation quality is tested by the demo).
 */
import { writeFile } from 'node:fs/promises';
import {
  MedNeXt,
  configToMetadata,
  generatePhantom,
  getStateDict,
  serializeSafetensors,
  type MedNeXtConfig,
} from '@mednext-ts/mednext';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { writePhantomCaseFolder } from '../src/lib/inference/phantom-files.js';

/** A non-trivial affine (anisotropic, rotated axis order, offset) so geometry copying is really tested. */
export const AFFINE = [
  [-2, 0, 0, 90],
  [0, 2.5, 0, -126],
  [0, 0, 3, -72],
  [0, 0, 0, 1],
];

/** Writes phantom `seed` as `<dir>/<ID>/<ID>-{t1n,t1c,t2w,t2f,seg}.nii.gz`; returns the case folder and ID. */
export async function writePhantomCase(
  root: string,
  seed: number,
  shape: [number, number, number] = [40, 36, 24],
): Promise<{ dir: string; id: string }> {
  const p = generatePhantom({ seed, shape, spacing: [4.5, 4.5, 5] });
  const id = `BraTS-SSA-${String(seed).padStart(5, '0')}-000`;
  const dir = await writePhantomCaseFolder(root, { ...p, id }, true, AFFINE);
  return { dir, id };
}

/** Writes a tiny random MedNeXt (4 inputs, 3 regions) with its task and a 16^3 patch in the metadata. */
export async function writeTinyCheckpoint(file: string, seed: number, task = 'ssa'): Promise<void> {
  await tf.setBackend('cpu');
  const config: MedNeXtConfig = {
    in_channels: 4,
    n_channels: 2,
    n_classes: 3,
    exp_r: 2,
    kernel_size: 3,
    do_res: true,
    do_res_up_down: true,
    block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
  };
  const model = MedNeXt.create(config, { seed });
  const bytes = serializeSafetensors(getStateDict(model), {
    ...configToMetadata(config),
    task: JSON.stringify(task),
    patch_size: JSON.stringify([16, 16, 16]),
  });
  model.dispose();
  await writeFile(file, bytes);
}
