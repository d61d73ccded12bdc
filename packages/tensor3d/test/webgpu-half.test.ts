/**
 * f16 storage of f32 tensors (packHalf / unpackHalf) on Dawn, against a float64 reference of IEEE binary16
 * rounding written from the format's definition (11-bit significand, exponents -14..15, subnormal quantum 2⁻²⁴,
 * round to nearest with ties to even, overflow to infinity), not from the kernel's bit manipulation. The round trip
 * f32 → f16 → f32 must equal the reference exactly (signed zeros and NaN included), on odd lengths.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuRuntime, halfTensor, packHalf, unpackHalf, packHalfKernel, unpackHalfKernel } from '../src/webgpu/index.js';
import { WEBGPU_DECLARED_ABSENT, testGpuDevice } from './helpers/webgpu-device.js';

/** Rounds to the nearest integer, ties to even. */
function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const frac = v - floor;
  if (frac > 0.5) return floor + 1;
  if (frac < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The binary16 value nearest to `x` (an f32), as a number: the reference of the round trip. */
function f16Round(x: number): number {
  if (Number.isNaN(x) || !Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  // The spacing of binary16 values around a: 2^(e - 10) for a normal of exponent e, 2^-24 below 2^-14.
  let e = Math.floor(Math.log2(a));
  // log2 may round across a power of two: settle the exponent exactly.
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  e = Math.max(e, -14);
  const quantum = 2 ** (e - 10);
  const r = roundHalfEven(a / quantum) * quantum;
  // Past the largest finite half (65504) by half a spacing or more: infinity (IEEE overflow under round-to-nearest).
  const rounded = r > 65504 ? Infinity : r;
  return x < 0 ? -rounded : rounded === 0 ? 0 : rounded;
}

/** The float32 nearest to `v`. */
const f32 = (v: number): number => Math.fround(v);

describe.skipIf(WEBGPU_DECLARED_ABSENT)('f16 storage kernels (WebGPU)', () => {
  let rt: GpuRuntime;
  beforeAll(async () => {
    const { device } = await testGpuDevice();
    rt = new GpuRuntime(device);
  });
  afterAll(() => rt?.dispose());

  /** Packs and unpacks `values` on the GPU; returns the packed words and the unpacked values. */
  async function roundTrip(values: Float32Array): Promise<{ words: Uint32Array; back: Float32Array }> {
    const input = rt.upload(values, 'input');
    const half = halfTensor(rt, values.length, 'half');
    const back = rt.tensor(values.length, 'back');
    packHalf(rt, { input, output: half });
    unpackHalf(rt, { input: half, output: back });
    const [wordData, backData] = await rt.finish([half.words, back]);
    for (const t of [input, half.words, back]) rt.release(t);
    return { words: new Uint32Array(wordData.buffer), back: backData };
  }

  function expectRoundTrip(values: Float32Array, back: Float32Array): void {
    expect(back.length).toBe(values.length);
    for (let i = 0; i < values.length; i++) {
      const want = f16Round(values[i]);
      const got = back[i];
      if (Number.isNaN(want)) expect(Number.isNaN(got), `element ${i} (${values[i]})`).toBe(true);
      else expect(Object.is(got, want), `element ${i}: f16(${values[i]}) = ${want}, got ${got}`).toBe(true);
    }
  }

  it('the reference: known binary16 values', () => {
    expect(f16Round(1 + 2 ** -11)).toBe(1); // tie, to the even 1
    expect(f16Round(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9); // tie, to the even 1 + 2·2^-10
    expect(f16Round(65504)).toBe(65504);
    expect(f16Round(65519.99)).toBe(65504);
    expect(f16Round(65520)).toBe(Infinity);
    expect(f16Round(2 ** -24)).toBe(2 ** -24);
    expect(f16Round(2 ** -25)).toBe(0);
    expect(f16Round(3 * 2 ** -25)).toBe(2 ** -23);
    expect(f16Round(0.1)).toBe(0.0999755859375);
    expect(Object.is(f16Round(-1e-9), -0)).toBe(true);
  });

  it('rounds to nearest even at the edges: ties, subnormals, overflow to infinity, zeros, NaN', async () => {
    const special = [
      0,
      -0,
      1,
      -1,
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      1 + 2 ** -11 + 2 ** -20,
      0.1,
      -0.1,
      1 / 3,
      65504,
      65519.99,
      65520,
      -65520,
      1e6,
      -1e30,
      Infinity,
      -Infinity,
      NaN,
      2 ** -14,
      2 ** -14 - 2 ** -25, // the largest subnormal's neighbourhood: rounds up to the smallest normal
      2 ** -15,
      2 ** -24,
      -(2 ** -24),
      2 ** -25, // tie between 0 and 2^-24: 0
      2 ** -25 + 2 ** -40,
      3 * 2 ** -25, // tie between 1 and 2 quanta: 2
      5 * 2 ** -25, // tie between 2 and 3 quanta: 2
      2 ** -26,
      1e-40, // an f32 subnormal
      -1e-45,
    ].map(f32);
    const values = Float32Array.from(special);
    expect(values.length % 2).toBe(1);
    const { words, back } = await roundTrip(values);
    expectRoundTrip(values, back);
    // Layout: element 2i in the low half of word i; the odd last word's high half is zero.
    expect(words.length).toBe(Math.ceil(values.length / 2));
    expect(words[0]).toBe(0x8000_0000); // [+0, -0]
    expect(words[1]).toBe(0xbc00_3c00); // [1, -1]
    expect(words[words.length - 1] >>> 16).toBe(0);
  });

  it('random values over every magnitude, odd lengths 1, 7, 1001 and 200001', async () => {
    let state = 12345;
    const next = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    for (const n of [1, 7, 1001, 200_001]) {
      // Sign, exponent 2^-30 .. 2^20 and mantissa at random: subnormals, normals and overflow all occur.
      const values = Float32Array.from({ length: n }, () => (next() < 0.5 ? -1 : 1) * 2 ** (next() * 50 - 30));
      const { back } = await roundTrip(values);
      expectRoundTrip(values, back);
      // Unpacking is exact: packing the unpacked values again changes nothing.
      const again = await roundTrip(back);
      expect(Array.from(again.back)).toEqual(Array.from(back));
    }
  });

  it('a packed tensor is half the bytes of its f32 tensor in the runtime accounting', () => {
    const { device } = rt;
    const fresh = new GpuRuntime(device);
    try {
      fresh.tensor(1000, 'f32');
      const before = fresh.allocatedBytes;
      expect(before).toBe(4000);
      halfTensor(fresh, 1000, 'half');
      expect(fresh.allocatedBytes - before).toBe(2000);
      halfTensor(fresh, 7, 'odd');
      expect(fresh.allocatedBytes - before).toBe(2016);
    } finally {
      fresh.dispose();
    }
  });

  it('declares raw 32-bit bindings and rejects mismatched tensors by name', () => {
    expect(packHalfKernel.bindings({}).map((b) => b.type)).toEqual(['u32', 'u32']);
    expect(unpackHalfKernel.bindings({}).map((b) => b.type)).toEqual(['u32', 'u32']);
    const x = rt.tensor(5, 'x');
    const wrong = halfTensor(rt, 4, 'wrong');
    expect(() => packHalf(rt, { input: x, output: wrong })).toThrow(
      /packHalf: output holds 4 halves in 2 words, expected 5 in 3 for input 'x'/,
    );
    expect(() => unpackHalf(rt, { input: wrong, output: x })).toThrow(/unpackHalf: input holds 4 halves/);
    expect(() => halfTensor(rt, 0, 'empty')).toThrow(/bad length 0/);
    rt.release(x);
    rt.release(wrong.words);
  });
});
