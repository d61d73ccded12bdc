/**
 * Progress of one long step with an estimate of the time left: a bar on a terminal, and otherwise (logs, CI,
 * a cluster job's output file) a line at the first item, then at most every `intervalMs`, and at the end.
 */
import cliProgress from 'cli-progress';

/** `75 s`, `4 min 05 s`, `1 h 02 min`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** Seconds left if the remaining items take as long as the done ones did on average (NaN before the first). */
export function etaSeconds(elapsedSeconds: number, done: number, total: number): number {
  return done > 0 ? (elapsedSeconds / done) * (total - done) : Number.NaN;
}

/** Options of {@link StepProgress}. */
export interface StepProgressOptions {
  /** false: print nothing (`--quiet`). */
  enabled: boolean;
  /** Where lines go when there is no terminal. */
  log: (line: string) => void;
  /** Draw a bar (default: stderr is a terminal). */
  bar?: boolean;
  /** Shortest time between two lines without a terminal (default 5 s). */
  intervalMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** Progress of `total` items of one step, labelled e.g. `grid` or `reading`. */
export class StepProgress {
  private readonly started: number;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private lastLine = -Infinity;
  private readonly bar?: cliProgress.SingleBar;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly options: StepProgressOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.intervalMs = options.intervalMs ?? 5000;
    this.started = this.now();
    if (options.enabled && (options.bar ?? process.stderr.isTTY === true)) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${label} [{bar}] {value}/{total} {percentage}% ETA {eta_formatted} {detail}`,
          stream: process.stderr,
          hideCursor: true,
          etaBuffer: 20,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, { detail: '' });
    }
  }

  /** `done` items are finished; `detail` describes the last one. */
  update(done: number, detail = ''): void {
    if (!this.options.enabled) return;
    if (this.bar) {
      this.bar.update(done, { detail });
      return;
    }
    const t = this.now();
    if (done !== 1 && done !== this.total && t - this.lastLine < this.intervalMs) return;
    this.lastLine = t;
    const elapsed = (t - this.started) / 1000;
    const eta = etaSeconds(elapsed, done, this.total);
    const pct = Math.floor((100 * done) / this.total);
    const timing =
      done === this.total
        ? `done in ${formatDuration(elapsed)}`
        : `${formatDuration(elapsed)}, ETA ${formatDuration(eta)}`;
    this.options.log(`${this.label} ${done}/${this.total} (${pct} %) ${timing}${detail ? `: ${detail}` : ''}`);
  }

  /** Ends the bar (a no-op without one). */
  stop(): void {
    this.bar?.stop();
  }
}
