import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tensor3dError } from '../src/errors.js';
import { createKernelRuntime, createKernelRuntimeSync } from '../src/kernels/index.js';
import { fadd, fmul, forRange, get, i32, add, load, mul, set, splat, store } from '../src/kernels/wasm/encoder.js';
import { type KernelDefinition, arg, defineKernel } from '../src/kernels/wasm/kernel-def.js';
import { buildKernelModule } from '../src/kernels/wasm/module.js';
import { KERNEL_TABLE, kernelDefinition } from '../src/kernels/wasm/table.js';
import { GELU_KERNEL } from '../src/kernels/wasm/gen-gelu.js';
import { GEMM_KERNEL } from '../src/kernels/wasm/gen-gemm.js';
import { GEMM_TN_ACC_KERNEL } from '../src/kernels/wasm/gen-gemm-tn-acc.js';
import { maxAbsDiff, random, useKernelRuntimes } from './helpers/kernel-test-utils.js';

const rts = useKernelRuntimes();

/** Runs `fn` and returns the Tensor3dError it throws (fails the test when it throws nothing else). */
function thrown(fn: () => unknown): Tensor3dError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Tensor3dError);
    return e as Tensor3dError;
  }
  throw new Error('expected a Tensor3dError, nothing was thrown');
}

function isDefinition(v: unknown): v is KernelDefinition {
  const d = v as KernelDefinition;
  return typeof d === 'object' && d !== null && typeof d.name === 'string' && Array.isArray(d.args) && !!d.emit;
}

describe('kernel table', () => {
  it('builds the module from the table: one export per definition, in table order, with its parameter count', () => {
    const { bytes } = buildKernelModule({ relaxed: false, shared: false, maxPages: 16 });
    const module = new WebAssembly.Module(bytes as BufferSource);
    const exported = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function');
    expect(exported.map((e) => e.name)).toEqual(KERNEL_TABLE.map((d) => d.name));
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16 });
    const fns = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, () => void>;
    for (const d of KERNEL_TABLE) {
      expect(fns[d.name].length, d.name).toBe(d.args.length + (d.mode === 'range' ? 3 : 0));
    }
  });

  it('covers every definition exported by the generator files, and each argument is documented', async () => {
    const dir = new URL('../src/kernels/wasm/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.startsWith('gen-') && f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    let found = 0;
    for (const file of files) {
      const mod = (await import(new URL(file, dir).href)) as Record<string, unknown>;
      const defs = Object.values(mod)
        .flatMap((v) => (Array.isArray(v) ? v : [v]))
        .filter(isDefinition);
      for (const d of defs) {
        expect(KERNEL_TABLE.includes(d), `${file}: ${d.name} is not in KERNEL_TABLE`).toBe(true);
        found++;
      }
    }
    // the depthwise and filter-gradient variants come from factories, the rest are exported definitions
    const fromFactories = KERNEL_TABLE.filter((d) => /^dw/.test(d.name)).length;
    expect(found + fromFactories).toBe(KERNEL_TABLE.length);
    for (const d of KERNEL_TABLE) {
      expect(new Set(d.args.map((a) => a.name)).size, d.name).toBe(d.args.length);
      for (const a of d.args) expect(a.doc.length, `${d.name}.${a.name}`).toBeGreaterThan(3);
    }
  });

  it('looks kernels up by name, with a typed error for an unknown one', () => {
    expect(kernelDefinition('gemm')).toBe(GEMM_KERNEL);
    const e = thrown(() => kernelDefinition('gemm_9x9'));
    expect(e.code).toBe('UNKNOWN_KERNEL');
    expect(e.message).toMatch(/no kernel named gemm_9x9/);
  });

  it('refuses a table whose kernel calls one listed after it', () => {
    const reordered = KERNEL_TABLE.filter((d) => d.name !== 'gn_apply').concat(kernelDefinition('gn_apply'));
    const e = thrown(() => buildKernelModule({ relaxed: false, shared: false, maxPages: 16, table: reordered }));
    expect(e.code).toBe('UNKNOWN_KERNEL');
    expect(e.message).toMatch(/block_tail calls gn_apply, which must come before it/);
  });
});

describe('typed kernel calls', () => {
  const gemmArgs = { a: 64, bp: 128, bias: 192, c: 256, res: 0, K: 4, N: 16, MT: 16 };

  it('names the kernel and the argument when a name is wrong, missing or extra', () => {
    const rt = rts.one;
    const { K, ...noK } = gemmArgs;
    let e = thrown(() => rt.run(GEMM_KERNEL, { ...noK, k: K } as never, { end: 4 }));
    expect(e.code).toBe('KERNEL_ARGUMENT');
    expect(e.message).toMatch(/kernel gemm: missing argument 'K' \(i32: inner dimension\)/);
    e = thrown(() => rt.run(GEMM_KERNEL, noK as never, { end: 4 }));
    expect(e.message).toMatch(/kernel gemm: missing argument 'K'/);
    e = thrown(() => rt.run(GEMM_KERNEL, { ...gemmArgs, extra: 1 } as never, { end: 4 }));
    expect(e.code).toBe('KERNEL_ARGUMENT');
    expect(e.message).toMatch(/kernel gemm: unknown argument 'extra' \(it takes a, bp, bias, c, res, K, N, MT\)/);
  });

  it('checks each argument against its declared type', () => {
    const rt = rts.one;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ K: 4.5 }, /argument 'K' \(i32: .*\) must be a 32-bit integer, got 4\.5/],
      [{ K: 2 ** 31 }, /argument 'K' .* must be a 32-bit integer/],
      [{ a: -64 }, /argument 'a' \(ptr: .*\) must be a byte address .*, got -64/],
      [{ a: 2 ** 32 }, /argument 'a' .* must be a byte address/],
      [{ c: new Float32Array(4) }, /argument 'c' .* got Float32Array/],
      [{ N: '16' }, /argument 'N' .* got string/],
      [{ MT: Number.NaN }, /argument 'MT' .* got NaN/],
    ];
    for (const [patch, message] of cases) {
      const e = thrown(() => rt.run(GEMM_KERNEL, { ...gemmArgs, ...patch } as never, { end: 4 }));
      expect(e.code).toBe('KERNEL_ARGUMENT');
      expect(e.message).toMatch(/^kernel gemm: /);
      expect(e.message).toMatch(message);
    }
  });

  it('checks the call form and the range', () => {
    const rt = rts.one;
    let e = thrown(() => rt.run(GEMM_TN_ACC_KERNEL as never, { a: 0, b: 0, c: 0, K: 4, N: 4, rows: 1 }, { end: 1 }));
    expect(e.code).toBe('KERNEL_ARGUMENT');
    expect(e.message).toMatch(/gemm_tn_acc runs whole .*use call\(\)/);
    e = thrown(() => rt.call(GELU_KERNEL as never, { x: 64 }));
    expect(e.message).toMatch(/gelu runs over a row range: use run\(\)/);
    e = thrown(() => rt.run(GELU_KERNEL, { x: 64 }, { end: 4, grain: 0 }));
    expect(e.code).toBe('KERNEL_ARGUMENT');
    expect(e.message).toMatch(/grain >= 1/);
  });

  it('refuses a definition that is not the one the module was built from', () => {
    const lookalike = defineKernel({ ...GELU_KERNEL });
    const e = thrown(() => rts.one.run(lookalike, { x: 64 }, { end: 4 }));
    expect(e.code).toBe('UNKNOWN_KERNEL');
    expect(e.message).toMatch(/gelu is not the definition this runtime's module was built from/);
    const other = defineKernel({ ...GELU_KERNEL, name: 'gelu_other' });
    expect(thrown(() => rts.one.run(other, { x: 64 }, { end: 4 })).message).toMatch(/no kernel named gelu_other/);
  });

  it('refuses to declare an argument name twice', () => {
    const e = thrown(() =>
      defineKernel({ name: 'twice', mode: 'range', args: [arg.ptr('x', 'a'), arg.i32('x', 'b')], emit: () => {} }),
    );
    expect(e.code).toBe('KERNEL_ARGUMENT');
    expect(
      thrown(() => defineKernel({ name: 'r', mode: 'range', args: [arg.i32('end', 'e')], emit: () => {} })).code,
    ).toBe('KERNEL_ARGUMENT');
  });
});

describe('a table of ones own kernels, with float arguments', () => {
  /** x = x * scale + offset over rows of 4 floats. */
  const AXPB = defineKernel({
    name: 'axpb',
    mode: 'range',
    args: [arg.ptr('x', 'values [rows, 4], updated in place'), arg.f32('scale', 'factor'), arg.f32('offset', 'added')],
    emit: (f, P) => {
      const i = f.local('i32');
      const p = f.local('i32');
      f.run(
        forRange(i, get(P.start), get(P.end), 1, [
          set(p, add(get(P.x), mul(get(i), i32(16)))),
          store(get(p), fadd(fmul(load(get(p)), splat(get(P.scale))), splat(get(P.offset)))),
        ]),
      );
    },
  });

  it('marshals f32 arguments on the calling thread and through the workers', async () => {
    const one = createKernelRuntimeSync({ kernels: [AXPB] });
    const two = await createKernelRuntime({ threads: 2, kernels: [AXPB] });
    try {
      expect(two.threads).toBe(2);
      const rows = 1000;
      const x = random(rows * 4, 9);
      const want = x.map((v) => Math.fround(Math.fround(v * Math.fround(0.3)) + Math.fround(-1.25)));
      for (const rt of [one, two]) {
        const a = rt.put(x);
        rt.run(AXPB, { x: a, scale: 0.3, offset: -1.25 }, { end: rows });
        expect(maxAbsDiff(rt.f32(a, rows * 4), want)).toBe(0);
      }
      expect(two.has('axpb') && !two.has('gemm')).toBe(true);
      const e = thrown(() => two.run(AXPB, { x: 64, scale: Number.POSITIVE_INFINITY, offset: 0 }, { end: 1 }));
      expect(e.message).toMatch(/kernel axpb: argument 'scale' \(f32: factor\) must be a finite number, got Infinity/);
    } finally {
      await two.dispose();
    }
  });
});
