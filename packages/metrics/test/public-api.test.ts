/** The public surface of `@mednext-ts/metrics`: an explicit list with the metric functions, not the box helpers. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as metrics from '../src/index.js';

describe('metrics entry', () => {
  it('lists its exports by name', () => {
    const index = readFileSync(new URL('../src/index.ts', import.meta.url), 'utf8');
    expect(index).not.toMatch(/^export \*/m);
  });

  it('exports the evaluation API and not the internal bounding-box helpers', () => {
    const publicNames = [
      'evaluateCase',
      'getBratsProtocol',
      'defineEvaluationProtocol',
      'regionProtocol',
      'protocolScore',
      'matchLesions',
      'legacyDice',
      'legacyHd95',
      'summarize',
      'synapseCsv',
      'pairCases',
      'EvaluationProtocolError',
    ];
    for (const name of publicNames) expect(typeof (metrics as Record<string, unknown>)[name], name).toBe('function');
    expect(metrics.BRATS_2024_PROTOCOLS).toBeDefined();
    const internals = ['boxShape', 'labelBoxes', 'unionBox', 'padBox', 'forEachInBox', 'extractBox'];
    expect(internals.filter((name) => name in metrics)).toEqual([]);
  });
});
