/**
 * The small MedNeXt the WebGPU gradient tests share: kernel 5, GRN, deep supervision, one block per stage, width 4,
 * two input channels and two classes, with GRN's and GroupNorm's affine moved off their initial values (GRN's gamma
 * and beta start at zero, GroupNorm's at 1 and 0) so that every term of their backward is exercised.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MedNeXt, type MedNeXtConfig } from '../../src/index.js';

/** The shared k5/GRN/DS test model, seeded (the same weights every call). */
export function k5GrnModel(): MedNeXt {
  const config: MedNeXtConfig = {
    in_channels: 2,
    n_channels: 4,
    n_classes: 2,
    exp_r: 2,
    kernel_size: 5,
    deep_supervision: true,
    do_res: true,
    do_res_up_down: true,
    block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
    grn: true,
  } as MedNeXtConfig;
  const model = MedNeXt.create(config, { seed: 11 });
  tf.tidy(() => {
    let k = 0;
    for (const [name, v] of model.params) {
      if (/grn_|norm\./.test(name)) v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.3, 'float32', 100 + k++)));
    }
  });
  return model;
}
