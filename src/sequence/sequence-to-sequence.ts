/**
 * Sequence → sequence of the same length (lecture: "Standard Recurrent Networks", and the
 * sequence-to-sequence mapping network): an output at every step.
 *
 * ```
 * h(t) = encoder(h(t−1), x(t))     t = 1 … T
 * o(t) = c + V h(t)
 * ŷ(t) = softmax(o(t))  (classes)   or   ŷ(t) = o(t)  (values)
 * L    = (1/N) Σ_{b,t} m(b, t) L(b, t)         N = Σ m (real steps)
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x | [B, T, I] or [B, T] ids | inputs |
 * | h(t) | [B, H_out] | the top layer's output (both directions merged when bidirectional) |
 * | V, c | [K, H_out], [K] | output layer |
 * | y | [B, T] ids or [B, T, K] values | targets |
 * | m | [B, T] | `batch.mask`: padded steps add no loss |
 *
 * This is the lecture's RNN with its output layer at every step (o(t) = c + V h(t),
 * ŷ(t) = softmax(o(t))), averaged over real steps rather than summed. With a one-directional
 * encoder it also carries its state between calls (truncated BPTT over long streams: the
 * trainer passes `options.state` and gets `result.state` back), and it is a
 * {@link StepDecoder}, so a character language model can generate text
 * ({@link SequenceToSequence.generate}).
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Variable } from "@tensorflow/tfjs";
import type { Batch, CarriedState, ForwardOptions, ForwardResult, Trainable } from "../train/model";
import { ENCODER_KEYS, RecurrentEncoder, encoderConfig, type EncoderConfig } from "./encoder";
import { INPUT_KEYS, SequenceInput, type InputConfig } from "./inputs";
import { OutputHead, type OutputConfig } from "./output-head";
import { prefixed } from "./recurrent-layer";
import { checkMask } from "./masks";
import { flattenTime } from "./loss";
import { sampleDecode, type DecoderState, type Decoded, type StepDecoder } from "./decoding";
import type { AnyState } from "./stacked";
import { DEFAULT_SEED, partSeed } from "../seeds";
import { checkKeys } from "../options";
import { checkNotDisposed } from "../train/model";
import { OUTPUT_KEYS } from "./output-head";
import { checkInputs, stateInputs, tidyChecked } from "./finite";

/** How to build a {@link SequenceToSequence}. */
export interface SequenceToSequenceConfig extends InputConfig, Omit<EncoderConfig, "inputSize"> {
  /** What to predict at every step: `{classes: K}` or `{values: K}`. */
  output: OutputConfig;
}

/** Options of {@link SequenceToSequence.generate}. */
export interface GenerateOptions {
  /** How many tokens to generate after the prompt. */
  length: number;
  /** Sampling temperature τ (0: greedy); default 1. */
  temperature?: number;
  /** Seed of the draws; default 0. */
  seed?: number;
}

/** An output at every step: taggers, forecasters, language models. */
export class SequenceToSequence implements Trainable, StepDecoder {
  readonly input: SequenceInput;
  readonly encoder: RecurrentEncoder;
  readonly head: OutputHead;
  readonly variables: Readonly<Record<string, Variable>>;

  constructor(readonly config: SequenceToSequenceConfig) {
    checkKeys("SequenceToSequence", config, [...INPUT_KEYS, ...ENCODER_KEYS.filter((k) => k !== "inputSize"), "output"]);
    checkKeys("SequenceToSequence", config.output, OUTPUT_KEYS, "output");
    const seed = config.seed ?? DEFAULT_SEED;
    this.input = new SequenceInput(config, partSeed(seed, "input"), "SequenceToSequence");
    this.encoder = new RecurrentEncoder(encoderConfig(config, this.input.size, seed));
    this.head = new OutputHead(config.output, this.encoder.outputSize, partSeed(seed, "head"), "SequenceToSequence");
    this.variables = {
      ...prefixed("input", this.input.variables),
      ...prefixed("encoder", this.encoder.variables),
      ...prefixed("head", this.head.variables),
    };
  }

  /** K. */
  get outputSize(): number {
    return this.head.size;
  }

  /** o(t) for every t: [B, T, K] logits or values; and the final state (see {@link forward}). */
  predict(x: Tensor, options: { mask?: Tensor2D; state?: CarriedState } = {}): { o: Tensor3D; state?: CarriedState } {
    checkNotDisposed("SequenceToSequence.predict", this);
    checkInputs("SequenceToSequence.predict", stateInputs(options.state, "options.state"));
    return tidyChecked("SequenceToSequence.predict", () => {
      const xs = this.input.read(x, "x"); // [B, T, I]
      const [B, T] = xs.shape;
      if (options.mask) checkMask("SequenceToSequence", "mask", options.mask, B, T);
      const r = this.encoder.run(xs, { mask: options.mask, initialStates: this.fromCarried(options.state, B) });
      const K = this.head.size;
      const o = tf.reshape(this.head.apply(flattenTime<Tensor2D>(r.outputs)), [B, T, K]) as Tensor3D; // [B, T, K]
      return { o, ...(this.encoder.merge ? {} : { state: this.toCarried(r.states) }) };
    });
  }

  forward(batch: Batch, options: ForwardOptions): ForwardResult {
    checkNotDisposed("SequenceToSequence.forward", this);
    return tidyChecked("SequenceToSequence.forward", () => {
      const xs = this.input.read(batch.x, "batch.x"); // [B, T, I]
      const [B, T] = xs.shape;
      if (batch.mask) checkMask("SequenceToSequence", "batch.mask", batch.mask, B, T);
      this.head.checkTargets("batch.y", batch.y, [B, T], ["B", "T"]);
      const r = this.encoder.run(xs, { mask: batch.mask, initialStates: this.fromCarried(options.state, B) });
      const o = this.head.apply(flattenTime<Tensor2D>(r.outputs)); // [B·T, K]
      const m = batch.mask ? flattenTime<Tensor1D>(batch.mask) : undefined; // [B·T]
      const loss = this.head.loss(o, flattenTime(batch.y), m);
      return { ...loss, ...(this.encoder.merge ? {} : { state: this.toCarried(r.states) }) };
    });
  }

  /** Layer ℓ's state as {"layerℓ.h": …, "layerℓ.s": …}. */
  private toCarried(states: AnyState[]): CarriedState {
    const out: CarriedState = {};
    states.forEach((s, l) => {
      for (const key of this.encoder.stateKeys) out[`layer${l}.${key}`] = s[key];
    });
    return out;
  }

  private fromCarried(state: CarriedState | undefined, B: number): Partial<AnyState>[] | undefined {
    if (!state) return undefined;
    if (this.encoder.merge) {
      throw new Error(
        "SequenceToSequence: options.state cannot be carried into a bidirectional encoder (its reversed half reads the future)",
      );
    }
    return this.encoder.forwardLayers.map((layer, l) => {
      const s: Partial<AnyState> = {};
      for (const key of layer.stateKeys) {
        const name = `layer${l}.${key}`;
        const v = state[name];
        if (!v) throw new Error(`SequenceToSequence: options.state has no "${name}" (expected ${this.stateNames().join(", ")})`);
        if (v.shape[0] !== B || v.shape[1] !== layer.hiddenSize) {
          throw new Error(
            `SequenceToSequence: options.state["${name}"] must have shape [B, H] = [${B}, ${layer.hiddenSize}], got [${v.shape.join(", ")}]`,
          );
        }
        s[key] = v;
      }
      return s;
    });
  }

  private stateNames(): string[] {
    return this.encoder.forwardLayers.flatMap((l, k) => l.stateKeys.map((key) => `layer${k}.${key}`));
  }

  /**
   * {@link StepDecoder}: reads all of `source` [B, T_p] but its last token (the decoding's
   * start token is that last token — {@link generate} arranges it) and returns the state.
   */
  begin(source: Tensor, _sourceMask?: Tensor2D): DecoderState {
    if (this.encoder.merge) throw new Error("SequenceToSequence: a bidirectional model cannot generate step by step");
    checkNotDisposed("SequenceToSequence.begin", this);
    return tidyChecked("SequenceToSequence.begin", () => {
      const [B, Tp] = source.shape;
      if (Tp <= 1) {
        const zero: DecoderState = {};
        for (const name of this.stateNames()) zero[name] = tf.zeros([B, this.encoder.hiddenSize]);
        return zero;
      }
      const head = tf.slice(source, [0, 0], [B, Tp - 1]);
      return { ...this.predict(head).state! };
    });
  }

  /** {@link StepDecoder}: one step from the previous token y(t−1) [B]. */
  step(prev: Tensor1D, state: DecoderState): { logits: Tensor2D; state: DecoderState } {
    return tidyChecked("SequenceToSequence.step", () => {
      const B = prev.shape[0];
      const r = this.predict(tf.reshape(prev, [B, 1]), { state: state as CarriedState });
      return { logits: tf.reshape(r.o, [B, this.head.size]) as Tensor2D, state: r.state! };
    });
  }

  /**
   * Generates `length` tokens after each prompt (token ids, one row per prompt), sampling
   * with temperature from a seeded stream; returns the generated ids (without the prompt).
   */
  generate(prompt: readonly (readonly number[])[], options: GenerateOptions): Decoded {
    if (prompt.length === 0) throw new Error("SequenceToSequence.generate: prompt is an empty batch: expected B ≥ 1 prompts, got 0");
    const Tp = prompt[0].length;
    if (Tp === 0 || prompt.some((p) => p.length !== Tp)) {
      throw new Error(
        `SequenceToSequence.generate: prompts must be non-empty and of one length, got lengths ${prompt.map((p) => p.length).join(", ")}`,
      );
    }
    const source = tf.tensor2d(
      prompt.map((p) => [...p]),
      [prompt.length, Tp],
      "int32",
    );
    try {
      return sampleDecode(this, source, {
        startToken: prompt.map((p) => p[Tp - 1]),
        maxLength: options.length,
        temperature: options.temperature,
        seed: options.seed,
      });
    } finally {
      source.dispose();
    }
  }

  dispose(): void {
    this.input.dispose();
    this.encoder.dispose();
    this.head.dispose();
  }
}
