/**
 * Generator of the fused inverted-bottleneck tail's backward pass (training): for the tail
 * y = gelu(norm(t) W2 + b2) W3 + b3, given dy, it produces dW2, db2, dW3, db3, dgamma, dbeta (per-thread partial
 * sums) and dxhat = dn * gamma (per voxel, for the norm's input gradient, which needs the channel sums of the
 * whole sample and so is finished by a second pass, `affine2`). It works over voxel tiles and recomputes the
 * expansion per tile, so neither the expanded activations nor their gradients ever reach memory: the backward
 * pass holds t, dy and dxhat, all with the block's own channel counts.
 *
 * Its helpers are kernels of their own (one file each): `gemm_tn_acc` (C += A^T B over a tile's rows) and
 * `gelu_grad` (gelu and its derivative, the rational form of gelu-math.ts differentiated), which the tests also
 * check on their own, and `mul_into`, `colsum_acc`, `norm_grad` and `affine2`, checked through the whole
 * backward pass.
 */
import { type Expr, type Local, add, call, forRange, get, i32, ifThen, ltS, mul, set, sub } from './encoder.js';
import { arg, defineKernel } from './kernel-def.js';

const L = (m: { local(t: 'i32'): Local }): Local => m.local('i32');

/** `block_tail_backward`: the tail's gradients over voxel tiles, dispatched over rows (voxels). */
export const BLOCK_TAIL_BACKWARD_KERNEL = defineKernel({
  name: 'block_tail_backward',
  mode: 'range',
  args: [
    arg.ptr('t', 'the tail input [M, C] (e.g. a depthwise conv output with its bias)'),
    arg.ptr('center', 'norm: per-channel mean [C]'),
    arg.ptr('scale', 'norm: per-channel rstd * gamma [C]'),
    arg.ptr('shift', 'norm: per-channel beta [C]'),
    arg.ptr('rstd', 'norm: per-channel 1 / sqrt(var + eps) [C]'),
    arg.ptr('gamma', 'norm scale [C]'),
    arg.i32('C', 'input channels, a multiple of 4'),
    arg.ptr('bp2', 'expand weights [C -> E], packed panels'),
    arg.ptr('bias2', 'expand bias [E], padded to whole panels'),
    arg.i32('E', 'expanded channels, a multiple of 4'),
    arg.ptr('bp3t', 'compress weights transposed [Cout -> E], packed panels'),
    arg.ptr('zeroE', 'zero bias padded to the panels of E'),
    arg.ptr('bp2t', 'expand weights transposed [E -> C], packed panels'),
    arg.ptr('zeroC', 'zero bias padded to the panels of C'),
    arg.ptr('dy', 'gradient of the tail output [M, Cout]'),
    arg.i32('Cout', 'output channels, a multiple of 4'),
    arg.ptr('dxhat', 'output: gradient of the normalised input times gamma [M, C]'),
    arg.ptr('partial', 'per-thread sums: dW2 [C, E], dW3 [E, Cout], db2 [E], db3 [Cout], dgamma [C], dbeta [C]'),
    arg.i32('partialStride', 'bytes of partial sums per thread'),
    arg.ptr('scratch', 'per-thread tiles: n [MT, C], a [MT, E], g [MT, E]'),
    arg.i32('scratchStride', 'bytes of scratch per thread'),
    arg.i32('MT', 'rows per tile'),
  ],
  calls: ['gn_apply', 'gemm', 'gemm_tn_acc', 'gelu_grad', 'mul_into', 'colsum_acc', 'norm_grad'],
  emit: (f, P, callIndex) => {
    const [gnApply, gemm, tn, geluGrad, mulInto, colsum, normGrad] = [
      'gn_apply',
      'gemm',
      'gemm_tn_acc',
      'gelu_grad',
      'mul_into',
      'colsum_acc',
      'norm_grad',
    ].map(callIndex);
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
  },
});
