/**
 * A 5x7 pixel font (capitals, digits and a little punctuation) for the labels drawn into overlay pictures:
 * modality names, slice index, orientation letters and the legend. Lower case is drawn as upper case.
 */
import type { RgbImage } from './overlay.js';

/** Glyph rows, top to bottom, `#` = ink. */
const GLYPHS: Record<string, string> = {
  A: '.###.|#...#|#...#|#####|#...#|#...#|#...#',
  B: '####.|#...#|#...#|####.|#...#|#...#|####.',
  C: '.###.|#...#|#....|#....|#....|#...#|.###.',
  D: '####.|#...#|#...#|#...#|#...#|#...#|####.',
  E: '#####|#....|#....|####.|#....|#....|#####',
  F: '#####|#....|#....|####.|#....|#....|#....',
  G: '.###.|#...#|#....|#.###|#...#|#...#|.####',
  H: '#...#|#...#|#...#|#####|#...#|#...#|#...#',
  I: '.###.|..#..|..#..|..#..|..#..|..#..|.###.',
  J: '..###|...#.|...#.|...#.|...#.|#..#.|.##..',
  K: '#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#',
  L: '#....|#....|#....|#....|#....|#....|#####',
  M: '#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#',
  N: '#...#|#...#|##..#|#.#.#|#..##|#...#|#...#',
  O: '.###.|#...#|#...#|#...#|#...#|#...#|.###.',
  P: '####.|#...#|#...#|####.|#....|#....|#....',
  Q: '.###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#',
  R: '####.|#...#|#...#|####.|#.#..|#..#.|#...#',
  S: '.####|#....|#....|.###.|....#|....#|####.',
  T: '#####|..#..|..#..|..#..|..#..|..#..|..#..',
  U: '#...#|#...#|#...#|#...#|#...#|#...#|.###.',
  V: '#...#|#...#|#...#|#...#|#...#|.#.#.|..#..',
  W: '#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.',
  X: '#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#',
  Y: '#...#|#...#|.#.#.|..#..|..#..|..#..|..#..',
  Z: '#####|....#|...#.|..#..|.#...|#....|#####',
  '0': '.###.|#...#|#..##|#.#.#|##..#|#...#|.###.',
  '1': '..#..|.##..|..#..|..#..|..#..|..#..|.###.',
  '2': '.###.|#...#|....#|...#.|..#..|.#...|#####',
  '3': '#####|...#.|..#..|...#.|....#|#...#|.###.',
  '4': '...#.|..##.|.#.#.|#..#.|#####|...#.|...#.',
  '5': '#####|#....|####.|....#|....#|#...#|.###.',
  '6': '..##.|.#...|#....|####.|#...#|#...#|.###.',
  '7': '#####|....#|...#.|..#..|.#...|.#...|.#...',
  '8': '.###.|#...#|#...#|.###.|#...#|#...#|.###.',
  '9': '.###.|#...#|#...#|.####|....#|...#.|.##..',
  ' ': '.....|.....|.....|.....|.....|.....|.....',
  '=': '.....|.....|#####|.....|#####|.....|.....',
  '/': '....#|....#|...#.|..#..|.#...|#....|#....',
  '-': '.....|.....|.....|#####|.....|.....|.....',
  '.': '.....|.....|.....|.....|.....|.##..|.##..',
  ':': '.....|.##..|.##..|.....|.##..|.##..|.....',
  '(': '...#.|..#..|.#...|.#...|.#...|..#..|...#.',
  ')': '.#...|..#..|...#.|...#.|...#.|..#..|.#...',
  ',': '.....|.....|.....|.....|.##..|..#..|.#...',
  '?': '.###.|#...#|....#|...#.|..#..|.....|..#..',
};

/** Glyph width and height in font pixels, and the advance (glyph plus one column of space). */
export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
const ADVANCE = GLYPH_WIDTH + 1;

/** Width in pixels of `text` drawn at `scale`. */
export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (text.length * ADVANCE - 1) * scale;
}

/** Height in pixels of a line of text at `scale`. */
export function textHeight(scale: number): number {
  return GLYPH_HEIGHT * scale;
}

function glyph(ch: string): string[] {
  return (GLYPHS[ch.toUpperCase()] ?? GLYPHS['?']!).split('|');
}

function setPixel(image: RgbImage, x: number, y: number, colour: readonly [number, number, number]): void {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  const o = (y * image.width + x) * 3;
  image.rgb[o] = colour[0];
  image.rgb[o + 1] = colour[1];
  image.rgb[o + 2] = colour[2];
}

/**
 * Draws `text` with its top-left corner at (x, y); pixels outside the image are dropped. With `outline`, every
 * ink pixel gets a one-pixel border of that colour first, so the text stays legible over an image.
 */
export function drawText(
  image: RgbImage,
  text: string,
  x: number,
  y: number,
  scale: number,
  colour: readonly [number, number, number],
  outline?: readonly [number, number, number],
): void {
  const ink: [number, number][] = [];
  [...text].forEach((ch, k) => {
    const rows = glyph(ch);
    for (let r = 0; r < GLYPH_HEIGHT; r++)
      for (let c = 0; c < GLYPH_WIDTH; c++)
        if (rows[r]![c] === '#')
          for (let dy = 0; dy < scale; dy++)
            for (let dx = 0; dx < scale; dx++) ink.push([x + (k * ADVANCE + c) * scale + dx, y + r * scale + dy]);
  });
  if (outline)
    for (const [px, py] of ink)
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) setPixel(image, px + dx, py + dy, outline);
  for (const [px, py] of ink) setPixel(image, px, py, colour);
}

/** Fills a rectangle (clipped to the image). */
export function fillRect(
  image: RgbImage,
  x: number,
  y: number,
  width: number,
  height: number,
  colour: readonly [number, number, number],
): void {
  for (let r = y; r < y + height; r++) for (let c = x; c < x + width; c++) setPixel(image, c, r, colour);
}
