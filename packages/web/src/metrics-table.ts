/**
 * The lesion-wise metrics of one case as a table: one row per region, the columns of
 * `mednext evaluate`'s summary. Each cell keeps the exact number in `data-value` (the text is rounded).
 */
import type { CaseMetrics, RegionMetrics } from '@mednext-ts/metrics';

/** Metrics shown, in `mednext evaluate`'s order. */
export const TABLE_METRICS: Array<keyof RegionMetrics> = [
  'LesionWise_Score_Dice',
  'LesionWise_Score_HD95',
  'Legacy_Dice',
  'Legacy_HD95',
  'Sensitivity',
  'Specificity',
  'Num_TP',
  'Num_FP',
  'Num_FN',
];

function format(v: number): string {
  if (Number.isNaN(v)) return '-';
  return Number.isInteger(v) ? String(v) : v.toFixed(4);
}

/** Fills `table` with the metrics of `metrics`. */
export function renderMetricsTable(table: HTMLTableElement, metrics: CaseMetrics): void {
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const name of ['region', ...TABLE_METRICS]) {
    const th = document.createElement('th');
    th.textContent = name;
    head.append(th);
  }
  const body = table.createTBody();
  for (const region of metrics.regionOrder) {
    const row = body.insertRow();
    row.insertCell().textContent = region;
    for (const metric of TABLE_METRICS) {
      const value = metrics.regions[region]![metric] as number;
      const cell = row.insertCell();
      cell.textContent = format(value);
      cell.dataset.region = region;
      cell.dataset.metric = metric;
      cell.dataset.value = String(value);
    }
  }
}
