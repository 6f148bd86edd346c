/**
 * Sorting: read a string of digits, write them in ascending order ("3141" → "1134"). Unlike
 * reversal, each output depends on the whole input (a count of every digit), not on one
 * position. Batches are encoder–decoder batches (seq2seq.ts) over the digit vocabularies.
 */
import type { Rng } from "../init";
import { seededBatches, type BatchStreamOptions } from "./batches";
import { DIGITS_SOURCE_VOCAB, DIGITS_TARGET_VOCAB, digitString, type DigitStringOptions } from "./reversal";
import { seq2seqBatchOf, type Seq2SeqBatch, type Seq2SeqPair } from "./seq2seq";

/** `n` sorting pairs. */
export function sortingPairs(n: number, options: DigitStringOptions, rng: Rng): Seq2SeqPair[] {
  return Array.from({ length: n }, () => {
    const s = digitString(options, rng);
    return { source: s, target: Array.from(s).sort().join("") };
  });
}

/** One sorting batch of `batchSize` pairs drawn from `rng`. */
export function sortingBatch(options: DigitStringOptions & { batchSize: number }, rng: Rng): Seq2SeqBatch {
  return seq2seqBatchOf(sortingPairs(options.batchSize, options, rng), DIGITS_SOURCE_VOCAB, DIGITS_TARGET_VOCAB);
}

/** `batches` sorting batches from `seed` (a generator; see {@link seededBatches}). */
export function sortingBatches(options: DigitStringOptions & { batchSize: number } & BatchStreamOptions): Generator<Seq2SeqBatch> {
  return seededBatches(sortingBatch, options);
}
