// AssemblyScript: how the fused kernels lay out a sequence in memory, and the pieces
// every cell shares (input projection, packing the weights, the gradient sums).
//
// Sizes: T time, B batch, I input, H hidden; Hp = H rounded up to a multiple of 8 so
// that every gate block fills whole SIMD tiles; a cell with nG gates (RNN 1, GRU 3,
// LSTM 4) has G = nG·Hp gate columns. Padded rows and columns of the weights are 0,
// so padded units stay exactly 0 forward and backward and never reach the results.
//
// Per-sequence arrays are batch-major like x [B, T, I]: row (b, t) = b·T + t, so one
// step t is B rows with stride T·width, and a whole sequence is one [B·T, width] matrix
// (one gemm for x·Uᵀ forward and for ∇U, ∇W, ∇x backward). The weights the products read
// as their right operand reach the kernels in panels of 8 columns (gemm.ts, packPanels;
// written so by packGates): UT [I, G] for x·Uᵀ, WT [Hp, G] for the forward's h(t−1)·Wᵀ and
// Wp [G, Hp] for BPTT's ∇_a L·W, each with panel stride (its rows)·8. Up [G, I], read by
// ∇x = ∇_a L·U, stays row-major (I need not be a multiple of 8).

import { panelAt } from "./gemm";
import { pgemm, pgemmPanels, pgemmTN } from "./parallel";

/** Byte address of element `k` of a float32 array at `base`. */
// @ts-ignore: decorator
@inline export function at(base: usize, k: i32): usize {
  return base + (<usize>k << 2);
}

/** Byte address of row (b, t) of a [B, T, width] array. */
// @ts-ignore: decorator
@inline export function rowBT(base: usize, b: i32, t: i32, T: i32, width: i32): usize {
  return base + (<usize>((b * T + t) * width) << 2);
}

/** The timestep that step k (0 … T−1, in the order the steps run) reads. */
// @ts-ignore: decorator
@inline export function timeOf(k: i32, T: i32, reverse: i32): i32 {
  return reverse ? T - 1 - k : k;
}

/** The mask value m(b, t) (1 without a mask: mask = 0). */
// @ts-ignore: decorator
@inline export function maskAt(mask: usize, b: i32, t: i32, T: i32): f32 {
  return mask ? load<f32>(at(mask, b * T + t)) : <f32>1.0;
}

/**
 * Pads a gate-stacked weight [nG·H, cols] into [nG·Hp, colsP] (dst, zeroed first), stored
 * row-major or, if dstPanels ≠ 0, in panels of 8 columns (colsP a multiple of 8); and, if
 * dstT ≠ 0, its transpose [colsP, nG·Hp] in panels (zeroed first). With cols = 1 it pads a
 * stacked bias [nG·H] to [nG·Hp].
 */
export function packGates(src: usize, nG: i32, H: i32, cols: i32, Hp: i32, colsP: i32, dst: usize, dstPanels: i32, dstT: usize): void {
  const G = nG * Hp;
  memory.fill(dst, 0, <usize>(G * colsP) << 2);
  if (dstT) memory.fill(dstT, 0, <usize>(G * colsP) << 2);
  for (let g = 0; g < nG; g++) {
    for (let c = 0; c < H; c++) {
      const s = at(src, (g * H + c) * cols);
      const r = g * Hp + c;
      if (dstPanels) {
        for (let j = 0; j < cols; j++) store<f32>(panelAt(dst, G, r, j), load<f32>(at(s, j)));
      } else memory.copy(at(dst, r * colsP), s, <usize>cols << 2);
      if (dstT) {
        for (let j = 0; j < cols; j++) store<f32>(panelAt(dstT, colsP, j, r), load<f32>(at(s, j)));
      }
    }
  }
}

/** dst[r, :] = bias for every row r < rows (bias has `width` values). */
export function broadcastRows(dst: usize, rows: i32, width: i32, bias: usize): void {
  for (let r = 0; r < rows; r++) memory.copy(at(dst, r * width), bias, <usize>width << 2);
}

/**
 * dst[j] = Σ_r a[r, j] (a is [rows, width] with row stride lda), row by row so that a is
 * read along its rows (column by column, every load of a 6400 × 1024 ∇_a L was a cache
 * miss); each column is still summed in the order r = 0, 1, ….
 */
export function columnSums(a: usize, rows: i32, width: i32, lda: i32, dst: usize): void {
  memory.fill(dst, 0, <usize>width << 2);
  for (let r = 0; r < rows; r++) {
    const ar = at(a, r * lda);
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= width; j += 4) {
        const o = <usize>j << 2;
        v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(ar + o)));
      }
    }
    for (; j < width; j++) store<f32>(at(dst, j), load<f32>(at(dst, j)) + load<f32>(at(ar, j)));
  }
}

/**
 * The forward's first part, for all steps at once: act[B·T, G] = x[B·T, I] · Uᵀ + b
 * (UT is Uᵀ padded, [I, G], in panels of 8 columns: see packPanels; bias [G]).
 */
export function inputProjection(BT: i32, I: i32, G: i32, x: usize, UT: usize, bias: usize, act: usize): void {
  broadcastRows(act, BT, G, bias);
  pgemmPanels(BT, G, I, x, I, UT, I * 8, act, G, 1);
}

/**
 * The backward's last part, for all steps at once, from ∇_a L of every step (dA [B·T, G],
 * row stride G): ∇U = dAᵀ x, ∇b = Σ dA, ∇x = dA · U (Up is U padded, [G, I]); dx = 0
 * skips ∇x (x is data that needs no gradient: a ninth of an LSTM's training FLOPs).
 */
export function inputGradients(BT: i32, I: i32, G: i32, dA: usize, x: usize, Up: usize, dU: usize, db: usize, dx: usize): void {
  pgemmTN(G, I, BT, dA, G, x, I, dU, I, 0);
  columnSums(dA, BT, G, G, db);
  if (dx) pgemm(BT, I, G, dA, G, Up, I, dx, I, 0);
}

/** Copies the state before step 0 (h0 [B, Hp]) into the [B, T, Hp] array at time t0. */
export function scatterState(s0: usize, B: i32, T: i32, Hp: i32, t0: i32, dst: usize): void {
  for (let b = 0; b < B; b++) memory.copy(rowBT(dst, b, t0, T, Hp), at(s0, b * Hp), <usize>Hp << 2);
}

/**
 * Where the state after step k goes: the [B, T, Hp] "state before" array at the next
 * step's time, or the final state [B, Hp] after the last step.
 */
// @ts-ignore: decorator
@inline export function nextStateRow(before: usize, final: usize, b: i32, k: i32, T: i32, Hp: i32, reverse: i32): usize {
  return k + 1 < T ? rowBT(before, b, timeOf(k + 1, T, reverse), T, Hp) : at(final, b * Hp);
}

/**
 * 0 for |v| < 1e−30, else v. BPTT gradients that vanish over many steps reach float32's
 * subnormal range (< 1.2e−38), where x86 arithmetic is ~100× slower and wasm cannot turn
 * on flush-to-zero; flushing the carried gradients at 1e−30 keeps them out of it. Such
 * values are 1e−23 below float32's resolution of any gradient of order 1e−7 or more.
 */
// @ts-ignore: decorator
@inline export function flush(v: f32): f32 {
  return Mathf.abs(v) < <f32>1e-30 ? <f32>0 : v;
}

/** {@link flush} on 4 lanes (NaN passes, as in the scalar version). */
// @ts-ignore: decorator
@inline export function flushV(v: v128): v128 {
  return v128.andnot(v, f32x4.lt(f32x4.abs(v), f32x4.splat(1e-30)));
}
