/**
 * Generator of the pointwise-convolution GEMM: C[M,N] = A[M,K] x B[K,N] + bias (+ optional GELU, + optional
 * residual), tuned for tall-skinny shapes (M = voxels, K and N = 32..512).
 *
 * B is pre-packed by the caller into column panels of width NW = 4*NRV: panel p holds columns
 * [p*NW, p*NW + NW) as a contiguous [K][NW] block (zero-filled past N), so the micro-kernel streams it with
 * constant offsets; bias is packed the same way (length panels*NW). Rows are processed in tiles of `MT`
 * rows (chosen by the caller so the A tile stays in cache while every panel passes over it); inside a
 * tile an MR x NW register block accumulates over K with A broadcast (load32_splat) and B vectors.
 */
import {
  type Expr,
  type FunctionBuilder,
  type Local,
  add,
  eqz,
  f32Store,
  forRange,
  get,
  i32,
  ifThen,
  inc,
  lane,
  leS,
  load,
  loadSplat,
  ltS,
  madd,
  mul,
  fadd,
  ne,
  seq,
  set,
  store,
  sub,
  whileLoop,
} from './encoder.js';
import { type KernelDefinition, type KernelParams, arg, defineKernel } from './kernel-def.js';
import { geluRange, geluRangeLocals } from './gelu-math.js';

/** The arguments of every GEMM kernel (dispatched over the rows of A). */
const GEMM_ARGS = [
  arg.ptr('a', 'A [M, K], row-major'),
  arg.ptr('bp', 'B [K, N] packed into column panels of width 4 * nrv (see packPanels)'),
  arg.ptr('bias', 'bias [N], zero-padded to whole panels'),
  arg.ptr('c', 'output C [M, N]'),
  arg.ptr('res', 'residual [M, N] added to C, or 0 for none'),
  arg.i32('K', 'inner dimension'),
  arg.i32('N', 'output columns'),
  arg.i32('MT', 'rows per cache tile, a multiple of mr'),
];
type GemmArg = (typeof GEMM_ARGS)[number]['name'];

/** Register-block shape of a GEMM variant. */
export interface GemmShape {
  /** rows per register block */
  mr: number;
  /** f32x4 vectors per row of the register block (panel width = 4*nrv) */
  nrv: number;
  /** K unroll factor */
  ku: number;
}

/** The shape used by the exported `gemm` / `gemm_gelu`: 4x4 with K unrolled twice measured ~10 % faster than K x4. */
export const GEMM_DEFAULT: GemmShape = { mr: 4, nrv: 4, ku: 2 };

/**
 * A GEMM kernel with register block `shape`; `gelu` applies GELU (the rational form, see gelu-math.ts) to the
 * result (callers pass `res` = 0 then: the GELU pass runs over the stored tile).
 */
export function gemmKernel(name: string, shape: GemmShape, gelu: boolean): KernelDefinition<GemmArg> {
  return defineKernel({ name, mode: 'range', args: GEMM_ARGS, emit: (f, P) => emitGemm(f, P, shape, gelu) });
}

/** `gemm`: C = A B + bias (+ residual), the tuned default shape. */
export const GEMM_KERNEL = gemmKernel('gemm', GEMM_DEFAULT, false);
/** `gemm_gelu`: C = gelu(A B + bias), the tuned default shape. */
export const GEMM_GELU_KERNEL = gemmKernel('gemm_gelu', GEMM_DEFAULT, true);

/** Extra GEMM register-block shapes exported as `gemm_<mr>x<nrv>` for tuning benchmarks. */
export const GEMM_TUNING_SHAPES: readonly GemmShape[] = [
  { mr: 4, nrv: 2, ku: 4 },
  { mr: 6, nrv: 2, ku: 4 },
  { mr: 3, nrv: 4, ku: 4 },
  { mr: 4, nrv: 4, ku: 4 },
  { mr: 2, nrv: 4, ku: 4 },
  { mr: 8, nrv: 1, ku: 4 },
];

/** Export name of a tuning shape's GEMM. */
export function gemmTuningName(s: GemmShape): string {
  return `gemm_${s.mr}x${s.nrv}`;
}

/** The tuning GEMMs, one per {@link GEMM_TUNING_SHAPES} entry. */
export const GEMM_TUNING_KERNELS = GEMM_TUNING_SHAPES.map((s) => gemmKernel(gemmTuningName(s), s, false));

function emitGemm(f: FunctionBuilder, P: KernelParams<GemmArg>, shape: GemmShape, gelu: boolean): void {
  const { mr, nrv, ku } = shape;
  const NW = 4 * nrv;
  const L = (): Local => f.local('i32');
  const ks = L(); // A row stride in bytes
  const ns = L(); // C row stride in bytes
  const i0 = L();
  const i1 = L();
  const i = L();
  const j0 = L(); // first column of the panel
  const panel = L();
  const panelBytes = L();
  const partial = L();
  const kk = L();
  const bq = L();
  const cp = L();
  const rp = L();
  const rows = Array.from({ length: mr }, () => L());
  const accs = Array.from({ length: mr }, () => Array.from({ length: nrv }, () => f.local('v128')));
  const bvs = Array.from({ length: nrv }, () => f.local('v128'));
  const sv = f.local('v128');
  const out = f.local('v128');
  const geluLocals = gelu ? geluRangeLocals(f, 'rational') : undefined;
  const tileBase = L();
  const tileCount = L();

  const micro = (R: number): Expr => {
    const steps: Expr[] = [];
    for (let r = 0; r < R; r++) {
      steps.push(set(rows[r], add(get(P.a), mul(add(get(i), i32(r)), get(ks)))));
      for (let v = 0; v < nrv; v++) steps.push(set(accs[r][v], load(add(get(P.bias), mul(get(j0), i32(4))), v * 16)));
    }
    steps.push(set(bq, get(panel)));
    const kStep = (U: number): Expr[] => {
      const s: Expr[] = [];
      for (let u = 0; u < U; u++) {
        for (let v = 0; v < nrv; v++) s.push(set(bvs[v], load(get(bq), (u * NW + v * 4) * 4)));
        for (let r = 0; r < R; r++) {
          s.push(set(sv, loadSplat(get(rows[r]), u * 4)));
          for (let v = 0; v < nrv; v++) s.push(madd(accs[r][v], get(sv), get(bvs[v])));
        }
      }
      for (let r = 0; r < R; r++) s.push(inc(rows[r], U * 4));
      s.push(inc(bq, U * NW * 4));
      s.push(inc(kk, U));
      return s;
    };
    steps.push(set(kk, i32(0)));
    if (ku > 1) steps.push(whileLoop(leS(add(get(kk), i32(ku)), get(P.K)), kStep(ku)));
    steps.push(whileLoop(ltS(get(kk), get(P.K)), kStep(1)));
    // epilogue, row by row
    for (let r = 0; r < R; r++) {
      steps.push(set(cp, add(add(get(P.c), mul(add(get(i), i32(r)), get(ns))), mul(get(j0), i32(4)))));
      steps.push(set(rp, add(add(get(P.res), mul(add(get(i), i32(r)), get(ns))), mul(get(j0), i32(4)))));
      for (let v = 0; v < nrv; v++) {
        steps.push(set(out, get(accs[r][v])));
        steps.push(ifThen(ne(get(P.res), i32(0)), [set(out, fadd(get(out), load(get(rp), v * 16)))]));
        steps.push(
          ifThen(
            eqz(get(partial)),
            [store(get(cp), get(out), v * 16)],
            // last panel: store only the columns < N, lane by lane
            [0, 1, 2, 3].map((l) =>
              ifThen(ltS(add(get(j0), i32(v * 4 + l)), get(P.N)), [
                f32Store(get(cp), lane(get(out), l), (v * 4 + l) * 4),
              ]),
            ),
          ),
        );
      }
    }
    return seq(...steps);
  };

  f.run(
    set(ks, mul(get(P.K), i32(4))),
    set(ns, mul(get(P.N), i32(4))),
    set(panelBytes, mul(get(P.K), i32(NW * 4))),
    forRange(i0, get(P.start), get(P.end), 0, [
      set(i1, add(get(i0), get(P.MT))),
      ifThen(ltS(get(P.end), get(i1)), [set(i1, get(P.end))]),
      set(panel, get(P.bp)),
      forRange(j0, i32(0), get(P.N), NW, [
        set(partial, ltS(get(P.N), add(get(j0), i32(NW)))),
        set(i, get(i0)),
        whileLoop(leS(add(get(i), i32(mr)), get(i1)), [micro(mr), inc(i, mr)]),
        ...(mr > 1 ? [whileLoop(ltS(get(i), get(i1)), [micro(1), inc(i, 1)])] : []),
        inc(panel, get(panelBytes)),
      ]),
      // GELU over the finished row tile while it is still in cache (a separate pass: the ~60-instruction
      // chain per vector would otherwise stall the register-blocked accumulation)
      ...(geluLocals
        ? [
            set(tileBase, add(get(P.c), mul(get(i0), get(ns)))),
            set(tileCount, mul(sub(get(i1), get(i0)), get(P.N))),
            geluRange(tileBase, tileCount, geluLocals),
          ]
        : []),
      set(i0, get(i1)),
    ]),
  );
}
