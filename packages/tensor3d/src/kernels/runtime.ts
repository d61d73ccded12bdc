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
import { buildKernelModule, hasRelaxedSimd } from './wasm/module.js';
import { CONST_POOL_BASE } from './wasm/encoder.js';
import { FirstFitHeap } from './heap.js';

/** Options of {@link createKernelRuntime}. */
export interface KernelRuntimeOptions {
  /** Threads including the caller (default 1). Values above 1 need worker_threads and SharedArrayBuffer. */
  threads?: number;
  /** Use relaxed-SIMD FMA: `'auto'` (default) when the runtime validates it. */
  relaxedSimd?: boolean | 'auto';
  /** Initial memory in MiB (default 64); memory grows on demand up to 4 GiB. */
  initialMiB?: number;
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
  const { module, memory, names, tid } = init;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const fns = names.map((n) => instance.exports[n]);
  const ctl = new Int32Array(memory.buffer, 0, 512);
  let gen = Atomics.load(ctl, ${CTL.gen});
  post('ready');
  for (;;) {
    Atomics.wait(ctl, ${CTL.gen}, gen);
    gen = Atomics.load(ctl, ${CTL.gen});
    const fn = ctl[${CTL.fn}];
    if (fn < 0) break;
    const n = ctl[${CTL.nargs}];
    const args = [];
    for (let i = 0; i < n; i++) args.push(ctl[${CTL.args} + i]);
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
  private readonly exportsByName: Record<string, KernelFn>;
  private readonly names: string[];
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
    names: string[],
    workers: WorkerLike[],
    relaxedSimd: boolean,
  ) {
    this.memory = memory;
    this.exportsByName = instance.exports as unknown as Record<string, KernelFn>;
    this.names = names;
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
    if (this.scoped.includes(addr)) throw new Error('tensor3d kernels: free() of a scoped block (use release)');
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
    if (!Number.isFinite(bytes) || bytes < 0) throw new Error(`tensor3d kernels: cannot allocate ${bytes} bytes`);
    const addr = this.heap.allocate(bytes);
    const end = this.heap.end;
    if (end > MAX_PAGES * PAGE) {
      this.heap.release(addr);
      throw new Error(
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

  /** Whether the module exports `name`. */
  has(name: string): boolean {
    return typeof this.exportsByName[name] === 'function';
  }

  /**
   * Runs kernel `name(...args, start, end, tid)` over `[0, total)`, split into one contiguous range per thread
   * (ranges rounded to multiples of `grain`), and returns when all are done. `threads` caps the thread count.
   */
  dispatch(name: string, args: number[], total: number, grain = 1, threads = this.activeThreads): void {
    this.dispatchRange(name, args, 0, total, grain, threads);
  }

  /**
   * {@link dispatch} over `[start, end)` instead of `[0, total)`: the kernel sees absolute indices (e.g. output
   * planes of a convolution computed a slab at a time).
   */
  dispatchRange(
    name: string,
    args: number[],
    start: number,
    end: number,
    grain = 1,
    threads = this.activeThreads,
  ): void {
    if (!this.profile) {
      this.dispatchNow(name, args, start, end, grain, threads);
      return;
    }
    const t0 = performance.now();
    try {
      this.dispatchNow(name, args, start, end, grain, threads);
    } finally {
      const entry = this.profile.get(name) ?? { kernel: name, calls: 0, seconds: 0 };
      entry.calls++;
      entry.seconds += (performance.now() - t0) / 1e3;
      this.profile.set(name, entry);
    }
  }

  /**
   * Calls exported function `name(...args)` once on the calling thread, with no row range: for the helper
   * functions the dispatched kernels call internally (e.g. `gemm_tn_acc`), to check them on their own.
   */
  callOnce(name: string, ...args: number[]): void {
    const fn = this.exportsByName[name];
    if (!fn) throw new Error(`tensor3d kernels: no kernel named ${name}`);
    fn(...args);
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

  private dispatchNow(name: string, args: number[], start: number, end: number, grain: number, threads: number): void {
    const fn = this.exportsByName[name];
    if (!fn) throw new Error(`tensor3d kernels: no kernel named ${name}`);
    this.dispatches++;
    const total = end - start;
    const n = Math.max(1, Math.min(threads, this.threads, Math.ceil(total / grain)));
    if (n === 1 || this.workers.length === 0) {
      if (total > 0) fn(...args, start, end, 0);
      return;
    }
    if (args.length > MAX_ARGS) throw new Error(`tensor3d kernels: ${name} has too many arguments`);
    const ctl = new Int32Array(this.memory.buffer, 0, 512);
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
    ctl[CTL.fn] = this.names.indexOf(name);
    ctl[CTL.nargs] = args.length;
    for (let i = 0; i < args.length; i++) ctl[CTL.args + i] = args[i];
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
    if (ownError) throw ownError;
    const err = Atomics.load(ctl, CTL.error);
    if (err) throw new Error(`tensor3d kernels: ${name} failed in worker ${err - 1}`);
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

function exportNames(module: WebAssembly.Module): string[] {
  return WebAssembly.Module.exports(module)
    .filter((e) => e.kind === 'function')
    .map((e) => e.name);
}

function compile(relaxed: boolean, shared: boolean): { module: WebAssembly.Module; constants: Float32Array } {
  const { bytes, constants } = buildKernelModule({ relaxed, shared, maxPages: MAX_PAGES });
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
  if (opt === true && !hasRelaxedSimd()) throw new Error('tensor3d kernels: relaxedSimd requested but not supported');
  return opt === true || ((opt ?? 'auto') === 'auto' && hasRelaxedSimd());
}

/**
 * Creates a single-threaded runtime synchronously (no workers). Used as the default runtime of the tfjs
 * kernels until {@link createKernelRuntime} installs a threaded one.
 */
export function createKernelRuntimeSync(options: Omit<KernelRuntimeOptions, 'threads'> = {}): KernelRuntime {
  const relaxed = resolveRelaxed(options.relaxedSimd);
  const { module, constants } = compile(relaxed, false);
  const memory = newMemory(options.initialMiB, false, constants);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return new KernelRuntime(memory, instance, exportNames(module), [], relaxed);
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
    throw new Error(`createKernelRuntime: threads must be a positive integer, got ${requested}`);
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
  const { module, constants } = compile(relaxed, true);
  const memory = newMemory(options.initialMiB, true, constants);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const names = exportNames(module);
  const handles = Array.from({ length: threads - 1 }, (_, i) => spawn({ module, memory, names, tid: i + 1 }));
  await Promise.all(handles.map((h) => h.ready));
  // Workers sleep in Atomics.wait; they must not keep a Node process alive on their own.
  for (const h of handles) h.unref?.();
  return new KernelRuntime(memory, instance, names, handles, relaxed);
}
