/**
 * The lesion-wise metrics of one case as a table: one row per region, the columns of
 * `mednext evaluate`'s summary. Each cell keeps the exact number in `data-value` (the text is rounded).
 */
import { SUMMARY_METRICS, formatMetric, type CaseMetrics } from '@mednext-ts/metrics';

/** Fills `table` with the metrics of `metrics`. */
export function renderMetricsTable(table: HTMLTableElement, metrics: CaseMetrics): void {
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const name of ['region', ...SUMMARY_METRICS]) {
    const th = document.createElement('th');
    th.textContent = name;
    head.append(th);
  }
  const body = table.createTBody();
  for (const region of metrics.regionOrder) {
    const row = body.insertRow();
    row.insertCell().textContent = region;
    for (const metric of SUMMARY_METRICS) {
      const value = metrics.regions[region]![metric] as number;
      const cell = row.insertCell();
      cell.textContent = formatMetric(value);
      cell.dataset.region = region;
      cell.dataset.metric = metric;
      cell.dataset.value = String(value);
    }
  }
}
