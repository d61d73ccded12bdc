/**
 * Loads preprocessed cases on demand and keeps the most recently used ones in memory, with their
 * foreground index (so a large dataset does not have to fit in RAM).
 */
import type { ForegroundIndex, TrainingCase } from '../../data/sampling.js';
import { foregroundIndex } from '../../data/sampling.js';
import { readCachedCase } from '../../data/node/cache.js';
import { MedNeXtError } from '../../errors.js';

/** A loaded case and its foreground voxel index. */
export interface StoredCase {
  case: TrainingCase;
  fg: ForegroundIndex;
}

/** LRU store of cached cases. */
export class CaseStore {
  private readonly cache = new Map<string, Promise<StoredCase>>();

  /**
   * @param dir the preprocessing cache folder
   * @param capacity cases kept in memory (least recently used ones are dropped)
   */
  constructor(
    readonly dir: string,
    readonly capacity = 64,
  ) {}

  /** The case with this id (loaded from disk if not held). Cases without labels are an error. */
  get(id: string): Promise<StoredCase> {
    const held = this.cache.get(id);
    if (held) {
      this.cache.delete(id);
      this.cache.set(id, held);
      return held;
    }
    const loading = readCachedCase(this.dir, id).then(({ meta, image, labels }) => {
      if (!labels)
        throw new MedNeXtError(
          'CACHE_INVALID',
          `case ${id} in ${this.dir} has no label map; it cannot be used for training or validation`,
        );
      const c: TrainingCase = { id, source: meta.source, image, labels };
      return { case: c, fg: foregroundIndex(labels) };
    });
    this.cache.set(id, loading);
    loading.catch(() => this.cache.delete(id));
    while (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value!);
    return loading;
  }
}
