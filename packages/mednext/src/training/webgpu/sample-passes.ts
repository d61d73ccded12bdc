/**
 * The network's passes of one training batch, sample by sample. MedNeXt's GroupNorm has one group per channel
 * and GRN normalises per sample, so the samples of a batch never meet inside the network: each runs its own
 * recorded forward, and after the (batch) loss its own backward; the parameter gradients are summed over the
 * samples on the GPU. Everything is recorded into the runtime's one command encoder.
 */
import { add, type GpuRuntime, type GpuTensor } from '@mednext-ts/tensor3d/webgpu';
import type { Architecture } from '../../model/architecture.js';
import { walkMedNeXt } from '../../network/engine.js';
import {
  parameterGradients,
  recordBackward,
  RecordingEngine,
  type ActivationStorage,
} from '../../network/engines/webgpu/backward.js';
import { releaseValue, type GpuValue } from '../../network/engines/webgpu/values.js';
import type { GpuWeights } from '../../network/engines/webgpu/weights.js';

/** One sample's recorded forward. */
export interface SampleRecord {
  recorder: RecordingEngine;
  /** The heads' logits, `[out_0, ..., out_L]`, channels-first (the caller releases them). */
  heads: GpuValue[];
}

/**
 * Records one forward per input, keeping what each backward needs (in `activationStorage`).
 * @returns the records, in input order; on an error the records made so far are released and the error rethrown
 */
export function recordForwards(
  rt: GpuRuntime,
  weights: GpuWeights,
  arch: Architecture,
  inputs: readonly GpuValue[],
  deepSupervision: boolean,
  activationStorage: ActivationStorage = 'f32',
): SampleRecord[] {
  const records: SampleRecord[] = [];
  try {
    for (const input of inputs) {
      const record: SampleRecord = {
        recorder: new RecordingEngine(rt, weights, arch, { activationStorage }),
        heads: [],
      };
      records.push(record);
      try {
        record.heads = walkMedNeXt(arch, record.recorder, input, { deepSupervision });
      } catch (e) {
        // A walk refused midway has already made the heads before the refusal.
        record.heads = record.recorder.steps.filter((s) => s.op === 'head').map((s) => s.out);
        throw e;
      }
    }
    return records;
  } catch (e) {
    releaseRecords(rt, records);
    throw e;
  }
}

/** Frees what the records hold (their recorded values and heads). */
export function releaseRecords(rt: GpuRuntime, records: readonly SampleRecord[]): void {
  for (const r of records) {
    r.recorder.dispose();
    for (const h of r.heads) releaseValue(rt, h);
    r.heads = [];
  }
}

/**
 * Records each sample's backward from its heads' loss gradients and sums the parameter gradients over the
 * samples. The records are released as their backward is recorded.
 * @param gradHeads per sample: dLoss/d(head output) by head level, channels-first
 * @returns one gradient tensor per parameter the loss reaches, in the layout of its GPU weight (the caller
 *   releases them)
 */
export function recordBackwards(
  rt: GpuRuntime,
  weights: GpuWeights,
  arch: Architecture,
  records: readonly SampleRecord[],
  gradHeads: ReadonlyArray<ReadonlyMap<number, GpuTensor>>,
): Map<string, GpuTensor> {
  let sum: Map<string, GpuTensor> | undefined;
  try {
    records.forEach((r, n) => {
      // The recorder frees each value as the backward passes it and unpacks f16-stored ones one step at a time.
      const outputs = recordBackward(rt, weights, arch, r.recorder.steps, gradHeads[n]!, r.recorder);
      releaseRecords(rt, [r]);
      const grads = parameterGradients(rt, outputs);
      if (!sum) {
        sum = grads;
        return;
      }
      for (const [name, g] of grads) {
        const previous = sum.get(name);
        if (!previous) {
          sum.set(name, g);
          continue;
        }
        // Out of place: a dispatch cannot read and write one buffer through two bindings.
        const total = rt.tensor(g.length, `d ${name}`);
        add(rt, { a: previous, b: g, output: total });
        rt.release(previous);
        rt.release(g);
        sum.set(name, total);
      }
    });
  } catch (e) {
    releaseRecords(rt, records);
    for (const g of sum?.values() ?? []) rt.release(g);
    throw e;
  }
  return sum ?? new Map();
}
