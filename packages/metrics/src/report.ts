/**
 * Tabular output of case results: the Synapse (BraTS challenge platform) score table with its
 * column names, and summary statistics over cases.
 */
import type { CaseMetrics, RegionMetrics } from './evaluate.js';
import type { RegionName } from './tasks.js';

/** Metrics of the Synapse table: output column prefix and the field of {@link RegionMetrics} it comes from. */
export const SYNAPSE_METRICS: ReadonlyArray<readonly [string, keyof RegionMetrics]> = [
  ['LesionWise_Dice', 'LesionWise_Score_Dice'],
  ['LesionWise_Hausdorff95', 'LesionWise_Score_HD95'],
  ['Dice', 'Legacy_Dice'],
  ['Hausdorff95', 'Legacy_HD95'],
  ['Sensitivity', 'Sensitivity'],
  ['Specificity', 'Specificity'],
  ['Num_TP', 'Num_TP'],
  ['Num_FP', 'Num_FP'],
  ['Num_FN', 'Num_FN'],
];

/** The fields of {@link RegionMetrics} in display order (the Synapse table's), for summaries and per-case tables. */
export const SUMMARY_METRICS: ReadonlyArray<keyof RegionMetrics> = SYNAPSE_METRICS.map(([, field]) => field);

/**
 * A metric value as the summaries show it: integers (lesion counts) as they are, other values to 4
 * decimals, NaN (undefined, e.g. no lesion at all) as `-`.
 */
export function formatMetric(value: number): string {
  if (Number.isNaN(value)) return '-';
  return Number.isInteger(value) ? String(value) : value.toFixed(4);
}

/**
 * Column names of the Synapse score table for the given regions: `<metric>_<region>`, metrics in
 * the order above, regions sorted alphabetically within each metric (the pandas pivot of the
 * official `score.py`), e.g. `LesionWise_Dice_ET`, `Hausdorff95_WT`, `Num_FN_TC`.
 */
export function synapseColumns(regions: readonly RegionName[]): string[] {
  const sorted = [...regions].sort();
  return SYNAPSE_METRICS.flatMap(([prefix]) => sorted.map((r) => `${prefix}_${r}`));
}

/** One case as a row of the Synapse table (column name -> value). */
export function synapseRow(result: CaseMetrics): Record<string, number> {
  const row: Record<string, number> = {};
  const sorted = [...result.regionOrder].sort();
  for (const [prefix, field] of SYNAPSE_METRICS) {
    for (const r of sorted) row[`${prefix}_${r}`] = result.regions[r]![field];
  }
  return row;
}

/** Summary statistics as pandas `describe()` computes them (std with ddof = 1, linear quantiles). */
export interface Summary {
  count: number;
  mean: number;
  std: number;
  min: number;
  q25: number;
  median: number;
  q75: number;
  max: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Describes a list of values (NaN for empty input; std NaN for a single value, like pandas). */
export function summarize(values: readonly number[]): Summary {
  const n = values.length;
  const sorted = [...values].sort((a, b) => a - b);
  const mean = n ? values.reduce((a, b) => a + b, 0) / n : NaN;
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : NaN;
  return {
    count: n,
    mean,
    std: Math.sqrt(variance),
    min: n ? sorted[0] : NaN,
    q25: quantile(sorted, 0.25),
    median: quantile(sorted, 0.5),
    q75: quantile(sorted, 0.75),
    max: n ? sorted[n - 1] : NaN,
  };
}

function csvCell(v: string | number): string {
  if (typeof v === 'number') return Number.isNaN(v) ? '' : String(v);
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * The Synapse `all_scores` CSV: one row per case (`scan_id` = case id, sorted), then the rows
 * `mean`, `std`, `25quantile`, `median`, `75quantile` over cases, as the official `score.py` writes.
 */
export function synapseCsv(cases: ReadonlyArray<{ id: string; result: CaseMetrics }>): string {
  if (cases.length === 0) return '';
  const columns = synapseColumns(cases[0].result.regionOrder);
  const sorted = [...cases].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rows = sorted.map((c) => ({ id: c.id, row: synapseRow(c.result) }));
  const lines = [['scan_id', ...columns].join(',')];
  for (const { id, row } of rows) lines.push([csvCell(id), ...columns.map((k) => csvCell(row[k]))].join(','));
  const stats = columns.map((k) => summarize(rows.map((r) => r.row[k])));
  const statRows: Array<[string, keyof Summary]> = [
    ['mean', 'mean'],
    ['std', 'std'],
    ['25quantile', 'q25'],
    ['median', 'median'],
    ['75quantile', 'q75'],
  ];
  for (const [name, key] of statRows) lines.push([name, ...stats.map((s) => csvCell(s[key]))].join(','));
  return lines.join('\n') + '\n';
}
