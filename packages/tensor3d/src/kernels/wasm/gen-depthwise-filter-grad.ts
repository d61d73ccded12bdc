/**
 * Generator of the depthwise 3-D convolution's filter gradient (NDHWC, forward stride 1 or 2):
 * dW[kd, kh, kw, c] = sum over outputs o of dy[o, c] * x[o*s - p + t, c] (per axis), which also serves the
 * transposed conv (its filter gradient is this with the roles of its input and output swapped).
 *
 * For every output row and valid (kd, kh) pair, k float32 accumulators (one per kw) run along the row; the
 * row's sums are then added to float64 per-thread partials at `part + tid * k^3 * C * 8`, so long sums over
 * millions of voxels keep their precision. Rows D and H use the forward tap tables of gen-depthwise; along
 * W the interior [owA, owB) runs unguarded and the edges check each tap.
 */
import {
  type Expr,
  type FunctionBuilder,
  type Local,
  add,
  and,
  f64x2Add,
  forRange,
  geS,
  get,
  highHalf,
  i32,
  i32Load,
  ifThen,
  inc,
  load,
  ltS,
  madd,
  mul,
  promoteLow,
  seq,
  set,
  splatF,
  store,
  sub,
} from './encoder.js';
import { type KernelDefinition, type KernelParams, arg, defineKernel } from './kernel-def.js';

/** The arguments of every filter-gradient kernel (one output plane of dy per dispatched row). */
const FILTER_GRAD_ARGS = [
  arg.ptr('x', 'forward input [D, H, W, C] of one sample'),
  arg.ptr('dy', 'gradient of the forward output [oD, oH, oW, C]'),
  arg.ptr('part', 'per-thread float64 partial sums, [threads, k, k, k, C]'),
  arg.i32('H', 'input height'),
  arg.i32('W', 'input width'),
  arg.i32('C', 'channels, a multiple of 4'),
  arg.i32('OH', 'output height'),
  arg.i32('OW', 'output width'),
  arg.ptr('tabD', 'forward tap table along D: [tFirst, count, iFirst] (i32) per output index'),
  arg.ptr('tabH', 'forward tap table along H'),
  arg.i32('pad', 'zero padding on each side'),
  arg.i32('owA', 'first output along W of the unguarded interior'),
  arg.i32('owB', 'end of the unguarded interior along W'),
];
type FilterGradArg = (typeof FILTER_GRAD_ARGS)[number]['name'];

export function filterGradName(k: number, stride: number): string {
  return `dw_bwf_k${k}_s${stride}`;
}

const variants = new Map<string, KernelDefinition<FilterGradArg>>();

/** The filter-gradient kernel of kernel size `k` and forward stride `stride` (made once per variant). */
export function filterGradKernel(k: number, stride: 1 | 2): KernelDefinition<FilterGradArg> {
  const name = filterGradName(k, stride);
  let def = variants.get(name);
  if (!def) {
    def = defineKernel({
      name,
      mode: 'range',
      args: FILTER_GRAD_ARGS,
      emit: (f, P) => emitFilterGrad(f, P, k, stride),
    });
    variants.set(name, def);
  }
  return def;
}

function emitFilterGrad(f: FunctionBuilder, P: KernelParams<FilterGradArg>, k: number, stride: 1 | 2): void {
  const L = (): Local => f.local('i32');
  const cs = L();
  const od = L();
  const oh = L();
  const ow = L();
  const c0 = L();
  const tp = L();
  const tdLo = L();
  const nd = L();
  const id = L();
  const thLo = L();
  const nh = L();
  const ih = L();
  const jd = L();
  const jh = L();
  const dyRow = L();
  const xRow = L();
  const xp = L();
  const iw0 = L();
  const pp = L();
  const dyv = f.local('v128');
  const accs = Array.from({ length: k }, () => f.local('v128'));

  // one output column: dy[ow] times the k inputs it read; `guarded` checks each input column against [0, W)
  const column = (guarded: boolean): Expr[] => {
    const s: Expr[] = [
      set(dyv, load(add(add(get(dyRow), mul(get(ow), get(cs))), get(c0)))),
      set(iw0, sub(mul(get(ow), i32(stride)), get(P.pad))),
      set(xp, add(add(get(xRow), mul(get(iw0), get(cs))), get(c0))),
    ];
    for (let t = 0; t < k; t++) {
      const step = madd(accs[t], get(dyv), load(get(xp)));
      if (guarded) {
        const iw = add(get(iw0), i32(t));
        s.push(ifThen(and(geS(iw, i32(0)), ltS(iw, get(P.W))), [step]));
      } else s.push(step);
      if (t < k - 1) s.push(inc(xp, get(cs)));
    }
    return s;
  };

  const flush = (): Expr[] => {
    // pp = part + tid*k^3*C*8 + ((kd*k + kh)*k)*C*8 + c0*2
    const out: Expr[] = [
      set(
        pp,
        add(
          add(get(P.part), mul(get(P.tid), mul(get(cs), i32(2 * k * k * k)))),
          add(
            mul(add(mul(add(get(tdLo), get(jd)), i32(k)), add(get(thLo), get(jh))), mul(get(cs), i32(2 * k))),
            mul(get(c0), i32(2)),
          ),
        ),
      ),
    ];
    for (let t = 0; t < k; t++) {
      out.push(
        store(get(pp), f64x2Add(load(get(pp)), promoteLow(get(accs[t])))),
        store(get(pp), f64x2Add(load(get(pp), 16), promoteLow(highHalf(get(accs[t])))), 16),
      );
      if (t < k - 1) out.push(inc(pp, mul(get(cs), i32(2))));
    }
    return out;
  };

  f.run(
    set(cs, mul(get(P.C), i32(4))),
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
        set(dyRow, add(get(P.dy), mul(mul(add(mul(get(od), get(P.OH)), get(oh)), get(P.OW)), get(cs)))),
        forRange(jd, i32(0), get(nd), 1, [
          forRange(jh, i32(0), get(nh), 1, [
            set(
              xRow,
              add(
                get(P.x),
                mul(mul(add(mul(add(get(id), get(jd)), get(P.H)), add(get(ih), get(jh))), get(P.W)), get(cs)),
              ),
            ),
            forRange(c0, i32(0), get(cs), 16, [
              ...accs.map((a) => set(a, splatF(0))),
              forRange(ow, i32(0), get(P.owA), 1, column(true)),
              forRange(ow, get(P.owA), get(P.owB), 1, column(false)),
              forRange(ow, get(P.owB), get(P.OW), 1, column(true)),
              seq(...flush()),
            ]),
          ]),
        ]),
      ]),
    ]),
  );
}
