/**
 * The GPU loss of a batch whose samples ran through the network one by one: per head level, each sample's
 * logits are copied into one batched channels-first buffer `[N, C, d, h, w]` (the layout of the batched targets),
 * the region loss records its value and gradient over the batch, and each sample's slice of the gradient becomes
 * that sample's head gradient for its backward pass. With one sample nothing is copied.
 */
import { copyBlock, type GpuRuntime, type GpuTensor } from '@mednext-ts/tensor3d/webgpu';
import type { WebGPURegionLoss } from '../../losses/webgpu/webgpu-region-loss.js';
import type { SampleRecord } from './sample-passes.js';

/** The head gradients of every sample, and the batch buffers to release once the backward is recorded. */
export interface BatchedLossRecord {
  /** Per sample: dLoss/d(head output) by level. */
  gradHeads: Map<number, GpuTensor>[];
  temporaries: GpuTensor[];
}

/**
 * Records the loss over the batch into the runtime's encoder (no readback: the total stays in `loss.losses`).
 * @param targets per level, the batched channels-first targets
 */
export function recordBatchedLoss(
  rt: GpuRuntime,
  loss: WebGPURegionLoss,
  records: readonly SampleRecord[],
  targets: readonly GpuTensor[],
): BatchedLossRecord {
  const n = records.length;
  const temporaries: GpuTensor[] = [];
  const batched = (level: number, what: string): GpuTensor => {
    const t = rt.tensor(n * records[0]!.heads[level]!.tensor.length, `${what} out_${level} (batch)`);
    temporaries.push(t);
    return t;
  };
  const levels = targets.length;
  const logits = Array.from({ length: levels }, (_, level) => {
    if (n === 1) return records[0]!.heads[level]!.tensor;
    const whole = batched(level, 'logits');
    records.forEach((r, s) => {
      const head = r.heads[level]!.tensor;
      copyBlock(rt, { src: head, dst: whole, rows: 1, cols: head.length, dstOffset: s * head.length });
    });
    return whole;
  });
  const grads = Array.from({ length: levels }, (_, level) => batched(level, 'd logits'));
  rt.encode((encoder) =>
    loss.record(
      encoder,
      logits.map((l, level) => ({ logits: l.buffer, target: targets[level]!.buffer, grad: grads[level]!.buffer })),
    ),
  );
  const gradHeads = records.map((r, s) => {
    const perLevel = new Map<number, GpuTensor>();
    for (let level = 0; level < levels; level++) {
      if (n === 1) {
        perLevel.set(level, grads[level]!);
        continue;
      }
      const length = r.heads[level]!.tensor.length;
      const slice = rt.tensor(length, `d out_${level} [${s}]`);
      copyBlock(rt, { src: grads[level]!, dst: slice, rows: 1, cols: length, srcOffset: s * length });
      temporaries.push(slice);
      perLevel.set(level, slice);
    }
    return perLevel;
  });
  return { gradHeads, temporaries };
}
