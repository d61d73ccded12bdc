/**
 * A dependency-free SVG plot of the training curves (loss and validation Dice per epoch), written
 * next to the JSONL log after every epoch.
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

function panel(
  title: string,
  series: Series[],
  x0: number,
  width: number,
  height: number,
  yRange?: [number, number],
): string {
  const all = series.flatMap((s) => s.points);
  const margin = { l: 50, r: 10, t: 24, b: 30 };
  const w = width - margin.l - margin.r;
  const h = height - margin.t - margin.b;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const xMin = Math.min(...xs, 0);
  const xMax = Math.max(...xs, 1);
  let [yMin, yMax] = yRange ?? [Math.min(...ys), Math.max(...ys)];
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
      `<text x="${x0 + margin.l - 4}" y="${sy(y) + 4}" font-size="10" text-anchor="end">${Number(y.toPrecision(3))}</text>`,
    );
  }
  parts.push(`<text x="${x0 + margin.l + w / 2}" y="${height - 6}" font-size="11" text-anchor="middle">epoch</text>`);
  parts.push(`<text x="${x0 + margin.l}" y="${height - 16}" font-size="10">${xMin}</text>`);
  parts.push(`<text x="${x0 + margin.l + w}" y="${height - 16}" font-size="10" text-anchor="end">${xMax}</text>`);
  series.forEach((s, i) => {
    if (s.points.length > 0) {
      const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
      parts.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
      );
    }
    parts.push(
      `<text x="${x0 + margin.l + 6}" y="${margin.t + 14 + 13 * i}" font-size="11" fill="${s.color}">${escape(s.name)}</text>`,
    );
  });
  return parts.join('\n');
}

/** Renders the loss and Dice curves of a training log as a standalone SVG document. */
export function renderTrainingPlot(entries: readonly EpochLogEntry[], title = 'training'): string {
  const width = 900;
  const height = 320;
  const pts = (f: (e: EpochLogEntry) => number | null): [number, number][] =>
    entries.filter((e) => f(e) !== null && Number.isFinite(f(e)!)).map((e) => [e.epoch, f(e)!]);
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
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<title>${escape(title)}</title>`,
    '<rect width="100%" height="100%" fill="white"/>',
    panel(`${title}: loss`, loss, 0, width / 2, height),
    panel(`${title}: validation Dice`, dice, width / 2, width / 2, height, [0, 1]),
    '</svg>',
    '',
  ].join('\n');
}
