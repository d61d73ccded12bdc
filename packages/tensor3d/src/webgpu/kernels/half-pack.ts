/**
 * f16 storage without the `shader-f16` feature: an f32 tensor packed two IEEE binary16 values per 32-bit word
 * (element `2i` in the low half of word `i`, element `2i + 1` in the high half, as WGSL's `pack2x16float` lays
 * them out), and back. Half the bytes of the f32 tensor, on every adapter.
 *
 * The conversion is done on the bits with integer arithmetic rather than with `pack2x16float` /
 * `unpack2x16float`: WGSL leaves their rounding implementation-defined (either neighbour) and the result of an
 * out-of-range value indeterminate, and an adapter may flush subnormals. Here every adapter gives the same bits:
 * round to nearest, ties to even; magnitudes from 65520 up (those that round past the largest half, 65504) become
 * ±infinity; f16 subnormals are kept (down to 2⁻²⁴), smaller magnitudes round to a signed zero; NaN stays NaN.
 * Unpacking is exact.
 *
 * @example
 * ```ts
 * const half = halfTensor(rt, x.length, 'x.f16'); // ceil(n / 2) words: half the bytes
 * packHalf(rt, { input: x, output: half });
 * rt.release(x);
 * // ... later
 * const back = rt.tensor(half.length, 'x');
 * unpackHalf(rt, { input: half, output: back }); // x rounded to f16, as f32
 * ```
 */
import { defineKernel } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';

const WORKGROUP = 64;

/** `length` f16 values packed two per word in `words` (`ceil(length / 2)` words; a last odd half is 0). */
export interface GpuHalfTensor {
  readonly words: GpuTensor;
  /** Number of f16 values. */
  readonly length: number;
}

/** A packed-half tensor of `length` values from the runtime's pool (contents undefined). */
export function halfTensor(rt: GpuRuntime, length: number, label: string): GpuHalfTensor {
  if (!Number.isInteger(length) || length <= 0) throw new Error(`half tensor '${label}': bad length ${length}`);
  return { words: rt.tensor(Math.ceil(length / 2), label), length };
}

/** WGSL: the binary16 bits of an f32 given by its bits, rounded to nearest even. */
const WGSL_F32_TO_HALF = /* wgsl */ `
fn halfBits(x: u32) -> u32 {
  let sign = (x >> 16u) & 0x8000u;
  let e = (x >> 23u) & 0xffu;
  let m = x & 0x7fffffu;
  if (e == 255u) {
    // Infinity stays infinity; a NaN keeps its top payload bits and is made quiet (never turns into infinity).
    return sign | 0x7c00u | select(0u, 0x200u | (m >> 13u), m != 0u);
  }
  let ex = i32(e) - 127;
  if (ex > 15) { return sign | 0x7c00u; }
  if (ex >= -14) {
    // Normal half: drop 13 mantissa bits, ties to even; a carry into the exponent is the right result (up to
    // infinity from 65520 on).
    var h = (u32(ex + 15) << 10u) | (m >> 13u);
    let rest = m & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) == 1u)) { h += 1u; }
    return sign | h;
  }
  // Below 2^-25 (f32 zeros and subnormals included): rounds to zero.
  if (ex < -25) { return sign; }
  // Subnormal half: the significand (hidden bit included) in units of 2^-24, ties to even; 2^-14 is reached by a
  // carry, which is the smallest normal's bit pattern.
  let full = m | 0x800000u;
  let shift = u32(-ex - 1);
  var h = full >> shift;
  let rest = full & ((1u << shift) - 1u);
  let tie = 1u << (shift - 1u);
  if (rest > tie || (rest == tie && (h & 1u) == 1u)) { h += 1u; }
  return sign | h;
}
`;

/** WGSL: the f32 bits of a binary16 value given by its bits (exact). */
const WGSL_HALF_TO_F32 = /* wgsl */ `
fn floatBits(h: u32) -> u32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 31u) { return sign | 0x7f800000u | (m << 13u); }
  if (e == 0u) {
    // Zero or subnormal: m · 2^-24, a normal f32 (exact) or zero.
    return sign | bitcast<u32>(f32(m) * 5.9604644775390625e-8);
  }
  return sign | ((e + 112u) << 23u) | (m << 13u);
}
`;

/** The packing kernel: one thread per output word. */
export const packHalfKernel = defineKernel({
  name: 'packHalf',
  workgroupSize: WORKGROUP,
  params: { length: { type: 'u32', doc: 'f32 elements (the last word holds one when odd)' } },
  bindings: () => [
    { name: 'input', access: 'read', type: 'u32', doc: 'the f32 tensor, read as bits' },
    { name: 'output', access: 'read_write', type: 'u32', doc: 'ceil(length / 2) words of two halves' },
  ],
  body: () => /* wgsl */ `
${WGSL_F32_TO_HALF}
fn main(group: u32, local: u32) {
  let i = group * ${WORKGROUP}u + local;
  let first = 2u * i;
  if (first >= params.length) { return; }
  var high = 0u;
  if (first + 1u < params.length) { high = halfBits(input[first + 1u]); }
  output[i] = halfBits(input[first]) | (high << 16u);
}
`,
});

/** The unpacking kernel: one thread per output word pair. */
export const unpackHalfKernel = defineKernel({
  name: 'unpackHalf',
  workgroupSize: WORKGROUP,
  params: { length: { type: 'u32', doc: 'f32 elements written' } },
  bindings: () => [
    { name: 'input', access: 'read', type: 'u32', doc: 'ceil(length / 2) words of two halves' },
    { name: 'output', access: 'read_write', type: 'u32', doc: 'the f32 tensor, written as bits' },
  ],
  body: () => /* wgsl */ `
${WGSL_HALF_TO_F32}
fn main(group: u32, local: u32) {
  let i = group * ${WORKGROUP}u + local;
  let first = 2u * i;
  if (first >= params.length) { return; }
  let word = input[i];
  output[first] = floatBits(word & 0xffffu);
  if (first + 1u < params.length) { output[first + 1u] = floatBits(word >> 16u); }
}
`,
});

/** Records `output = f16(input)`, packed. */
export function packHalf(rt: GpuRuntime, args: { input: GpuTensor; output: GpuHalfTensor }): void {
  const n = args.input.length;
  if (args.output.length !== n || args.output.words.length !== Math.ceil(n / 2)) {
    throw new Error(
      `packHalf: output holds ${args.output.length} halves in ${args.output.words.length} words, ` +
        `expected ${n} in ${Math.ceil(n / 2)} for input '${args.input.label}'`,
    );
  }
  const words = args.output.words.length;
  rt.run(
    packHalfKernel,
    {},
    { length: n },
    { input: args.input, output: args.output.words },
    Math.ceil(words / WORKGROUP),
  );
}

/** Records `output = f32(input)` (exact). */
export function unpackHalf(rt: GpuRuntime, args: { input: GpuHalfTensor; output: GpuTensor }): void {
  const n = args.output.length;
  if (args.input.length !== n || args.input.words.length !== Math.ceil(n / 2)) {
    throw new Error(
      `unpackHalf: input holds ${args.input.length} halves in ${args.input.words.length} words, ` +
        `expected ${n} in ${Math.ceil(n / 2)} for output '${args.output.label}'`,
    );
  }
  const words = args.input.words.length;
  rt.run(
    unpackHalfKernel,
    {},
    { length: n },
    { input: args.input.words, output: args.output },
    Math.ceil(words / WORKGROUP),
  );
}
