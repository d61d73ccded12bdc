import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NiftiError, decodeNifti, decodeNiftiSync, parseHeader, type NiftiErrorCode } from '../src/index.js';
import { readNifti } from '../src/node/index.js';
import { EXPECTED, FIXTURES } from './helpers.js';

/** The typed error each broken fixture must produce. */
const EXPECTED_CODES: Record<string, NiftiErrorCode> = {
  'broken/truncated_data.nii': 'TRUNCATED_DATA',
  'broken/truncated_header.nii': 'TRUNCATED_HEADER',
  'broken/bad_sizeof_hdr.nii': 'BAD_SIZEOF_HDR',
  'broken/bad_magic.nii': 'BAD_MAGIC',
  'broken/corrupt_crc.nii.gz': 'BAD_GZIP',
  'broken/corrupt_isize.nii.gz': 'BAD_GZIP',
  'broken/truncated_gzip.nii.gz': 'BAD_GZIP',
  'broken/dims_overflow_nifti1.nii': 'TOO_LARGE',
  'broken/dims_overflow_nifti2.nii': 'TOO_LARGE',
  'broken/negative_dim.nii': 'BAD_DIM',
  'broken/bad_dim0.nii': 'BAD_DIM',
  'broken/zero_dim.nii': 'BAD_DIM',
  'broken/bad_datatype.nii': 'BAD_DATATYPE',
  'broken/bitpix_mismatch.nii': 'BITPIX_MISMATCH',
  'broken/bad_vox_offset.nii': 'BAD_VOX_OFFSET',
  'broken/vox_offset_past_eof.nii': 'BAD_VOX_OFFSET',
};

async function rejection(promise: Promise<unknown>): Promise<NiftiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(NiftiError);
    return error as NiftiError;
  }
  throw new Error('expected a rejection');
}

describe('every broken fixture is rejected with its typed error', () => {
  it('covers the whole broken list of expected.json', () => {
    expect(Object.keys(EXPECTED_CODES).sort()).toEqual(EXPECTED.broken.map((b) => b.file).sort());
  });

  it.each(EXPECTED.broken)('$file', async ({ file }) => {
    const path = FIXTURES + file;
    const error = await rejection(readNifti(path));
    expect(error.code).toBe(EXPECTED_CODES[file]);
    expect(error.file).toBe(path);
    expect(error.message).toContain(path);
    // The browser path (web DecompressionStream) must reject the same way.
    const web = await rejection(decodeNifti(readFileSync(path), { file }));
    expect(web.code).toBe(EXPECTED_CODES[file]);
  });
});

describe('messages name the problem', () => {
  it.each([
    ['broken/negative_dim.nii', 'dim[2] is -13'],
    ['broken/zero_dim.nii', 'dim[2] is 0'],
    ['broken/bad_dim0.nii', 'dim[0] is 9'],
    ['broken/bitpix_mismatch.nii', 'bitpix is 32'],
    ['broken/bad_datatype.nii', 'datatype 9999'],
    ['broken/truncated_data.nii', 'only 1001 are present'],
    ['broken/vox_offset_past_eof.nii', 'past the end'],
    ['broken/corrupt_crc.nii.gz', 'gzip'],
  ])('%s says %s', async (file, text) => {
    const error = await rejection(readNifti(FIXTURES + file));
    expect(error.message).toContain(text);
  });
});

describe('limits', () => {
  it('rejects a voxel count over maxBytes before allocating', () => {
    const bytes = readFileSync(FIXTURES + 'int16.nii');
    expect(() => parseHeader(bytes, 'int16.nii', { maxBytes: 2000 })).toThrow(
      /2002 data bytes, over the limit of 2000/,
    );
    expect(parseHeader(bytes, 'int16.nii', { maxBytes: 2002 }).dataBytes).toBe(2002);
  });

  it('rejects a pair header passed as a single file and gz without a sync gunzip', () => {
    const hdr = readFileSync(FIXTURES + 'pair_float32.hdr');
    expect(() => decodeNiftiSync(hdr)).toThrow(/pair/);
    const gz = readFileSync(FIXTURES + 'int16.nii.gz');
    expect(() => decodeNiftiSync(gz)).toThrow(NiftiError);
  });

  it('reports a missing file', async () => {
    const error = await rejection(readNifti(FIXTURES + 'does_not_exist.nii'));
    expect(error.code).toBe('MISSING_FILE');
  });
});
