/**
 * First-fit allocator over a WebAssembly memory's address range, with coalescing free blocks. The kernel
 * runtime serves both its scoped temporaries (mark/release) and long-lived buffers (weights, a network's
 * activations, whose lifetimes are not nested) from one of these, so memory freed by one user is reused by the
 * next instead of the high-water mark growing with every non-nested lifetime.
 */
import { Tensor3dError } from '../errors.js';

/** Alignment of every block: a cache line, so SIMD rows and per-thread scratch never share one. */
export const HEAP_ALIGN = 64;

interface FreeBlock {
  addr: number;
  size: number;
}

/** Address-range bookkeeping only: the caller grows the memory when {@link end} moves past it. */
export class FirstFitHeap {
  /** Free blocks below {@link end}, sorted by address, never adjacent (merged on free). */
  private readonly freeBlocks: FreeBlock[] = [];
  /** Size of every live block, by address. */
  private readonly live = new Map<number, number>();
  private top: number;
  private peak: number;

  /** @param base first usable byte address (rounded up to {@link HEAP_ALIGN}) */
  constructor(base: number) {
    this.top = align(base);
    this.peak = this.top;
  }

  /** One past the highest byte in use or free-listed: the memory must be at least this large. */
  get end(): number {
    return this.top;
  }

  /** Highest {@link end} so far. */
  get highWater(): number {
    return this.peak;
  }

  /** Bytes in live blocks. */
  get liveBytes(): number {
    let n = 0;
    for (const s of this.live.values()) n += s;
    return n;
  }

  /** Reserves `bytes` and returns the block's address (the lowest free block that fits, else the top). */
  allocate(bytes: number): number {
    const size = Math.max(HEAP_ALIGN, align(bytes));
    for (let i = 0; i < this.freeBlocks.length; i++) {
      const b = this.freeBlocks[i];
      if (b.size < size) continue;
      const addr = b.addr;
      if (b.size === size) this.freeBlocks.splice(i, 1);
      else {
        b.addr += size;
        b.size -= size;
      }
      this.live.set(addr, size);
      return addr;
    }
    const addr = this.top;
    this.top += size;
    this.peak = Math.max(this.peak, this.top);
    this.live.set(addr, size);
    return addr;
  }

  /** Whether `addr` is the start of a live block. */
  owns(addr: number): boolean {
    return this.live.has(addr);
  }

  /** Returns a live block to the free list (merging with its neighbours; a block at the top lowers the top). */
  release(addr: number): void {
    const size = this.live.get(addr);
    if (size === undefined)
      throw new Tensor3dError('BAD_MEMORY_USE', `tensor3d kernels: free of ${addr}, which is not a live block`);
    this.live.delete(addr);
    let lo = 0;
    let hi = this.freeBlocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.freeBlocks[mid].addr < addr) lo = mid + 1;
      else hi = mid;
    }
    const block: FreeBlock = { addr, size };
    this.freeBlocks.splice(lo, 0, block);
    const next = this.freeBlocks[lo + 1];
    if (next && block.addr + block.size === next.addr) {
      block.size += next.size;
      this.freeBlocks.splice(lo + 1, 1);
    }
    const prev = this.freeBlocks[lo - 1];
    if (prev && prev.addr + prev.size === block.addr) {
      prev.size += block.size;
      this.freeBlocks.splice(lo, 1);
    }
    const last = this.freeBlocks[this.freeBlocks.length - 1];
    if (last && last.addr + last.size === this.top) {
      this.top = last.addr;
      this.freeBlocks.pop();
    }
  }
}

function align(n: number): number {
  return Math.ceil(n / HEAP_ALIGN) * HEAP_ALIGN;
}
