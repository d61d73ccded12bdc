import { describe, expect, it } from 'vitest';
import { matchCaseFiles } from '../src/inference/case-files.js';

const MODALITIES = ['t1n', 't1c', 't2w', 't2f'];

describe('matchCaseFiles', () => {
  it('matches files in any order and any case, picks up the label map and lists the rest as ignored', () => {
    const names = [
      'BraTS-SSA-00002-000/BraTS-SSA-00002-000-T2F.nii.gz',
      'BraTS-SSA-00002-000/README.txt',
      'BraTS-SSA-00002-000/BraTS-SSA-00002-000-t1n.nii',
      'BraTS-SSA-00002-000/BraTS-SSA-00002-000-seg.nii.gz',
      'BraTS-SSA-00002-000/BraTS-SSA-00002-000-t2w.nii.gz',
      'BraTS-SSA-00002-000/BraTS-SSA-00002-000-t1c.nii.gz',
    ];
    expect(matchCaseFiles(names, MODALITIES)).toEqual({
      id: 'BraTS-SSA-00002-000',
      modalities: [2, 5, 4, 0],
      label: 3,
      ignored: [1],
    });
    const noLabel = matchCaseFiles(names, MODALITIES, { label: false });
    expect(noLabel.label).toBeUndefined();
    expect(noLabel.ignored).toEqual([1, 3]);
  });

  it('names the missing modalities and the files given', () => {
    expect(() => matchCaseFiles(['X-t1n.nii.gz', 'X-t1c.nii.gz'], MODALITIES)).toThrow(
      /missing \*-t2w\.nii\.gz, \*-t2f\.nii\.gz \(files given: X-t1n\.nii\.gz, X-t1c\.nii\.gz\)/,
    );
    expect(() => matchCaseFiles([], MODALITIES)).toThrow(/files given: none/);
  });

  it('refuses two files for one modality or label map, and files of different cases', () => {
    const four = MODALITIES.map((m) => `X-${m}.nii.gz`);
    expect(() => matchCaseFiles([...four, 'Y-t1n.nii.gz'], MODALITIES)).toThrow(
      /several files for t1n: X-t1n\.nii\.gz, Y-t1n\.nii\.gz/,
    );
    expect(() => matchCaseFiles([...four, 'X-seg.nii', 'X-seg.nii.gz'], MODALITIES)).toThrow(/several files for seg/);
    expect(() => matchCaseFiles([...four.slice(0, 3), 'Y-t2f.nii.gz'], MODALITIES)).toThrow(
      /different cases \(t1n: X, t1c: X, t2w: X, t2f: Y\)/,
    );
    expect(() => matchCaseFiles([...four, 'Y-seg.nii.gz'], MODALITIES)).toThrow(/seg: Y/);
  });

  it('gives an empty ID for files named only by modality (the caller names the case)', () => {
    expect(matchCaseFiles(['-t1n.nii.gz'], ['t1n']).id).toBe('');
  });
});
