/** The `colsum_acc` helper kernel: column sums accumulated into a vector. */
import {
  type FunctionBuilder,
  type Local,
  add,
  fadd,
  forRange,
  get,
  i32,
  inc,
  load,
  mul,
  set,
  store,
} from './encoder.js';
import { type KernelParams, arg, defineKernel } from './kernel-def.js';

const L = (m: { local(t: 'i32'): Local }): Local => m.local('i32');

/** `colsum_acc(a, acc, N, rows)`: acc[N] += the column sums of a[rows, N]; N a multiple of 4. */
export const COLSUM_ACC_KERNEL = defineKernel({
  name: 'colsum_acc',
  mode: 'once',
  args: [
    arg.ptr('a', 'matrix [rows, N]'),
    arg.ptr('acc', 'column sums [N], accumulated into'),
    arg.i32('N', 'columns, a multiple of 4'),
    arg.i32('rows', 'rows of a'),
  ],
  emit: (f, P) => emitColsumAcc(f, P),
});

function emitColsumAcc(f: FunctionBuilder, P: KernelParams<'a' | 'acc' | 'N' | 'rows'>): void {
  const { a, acc, N, rows } = P;
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
