/**
 * Batching sequences of different lengths: pad them to one length T and say which steps
 * are real with a mask.
 *
 * ```
 * ids[b, t]  = seq_b[t]      for t < T_b,   PAD afterwards
 * mask[b, t] = 1             for t < T_b,   0 afterwards
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | ids | [B, T] int32 | token ids, T = the longest sequence (or a fixed `length`) |
 * | x | [B, T, I] float32 | real-valued sequences, zero-padded |
 * | mask | [B, T] float32 | 1 = real step, 0 = padding |
 *
 * Models and losses read the mask: the unroll carries the state over padded steps and the
 * loss counts only real ones (PyTorch's packed sequences and `ignore_index` do the same).
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D, Tensor3D } from "@tensorflow/tfjs";

/** Default of {@link PadOptions.padId}: 0, the id of a {@link Vocab}'s PAD. */
export const DEFAULT_PAD_ID = 0;

/** How to pad. */
export interface PadOptions {
  /** The id that fills padded steps. Default: {@link DEFAULT_PAD_ID} (0, a {@link Vocab}'s PAD). */
  padId?: number;
  /** Pad every sequence to exactly this length (default: the longest in the batch). */
  length?: number;
  /** The longest sequence allowed; longer ones throw. Default: no limit (but at most `length`). */
  maxLength?: number;
  /** Name used in error messages. Default: "padSequences". */
  where?: string;
}

function checkLengths(where: string, lengths: number[], options: PadOptions): number {
  if (lengths.length === 0) throw new Error(`${where}: empty batch (no sequences); a batch needs at least one`);
  const limit = Math.min(options.maxLength ?? Infinity, options.length ?? Infinity);
  lengths.forEach((n, b) => {
    if (n === 0) throw new Error(`${where}: sequence ${b} is empty; every sequence needs at least one step`);
    if (n > limit) {
      const which =
        options.length !== undefined && (options.maxLength === undefined || options.length <= options.maxLength)
          ? `the batch length ${options.length}`
          : `maxLength ${options.maxLength}`;
      throw new Error(`${where}: sequence ${b} has ${n} steps, longer than ${which}`);
    }
  });
  return options.length ?? Math.max(...lengths);
}

/** The [B, T] mask of sequences with the given lengths. */
export function lengthMask(lengths: readonly number[], T: number): Tensor2D {
  const m = new Float32Array(lengths.length * T);
  lengths.forEach((n, b) => m.fill(1, b * T, b * T + Math.min(n, T)));
  return tf.tensor2d(m, [lengths.length, T]);
}

/**
 * Pads token-id sequences into ids [B, T] (int32) and mask [B, T].
 * @throws on an empty batch, an empty sequence, or a sequence longer than allowed (naming it)
 */
export function padSequences(
  seqs: readonly (readonly number[])[],
  options: PadOptions = {},
): { ids: Tensor2D; mask: Tensor2D; lengths: number[] } {
  const where = options.where ?? "padSequences";
  const lengths = seqs.map((s) => s.length);
  const T = checkLengths(where, lengths, options);
  const padId = options.padId ?? DEFAULT_PAD_ID;
  const ids = new Int32Array(seqs.length * T).fill(padId);
  seqs.forEach((s, b) =>
    s.forEach((id, t) => {
      if (!Number.isInteger(id)) throw new Error(`${where}: sequence ${b} has a non-integer id ${id} at position ${t}`);
      ids[b * T + t] = id;
    }),
  );
  return { ids: tf.tensor2d(ids, [seqs.length, T], "int32"), mask: lengthMask(lengths, T), lengths };
}

/**
 * Pads real-valued sequences (each [T_b][I]) into x [B, T, I] (zeros after the end) and mask [B, T].
 * @throws on an empty batch or sequence, a sequence longer than allowed, or rows of different sizes
 */
export function padVectors(
  seqs: readonly (readonly (readonly number[])[])[],
  options: Omit<PadOptions, "padId"> = {},
): { x: Tensor3D; mask: Tensor2D; lengths: number[] } {
  const where = options.where ?? "padVectors";
  const lengths = seqs.map((s) => s.length);
  const T = checkLengths(where, lengths, options);
  const I = seqs[0][0].length;
  const x = new Float32Array(seqs.length * T * I);
  seqs.forEach((s, b) =>
    s.forEach((row, t) => {
      if (row.length !== I)
        throw new Error(`${where}: sequence ${b} step ${t} has ${row.length} values, expected I = ${I} (as sequence 0 step 0)`);
      x.set(row, (b * T + t) * I);
    }),
  );
  return { x: tf.tensor3d(x, [seqs.length, T, I]), mask: lengthMask(lengths, T), lengths };
}

/** One-hot vectors of ids [B, T] → [B, T, V] float32 (for models that read vectors, not ids). */
export function oneHotIds(ids: Tensor2D, V: number): Tensor3D {
  return tf.tidy(() => tf.cast(tf.oneHot(tf.cast(ids, "int32"), V), "float32") as Tensor3D);
}

/**
 * Splits examples into batches of `batchSize` (the last may be smaller unless `dropLast`),
 * in order or shuffled by `rng`, and makes each with `make`. A generator: a batch's
 * tensors are made only when it is reached.
 * @throws if there are no examples or batchSize is not a positive integer
 */
export function* batchesOf<E, B>(
  examples: readonly E[],
  batchSize: number,
  make: (examples: E[]) => B,
  options: { shuffle?: { int(n: number): number }; dropLast?: boolean } = {},
): Generator<B> {
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`batchesOf: batchSize must be an integer ≥ 1, got ${batchSize}`);
  if (examples.length === 0) throw new Error("batchesOf: no examples (empty batch)");
  const order = examples.map((_, i) => i);
  if (options.shuffle) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = options.shuffle.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
  }
  for (let i = 0; i < order.length; i += batchSize) {
    const idx = order.slice(i, i + batchSize);
    if (options.dropLast && idx.length < batchSize) return;
    yield make(idx.map((k) => examples[k]));
  }
}
