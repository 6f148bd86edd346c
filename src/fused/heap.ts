/**
 * A first-fit allocator of blocks in a WebAssembly memory, for the fused recurrent
 * kernels: a forward pass keeps its block (inputs, gates, states) until its backward
 * pass has run, so blocks are freed in any order, unlike {@link WasmArena}'s bump
 * allocation. Freed neighbours are merged; the memory grows only when no free block
 * fits, so a training loop with fixed sizes reaches its peak after the first step and
 * reuses the same blocks from then on (wasm memory never shrinks; dropping the
 * instance releases it, see releaseFusedMemory in src/fused/engine.ts).
 */
import type { WasmMemory } from "./wasm";

const ALIGN = 64; // bytes: SIMD loads and cache lines

interface Block {
  at: number;
  bytes: number;
}

export class WasmHeap {
  /** Free blocks below `top`, sorted by address. */
  private free: Block[] = [];
  private top: number;
  private readonly used = new Map<number, number>();

  /** @param base the first byte the heap may use (the module's heap base) */
  constructor(
    private readonly memory: WasmMemory,
    base: number,
  ) {
    this.top = align(base);
  }

  /** Reserves `bytes` bytes (64-byte aligned); returns the byte offset. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`WasmHeap.alloc: bytes must be a non-negative integer, got ${bytes}`);
    const size = Math.max(ALIGN, align(bytes));
    for (let k = 0; k < this.free.length; k++) {
      const f = this.free[k];
      if (f.bytes < size) continue;
      const at = f.at;
      if (f.bytes === size) this.free.splice(k, 1);
      else {
        f.at += size;
        f.bytes -= size;
      }
      this.used.set(at, size);
      return at;
    }
    const at = this.top;
    this.top += size;
    const have = this.memory.buffer.byteLength;
    if (this.top > have) this.memory.grow(Math.ceil((this.top - have) / 65536));
    this.used.set(at, size);
    return at;
  }

  /** Returns a block to the heap. */
  release(at: number): void {
    const size = this.used.get(at);
    if (size === undefined) throw new Error(`WasmHeap.release: no block at ${at}`);
    this.used.delete(at);
    let k = 0;
    while (k < this.free.length && this.free[k].at < at) k++;
    this.free.splice(k, 0, { at, bytes: size });
    // merge with the next and the previous free block
    if (k + 1 < this.free.length && this.free[k].at + this.free[k].bytes === this.free[k + 1].at) {
      this.free[k].bytes += this.free[k + 1].bytes;
      this.free.splice(k + 1, 1);
    }
    if (k > 0 && this.free[k - 1].at + this.free[k - 1].bytes === this.free[k].at) {
      this.free[k - 1].bytes += this.free[k].bytes;
      this.free.splice(k, 1);
      k--;
    }
    // a free block at the top shrinks the used region
    const last = this.free[this.free.length - 1];
    if (last && last.at + last.bytes === this.top) {
      this.top = last.at;
      this.free.pop();
    }
  }

  /** Bytes in blocks handed out and not released. */
  get usedBytes(): number {
    let n = 0;
    for (const size of this.used.values()) n += size;
    return n;
  }

  /** Blocks handed out and not released. */
  get blocks(): number {
    return this.used.size;
  }
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
