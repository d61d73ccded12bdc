/**
 * Annotated overlay figures: contour style, titled rows (prediction beside truth), orientation letters from the
 * axis codes, the slice index, modality names and a legend in the label colours.
 */
import { describe, expect, it } from 'vitest';
import { drawText, textWidth } from '../src/demo/font.js';
import { edgeLetters, renderFigure, renderOverlay, type RgbImage } from '../src/demo/overlay.js';

const shape: [number, number, number] = [7, 7, 3];
const image = { data: new Float32Array(147).fill(100), shape, spacing: [1, 1, 1] as [number, number, number] };
image.data[0] = 0; // a window that is not flat
const block = { data: new Uint8Array(147), shape };
for (let x = 2; x <= 4; x++) for (let y = 2; y <= 4; y++) block.data[(x * 7 + y) * 3 + 1] = 2;
const RED: [number, number, number] = [255, 0, 0];

function pixel(img: RgbImage, x: number, y: number): number[] {
  const o = (y * img.width + x) * 3;
  return Array.from(img.rgb.subarray(o, o + 3));
}

describe('overlay styles', () => {
  it('contour draws the outline of a label in its colour and leaves the inside as the image', () => {
    const fill = renderOverlay([image], block, 'axial', [3, 3, 1], { colours: { 2: RED }, alpha: 1, minPanelSize: 1 });
    const contour = renderOverlay([image], block, 'axial', [3, 3, 1], {
      colours: { 2: RED },
      minPanelSize: 1,
      style: 'contour',
    });
    // axial: column = x, row = 6 - y. Voxel (3, 3) is inside the 3x3 block, (2, 3) on its edge.
    expect(pixel(fill, 3, 3)).toEqual(RED);
    expect(pixel(contour, 3, 3)).toEqual(
      pixel(renderOverlay([image], undefined, 'axial', [3, 3, 1], { minPanelSize: 1 }), 3, 3),
    );
    expect(pixel(contour, 3, 3)).not.toEqual(RED);
    expect(pixel(contour, 2, 3)).toEqual(RED);
    expect(pixel(contour, 4, 4)).toEqual(RED);
    expect(pixel(contour, 1, 3)).not.toEqual(RED);
  });
});

describe('figures', () => {
  it('puts the letters of the axis directions at the panel edges', () => {
    expect(edgeLetters('axial', 'LPS')).toEqual({ left: 'R', right: 'L', top: 'P', bottom: 'A' });
    expect(edgeLetters('coronal', 'RAS')).toEqual({ left: 'L', right: 'R', top: 'S', bottom: 'I' });
    expect(edgeLetters('sagittal', 'RAS')).toEqual({ left: 'P', right: 'A', top: 'S', bottom: 'I' });
  });

  it('stacks titled rows under a header and the modality names, with a legend in the label colours', () => {
    const options = {
      colours: { 2: RED },
      minPanelSize: 30,
      names: ['t1n', 't2f'],
      legend: [{ value: 2, name: 'SNFH' }],
      orientation: 'RAS',
    };
    const single = renderOverlay([image, image], block, 'axial', [3, 3, 1], options);
    const figure = renderFigure(
      [image, image],
      [
        { title: 'prediction', label: block },
        { title: 'truth', label: block },
      ],
      'axial',
      [3, 3, 1],
      options,
    );
    // Panels of 7 voxels scaled by ceil(30 / 7) = 5; text at scale 1 (panels under 160 px): bands of 7 + 2 * 3 px.
    const band = 13;
    expect(single.height).toBe(35);
    // As wide as the panels, or the header when that is wider (it names plane, slice and voxel index).
    expect(figure.width).toBe(Math.max(single.width, textWidth('axial slice 2 of 3 (z=1)', 1) + 2 * 3));
    // header, names, two row titles, two panel rows, legend
    expect(figure.height).toBe(band + band + 2 * (band + 35) + band);
    // The first row's panels are the plain overlay, except where the orientation letters are drawn.
    const rowTop = 3 * band;
    expect(pixel(figure, 17, rowTop + 17)).toEqual(pixel(single, 17, 17));
    // The legend swatch has the label colour.
    expect(pixel(figure, 3 + 3, figure.height - band + 3 + 3)).toEqual(RED);
    // The header has text in it; the slice index is 1-based with the 0-based voxel index.
    let ink = 0;
    for (let y = 0; y < band; y++) for (let x = 0; x < figure.width; x++) if (pixel(figure, x, y)[0]! > 200) ink++;
    expect(ink).toBeGreaterThan(50);
    expect(() => renderFigure([image], [], 'axial', [3, 3, 1])).toThrow(/no rows/);
  });

  it('draws glyphs exactly (5x7 at scale 1, doubled at scale 2)', () => {
    const img: RgbImage = { width: 12, height: 16, rgb: new Uint8Array(12 * 16 * 3) };
    drawText(img, 'i', 0, 0, 1, [255, 255, 255]);
    const rows: string[] = [];
    for (let y = 0; y < 7; y++) {
      let row = '';
      for (let x = 0; x < 5; x++) row += pixel(img, x, y)[0] === 255 ? '#' : '.';
      rows.push(row);
    }
    expect(rows).toEqual(['.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.']);
    expect(textWidth('AB', 1)).toBe(11);
    expect(textWidth('AB', 2)).toBe(22);
    const big: RgbImage = { width: 12, height: 16, rgb: new Uint8Array(12 * 16 * 3) };
    drawText(big, 'I', 0, 0, 2, [255, 255, 255]);
    expect(pixel(big, 2, 0)).toEqual([255, 255, 255]);
    expect(pixel(big, 3, 1)).toEqual([255, 255, 255]);
    expect(pixel(big, 0, 0)).toEqual([0, 0, 0]);
  });
});
