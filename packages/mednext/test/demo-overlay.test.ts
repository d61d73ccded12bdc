import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { labelCentre, overlayPngs, renderOverlay } from '../src/demo/overlay.js';
import { adler32, crc32, encodePng, zlibStored } from '../src/demo/png.js';

/** Reads back an 8-bit RGB PNG written by encodePng (filter 0 rows). */
function decodePng(png: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let o = 8;
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  while (o < png.length) {
    const len = view.getUint32(o);
    const type = String.fromCharCode(...png.subarray(o + 4, o + 8));
    expect(view.getUint32(o + 8 + len)).toBe(crc32(png, o + 4, o + 8 + len));
    if (type === 'IHDR') {
      width = view.getUint32(o + 8);
      height = view.getUint32(o + 12);
    }
    if (type === 'IDAT') idat.push(png.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 3 + 1)]).toBe(0);
    rgb.set(raw.subarray(y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1)), y * width * 3);
  }
  return { width, height, rgb };
}

describe('PNG encoder', () => {
  it('computes the standard checksums', () => {
    // CRC of the IEND chunk type and the classic check values
    expect(crc32(new TextEncoder().encode('IEND'))).toBe(0xae426082);
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(adler32(new TextEncoder().encode('Wikipedia'))).toBe(0x11e60398);
  });

  it('writes stored zlib streams that zlib inflates, across the 64 KiB block limit', () => {
    const data = Uint8Array.from({ length: 150_000 }, (_, i) => (i * 7) % 251);
    expect(new Uint8Array(inflateSync(zlibStored(data)))).toEqual(data);
  });

  it('round-trips pixels', () => {
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const png = encodePng(5, 3, rgb);
    expect(decodePng(png)).toEqual({ width: 5, height: 3, rgb });
    expect(() => encodePng(5, 3, rgb.subarray(1))).toThrow(/44 bytes for a 5x3/);
  });
});

describe('overlays', () => {
  const shape: [number, number, number] = [6, 5, 4];
  const image = {
    data: Float32Array.from({ length: 120 }, (_, i) => i + 1),
    shape,
    spacing: [1, 1, 2] as [number, number, number],
  };
  const label = { data: new Uint8Array(120), shape };
  label.data[(3 * 5 + 2) * 4 + 1] = 3;

  it('finds the label centre', () => {
    expect(labelCentre(label)).toEqual([3, 2, 1]);
    expect(labelCentre({ data: new Uint8Array(120), shape })).toEqual([3, 2, 2]);
  });

  it('colours labelled voxels and respects the voxel aspect ratio', () => {
    const img = renderOverlay([image, image], label, 'coronal', [3, 2, 1], {
      colours: { 3: [255, 0, 0] },
      alpha: 1,
      minPanelSize: 1,
    });
    // coronal: columns = x (6 voxels of 1 mm), rows = z (4 voxels of 2 mm -> 8 pixels); two panels + 4 px gap
    expect(img.height).toBe(8);
    expect(img.width).toBe(2 * 6 + 4);
    // voxel z = 1 is shown in rows 4..5 (z runs bottom to top), column x = 3
    for (const row of [4, 5]) {
      const o = (row * img.width + 3) * 3;
      expect(Array.from(img.rgb.subarray(o, o + 3))).toEqual([255, 0, 0]);
    }
    const o = (0 * img.width + 3) * 3;
    expect(img.rgb[o]).toBe(img.rgb[o + 1]);
  });

  it('writes three PNGs that decode', () => {
    const pngs = overlayPngs([image], label, { minPanelSize: 20 });
    expect(Object.keys(pngs).sort()).toEqual(['axial', 'coronal', 'sagittal']);
    const axial = decodePng(pngs.axial);
    expect(axial.width).toBe(6 * 4);
    expect(axial.height).toBe(5 * 4);
  });
});
