/**
 * Sequence → vector (many-to-one; lecture: "Multiple Input Single Output"): read the whole
 * sequence, answer once from the last state.
 *
 * ```
 * h(t) = encoder(h(t−1), x(t)),   t = 1 … T_b          (T_b: the last real step of sequence b)
 * o    = c + V h(T_b)
 * ŷ    = softmax(o)  (classes)   or   ŷ = o  (values)
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x | [B, T, I] or [B, T] ids | the input sequence (padded; `batch.mask` [B, T] marks real steps) |
 * | h(T_b) | [B, H_out] | the state after each sequence's last *real* step |
 * | V, c | [K, H_out], [K] | output layer |
 * | y | [B] ids or [B, K] values | targets |
 *
 * With a mask the unroll carries the state over padded steps, so h(T_b) is the state after
 * the last real step, not after the padding (PyTorch gets this with packed sequences; a
 * Keras `Masking` layer does the same). With a bidirectional encoder the summary is both
 * directions' final states merged. Examples: the adding problem (values), parity (classes).
 *
 * Explained in notebooks/07-the-catalogue.ipynb.
 */
import type { Tensor, Tensor2D, Variable } from "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs";
import type { Batch, ForwardOptions, ForwardResult, Trainable } from "../train/model";
import { ENCODER_KEYS, RecurrentEncoder, encoderConfig, type EncoderConfig } from "./encoder";
import { INPUT_KEYS, SequenceInput, type InputConfig } from "./inputs";
import { OutputHead, type OutputConfig } from "./output-head";
import { prefixed } from "./recurrent-layer";
import { checkMask } from "./masks";
import { DEFAULT_SEED, partSeed } from "../seeds";
import { checkKeys } from "../options";
import { checkNotDisposed } from "../train/model";
import { OUTPUT_KEYS } from "./output-head";
import { tidyChecked } from "./finite";

/** How to build a {@link SequenceToVector}. */
export interface SequenceToVectorConfig extends InputConfig, Omit<EncoderConfig, "inputSize"> {
  /** What to predict: `{classes: K}` or `{values: K}`. */
  output: OutputConfig;
}

/** Many-to-one: classify or regress a sequence from its last (real) state. */
export class SequenceToVector implements Trainable {
  readonly input: SequenceInput;
  readonly encoder: RecurrentEncoder;
  readonly head: OutputHead;
  readonly variables: Readonly<Record<string, Variable>>;

  constructor(readonly config: SequenceToVectorConfig) {
    checkKeys("SequenceToVector", config, [...INPUT_KEYS, ...ENCODER_KEYS.filter((k) => k !== "inputSize"), "output"]);
    checkKeys("SequenceToVector", config.output, OUTPUT_KEYS, "output");
    const seed = config.seed ?? DEFAULT_SEED;
    this.input = new SequenceInput(config, partSeed(seed, "input"), "SequenceToVector");
    this.encoder = new RecurrentEncoder(encoderConfig(config, this.input.size, seed));
    this.head = new OutputHead(config.output, this.encoder.outputSize, partSeed(seed, "head"), "SequenceToVector");
    this.variables = {
      ...prefixed("input", this.input.variables),
      ...prefixed("encoder", this.encoder.variables),
      ...prefixed("head", this.head.variables),
    };
  }

  /** o = c + V h(T_b): [B, K] logits or values. */
  predict(x: Tensor, mask?: Tensor2D): Tensor2D {
    checkNotDisposed("SequenceToVector.predict", this);
    return tidyChecked("SequenceToVector.predict", () => {
      const xs = this.input.read(x, "x"); // [B, T, I]
      if (mask) checkMask("SequenceToVector", "mask", mask, xs.shape[0], xs.shape[1]);
      const { final } = this.encoder.run(xs, { mask }); // [B, H_out]
      return this.head.apply(final); // [B, K]
    });
  }

  forward(batch: Batch, _options: ForwardOptions): ForwardResult {
    checkNotDisposed("SequenceToVector.forward", this);
    return tidyChecked("SequenceToVector.forward", () => {
      const xs = this.input.read(batch.x, "batch.x"); // [B, T, I]
      const [B, T] = xs.shape;
      if (batch.mask) checkMask("SequenceToVector", "batch.mask", batch.mask, B, T);
      this.head.checkTargets("batch.y", batch.y, [B], ["B"]);
      const { final } = this.encoder.run(xs, { mask: batch.mask }); // [B, H_out]
      const o = this.head.apply(final); // [B, K]
      const y = this.head.kind === "values" ? batch.y : (tf.reshape(batch.y, [B]) as Tensor);
      return this.head.loss(o, y);
    });
  }

  dispose(): void {
    this.input.dispose();
    this.encoder.dispose();
    this.head.dispose();
  }
}
