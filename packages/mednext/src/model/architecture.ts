/**
 * The module tree of MedNeXt v1 (names, channel widths, kernels, expansion ratios) and its
 * parameter list in PyTorch `state_dict()` order with PyTorch layouts. Pure bookkeeping: the
 * forward pass ({@link ./mednext.ts}) and the weights I/O both read it, so names and shapes are
 * defined exactly once.
 */
import type { ResolvedConfig } from './config.js';

/** GroupNorm epsilon of the official network (every engine normalises with it). */
export const NORM_EPS = 1e-5;
/** GRN epsilon (added to the channel mean of the L2 norms). */
export const GRN_EPS = 1e-6;

/** Kind of a block: a plain residual block, a strided down block, or a transposed up block. */
export type BlockKind = 'block' | 'down' | 'up';

/** One MedNeXt block (MedNeXtBlock, MedNeXtDownBlock or MedNeXtUpBlock). */
export interface BlockSpec {
  /** State-dict prefix, e.g. `enc_block_1.0` or `up_2`. */
  name: string;
  kind: BlockKind;
  cIn: number;
  cOut: number;
  expR: number;
  kernel: number;
  /** Plain blocks: inner identity residual. Down/up blocks: the res_conv path. */
  residual: boolean;
  grn: boolean;
}

/** How a parameter is initialised (PyTorch defaults). */
export type InitKind = { kind: 'uniform'; fanIn: number } | { kind: 'ones' } | { kind: 'zeros' };

/** One parameter: official name, PyTorch shape, initialiser. */
export interface ParamSpec {
  name: string;
  shape: number[];
  init: InitKind;
}

/** The network as a sequence of stages. */
export interface Architecture {
  config: ResolvedConfig;
  /** enc_block_0..3 (each a list of blocks). */
  encoders: BlockSpec[][];
  /** down_0..3. */
  downs: BlockSpec[];
  bottleneck: BlockSpec[];
  /** up blocks in execution order: up_3, up_2, up_1, up_0. */
  ups: BlockSpec[];
  /** decoder stages in execution order: dec_block_3 .. dec_block_0. */
  decoders: BlockSpec[][];
  /** Output heads out_0..out_4 (only out_0 without deep supervision) with their input channels. */
  heads: Array<{ name: string; cIn: number }>;
}

/** Builds the module tree exactly as the official constructor does. */
export function buildArchitecture(config: ResolvedConfig): Architecture {
  const { nChannels: c, expR, blockCounts, encKernel, decKernel, doRes, doResUpDown, grn } = config;
  const stage = (prefix: string, count: number, ch: number, e: number, k: number): BlockSpec[] =>
    Array.from({ length: count }, (_, i) => ({
      name: `${prefix}.${i}`,
      kind: 'block' as const,
      cIn: ch,
      cOut: ch,
      expR: e,
      kernel: k,
      residual: doRes,
      grn,
    }));
  const encoders: BlockSpec[][] = [];
  const downs: BlockSpec[] = [];
  for (let j = 0; j < 4; j++) {
    const ch = c * 2 ** j;
    encoders.push(stage(`enc_block_${j}`, blockCounts[j], ch, expR[j], encKernel));
    // Official quirk: down_0 is built without the grn flag.
    downs.push({
      name: `down_${j}`,
      kind: 'down',
      cIn: ch,
      cOut: 2 * ch,
      expR: expR[j + 1],
      kernel: encKernel,
      residual: doResUpDown,
      grn: j === 0 ? false : grn,
    });
  }
  const bottleneck = stage('bottleneck', blockCounts[4], 16 * c, expR[4], decKernel);
  const ups: BlockSpec[] = [];
  const decoders: BlockSpec[][] = [];
  for (let j = 3; j >= 0; j--) {
    const ch = c * 2 ** j;
    ups.push({
      name: `up_${j}`,
      kind: 'up',
      cIn: 2 * ch,
      cOut: ch,
      expR: expR[8 - j],
      kernel: decKernel,
      residual: doResUpDown,
      grn,
    });
    decoders.push(stage(`dec_block_${j}`, blockCounts[8 - j], ch, expR[8 - j], decKernel));
  }
  const heads = [{ name: 'out_0', cIn: c }];
  if (config.deepSupervision) for (let j = 1; j <= 4; j++) heads.push({ name: `out_${j}`, cIn: c * 2 ** j });
  return { config, encoders, downs, bottleneck, ups, decoders, heads };
}

function blockParams(b: BlockSpec): ParamSpec[] {
  const k3 = b.kernel ** 3;
  const e = b.expR * b.cIn;
  const u = (fanIn: number): InitKind => ({ kind: 'uniform', fanIn });
  const out: ParamSpec[] = [];
  if (b.grn) {
    out.push({ name: `${b.name}.grn_beta`, shape: [1, e, 1, 1, 1], init: { kind: 'zeros' } });
    out.push({ name: `${b.name}.grn_gamma`, shape: [1, e, 1, 1, 1], init: { kind: 'zeros' } });
  }
  // conv1 is depthwise (fan_in k^3) for every kind; for the transposed up conv1, PyTorch's fan_in is
  // (out channels per group = 1) x k^3 too.
  out.push({ name: `${b.name}.conv1.weight`, shape: [b.cIn, 1, b.kernel, b.kernel, b.kernel], init: u(k3) });
  out.push({ name: `${b.name}.conv1.bias`, shape: [b.cIn], init: u(k3) });
  out.push({ name: `${b.name}.norm.weight`, shape: [b.cIn], init: { kind: 'ones' } });
  out.push({ name: `${b.name}.norm.bias`, shape: [b.cIn], init: { kind: 'zeros' } });
  out.push({ name: `${b.name}.conv2.weight`, shape: [e, b.cIn, 1, 1, 1], init: u(b.cIn) });
  out.push({ name: `${b.name}.conv2.bias`, shape: [e], init: u(b.cIn) });
  out.push({ name: `${b.name}.conv3.weight`, shape: [b.cOut, e, 1, 1, 1], init: u(e) });
  out.push({ name: `${b.name}.conv3.bias`, shape: [b.cOut], init: u(e) });
  if (b.kind === 'down' && b.residual) {
    out.push({ name: `${b.name}.res_conv.weight`, shape: [b.cOut, b.cIn, 1, 1, 1], init: u(b.cIn) });
    out.push({ name: `${b.name}.res_conv.bias`, shape: [b.cOut], init: u(b.cIn) });
  }
  if (b.kind === 'up' && b.residual) {
    // Transposed conv: IN x OUT layout, PyTorch fan_in = weight.shape[1] = C_out.
    out.push({ name: `${b.name}.res_conv.weight`, shape: [b.cIn, b.cOut, 1, 1, 1], init: u(b.cOut) });
    out.push({ name: `${b.name}.res_conv.bias`, shape: [b.cOut], init: u(b.cOut) });
  }
  return out;
}

/** Every block of the network in state-dict (= execution) order. */
export function allBlocks(arch: Architecture): BlockSpec[] {
  const out: BlockSpec[] = [];
  for (let j = 0; j < 4; j++) out.push(...arch.encoders[j], arch.downs[j]);
  out.push(...arch.bottleneck);
  for (let j = 0; j < 4; j++) out.push(arch.ups[j], ...arch.decoders[j]);
  return out;
}

/** The full parameter list in PyTorch `state_dict()` order, including `dummy_tensor`. */
export function parameterSpecs(arch: Architecture): ParamSpec[] {
  const { inChannels, nChannels, nClasses } = arch.config;
  const specs: ParamSpec[] = [
    { name: 'dummy_tensor', shape: [1], init: { kind: 'ones' } },
    { name: 'stem.weight', shape: [nChannels, inChannels, 1, 1, 1], init: { kind: 'uniform', fanIn: inChannels } },
    { name: 'stem.bias', shape: [nChannels], init: { kind: 'uniform', fanIn: inChannels } },
  ];
  for (const b of allBlocks(arch)) specs.push(...blockParams(b));
  for (const h of arch.heads) {
    // Transposed 1x1x1 head: IN x OUT, fan_in = n_classes.
    specs.push({
      name: `${h.name}.conv_out.weight`,
      shape: [h.cIn, nClasses, 1, 1, 1],
      init: { kind: 'uniform', fanIn: nClasses },
    });
    specs.push({ name: `${h.name}.conv_out.bias`, shape: [nClasses], init: { kind: 'uniform', fanIn: nClasses } });
  }
  return specs;
}

/** Number of scalar parameters of a configuration (including `dummy_tensor`), without building it. */
export function countParameters(arch: Architecture): number {
  return parameterSpecs(arch).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}
