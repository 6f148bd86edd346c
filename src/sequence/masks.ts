/**
 * Masks of padded batches: m(b, t) = 1 for a real step of sequence b, 0 for padding.
 *
 * | symbol | shape | meaning |
 * |---|---|---|
 * | m | [B, T] | 1 = real step, 0 = padding |
 * | lengths | B numbers | T_b = Σ_t m(b, t), the real length of each sequence |
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D } from "@tensorflow/tfjs";
import { ShapeError, checkMaskValues } from "../cells/checks";

/**
 * Throws a ShapeError unless `mask` is [B, T], and a ValueError naming the first entry that
 * is neither 0 nor 1 (reads the mask back once).
 */
export function checkMask(where: string, argument: string, mask: Tensor2D, B: number, T: number): void {
  if (mask.shape.length === 2 && mask.shape[0] === B && mask.shape[1] === T) return checkMaskValues(where, argument, mask);
  throw new ShapeError(
    `${where}: ${argument} must have shape [B, T] = [${B}, ${T}], got [${mask.shape.join(", ")}]`,
    argument,
    [B, T],
    [...mask.shape],
  );
}

/** The mask of sequences with the given lengths, padded to T: m(b, t) = 1 if t < T_b. */
export function maskFromLengths(lengths: readonly number[], T: number): Tensor2D {
  return tf.tensor2d(
    lengths.map((n) => Array.from({ length: T }, (_, t) => (t < n ? 1 : 0))),
    [lengths.length, T],
  );
}
