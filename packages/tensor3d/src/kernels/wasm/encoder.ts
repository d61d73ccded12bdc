/**
 * A minimal WebAssembly binary encoder: just enough of the module format and the instruction set
 * (core + fixed-width SIMD + optional relaxed-SIMD FMA) to generate the project's kernels from
 * TypeScript at module load. Emitting bytes directly keeps the kernels free of any assembler
 * dependency at runtime and lets the generators unroll loops for each kernel size.
 *
 * Code is written with small combinators: an {@link Expr} pushes one value, a statement pushes none.
 */

/** WebAssembly value types used by the kernels. */
export type ValType = 'i32' | 'f32' | 'f64' | 'v128';

const VALTYPE_BYTE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Unsigned LEB128 encoding of a non-negative integer (< 2^32). */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 encoding of a 32-bit integer. */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8(name: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(name));
  return [...uleb(bytes.length), ...bytes];
}

/** A local variable (or parameter) slot of a function. */
export interface Local {
  readonly index: number;
  readonly type: ValType;
}

/** Anything that emits instructions into a function body. */
export type Expr = (f: FunctionBuilder) => void;

/** Byte address of the constant pool (inside the runtime's reserved first 4 KiB of memory). */
export const CONST_POOL_BASE = 2048;
/** Number of f32x4 constants the pool can hold. */
export const CONST_POOL_SIZE = 128;

/**
 * Distinct 32-bit lane constants used by a module (float or integer bit patterns), each stored splatted
 * over 4 lanes at CONST_POOL_BASE + 16*i.
 */
export class ConstPool {
  readonly bits: number[] = [];

  /** Index of the constant whose lanes hold the 32-bit pattern `bits`. */
  indexOfBits(bits: number): number {
    const key = bits >>> 0;
    let i = this.bits.indexOf(key);
    if (i < 0) {
      if (this.bits.length >= CONST_POOL_SIZE) throw new Error('encoder: constant pool is full');
      i = this.bits.push(key) - 1;
    }
    return i;
  }

  /** Index of the float constant `x` (rounded to float32). */
  indexOf(x: number): number {
    return this.indexOfBits(new Uint32Array(new Float32Array([x]).buffer)[0]);
  }

  /** The pool's lanes as float32 bit patterns, to be written at CONST_POOL_BASE before any kernel runs. */
  bytes(): Float32Array {
    const out = new Uint32Array(this.bits.length * 4);
    this.bits.forEach((v, i) => out.fill(v, i * 4, i * 4 + 4));
    return new Float32Array(out.buffer);
  }
}

/** Builds one function body: parameters, locals, instruction bytes. */
export class FunctionBuilder {
  readonly code: number[] = [];
  readonly params: Local[];
  private readonly localTypes: ValType[] = [];
  /** Whether `f32x4.relaxed_madd` may be emitted (the runtime validated it). */
  readonly relaxed: boolean;

  constructor(
    readonly name: string,
    paramTypes: ValType[],
    readonly results: ValType[],
    relaxed: boolean,
    readonly pool: ConstPool = new ConstPool(),
  ) {
    this.params = paramTypes.map((type, index) => ({ index, type }));
    this.relaxed = relaxed;
  }

  /** Declares a new local of the given type. */
  local(type: ValType): Local {
    const l = { index: this.params.length + this.localTypes.length, type };
    this.localTypes.push(type);
    return l;
  }

  /** Appends raw bytes. */
  emit(...bytes: number[]): void {
    for (const b of bytes) this.code.push(b);
  }

  /** Runs statements (or expressions) in order. */
  run(...items: Expr[]): void {
    for (const item of items) item(this);
  }

  /** Encoded body: local declarations (run-length by type) then code and `end`. */
  encodeBody(): number[] {
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const body = [...uleb(groups.length)];
    for (const [n, t] of groups) body.push(...uleb(n), VALTYPE_BYTE[t]);
    body.push(...this.code, 0x0b);
    return [...uleb(body.length), ...body];
  }

  typeSignature(): number[] {
    return [
      0x60,
      ...uleb(this.params.length),
      ...this.params.map((p) => VALTYPE_BYTE[p.type]),
      ...uleb(this.results.length),
      ...this.results.map((t) => VALTYPE_BYTE[t]),
    ];
  }
}

/** A module with one imported (optionally shared) memory `env.memory` and exported functions. */
export class ModuleBuilder {
  readonly functions: FunctionBuilder[] = [];
  readonly pool = new ConstPool();

  constructor(readonly relaxed: boolean) {}

  /** Adds a function; its index (for `call`) is its position. */
  func(name: string, params: ValType[], results: ValType[] = []): FunctionBuilder {
    const f = new FunctionBuilder(name, params, results, this.relaxed, this.pool);
    this.functions.push(f);
    return f;
  }

  /** Index (for `call`) of the function named `name`, which `user` calls: it must be emitted first. */
  functionIndex(name: string, user: string): number {
    const i = this.functions.findIndex((f) => f.name === name);
    if (i < 0) throw new Error(`encoder: ${name} must be emitted before ${user}`);
    return i;
  }

  indexOf(f: FunctionBuilder): number {
    const i = this.functions.indexOf(f);
    if (i < 0) throw new Error(`encoder: function ${f.name} is not part of this module`);
    return i;
  }

  /** Serialises the module; the memory import asks for `shared` and a maximum of `maxPages`. */
  encode(shared: boolean, maxPages: number): Uint8Array {
    const section = (id: number, payload: number[]): number[] => [id, ...uleb(payload.length), ...payload];
    const types: number[] = [...uleb(this.functions.length)];
    for (const f of this.functions) types.push(...f.typeSignature());
    const imports = [1, ...utf8('env'), ...utf8('memory'), 0x02, shared ? 0x03 : 0x01, ...uleb(1), ...uleb(maxPages)];
    const funcs = [...uleb(this.functions.length), ...this.functions.flatMap((_, i) => uleb(i))];
    const exports = [...uleb(this.functions.length)];
    this.functions.forEach((f, i) => exports.push(...utf8(f.name), 0x00, ...uleb(i)));
    const codes = [...uleb(this.functions.length), ...this.functions.flatMap((f) => f.encodeBody())];
    return new Uint8Array([
      0x00,
      0x61,
      0x73,
      0x6d,
      0x01,
      0x00,
      0x00,
      0x00,
      ...section(1, types),
      ...section(2, imports),
      ...section(3, funcs),
      ...section(7, exports),
      ...section(10, codes),
    ]);
  }
}

// ---------------------------------------------------------------------------------------------
// Combinators. Each returns an Expr; nesting them mirrors the expression tree.

const simd =
  (op: number, ...imm: number[]): Expr =>
  (f) =>
    f.emit(0xfd, ...uleb(op), ...imm);
const chain =
  (items: Expr[], ...tail: number[]): Expr =>
  (f) => {
    for (const e of items) e(f);
    f.emit(...tail);
  };
const chainSimd =
  (items: Expr[], op: number, ...imm: number[]): Expr =>
  (f) => {
    for (const e of items) e(f);
    simd(op, ...imm)(f);
  };

export const get =
  (l: Local): Expr =>
  (f) =>
    f.emit(0x20, ...uleb(l.index));
export const set =
  (l: Local, v: Expr): Expr =>
  (f) => {
    v(f);
    f.emit(0x21, ...uleb(l.index));
  };
export const tee =
  (l: Local, v: Expr): Expr =>
  (f) => {
    v(f);
    f.emit(0x22, ...uleb(l.index));
  };
export const i32 =
  (n: number): Expr =>
  (f) =>
    f.emit(0x41, ...sleb(n));
export const f32 =
  (x: number): Expr =>
  (f) => {
    const b = new Uint8Array(new Float32Array([x]).buffer);
    f.emit(0x43, ...b);
  };
export const f64 =
  (x: number): Expr =>
  (f) => {
    const b = new Uint8Array(new Float64Array([x]).buffer);
    f.emit(0x44, ...b);
  };

// i32 arithmetic and comparisons
export const add = (a: Expr, b: Expr): Expr => chain([a, b], 0x6a);
export const sub = (a: Expr, b: Expr): Expr => chain([a, b], 0x6b);
export const mul = (a: Expr, b: Expr): Expr => chain([a, b], 0x6c);
export const divS = (a: Expr, b: Expr): Expr => chain([a, b], 0x6d);
export const and = (a: Expr, b: Expr): Expr => chain([a, b], 0x71);
export const shl = (a: Expr, b: Expr): Expr => chain([a, b], 0x74);
export const shrS = (a: Expr, b: Expr): Expr => chain([a, b], 0x75);
export const eq = (a: Expr, b: Expr): Expr => chain([a, b], 0x46);
export const ne = (a: Expr, b: Expr): Expr => chain([a, b], 0x47);
export const ltS = (a: Expr, b: Expr): Expr => chain([a, b], 0x48);
export const ltU = (a: Expr, b: Expr): Expr => chain([a, b], 0x49);
export const geS = (a: Expr, b: Expr): Expr => chain([a, b], 0x4e);
export const leS = (a: Expr, b: Expr): Expr => chain([a, b], 0x4c);
export const gtS = (a: Expr, b: Expr): Expr => chain([a, b], 0x4a);
export const eqz = (a: Expr): Expr => chain([a], 0x45);

/** `local += n` for an i32 local. */
export const inc = (l: Local, n: number | Expr): Expr => set(l, add(get(l), typeof n === 'number' ? i32(n) : n));

// scalar float
export const f32Load = (addr: Expr, offset = 0): Expr => chain([addr], 0x2a, 2, ...uleb(offset));
export const f32Store = (addr: Expr, v: Expr, offset = 0): Expr => chain([addr, v], 0x38, 2, ...uleb(offset));
export const f64Load = (addr: Expr, offset = 0): Expr => chain([addr], 0x2b, 3, ...uleb(offset));
export const f64Store = (addr: Expr, v: Expr, offset = 0): Expr => chain([addr, v], 0x39, 3, ...uleb(offset));
export const i32Load = (addr: Expr, offset = 0): Expr => chain([addr], 0x28, 2, ...uleb(offset));

// SIMD
export const load = (addr: Expr, offset = 0): Expr => chainSimd([addr], 0x00, 4, ...uleb(offset));
export const loadSplat = (addr: Expr, offset = 0): Expr => chainSimd([addr], 0x09, 2, ...uleb(offset));
export const store = (addr: Expr, v: Expr, offset = 0): Expr => chainSimd([addr, v], 0x0b, 4, ...uleb(offset));
export const splat = (x: Expr): Expr => chainSimd([x], 0x13);
/**
 * A constant f32x4 with all lanes `x`, loaded from the module's constant pool in linear memory (V8 builds an
 * arbitrary `v128.const` from immediates with several instructions each time; a load with a constant address
 * folds into the arithmetic instruction).
 */
export const splatF =
  (x: number): Expr =>
  (f) => {
    const index = f.pool.indexOf(x);
    f.emit(0x41, 0, 0xfd, 0x00, 4, ...uleb(CONST_POOL_BASE + 16 * index));
  };
/** A constant i32x4 with all lanes `n`, from the constant pool. */
export const splatI =
  (n: number): Expr =>
  (f) => {
    const index = f.pool.indexOfBits(n);
    f.emit(0x41, 0, 0xfd, 0x00, 4, ...uleb(CONST_POOL_BASE + 16 * index));
  };
export const i32x4Splat = (x: Expr): Expr => chainSimd([x], 0x11);
export const lane = (v: Expr, n: number): Expr => chainSimd([v], 0x1f, n);
export const f64Lane = (v: Expr, n: number): Expr => chainSimd([v], 0x21, n);
export const fadd = (a: Expr, b: Expr): Expr => chainSimd([a, b], 0xe4);
export const fsub = (a: Expr, b: Expr): Expr => chainSimd([a, b], 0xe5);
export const fmul = (a: Expr, b: Expr): Expr => chainSimd([a, b], 0xe6);
export const fdiv = (a: Expr, b: Expr): Expr => chainSimd([a, b], 0xe7);
export const fmin = (a: Expr, b: Expr): Expr => chainSimd([a, b], 0xe8);
export const fmax = (a: Expr, b: Expr): Expr => chainSimd([a, b], 0xe9);
/** Pseudo-min `b < a ? b : a`: one instruction (`fmin` must handle NaN and -0 and costs several). */
export const fpmin = (a: Expr, b: Expr): Expr => chainSimd([a, b], 0xea);
/** Pseudo-max `a < b ? b : a`. */
export const fpmax = (a: Expr, b: Expr): Expr => chainSimd([a, b], 0xeb);
export const fabs = (a: Expr): Expr => chainSimd([a], 0xe0);
export const fneg = (a: Expr): Expr => chainSimd([a], 0xe1);
export const fnearest = (a: Expr): Expr => chainSimd([a], 0x6a);
export const truncSat = (a: Expr): Expr => chainSimd([a], 0xf8);
export const convertI32 = (a: Expr): Expr => chainSimd([a], 0xfa);
export const i32x4Add = (a: Expr, b: Expr): Expr => chainSimd([a, b], 0xae);
export const i32x4Shl = (a: Expr, b: Expr): Expr => chainSimd([a, b], 0xab);
export const vand = (a: Expr, b: Expr): Expr => chainSimd([a, b], 0x4e);
export const vor = (a: Expr, b: Expr): Expr => chainSimd([a, b], 0x50);
export const f64x2Add = (a: Expr, b: Expr): Expr => chainSimd([a, b], 0xf0);
export const promoteLow = (a: Expr): Expr => chainSimd([a], 0x5f);
/** Moves lanes 2,3 of a f32x4 into lanes 0,1 (for promoting the high half). */
export const highHalf = (a: Expr): Expr =>
  chainSimd([a, a], 0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);

/** a*b + c, fused (relaxed SIMD) where the runtime supports it, else multiply then add. */
export const fma =
  (a: Expr, b: Expr, c: Expr): Expr =>
  (f) => {
    if (f.relaxed) chainSimd([a, b, c], 0x105)(f);
    else fadd(fmul(a, b), c)(f);
  };

/** `acc += a*b` on a v128 local. */
export const madd = (acc: Local, a: Expr, b: Expr): Expr => set(acc, fma(a, b, get(acc)));

// Control flow

/** `if (cond) { then } else { otherwise }` with no result. */
export const ifThen =
  (cond: Expr, then: Expr[], otherwise?: Expr[]): Expr =>
  (f) => {
    cond(f);
    f.emit(0x04, 0x40);
    for (const s of then) s(f);
    if (otherwise) {
      f.emit(0x05);
      for (const s of otherwise) s(f);
    }
    f.emit(0x0b);
  };

/**
 * `while (cond) { body }`: a block around a loop that exits when `cond` is false.
 * The condition is tested before every iteration.
 */
export const whileLoop =
  (cond: Expr, body: Expr[]): Expr =>
  (f) => {
    f.emit(0x02, 0x40, 0x03, 0x40);
    eqz(cond)(f);
    f.emit(0x0d, 1);
    for (const s of body) s(f);
    f.emit(0x0c, 0, 0x0b, 0x0b);
  };

/** `for (v = from; v < to; v += step) body` on i32 locals/expressions (signed compare). */
export const forRange = (v: Local, from: Expr, to: Expr, step: number, body: Expr[]): Expr =>
  seq(set(v, from), whileLoop(ltS(get(v), to), [...body, inc(v, step)]));

/** Statements in order. */
export const seq =
  (...items: Expr[]): Expr =>
  (f) => {
    for (const s of items) s(f);
  };

export const call =
  (index: number, ...args: Expr[]): Expr =>
  (f) => {
    for (const a of args) a(f);
    f.emit(0x10, ...uleb(index));
  };

export const drop = (e: Expr): Expr => chain([e], 0x1a);
