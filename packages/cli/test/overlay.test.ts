/**
 * `predict --overlay`: the truth is drawn as a second row when the case has a label map (its folder's -seg file,
 * or `--labels DIR`), and not when it has none; `--overlay-style contour` is accepted.
 */
import { mkdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mednext, tempDir } from './cli-helpers.js';
import { writePhantomCase, writeTinyCheckpoint } from './inference-helpers.js';

const tmp = tempDir('mednext-overlay-test-');

/** Width and height from a PNG's IHDR chunk. */
async function pngSize(file: string): Promise<[number, number]> {
  const png = await readFile(file);
  return [png.readUInt32BE(16), png.readUInt32BE(20)];
}

describe('predict --overlay', () => {
  const model = path.join(tmp, 'model.safetensors');
  let caseDir = '';
  let id = '';

  beforeAll(async () => {
    await writeTinyCheckpoint(model, 3);
    ({ dir: caseDir, id } = await writePhantomCase(path.join(tmp, 'data'), 11, [24, 24, 16]));
  }, 60_000);

  it('shows the truth beside the prediction when a label map is found, in one row otherwise', async () => {
    const withTruth = path.join(tmp, 'with');
    await mednext([
      'predict',
      caseDir,
      '-m',
      model,
      '--out',
      withTruth,
      '--overlay',
      '--overlay-style',
      'contour',
      '-q',
    ]);
    // Move the label map away: the case has no truth now, unless --labels points at it.
    const labels = path.join(tmp, 'labels');
    await mkdir(labels);
    await rename(path.join(caseDir, `${id}-seg.nii.gz`), path.join(labels, `${id}-seg.nii.gz`));
    const without = path.join(tmp, 'without');
    await mednext(['predict', caseDir, '-m', model, '--out', without, '--overlay', '-q']);
    const viaFlag = path.join(tmp, 'via-flag');
    await mednext(['predict', caseDir, '-m', model, '--out', viaFlag, '--overlay', '--labels', labels, '-q']);

    const [w1, h1] = await pngSize(path.join(withTruth, `${id}_axial.png`));
    const [w0, h0] = await pngSize(path.join(without, `${id}_axial.png`));
    // Axial panels: 24 x 24 voxels of 2 x 2.5 mm (the test affine) -> 24 x 30 px of 2 mm, scaled by
    // ceil(200 / 24) = 9 -> 270 px high; text bands of 26 px (scale 2).
    // The truth adds a titled row: one band and one row of panels.
    expect(w1).toBe(w0);
    expect(h1 - h0).toBe(26 + 270);
    expect(await pngSize(path.join(viaFlag, `${id}_axial.png`))).toEqual([w1, h1]);
  }, 180_000);
});
