/**
 * UpKern (MedNeXt paper, §2.3): initialise a large-kernel network (k5, k7) from a trained k3
 * checkpoint by trilinearly resampling every depthwise kernel, copying everything else.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MedNeXt } from '../model/mednext.js';
import { formatShape, shapeSize, type StateDict } from './tensor-map.js';
import { stripModulePrefix } from './state-dict.js';
import { MedNeXtError } from '../errors.js';

/**
 * The 1-D linear interpolation matrix (rows: new taps, columns: old taps) of PyTorch's
 * `interpolate(mode='trilinear', align_corners=False)` along one axis: source coordinate
 * `s = (t + 0.5)·kOld/kNew − 0.5` clamped below at 0, blending taps ⌊s⌋ and min(⌊s⌋+1, kOld−1).
 */
export function linearResizeMatrix(kOld: number, kNew: number): number[][] {
  return Array.from({ length: kNew }, (_, t) => {
    const row = new Array<number>(kOld).fill(0);
    const s = Math.max(0, (t + 0.5) * (kOld / kNew) - 0.5);
    const i0 = Math.min(Math.floor(s), kOld - 1);
    const i1 = Math.min(i0 + 1, kOld - 1);
    const w = s - i0;
    row[i0] += 1 - w;
    row[i1] += w;
    return row;
  });
}

/**
 * Resamples a conv weight `A x B x k x k x k` (PyTorch layout) to `A x B x kNew x kNew x kNew`,
 * separably along the three kernel axes. No renormalisation of the kernel sum.
 */
export function resampleKernel(data: Float32Array, shape: readonly number[], kNew: number): Float32Array {
  const [a, b, kd, kh, kw] = shape;
  if (shape.length !== 5 || kd !== kh || kd !== kw) {
    throw new Error(`resampleKernel: expected a cubic 5-D kernel, got ${formatShape(shape)}`);
  }
  const k = kd;
  const m = linearResizeMatrix(k, kNew);
  const planes = a * b;
  // Work in float64, one axis at a time: [k,k,k] → [kNew,k,k] → [kNew,kNew,k] → [kNew,kNew,kNew].
  const out = new Float32Array(planes * kNew ** 3);
  for (let p = 0; p < planes; p++) {
    const src = data.subarray(p * k ** 3, (p + 1) * k ** 3);
    const s1 = new Float64Array(kNew * k * k);
    for (let i = 0; i < kNew; i++)
      for (let j = 0; j < k; j++)
        for (let l = 0; l < k; l++) {
          let v = 0;
          for (let t = 0; t < k; t++) v += m[i][t] * src[(t * k + j) * k + l];
          s1[(i * k + j) * k + l] = v;
        }
    const s2 = new Float64Array(kNew * kNew * k);
    for (let i = 0; i < kNew; i++)
      for (let j = 0; j < kNew; j++)
        for (let l = 0; l < k; l++) {
          let v = 0;
          for (let t = 0; t < k; t++) v += m[j][t] * s1[(i * k + t) * k + l];
          s2[(i * kNew + j) * k + l] = v;
        }
    const base = p * kNew ** 3;
    for (let i = 0; i < kNew; i++)
      for (let j = 0; j < kNew; j++)
        for (let l = 0; l < kNew; l++) {
          let v = 0;
          for (let t = 0; t < k; t++) v += m[l][t] * s2[(i * kNew + j) * k + t];
          out[base + (i * kNew + j) * kNew + l] = v;
        }
  }
  return out;
}

/** What {@link upkernLoad} did. */
export interface UpKernReport {
  /** Copied unchanged. */
  copied: string[];
  /** Depthwise kernels resampled to the model's kernel size. */
  resampled: string[];
  /** Model parameters absent from the source checkpoint (left at their initialisation). */
  missing: string[];
}

/**
 * Loads a k3 state dict into a larger-kernel model of otherwise identical configuration, following
 * the official `upkern_load_weights`: keys containing `bias`, `norm` or `dummy` and keys of equal
 * shape are copied; the remaining ones (every `conv1.weight`) are trilinearly resampled.
 * A `module.` prefix is stripped.
 * @throws when a bias/norm tensor has a different shape, or a weight cannot be resampled
 *   (the two networks differ in more than the kernel size)
 */
export function upkernLoad(model: MedNeXt, source: StateDict): UpKernReport {
  const sd = stripModulePrefix(source);
  const report: UpKernReport = { copied: [], resampled: [], missing: [] };
  const assignments: Array<[tf.Variable, Float32Array]> = [];
  for (const [name, variable] of model.params) {
    const t = sd.get(name);
    if (!t) {
      if (name !== 'dummy_tensor') report.missing.push(name);
      continue;
    }
    const target = [...variable.shape];
    const same = t.shape.length === target.length && t.shape.every((d, i) => d === target[i]);
    if (same) {
      assignments.push([variable, t.data]);
      report.copied.push(name);
      continue;
    }
    const resizable =
      !/bias|norm|dummy/.test(name) &&
      target.length === 5 &&
      t.shape.length === 5 &&
      t.shape[0] === target[0] &&
      t.shape[1] === target[1] &&
      target[2] === target[3] &&
      target[2] === target[4];
    if (!resizable) {
      throw new MedNeXtError(
        'WEIGHTS_MISMATCH',
        `UpKern: '${name}' has shape ${formatShape(t.shape)} in the checkpoint but ${formatShape(target)} in the model; ` +
          'only depthwise kernel sizes may differ',
      );
    }
    const data = resampleKernel(t.data, t.shape, target[2]);
    if (data.length !== shapeSize(target)) throw new Error(`UpKern: internal size error for '${name}'`);
    assignments.push([variable, data]);
    report.resampled.push(name);
  }
  for (const [variable, data] of assignments) {
    const t = tf.tensor(data, variable.shape, 'float32');
    variable.assign(t);
    t.dispose();
  }
  return report;
}
