/**
 * Generator of the depthwise 3-D convolution kernels (NDHWC, filter [k,k,k,C]), forward with stride 1 or 2
 * and the transposed stride-2 form, vectorised over 4 channels.
 *
 * Borders: the caller passes, per spatial axis, a table with one `[tFirst, count, iFirst]` triple per
 * output index (first valid kernel tap, number of valid taps, input index of the first tap). Taps advance by
 * `tStep` and inputs by `iStep` (+1/1 forward; 2/-1 transposed, where only taps of one parity reach an
 * output). Rows (D and H) always go through the tables; along W the kernel runs an unrolled block of
 * outputs on the interior `[owA, owB)` and a generic per-output loop on the edges.
 */
import {
  type Expr,
  type FunctionBuilder,
  type Local,
  add,
  forRange,
  get,
  i32,
  i32Load,
  inc,
  ltS,
  load,
  madd,
  mul,
  seq,
  set,
  store,
  whileLoop,
} from './encoder.js';
import { type KernelDefinition, type KernelParams, arg, defineKernel } from './kernel-def.js';

/** The arguments of every depthwise kernel (one output plane per dispatched row; see the file comment). */
const DEPTHWISE_ARGS = [
  arg.ptr('x', 'input [D, H, W, C] of one sample'),
  arg.ptr('w', 'filter [k, k, k, C]'),
  arg.ptr('bias', 'bias [C]'),
  arg.ptr('y', 'output [oD, oH, oW, C]; output plane z is written at y + z * oH * oW * C * 4'),
  arg.i32('H', 'input height'),
  arg.i32('W', 'input width'),
  arg.i32('C', 'channels, a multiple of 4'),
  arg.i32('OH', 'output height'),
  arg.i32('OW', 'output width'),
  arg.ptr('tabD', 'tap table along D: [tFirst, count, iFirst] (i32) per output index'),
  arg.ptr('tabH', 'tap table along H'),
  arg.ptr('tabW', 'tap table along W'),
  arg.i32('owA', 'first output along W of the unguarded interior'),
  arg.i32('owB', 'end of the unguarded interior along W'),
];
type DepthwiseArg = (typeof DEPTHWISE_ARGS)[number]['name'];

/** Which variant: forward stride `stride`, or transposed (always stride 2). */
export interface DepthwiseVariant {
  k: number;
  stride: 1 | 2;
  transposed: boolean;
  /** Outputs along W per unrolled interior block (default 4; even for the transposed form). */
  block?: number;
}

/** Export name of a variant. */
export function depthwiseName(v: DepthwiseVariant): string {
  return v.transposed ? `dwt_k${v.k}` : `dw_k${v.k}_s${v.stride}`;
}

/** Number of outputs along W computed together by the unrolled interior block. */
export function depthwiseBlock(v: DepthwiseVariant): number {
  return v.block ?? (v.k >= 5 ? 6 : 4);
}

const variants = new Map<string, KernelDefinition<DepthwiseArg>>();

/** The depthwise kernel of variant `v` (one definition per variant, made once). */
export function depthwiseKernel(v: DepthwiseVariant): KernelDefinition<DepthwiseArg> {
  const name = depthwiseName(v);
  let def = variants.get(name);
  if (!def) {
    def = defineKernel({ name, mode: 'range', args: DEPTHWISE_ARGS, emit: (f, P) => emitDepthwise(f, P, v) });
    variants.set(name, def);
  }
  return def;
}

/** Emits the body of one depthwise kernel. */
function emitDepthwise(f: FunctionBuilder, P: KernelParams<DepthwiseArg>, v: DepthwiseVariant): void {
  const k = v.k;
  const tStep = v.transposed ? 2 : 1;
  const iStep = v.transposed ? -1 : 1;
  const B = depthwiseBlock(v);

  const L = (t: 'i32' | 'v128' = 'i32'): Local => f.local(t);
  const cs = L(); // voxel stride in bytes (C*4)
  const rowS = L(); // input row stride in bytes
  const planeS = L(); // input plane stride in bytes
  const od = L();
  const oh = L();
  const ow = L();
  const c0 = L(); // channel byte offset
  const tdLo = L();
  const nd = L();
  const id = L();
  const thLo = L();
  const nh = L();
  const ih = L();
  const jd = L();
  const jh = L();
  const jw = L();
  const yRow = L();
  const yp = L();
  const xp = L();
  const wp = L();
  const tp = L(); // pointer into a table
  const nw = L();
  const xPlane = L();
  const wPlane = L();
  const bv = L('v128');
  const acc = L('v128');
  const accs = Array.from({ length: B }, () => L('v128'));
  const wts = Array.from({ length: k }, () => L('v128'));
  const xv = L('v128');

  // Emits the (kd, kh) double loop over valid taps; `inner(xRow, wRow)` sees the pointers of the first
  // W-input voxel of that input row (at column `colByte`) and the first kernel tap of that kernel row.
  const tapRows = (colByte: Expr, wColByte: Expr, inner: Expr[]): Expr =>
    seq(
      set(xPlane, add(add(get(P.x), mul(get(id), get(planeS))), add(get(c0), colByte))),
      set(wPlane, add(add(get(P.w), mul(mul(get(tdLo), i32(k * k)), get(cs))), add(get(c0), wColByte))),
      forRange(jd, i32(0), get(nd), 1, [
        set(xp, add(get(xPlane), mul(get(ih), get(rowS)))),
        set(wp, add(get(wPlane), mul(mul(get(thLo), i32(k)), get(cs)))),
        forRange(jh, i32(0), get(nh), 1, [
          ...inner,
          set(xp, add(get(xp), mul(i32(iStep), get(rowS)))),
          set(wp, add(get(wp), mul(i32(tStep * k), get(cs)))),
        ]),
        set(xPlane, add(get(xPlane), mul(i32(iStep), get(planeS)))),
        set(wPlane, add(get(wPlane), mul(i32(tStep * k * k), get(cs)))),
      ]),
    );

  // Generic output at column `ow`: W taps from the table, runtime loop.
  const xq = L();
  const wq = L();
  const generic = (): Expr =>
    seq(
      set(tp, add(get(P.tabW), mul(get(ow), i32(12)))),
      set(nw, i32Load(get(tp), 4)),
      set(acc, get(bv)),
      tapRows(mul(i32Load(get(tp), 8), get(cs)), mul(i32Load(get(tp), 0), get(cs)), [
        set(xq, get(xp)),
        set(wq, get(wp)),
        forRange(jw, i32(0), get(nw), 1, [
          madd(acc, load(get(xq)), load(get(wq))),
          set(xq, add(get(xq), mul(i32(iStep), get(cs)))),
          set(wq, add(get(wq), mul(i32(tStep), get(cs)))),
        ]),
      ]),
      store(add(get(yRow), add(mul(get(ow), get(cs)), get(c0))), get(acc)),
    );

  // Unrolled interior block of B outputs starting at `ow`.
  const blockInner = (): Expr[] => {
    const out: Expr[] = [];
    // kernel taps of this kernel row
    out.push(set(wq, get(wp)));
    for (let t = 0; t < k; t++) {
      out.push(set(wts[t], load(get(wq))));
      if (t < k - 1) out.push(inc(wq, get(cs)));
    }
    out.push(set(xq, get(xp)));
    if (!v.transposed) {
      const s = v.stride;
      const npos = (B - 1) * s + k;
      for (let pos = 0; pos < npos; pos++) {
        out.push(set(xv, load(get(xq))));
        for (let j = 0; j < B; j++) {
          const t = pos - j * s;
          if (t >= 0 && t < k) out.push(madd(accs[j], get(xv), get(wts[t])));
        }
        if (pos < npos - 1) out.push(inc(xq, get(cs)));
      }
    } else {
      // outputs ow+q (q < B) with x = ow+p = 2a (+q); pair index pq = q>>1, parity q&1.
      // input index a - h + r (r = 0 .. h + B/2 - 1) feeds output (pq, parity) through tap
      // t = 2m + parity with m = pq - (r - h).
      const h = (k - 1) / 2;
      const pairs = B / 2;
      for (let r = 0; r < h + pairs; r++) {
        out.push(set(xv, load(get(xq))));
        for (let q = 0; q < B; q++) {
          const m = (q >> 1) - (r - h);
          const t = 2 * m + (q & 1);
          if (m >= 0 && t < k) out.push(madd(accs[q], get(xv), get(wts[t])));
        }
        if (r < h + pairs - 1) out.push(inc(xq, get(cs)));
      }
    }
    return out;
  };
  const block = (): Expr => {
    // first input column of the block: forward = iFirst of output ow (tap 0); transposed = a - h
    const h = (k - 1) / 2;
    const firstCol = v.transposed
      ? // table iFirst for output ow (tap parity 0, x even) is a; the block starts h inputs earlier
        mul(add(i32Load(get(tp), 8), i32(-h)), get(cs))
      : mul(i32Load(get(tp), 8), get(cs));
    return seq(
      set(tp, add(get(P.tabW), mul(get(ow), i32(12)))),
      ...accs.map((a) => set(a, get(bv))),
      tapRows(firstCol, i32(0), blockInner()),
      set(yp, add(get(yRow), add(mul(get(ow), get(cs)), get(c0)))),
      ...accs.flatMap((a, j) => [store(get(yp), get(a)), ...(j < B - 1 ? [inc(yp, get(cs))] : [])]),
    );
  };

  f.run(
    set(cs, mul(get(P.C), i32(4))),
    set(rowS, mul(get(P.W), get(cs))),
    set(planeS, mul(get(P.H), get(rowS))),
    forRange(od, get(P.start), get(P.end), 1, [
      set(tp, add(get(P.tabD), mul(get(od), i32(12)))),
      set(tdLo, i32Load(get(tp), 0)),
      set(nd, i32Load(get(tp), 4)),
      set(id, i32Load(get(tp), 8)),
      forRange(oh, i32(0), get(P.OH), 1, [
        set(tp, add(get(P.tabH), mul(get(oh), i32(12)))),
        set(thLo, i32Load(get(tp), 0)),
        set(nh, i32Load(get(tp), 4)),
        set(ih, i32Load(get(tp), 8)),
        set(yRow, add(get(P.y), mul(mul(add(mul(get(od), get(P.OH)), get(oh)), get(P.OW)), get(cs)))),
        forRange(c0, i32(0), get(cs), 16, [
          set(bv, load(add(get(P.bias), get(c0)))),
          forRange(ow, i32(0), get(P.owA), 1, [generic()]),
          whileLoop(ltS(add(get(ow), i32(B - 1)), get(P.owB)), [block(), inc(ow, B)]),
          whileLoop(ltS(get(ow), get(P.OW)), [generic(), inc(ow, 1)]),
        ]),
      ]),
    ]),
  );
}
