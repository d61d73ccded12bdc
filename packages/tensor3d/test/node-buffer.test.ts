/**
 * Volumes whose data is a Node Buffer (what `fs.readFile` returns, a Uint8Array subclass) must come out of the
 * volume operations as plain typed arrays, without Node's `Buffer()` deprecation warning, which used to break the
 * progress bars of training.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  allocateLike,
  cropVolume,
  extractPatch,
  flipSpatial,
  padChannels,
  uncropVolume,
  type ChannelVolume,
} from '../src/volume/index.js';

describe('volume operations on Node Buffers', () => {
  it('allocateLike gives the standard typed array of the same element type', () => {
    const fromBuffer = allocateLike(Buffer.from([1, 2, 3]), 4);
    expect(Object.getPrototypeOf(fromBuffer)).toBe(Uint8Array.prototype);
    expect([...fromBuffer]).toEqual([0, 0, 0, 0]);
    expect(allocateLike(new Float32Array(2), 3)).toBeInstanceOf(Float32Array);
    expect(allocateLike(new Int16Array(2), 3)).toBeInstanceOf(Int16Array);
    expect(() => allocateLike(new BigInt64Array(1) as unknown as Uint8Array, 1)).toThrow(/unsupported voxel array/);
  });

  it('extractPatch, flips, crops and pads of a Buffer volume return Uint8Arrays with the right values', () => {
    // 1 channel, 2x2x3, values 0..11.
    const volume: ChannelVolume<Uint8Array> = { data: Buffer.from([...Array(12).keys()]), shape: [1, 2, 2, 3] };
    const patch = extractPatch(volume, [1, 0, 1], [1, 2, 3]);
    expect(Object.getPrototypeOf(patch.data)).toBe(Uint8Array.prototype);
    expect([...patch.data]).toEqual([7, 8, 0, 10, 11, 0]);
    const flipped = flipSpatial(volume.data, [2, 2, 3], [2]);
    expect(Object.getPrototypeOf(flipped)).toBe(Uint8Array.prototype);
    expect([...flipped.subarray(0, 3)]).toEqual([2, 1, 0]);
    const cropped = cropVolume(
      { data: Buffer.from([...Array(12).keys()]), shape: [2, 2, 3] },
      {
        start: [1, 1, 0],
        end: [2, 2, 2],
      },
    );
    expect(Object.getPrototypeOf(cropped.data)).toBe(Uint8Array.prototype);
    expect([...cropped.data]).toEqual([9, 10]);
    const back = uncropVolume(
      { data: Buffer.from([9, 10]), shape: [1, 1, 2] },
      { start: [1, 1, 0], end: [2, 2, 2] },
      [2, 2, 3],
    );
    expect(Object.getPrototypeOf(back.data)).toBe(Uint8Array.prototype);
    expect(back.data[9]).toBe(9);
    const padded = padChannels(volume, [2, 4, 3]);
    expect(Object.getPrototypeOf(padded.volume.data)).toBe(Uint8Array.prototype);
    expect(padded.volume.shape).toEqual([1, 2, 4, 3]);
  });

  it('raises no deprecation in a process that turns deprecations into errors', async () => {
    const entry = fileURLToPath(new URL('../dist/volume/index.js', import.meta.url));
    const script =
      `const { extractPatch } = await import(${JSON.stringify(entry)});` +
      'const p = extractPatch({ data: Buffer.alloc(8, 1), shape: [1, 2, 2, 2] }, [0, 0, 0], [2, 2, 2]);' +
      'console.log(p.data.constructor.name, p.data.length);';
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--throw-deprecation',
      '--input-type=module',
      '-e',
      script,
    ]);
    expect(stdout.trim()).toBe('Uint8Array 8');
  });
});
