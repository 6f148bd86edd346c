/**
 * Parity: is the number of 1s among the bits read so far odd? The answer depends on every
 * bit, so one forgotten bit makes it a coin flip — a clean test of memory over length.
 * ```
 * x(t) ∈ {0, 1},   p(t) = x(1) ⊕ … ⊕ x(t)
 * ```
 * | field | shape | meaning |
 * |---|---|---|
 * | x | [B, T, 1] | the bits (0/1 floats), zero-padded after each sequence's end |
 * | y | [B] ("final") or [B, T] ("running") int32 | p(T_b), or p(t) at every step (0 at padding) |
 * | mask | [B, T] | 1 for real steps (only when lengths vary) |
 *
 * Chance level is accuracy 0.5 (cross-entropy ln 2 ≈ 0.693).
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import type { Rng } from "../init";
import { seededBatches, type BatchStreamOptions } from "./batches";
import { lengthMask } from "./padding";

/** Default of {@link ParityOptions.target}: one answer per sequence. */
export const DEFAULT_PARITY_TARGET = "final";

/** How to make parity batches. */
export interface ParityOptions {
  /** T, or [shortest, longest] for sequences of varying length (padded, with a mask). */
  length: number | [number, number];
  /** B: sequences per batch. */
  batchSize: number;
  /** "final": one answer per sequence (y [B]); "running": one per step (y [B, T]). Default: {@link DEFAULT_PARITY_TARGET} ("final"). */
  target?: "final" | "running";
}

/** One parity batch drawn from `rng`. */
export function parityBatch(options: ParityOptions, rng: Rng): { x: Tensor3D; y: Tensor1D | Tensor2D; mask?: Tensor2D } {
  const [lo, hi] = typeof options.length === "number" ? [options.length, options.length] : options.length;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && 1 <= lo && lo <= hi))
    throw new Error(`parity: length must be an integer ≥ 1 or [shortest, longest], got ${JSON.stringify(options.length)}`);
  const B = options.batchSize;
  if (!(Number.isInteger(B) && B >= 1)) throw new Error(`parity: batchSize must be an integer ≥ 1, got ${B}`);
  const T = hi;
  const running = (options.target ?? DEFAULT_PARITY_TARGET) === "running";
  const x = new Float32Array(B * T);
  const yRun = new Int32Array(B * T);
  const yFinal = new Int32Array(B);
  const lengths: number[] = [];
  for (let b = 0; b < B; b++) {
    const n = lo + rng.int(hi - lo + 1);
    lengths.push(n);
    let p = 0;
    for (let t = 0; t < n; t++) {
      const bit = rng.int(2);
      x[b * T + t] = bit;
      p ^= bit;
      yRun[b * T + t] = p;
    }
    yFinal[b] = p;
  }
  const out: { x: Tensor3D; y: Tensor1D | Tensor2D; mask?: Tensor2D } = {
    x: tf.tensor3d(x, [B, T, 1]),
    y: running ? tf.tensor2d(yRun, [B, T], "int32") : tf.tensor1d(yFinal, "int32"),
  };
  if (lo !== hi) out.mask = lengthMask(lengths, T);
  return out;
}

/** `batches` parity batches from `seed` (a generator; see {@link seededBatches}). */
export function parityBatches(
  options: ParityOptions & BatchStreamOptions,
): Generator<{ x: Tensor3D; y: Tensor1D | Tensor2D; mask?: Tensor2D }> {
  return seededBatches(parityBatch, options);
}
