import { describe, expect, it } from 'vitest';
import { recordedNormalization, type CheckpointModel } from '../src/index.js';

/** A stand-in for a loaded checkpoint: only its name and recorded metadata matter here. */
const member = (name: string, normalization?: CheckpointModel['info']['normalization']) =>
  ({ name, info: { normalization } }) as unknown as CheckpointModel;

describe('recordedNormalization', () => {
  it('repeats what the checkpoints record, per modality, with zscore-nonzero for old checkpoints', () => {
    expect(recordedNormalization([member('old.safetensors')], ['ct', 'pet'])).toEqual([
      { method: 'zscore-nonzero' },
      { method: 'zscore-nonzero' },
    ]);
    const ct = { method: 'ct', window: [-100, 200] };
    expect(recordedNormalization([member('a', [ct, 'none']), member('b', [ct, 'none'])], ['ct', 'pet'])).toEqual([
      ct,
      { method: 'none' },
    ]);
  });

  it('refuses an ensemble whose members normalised their inputs differently, naming both', () => {
    expect(() =>
      recordedNormalization([member('a.safetensors', 'zscore-nonzero'), member('b.safetensors', ['none'])], ['t1']),
    ).toThrow(/b\.safetensors normalises its inputs with .*none.*a\.safetensors with .*zscore-nonzero.*must agree/);
  });

  it('refuses a record that does not list one method per modality', () => {
    expect(() => recordedNormalization([member('c.safetensors', ['none'])], ['t1', 't2'])).toThrow(
      /c\.safetensors: the recorded normalisation must list one method per modality \(t1, t2\)/,
    );
  });
});
