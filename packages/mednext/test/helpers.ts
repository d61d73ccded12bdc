/** Shared helpers of the mednext tests: fixture paths, .npy loading, tolerance checks. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import { parseNpy, parseSafetensors, type SafetensorsFile } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Fixtures copied into this package. */
export const FIXTURES = path.join(here, 'fixtures');

export function readNpyTensor(file: string): tf.Tensor {
  const a = parseNpy(fs.readFileSync(file), file);
  return tf.tensor(a.data, a.shape, 'float32');
}

export function readSafetensors(file: string): SafetensorsFile {
  return parseSafetensors(fs.readFileSync(file), file);
}

/** Largest ratio |a−b| / (atol + rtol·|b|) over all elements (≤ 1 means within tolerance), and max |a−b|. */
export function closeness(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
): { ratio: number; maxAbs: number } {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let ratio = 0;
  let maxAbs = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= maxAbs)) maxAbs = d; // also catches NaN
    const r = d / (atol + rtol * Math.abs(expected[i]));
    if (!(r <= ratio)) ratio = r;
  }
  return { ratio, maxAbs };
}

export async function useBackend(name: string): Promise<void> {
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
  await tf.setBackend(name);
  await tf.ready();
}

/**
 * Asserts the same shape and |actual − expected| ≤ atol + rtol·|expected| everywhere; the default is the mednext
 * fixtures' tolerance (README: 1e-4 + 1e-4·|b|).
 */
export function expectClose(actual: tf.Tensor, expected: tf.Tensor, label: string, atol = 1e-4, rtol = 1e-4): void {
  expect(actual.shape, label).toEqual(expected.shape);
  const { ratio, maxAbs } = closeness(actual.dataSync(), expected.dataSync(), atol, rtol);
  expect(ratio, `${label}: max abs diff ${maxAbs}`).toBeLessThanOrEqual(1);
}
