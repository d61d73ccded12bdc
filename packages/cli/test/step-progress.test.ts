/**
 * Progress of long steps without a terminal: a line at the first item, then at most every interval, and at the
 * end, each with the elapsed time and the time left.
 */
import { describe, expect, it } from 'vitest';
import { StepProgress, etaSeconds, formatDuration } from '../src/lib/step-progress.js';

describe('step progress', () => {
  it('formats durations and estimates the time left from the mean item time', () => {
    expect(formatDuration(4.4)).toBe('4 s');
    expect(formatDuration(245)).toBe('4 min 05 s');
    expect(formatDuration(3720)).toBe('1 h 02 min');
    expect(formatDuration(Number.NaN)).toBe('?');
    expect(etaSeconds(10, 20, 144)).toBeCloseTo(62, 10);
    expect(etaSeconds(0, 0, 10)).toBeNaN();
  });

  it('prints the first item, then every 5 s at most, then the end, with ETA', () => {
    let clock = 0;
    const lines: string[] = [];
    const progress = new StepProgress('grid', 144, {
      enabled: true,
      bar: false,
      log: (l) => lines.push(l),
      now: () => clock,
    });
    for (let i = 1; i <= 144; i++) {
      clock = i * 425; // 0.425 s per grid point, about the 61 s of a real sweep
      progress.update(i, `trial ${i}`);
    }
    expect(lines[0]).toBe('grid 1/144 (0 %) 0 s, ETA 1 min 01 s: trial 1');
    // 61.2 s in all: a line at item 1, then every >= 5 s (12 items of 0.425 s), then the last one.
    expect(lines).toHaveLength(1 + Math.floor((144 * 425 - 425) / (12 * 425)) + 1);
    expect(lines[1]).toBe('grid 13/144 (9 %) 6 s, ETA 56 s: trial 13');
    expect(lines.at(-1)).toBe('grid 144/144 (100 %) done in 1 min 01 s: trial 144');
  });

  it('prints nothing when disabled', () => {
    const lines: string[] = [];
    const progress = new StepProgress('grid', 3, { enabled: false, bar: false, log: (l) => lines.push(l) });
    progress.update(1);
    progress.update(3);
    expect(lines).toEqual([]);
  });
});
