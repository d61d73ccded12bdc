/**
 * A per-module summary of a MedNeXt configuration: output shape, parameters and multiply-adds
 * for a given patch, counted analytically as the spec (§2.3) does: a conv costs
 * (output voxels) x (input channels per group) x k³ x (output channels); a transposed conv
 * (input voxels) x (output channels per group) x k³ x (input channels). Bias adds, norms, GELU and
 * additions are not counted (they are under 2 %).
 */
import { allBlocks, buildArchitecture, parameterSpecs, type BlockSpec } from './architecture.js';
import { resolveConfig, type MedNeXtConfig } from './config.js';
import { MedNeXtError } from '../errors.js';

/** Multiply-adds by kind of convolution. */
export interface MacBreakdown {
  /** Depthwise k³ convs of plain and down blocks. */
  depthwise: number;
  /** 1x1x1 expansion/compression convs (conv2, conv3) of every block. */
  pointwise: number;
  /** Transposed convs of the up blocks: depthwise conv1 and the stride-2 residual conv. */
  transposed: number;
  /** Stem, down-block residual 1x1x1 convs, output heads. */
  other: number;
}

/** One row of the summary. */
export interface SummaryRow {
  /** State-dict prefix, e.g. `enc_block_0.1`, `down_2`, `out_0`. */
  name: string;
  kind: 'stem' | 'block' | 'down' | 'up' | 'head';
  /** Output shape without batch, `[C, D, H, W]`. */
  outputShape: [number, number, number, number];
  params: number;
  macs: number;
}

/** Summary of a whole network for one patch (batch 1). */
export interface ModelSummary {
  rows: SummaryRow[];
  /** Every parameter, dummy_tensor included (as PyTorch counts). */
  totalParams: number;
  totalMacs: number;
  /** 2 x MACs. */
  totalFlops: number;
  breakdown: MacBreakdown;
}

type Dims = [number, number, number];
const vox = (d: Dims): number => d[0] * d[1] * d[2];

function blockMacs(b: BlockSpec, input: Dims, acc: MacBreakdown): { macs: number; out: Dims } {
  const k3 = b.kernel ** 3;
  const e = b.expR * b.cIn;
  let inner: Dims;
  let dw: number;
  if (b.kind === 'down') inner = input.map((n) => Math.ceil(n / 2)) as Dims;
  else if (b.kind === 'up') inner = input.map((n) => 2 * n - 1) as Dims;
  else inner = input;
  if (b.kind === 'up') {
    dw = vox(input) * k3 * b.cIn;
    acc.transposed += dw;
  } else {
    dw = vox(inner) * k3 * b.cIn;
    acc.depthwise += dw;
  }
  // The pointwise convs of an up block run on the unpadded (2n-1)³ volume.
  const pw = vox(inner) * (b.cIn * e + e * b.cOut);
  acc.pointwise += pw;
  let res = 0;
  if (b.residual && b.kind === 'down') {
    res = vox(inner) * b.cIn * b.cOut;
    acc.other += res;
  }
  if (b.residual && b.kind === 'up') {
    res = vox(input) * b.cIn * b.cOut;
    acc.transposed += res;
  }
  const out = b.kind === 'up' ? (input.map((n) => 2 * n) as Dims) : inner;
  return { macs: dw + pw + res, out };
}

/**
 * Summarises a configuration for a patch `[D, H, W]` (each a multiple of 16), without allocating
 * any tensor. Deep-supervision heads are listed (and counted) when the config has them.
 */
export function summarize(config: MedNeXtConfig, patch: Dims): ModelSummary {
  if (patch.some((n) => !Number.isInteger(n) || n < 16 || n % 16 !== 0)) {
    throw new MedNeXtError(
      'MODEL_INPUT',
      `summary: every patch dimension must be a positive multiple of 16, got ${patch.join('x')}`,
    );
  }
  const arch = buildArchitecture(resolveConfig(config));
  const specs = parameterSpecs(arch);
  const paramsOf = (prefix: string): number =>
    specs.filter((s) => s.name.startsWith(`${prefix}.`)).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const { inChannels, nChannels, nClasses } = arch.config;
  const acc: MacBreakdown = { depthwise: 0, pointwise: 0, transposed: 0, other: 0 };
  const rows: SummaryRow[] = [];
  const stemMacs = vox(patch) * inChannels * nChannels;
  acc.other += stemMacs;
  rows.push({
    name: 'stem',
    kind: 'stem',
    outputShape: [nChannels, ...patch],
    params: paramsOf('stem'),
    macs: stemMacs,
  });
  let dims: Dims = patch;
  const levelDims = new Map<number, Dims>();
  for (const b of allBlocks(arch)) {
    const { macs, out } = blockMacs(b, dims, acc);
    dims = out;
    levelDims.set(b.cOut, dims);
    rows.push({ name: b.name, kind: b.kind, outputShape: [b.cOut, ...dims], params: paramsOf(b.name), macs });
  }
  for (const h of arch.heads) {
    const d = levelDims.get(h.cIn) as Dims;
    const macs = vox(d) * h.cIn * nClasses;
    acc.other += macs;
    rows.push({ name: h.name, kind: 'head', outputShape: [nClasses, ...d], params: paramsOf(h.name), macs });
  }
  const totalMacs = acc.depthwise + acc.pointwise + acc.transposed + acc.other;
  return {
    rows,
    totalParams: specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0),
    totalMacs,
    totalFlops: 2 * totalMacs,
    breakdown: acc,
  };
}
