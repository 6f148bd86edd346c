/**
 * The copy (memory) task (Hochreiter & Schmidhuber, 1997; in the form of Arjovsky, Shah &
 * Bengio, 2016): read S symbols, wait, then write them back.
 *
 * Ids: 0 = blank, 1 … A = the data symbols, A + 1 = the delimiter ("now recall").
 * ```
 * input:  s₁ … s_S   blank × (D − 1)   delimiter   blank × S        (T = D + 2S steps)
 * target: blank × (D + S)                          s₁ … s_S
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x | [B, T] int32 (or [B, T, A + 2] one-hot) | the input ids |
 * | y | [B, T] int32 | the target id at every step |
 *
 * S is `length`, D is `delay`, A is `symbols` (default 8, as in the paper). A model with no
 * memory can do no better than blanks, then a uniform guess: cross-entropy
 * S · ln A / T per step ({@link copyBaseline}); the paper's 10 symbols and D = 100 give 0.17.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import type { Rng } from "../init";
import { seededBatches, type BatchStreamOptions } from "./batches";

/** Default of {@link CopyOptions.length}: S = 10 symbols to remember. */
export const DEFAULT_COPY_LENGTH = 10;
/** Default of {@link CopyOptions.delay}: D = 50 steps. */
export const DEFAULT_COPY_DELAY = 50;
/** Default of {@link CopyOptions.symbols}: A = 8 data symbols, as in the paper. */
export const DEFAULT_COPY_SYMBOLS = 8;

/** How to make copy-task batches. */
export interface CopyOptions {
  /** S: symbols to remember. Default: {@link DEFAULT_COPY_LENGTH} (10). */
  length?: number;
  /** D: steps from the last symbol to the delimiter (the wait is D − 1 blanks). Default: {@link DEFAULT_COPY_DELAY} (50). */
  delay?: number;
  /** A: data symbols (ids 1 … A). Default: {@link DEFAULT_COPY_SYMBOLS} (8). */
  symbols?: number;
  /** B: sequences per batch. */
  batchSize: number;
  /** Give x as one-hot vectors [B, T, A + 2] instead of ids [B, T]. Default: false. */
  oneHot?: boolean;
}

function sizes(o: CopyOptions): { S: number; D: number; A: number; T: number } {
  const S = o.length ?? DEFAULT_COPY_LENGTH;
  const D = o.delay ?? DEFAULT_COPY_DELAY;
  const A = o.symbols ?? DEFAULT_COPY_SYMBOLS;
  if (!(Number.isInteger(S) && S >= 1)) throw new Error(`copy task: length must be an integer ≥ 1, got ${S}`);
  if (!(Number.isInteger(D) && D >= 1)) throw new Error(`copy task: delay must be an integer ≥ 1, got ${D}`);
  if (!(Number.isInteger(A) && A >= 1)) throw new Error(`copy task: symbols must be an integer ≥ 1, got ${A}`);
  return { S, D, A, T: D + 2 * S };
}

/** The id of the delimiter for A data symbols (default {@link DEFAULT_COPY_SYMBOLS}), and the number of ids (K = A + 2). */
export function copyVocabulary(symbols = DEFAULT_COPY_SYMBOLS): { blank: 0; delimiter: number; size: number } {
  return { blank: 0, delimiter: symbols + 1, size: symbols + 2 };
}

/** Cross-entropy per step (nats) of the best memoryless answer: S · ln A / T. */
export function copyBaseline(options: Omit<CopyOptions, "batchSize"> = {}): number {
  const { S, A, T } = sizes({ ...options, batchSize: 1 });
  return (S * Math.log(A)) / T;
}

/** One copy-task batch drawn from `rng`: x [B, T] ids (or one-hot), y [B, T] ids. */
export function copyBatch(options: CopyOptions, rng: Rng): { x: Tensor2D | Tensor3D; y: Tensor2D } {
  const { S, D, A, T } = sizes(options);
  const B = options.batchSize;
  if (!(Number.isInteger(B) && B >= 1)) throw new Error(`copy task: batchSize must be an integer ≥ 1, got ${B}`);
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < S; i++) {
      const s = 1 + rng.int(A);
      x[b * T + i] = s;
      y[b * T + D + S + i] = s;
    }
    x[b * T + S + D - 1] = A + 1; // the delimiter
  }
  const ids = tf.tensor2d(x, [B, T], "int32");
  const yT = tf.tensor2d(y, [B, T], "int32");
  if (!options.oneHot) return { x: ids, y: yT };
  const hot = tf.tidy(() => tf.cast(tf.oneHot(ids, A + 2), "float32") as Tensor3D);
  ids.dispose();
  return { x: hot, y: yT };
}

/** `batches` copy-task batches from `seed` (a generator; see {@link seededBatches}). */
export function copyBatches(options: CopyOptions & BatchStreamOptions): Generator<{ x: Tensor2D | Tensor3D; y: Tensor2D }> {
  return seededBatches(copyBatch, options);
}
