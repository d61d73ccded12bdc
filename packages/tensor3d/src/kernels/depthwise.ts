/**
 * Depthwise 3-D convolution on the WebAssembly kernels: forward (stride 1 or 2, symmetric zero padding)
 * and the transposed stride-2 form (PyTorch ConvTranspose3d "scatter" semantics, no kernel flip).
 * Layout NDHWC; filter [kd, kh, kw, C]. Channels that are not a multiple of 4 are zero-padded on the way in.
 */
import { Tensor3dError } from '../errors.js';
import { type KernelRuntime } from './runtime.js';
import { depthwiseBlock, depthwiseKernel } from './wasm/gen-depthwise.js';
import { filterGradKernel } from './wasm/gen-depthwise-filter-grad.js';

/** NDHWC shape. */
export type Shape5 = [n: number, d: number, h: number, w: number, c: number];

/** Arguments of {@link depthwiseConv3d} and {@link depthwiseConvTranspose3d}. */
export interface DepthwiseConv3dArgs {
  /** Input, NDHWC. */
  x: Float32Array;
  shape: Shape5;
  /** Filter [k, k, k, C], C fastest. */
  filter: Float32Array;
  /** Kernel size (3, 5 or 7). */
  k: number;
  /** Per-channel bias; zero when omitted. */
  bias?: Float32Array;
  /** Zero padding on both sides of each spatial axis; default floor(k/2). */
  pad?: number;
  /**
   * Where to write the result (N·oD·oH·oW·C values), e.g. a view of a tfjs backend's memory; a new array when
   * omitted. Must not overlap `x`.
   */
  out?: Float32Array;
}

/** A result with its NDHWC shape. */
export interface Tensor5 {
  data: Float32Array;
  shape: Shape5;
}

/** Per-axis tap table: `[tFirst, count, iFirst]` per output index. */
interface AxisTable {
  table: Int32Array;
  /** first and end of the run of interior outputs (all taps valid) */
  interiorStart: number;
  interiorEnd: number;
}

function forwardAxis(nIn: number, nOut: number, k: number, s: number, p: number): AxisTable {
  const table = new Int32Array(nOut * 3);
  for (let o = 0; o < nOut; o++) {
    const i0 = o * s - p;
    const tLo = Math.max(0, -i0);
    const tHi = Math.min(k, nIn - i0);
    table.set([tLo, Math.max(0, tHi - tLo), i0 + tLo], o * 3);
  }
  return withInterior(table, nOut, (o) => table[o * 3 + 1] === k);
}

function transposedAxis(nIn: number, nOut: number, k: number, p: number): AxisTable {
  const table = new Int32Array(nOut * 3);
  const full = (par: number): number => (par === 0 ? (k + 1) >> 1 : (k - 1) >> 1);
  for (let o = 0; o < nOut; o++) {
    const x = o + p;
    const par = x & 1;
    let tLo = Math.max(par, x - 2 * (nIn - 1));
    if ((tLo & 1) !== par) tLo++;
    let tHi = Math.min(k - 1, x);
    if ((tHi & 1) !== par) tHi--;
    const count = tHi >= tLo ? (tHi - tLo) / 2 + 1 : 0;
    table.set([tLo, count, count > 0 ? (x - tLo) / 2 : 0], o * 3);
  }
  return withInterior(table, nOut, (o) => {
    const par = (o + p) & 1;
    return table[o * 3] === par && table[o * 3 + 1] === full(par);
  });
}

function withInterior(table: Int32Array, n: number, interior: (o: number) => boolean): AxisTable {
  let a = 0;
  while (a < n && !interior(a)) a++;
  let b = a;
  while (b < n && interior(b)) b++;
  return { table, interiorStart: a, interiorEnd: b };
}

function checkArgs(fn: string, a: DepthwiseConv3dArgs): void {
  const [n, d, h, w, c] = a.shape;
  if (a.shape.length !== 5 || [n, d, h, w, c].some((v) => !Number.isInteger(v) || v < 1)) {
    throw new Tensor3dError(
      'BAD_SHAPE',
      `${fn}: shape must be 5 positive integers [N, D, H, W, C], got [${a.shape.join(', ')}]`,
    );
  }
  if (a.x.length !== n * d * h * w * c) {
    throw new Tensor3dError(
      'BAD_SHAPE',
      `${fn}: x has ${a.x.length} values, shape [${a.shape.join(', ')}] needs ${n * d * h * w * c}`,
    );
  }
  if (![3, 5, 7].includes(a.k))
    throw new Tensor3dError('BAD_ARGUMENT', `${fn}: kernel size k must be 3, 5 or 7, got ${a.k}`);
  if (a.filter.length !== a.k ** 3 * c) {
    throw new Tensor3dError(
      'BAD_SHAPE',
      `${fn}: filter has ${a.filter.length} values, [${a.k}, ${a.k}, ${a.k}, ${c}] needs ${a.k ** 3 * c}`,
    );
  }
  if (a.bias && a.bias.length !== c)
    throw new Tensor3dError('BAD_SHAPE', `${fn}: bias has ${a.bias.length} values, expected C = ${c}`);
  const p = a.pad ?? a.k >> 1;
  if (!Number.isInteger(p) || p < 0 || p >= a.k)
    throw new Tensor3dError('BAD_ARGUMENT', `${fn}: pad must be an integer in [0, k), got ${p}`);
}

/** Copies [V, C] rows into [V, Cp] rows (Cp >= C, zero padding) at `addr` in kernel memory. */
function putChannels(rt: KernelRuntime, src: Float32Array, rows: number, c: number, cp: number): number {
  const addr = rt.alloc(rows * cp * 4);
  const dst = rt.f32(addr, rows * cp);
  if (c === cp) dst.set(src);
  else {
    dst.fill(0);
    for (let r = 0; r < rows; r++) dst.set(src.subarray(r * c, r * c + c), r * cp);
  }
  return addr;
}

/** Copies [V, Cp] rows out of kernel memory into `dst` at `offset` as [V, C] rows. */
function takeChannels(
  rt: KernelRuntime,
  addr: number,
  rows: number,
  c: number,
  cp: number,
  dst: Float32Array,
  offset: number,
): void {
  const src = rt.f32(addr, rows * cp);
  if (c === cp) dst.set(src, offset);
  else for (let r = 0; r < rows; r++) dst.set(src.subarray(r * cp, r * cp + c), offset + r * c);
}

/** A depthwise conv on one sample whose operands already live in kernel memory (byte addresses). */
export interface DepthwiseInMemory {
  /** input [D, H, W, C] */
  x: number;
  /** output [oD, oH, oW, C] */
  y: number;
  /** filter [k, k, k, C] */
  filter: number;
  /** bias [C] */
  bias: number;
  /** input D, H, W */
  spatial: [number, number, number];
  /** output D, H, W */
  outSpatial: [number, number, number];
  /** channels, a multiple of 4 */
  c: number;
  k: number;
  stride: 1 | 2;
  pad: number;
  /** transposed stride-2 form (stride must be 2) */
  transposed: boolean;
  /**
   * Compute only output planes [z0, z1) (along D); `y` then holds just those planes, [z1 - z0, oH, oW, C].
   * Default all.
   */
  planes?: [number, number];
}

/** Runs a depthwise kernel on operands in kernel memory (see {@link DepthwiseInMemory}). */
export function depthwiseInMemory(rt: KernelRuntime, a: DepthwiseInMemory): void {
  const { k, pad: p, stride, transposed, c } = a;
  if (c % 4 !== 0) throw new Tensor3dError('BAD_SHAPE', `depthwiseInMemory: c must be a multiple of 4, got ${c}`);
  if (transposed && stride !== 2)
    throw new Tensor3dError('BAD_ARGUMENT', 'depthwiseInMemory: the transposed form has stride 2');
  const [d, h, w] = a.spatial;
  const [od, oh, ow] = a.outSpatial;
  const axis = (nIn: number, nOut: number): AxisTable =>
    transposed ? transposedAxis(nIn, nOut, k, p) : forwardAxis(nIn, nOut, k, stride, p);
  const [tD, tH, tW] = [axis(d, od), axis(h, oh), axis(w, ow)];
  let owA = tW.interiorStart;
  if (transposed && ((owA + p) & 1) === 1) owA++;
  // With no interior at all (e.g. a transposed k5 from a width of 1), the parity step above could move owA past
  // the last output column, and the kernel's edge loop [0, owA) would write beyond the row.
  owA = Math.min(owA, ow);
  const owB = Math.max(owA, tW.interiorEnd);
  const mark = rt.mark();
  try {
    const tabs = [tD, tH, tW].map((t) => rt.put(t.table, 'i32'));
    const kernel = depthwiseKernel({ k, stride, transposed });
    const [z0, z1] = a.planes ?? [0, od];
    if (!Number.isInteger(z0) || !Number.isInteger(z1) || z0 < 0 || z1 > od || z0 >= z1) {
      throw new Tensor3dError(
        'BAD_ARGUMENT',
        `depthwiseInMemory: planes [${z0}, ${z1}) are not a range of the ${od} output planes`,
      );
    }
    // the kernel addresses output plane z at y + z * planeBytes: shift y so that plane z0 lands at a.y (the
    // address wraps around 2^32 like the kernel's i32 arithmetic)
    const y = (a.y - z0 * oh * ow * c * 4) >>> 0;
    rt.run(
      kernel,
      {
        x: a.x,
        w: a.filter,
        bias: a.bias,
        y,
        H: h,
        W: w,
        C: c,
        OH: oh,
        OW: ow,
        tabD: tabs[0],
        tabH: tabs[1],
        tabW: tabs[2],
        owA,
        owB,
      },
      { start: z0, end: z1 },
    );
  } finally {
    rt.release(mark);
  }
}

function run(
  rt: KernelRuntime,
  a: DepthwiseConv3dArgs,
  stride: 1 | 2,
  transposed: boolean,
  outSpatial: number[],
): Tensor5 {
  const [n, d, h, w, c] = a.shape;
  const k = a.k;
  const [od, oh, ow] = outSpatial;
  const cp = (c + 3) & ~3;
  const mark = rt.mark();
  try {
    const filter = putChannels(rt, a.filter, k * k * k, c, cp);
    const bias = putChannels(rt, a.bias ?? new Float32Array(c), 1, c, cp);
    const inVox = d * h * w;
    const outVox = od * oh * ow;
    const size = n * outVox * c;
    if (a.out && a.out.length !== size)
      throw new Tensor3dError('BAD_SHAPE', `depthwise: out has ${a.out.length} values, expected ${size}`);
    const out = a.out ?? new Float32Array(size);
    const x = rt.alloc(inVox * cp * 4);
    const y = rt.alloc(outVox * cp * 4);
    for (let b = 0; b < n; b++) {
      const xs = a.x.subarray(b * inVox * c, (b + 1) * inVox * c);
      const xv = rt.f32(x, inVox * cp);
      if (c === cp) xv.set(xs);
      else for (let v = 0; v < inVox; v++) xv.set(xs.subarray(v * c, v * c + c), v * cp);
      depthwiseInMemory(rt, {
        x,
        y,
        filter,
        bias,
        spatial: [d, h, w],
        outSpatial: [od, oh, ow],
        c: cp,
        k,
        stride,
        pad: a.pad ?? k >> 1,
        transposed,
      });
      takeChannels(rt, y, outVox, c, cp, out, b * outVox * c);
    }
    return { data: out, shape: [n, od, oh, ow, c] };
  } finally {
    rt.release(mark);
  }
}

/** Output size of a forward depthwise conv along one axis. */
export function convOutSize(n: number, k: number, stride: number, pad: number): number {
  return Math.floor((n + 2 * pad - k) / stride) + 1;
}

/** Output size of the transposed stride-2 conv along one axis (output padding 0): 2n - 1 for pad = k//2. */
export function convTransposeOutSize(n: number, k: number, pad: number): number {
  return (n - 1) * 2 - 2 * pad + k;
}

/** Depthwise 3-D convolution, stride 1 or 2, NDHWC. */
export function depthwiseConv3d(rt: KernelRuntime, args: DepthwiseConv3dArgs & { stride?: 1 | 2 }): Tensor5 {
  checkArgs('depthwiseConv3d', args);
  const stride = args.stride ?? 1;
  if (stride !== 1 && stride !== 2)
    throw new Tensor3dError('BAD_ARGUMENT', `depthwiseConv3d: stride must be 1 or 2, got ${String(stride)}`);
  const p = args.pad ?? args.k >> 1;
  const out = args.shape.slice(1, 4).map((s) => convOutSize(s, args.k, stride, p));
  if (out.some((s) => s < 1))
    throw new Tensor3dError('BAD_SHAPE', `depthwiseConv3d: input [${args.shape.join(', ')}] too small for k ${args.k}`);
  return run(rt, args, stride, false, out);
}

/**
 * Transposed depthwise 3-D convolution with stride 2 (the MedNeXt up-block conv): per axis, input i and tap t
 * add `x[i] * w[t]` to output `2i - pad + t`. Output size `(n-1)*2 - 2*pad + k` unless `outputShape` is given
 * (larger sizes are output padding: outputs no tap reaches get just the bias).
 */
export function depthwiseConvTranspose3d(
  rt: KernelRuntime,
  args: DepthwiseConv3dArgs & { outputShape?: [number, number, number] },
): Tensor5 {
  checkArgs('depthwiseConvTranspose3d', args);
  const p = args.pad ?? args.k >> 1;
  const out = args.outputShape ?? args.shape.slice(1, 4).map((s) => convTransposeOutSize(s, args.k, p));
  if (out.length !== 3 || out.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new Tensor3dError(
      'BAD_ARGUMENT',
      `depthwiseConvTranspose3d: outputShape must be 3 positive integers, got [${out.join(', ')}]`,
    );
  }
  return run(rt, args, 2, true, out);
}

export { depthwiseBlock };

/** Arguments of {@link depthwiseConv3dFilterGrad}. */
export interface DepthwiseFilterGradArgs {
  /** Forward input, NDHWC. */
  x: Float32Array;
  shape: Shape5;
  /** Gradient of the forward output, NDHWC. */
  dy: Float32Array;
  dyShape: Shape5;
  k: number;
  stride: 1 | 2;
  /** default floor(k/2) */
  pad?: number;
}

/**
 * Filter gradient of the forward depthwise conv: dW[t, c] = sum over samples and outputs o of
 * dy[o, c] * x[o*stride - pad + t, c] (per axis), summed in float64. Returns [k, k, k, C]. The transposed
 * conv's filter gradient is this with x = the gradient of its output and dy = its input.
 */
export function depthwiseConv3dFilterGrad(rt: KernelRuntime, a: DepthwiseFilterGradArgs): Float32Array {
  const fn = 'depthwiseConv3dFilterGrad';
  const [n, d, h, w, c] = a.shape;
  const [dn, od, oh, ow, dc] = a.dyShape;
  const k = a.k;
  const p = a.pad ?? k >> 1;
  if (![3, 5, 7].includes(k)) throw new Tensor3dError('BAD_ARGUMENT', `${fn}: k must be 3, 5 or 7, got ${k}`);
  if (a.stride !== 1 && a.stride !== 2) throw new Tensor3dError('BAD_ARGUMENT', `${fn}: stride must be 1 or 2`);
  if (dn !== n || dc !== c)
    throw new Tensor3dError(
      'BAD_SHAPE',
      `${fn}: dy shape [${a.dyShape.join(', ')}] does not match x [${a.shape.join(', ')}]`,
    );
  if (a.x.length !== n * d * h * w * c)
    throw new Tensor3dError('BAD_SHAPE', `${fn}: x has ${a.x.length} values, shape needs ${n * d * h * w * c}`);
  if (a.dy.length !== n * od * oh * ow * c)
    throw new Tensor3dError('BAD_SHAPE', `${fn}: dy has ${a.dy.length} values, dyShape needs ${n * od * oh * ow * c}`);
  if (!Number.isInteger(p) || p < 0 || p >= k)
    throw new Tensor3dError('BAD_ARGUMENT', `${fn}: pad must be an integer in [0, k), got ${p}`);
  const cp = (c + 3) & ~3;
  const taps = k * k * k;
  const total = new Float64Array(taps * cp);
  const mark = rt.mark();
  try {
    const tD = forwardAxis(d, od, k, a.stride, p);
    const tH = forwardAxis(h, oh, k, a.stride, p);
    const tW = forwardAxis(w, ow, k, a.stride, p);
    const tabD = rt.put(tD.table, 'i32');
    const tabH = rt.put(tH.table, 'i32');
    const inV = d * h * w;
    const outV = od * oh * ow;
    const x = rt.alloc(inV * cp * 4);
    const dy = rt.alloc(outV * cp * 4);
    const part = rt.alloc(rt.threads * taps * cp * 8);
    rt.f64(part, rt.threads * taps * cp).fill(0);
    for (let b = 0; b < n; b++) {
      const copy = (src: Float32Array, addr: number, v: number): void => {
        const view = rt.f32(addr, v * cp);
        if (c === cp) view.set(src.subarray(b * v * c, (b + 1) * v * c));
        else {
          view.fill(0);
          for (let i = 0; i < v; i++) view.set(src.subarray((b * v + i) * c, (b * v + i + 1) * c), i * cp);
        }
      };
      copy(a.x, x, inV);
      copy(a.dy, dy, outV);
      rt.run(
        filterGradKernel(k, a.stride),
        {
          x,
          dy,
          part,
          H: h,
          W: w,
          C: cp,
          OH: oh,
          OW: ow,
          tabD,
          tabH,
          pad: p,
          owA: tW.interiorStart,
          owB: tW.interiorEnd,
        },
        { end: od },
      );
    }
    const parts = rt.f64(part, rt.threads * taps * cp);
    for (let t = 0; t < rt.threads; t++) for (let i = 0; i < taps * cp; i++) total[i] += parts[t * taps * cp + i];
  } finally {
    rt.release(mark);
  }
  const out = new Float32Array(taps * c);
  for (let t = 0; t < taps; t++) for (let ch = 0; ch < c; ch++) out[t * c + ch] = total[t * cp + ch];
  return out;
}
