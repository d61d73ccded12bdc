/**
 * The MedNeXt topology, written once, and the contract an engine implements to run it.
 *
 * The U-Net walk (stem → encoder stages and down blocks → bottleneck → up blocks added into their skip
 * connections → decoder stages → heads) lives only in {@link walkMedNeXt}. Each world the network runs in (tfjs
 * tensors with autograd, the WebAssembly kernel heap, an ONNX graph being built, GPU buffers) supplies a
 * {@link NetworkEngine}: the block-level operations on its own kind of value. A new engine is a new
 * implementation of this interface, never a copy of the walk.
 */
import type { Architecture, BlockSpec } from '../model/architecture.js';
import { MedNeXtError } from '../errors.js';

/**
 * The block-level operations of MedNeXt in one world. `T` is the engine's value (a tensor, a heap offset, a
 * graph value name, a GPU buffer); `O` is what a head returns (often `T`).
 *
 * Ownership: the walk never reads a value after passing it to {@link NetworkEngine.release}; engines free their
 * own temporaries. Apart from `upAdd`'s `skip`, operations do not consume their inputs.
 *
 * @example
 * ```ts
 * // An engine that only records the order of operations (see the walk's tests).
 * const calls: string[] = [];
 * const recorder: NetworkEngine<string> = {
 *   name: 'recorder',
 *   stem: (x) => (calls.push('stem'), `${x}>stem`),
 *   block: (x, b) => (calls.push(b.name), `${x}>${b.name}`),
 *   down: (x, b) => (calls.push(b.name), `${x}>${b.name}`),
 *   upAdd: (x, b, skip) => (calls.push(b.name), `(${x}>${b.name})+${skip}`),
 *   head: (x, level) => (calls.push(`out_${level}`), `${x}>out_${level}`),
 *   release: () => {},
 * };
 * walkMedNeXt(architecture, recorder, 'input', { deepSupervision: false });
 * ```
 */
export interface NetworkEngine<T, O = T> {
  /** Short name, for plans, logs and errors. */
  readonly name: string;
  /** `stem`: the 1x1x1 convolution from the input channels to `n_channels`. */
  stem(x: T): T;
  /** A plain MedNeXt block (same size and channels; inner residual when `b.residual`). */
  block(x: T, b: BlockSpec): T;
  /** A down block: stride 2, channels doubled, plus the strided `res_conv` when `b.residual`. */
  down(x: T, b: BlockSpec): T;
  /**
   * An up block added into its skip connection: `skip + pad(up(x))` (the transposed stride-2 block, its
   * `res_conv` when `b.residual`, the one-voxel front padding of the official code). Consumes `skip`: the
   * result may live in its memory.
   */
  upAdd(x: T, b: BlockSpec, skip: T): T;
  /** Output head `out_{level}` (0 = main): the 1x1x1 transposed convolution to `n_classes`. */
  head(x: T, level: number): O;
  /** Frees a value the walk no longer needs (a no-op where values are not owned, e.g. graph names). */
  release(x: T): void;
}

/** Options of {@link walkMedNeXt}. */
export interface WalkOptions {
  /** Also run the deep-supervision heads out_1..out_4 (the model must have them). */
  deepSupervision: boolean;
}

/**
 * Runs the MedNeXt topology of `arch` on `engine`, from the input `x` (owned by the caller, never released).
 *
 * @returns the heads' outputs in the official order: `[out_0]`, or with deep supervision
 *   `[out_0 (S), out_1 (S/2), out_2, out_3, out_4 (S/16)]`
 */
export function walkMedNeXt<T, O>(arch: Architecture, engine: NetworkEngine<T, O>, x: T, options: WalkOptions): O[] {
  if (options.deepSupervision && arch.heads.length < 5) {
    throw new MedNeXtError(
      'MODEL_INPUT',
      `walkMedNeXt (${engine.name}): deep supervision requested but the model was built without the DS heads`,
    );
  }
  let h = engine.stem(x);
  /** Moves the walk to `next`, freeing the value it leaves. */
  const advance = (next: T): void => {
    engine.release(h);
    h = next;
  };
  const skips: T[] = [];
  for (let level = 0; level < 4; level++) {
    for (const b of arch.encoders[level]) advance(engine.block(h, b));
    // The encoder output stays alive as the skip connection of the same level.
    skips.push(h);
    h = engine.down(h, arch.downs[level]);
  }
  for (const b of arch.bottleneck) advance(engine.block(h, b));
  // Deep-supervision outputs are produced deepest first and reversed at the end.
  const deep: O[] = [];
  if (options.deepSupervision) deep.push(engine.head(h, 4));
  for (let i = 0; i < 4; i++) {
    const level = 3 - i;
    advance(engine.upAdd(h, arch.ups[i], skips[level]));
    for (const b of arch.decoders[i]) advance(engine.block(h, b));
    if (options.deepSupervision && level > 0) deep.push(engine.head(h, level));
  }
  const main = engine.head(h, 0);
  engine.release(h);
  return [main, ...deep.reverse()];
}
