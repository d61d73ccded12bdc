/**
 * Value statistics with an exactly rounded sum (Shewchuk's algorithm, as Python's math.fsum), so sums match
 * the fixtures' `sum_fsum` bit for bit instead of depending on summation order.
 */

/** Summary statistics of an image's values. min/max/sum/mean are over finite values only. */
export interface ValueStats {
  count: number;
  finite: number;
  nan: number;
  infinite: number;
  nonZero: number;
  min: number;
  max: number;
  /** Exactly rounded sum of the finite values. */
  sum: number;
  mean: number;
}

/** Exactly rounded floating-point sum accumulator. */
export class ExactSum {
  private partials: number[] = [];

  add(x: number): void {
    const p = this.partials;
    let i = 0;
    for (let j = 0; j < p.length; j++) {
      let y = p[j]!;
      if (Math.abs(x) < Math.abs(y)) {
        const t = x;
        x = y;
        y = t;
      }
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) p[i++] = lo;
      x = hi;
    }
    p.length = i;
    p.push(x);
  }

  /** The correctly rounded value of the sum so far. */
  value(): number {
    const p = this.partials;
    let n = p.length;
    if (n === 0) return 0;
    let hi = p[--n]!;
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n]!;
      hi = x + y;
      const yr = hi - x;
      lo = y - yr;
      if (lo !== 0) break;
    }
    // Round-half-even correction, as in CPython's fsum.
    if (n > 0 && ((lo < 0 && p[n - 1]! < 0) || (lo > 0 && p[n - 1]! > 0))) {
      const y = lo * 2;
      const x = hi + y;
      const yr = x - hi;
      if (y === yr) hi = x;
    }
    return hi;
  }
}

/**
 * Statistics of `values`. When every value is an integer and the running sum stays below 2^53 a plain sum
 * is already exact, which keeps BraTS-sized int16 volumes fast; otherwise the exact accumulator is used.
 */
export function computeStats(values: ArrayLike<number>): ValueStats {
  let min = Infinity;
  let max = -Infinity;
  let nan = 0;
  let infinite = 0;
  let nonZero = 0;
  let plain = 0;
  let absTotal = 0;
  let exactPlain = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== v) {
      nan++;
      continue;
    }
    if (v === Infinity || v === -Infinity) {
      infinite++;
      nonZero++;
      continue;
    }
    if (v !== 0) nonZero++;
    if (v < min) min = v;
    if (v > max) max = v;
    plain += v;
    absTotal += Math.abs(v);
    if (exactPlain && !Number.isInteger(v)) exactPlain = false;
  }
  const finite = values.length - nan - infinite;
  let sum = plain;
  // Integer partial sums are exact while the sum of magnitudes stays below 2^53.
  if (!exactPlain || absTotal >= 2 ** 53) {
    const acc = new ExactSum();
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (Number.isFinite(v)) acc.add(v);
    }
    sum = acc.value();
  }
  return {
    count: values.length,
    finite,
    nan,
    infinite,
    nonZero,
    min: finite > 0 ? min : NaN,
    max: finite > 0 ? max : NaN,
    sum,
    mean: finite > 0 ? sum / finite : NaN,
  };
}

/**
 * Scaled values as float64 little-endian bytes, in on-disk order, with every NaN written as the canonical
 * 0x7FF8000000000000: the byte string the fixtures' `sha256_float64_le` hashes.
 */
export function float64LittleEndianBytes(values: Float64Array): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== v) {
      view.setUint32(i * 8, 0, true);
      view.setUint32(i * 8 + 4, 0x7ff80000, true);
    } else {
      view.setFloat64(i * 8, v, true);
    }
  }
  return out;
}
