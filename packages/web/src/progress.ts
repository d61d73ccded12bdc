/**
 * Progress of a run from the worker's window counts: fraction done over all ensemble members and the
 * time left, extrapolated from the windows done so far.
 */

/** Tracks one run. */
export class RunClock {
  private start: number | undefined;
  private firstDone = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /**
   * Window `done` of `total` of member `model` (0-based) of `models`: the fraction of the whole run and a
   * line such as `model 1/2: 3/8 windows, about 12 s left`.
   */
  update(model: number, models: number, done: number, total: number): { fraction: number; text: string } {
    const all = total * models;
    const finished = model * total + done;
    const t = this.now();
    // The clock starts at the first report, so model loading and preprocessing do not skew the rate.
    if (this.start === undefined) {
      this.start = t;
      this.firstDone = finished;
    }
    const rate = (t - this.start) / Math.max(1, finished - this.firstDone);
    const left = finished > this.firstDone ? ((all - finished) * rate) / 1000 : NaN;
    const prefix = models > 1 ? `model ${model + 1}/${models}: ` : '';
    const eta = Number.isFinite(left) ? `, about ${Math.ceil(left)} s left` : '';
    return { fraction: all > 0 ? finished / all : 0, text: `${prefix}${done}/${total} windows${eta}` };
  }
}
