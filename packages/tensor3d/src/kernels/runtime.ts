/**
 * The kernel runtime: one WebAssembly memory (shared when threads are used), a bump allocator on it, the
 * instantiated kernel module, and a synchronous fork-join dispatcher over worker threads.
 *
 * Threading: every worker instantiates the same compiled module on the same shared memory and sleeps on a
 * control block (the first 4 KiB of memory) with `Atomics.wait`. A dispatch writes the function index, the
 * arguments and one row range per thread, bumps the generation word and wakes the workers; the calling
 * thread runs range 0 itself, then waits until every worker has counted itself done. Blocking waits on the
 * calling thread are allowed in Node (and inside browser workers, not on a browser's main thread), which
 * is what makes the kernels usable from synchronous tfjs kernel functions.
 */
import { Tensor3dError } from '../errors.js';
import { buildKernelModule, hasRelaxedSimd } from './wasm/module.js';
import { CONST_POOL_BASE } from './wasm/encoder.js';
import { type KernelArgs, type KernelDefinition, kernelArgValues } from './wasm/kernel-def.js';
import { KERNEL_TABLE, type KernelTable } from './wasm/table.js';
import { FirstFitHeap } from './heap.js';

/** Options of {@link createKernelRuntime}. */
export interface KernelRuntimeOptions {
  /** Threads including the caller (default 1). Values above 1 need worker_threads and SharedArrayBuffer. */
  threads?: number;
  /** Use relaxed-SIMD FMA: `'auto'` (default) when the runtime validates it. */
  relaxedSimd?: boolean | 'auto';
  /** Initial memory in MiB (default 64); memory grows on demand up to 4 GiB. */
  initialMiB?: number;
  /**
   * The kernels to build, in module order (default {@link KERNEL_TABLE}: all of tensor3d's kernels). Another
   * table serves kernels of one's own, declared with `defineKernel`.
   */
  kernels?: KernelTable;
}

/** The rows a {@link KernelRuntime.run} call covers, and how they are split between threads. */
export interface KernelRange {
  /** First row (default 0): the kernel sees absolute row indices (e.g. output planes computed a slab at a time). */
  start?: number;
  /** End of the rows (exclusive). */
  end: number;
  /** Thread ranges are rounded to multiples of `grain` rows (default 1). */
  grain?: number;
  /** Cap on threads for this call (default {@link KernelRuntime.activeThreads}). */
  threads?: number;
}

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit
/** Reserved start of memory: the thread control block (first 2 KiB) and the constant pool (next 2 KiB). */
const CONTROL_BYTES = 4096;
/** Control block layout (Int32 indices). */
const CTL = { gen: 0, done: 1, fn: 2, nargs: 3, error: 4, args: 16, ranges: 64 } as const;
const MAX_ARGS = 40;
const MAX_THREADS = 32;

type KernelFn = (...args: number[]) => void;

/** Time spent in one kernel while profiling. */
export interface KernelProfileEntry {
  kernel: string;
  calls: number;
  seconds: number;
}

/**
 * The worker loop, shared by Node and browser workers: instantiate the module on the shared memory from the
 * init message, report ready, then serve dispatches until a negative function index arrives.
 */
const WORKER_BODY = `
  const { module, memory, names, f32Args, tid } = init;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const fns = names.map((n) => instance.exports[n]);
  const ctl = new Int32Array(memory.buffer, 0, 512);
  const ctlF32 = new Float32Array(memory.buffer, 0, 512);
  let gen = Atomics.load(ctl, ${CTL.gen});
  post('ready');
  for (;;) {
    Atomics.wait(ctl, ${CTL.gen}, gen);
    gen = Atomics.load(ctl, ${CTL.gen});
    const fn = ctl[${CTL.fn}];
    if (fn < 0) break;
    const n = ctl[${CTL.nargs}];
    const isF32 = f32Args[fn];
    const args = [];
    for (let i = 0; i < n; i++) args.push(isF32[i] ? ctlF32[${CTL.args} + i] : ctl[${CTL.args} + i]);
    const start = ctl[${CTL.ranges} + 2 * tid], end = ctl[${CTL.ranges} + 2 * tid + 1];
    try {
      if (start < end) fns[fn](...args, start, end, tid);
    } catch (e) {
      Atomics.store(ctl, ${CTL.error}, tid + 1);
    }
    Atomics.add(ctl, ${CTL.done}, 1);
    Atomics.notify(ctl, ${CTL.done});
  }
`;

/** Node worker_threads source (evaluated, so it needs no file next to the compiled module). */
const NODE_WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.once('message', (init) => {
  const post = (m) => parentPort.postMessage(m);
  ${WORKER_BODY}
});
`;

/** Browser dedicated-worker source (loaded from a Blob URL). */
const BROWSER_WORKER_SOURCE = `
self.onmessage = (e) => {
  self.onmessage = null;
  const init = e.data;
  const post = (m) => self.postMessage(m);
  ${WORKER_BODY}
};
`;

/** What the runtime needs from a worker, in Node or a browser. */
interface WorkerHandle {
  ready: Promise<void>;
  terminate(): Promise<unknown> | void;
  unref?(): void;
}

type WorkerSpawner = (init: object) => WorkerHandle;

interface NodeWorker {
  postMessage(m: unknown): void;
  once(ev: string, cb: (x: unknown) => void): void;
  terminate(): Promise<number>;
  unref(): void;
}

interface BrowserWorker {
  postMessage(m: unknown): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: unknown) => void) | null;
  terminate(): void;
}

/** Finds a way to start workers here, or says why there is none. */
async function workerSpawner(): Promise<WorkerSpawner | string> {
  if (typeof SharedArrayBuffer === 'undefined') {
    return 'SharedArrayBuffer is unavailable (browsers need cross-origin isolation: COOP/COEP headers)';
  }
  const g = globalThis as {
    Worker?: new (url: string) => BrowserWorker;
    document?: unknown;
    Blob?: new (parts: string[], o: object) => object;
    URL?: { createObjectURL(b: object): string };
  };
  const isNodeRuntime = typeof process !== 'undefined' && !!process.versions?.node;
  if (isNodeRuntime) {
    try {
      const { Worker } = (await import('node:worker_threads')) as unknown as {
        Worker: new (src: string, o: object) => NodeWorker;
      };
      return (init) => {
        const w = new Worker(NODE_WORKER_SOURCE, { eval: true });
        const ready = new Promise<void>((resolve, reject) => {
          w.once('message', () => resolve());
          w.once('error', reject);
        });
        w.postMessage(init);
        return { ready, terminate: () => w.terminate(), unref: () => w.unref() };
      };
    } catch {
      return 'node:worker_threads is unavailable';
    }
  }
  if (g.document !== undefined) {
    return "a browser's main thread cannot block on Atomics.wait: create the runtime inside a worker to use threads";
  }
  if (!g.Worker || !g.Blob || !g.URL) return 'Worker or Blob URLs are unavailable here';
  const url = g.URL.createObjectURL(new g.Blob([BROWSER_WORKER_SOURCE], { type: 'text/javascript' }));
  const BrowserWorkerCtor = g.Worker;
  return (init) => {
    const w = new BrowserWorkerCtor(url);
    const ready = new Promise<void>((resolve, reject) => {
      w.onmessage = () => resolve();
      w.onerror = reject;
    });
    w.postMessage(init);
    return { ready, terminate: () => w.terminate() };
  };
}

interface WorkerLike {
  terminate(): Promise<unknown> | void;
  unref?(): void;
}

/** A compiled, instantiated kernel module with its memory and threads. Create with {@link createKernelRuntime}. */
export class KernelRuntime {
  readonly threads: number;
  readonly relaxedSimd: boolean;
  readonly memory: WebAssembly.Memory;
  /** The kernels of this runtime's module, in module order. */
  readonly kernels: KernelTable;
  /** The kernels' functions, by position in {@link kernels}. */
  private readonly fns: KernelFn[];
  private readonly indexByName: Map<string, number>;
  private readonly workers: WorkerLike[];
  private readonly heap = new FirstFitHeap(CONTROL_BYTES);
  /** Addresses from {@link alloc}, newest last: {@link release} frees back to a mark. */
  private readonly scoped: number[] = [];
  /** Threads a dispatch uses by default (1..threads); lower it to measure scaling on one runtime. */
  activeThreads: number;
  /** Number of kernel dispatches so far (diagnostics: shows which calls took the fast path). */
  dispatches = 0;
  /** Wall time per kernel while profiling ({@link startProfile}). */
  private profile: Map<string, KernelProfileEntry> | undefined;

  /** @internal use {@link createKernelRuntime} */
  constructor(
    memory: WebAssembly.Memory,
    instance: WebAssembly.Instance,
    kernels: KernelTable,
    workers: WorkerLike[],
    relaxedSimd: boolean,
  ) {
    this.memory = memory;
    this.kernels = kernels;
    const exported = instance.exports as unknown as Record<string, KernelFn>;
    this.fns = kernels.map((d) => exported[d.name]);
    this.indexByName = new Map(kernels.map((d, i) => [d.name, i]));
    this.workers = workers;
    this.threads = workers.length + 1;
    this.activeThreads = this.threads;
    this.relaxedSimd = relaxedSimd;
  }

  /**
   * Allocates `bytes` (64-byte aligned) for the current scope and returns the byte address; grows memory when
   * needed. Scoped blocks are freed by {@link release} back to a {@link mark}.
   */
  alloc(bytes: number): number {
    const addr = this.reserve(bytes);
    this.scoped.push(addr);
    return addr;
  }

  /**
   * Allocates `bytes` that outlive every scope (weights, activations with non-nested lifetimes) and returns
   * the address; free it with {@link free}.
   */
  allocKept(bytes: number): number {
    return this.reserve(bytes);
  }

  /** Frees a block from {@link allocKept}; its memory is reused by later allocations. */
  free(addr: number): void {
    if (this.scoped.includes(addr)) {
      throw new Tensor3dError('BAD_MEMORY_USE', 'tensor3d kernels: free() of a scoped block (use release)');
    }
    this.heap.release(addr);
  }

  /** Allocation mark for {@link release} (an opaque token). */
  mark(): number {
    return this.scoped.length;
  }

  /** Frees every scoped block allocated after `mark` (the memory is kept for reuse). */
  release(mark: number): void {
    while (this.scoped.length > mark) this.heap.release(this.scoped.pop() as number);
  }

  /** Bytes of kernel memory in use now, and the most ever in use (the memory never shrinks below that). */
  memoryUse(): { liveBytes: number; highWaterBytes: number; memoryBytes: number } {
    return {
      liveBytes: this.heap.liveBytes,
      highWaterBytes: this.heap.highWater,
      memoryBytes: this.memory.buffer.byteLength,
    };
  }

  private reserve(bytes: number): number {
    if (!Number.isFinite(bytes) || bytes < 0) {
      throw new Tensor3dError('BAD_ARGUMENT', `tensor3d kernels: cannot allocate ${bytes} bytes`);
    }
    const addr = this.heap.allocate(bytes);
    const end = this.heap.end;
    if (end > MAX_PAGES * PAGE) {
      this.heap.release(addr);
      throw new Tensor3dError(
        'OUT_OF_MEMORY',
        `tensor3d kernels: out of WebAssembly memory (need ${(end / 2 ** 30).toFixed(2)} GiB, max 4 GiB)`,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    return addr >>> 0;
  }

  /** Float32 view of `n` floats at byte address `addr` (views die when memory grows: take them late). */
  f32(addr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, addr, n);
  }

  f64(addr: number, n: number): Float64Array {
    return new Float64Array(this.memory.buffer, addr, n);
  }

  i32(addr: number, n: number): Int32Array {
    return new Int32Array(this.memory.buffer, addr, n);
  }

  /** Copies `data` into fresh memory and returns its address. */
  put(data: ArrayLike<number>, kind: 'f32' | 'i32' = 'f32'): number {
    const addr = this.alloc(data.length * 4);
    (kind === 'f32' ? this.f32(addr, data.length) : this.i32(addr, data.length)).set(data);
    return addr;
  }

  /** Whether this runtime's module has a kernel named `name`. */
  has(name: string): boolean {
    return this.indexByName.has(name);
  }

  /** Position of `kernel` in this runtime's table; it must be that table's definition of its name. */
  private indexOf(kernel: KernelDefinition): number {
    const i = this.indexByName.get(kernel.name);
    if (i === undefined || this.kernels[i] !== kernel) {
      throw new Tensor3dError(
        'UNKNOWN_KERNEL',
        i === undefined
          ? `tensor3d kernels: no kernel named ${kernel.name} in this runtime's module`
          : `tensor3d kernels: ${kernel.name} is not the definition this runtime's module was built from`,
      );
    }
    return i;
  }

  /**
   * Runs `range` kernel `kernel` with the named `args` over rows [range.start, range.end), split into one
   * contiguous range per thread (rounded to multiples of `range.grain`), and returns when all are done. The
   * arguments are checked against the kernel's definition (names, count, types): a wrong call throws a
   * {@link Tensor3dError} with code `KERNEL_ARGUMENT` naming the kernel and the argument.
   *
   * @example
   * ```ts
   * rt.run(kernelDefinition('gelu'), { x: addr }, { end: count, grain: 1024 });
   * ```
   */
  run<D extends KernelDefinition>(kernel: D, args: KernelArgs<D>, range: KernelRange): void {
    const index = this.indexOf(kernel);
    if (kernel.mode !== 'range') {
      throw new Tensor3dError('KERNEL_ARGUMENT', `kernel ${kernel.name} runs whole (mode 'once'): use call()`);
    }
    const values = kernelArgValues(kernel, args as Readonly<Record<string, unknown>>);
    const start = range.start ?? 0;
    const { end } = range;
    const grain = range.grain ?? 1;
    if (!Number.isInteger(start) || !Number.isInteger(end) || !Number.isInteger(grain) || grain < 1) {
      throw new Tensor3dError(
        'KERNEL_ARGUMENT',
        `kernel ${kernel.name}: the range needs integer start, end and grain >= 1, got ${start}, ${end}, ${grain}`,
      );
    }
    const threads = range.threads ?? this.activeThreads;
    if (!this.profile) {
      this.dispatchNow(index, values, start, end, grain, threads);
      return;
    }
    const t0 = performance.now();
    try {
      this.dispatchNow(index, values, start, end, grain, threads);
    } finally {
      const entry = this.profile.get(kernel.name) ?? { kernel: kernel.name, calls: 0, seconds: 0 };
      entry.calls++;
      entry.seconds += (performance.now() - t0) / 1e3;
      this.profile.set(kernel.name, entry);
    }
  }

  /**
   * Calls `once` kernel `kernel` with the named `args` on the calling thread: the helpers the dispatched
   * kernels call internally (e.g. `gemm_tn_acc`), to check them on their own. Arguments are checked as in
   * {@link run}.
   */
  call<D extends KernelDefinition>(kernel: D, args: KernelArgs<D>): void {
    const index = this.indexOf(kernel);
    if (kernel.mode !== 'once') {
      throw new Tensor3dError('KERNEL_ARGUMENT', `kernel ${kernel.name} runs over a row range: use run()`);
    }
    const values = kernelArgValues(kernel, args as Readonly<Record<string, unknown>>);
    try {
      this.fns[index](...values);
    } catch (e) {
      throw kernelFailed(kernel.name, e);
    }
  }

  /** Starts timing every dispatch (wall time, all threads of a call together) until {@link stopProfile}. */
  startProfile(): void {
    this.profile = new Map();
  }

  /** Stops timing and returns the time per kernel, the largest first. */
  stopProfile(): KernelProfileEntry[] {
    const entries = [...(this.profile?.values() ?? [])];
    this.profile = undefined;
    return entries.sort((a, b) => b.seconds - a.seconds);
  }

  private dispatchNow(index: number, args: number[], start: number, end: number, grain: number, threads: number): void {
    const fn = this.fns[index];
    const kernel = this.kernels[index];
    this.dispatches++;
    const total = end - start;
    const n = Math.max(1, Math.min(threads, this.threads, Math.ceil(total / grain)));
    if (n === 1 || this.workers.length === 0) {
      try {
        if (total > 0) fn(...args, start, end, 0);
      } catch (e) {
        throw kernelFailed(kernel.name, e);
      }
      return;
    }
    if (args.length > MAX_ARGS) {
      throw new Tensor3dError(
        'KERNEL_ARGUMENT',
        `tensor3d kernels: ${kernel.name} has more than ${MAX_ARGS} arguments`,
      );
    }
    const ctl = new Int32Array(this.memory.buffer, 0, 512);
    const ctlF32 = new Float32Array(this.memory.buffer, 0, 512);
    const units = Math.ceil(total / grain);
    const bounds: number[] = [];
    for (let t = 0; t < this.threads; t++) {
      if (t >= n) bounds.push(0, 0);
      else
        bounds.push(
          start + Math.min(total, Math.round((units * t) / n) * grain),
          start + Math.min(total, Math.round((units * (t + 1)) / n) * grain),
        );
    }
    ctl[CTL.fn] = index;
    ctl[CTL.nargs] = args.length;
    for (let i = 0; i < args.length; i++) {
      if (kernel.args[i].type === 'f32') ctlF32[CTL.args + i] = args[i];
      else ctl[CTL.args + i] = args[i];
    }
    for (let i = 0; i < bounds.length; i++) ctl[CTL.ranges + i] = bounds[i];
    Atomics.store(ctl, CTL.done, 0);
    Atomics.store(ctl, CTL.error, 0);
    Atomics.add(ctl, CTL.gen, 1);
    Atomics.notify(ctl, CTL.gen);
    let ownError: unknown;
    try {
      if (bounds[0] < bounds[1]) fn(...args, bounds[0], bounds[1], 0);
    } catch (e) {
      ownError = e;
    }
    const workers = this.workers.length;
    for (;;) {
      const done = Atomics.load(ctl, CTL.done);
      if (done >= workers) break;
      Atomics.wait(ctl, CTL.done, done);
    }
    if (ownError) throw kernelFailed(kernel.name, ownError);
    const err = Atomics.load(ctl, CTL.error);
    if (err) throw new Tensor3dError('KERNEL_FAILED', `tensor3d kernels: ${kernel.name} failed in worker ${err - 1}`);
  }

  /** Stops the worker threads; the runtime stays usable single-threaded. */
  async dispose(): Promise<void> {
    if (this.workers.length === 0) return;
    const ctl = new Int32Array(this.memory.buffer, 0, 512);
    ctl[CTL.fn] = -1;
    Atomics.add(ctl, CTL.gen, 1);
    Atomics.notify(ctl, CTL.gen);
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
    (this as { threads: number }).threads = 1;
    this.activeThreads = 1;
  }
}

/** A trap in a kernel (e.g. an out-of-bounds access) as a typed error that keeps the trap's message. */
function kernelFailed(name: string, cause: unknown): Tensor3dError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new Tensor3dError('KERNEL_FAILED', `tensor3d kernels: ${name} failed: ${why}`, { cause });
}

function compile(
  relaxed: boolean,
  shared: boolean,
  table: KernelTable,
): { module: WebAssembly.Module; constants: Float32Array } {
  const { bytes, constants } = buildKernelModule({ relaxed, shared, maxPages: MAX_PAGES, table });
  return { module: new WebAssembly.Module(bytes as BufferSource), constants };
}

function newMemory(initialMiB: number | undefined, shared: boolean, constants: Float32Array): WebAssembly.Memory {
  const memory = new WebAssembly.Memory({
    initial: Math.ceil(((initialMiB ?? 64) * 2 ** 20) / PAGE),
    maximum: MAX_PAGES,
    shared,
  });
  new Float32Array(memory.buffer, CONST_POOL_BASE, constants.length).set(constants);
  return memory;
}

function resolveRelaxed(opt: boolean | 'auto' | undefined): boolean {
  if (opt === true && !hasRelaxedSimd()) {
    throw new Tensor3dError('RUNTIME_UNAVAILABLE', 'tensor3d kernels: relaxedSimd requested but not supported');
  }
  return opt === true || ((opt ?? 'auto') === 'auto' && hasRelaxedSimd());
}

/**
 * Creates a single-threaded runtime synchronously (no workers). Used as the default runtime of the tfjs
 * kernels until {@link createKernelRuntime} installs a threaded one.
 */
export function createKernelRuntimeSync(options: Omit<KernelRuntimeOptions, 'threads'> = {}): KernelRuntime {
  const relaxed = resolveRelaxed(options.relaxedSimd);
  const table = options.kernels ?? KERNEL_TABLE;
  const { module, constants } = compile(relaxed, false, table);
  const memory = newMemory(options.initialMiB, false, constants);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return new KernelRuntime(memory, instance, table, [], relaxed);
}

/**
 * Creates a kernel runtime with `threads` threads (the caller plus `threads - 1` workers). Falls back to
 * one thread, with a reason in `fallbackReason`, when worker_threads or shared memory are unavailable.
 */
export async function createKernelRuntime(
  options: KernelRuntimeOptions = {},
): Promise<KernelRuntime & { fallbackReason?: string }> {
  const requested = options.threads ?? 1;
  if (!Number.isInteger(requested) || requested < 1) {
    throw new Tensor3dError(
      'BAD_ARGUMENT',
      `createKernelRuntime: threads must be a positive integer, got ${requested}`,
    );
  }
  const threads = Math.min(MAX_THREADS, requested);
  if (threads === 1) return createKernelRuntimeSync(options);
  const relaxed = resolveRelaxed(options.relaxedSimd);
  const spawn = await workerSpawner();
  if (typeof spawn === 'string') {
    const rt = createKernelRuntimeSync(options) as KernelRuntime & { fallbackReason?: string };
    rt.fallbackReason = spawn;
    return rt;
  }
  const table = options.kernels ?? KERNEL_TABLE;
  const { module, constants } = compile(relaxed, true, table);
  const memory = newMemory(options.initialMiB, true, constants);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const names = table.map((d) => d.name);
  const f32Args = table.map((d) => d.args.map((a) => (a.type === 'f32' ? 1 : 0)));
  const handles = Array.from({ length: threads - 1 }, (_, i) => spawn({ module, memory, names, f32Args, tid: i + 1 }));
  await Promise.all(handles.map((h) => h.ready));
  // Workers sleep in Atomics.wait; they must not keep a Node process alive on their own.
  for (const h of handles) h.unref?.();
  return new KernelRuntime(memory, instance, table, handles, relaxed);
}
