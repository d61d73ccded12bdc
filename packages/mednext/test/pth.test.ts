import * as fs from 'node:fs';
import * as path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseWeights, readPth } from '../src/index.js';
import { PyDict, unpickle } from '../src/weights/pickle.js';
import { openZip } from '../src/weights/zip.js';
import { readWeightsFile } from '../src/node.js';
import { FIXTURES, readSafetensors } from './helpers.js';

// Fixtures made by test/fixtures/make_pt.py with torch 1.13 (torch.save, zip format, pickle protocol 2).
const inflate = (d: Uint8Array): Uint8Array => new Uint8Array(inflateRawSync(d));

describe('PyTorch checkpoints', () => {
  it('finds the state dict under state_dict and rebuilds every tensor (offsets, strides, dtypes)', () => {
    const ck = readPth(fs.readFileSync(path.join(FIXTURES, 'synthetic.pt')), 'synthetic.pt');
    expect(ck.location).toBe('state_dict');
    const t = (k: string) => ck.tensors.get(`module.${k}`)!;
    expect(t('a').shape).toEqual([2, 3, 4]);
    expect(Array.from(t('a').data)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    // a[1]: storage offset 12 into a's storage.
    expect(t('view').shape).toEqual([3, 4]);
    expect(Array.from(t('view').data)).toEqual(Array.from({ length: 12 }, (_, i) => 12 + i));
    // arange(12).reshape(3,4).t(): element [i][j] = 4j + i.
    expect(t('bt').shape).toEqual([4, 3]);
    expect(Array.from(t('bt').data)).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    expect(Array.from(t('half').data)).toEqual([0.5, -1.5, 2]);
    expect(Array.from(t('long').data)).toEqual([7, -3]);
    expect(t('scalar').shape).toEqual([]);
    expect(Array.from(t('scalar').data)).toEqual([3.25]);
    expect(Array.from(t('param').data)).toEqual([1, 2]);
    expect([...ck.tensors.keys()]).toEqual(
      ['a', 'view', 'bt', 'half', 'long', 'scalar', 'param'].map((k) => `module.${k}`),
    );
  });

  it('reads deflated archives with an inflater, and says what is missing without one', () => {
    const bytes = fs.readFileSync(path.join(FIXTURES, 'synthetic_deflated.pt'));
    expect(() => readPth(bytes, 'd.pt')).toThrow(/d\.pt: 'synthetic\/data\.pkl' is deflated and no inflater was given/);
    const ck = readPth(bytes, 'd.pt', { inflateRaw: inflate });
    expect(Array.from(ck.tensors.get('module.bt')!.data)).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  });

  it('a trainer checkpoint of the config_a weights equals the safetensors file', async () => {
    const file = path.join(FIXTURES, 'config_a_checkpoint.pth');
    const loaded = await readWeightsFile(file);
    expect(loaded.format).toBe('pytorch');
    const ref = readSafetensors(path.join(FIXTURES, 'config_a', 'weights.safetensors')).tensors;
    expect([...loaded.tensors.keys()]).toEqual([...ref.keys()]);
    for (const [k, v] of ref) {
      expect(loaded.tensors.get(k)!.shape, k).toEqual(v.shape);
      expect(loaded.tensors.get(k)!.data, k).toEqual(v.data);
    }
  });

  it('rejects files that are not zip checkpoints with a clear message', () => {
    const legacy = new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc]);
    expect(() => readPth(legacy, 'old.pth')).toThrow(/old\.pth: not a zip-format PyTorch checkpoint/);
    expect(() => parseWeights(new Uint8Array([1, 2, 3]), 'x.bin')).toThrow(/x\.bin: too short/);
    expect(() => openZip(new Uint8Array(100), 'z.zip')).toThrow(/z\.zip: not a ZIP archive/);
  });

  it('unpickles without executing anything: unknown globals become inert records', () => {
    // pickle.dumps({'k': os.system('x')}-like payload): GLOBAL os.system, REDUCE with ('echo',).
    const enc = new TextEncoder();
    const parts = [
      [0x80, 0x02, 0x7d], // PROTO 2, EMPTY_DICT
      [0x58, 1, 0, 0, 0], // BINUNICODE 'k'
      [...enc.encode('k')],
      [0x63],
      [...enc.encode('os\nsystem\n')], // GLOBAL
      [0x58, 4, 0, 0, 0],
      [...enc.encode('echo')],
      [0x85, 0x52, 0x73, 0x2e], // TUPLE1, REDUCE, SETITEM, STOP
    ].flat();
    const obj = unpickle(new Uint8Array(parts)) as PyDict;
    const rec = obj.get('k') as { callable: { qualifiedName: string }; args: unknown[] };
    expect(rec.callable.qualifiedName).toBe('os.system');
    expect(rec.args).toEqual(['echo']);
    expect(() => unpickle(new Uint8Array([0x80, 0x02, 0xff]), {}, 'bad.pkl')).toThrow(
      /bad\.pkl: unsupported pickle opcode 0xff/,
    );
  });
});
