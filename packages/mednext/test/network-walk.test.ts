import { describe, expect, it } from 'vitest';
import { buildArchitecture } from '../src/model/architecture.js';
import { resolveConfig } from '../src/model/config.js';
import { walkMedNeXt, type NetworkEngine } from '../src/network/engine.js';

/** An engine whose values are the expressions that made them, recording calls and releases. */
function recordingEngine(): { engine: NetworkEngine<string>; calls: string[]; released: string[] } {
  const calls: string[] = [];
  const released: string[] = [];
  const engine: NetworkEngine<string> = {
    name: 'recorder',
    stem: (x) => (calls.push('stem'), `stem(${x})`),
    block: (x, b) => (calls.push(b.name), `${b.name}(${x})`),
    down: (x, b) => (calls.push(b.name), `${b.name}(${x})`),
    upAdd: (x, b, skip) => (calls.push(b.name), `${b.name}(${x})+[${skip}]`),
    head: (x, level) => (calls.push(`out_${level}`), `out_${level}`),
    release: (x) => void released.push(x),
  };
  return { engine, calls, released };
}

const arch = (ds: boolean) =>
  buildArchitecture(
    resolveConfig({
      in_channels: 4,
      n_channels: 4,
      n_classes: 3,
      exp_r: 2,
      kernel_size: 3,
      deep_supervision: ds,
      block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
    }),
  );

describe('walkMedNeXt', () => {
  it('visits stem, encoders, downs, bottleneck, ups with skips, decoders and the main head in order', () => {
    const { engine, calls } = recordingEngine();
    const out = walkMedNeXt(arch(false), engine, 'x', { deepSupervision: false });
    expect(out).toEqual(['out_0']);
    expect(calls).toEqual([
      'stem',
      ...[0, 1, 2, 3].flatMap((j) => [`enc_block_${j}.0`, `down_${j}`]),
      'bottleneck.0',
      ...[3, 2, 1, 0].flatMap((j) => [`up_${j}`, `dec_block_${j}.0`]),
      'out_0',
    ]);
  });

  it('adds each up block into the encoder output of its own level', () => {
    const seen: Record<string, string> = {};
    const { engine } = recordingEngine();
    const upAdd = engine.upAdd;
    engine.upAdd = (x, b, skip) => ((seen[b.name] = skip), upAdd(x, b, skip));
    walkMedNeXt(arch(false), engine, 'x', { deepSupervision: false });
    for (const j of [0, 1, 2, 3]) expect(seen[`up_${j}`]).toMatch(new RegExp(`^enc_block_${j}\\.0\\(`));
  });

  it('returns the deep-supervision heads in the official order out_0, out_1..out_4', () => {
    const { engine, calls } = recordingEngine();
    const out = walkMedNeXt(arch(true), engine, 'x', { deepSupervision: true });
    expect(out).toEqual(['out_0', 'out_1', 'out_2', 'out_3', 'out_4']);
    expect(calls.filter((c) => c.startsWith('out_'))).toEqual(['out_4', 'out_3', 'out_2', 'out_1', 'out_0']);
  });

  it('releases every intermediate exactly once, never the input nor a skip before its up block', () => {
    const { engine, released } = recordingEngine();
    walkMedNeXt(arch(false), engine, 'x', { deepSupervision: false });
    expect(released).not.toContain('x');
    expect(new Set(released).size).toBe(released.length);
    // stem, 4 encoder blocks, 4 down outputs' successors..., everything but skips (consumed by upAdd) is released.
    expect(released.some((r) => r.startsWith('enc_block_') && !r.startsWith('down_'))).toBe(false);
    expect(released.at(-1)).toMatch(/^dec_block_0\.0\(/);
  });

  it('refuses deep supervision on a model without the heads', () => {
    const { engine } = recordingEngine();
    expect(() => walkMedNeXt(arch(false), engine, 'x', { deepSupervision: true })).toThrow(/without the DS heads/);
  });
});
