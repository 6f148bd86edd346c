/**
 * Vector → sequence (one-to-many; lecture: "Single Input Multiple Output"): one vector in,
 * a sequence out. The vector enters in one of two ways, selected by `feed`:
 *
 * ```
 * feed "initial-state":  h(0) = tanh(A v + a),  h(t) = cell(h(t−1), 0)      (the lecture's s(t) = f(s(t−1); θ): no input after t = 0)
 * feed "every-step":     h(0) = 0,              h(t) = cell(h(t−1), v)      (v is x(t) at every step)
 * o(t) = c + V h(t),   t = 1 … T
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | v | [B, I] | the input vector (`batch.x`) |
 * | A, a | [H, I], [H] | "initial-state" only: the vector → initial state map |
 * | h(t) | [B, H] | hidden state |
 * | V, c | [K, H], [K] | output layer |
 * | y | [B, T] ids or [B, T, K] values | targets (T is read from y) |
 *
 * With "initial-state" the step input is a single constant 0 (I = 1), so the recurrence runs
 * on its own, as in image-captioning decoders started from an image vector. For an LSTM the
 * initial cell state s(0) is 0. Goodfellow et al. (2016, §10.2.4) show "every-step" as the
 * usual form.
 *
 * Explained in notebooks/07-the-catalogue.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Variable } from "@tensorflow/tfjs";
import type { Batch, ForwardOptions, ForwardResult, Trainable } from "../train/model";
import type { CellChoice } from "../cells/cell";
import { ShapeError } from "../cells/checks";
import { Rng, uniformTensor } from "../init";
import { checkKeys, keysOf } from "../options";
import { checkNotDisposed } from "../train/model";
import { checkFinite, tidyChecked } from "./finite";
import { RecurrentLayer, checkPositive, prefixed, toVariables } from "./recurrent-layer";
import { OUTPUT_KEYS, OutputHead, type OutputConfig } from "./output-head";
import { checkMask } from "./masks";
import { flattenTime, repeatOverTime } from "./loss";
import { DEFAULT_MAX_LENGTH } from "./inputs";
import { DEFAULT_SEED, layerSeed, partSeed } from "../seeds";

/** How the vector enters the recurrence. */
export type VectorFeed = "initial-state" | "every-step";

/** How to build a {@link VectorToSequence}. */
export interface VectorToSequenceConfig {
  /** The cell: "rnn", "lstm", "gru", "gru-pytorch". */
  cell: CellChoice;
  /** I: the size of the input vector v. */
  inputSize: number;
  /** H. */
  hiddenSize: number;
  /** How v enters: as the initial state, or as the input at every step; default "every-step". */
  feed?: VectorFeed;
  /** What to predict at every step: `{classes: K}` or `{values: K}`. */
  output: OutputConfig;
  /** The longest output sequence; default {@link DEFAULT_MAX_LENGTH} (1000). */
  maxLength?: number;
  /** LSTM only: peepholes; default true. */
  peepholes?: boolean;
  /** Seed of every part (the layer, the head, the bridge: src/seeds.ts); default {@link DEFAULT_SEED} (0). */
  seed?: number;
}

/** The keys of {@link VectorToSequenceConfig}. */
const VECTOR_TO_SEQUENCE_KEYS = keysOf<VectorToSequenceConfig>({
  cell: true,
  inputSize: true,
  hiddenSize: true,
  feed: true,
  output: true,
  maxLength: true,
  peepholes: true,
  seed: true,
});

/** One-to-many: a sequence generated from one vector. */
export class VectorToSequence implements Trainable {
  readonly feed: VectorFeed;
  readonly layer: RecurrentLayer;
  readonly head: OutputHead;
  /** A [H, I] and a [H] ("initial-state" only). */
  readonly bridge?: { A: Variable; a: Variable };
  readonly variables: Readonly<Record<string, Variable>>;
  readonly maxLength: number;

  constructor(readonly config: VectorToSequenceConfig) {
    checkKeys("VectorToSequence", config, VECTOR_TO_SEQUENCE_KEYS);
    checkKeys("VectorToSequence", config.output, OUTPUT_KEYS, "output");
    this.feed = config.feed ?? "every-step";
    if (this.feed !== "initial-state" && this.feed !== "every-step") {
      throw new Error(`VectorToSequence: feed must be "initial-state" or "every-step", got ${JSON.stringify(this.feed)}`);
    }
    checkPositive("VectorToSequence", "inputSize", config.inputSize);
    this.maxLength = config.maxLength ?? DEFAULT_MAX_LENGTH;
    const seed = config.seed ?? DEFAULT_SEED;
    const H = config.hiddenSize;
    const stepInput = this.feed === "every-step" ? config.inputSize : 1;
    this.layer = new RecurrentLayer({
      cell: config.cell,
      inputSize: stepInput,
      hiddenSize: H,
      peepholes: config.peepholes,
      seed: layerSeed(seed, 0),
    });
    this.head = new OutputHead(config.output, H, partSeed(seed, "head"), "VectorToSequence");
    if (this.feed === "initial-state") {
      const rng = new Rng(partSeed(seed, "bridge"));
      const k = 1 / Math.sqrt(config.inputSize);
      this.bridge = toVariables({ A: uniformTensor([H, config.inputSize], k, rng), a: uniformTensor([H], k, rng) }) as {
        A: Variable;
        a: Variable;
      };
    }
    this.variables = {
      ...prefixed("layer", this.layer.params),
      ...prefixed("head", this.head.variables),
      ...(this.bridge ? prefixed("bridge", { ...this.bridge }) : {}),
    };
  }

  /** o(t) for t = 1 … T: [B, T, K]. */
  predict(v: Tensor2D, T: number, mask?: Tensor2D): Tensor3D {
    checkNotDisposed("VectorToSequence.predict", this);
    return tidyChecked("VectorToSequence.predict", () => {
      const h = this.run(v, T, "v", mask); // [B, T, H]
      const B = v.shape[0];
      return tf.reshape(this.head.apply(flattenTime<Tensor2D>(h)), [B, T, this.head.size]) as Tensor3D;
    });
  }

  forward(batch: Batch, _options: ForwardOptions): ForwardResult {
    checkNotDisposed("VectorToSequence.forward", this);
    return tidyChecked("VectorToSequence.forward", () => {
      const v = batch.x as Tensor2D;
      this.checkVector(v, "batch.x");
      if (batch.y.rank < 2)
        throw new ShapeError(
          `VectorToSequence: batch.y must have shape [B, T] or [B, T, K], got [${batch.y.shape.join(", ")}]`,
          "batch.y",
          [],
          [...batch.y.shape],
        );
      const [B, T] = batch.y.shape;
      this.head.checkTargets("batch.y", batch.y, [v.shape[0], T], ["B", "T"]);
      if (batch.mask) checkMask("VectorToSequence", "batch.mask", batch.mask, B, T);
      const h = this.run(v, T, "batch.x", batch.mask); // [B, T, H]
      const o = this.head.apply(flattenTime<Tensor2D>(h)); // [B·T, K]
      return this.head.loss(o, flattenTime<Tensor>(batch.y), batch.mask ? flattenTime<Tensor1D>(batch.mask) : undefined);
    });
  }

  /** h(t) for t = 1 … T, [B, T, H], by the selected feed. */
  private run(v: Tensor2D, T: number, argument: string, mask?: Tensor2D): Tensor3D {
    this.checkVector(v, argument);
    if (!Number.isInteger(T) || T < 1 || T > this.maxLength) {
      throw new ShapeError(
        `VectorToSequence: the output length T must be in [1, maxLength = ${this.maxLength}], got ${T}`,
        "T",
        [this.maxLength],
        [T],
      );
    }
    const B = v.shape[0];
    if (this.feed === "every-step") {
      const x = repeatOverTime(v, T); // [B, T, I]: v at every step
      return this.layer.run(x, { mask }).outputs;
    }
    const { A, a } = this.bridge!;
    const h0 = tf.tanh(tf.add(tf.matMul(v, A, false, true), a)) as Tensor2D; // [B, H]
    const x = tf.zeros([B, T, 1]) as Tensor3D; // [B, T, 1]: no input after t = 0
    return this.layer.run(x, { mask, initialState: { h: h0 } }).outputs;
  }

  private checkVector(v: Tensor, argument: string): void {
    const I = this.config.inputSize;
    if (v.rank !== 2 || v.shape[1] !== I) {
      throw new ShapeError(
        `VectorToSequence: ${argument} must have shape [B, I] with I = ${I}, got [${v.shape.join(", ")}]`,
        argument,
        [v.shape[0] ?? 0, I],
        [...v.shape],
      );
    }
    if (v.shape[0] === 0)
      throw new ShapeError(
        `VectorToSequence: ${argument} is an empty batch: expected B ≥ 1 vectors, got shape [${v.shape.join(", ")}]`,
        argument,
        [],
        [...v.shape],
      );
    checkFinite("VectorToSequence", argument, v);
  }

  dispose(): void {
    this.layer.dispose();
    this.head.dispose();
    if (this.bridge) tf.dispose([this.bridge.A, this.bridge.a]);
  }
}
