/**
 * The stream of batches every task offers: `batches` batches, each made by the task's
 * `*Batch(options, rng)` from ONE seeded stream that they read in order —
 * ```
 * rng = new Rng(seed)
 * batch k = makeBatch(options, rng)      k = 1 … batches   (batch k draws where batch k − 1 stopped)
 * ```
 * so `addingBatches({ …, batches: 3, seed: 5 })` yields exactly what three calls
 * `addingBatch(options, rng)` on one `new Rng(5)` return. The same seed gives the same
 * batches (src/seeds.ts describes how seeds are used everywhere).
 *
 * It is a generator: a batch's tensors are made only when the batch is read, so a long
 * stream costs no memory until used. (To batch a fixed list of examples instead, see
 * {@link batchesOf} in padding.ts.)
 */
import { Rng } from "../init";
import { DEFAULT_SEED } from "../seeds";

/** What every task's `*Batches` adds to the task's own options. */
export interface BatchStreamOptions {
  /** How many batches to yield. */
  batches: number;
  /** Seed of the one stream all batches draw from; default {@link DEFAULT_SEED} (0). */
  seed?: number;
}

/**
 * `options.batches` batches made by `makeBatch(options, rng)` from one stream started at
 * `options.seed` (a generator; see the file comment).
 * @param makeBatch a task's one-batch function, e.g. {@link addingBatch}
 */
export function* seededBatches<O, B>(makeBatch: (options: O, rng: Rng) => B, options: O & BatchStreamOptions): Generator<B> {
  const rng = new Rng(options.seed ?? DEFAULT_SEED);
  for (let i = 0; i < options.batches; i++) yield makeBatch(options, rng);
}
