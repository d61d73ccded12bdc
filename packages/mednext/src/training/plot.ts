/**
 * A dependency-free SVG plot of the training curves (loss, validation Dice and learning rate per epoch),
 * written next to the JSONL log after every epoch.
 */

/** One line of the JSONL training log. */
export interface EpochLogEntry {
  epoch: number;
  /** Mean training loss over the epoch's iterations. */
  trainLoss: number;
  valLoss: number | null;
  /** Validation Dice per region (null where undefined). */
  valDice: Record<string, number | null>;
  valDiceMean: number | null;
  learningRate: number;
  /** Wall-clock seconds of the epoch (training + validation). */
  seconds: number;
  iterations: number;
  /** Whether this epoch produced a new best checkpoint. */
  best: boolean;
  time: string;
  /**
   * GPU engines: mean and largest milliseconds the GPU waited for a step's work (sampling, upload, encoding;
   * not validation and checkpoints).
   */
  gpuIdleMsMean?: number;
  gpuIdleMsMax?: number;
  /** GPU engines: most GPU bytes allocated at once in any step of the epoch. */
  gpuPeakBytes?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface Series {
  name: string;
  points: [number, number][];
  color: string;
  dashed?: boolean;
}

/** A vertical line across a panel at an epoch (the best epoch). */
interface Marker {
  x: number;
  label: string;
}

/**
 * Integer tick positions from `min` to `max`: a step of 1, 2 or 5 times a power of ten giving at most `most`
 * ticks, so every epoch count gets a readable axis (not only the first and the last epoch).
 */
export function epochTicks(min: number, max: number, most = 8): number[] {
  if (!(max > min)) return [min];
  const span = max - min;
  let step = 1;
  for (let magnitude = 1; ; magnitude *= 10) {
    const found = [1, 2, 5].map((m) => m * magnitude).find((s) => Math.floor(span / s) + 1 <= most);
    if (found) {
      step = found;
      break;
    }
  }
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max; t += step) ticks.push(t);
  return ticks;
}

function formatValue(y: number): string {
  return Math.abs(y) >= 1e-4 || y === 0 ? String(Number(y.toPrecision(3))) : y.toExponential(1);
}

function panel(
  title: string,
  series: Series[],
  x0: number,
  width: number,
  height: number,
  options: { yRange?: [number, number]; markers?: Marker[]; xRange: [number, number] },
): string {
  const all = series.flatMap((s) => s.points);
  // The legend sits under the x axis, one row, so it never covers a curve.
  const margin = { l: 54, r: 12, t: 24, b: 52 };
  const w = width - margin.l - margin.r;
  const h = height - margin.t - margin.b;
  const [xMin, xMax] = options.xRange;
  const ys = all.map((p) => p[1]);
  let [yMin, yMax] = options.yRange ?? [Math.min(...ys), Math.max(...ys)];
  if (!Number.isFinite(yMin) || !Number.isFinite(yMax)) [yMin, yMax] = [0, 1];
  if (yMax === yMin) [yMin, yMax] = [yMin - 0.5, yMax + 0.5];
  const sx = (x: number) => x0 + margin.l + ((x - xMin) / (xMax - xMin || 1)) * w;
  const sy = (y: number) => margin.t + h - ((y - yMin) / (yMax - yMin)) * h;
  const parts: string[] = [];
  parts.push(`<text x="${x0 + margin.l}" y="16" font-size="13" font-weight="bold">${escape(title)}</text>`);
  parts.push(`<rect x="${x0 + margin.l}" y="${margin.t}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  for (let k = 0; k <= 4; k++) {
    const y = yMin + ((yMax - yMin) * k) / 4;
    parts.push(
      `<text x="${x0 + margin.l - 4}" y="${(sy(y) + 4).toFixed(1)}" font-size="10" text-anchor="end">${formatValue(y)}</text>`,
    );
  }
  for (const t of epochTicks(xMin, xMax)) {
    const x = sx(t).toFixed(1);
    parts.push(`<line x1="${x}" y1="${margin.t + h}" x2="${x}" y2="${margin.t + h + 4}" stroke="#999"/>`);
    parts.push(`<text x="${x}" y="${margin.t + h + 15}" font-size="10" text-anchor="middle">${t}</text>`);
  }
  parts.push(
    `<text x="${x0 + margin.l + w / 2}" y="${margin.t + h + 28}" font-size="11" text-anchor="middle">epoch</text>`,
  );
  for (const m of options.markers ?? []) {
    const x = sx(m.x).toFixed(1);
    parts.push(
      `<line class="best-epoch" x1="${x}" y1="${margin.t}" x2="${x}" y2="${margin.t + h}" stroke="#888" stroke-dasharray="2 3"/>`,
    );
    parts.push(
      `<text x="${x}" y="${margin.t - 3}" font-size="10" text-anchor="middle" fill="#555">${escape(m.label)}</text>`,
    );
  }
  let legendX = x0 + margin.l;
  for (const s of series) {
    if (s.points.length > 0) {
      const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
      parts.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
      );
    }
    const ly = height - 12;
    parts.push(
      `<line x1="${legendX}" y1="${ly - 4}" x2="${legendX + 14}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
    );
    parts.push(`<text x="${legendX + 18}" y="${ly}" font-size="10" fill="${s.color}">${escape(s.name)}</text>`);
    legendX += 26 + 6 * s.name.length;
  }
  return parts.join('\n');
}

/** The epoch of the best checkpoint: the last entry flagged `best`, else the highest mean validation Dice. */
export function bestEpoch(entries: readonly EpochLogEntry[]): number | null {
  const flagged = entries.filter((e) => e.best);
  if (flagged.length > 0) return flagged[flagged.length - 1]!.epoch;
  let best: EpochLogEntry | null = null;
  for (const e of entries) if (e.valDiceMean !== null && (!best || e.valDiceMean > best.valDiceMean!)) best = e;
  return best ? best.epoch : null;
}

/**
 * Renders a training log as a standalone SVG document: loss, validation Dice and learning rate per epoch, with
 * the best epoch marked in every panel and the legends under the axes.
 */
export function renderTrainingPlot(entries: readonly EpochLogEntry[], title = 'training'): string {
  const width = 1200;
  const height = 350;
  const pts = (f: (e: EpochLogEntry) => number | null): [number, number][] =>
    entries.filter((e) => f(e) !== null && Number.isFinite(f(e)!)).map((e) => [e.epoch, f(e)!]);
  const epochs = entries.map((e) => e.epoch);
  const xRange: [number, number] = [Math.min(...epochs, 0), Math.max(...epochs, 1)];
  const best = bestEpoch(entries);
  const markers = best === null ? [] : [{ x: best, label: `best ${best}` }];
  const loss: Series[] = [
    { name: 'train loss', points: pts((e) => e.trainLoss), color: COLORS[0]! },
    { name: 'val loss', points: pts((e) => e.valLoss), color: COLORS[1]!, dashed: true },
  ];
  const regions = [...new Set(entries.flatMap((e) => Object.keys(e.valDice)))];
  const dice: Series[] = [
    ...regions.map((r, i) => ({
      name: `Dice ${r}`,
      points: pts((e) => e.valDice[r] ?? null),
      color: COLORS[(i + 2) % COLORS.length]!,
    })),
    { name: 'Dice mean', points: pts((e) => e.valDiceMean), color: '#000', dashed: true },
  ];
  const lr: Series[] = [{ name: 'learning rate', points: pts((e) => e.learningRate), color: COLORS[5]! }];
  const third = width / 3;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<title>${escape(title)}</title>`,
    '<rect width="100%" height="100%" fill="white"/>',
    panel(`${title}: loss`, loss, 0, third, height, { markers, xRange }),
    panel(`${title}: validation Dice`, dice, third, third, height, { yRange: [0, 1], markers, xRange }),
    panel(`${title}: learning rate`, lr, 2 * third, third, height, { markers, xRange }),
    '</svg>',
    '',
  ].join('\n');
}
