/**
 * MedNeXt v1 constructor arguments (official names), their validation, and the published presets.
 */
import { MedNeXtError } from '../errors.js';

/** Constructor arguments with the official (Python) names, as found in `config.json` files. */
export interface MedNeXtConfig {
  in_channels: number;
  n_channels: number;
  n_classes: number;
  /** Expansion ratio: one number for every stage, or 9 entries (enc 0..3, bottleneck, dec 3..0). */
  exp_r?: number | number[];
  /** Depthwise kernel for encoder and decoder; overrides `enc_kernel_size`/`dec_kernel_size`. */
  kernel_size?: number;
  enc_kernel_size?: number;
  dec_kernel_size?: number;
  deep_supervision?: boolean;
  do_res?: boolean;
  do_res_up_down?: boolean;
  /** Blocks per stage, 9 entries. Default `[2]*9`. */
  block_counts?: number[];
  grn?: boolean;
  /** Only 'group' (one group per channel) is implemented. */
  norm_type?: string;
  /** Forward values are identical for every style; accepted for compatibility. */
  checkpoint_style?: string | null;
  dim?: string;
}

/** A configuration with every field resolved. */
export interface ResolvedConfig {
  inChannels: number;
  nChannels: number;
  nClasses: number;
  expR: number[];
  encKernel: number;
  decKernel: number;
  deepSupervision: boolean;
  doRes: boolean;
  doResUpDown: boolean;
  blockCounts: number[];
  grn: boolean;
}

/** Published model sizes. */
export type PresetName = 'S' | 'B' | 'M' | 'L';

const PRESETS: Record<PresetName, { exp_r: number[]; block_counts: number[]; checkpoint_style: string | null }> = {
  S: { exp_r: [2, 2, 2, 2, 2, 2, 2, 2, 2], block_counts: [2, 2, 2, 2, 2, 2, 2, 2, 2], checkpoint_style: null },
  B: { exp_r: [2, 3, 4, 4, 4, 4, 4, 3, 2], block_counts: [2, 2, 2, 2, 2, 2, 2, 2, 2], checkpoint_style: null },
  M: {
    exp_r: [2, 3, 4, 4, 4, 4, 4, 3, 2],
    block_counts: [3, 4, 4, 4, 4, 4, 4, 4, 3],
    checkpoint_style: 'outside_block',
  },
  L: {
    exp_r: [3, 4, 8, 8, 8, 8, 8, 4, 3],
    block_counts: [3, 4, 8, 8, 8, 8, 8, 4, 3],
    checkpoint_style: 'outside_block',
  },
};

/** Options of {@link presetConfig}. */
export interface PresetOptions {
  kernelSize?: number;
  inChannels?: number;
  nClasses?: number;
  deepSupervision?: boolean;
}

/**
 * The official factory's configuration for MedNeXt-S/B/M/L (n_channels 32, do_res and
 * do_res_up_down on, grn off). Defaults: kernel 3, 4 input channels, 3 classes, deep supervision off.
 */
export function presetConfig(preset: PresetName, options: PresetOptions = {}): MedNeXtConfig {
  const p = PRESETS[preset];
  if (!p) throw new MedNeXtError('MODEL_CONFIG', `unknown MedNeXt preset '${preset}' (expected one of S, B, M, L)`);
  return {
    in_channels: options.inChannels ?? 4,
    n_channels: 32,
    n_classes: options.nClasses ?? 3,
    exp_r: [...p.exp_r],
    kernel_size: options.kernelSize ?? 3,
    deep_supervision: options.deepSupervision ?? false,
    do_res: true,
    do_res_up_down: true,
    block_counts: [...p.block_counts],
    checkpoint_style: p.checkpoint_style,
    grn: false,
  };
}

function positiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new MedNeXtError(
      'MODEL_CONFIG',
      `MedNeXt config: '${name}' must be a positive integer, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function kernel(value: unknown, name: string): number {
  const k = positiveInt(value, name);
  if (k % 2 !== 1)
    throw new MedNeXtError('MODEL_CONFIG', `MedNeXt config: '${name}' must be odd (3, 5 or 7), got ${k}`);
  return k;
}

function nineInts(value: unknown, name: string, fallback: number): number[] {
  if (value === undefined) return new Array<number>(9).fill(fallback);
  if (typeof value === 'number') return new Array<number>(9).fill(positiveInt(value, name));
  if (!Array.isArray(value) || value.length !== 9) {
    throw new MedNeXtError(
      'MODEL_CONFIG',
      `MedNeXt config: '${name}' must be a number or a list of 9 numbers, got ${JSON.stringify(value)}`,
    );
  }
  return value.map((v, i) => positiveInt(v, `${name}[${i}]`));
}

/**
 * Validates a configuration and fills in the official constructor defaults
 * (exp_r 4, kernel 7, block_counts [2]*9, everything boolean off).
 * @throws naming the offending field
 */
export function resolveConfig(config: MedNeXtConfig): ResolvedConfig {
  if (config.norm_type !== undefined && config.norm_type !== 'group') {
    throw new MedNeXtError(
      'MODEL_CONFIG',
      `MedNeXt config: norm_type '${config.norm_type}' is not supported (only 'group')`,
    );
  }
  if (config.dim !== undefined && config.dim !== '3d') {
    throw new MedNeXtError('MODEL_CONFIG', `MedNeXt config: dim '${config.dim}' is not supported (only '3d')`);
  }
  const k = config.kernel_size;
  return {
    inChannels: positiveInt(config.in_channels, 'in_channels'),
    nChannels: positiveInt(config.n_channels, 'n_channels'),
    nClasses: positiveInt(config.n_classes, 'n_classes'),
    expR: nineInts(config.exp_r, 'exp_r', 4),
    encKernel: kernel(k ?? config.enc_kernel_size ?? 7, k !== undefined ? 'kernel_size' : 'enc_kernel_size'),
    decKernel: kernel(k ?? config.dec_kernel_size ?? 7, k !== undefined ? 'kernel_size' : 'dec_kernel_size'),
    deepSupervision: config.deep_supervision ?? false,
    doRes: config.do_res ?? false,
    doResUpDown: config.do_res_up_down ?? false,
    blockCounts: nineInts(config.block_counts, 'block_counts', 2),
    grn: config.grn ?? false,
  };
}
