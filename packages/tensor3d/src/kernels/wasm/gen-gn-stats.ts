/** The per-channel statistics kernel of GroupNorm with one group per channel (instance norm). */
import {
  type Expr,
  type FunctionBuilder,
  type Local,
  add,
  f64x2Add,
  fadd,
  forRange,
  fsub,
  get,
  highHalf,
  i32,
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
} from './encoder.js';
import { type KernelParams, arg, defineKernel } from './kernel-def.js';

/** Rows per float32 partial sum before it is added to the float64 totals. */
export const STATS_CHUNK = 64;

/**
 * `gn_stats(x, shift, part, C, start, end, tid)`: for rows (voxels) in [start, end) of an [M, C] array, adds
 * sum(x - shift[c]) and sum((x - shift[c])^2) per channel into float64 arrays at `part + tid*C*16`
 * (sums, then squares). Float32 partials over {@link STATS_CHUNK} rows keep the float64 work small.
 */
export const GN_STATS_KERNEL = defineKernel({
  name: 'gn_stats',
  mode: 'range',
  args: [
    arg.ptr('x', 'values [M, C], one row per voxel (dispatched over rows)'),
    arg.ptr('shift', 'per-channel shift [C] subtracted before summing (the first row: no cancellation)'),
    arg.ptr('part', 'per-thread float64 sums [threads, 2, C]: sum(x - shift), then sum((x - shift)^2)'),
    arg.i32('C', 'channels, a multiple of 4'),
  ],
  emit: (f, P) => emitGroupNormStats(f, P),
});

function emitGroupNormStats(f: FunctionBuilder, P: KernelParams<'x' | 'shift' | 'part' | 'C'>): void {
  const { x, shift, part, C, start, end, tid } = P;
  const cs = f.local('i32');
  const r0 = f.local('i32');
  const r1 = f.local('i32');
  const r = f.local('i32');
  const c0 = f.local('i32');
  const p = f.local('i32');
  const sums = f.local('i32');
  const sq = f.local('i32');
  const s = f.local('v128');
  const q = f.local('v128');
  const sh = f.local('v128');
  const v = f.local('v128');
  const addF64 = (addr: Local, acc: Local): Expr =>
    seq(
      store(get(addr), f64x2Add(load(get(addr)), promoteLow(get(acc)))),
      store(get(addr), f64x2Add(load(get(addr), 16), promoteLow(highHalf(get(acc)))), 16),
    );
  f.run(
    set(cs, mul(get(C), i32(4))),
    forRange(r0, get(start), get(end), STATS_CHUNK, [
      set(r1, add(get(r0), i32(STATS_CHUNK))),
      // r1 = min(r0 + chunk, end)
      seqIf(ltS(get(end), get(r1)), set(r1, get(end))),
      forRange(c0, i32(0), get(cs), 16, [
        set(s, splatF(0)),
        set(q, splatF(0)),
        set(sh, load(add(get(shift), get(c0)))),
        set(p, add(add(get(x), mul(get(r0), get(cs))), get(c0))),
        forRange(r, get(r0), get(r1), 1, [
          set(v, fsub(load(get(p)), get(sh))),
          set(s, fadd(get(s), get(v))),
          madd(q, get(v), get(v)),
          inc(p, get(cs)),
        ]),
        set(sums, add(add(get(part), mul(get(tid), mul(get(cs), i32(4)))), mul(get(c0), i32(2)))),
        set(sq, add(get(sums), mul(get(cs), i32(2)))),
        addF64(sums, s),
        addF64(sq, q),
      ]),
    ]),
  );
}

function seqIf(cond: Expr, then: Expr): Expr {
  return (f) => {
    cond(f);
    f.emit(0x04, 0x40);
    then(f);
    f.emit(0x0b);
  };
}
