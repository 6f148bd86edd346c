/**
 * What a sequence model reads: real-valued vectors x(t) ∈ ℝ^I, or token ids w(t) that an
 * embedding turns into vectors (src/sequence/embedding.ts). This file also checks a batch
 * before anything runs: an empty batch, a sequence longer than the model allows, a wrong
 * feature size or a token id outside the vocabulary each throw an error that names the
 * argument, what was expected and what was given.
 *
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x | [B, T, I] | real-valued inputs (when the model has no vocabulary) |
 * | w | [B, T] | token ids in [0, V) (when the model has `vocabSize` V) |
 * | E | [V, D] | the embedding table; x(t) = E[w(t)] |
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Tensor3D, Variable } from "@tensorflow/tfjs";
import { ShapeError } from "../cells/checks";
import { checkTokenIds, embedChecked, initEmbedding } from "./embedding";
import { checkPositive } from "./recurrent-layer";
import { checkFinite } from "./finite";
import { keysOf } from "../options";

/** How a model reads its input sequence: give `inputSize`, or `vocabSize` (+ `embeddingSize`). */
export interface InputConfig {
  /** I: the size of x(t), for real-valued inputs [B, T, I]. */
  inputSize?: number;
  /** V: the vocabulary size, for token inputs [B, T] (ids in [0, V)). */
  vocabSize?: number;
  /** D: the embedding size for token inputs; default {@link DEFAULT_EMBEDDING_SIZE} (16). */
  embeddingSize?: number;
  /**
   * The longest sequence the model accepts; default {@link DEFAULT_MAX_LENGTH} (1000). Longer
   * inputs throw rather than silently unroll (and backpropagate through) thousands of steps.
   * Raise it if you mean it.
   */
  maxLength?: number;
}

/** The keys of {@link InputConfig} (for the models' unknown-key check). */
export const INPUT_KEYS = keysOf<InputConfig>({ inputSize: true, vocabSize: true, embeddingSize: true, maxLength: true });

/** Default of {@link InputConfig.embeddingSize}: D = 16. */
export const DEFAULT_EMBEDDING_SIZE = 16;

/** Default of {@link InputConfig.maxLength}: 1000 steps. */
export const DEFAULT_MAX_LENGTH = 1000;

/** An input layer: the identity for vectors, an embedding table for tokens. */
export class SequenceInput {
  /** The embedding table E [V, D] (token inputs only). */
  readonly E?: Variable;
  /** The size of the vectors the recurrent layers read: I, or D for tokens. */
  readonly size: number;
  /** V for token inputs, undefined for vectors. */
  readonly vocabSize?: number;
  /** The longest sequence accepted. */
  readonly maxLength: number;

  /**
   * @param seed the seed of the embedding table (src/seeds.ts: a model passes `partSeed(seed, "input")`, an encoder–decoder `partSeed(seed, "source")`)
   * @param where the model's name, for error messages
   */
  constructor(
    config: InputConfig,
    seed: number,
    private readonly where: string,
  ) {
    this.maxLength = config.maxLength ?? DEFAULT_MAX_LENGTH;
    checkPositive(where, "maxLength", this.maxLength);
    if ((config.inputSize === undefined) === (config.vocabSize === undefined)) {
      throw new Error(
        `${where}: give exactly one of inputSize (real-valued inputs [B, T, I]) or vocabSize (token ids [B, T]); ` +
          `got inputSize = ${config.inputSize}, vocabSize = ${config.vocabSize}`,
      );
    }
    if (config.vocabSize !== undefined) {
      checkPositive(where, "vocabSize", config.vocabSize);
      const D = config.embeddingSize ?? DEFAULT_EMBEDDING_SIZE;
      checkPositive(where, "embeddingSize", D);
      const E = initEmbedding({ vocabSize: config.vocabSize, embeddingSize: D, seed });
      this.E = tf.variable(E, true);
      E.dispose();
      this.vocabSize = config.vocabSize;
      this.size = D;
    } else {
      checkPositive(where, "inputSize", config.inputSize!);
      this.size = config.inputSize!;
    }
  }

  /** {E} for token inputs, {} otherwise. */
  get variables(): Record<string, Variable> {
    return this.E ? { E: this.E } : {};
  }

  /**
   * Checks x (shape; NaN/±Inf in vectors; ids in the vocabulary) and returns the vectors the
   * recurrent layers read, [B, T, I] (or [B, T, D]).
   * @param argument how the caller names x in messages, e.g. "batch.x"
   */
  read(x: Tensor, argument = "batch.x"): Tensor3D {
    checkSequence(this.where, argument, x, this.vocabSize === undefined ? ["B", "T", "I"] : ["B", "T"], this.maxLength);
    if (this.vocabSize === undefined) {
      if (x.shape[2] !== this.size) {
        throw new ShapeError(
          `${this.where}: ${argument} must have shape [B, T, I] with I = ${this.size}, got [${x.shape.join(", ")}]`,
          argument,
          [...x.shape.slice(0, 2), this.size],
          [...x.shape],
        );
      }
      checkFinite(this.where, argument, x);
      return x as Tensor3D;
    }
    checkTokenIds(this.where, argument, x, this.vocabSize);
    return embedChecked(this.E!, x as Tensor2D) as Tensor3D; // [B, T, D]: x(t) = E[w(t)]
  }

  dispose(): void {
    this.E?.dispose();
  }
}

/**
 * Throws unless x has the given rank, B ≥ 1, 1 ≤ T ≤ maxLength (dims 0 and 1 are B and T).
 * @param symbols the expected shape in letters, e.g. ["B", "T", "I"]
 */
export function checkSequence(where: string, argument: string, x: Tensor, symbols: readonly string[], maxLength: number): void {
  const shape = x.shape;
  const want = `[${symbols.join(", ")}]`;
  if (shape.length !== symbols.length) {
    throw new ShapeError(
      `${where}: ${argument} must have shape ${want} (rank ${symbols.length}), got [${shape.join(", ")}] (rank ${shape.length})`,
      argument,
      [],
      [...shape],
    );
  }
  if (shape[0] === 0) {
    throw new ShapeError(
      `${where}: ${argument} is an empty batch: expected B ≥ 1 sequences, got shape [${shape.join(", ")}]`,
      argument,
      [],
      [...shape],
    );
  }
  if (shape.length > 1 && shape[1] === 0) {
    throw new ShapeError(
      `${where}: ${argument} has no timesteps: expected T ≥ 1, got shape [${shape.join(", ")}]`,
      argument,
      [],
      [...shape],
    );
  }
  if (shape.length > 1 && shape[1]! > maxLength) {
    throw new ShapeError(
      `${where}: ${argument} has T = ${shape[1]} steps, but this model allows at most maxLength = ${maxLength} (shape [${shape.join(", ")}])`,
      argument,
      [shape[0], maxLength],
      [...shape],
    );
  }
}
