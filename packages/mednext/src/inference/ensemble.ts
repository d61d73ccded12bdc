/**
 * Ensembling at probability level: weighted average of probability maps on the same grid.
 */
import type { ChannelVolume } from '@mednext-ts/tensor3d';

/**
 * Streaming weighted average of probability maps, accumulated in place so that an ensemble of
 * any size holds one map in memory at a time (plus the running sum).
 *
 * Maps from models with different patch sizes can be mixed: each model's sliding-window output
 * is already on the image grid, so only the grids (and channel counts) have to agree.
 */
export class ProbabilityAverager {
  private sum: Float64Array | undefined;
  private shape: ChannelVolume['shape'] | undefined;
  private spacing: ChannelVolume['spacing'];
  private totalWeight = 0;
  private members = 0;

  /** Adds one member's map with a positive weight (default 1). */
  add(map: ChannelVolume, weight = 1): void {
    if (!(weight > 0) || !Number.isFinite(weight))
      throw new RangeError(`ensemble member ${this.members}: weight must be a positive number, got ${weight}`);
    if (!this.sum || !this.shape) {
      this.sum = new Float64Array(map.data.length);
      this.shape = [...map.shape];
      this.spacing = map.spacing;
    } else if (map.shape.some((n, i) => n !== this.shape![i])) {
      throw new RangeError(
        `ensemble member ${this.members}: shape [${map.shape.join(', ')}] differs from the first member's [${this.shape.join(', ')}]`,
      );
    }
    const sum = this.sum;
    const data = map.data;
    for (let i = 0; i < sum.length; i++) sum[i]! += weight * data[i]!;
    this.totalWeight += weight;
    this.members++;
  }

  /** Number of maps added so far. */
  get count(): number {
    return this.members;
  }

  /** The weighted mean `sum_i w_i p_i / sum_i w_i` as float32. */
  result(): ChannelVolume {
    if (!this.sum || !this.shape) throw new Error('ensemble: no probability maps were added');
    const out = new Float32Array(this.sum.length);
    const inv = 1 / this.totalWeight;
    for (let i = 0; i < out.length; i++) out[i] = this.sum[i]! * inv;
    return { data: out, shape: [...this.shape], ...(this.spacing ? { spacing: this.spacing } : {}) };
  }
}

/** Weighted average of probability maps (equal weights when `weights` is omitted). */
export function averageProbabilities(maps: readonly ChannelVolume[], weights?: readonly number[]): ChannelVolume {
  if (weights && weights.length !== maps.length)
    throw new RangeError(`ensemble: ${weights.length} weights for ${maps.length} probability maps`);
  const averager = new ProbabilityAverager();
  maps.forEach((m, i) => averager.add(m, weights?.[i] ?? 1));
  return averager.result();
}
