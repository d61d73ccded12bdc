/**
 * Validation Dice accumulated over patches (nnU-Net's "pseudo Dice": true/false positives and
 * false negatives summed over all validation patches, one Dice per region).
 */

/** Running tp/fp/fn per region. */
export class RegionDiceAccumulator {
  readonly tp: number[];
  readonly fp: number[];
  readonly fn: number[];

  constructor(readonly regions: readonly string[]) {
    this.tp = regions.map(() => 0);
    this.fp = regions.map(() => 0);
    this.fn = regions.map(() => 0);
  }

  /**
   * Adds one channels-last prediction: `probabilities` and binary `target`, both `[..., R]`
   * with R = number of regions; a voxel is predicted positive when its probability is > threshold.
   */
  add(probabilities: ArrayLike<number>, target: ArrayLike<number>, threshold = 0.5): void {
    const r = this.regions.length;
    if (probabilities.length !== target.length || probabilities.length % r !== 0) {
      throw new RangeError(
        `RegionDiceAccumulator.add: ${probabilities.length} predictions vs ${target.length} targets, ${r} regions`,
      );
    }
    for (let i = 0; i < probabilities.length; i++) {
      const c = i % r;
      const p = probabilities[i]! > threshold;
      const t = target[i]! > 0.5;
      if (p && t) this.tp[c]!++;
      else if (p) this.fp[c]!++;
      else if (t) this.fn[c]!++;
    }
  }

  /** Dice per region (null where neither prediction nor target has a voxel). */
  dice(): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    this.regions.forEach((name, c) => {
      const d = 2 * this.tp[c]! + this.fp[c]! + this.fn[c]!;
      out[name] = d === 0 ? null : (2 * this.tp[c]!) / d;
    });
    return out;
  }

  /** Mean of the defined per-region Dice values (null when none is defined). */
  meanDice(): number | null {
    const values = Object.values(this.dice()).filter((v): v is number => v !== null);
    return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
  }
}
