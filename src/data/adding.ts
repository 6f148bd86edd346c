/**
 * The adding problem (Hochreiter & Schmidhuber, 1997, experiment 4), in the form most
 * papers use since Le, Jaitly & Hinton (2015) and Arjovsky et al. (2016): a test of
 * long-term memory.
 *
 * Each sequence has T steps of two channels: a value u(t) ~ U[0, 1) and a marker m(t) that
 * is 1 at exactly two steps — one in the first half, one in the second — and 0 elsewhere.
 * The target, read once at the end, is the sum of the two marked values:
 * ```
 * x(t) = [u(t), m(t)],     y = Σ_t m(t) u(t)
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x | [B, T, 2] | channel 0 the values, channel 1 the markers |
 * | y | [B, 1] | the sum of the two marked values, in [0, 2) |
 *
 * Baseline: always answering 1 (the mean of y) gives MSE = Var(u₁ + u₂) = 2 · 1/12 = 1/6
 * ≈ 0.167; a model must beat that clearly to have remembered anything. (The 1997 original
 * draws values in [−1, 1], places the first marker among the first 10 steps and scales the
 * target to 0.5 + (X₁ + X₂)/4; the version here is the one recent papers report.)
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import type { Rng } from "../init";
import { seededBatches, type BatchStreamOptions } from "./batches";

/** The adding problem's MSE when always answering the mean, 1: Var(u₁ + u₂) = 1/6. */
export const ADDING_BASELINE_MSE = 1 / 6;

/** How to make adding-problem batches. */
export interface AddingOptions {
  /** T: steps per sequence (≥ 2). */
  length: number;
  /** B: sequences per batch. */
  batchSize: number;
}

/** One adding-problem batch {x [B, T, 2], y [B, 1]} drawn from `rng`. */
export function addingBatch(options: AddingOptions, rng: Rng): { x: Tensor3D; y: Tensor2D } {
  const { length: T, batchSize: B } = options;
  if (!(Number.isInteger(T) && T >= 2)) throw new Error(`adding problem: length must be an integer ≥ 2, got ${T}`);
  if (!(Number.isInteger(B) && B >= 1)) throw new Error(`adding problem: batchSize must be an integer ≥ 1, got ${B}`);
  const x = new Float32Array(B * T * 2);
  const y = new Float32Array(B);
  const half = Math.floor(T / 2);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) x[(b * T + t) * 2] = rng.next(); // u(t)
    const first = rng.int(half); // in [0, T/2)
    const second = half + rng.int(T - half); // in [T/2, T)
    x[(b * T + first) * 2 + 1] = 1;
    x[(b * T + second) * 2 + 1] = 1;
    y[b] = x[(b * T + first) * 2] + x[(b * T + second) * 2];
  }
  return { x: tf.tensor3d(x, [B, T, 2]), y: tf.tensor2d(y, [B, 1]) };
}

/** `batches` adding-problem batches from `seed` (a generator: tensors are made as it is read; see {@link seededBatches}). */
export function addingBatches(options: AddingOptions & BatchStreamOptions): Generator<{ x: Tensor3D; y: Tensor2D }> {
  return seededBatches(addingBatch, options);
}
