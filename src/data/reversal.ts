/**
 * Sequence reversal: read a string of digits, write it backwards ("3141" → "1413"). The
 * first output depends on the last input and the last output on the first, so a fixed
 * context vector must hold everything; attention can look each digit up instead.
 * Batches are encoder–decoder batches (seq2seq.ts) over {@link DIGITS_SOURCE_VOCAB} and
 * {@link DIGITS_TARGET_VOCAB}.
 */
import type { Rng } from "../init";
import { seededBatches, type BatchStreamOptions } from "./batches";
import { Vocab } from "./vocab";
import { seq2seqBatchOf, type Seq2SeqBatch, type Seq2SeqPair } from "./seq2seq";

/** Digits 0–9 with PAD (source side). */
export const DIGITS_SOURCE_VOCAB = new Vocab(Array.from("0123456789"), { specials: ["pad"], name: "digit source vocab" });
/** Digits 0–9 with PAD, START, END (target side). */
export const DIGITS_TARGET_VOCAB = new Vocab(Array.from("0123456789"), { specials: ["pad", "start", "end"], name: "digit target vocab" });

/** Default of {@link DigitStringOptions.digits}: all ten digits. */
export const DEFAULT_DIGITS = 10;

/** How to draw digit strings. */
export interface DigitStringOptions {
  /** Length, or [shortest, longest]. */
  length: number | [number, number];
  /** Use digits 0 … digits−1. Default: {@link DEFAULT_DIGITS} (10). */
  digits?: number;
}

/** A random digit string. */
export function digitString(options: DigitStringOptions, rng: Rng): string {
  const [lo, hi] = typeof options.length === "number" ? [options.length, options.length] : options.length;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && 1 <= lo && lo <= hi))
    throw new Error(`length must be an integer ≥ 1 or [shortest, longest], got ${JSON.stringify(options.length)}`);
  const digits = options.digits ?? DEFAULT_DIGITS;
  if (!(Number.isInteger(digits) && digits >= 2 && digits <= 10)) throw new Error(`digits must be an integer in 2…10, got ${digits}`);
  const n = lo + rng.int(hi - lo + 1);
  let s = "";
  for (let i = 0; i < n; i++) s += String(rng.int(digits));
  return s;
}

/** `n` reversal pairs. */
export function reversalPairs(n: number, options: DigitStringOptions, rng: Rng): Seq2SeqPair[] {
  return Array.from({ length: n }, () => {
    const s = digitString(options, rng);
    return { source: s, target: Array.from(s).reverse().join("") };
  });
}

/** One reversal batch of `batchSize` pairs drawn from `rng`. */
export function reversalBatch(options: DigitStringOptions & { batchSize: number }, rng: Rng): Seq2SeqBatch {
  return seq2seqBatchOf(reversalPairs(options.batchSize, options, rng), DIGITS_SOURCE_VOCAB, DIGITS_TARGET_VOCAB);
}

/** `batches` reversal batches from `seed` (a generator; see {@link seededBatches}). */
export function reversalBatches(options: DigitStringOptions & { batchSize: number } & BatchStreamOptions): Generator<Seq2SeqBatch> {
  return seededBatches(reversalBatch, options);
}
