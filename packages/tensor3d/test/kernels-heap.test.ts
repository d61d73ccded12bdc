import { describe, expect, it } from 'vitest';
import { FirstFitHeap, HEAP_ALIGN } from '../src/kernels/heap.js';
import { createKernelRuntimeSync, gelu } from '../src/kernels/index.js';

describe('FirstFitHeap', () => {
  it('aligns blocks, reuses the lowest free block that fits and merges neighbours', () => {
    const heap = new FirstFitHeap(100);
    const a = heap.allocate(10);
    expect(a).toBe(128); // 100 rounded up to 64
    const b = heap.allocate(100); // 128 bytes
    const c = heap.allocate(64);
    expect([b, c]).toEqual([192, 320]);
    expect(heap.end).toBe(384);
    heap.release(b);
    // a 64-byte request takes the start of the freed 128-byte hole, not the top
    const d = heap.allocate(1);
    expect(d).toBe(192);
    expect(heap.end).toBe(384);
    heap.release(a);
    heap.release(d); // merges with a's block and the rest of b's hole: 128..320 free
    expect(heap.allocate(192)).toBe(128);
    expect(heap.liveBytes).toBe(192 + 64);
  });

  it('lowers the top when the highest block is freed, and remembers the high-water mark', () => {
    const heap = new FirstFitHeap(0);
    const a = heap.allocate(HEAP_ALIGN);
    const b = heap.allocate(3 * HEAP_ALIGN);
    heap.release(b);
    expect(heap.end).toBe(a + HEAP_ALIGN);
    expect(heap.highWater).toBe(4 * HEAP_ALIGN);
    heap.release(a);
    expect(heap.end).toBe(0);
    expect(heap.liveBytes).toBe(0);
  });

  it('rejects freeing what is not a live block', () => {
    const heap = new FirstFitHeap(0);
    const a = heap.allocate(8);
    heap.release(a);
    expect(() => heap.release(a)).toThrow(/not a live block/);
    expect(() => heap.release(12345)).toThrow(/not a live block/);
  });
});

describe('KernelRuntime memory', () => {
  it('keeps allocKept blocks across scopes and frees scoped ones at release', () => {
    const rt = createKernelRuntimeSync();
    const base = rt.memoryUse().liveBytes;
    const mark = rt.mark();
    const tmp = rt.alloc(1000);
    const kept = rt.allocKept(4096);
    rt.f32(kept, 1024).fill(7);
    rt.release(mark);
    expect(rt.memoryUse().liveBytes).toBe(base + 4096);
    expect(rt.f32(kept, 1024).every((v) => v === 7)).toBe(true);
    // the scoped block's memory is reused by the next allocation of that size
    const again = rt.alloc(1000);
    expect(again).toBe(tmp);
    rt.release(mark);
    expect(() => rt.free(rt.alloc(64))).toThrow(/scoped block/);
    rt.release(mark);
    rt.free(kept);
    expect(rt.memoryUse().liveBytes).toBe(base);
    expect(rt.memoryUse().highWaterBytes).toBeGreaterThanOrEqual(4096 + 1000);
  });

  it('names the size when a request exceeds the 4 GiB of wasm32', () => {
    const rt = createKernelRuntimeSync();
    expect(() => rt.allocKept(5 * 2 ** 30)).toThrow(/out of WebAssembly memory \(need 5\.00 GiB/);
    expect(() => rt.alloc(-1)).toThrow(/cannot allocate -1 bytes/);
  });

  it('profiles dispatches per kernel between startProfile and stopProfile', () => {
    const rt = createKernelRuntimeSync();
    const x = new Float32Array(4096).fill(0.5);
    gelu(rt, x);
    rt.startProfile();
    gelu(rt, x);
    gelu(rt, x, { form: 'rational' });
    gelu(rt, x);
    const entries = rt.stopProfile();
    expect(entries.map((e) => [e.kernel, e.calls])).toEqual(
      expect.arrayContaining([
        ['gelu', 2],
        ['gelu_rational', 1],
      ]),
    );
    expect(entries).toHaveLength(2);
    expect(entries.every((e) => e.seconds > 0)).toBe(true);
    gelu(rt, x);
    expect(rt.stopProfile()).toEqual([]);
  });
});
