/**
 * Evaluation protocols: what {@link evaluateCase} scores and how.
 *
 * A protocol names the label values of the maps, the evaluated regions (each a union of labels),
 * and the lesion-matching parameters: the dilation that groups nearby components into one
 * lesion and matches them, the minimum sizes of counted GT lesions and of kept prediction
 * lesions (in voxels or mm³), and the HD95 penalty for missed and false-positive lesions. The
 * BraTS 2024 protocols are presets ({@link BRATS_2024_PROTOCOLS}); any other label convention
 * gets a protocol from {@link regionProtocol}.
 */
import type { CaseMetrics } from './evaluate.js';

/** Unit of a lesion size. */
export type LesionSizeUnit = 'voxels' | 'mm3';

/** A lesion size threshold: lesions of this size or smaller are affected. */
export interface LesionSize {
  value: number;
  unit: LesionSizeUnit;
}

/**
 * Which values a protocol's single summary score averages over its regions: the lesion-wise Dice
 * and HD95 (BraTS 2023/2024 ranking), or the whole-region ("legacy") Dice and HD95.
 */
export type ScoreKind = 'lesion-wise' | 'region-wise';

/** An evaluation protocol: label convention, regions and lesion-matching parameters. */
export interface EvaluationProtocol {
  /** Identifier, e.g. `brats-2024-ssa` or a task id. */
  name: string;
  /** Display name, e.g. `BraTS-SSA`. */
  title?: string;
  /** Label values with a meaning (0 = background included). */
  labels: readonly number[];
  /** Reported regions, in order. */
  regions: readonly string[];
  /** Label values making up each region; may hold regions that are used only by {@link mergeThrough}. */
  regionLabels: Readonly<Record<string, readonly number[]>>;
  /** Dilation steps (18-neighbourhood) for grouping components into lesions and matching them; 0 = plain 26-connected components. */
  dilation: number;
  /** GT lesions of at most this size are listed but not counted in the lesion-wise scores. */
  minGtLesion: LesionSize;
  /** Prediction lesions of at most this size are removed before matching. */
  minPredLesion: LesionSize;
  /**
   * HD95 (mm) given to missed lesions, false-positive lesions and empty-versus-non-empty regions.
   * Undefined: the diagonal of the case's field of view in mm.
   */
  hd95Penalty?: number;
  /**
   * BraTS-SSA rule: lesions of `region` that touch lesions of the `via` region are merged
   * through them (official: ET lesions through NETC lesions).
   */
  mergeThrough?: { region: string; via: string };
  /** What {@link protocolScore} averages. Default `lesion-wise`. */
  score?: ScoreKind;
  /**
   * `brats-2024`: reproduce the official BraTS 2024 code's quirks (whole-region HD95 and
   * sensitivity/specificity on lesion-number maps; see `corrected`). Only the BraTS presets set it.
   */
  quirks?: 'brats-2024';
}

/** Thrown when a protocol is inconsistent; the message names the protocol and the field. */
export class EvaluationProtocolError extends Error {
  constructor(protocol: string, field: string, problem: string) {
    super(`evaluation protocol '${protocol}': ${field} ${problem}`);
    this.name = 'EvaluationProtocolError';
  }
}

function checkSize(name: string, field: string, size: LesionSize | undefined): void {
  if (!size || !(size.unit === 'voxels' || size.unit === 'mm3'))
    throw new EvaluationProtocolError(name, `${field}.unit`, "must be 'voxels' or 'mm3'");
  if (!(size.value >= 0) || !Number.isFinite(size.value))
    throw new EvaluationProtocolError(name, `${field}.value`, `must be a finite number >= 0, got ${size.value}`);
}

/**
 * Checks a protocol and returns it unchanged: label values are integers in 0..255, every region
 * is made of known labels, matching parameters are in range.
 *
 * @throws EvaluationProtocolError naming the protocol and the field.
 */
export function defineEvaluationProtocol<P extends EvaluationProtocol>(protocol: P): P {
  const name = protocol.name || '(no name)';
  const fail = (field: string, problem: string): never => {
    throw new EvaluationProtocolError(name, field, problem);
  };
  if (!protocol.name) fail('name', 'is empty');
  const known = new Set<number>();
  for (const v of protocol.labels) {
    if (!Number.isInteger(v) || v < 0 || v > 255) fail('labels', `holds ${v}; label values are integers 0..255`);
    known.add(v);
  }
  if (protocol.regions.length === 0) fail('regions', 'is empty');
  if (new Set(protocol.regions).size !== protocol.regions.length) fail('regions', 'lists a region twice');
  const check = (region: string) => {
    const members = protocol.regionLabels[region];
    if (!members || members.length === 0) fail(`regionLabels.${region}`, 'is missing or empty');
    for (const v of members!) {
      if (v === 0) fail(`regionLabels.${region}`, 'holds 0 (background)');
      if (!known.has(v)) fail(`regionLabels.${region}`, `holds label ${v}, which labels does not list`);
    }
  };
  for (const region of protocol.regions) check(region);
  if (!Number.isInteger(protocol.dilation) || protocol.dilation < 0)
    fail('dilation', `must be a non-negative integer, got ${protocol.dilation}`);
  checkSize(name, 'minGtLesion', protocol.minGtLesion);
  checkSize(name, 'minPredLesion', protocol.minPredLesion);
  if (protocol.hd95Penalty !== undefined && !(protocol.hd95Penalty > 0 && Number.isFinite(protocol.hd95Penalty)))
    fail('hd95Penalty', `must be a positive number, got ${protocol.hd95Penalty}`);
  if (protocol.mergeThrough) {
    const { region, via } = protocol.mergeThrough;
    if (!protocol.regions.includes(region)) fail('mergeThrough.region', `names unknown region ${region}`);
    check(via);
  }
  if (protocol.score !== undefined && protocol.score !== 'lesion-wise' && protocol.score !== 'region-wise')
    fail('score', `must be 'lesion-wise' or 'region-wise', got ${String(protocol.score)}`);
  if (protocol.quirks !== undefined && protocol.quirks !== 'brats-2024')
    fail('quirks', `must be 'brats-2024' or absent, got ${String(protocol.quirks)}`);
  return protocol;
}

/** A region of {@link regionProtocol}. */
export interface ProtocolRegion {
  name: string;
  labels: readonly number[];
}

/** Options of {@link regionProtocol}. */
export interface RegionProtocolOptions {
  name: string;
  title?: string;
  regions: readonly ProtocolRegion[];
  /** Label values of the maps besides 0; default the union of the regions' labels. */
  labels?: readonly number[];
  /** Default 0: lesions are the 26-connected components. */
  dilation?: number;
  /** Default 0 voxels: every GT lesion counts. */
  minGtLesion?: LesionSize;
  /** Default 0 voxels: no prediction lesion is removed. */
  minPredLesion?: LesionSize;
  /** Default: the field-of-view diagonal of each case in mm. */
  hd95Penalty?: number;
  /** Default `lesion-wise`. */
  score?: ScoreKind;
}

/**
 * A protocol for any label convention: lesion-wise and whole-region Dice and HD95 over the given
 * regions.
 *
 * @example
 * ```ts
 * const liver = regionProtocol({
 *   name: 'liver',
 *   regions: [{ name: 'LIVER', labels: [1, 2] }, { name: 'TUMOUR', labels: [2] }],
 *   dilation: 1,
 *   minGtLesion: { value: 10, unit: 'mm3' },
 * });
 * evaluateCase({ gt, pred, task: liver });
 * ```
 */
export function regionProtocol(options: RegionProtocolOptions): EvaluationProtocol {
  const labels = options.labels ?? [...new Set(options.regions.flatMap((r) => r.labels))].sort((a, b) => a - b);
  return defineEvaluationProtocol({
    name: options.name,
    ...(options.title !== undefined ? { title: options.title } : {}),
    labels: [0, ...labels.filter((v) => v !== 0)],
    regions: options.regions.map((r) => r.name),
    regionLabels: Object.fromEntries(options.regions.map((r) => [r.name, [...r.labels]])),
    dilation: options.dilation ?? 0,
    minGtLesion: options.minGtLesion ?? { value: 0, unit: 'voxels' },
    minPredLesion: options.minPredLesion ?? { value: 0, unit: 'voxels' },
    ...(options.hd95Penalty !== undefined ? { hd95Penalty: options.hd95Penalty } : {}),
    score: options.score ?? 'lesion-wise',
  });
}

/** Mean over the protocol's regions of the Dice and HD95 its {@link ScoreKind} selects. */
export function protocolScore(metrics: CaseMetrics, score: ScoreKind = 'lesion-wise'): { dice: number; hd95: number } {
  const diceKey = score === 'region-wise' ? 'Legacy_Dice' : 'LesionWise_Score_Dice';
  const hdKey = score === 'region-wise' ? 'Legacy_HD95' : 'LesionWise_Score_HD95';
  let dice = 0;
  let hd95 = 0;
  for (const r of metrics.regionOrder) {
    dice += metrics.regions[r]![diceKey];
    hd95 += metrics.regions[r]![hdKey];
  }
  const n = metrics.regionOrder.length;
  return { dice: dice / n, hd95: hd95 / n };
}
