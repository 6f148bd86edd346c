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

/** wasm32 addresses 4 GiB at most (65,536 pages of 64 KiB). */
export const WASM32_MAX_BYTES = 2 ** 32;

/** A request the kernels' memory could not grow to hold; the heap is unchanged. */
export class WasmMemoryError extends Error {
  constructor(
    /** Bytes asked for. */
    readonly bytes: number,
    /** Bytes in use when it was asked. */
    readonly inUse: number,
    /** Bytes the memory had. */
    readonly had: number,
    cause: unknown,
  ) {
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
    super(
      `the fused kernels' memory cannot grow to hold ${mb(bytes)} more (in use ${mb(inUse)}, ` +
        `allocated ${mb(had)}, wasm32 limit ${mb(WASM32_MAX_BYTES)}): ${(cause as Error)?.message ?? cause}`,
      { cause },
    );
    this.name = "WasmMemoryError";
  }
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
    const have = this.memory.buffer.byteLength;
    if (at + size > have) {
      try {
        this.memory.grow(Math.ceil((at + size - have) / 65536));
      } catch (e) {
        // Nothing was taken: the heap stays as it was, and a smaller request can still succeed.
        throw new WasmMemoryError(size, at - this.freeBytes(), have, e);
      }
    }
    this.top = at + size;
    this.used.set(at, size);
    return at;
  }

  /** Bytes in free blocks below the top. */
  private freeBytes(): number {
    return this.free.reduce((sum, f) => sum + f.bytes, 0);
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
