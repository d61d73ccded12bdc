/**
 * A small seeded pseudo-random generator for data sampling and augmentation.
 *
 * xoshiro128** (Blackman & Vigna) on 32-bit integers, seeded through SplitMix32 so that nearby
 * seeds give unrelated streams. The whole state is four 32-bit words, so a training run can store
 * it in a checkpoint and resume with exactly the same patches and augmentations.
 */
import { Tensor3dError } from '../errors.js';

/** Serialisable state of a {@link Random}: four unsigned 32-bit words. */
export type RandomState = [number, number, number, number];

function splitMix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/** Seeded generator: uniform floats, integers, normal deviates, shuffles. Not cryptographic. */
export class Random {
  // The four state words as plain numbers (faster than a typed array in V8's hot loops).
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** @param seed any integer; the same seed always gives the same stream. */
  constructor(seed: number) {
    if (!Number.isFinite(seed))
      throw new Tensor3dError('BAD_ARGUMENT', `Random: seed must be a finite number, got ${seed}`);
    const next = splitMix32(Math.trunc(seed));
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    // An all-zero state would only ever produce zeros.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A generator resumed from {@link Random.getState}. */
  static fromState(state: RandomState): Random {
    const r = new Random(0);
    r.setState(state);
    return r;
  }

  /** The current state (copy), for checkpoints. */
  getState(): RandomState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Restores a state from {@link Random.getState}. */
  setState(state: RandomState): void {
    if (state.length !== 4 || state.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
      throw new Tensor3dError(
        'BAD_ARGUMENT',
        `Random.setState: expected four unsigned 32-bit integers, got [${state.join(', ')}]`,
      );
    }
    [this.s0, this.s1, this.s2, this.s3] = state;
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform float in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Uniform integer in [low, high] (both inclusive). */
  int(low: number, high: number): number {
    if (!Number.isInteger(low) || !Number.isInteger(high) || high < low) {
      throw new Tensor3dError('BAD_ARGUMENT', `Random.int: need integers low <= high, got ${low}, ${high}`);
    }
    return low + Math.floor(this.next() * (high - low + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Standard normal deviate (Box-Muller; one draw pair per call, so the state stays four words). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * Adds `scale ·` N(0, 1) deviates to every element of `target`, in place. Uses both outputs of
   * each Box-Muller pair, so it draws half as many uniforms as calling {@link Random.normal} per
   * element (the values differ from that sequence, but are just as reproducible).
   */
  addNormal(target: Float32Array | Float64Array, scale: number): void {
    const n = target.length;
    // 32-bit uniforms are plenty for noise; (k + 0.5)/2^32 is never 0, so the log is finite.
    for (let i = 0; i < n; i += 2) {
      const u = (this.nextUint32() + 0.5) / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u)) * scale;
      const t = (2 * Math.PI * this.nextUint32()) / 4294967296;
      target[i] = target[i]! + r * Math.cos(t);
      if (i + 1 < n) target[i + 1] = target[i + 1]! + r * Math.sin(t);
    }
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }
}
