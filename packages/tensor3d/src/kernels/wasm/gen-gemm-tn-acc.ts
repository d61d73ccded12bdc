/** The `gemm_tn_acc` helper kernel of the bottleneck tail's backward pass (a transposed-A GEMM). */
import {
  type Expr,
  type FunctionBuilder,
  type Local,
  add,
  forRange,
  get,
  i32,
  inc,
  leS,
  load,
  loadSplat,
  madd,
  mul,
  set,
  store,
  whileLoop,
} from './encoder.js';
import { type KernelParams, arg, defineKernel } from './kernel-def.js';

const L = (m: { local(t: 'i32'): Local }): Local => m.local('i32');

/** `gemm_tn_acc(a, b, c, K, N, rows)`: c[K, N] += a[rows, K]^T b[rows, N]; K and N multiples of 4. */
export const GEMM_TN_ACC_KERNEL = defineKernel({
  name: 'gemm_tn_acc',
  mode: 'once',
  args: [
    arg.ptr('a', 'A [rows, K]'),
    arg.ptr('b', 'B [rows, N]'),
    arg.ptr('c', 'C [K, N], accumulated into'),
    arg.i32('K', 'columns of A, a multiple of 4'),
    arg.i32('N', 'columns of B, a multiple of 4'),
    arg.i32('rows', 'rows of A and B'),
  ],
  emit: (f, P) => emitGemmTnAcc(f, P),
});

function emitGemmTnAcc(f: FunctionBuilder, P: KernelParams<'a' | 'b' | 'c' | 'K' | 'N' | 'rows'>): void {
  const { a, b, c, K, N, rows } = P;
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
