/**
 * Hostile and damaged input: gzip bombs, non-finite geometry, mangled magic, wrong dimensionality.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  BoundedOutput,
  InflateLimitError,
  NiftiError,
  NiftiImage,
  assembleBratsCase,
  decodeNifti,
  encodeNiftiRaw,
  orientationCodes,
  webGunzipBounded,
} from '../src/index.js';
import { nodeGunzipBounded, readNifti, removeStaleTemporaryFiles, temporaryName } from '../src/node/index.js';
import { FIXTURES } from './helpers.js';

async function rejection(promise: Promise<unknown>): Promise<NiftiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(NiftiError);
    return error as NiftiError;
  }
  throw new Error('expected a rejection');
}

/** A valid 2x2x2 float32 image followed by `extra` zero bytes, gzipped: the header says 32 data bytes. */
function gzipBomb(extra: number): { gz: Uint8Array; implied: number } {
  const image = NiftiImage.fromCOrder(new Float32Array(8).fill(1), [2, 2, 2], { spacing: [1, 1, 1] });
  const raw = encodeNiftiRaw(image);
  const padded = new Uint8Array(raw.length + extra);
  padded.set(raw);
  return { gz: gzipSync(padded, { level: 9 }), implied: raw.length };
}

describe('gzip bombs', () => {
  // 64 MiB of zeros compress to about 64 KiB.
  const bomb = gzipBomb(64 << 20);

  it.each([
    ['node:zlib', nodeGunzipBounded],
    ['DecompressionStream', webGunzipBounded],
  ] as const)('%s: stops at the size the header implies with a typed error', async (_name, boundedDecompress) => {
    expect(bomb.gz.length).toBeLessThan(1 << 20);
    const error = await rejection(decodeNifti(bomb.gz, { file: 'bomb.nii.gz', boundedDecompress }));
    expect(error.code).toBe('TOO_LARGE');
    expect(error.file).toBe('bomb.nii.gz');
    expect(error.message).toContain(`more than the ${bomb.implied} bytes its header implies`);
    // With the gzip trailer cut off, a decoder that inflated everything would report a truncated stream:
    // TOO_LARGE proves the inflation stopped before reaching the end.
    const cut = bomb.gz.subarray(0, bomb.gz.length - 1000);
    const early = await rejection(decodeNifti(cut, { file: 'cut.nii.gz', boundedDecompress }));
    expect(early.code).toBe('TOO_LARGE');
  });

  it('readNifti rejects a bomb file (node path) and still reads an exact file', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const dir = mkdtempSync(`${os.tmpdir()}/nifti-bomb-`);
    try {
      writeFileSync(`${dir}/bomb.nii.gz`, bomb.gz);
      const error = await rejection(readNifti(`${dir}/bomb.nii.gz`));
      expect(error.message).toContain(`${dir}/bomb.nii.gz: gzip stream inflates to more than`);
      writeFileSync(`${dir}/ok.nii.gz`, gzipBomb(0).gz);
      expect((await readNifti(`${dir}/ok.nii.gz`)).shape).toEqual([2, 2, 2]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a header that fails validation stops the inflation at once, with its own error', async () => {
    const raw = new Uint8Array(readFileSync(FIXTURES + 'int16.nii'));
    new DataView(raw.buffer).setInt16(70, 9999, true); // datatype
    const padded = new Uint8Array(raw.length + (32 << 20));
    padded.set(raw);
    const error = await rejection(
      decodeNifti(gzipSync(padded), { file: 'bad.nii.gz', boundedDecompress: nodeGunzipBounded }),
    );
    expect(error.code).toBe('BAD_DATATYPE');
  });

  it('BoundedOutput asks for the limit until it has enough bytes, then enforces it', () => {
    const seen: number[] = [];
    const out = new BoundedOutput((head) => {
      seen.push(head.length);
      return head.length >= 4 ? 6 : undefined;
    });
    out.push(new Uint8Array([1, 2]));
    out.push(new Uint8Array([3, 4]));
    expect(seen).toEqual([2, 4]);
    expect(() => out.push(new Uint8Array([5, 6, 7]))).toThrow(InflateLimitError);
    const exact = new BoundedOutput(() => 3);
    exact.push(new Uint8Array([1, 2, 3]));
    expect(Array.from(exact.finish())).toEqual([1, 2, 3]);
  });
});

/** int16.nii with `edit` applied to a copy of its bytes. */
function edited(edit: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const bytes = new Uint8Array(readFileSync(FIXTURES + 'sform_only.nii'));
  edit(new DataView(bytes.buffer), bytes);
  return bytes;
}

describe('messages say what is wrong', () => {
  it('an sform with NaN is rejected as such, not as a mismatch or with an orientation', async () => {
    const bytes = edited((v) => v.setFloat32(280 + 4, Number.NaN, true)); // srow_x[1]
    const error = await rejection(decodeNifti(bytes, { file: 'nan-affine.nii' }));
    expect(error.code).toBe('BAD_AFFINE');
    expect(error.message).toMatch(
      /^nan-affine\.nii: sform \(sform_code \d\) srow_x\/y\/z holds non-finite values \[.*NaN/,
    );
    expect(() =>
      orientationCodes([
        [Number.NaN, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
      ]),
    ).toThrow(/holds non-finite values; it has no orientation/);
  });

  it('NaN voxel sizes are rejected', async () => {
    const bytes = edited((v) => v.setFloat32(76 + 8, Number.POSITIVE_INFINITY, true)); // pixdim[2]
    const error = await rejection(decodeNifti(bytes, { file: 'inf-pixdim.nii' }));
    expect(error.message).toContain('pixdim[1..3] (voxel size) holds non-finite values [');
  });

  it('a NIfTI-2 file whose magic tail was mangled shows the bytes and the likely cause', async () => {
    const bytes = new Uint8Array(readFileSync(FIXTURES + 'nifti2_int16.nii'));
    bytes[8] = 0x0a; // \r\n -> \n\n, as a text-mode transfer would
    const error = await rejection(decodeNifti(bytes, { file: 'n2.nii' }));
    expect(error.code).toBe('BAD_MAGIC');
    expect(error.message).toContain('NIfTI-2 magic is "n+2\\0\\n\\n\\x1a\\n"');
    expect(error.message).toContain('only these trailing bytes are wrong');
    bytes[5] = 0x3f;
    const other = await rejection(decodeNifti(bytes, { file: 'n2.nii' }));
    expect(other.message).toContain('NIfTI-2 magic is "n?2');
    expect(other.message).not.toContain('trailing bytes');
  });

  it('a case refuses 2-D images like 4-D ones, and accepts 3-D stored with trailing 1s', () => {
    const image = (shape: number[]) =>
      new NiftiImage(
        {
          ...NiftiImage.fromCOrder(new Float32Array(1), [1, 1, 1]).header,
          dim: [shape.length, ...shape, 1, 1, 1, 1, 1, 1, 1].slice(0, 8),
        },
        new Float32Array(shape.reduce((a, b) => a * b, 1)),
      );
    const named = (shape: number[], name = 't1n') => ({ name, file: `${name}.nii`, image: image(shape) });
    expect(() => assembleBratsCase('c', [named([4, 5])])).toThrow(
      /t1n\.nii: t1n is 2-D with shape \[4, 5\]; a case needs 3-D volumes/,
    );
    expect(() => assembleBratsCase('c', [named([4, 5, 3, 2])])).toThrow(/t1n is 4-D with shape \[4, 5, 3, 2\]/);
    expect(() => assembleBratsCase('c', [named([4, 5, 3]), named([4, 5], 't1c')])).toThrow(/t1c is 2-D/);
    expect(assembleBratsCase('c', [named([4, 5, 3, 1])]).image.shape).toEqual([1, 4, 5, 3]);
  });

  it('two images with the same NaN affine are reported as a bad affine, not as differing', () => {
    const nan = [
      [Number.NaN, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
    const make = (name: string) => {
      const image = NiftiImage.fromCOrder(new Float32Array(8), [2, 2, 2]);
      image.header.sformCode = 1;
      image.header.srowX = [...nan[0]!];
      image.header.srowY = [...nan[1]!];
      image.header.srowZ = [...nan[2]!];
      return { name, file: `${name}.nii`, image };
    };
    expect(() => assembleBratsCase('c', [make('t1n'), make('t1c')])).toThrow(
      /^t1n\.nii: t1n has an affine with non-finite values$/,
    );
  });
});

describe('debris of killed writes', () => {
  it('removeStaleTemporaryFiles deletes only older temporary files of dead (or reused) pids', async () => {
    const { mkdtempSync, writeFileSync, utimesSync, readdirSync, rmSync } = await import('node:fs');
    const { spawnSync } = await import('node:child_process');
    const os = await import('node:os');
    const dir = mkdtempSync(`${os.tmpdir()}/nifti-debris-`);
    try {
      // A pid that surely is not running any more: a child that has exited.
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
        encoding: 'utf8',
      }).stdout;
      const old = new Date(Date.now() - 3600_000);
      const files = {
        deadOld: `.a.nii.gz.${dead}.0123abcd.tmp`,
        ownPidOld: `.b.nii.gz.${process.pid}.89abcdef.tmp`,
        liveOld: `.c.nii.gz.${process.ppid}.00000000.tmp`,
        deadNew: `.d.nii.gz.${dead}.11111111.tmp`,
        notOurs: `.e.nii.gz.${dead}.tmp`,
        output: 'a.nii.gz',
      };
      for (const name of Object.values(files)) writeFileSync(`${dir}/${name}`, 'x');
      for (const name of [files.deadOld, files.ownPidOld, files.liveOld, files.notOurs, files.output])
        utimesSync(`${dir}/${name}`, old, old);
      // deadNew is newer than this process: it may belong to a writer on another machine.
      utimesSync(`${dir}/${files.deadNew}`, new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
      const removed = await removeStaleTemporaryFiles(dir);
      expect(removed.sort()).toEqual([files.deadOld, files.ownPidOld].sort());
      expect(readdirSync(dir).sort()).toEqual([files.liveOld, files.deadNew, files.notOurs, files.output].sort());
      expect(await removeStaleTemporaryFiles(`${dir}/missing`)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('temporaryName follows the pattern the cleanup looks for', () => {
    const name = temporaryName('/x/y/case.nii.gz');
    expect(name).toMatch(new RegExp(`^/x/y/\\.case\\.nii\\.gz\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`));
  });
});
