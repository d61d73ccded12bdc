/**
 * Measures the bytes of live tensor buffers, for memory benchmarks and tests.
 *
 * Why not `tf.memory().numBytes`: tfjs adds a tensor's size for every tensor object, so views that
 * share one buffer (reshapes, the clones the gradient tape saves) are counted several times; a
 * training step's "held" bytes read from it overstate the real memory by the views. This meter
 * counts each data buffer once, when tfjs registers it and when it frees it.
 */
import * as tf from '@tensorflow/tfjs-core';

/** A running count of live buffer bytes (relative to when it started) and its peak. */
export interface BufferMeter {
  /** Bytes of buffers created since the start minus bytes freed since (may be negative). */
  current(): number;
  /** Highest {@link current} since the start or the last {@link resetPeak}. */
  peak(): number;
  /** Sets the peak to the current value. */
  resetPeak(): void;
  /** Detaches the meter from the engine. */
  stop(): void;
}

/** The engine's per-buffer bookkeeping (tfjs has no public hook for it). */
interface BufferTable {
  has(id: object): boolean;
  get(id: object): { bytes: number } | undefined;
  set(id: object, info: { bytes: number }): unknown;
  delete(id: object): boolean;
}

/**
 * Starts counting buffer bytes by watching the tfjs engine's buffer table (`engine.state.tensorInfo`),
 * which gets one entry per data buffer. One meter at a time; call {@link BufferMeter.stop} when done.
 */
export function meterBuffers(): BufferMeter {
  const state = (tf.engine() as unknown as { state: { tensorInfo: BufferTable } }).state;
  const table = state.tensorInfo;
  if (Object.prototype.hasOwnProperty.call(table, 'set')) {
    throw new Error('meterBuffers: a meter is already attached to the tfjs engine; stop it first');
  }
  let current = 0;
  let peak = 0;
  const set = table.set.bind(table);
  const del = table.delete.bind(table);
  Object.assign(table, {
    set(id: object, info: { bytes: number }) {
      if (!table.has(id)) {
        current += info.bytes;
        if (current > peak) peak = current;
      }
      return set(id, info);
    },
    delete(id: object) {
      const info = table.get(id);
      if (info) current -= info.bytes;
      return del(id);
    },
  });
  return {
    current: () => current,
    peak: () => peak,
    resetPeak: () => {
      peak = current;
    },
    stop: () => {
      delete (table as Partial<BufferTable>).set;
      delete (table as Partial<BufferTable>).delete;
    },
  };
}
