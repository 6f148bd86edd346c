/**
 * Token embeddings: a learned vector per symbol of the vocabulary, looked up by id.
 *
 * ```
 * x(t) = E[w(t)]        (row w(t) of E; the same as E ᵀ onehot(w(t)))
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | w | [B, T] | token ids, integers in [0, V) |
 * | E | [V, D] | the embedding table (one row per symbol) |
 * | x | [B, T, D] | the vectors the recurrent layers read |
 *
 * Like PyTorch's `nn.Embedding(V, D)` (initialised N(0, 1) as there) and tfjs's
 * `tf.layers.embedding` (which initialises uniform in [−0.05, 0.05]).
 */
import { DEFAULT_SEED } from "../seeds";
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import { Rng, normalTensor } from "../init";
import { checkSize } from "../cells/checks";
import { isRecording } from "../fused/tfjs-internals";

/** How to initialise an embedding table. */
export interface EmbeddingConfig {
  /** V: the number of symbols. */
  vocabSize: number;
  /** D: the size of each symbol's vector. */
  embeddingSize: number;
  /** Standard deviation of the entries; default 1 (PyTorch). */
  scale?: number;
  /** Seed; default 0. */
  seed?: number;
}

/** A fresh table E [V, D] with N(0, scale²) entries from a seeded stream. */
export function initEmbedding(config: EmbeddingConfig): Tensor2D {
  checkSize("initEmbedding", "vocabSize", config?.vocabSize, "V, the number of symbols");
  checkSize("initEmbedding", "embeddingSize", config?.embeddingSize, "D, the size of each symbol's vector");
  return normalTensor<tf.Rank.R2>([config.vocabSize, config.embeddingSize], config.scale ?? 1, new Rng(config.seed ?? DEFAULT_SEED));
}

/**
 * x = E[w]: token ids [B, T] (or [B]) → vectors [B, T, D] (or [B, D]).
 *
 * Computed as onehot(w) E, a matrix product, rather than `tf.gather(E, w)`: the gradient of
 * gather needs the UnsortedSegmentSum kernel, which tfjs's wasm backend does not have. Where
 * no gradient is being recorded (decoding) it is `tf.gather`: the same numbers (each row of
 * onehot(w) E is 1·E[w] plus zeros), in one op instead of five.
 */
export function embed<R extends Tensor>(E: Tensor, ids: R): R extends Tensor2D ? Tensor3D : Tensor {
  // An id outside [0, V) would make a row of zeros (a silent all-zero input), not an error.
  checkTokenIds("embed", "ids", ids, E.shape[0]);
  return embedChecked(E, ids);
}

/**
 * {@link embed} for ids the caller has already checked with {@link checkTokenIds} (under its
 * own name): the models check each batch once, and a decoder's loop feeds back its own
 * predictions, so the lookup itself reads nothing back.
 */
export function embedChecked<R extends Tensor>(E: Tensor, ids: R): R extends Tensor2D ? Tensor3D : Tensor {
  return tf.tidy("embed", () => {
    const [V, D] = E.shape as [number, number];
    const n = ids.size;
    if (!isRecording()) return tf.reshape(tf.gather(E, tf.reshape(tf.cast(ids, "int32"), [n])), [...ids.shape, D]);
    const oneHot = tf.oneHot(tf.reshape(tf.cast(ids, "int32"), [n]), V).toFloat(); // [N, V]
    return tf.reshape(tf.matMul(oneHot, E as Tensor2D), [...ids.shape, D]); // [N, D] → [..., D]
  }) as R extends Tensor2D ? Tensor3D : Tensor;
}

/** Thrown when token ids do not fit the model's vocabulary. */
export class VocabularyError extends Error {
  override name = "VocabularyError";
  constructor(
    message: string,
    /** The argument at fault, e.g. "batch.x". */
    readonly argument: string,
    /** The vocabulary size the model expects. */
    readonly expected: number,
    /** The offending id. */
    readonly actual: number,
    /** Its index in the argument, e.g. [batch row, timestep]. */
    readonly index: readonly number[] = [],
  ) {
    super(message);
  }
}

/**
 * Throws a {@link VocabularyError} unless every id in `ids` is an integer in [0, V), e.g.
 * `SequenceToVector.forward: batch.x holds token id 41, but the model's vocabulary has V = 12 symbols (ids 0 … 11)`.
 * Reads the ids back from the backend (one small synchronous read).
 */
export function checkTokenIds(where: string, argument: string, ids: Tensor, V: number): void {
  const data = ids.dataSync();
  for (let k = 0; k < data.length; k++) {
    const id = data[k];
    if (Number.isInteger(id) && id >= 0 && id < V) continue;
    const index: number[] = [];
    for (let d = ids.shape.length - 1, r = k; d >= 0; d--) {
      index[d] = r % ids.shape[d];
      r = Math.floor(r / ids.shape[d]);
    }
    throw new VocabularyError(
      `${where}: ${argument} holds token id ${id} at index [${index.join(", ")}], but the model's vocabulary has ` +
        `V = ${V} symbols (ids 0 … ${V - 1}); was the batch made with another vocabulary?`,
      argument,
      V,
      id,
      index,
    );
  }
}
