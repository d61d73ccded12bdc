import { describe, expect, it } from 'vitest';
import { RunClock } from '../src/progress.js';

describe('RunClock', () => {
  it('reports the fraction over all members and extrapolates the time left from the windows done', () => {
    let now = 1000;
    const clock = new RunClock(() => now);
    // First report starts the clock: no rate yet, so no time left is claimed.
    expect(clock.update(0, 2, 1, 4)).toEqual({ fraction: 1 / 8, text: 'model 1/2: 1/4 windows' });
    now += 2000; // 2 s per window from here on
    expect(clock.update(0, 2, 2, 4)).toEqual({ fraction: 2 / 8, text: 'model 1/2: 2/4 windows, about 12 s left' });
    now += 4000;
    expect(clock.update(1, 2, 0, 4)).toEqual({ fraction: 4 / 8, text: 'model 2/2: 0/4 windows, about 8 s left' });
  });

  it('omits the member prefix for a single model and ends at 1', () => {
    let now = 0;
    const clock = new RunClock(() => now);
    clock.update(0, 1, 0, 3);
    now = 300;
    expect(clock.update(0, 1, 3, 3)).toEqual({ fraction: 1, text: '3/3 windows, about 0 s left' });
  });
});
