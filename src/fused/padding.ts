/**
 * Moving arrays between tfjs's layout and the kernels': the kernels pad the hidden size H
 * to Hp (a multiple of 8, a whole SIMD tile) and keep gate-stacked arrays as nG blocks of
 * Hp rows. Offsets (`at`) are in bytes, as the kernels take them; `mem` is a Float32Array
 * view of the whole wasm memory.
 */

/** Float32 arrays inside one block, at 64-byte aligned byte offsets. */
export class Layout {
  /** Bytes taken so far. */
  bytes = 0;
  /** The byte offset (in the block) of `n` more float32s. */
  take(n: number): number {
    const at = this.bytes;
    this.bytes += Math.ceil((n * 4) / 64) * 64;
    return at;
  }
}

/** Writes rows [rows, H] (zeros if absent) into [rows, Hp] at byte offset `at`. */
export function putPadded(mem: Float32Array, at: number, src: Float32Array | undefined, rows: number, H: number, Hp: number): void {
  const base = at >> 2;
  if (!src) {
    mem.fill(0, base, base + rows * Hp);
    return;
  }
  if (H === Hp) {
    mem.set(src, base);
    return;
  }
  mem.fill(0, base, base + rows * Hp);
  for (let r = 0; r < rows; r++) mem.set(src.subarray(r * H, (r + 1) * H), base + r * Hp);
}

/** {@link putPadded} from src[k …]; returns the index after what it read. */
export function putPaddedFrom(mem: Float32Array, at: number, src: Float32Array, k: number, rows: number, H: number, Hp: number): number {
  putPadded(mem, at, src.subarray(k, k + rows * H), rows, H, Hp);
  return k + rows * H;
}

/** Copies [rows, Hp] at byte offset `at` into dst[k …] as [rows, H]; returns the index after. */
export function getUnpadded(mem: Float32Array, at: number, rows: number, H: number, Hp: number, dst: Float32Array, k: number): number {
  const base = at >> 2;
  if (H === Hp) dst.set(mem.subarray(base, base + rows * H), k);
  else for (let r = 0; r < rows; r++) dst.set(mem.subarray(base + r * Hp, base + r * Hp + H), k + r * H);
  return k + rows * H;
}

/** [rows, Hp] at byte offset `at` as a new [rows, H] array. */
export function unpad(mem: Float32Array, at: number, rows: number, H: number, Hp: number): Float32Array {
  const out = new Float32Array(rows * H);
  getUnpadded(mem, at, rows, H, Hp, out, 0);
  return out;
}

/** The gate-stacked [nG·Hp, colsP] array at `at` as the cell stores it, [nG·H, cols]. */
export function gateRows(mem: Float32Array, at: number, nG: number, H: number, Hp: number, cols: number, colsP: number): Float32Array {
  const out = new Float32Array(nG * H * cols);
  const base = at >> 2;
  for (let g = 0; g < nG; g++) {
    if (cols === colsP) {
      const from = base + g * Hp * colsP;
      out.set(mem.subarray(from, from + H * cols), g * H * cols);
      continue;
    }
    for (let c = 0; c < H; c++) {
      const from = base + (g * Hp + c) * colsP;
      out.set(mem.subarray(from, from + cols), (g * H + c) * cols);
    }
  }
  return out;
}
