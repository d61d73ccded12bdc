/**
 * Lossless transport of float64 scalars through tfjs tensors. tfjs has no float64 dtype, and a
 * float32 tensor would round `weight_sum`/`lr_max`, so a restored optimizer would not continue
 * bit-for-bit. We store each double's 8 bytes as two int32 words (little-endian, fixed regardless
 * of the platform's byte order so checkpoints are portable).
 */

/** Packs doubles into int32 words, two per value (low word first). */
export function float64ToInt32Words(values: readonly number[]): Int32Array {
  const view = new DataView(new ArrayBuffer(values.length * 8));
  values.forEach((v, i) => view.setFloat64(i * 8, v, true));
  const words = new Int32Array(values.length * 2);
  for (let i = 0; i < words.length; i++) words[i] = view.getInt32(i * 4, true);
  return words;
}

/** Inverse of {@link float64ToInt32Words}. Throws if the word count is odd. */
export function int32WordsToFloat64(words: ArrayLike<number>): number[] {
  if (words.length % 2 !== 0) {
    throw new Error(`float64 codec: expected an even number of int32 words, got ${words.length}`);
  }
  const view = new DataView(new ArrayBuffer(words.length * 4));
  for (let i = 0; i < words.length; i++) view.setInt32(i * 4, words[i], true);
  const out: number[] = [];
  for (let i = 0; i < words.length / 2; i++) out.push(view.getFloat64(i * 8, true));
  return out;
}
