/**
 * Generator of the fused MedNeXt block tail's backward pass (training): for the tail
 * y = gelu(norm(t) W2 + b2) W3 + b3, given dy, it produces dW2, db2, dW3, db3, dgamma, dbeta (per-thread partial
 * sums) and dxhat = dn * gamma (per voxel, for the norm's input gradient, which needs the channel sums of the
 * whole sample and so is finished by a second pass, `affine2`). It works over voxel tiles and recomputes the
 * expansion per tile, so neither the expanded activations nor their gradients ever reach memory: the backward
 * pass holds t, dy and dxhat, all with the block's own channel counts.
 *
 * Its helpers are exported functions too: `gemm_tn_acc` (C += A^T B over a tile's rows) and `gelu_grad` (gelu and
 * its derivative, the rational form of gen-elementwise.ts differentiated), which the tests also check on their own,
 * and `mul_into`, `colsum_acc`, `norm_grad` and `affine2`, checked through the whole backward pass.
 */
import {
  type Expr,
  type Local,
  type ModuleBuilder,
  add,
  call,
  fadd,
  fdiv,
  fma,
  fmul,
  forRange,
  fpmax,
  fpmin,
  fsub,
  get,
  i32,
  ifThen,
  inc,
  leS,
  load,
  loadSplat,
  ltS,
  madd,
  mul,
  set,
  splatF,
  store,
  sub,
  whileLoop,
} from './encoder.js';
import { RATIONAL_CLAMP, RATIONAL_P, RATIONAL_Q } from './gen-elementwise.js';

const L = (m: { local(t: 'i32'): Local }): Local => m.local('i32');

/** `gemm_tn_acc(a, b, c, K, N, rows)`: c[K, N] += a[rows, K]^T b[rows, N]; K and N multiples of 4. */
export function emitGemmTnAcc(m: ModuleBuilder): void {
  const f = m.func('gemm_tn_acc', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [a, b, c, K, N, rows] = f.params;
  const ks = L(f);
  const ns = L(f);
  const k0 = L(f);
  const n0 = L(f);
  const r = L(f);
  const ap = L(f);
  const bp = L(f);
  const cp = L(f);
  const acc = Array.from({ length: 4 }, () => Array.from({ length: 4 }, () => f.local('v128')));
  const bv = Array.from({ length: 4 }, () => f.local('v128'));
  const sv = f.local('v128');
  /** One 4 x (4*nv) block of c at (k0, n0), accumulated over every row. */
  const block = (nv: number): Expr[] => {
    const steps: Expr[] = [set(cp, add(get(c), mul(add(mul(get(k0), get(N)), get(n0)), i32(4))))];
    for (let kk = 0; kk < 4; kk++)
      for (let v = 0; v < nv; v++) steps.push(set(acc[kk][v], load(add(get(cp), mul(get(ns), i32(kk))), v * 16)));
    steps.push(
      set(ap, add(get(a), mul(get(k0), i32(4)))),
      set(bp, add(get(b), mul(get(n0), i32(4)))),
      forRange(r, i32(0), get(rows), 1, [
        ...bv.slice(0, nv).map((x, v) => set(x, load(get(bp), v * 16))),
        ...[0, 1, 2, 3].flatMap((kk) => [
          set(sv, loadSplat(get(ap), kk * 4)),
          ...bv.slice(0, nv).map((x, v) => madd(acc[kk][v], get(sv), get(x))),
        ]),
        inc(ap, get(ks)),
        inc(bp, get(ns)),
      ]),
    );
    for (let kk = 0; kk < 4; kk++)
      for (let v = 0; v < nv; v++) steps.push(store(add(get(cp), mul(get(ns), i32(kk))), get(acc[kk][v]), v * 16));
    steps.push(inc(n0, 4 * nv));
    return steps;
  };
  f.run(
    set(ks, mul(get(K), i32(4))),
    set(ns, mul(get(N), i32(4))),
    forRange(k0, i32(0), get(K), 4, [
      set(n0, i32(0)),
      whileLoop(leS(add(get(n0), i32(16)), get(N)), block(4)),
      whileLoop(leS(add(get(n0), i32(4)), get(N)), block(1)),
    ]),
  );
}

/** Coefficients of P'(u) from those of P(u) (constant term first). */
function derivative(p: readonly number[]): number[] {
  return p.slice(1).map((c, i) => c * (i + 1));
}

function horner(acc: Local, u: Local, coeffs: readonly number[]): Expr[] {
  const steps: Expr[] = [set(acc, splatF(coeffs[coeffs.length - 1]))];
  for (let i = coeffs.length - 2; i >= 0; i--) steps.push(set(acc, fma(get(acc), get(u), splatF(coeffs[i]))));
  return steps;
}

/**
 * `gelu_grad(a, g, count)`: g = gelu(a) and, in place, a = gelu'(a), for `count` floats (a multiple of 4). With
 * gelu(x) = x (1/2 + x R(x^2)), R = P/Q: gelu'(x) = 1/2 + 2 x R + 2 x^3 R'(x^2), R' = (P' - R Q') / Q, evaluated at
 * x clamped to the fit's range (beyond it the derivative is 0 or 1 to within 1e-6); within 5e-6 of Phi(x) + x phi(x).
 */
export function emitGeluGrad(m: ModuleBuilder): void {
  const f = m.func('gelu_grad', ['i32', 'i32', 'i32']);
  const [a, g, count] = f.params;
  const i = L(f);
  const v = (): Local => f.local('v128');
  const [x, xc, u, p, q, dp, dq, rr] = [v(), v(), v(), v(), v(), v(), v(), v()];
  f.run(
    forRange(i, i32(0), mul(get(count), i32(4)), 16, [
      set(x, load(add(get(a), get(i)))),
      set(xc, fpmax(fpmin(get(x), splatF(RATIONAL_CLAMP)), splatF(-RATIONAL_CLAMP))),
      set(u, fmul(get(xc), get(xc))),
      ...horner(p, u, RATIONAL_P),
      ...horner(q, u, RATIONAL_Q),
      ...horner(dp, u, derivative(RATIONAL_P)),
      ...horner(dq, u, derivative(RATIONAL_Q)),
      set(rr, fdiv(get(p), get(q))), // R
      set(dp, fdiv(fsub(get(dp), fmul(get(rr), get(dq))), get(q))), // R'
      store(add(get(g), get(i)), fmul(get(x), fma(get(xc), get(rr), splatF(0.5)))),
      // 1/2 + 2 xc (R + xc^2 R')
      set(dq, fma(get(u), get(dp), get(rr))),
      store(add(get(a), get(i)), fma(fadd(get(xc), get(xc)), get(dq), splatF(0.5))),
    ]),
  );
}

/** `mul_into(x, y, count)`: x *= y elementwise over `count` floats (a multiple of 4). */
export function emitMulInto(m: ModuleBuilder): void {
  const f = m.func('mul_into', ['i32', 'i32', 'i32']);
  const [x, y, count] = f.params;
  const i = L(f);
  f.run(
    forRange(i, i32(0), mul(get(count), i32(4)), 16, [
      store(add(get(x), get(i)), fmul(load(add(get(x), get(i))), load(add(get(y), get(i))))),
    ]),
  );
}

/** `colsum_acc(a, acc, N, rows)`: acc[N] += the column sums of a[rows, N]; N a multiple of 4. */
export function emitColsumAcc(m: ModuleBuilder): void {
  const f = m.func('colsum_acc', ['i32', 'i32', 'i32', 'i32']);
  const [a, acc, N, rows] = f.params;
  const n0 = L(f);
  const r = L(f);
  const p = L(f);
  const ns = L(f);
  const s = f.local('v128');
  f.run(
    set(ns, mul(get(N), i32(4))),
    forRange(n0, i32(0), get(ns), 16, [
      set(s, load(add(get(acc), get(n0)))),
      set(p, add(get(a), get(n0))),
      forRange(r, i32(0), get(rows), 1, [set(s, fadd(get(s), load(get(p)))), inc(p, get(ns))]),
      store(add(get(acc), get(n0)), get(s)),
    ]),
  );
}

/**
 * `norm_grad(t, dn, center, rstd, gamma, dxhat, dgamma, dbeta, C, rows)`: with xhat = (t - center) * rstd,
 * dgamma += sum dn * xhat, dbeta += sum dn, and dxhat = dn * gamma per row.
 */
export function emitNormGrad(m: ModuleBuilder): void {
  const f = m.func(
    'norm_grad',
    Array.from({ length: 10 }, () => 'i32' as const),
  );
  const [t, dn, center, rstd, gamma, dxhat, dgamma, dbeta, C, rows] = f.params;
  const r = L(f);
  const c0 = L(f);
  const off = L(f);
  const cs = L(f);
  const d = f.local('v128');
  const xh = f.local('v128');
  f.run(
    set(cs, mul(get(C), i32(4))),
    forRange(r, i32(0), get(rows), 1, [
      forRange(c0, i32(0), get(cs), 16, [
        set(off, add(mul(get(r), get(cs)), get(c0))),
        set(d, load(add(get(dn), get(off)))),
        set(
          xh,
          fmul(fsub(load(add(get(t), get(off))), load(add(get(center), get(c0)))), load(add(get(rstd), get(c0)))),
        ),
        store(add(get(dgamma), get(c0)), fma(get(d), get(xh), load(add(get(dgamma), get(c0))))),
        store(add(get(dbeta), get(c0)), fadd(get(d), load(add(get(dbeta), get(c0))))),
        store(add(get(dxhat), get(off)), fmul(get(d), load(add(get(gamma), get(c0))))),
      ]),
    ]),
  );
}

/** `affine2(out, x, y, A, B, D, C, start, end, tid)`: out = A x + B y + D per channel, rows [start, end). */
export function emitAffine2(m: ModuleBuilder): void {
  const f = m.func(
    'affine2',
    Array.from({ length: 10 }, () => 'i32' as const),
  );
  const [out, x, y, A, B, D, C, start, end] = f.params;
  const r = L(f);
  const c0 = L(f);
  const off = L(f);
  const cs = L(f);
  f.run(
    set(cs, mul(get(C), i32(4))),
    forRange(r, get(start), get(end), 1, [
      forRange(c0, i32(0), get(cs), 16, [
        set(off, add(mul(get(r), get(cs)), get(c0))),
        store(
          add(get(out), get(off)),
          fma(
            load(add(get(A), get(c0))),
            load(add(get(x), get(off))),
            fma(load(add(get(B), get(c0))), load(add(get(y), get(off))), load(add(get(D), get(c0)))),
          ),
        ),
      ]),
    ]),
  );
}

/** Parameters of `block_tail_backward`, in order (the last three come from the dispatcher). */
export const BLOCK_TAIL_BACKWARD_PARAMS = [
  't', // the tail's input [M, C] (the depthwise output with its bias)
  'center', // GroupNorm: mean, scale = rstd * gamma, shift = beta, rstd, gamma; [C] each
  'scale',
  'shift',
  'rstd',
  'gamma',
  'C',
  'bp2', // expand weights, packed panels [C -> E], and bias
  'bias2',
  'E',
  'bp3t', // compress weights transposed, packed panels [Cout -> E]
  'zeroE', // zero bias, padded to E's panels
  'bp2t', // expand weights transposed, packed panels [E -> C]
  'zeroC',
  'dy', // [M, Cout]
  'Cout',
  'dxhat', // out: [M, C]
  'partial', // per-thread partial sums: dW2 [C, E], dW3 [E, Cout], db2 [E], db3 [Cout], dgamma [C], dbeta [C]
  'partialStride',
  'scratch', // per-thread tiles: n [MT, C], a [MT, E], g [MT, E]
  'scratchStride',
  'MT',
  'start',
  'end',
  'tid',
] as const;

/** Emits `block_tail_backward(...)`; needs `gn_apply`, `gemm` and the helpers above emitted first. */
export function emitBlockTailBackward(m: ModuleBuilder): void {
  const byName = (n: string): number => m.functionIndex(n, 'block_tail_backward');
  const [gnApply, gemm, tn, geluGrad, mulInto, colsum, normGrad] = [
    'gn_apply',
    'gemm',
    'gemm_tn_acc',
    'gelu_grad',
    'mul_into',
    'colsum_acc',
    'norm_grad',
  ].map(byName);
  const { f, P } = m.funcWithParams('block_tail_backward', BLOCK_TAIL_BACKWARD_PARAMS);
  const [i0, i1, rows, sn, sa, sg, pw2, pw3, pb2, pb3, pdg, pdb, dyT, tT] = Array.from({ length: 14 }, () => L(f));
  /** a tile buffer shifted by -i0 rows of `ch` channels: the callees index rows absolutely */
  const shifted = (buf: Local, ch: Local): Expr => sub(get(buf), mul(mul(get(i0), get(ch)), i32(4)));
  const rowsOf = (buf: Local, ch: Local): Expr => add(get(buf), mul(mul(get(i0), get(ch)), i32(4)));
  const tid = get(P.tid);
  /** the module's gemm on this tile's rows: c = a b (+ bias), a and c shifted like the tiles */
  const gemmTile = (a: Expr, bp: Local, bias: Local, c: Expr, K: Local, N: Local): Expr =>
    call(gemm, a, get(bp), get(bias), c, i32(0), get(K), get(N), get(P.MT), get(i0), get(i1), tid);
  f.run(
    set(sn, add(get(P.scratch), mul(get(P.tid), get(P.scratchStride)))),
    set(sa, add(get(sn), mul(mul(get(P.MT), get(P.C)), i32(4)))),
    set(sg, add(get(sa), mul(mul(get(P.MT), get(P.E)), i32(4)))),
    set(pw2, add(get(P.partial), mul(get(P.tid), get(P.partialStride)))),
    set(pw3, add(get(pw2), mul(mul(get(P.C), get(P.E)), i32(4)))),
    set(pb2, add(get(pw3), mul(mul(get(P.E), get(P.Cout)), i32(4)))),
    set(pb3, add(get(pb2), mul(get(P.E), i32(4)))),
    set(pdg, add(get(pb3), mul(get(P.Cout), i32(4)))),
    set(pdb, add(get(pdg), mul(get(P.C), i32(4)))),
    forRange(i0, get(P.start), get(P.end), 0, [
      set(i1, add(get(i0), get(P.MT))),
      ifThen(ltS(get(P.end), get(i1)), [set(i1, get(P.end))]),
      set(rows, sub(get(i1), get(i0))),
      set(dyT, rowsOf(P.dy, P.Cout)),
      set(tT, rowsOf(P.t, P.C)),
      // recompute the forward tile: n = norm(t), a = n W2 + b2, g = gelu(a) (a becomes gelu'(a))
      call(
        gnApply,
        get(P.t),
        shifted(sn, P.C),
        get(P.center),
        get(P.scale),
        get(P.shift),
        get(P.C),
        get(i0),
        get(i1),
        tid,
      ),
      gemmTile(shifted(sn, P.C), P.bp2, P.bias2, shifted(sa, P.E), P.C, P.E),
      call(geluGrad, get(sa), get(sg), mul(get(rows), get(P.E))),
      // compress: dW3 += g^T dy, db3 += sum dy, dg = dy W3^T
      call(tn, get(sg), get(dyT), get(pw3), get(P.E), get(P.Cout), get(rows)),
      call(colsum, get(dyT), get(pb3), get(P.Cout), get(rows)),
      gemmTile(get(P.dy), P.bp3t, P.zeroE, shifted(sg, P.E), P.Cout, P.E),
      // through GELU, then expand: dW2 += n^T da, db2 += sum da, dn = da W2^T (into the a tile)
      call(mulInto, get(sg), get(sa), mul(get(rows), get(P.E))),
      call(tn, get(sn), get(sg), get(pw2), get(P.C), get(P.E), get(rows)),
      call(colsum, get(sg), get(pb2), get(P.E), get(rows)),
      gemmTile(shifted(sg, P.E), P.bp2t, P.zeroC, shifted(sa, P.C), P.E, P.C),
      // the norm's affine: dgamma, dbeta, dxhat = dn * gamma
      call(
        normGrad,
        get(tT),
        get(sa),
        get(P.center),
        get(P.rstd),
        get(P.gamma),
        rowsOf(P.dxhat, P.C),
        get(pdg),
        get(pdb),
        get(P.C),
        get(rows),
      ),
      set(i0, get(i1)),
    ]),
  );
}
