/**
 * Recovering a MedNeXt configuration from a state dict's tensor names and shapes alone.
 *
 * Checkpoints written by other code (PyTorch Lightning `.ckpt`, nnU-Net `.pth`) do not say which
 * MedNeXt they hold, and may carry a prefix (`model.` for a Lightning module whose network is
 * `self.model`, `module.` for DataParallel). Everything the forward pass needs is visible in the
 * shapes: width (`stem`), input channels, outputs (`out_0`), blocks per stage, expansion ratios
 * (`conv2` rows / stage width), encoder and decoder kernels (`conv1`), deep-supervision heads
 * (`out_1..4`), GRN (`grn_gamma`) and the up/down residual convolutions (`res_conv`). The one
 * thing weights cannot show is `do_res` (an identity shortcut has no parameters); it is taken as
 * true, which is what every published MedNeXt (and the official factory) uses.
 */
import type { MedNeXtConfig } from '../model/config.js';
import { MedNeXtError } from '../errors.js';

/** What {@link inferMedNeXtConfig} found. */
export interface InferredConfig {
  config: MedNeXtConfig;
  /** Prefix shared by the network's tensors, e.g. `model.` ('' when none). */
  prefix: string;
  /** Names of tensors outside the prefix (ignored; e.g. another sub-module's buffers). */
  outside: string[];
  /** The published preset the sizes match (`B`, ...), or null for a non-standard network. */
  preset: 'S' | 'B' | 'M' | 'L' | null;
  /**
   * Layout of the 1x1x1 output heads: `transposed` (official MedNeXt: ConvTranspose3d, IN x OUT)
   * or `conv` (Conv3d, OUT x IN, as in the seed paper's copy of MedNeXt). Both compute the same
   * function; `conv` weights must be transposed before loading ({@link networkWeights} does it).
   */
  headLayout: 'transposed' | 'conv';
}

type Shapes = ReadonlyMap<string, { shape: readonly number[] }>;

const STAGES = [
  'enc_block_0',
  'enc_block_1',
  'enc_block_2',
  'enc_block_3',
  'bottleneck',
  'dec_block_3',
  'dec_block_2',
  'dec_block_1',
  'dec_block_0',
] as const;
/** Width multiplier of each stage (enc 0..3, bottleneck, dec 3..0). */
const STAGE_SCALE = [1, 2, 4, 8, 16, 8, 4, 2, 1];

const PRESET_SIGNATURES: Record<'S' | 'B' | 'M' | 'L', { exp: string; blocks: string }> = {
  S: { exp: '2,2,2,2,2,2,2,2,2', blocks: '2,2,2,2,2,2,2,2,2' },
  B: { exp: '2,3,4,4,4,4,4,3,2', blocks: '2,2,2,2,2,2,2,2,2' },
  M: { exp: '2,3,4,4,4,4,4,3,2', blocks: '3,4,4,4,4,4,4,4,3' },
  L: { exp: '3,4,8,8,8,8,8,4,3', blocks: '3,4,8,8,8,8,8,4,3' },
};

/**
 * Finds the prefix in front of the network's names: the text before `stem.weight` (exactly one
 * such tensor must exist).
 * @throws when there is no `stem.weight` or several (two networks in one file)
 */
export function findNetworkPrefix(names: Iterable<string>, source = 'checkpoint'): string {
  const stems = [...names].filter((n) => n === 'stem.weight' || n.endsWith('.stem.weight'));
  if (stems.length === 0) {
    throw new MedNeXtError(
      'WEIGHTS_MISMATCH',
      `${source}: no 'stem.weight' tensor; this does not look like a MedNeXt state dict`,
      { file: source },
    );
  }
  if (stems.length > 1) {
    throw new MedNeXtError(
      'WEIGHTS_MISMATCH',
      `${source}: several MedNeXt networks in one state dict (${stems.join(', ')}); cannot choose`,
      { file: source },
    );
  }
  return stems[0]!.slice(0, -'stem.weight'.length);
}

/**
 * Infers the MedNeXt constructor arguments from tensor shapes.
 * @example
 * const { config, prefix } = inferMedNeXtConfig(ckpt.tensors, 'epoch=71.ckpt');
 * // prefix 'model.', config.block_counts [3,4,4,4,4,4,4,4,3], config.kernel_size 5, ...
 * @throws naming the file and the missing or inconsistent tensor
 */
export function inferMedNeXtConfig(tensors: Shapes, source = 'checkpoint'): InferredConfig {
  const prefix = findNetworkPrefix(tensors.keys(), source);
  const outside = [...tensors.keys()].filter((n) => !n.startsWith(prefix));
  const shape = (name: string): readonly number[] => {
    const t = tensors.get(prefix + name);
    if (!t)
      throw new MedNeXtError(
        'WEIGHTS_MISMATCH',
        `${source}: tensor '${prefix}${name}' is missing; cannot infer the MedNeXt architecture`,
        { file: source },
      );
    return t.shape;
  };
  const stem = shape('stem.weight');
  if (stem.length !== 5) {
    throw new MedNeXtError(
      'WEIGHTS_MISMATCH',
      `${source}: '${prefix}stem.weight' has shape [${stem.join(', ')}]; a 3-D MedNeXt stem is 5-D`,
      { file: source },
    );
  }
  const width = stem[0]!;
  const inChannels = stem[1]!;
  const nClasses = shape('out_0.conv_out.bias')[0]!;
  const headLayout = detectHeadLayout(
    shape('out_0.conv_out.weight'),
    tensors.get(`${prefix}out_1.conv_out.weight`)?.shape,
    width,
    nClasses,
    `${source}: '${prefix}out_0.conv_out.weight'`,
  );
  const blockCounts: number[] = [];
  const expR: number[] = [];
  for (const [s, stage] of STAGES.entries()) {
    let count = 0;
    while (tensors.has(`${prefix}${stage}.${count}.conv1.weight`)) count++;
    if (count === 0)
      throw new MedNeXtError('WEIGHTS_MISMATCH', `${source}: stage '${prefix}${stage}' has no blocks`, {
        file: source,
      });
    blockCounts.push(count);
    const channels = width * STAGE_SCALE[s]!;
    const expanded = shape(`${stage}.0.conv2.weight`)[0]!;
    if (expanded % channels !== 0) {
      throw new MedNeXtError(
        'WEIGHTS_MISMATCH',
        `${source}: '${prefix}${stage}.0.conv2.weight' has ${expanded} rows, not a multiple of the stage width ${channels}`,
        { file: source },
      );
    }
    expR.push(expanded / channels);
  }
  const encKernel = shape('enc_block_0.0.conv1.weight')[2]!;
  const decKernel = shape('dec_block_0.0.conv1.weight')[2]!;
  const deepSupervision = tensors.has(`${prefix}out_1.conv_out.weight`);
  const grn = tensors.has(`${prefix}enc_block_0.0.grn_gamma`);
  const doResUpDown = tensors.has(`${prefix}down_0.res_conv.weight`);
  const config: MedNeXtConfig = {
    in_channels: inChannels,
    n_channels: width,
    n_classes: nClasses,
    exp_r: expR,
    ...(encKernel === decKernel
      ? { kernel_size: encKernel }
      : { enc_kernel_size: encKernel, dec_kernel_size: decKernel }),
    deep_supervision: deepSupervision,
    do_res: true,
    do_res_up_down: doResUpDown,
    block_counts: blockCounts,
    grn,
  };
  let preset: InferredConfig['preset'] = null;
  for (const [name, sig] of Object.entries(PRESET_SIGNATURES)) {
    if (sig.exp === expR.join(',') && sig.blocks === blockCounts.join(',') && width === 32 && doResUpDown && !grn) {
      preset = name as InferredConfig['preset'];
    }
  }
  return { config, prefix, outside, preset, headLayout };
}

function detectHeadLayout(
  out0: readonly number[],
  out1: readonly number[] | undefined,
  width: number,
  nClasses: number,
  what: string,
): 'transposed' | 'conv' {
  const is = (s: readonly number[], a: number, b: number): boolean => s[0] === a && s[1] === b;
  // With width == n_classes the out_0 head is square; the first deep-supervision head (2 x width) tells them apart.
  if (width === nClasses && out1) return is(out1, nClasses, 2 * width) ? 'conv' : 'transposed';
  if (is(out0, width, nClasses)) return 'transposed';
  if (is(out0, nClasses, width)) return 'conv';
  throw new MedNeXtError(
    'WEIGHTS_MISMATCH',
    `${what} has shape [${out0.join(', ')}]; expected [${width}, ${nClasses}, 1, 1, 1] (or its transpose)`,
  );
}

/**
 * Converts Conv3d-layout output heads (`[n_classes, C, 1, 1, 1]`) into the official transposed
 * layout (`[C, n_classes, 1, 1, 1]`); the network's function is unchanged.
 */
export function transposeHeads<T extends { shape: readonly number[]; data: Float32Array }>(
  tensors: ReadonlyMap<string, T>,
): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of tensors) {
    if (!/^out_[0-4]\.conv_out\.weight$/.test(name)) {
      out.set(name, { shape: [...t.shape], data: t.data });
      continue;
    }
    const [rows, cols] = t.shape as [number, number];
    const data = new Float32Array(t.data.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[c * rows + r] = t.data[r * cols + c]!;
    out.set(name, { shape: [cols, rows, 1, 1, 1], data });
  }
  return out;
}

/** A short description, e.g. `MedNeXt-B k3 (width 32, 4 in, 3 out, deep supervision)`. */
export function describeInferredConfig(inferred: InferredConfig): string {
  const c = inferred.config;
  const k = c.kernel_size !== undefined ? `k${c.kernel_size}` : `k${c.enc_kernel_size}/${c.dec_kernel_size}`;
  const name = inferred.preset ? `MedNeXt-${inferred.preset}` : 'MedNeXt (non-standard)';
  const extras = [c.deep_supervision ? 'deep supervision' : '', c.grn ? 'GRN' : ''].filter(Boolean);
  return (
    `${name} ${k} (width ${c.n_channels}, ${c.in_channels} in, ${c.n_classes} out` +
    `${extras.length ? `, ${extras.join(', ')}` : ''}; blocks ${(c.block_counts ?? []).join(',')}; ` +
    `exp_r ${(c.exp_r as number[]).join(',')})`
  );
}

/** Removes `prefix` from every name that has it (names without it are dropped). */
export function stripPrefix<T>(tensors: ReadonlyMap<string, T>, prefix: string): Map<string, T> {
  const out = new Map<string, T>();
  for (const [name, t] of tensors) if (name.startsWith(prefix)) out.set(name.slice(prefix.length), t);
  return out;
}
