/**
 * What the two encoder–decoders (src/sequence/encoder-decoder.ts, fixed context;
 * src/sequence/attention-encoder-decoder.ts, attention) share: reading the source,
 * running the decoder with teacher forcing, and stepping for {@link StepDecoder} decoding.
 *
 * ```
 * encoder:  h_enc(j) = encoder(h_enc(j−1), E_x[x(j)]),   j = 1 … T_in
 * decoder:  h(0) = the encoder's final state
 *           u(t) = y(t−1)        with probability r (teacher forcing: the true previous token)
 *                = ŷ(t−1)        otherwise          (its own previous prediction, argmax o(t−1))
 *           h(t) = cell(h(t−1), [E_y[u(t)]; extra])  t = 1 … T_out   (u(1) = START)
 *           o(t) = the subclass's readout of h(t)
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x | [B, T_in] ids | source (`batch.x`), `batch.xMask` marks real positions |
 * | y(t−1) | [B] ids | `batch.yIn[:, t]`: START, then the targets shifted right |
 * | y | [B, T_out] ids | targets (`batch.y`), `batch.mask` marks real target steps |
 * | E_x, E_y | [V_x, D], [K, D] | source and target embeddings |
 * | h_enc(j) | [B, H_enc] | encoder outputs (H_enc = 2H for a concat-bidirectional encoder) |
 * | h(t) | [B, H] | decoder state |
 * | r | scalar | `teacherForcingRatio`: 1 while training by default, 0 when evaluating |
 *
 * With r = 1 every decoder input is known in advance, so the decoder is one {@link unroll}
 * over all T_out steps (fast, and fused when unroll is). With r < 1 one coin is flipped per
 * step for the whole batch (as in PyTorch's seq2seq tutorial), from `options.rng` when the
 * trainer gives one, else from the model's own seeded stream: a step fed the model's own
 * previous output must wait for it, but each run of steps fed the truth is one unroll.
 *
 * Decoding (greedy, sampling, beam search) calls `begin` once and `step` per output token;
 * the state between steps is an {@link EncoderDecoderState}: `decoder` = h(t) (and s(t)),
 * `memory` = the encoder's {@link Memory}, passed on unchanged by every step.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Variable } from "@tensorflow/tfjs";
import type { Batch, ForwardOptions, ForwardResult, Trainable } from "../train/model";
import type { CellChoice } from "../cells/cell";
import { ShapeError } from "../cells/checks";
import { Rng } from "../init";
import { keysOf } from "../options";
import { checkNotDisposed } from "../train/model";
import { tidyChecked } from "./finite";
import { offTape } from "../fused/tfjs-internals";
import { RecurrentEncoder } from "./encoder";
import type { Merge } from "./bidirectional";
import { SequenceInput, DEFAULT_EMBEDDING_SIZE, DEFAULT_MAX_LENGTH } from "./inputs";
import { DEFAULT_SEED, partSeed } from "../seeds";
import { RecurrentLayer, checkPositive, prefixed, toVariables } from "./recurrent-layer";
import { checkTokenIds, embedChecked, initEmbedding } from "./embedding";
import { checkMask } from "./masks";
import { crossEntropy, flattenTime, repeatOverTime } from "./loss";
import { argmax, type DecoderStep, type MemoryState, type StepDecoder } from "./decoding";
import type { AnyState } from "./stacked";

/** How to build an encoder–decoder. */
export interface EncoderDecoderConfig {
  /** V_x: source vocabulary size (ids in `batch.x`). */
  sourceVocabSize: number;
  /** K: target vocabulary size (ids in `batch.y` and `batch.yIn`, START and END included). */
  targetVocabSize: number;
  /** D: embedding size of both vocabularies; default 16. */
  embeddingSize?: number;
  /** The cell of the encoder and the decoder. */
  cell: CellChoice;
  /** H: hidden size of the encoder (each direction) and the decoder. */
  hiddenSize: number;
  /** Stacked encoder layers; default 1. */
  encoderLayers?: number;
  /** A bidirectional encoder merged this way; default false. */
  bidirectional?: Merge | false;
  /** The longest source; default 1000. */
  maxLength?: number;
  /** The longest target; default 1000. */
  maxOutputLength?: number;
  /** LSTM only: peepholes; default true. */
  peepholes?: boolean;
  /** Seed of the initialisers and of the teacher-forcing coins; default 0. */
  seed?: number;
}

/** The keys of {@link EncoderDecoderConfig}. */
export const ENCODER_DECODER_KEYS = keysOf<EncoderDecoderConfig>({
  sourceVocabSize: true,
  targetVocabSize: true,
  embeddingSize: true,
  cell: true,
  hiddenSize: true,
  encoderLayers: true,
  bidirectional: true,
  maxLength: true,
  maxOutputLength: true,
  peepholes: true,
  seed: true,
});

/** What the encoder leaves for the decoder: batch-first tensors. */
export interface Memory {
  /** h_enc(j) for every j, [B, T_in, H_enc]. */
  keys: Tensor3D;
  /** The encoder's summary of the source, [B, H_enc]. */
  context: Tensor2D;
  /** [B, T_in] source mask (absent: all real). */
  mask?: Tensor2D;
  /** Anything a subclass precomputes per source (e.g. W_k h_enc for additive attention). */
  [extra: string]: Tensor | undefined;
}

/**
 * An encoder–decoder's state between decoding steps: the decoder's h(t) (and s(t) for an
 * LSTM), [B, H] each, and the encoder's {@link Memory}, which no step changes.
 */
export type EncoderDecoderState = MemoryState<AnyState, Memory>;

/** What the decoder's readout gives for decoder states [B, T_out, H]. */
export interface Readout {
  /** o(t), [B, T_out, K]. */
  logits: Tensor3D;
  /** α(t), [B, T_out, T_in] (attention models). */
  attention?: Tensor3D;
}

/** The shared machinery of the encoder–decoders (see the file comment). */
export abstract class EncoderDecoderBase implements Trainable, StepDecoder<EncoderDecoderState> {
  readonly source: SequenceInput;
  readonly encoder: RecurrentEncoder;
  /** E_y [K, D]. */
  readonly targetEmbedding: Variable;
  readonly decoder: RecurrentLayer;
  readonly maxOutputLength: number;
  /** The teacher-forcing coins when the trainer gives no `rng`. */
  private readonly rng: Rng;
  private vars?: Record<string, Variable>;

  constructor(
    readonly config: EncoderDecoderConfig,
    protected readonly where: string,
    /** The size of `extra` appended to the decoder input (H_enc for a fixed context, 0 for attention). */
    extraInput: (encoderOutputSize: number) => number,
  ) {
    const seed = config.seed ?? DEFAULT_SEED;
    checkPositive(where, "targetVocabSize", config.targetVocabSize);
    const D = config.embeddingSize ?? DEFAULT_EMBEDDING_SIZE;
    this.source = new SequenceInput(
      { vocabSize: config.sourceVocabSize, embeddingSize: D, maxLength: config.maxLength },
      partSeed(seed, "source"),
      where,
    );
    this.encoder = new RecurrentEncoder({
      cell: config.cell,
      inputSize: D,
      hiddenSize: config.hiddenSize,
      layers: config.encoderLayers,
      bidirectional: config.bidirectional,
      peepholes: config.peepholes,
      seed,
    });
    this.targetEmbedding = toVariables({
      E: initEmbedding({ vocabSize: config.targetVocabSize, embeddingSize: D, seed: partSeed(seed, "targetEmbedding") }),
    }).E;
    this.decoder = new RecurrentLayer({
      cell: config.cell,
      inputSize: D + extraInput(this.encoder.outputSize),
      hiddenSize: config.hiddenSize,
      peepholes: config.peepholes,
      seed: partSeed(seed, "decoderLayer"),
    });
    this.maxOutputLength = config.maxOutputLength ?? DEFAULT_MAX_LENGTH;
    this.rng = new Rng(partSeed(seed, "teacherForcing"));
  }

  /** K. */
  get outputSize(): number {
    return this.config.targetVocabSize;
  }

  /** The subclass's own variables (readout, attention). */
  protected abstract ownVariables(): Record<string, Variable>;
  /** The vector appended to every decoder input (or undefined). */
  protected abstract extra(memory: Memory): Tensor2D | undefined;
  /** o(t) (and α(t)) from decoder states h [B, T_out, H]. */
  protected abstract readout(memory: Memory, h: Tensor3D): Readout;
  /** Per-source precomputation added to the memory (`stepwise`: for a decoder that will step through it). */
  protected prepare(_memory: Memory, _stepwise: boolean): Record<string, Tensor> {
    return {};
  }

  get variables(): Readonly<Record<string, Variable>> {
    this.vars ??= {
      ...prefixed("source", this.source.variables),
      ...prefixed("encoder", this.encoder.variables),
      "target.E": this.targetEmbedding,
      ...prefixed("decoder", this.decoder.params),
      ...this.ownVariables(),
    };
    return this.vars;
  }

  /** Reads the source [B, T_in] (ids) with its mask; `stepwise`: for a decoder that steps (decoding, teacher forcing r < 1). */
  encode(x: Tensor, xMask?: Tensor2D, argument = "batch.x", stepwise = true): { memory: Memory; init: AnyState } {
    checkNotDisposed(`${this.where}.encode`, this);
    return tidyChecked(`${this.where}.encode`, () => {
      const xs = this.source.read(x, argument); // [B, T_in, D]
      const [B, Tin] = xs.shape;
      if (xMask) checkMask(this.where, argument === "batch.x" ? "batch.xMask" : "sourceMask", xMask, B, Tin);
      const r = this.encoder.run(xs, { mask: xMask });
      const top = r.states[r.states.length - 1]; // the top layer's (forward) final state
      const memory: Memory = { keys: r.outputs, context: r.final, ...(xMask ? { mask: tf.clone(xMask) } : {}) }; // a copy: decoders dispose their state
      Object.assign(memory, this.prepare(memory, stepwise));
      return { memory, init: top };
    });
  }

  /**
   * Logits for every target step, [B, T_out, K] (and α, [B, T_out, T_in], for attention),
   * with teacher-forcing ratio r (1: all true previous tokens; 0: all own predictions).
   */
  run(batch: Batch, r: number, rng: Rng = this.rng): Readout {
    checkNotDisposed(`${this.where}.run`, this);
    return tidyChecked(`${this.where}.run`, () => {
      const yIn = this.checkBatch(batch);
      const { memory, init } = this.encode(batch.x, batch.xMask, "batch.x", r < 1);
      const [B, Tout] = yIn.shape;
      const extra = this.extra(memory); // [B, H_enc] or undefined
      const E = this.targetEmbedding;
      if (r >= 1) {
        let u = embedChecked(E, yIn) as Tensor3D; // [B, T_out, D]: E_y[y(t−1)]
        if (extra) u = tf.concat([u, repeatOverTime(extra, Tout)], 2) as Tensor3D; // [B, T_out, D + H_enc]
        const h = this.decoder.run(u, { initialState: init }).outputs; // [B, T_out, H]
        return this.readout(memory, h);
      }
      // One coin per step t + 1 < T_out: the truth y(t), or the model's own ŷ(t)? The coins do
      // not depend on what the model computes, so they are all flipped first (the same coins, in
      // the same order, as flipping each before its step). A run of steps fed the truth is then
      // one unroll; only a step fed ŷ(t) waits for the step before it. ŷ(t) needs o(t) alone,
      // so each run reads out its last step for the argmax, off the gradient tape (no gradient
      // flows through ŷ, so tfjs need not record that readout for a backward), and
      // the readout that the loss sees runs once over all T_out steps: one readout and one
      // backward of it, as with r = 1, rather than one per run (the logits are the same, row
      // by row).
      const truth = [true]; // step 0 reads START
      for (let t = 0; t + 1 < Tout; t++) truth.push(rng.next() < r);
      let state = init;
      const given = yIn.dataSync(); // [B·T_out]: y(t − 1) at b·T_out + t
      let predicted: Int32Array | undefined; // ŷ(s − 1) for each of the B rows, when step s is fed it
      const hs: Tensor3D[] = [];
      for (let s = 0; s < Tout;) {
        let e = s + 1;
        while (e < Tout && truth[e]) e++; // steps s … e − 1: a run
        const L = e - s;
        const ids = new Int32Array(B * L); // the run's inputs: ŷ(s − 1) or y(s − 1), then y(s) … y(e − 2)
        for (let b = 0; b < B; b++) for (let j = 0; j < L; j++) ids[b * L + j] = given[b * Tout + s + j];
        if (predicted) for (let b = 0; b < B; b++) ids[b * L] = predicted[b];
        let u = embedChecked(E, tf.tensor2d(ids, [B, L], "int32")) as Tensor3D; // [B, L, D]
        if (extra) u = tf.concat([u, repeatOverTime(extra, L)], 2) as Tensor3D; // [B, L, D + H_enc]
        const run = this.decoder.run(u, { initialState: state }); // h(s) … h(e − 1), and the state after
        state = run.state;
        hs.push(run.outputs);
        predicted = e < Tout ? this.predictLast(memory, run.outputs) : undefined; // ŷ(e − 1)
        s = e;
      }
      return this.readout(memory, hs.length === 1 ? hs[0] : (tf.concat(hs, 1) as Tensor3D));
    });
  }

  /** ŷ for the last of the decoder states h [B, L, H]: argmax_k o_k for each of the B rows (the first of equal maxima, as tf.argMax). */
  private predictLast(memory: Memory, h: Tensor3D): Int32Array {
    const [B, L, H] = h.shape;
    const o = offTape(() => tf.tidy(() => this.readout(memory, tf.slice(h, [0, L - 1, 0], [B, 1, H]) as Tensor3D).logits.dataSync())); // [B·1·K]
    const K = o.length / B;
    return Int32Array.from({ length: B }, (_, b) => argmax(o, b * K, (b + 1) * K));
  }

  forward(batch: Batch, options: ForwardOptions): ForwardResult {
    const r = options.teacherForcingRatio ?? (options.training ? 1 : 0);
    if (!(r >= 0 && r <= 1)) throw new Error(`${this.where}: teacherForcingRatio must be in [0, 1], got ${r}`);
    checkNotDisposed(`${this.where}.forward`, this);
    return tidyChecked(`${this.where}.forward`, () => {
      const { logits } = this.run(batch, r, options.rng ?? this.rng);
      this.checkTargets(batch);
      const m = batch.mask ? flattenTime<Tensor1D>(batch.mask) : undefined; // [B·T_out]
      return crossEntropy(flattenTime<Tensor2D>(logits), flattenTime<Tensor1D>(batch.y), m);
    });
  }

  /** {@link StepDecoder}: encodes the source; the state is the decoder's h(0) (and s(0)) and the encoder's memory. */
  begin(source: Tensor, sourceMask?: Tensor2D): EncoderDecoderState {
    checkNotDisposed(`${this.where}.begin`, this);
    return tidyChecked(`${this.where}.begin`, () => {
      const { memory, init } = this.encode(source, sourceMask, "source");
      const decoder = Object.fromEntries(this.decoder.stateKeys.map((k) => [k, init[k]])) as AnyState; // [B, H] each
      return { decoder, memory };
    });
  }

  /** {@link StepDecoder}: one decoder step from the previous tokens [B]; the memory is passed on as it is. */
  step(prev: Tensor1D, state: EncoderDecoderState): DecoderStep<EncoderDecoderState> {
    checkNotDisposed(`${this.where}.step`, this);
    return tidyChecked(`${this.where}.step`, () => {
      checkTokenIds(this.where, "prev", prev, this.outputSize);
      const { decoder: prevState, memory } = state;
      const extra = this.extra(memory); // [B, H_enc] or undefined
      let u = embedChecked(this.targetEmbedding, prev) as Tensor2D; // [B, D]: E_y[y(t−1)]
      if (extra) u = tf.concat([u, extra], 1) as Tensor2D; // [B, D + H_enc]
      const next = this.decoder.step(u, prevState); // h(t) (and s(t)), [B, H] each
      const out = this.readout(memory, tf.expandDims(next.h, 1) as Tensor3D); // [B, 1, K]
      const B = prev.shape[0];
      return {
        logits: tf.reshape(out.logits, [B, this.outputSize]) as Tensor2D,
        state: { decoder: next, memory },
        ...(out.attention ? { attention: tf.squeeze(out.attention, [1]) as Tensor2D } : {}),
      };
    });
  }

  /** Checks yIn (and mask) against x; returns yIn as int32. */
  private checkBatch(batch: Batch): Tensor2D {
    const yIn = batch.yIn;
    if (!yIn)
      throw new Error(`${this.where}: batch.yIn is missing: the decoder's input (START + the targets shifted right), [B, T_out] ids`);
    const B = batch.x.shape[0];
    if (yIn.rank !== 2 || yIn.shape[0] !== B) {
      throw new ShapeError(
        `${this.where}: batch.yIn must have shape [B, T_out] with B = ${B}, got [${yIn.shape.join(", ")}]`,
        "batch.yIn",
        [B],
        [...yIn.shape],
      );
    }
    const Tout = yIn.shape[1]!;
    if (Tout < 1 || Tout > this.maxOutputLength) {
      throw new ShapeError(
        `${this.where}: batch.yIn has T_out = ${Tout} steps, but this model allows 1 … maxOutputLength = ${this.maxOutputLength}`,
        "batch.yIn",
        [B, this.maxOutputLength],
        [...yIn.shape],
      );
    }
    checkTokenIds(this.where, "batch.yIn", yIn, this.outputSize);
    if (batch.mask) checkMask(this.where, "batch.mask", batch.mask, B, Tout);
    return tf.cast(yIn, "int32") as Tensor2D;
  }

  private checkTargets(batch: Batch): void {
    const want = batch.yIn!.shape;
    if (batch.y.rank !== 2 || batch.y.shape[0] !== want[0] || batch.y.shape[1] !== want[1]) {
      throw new ShapeError(
        `${this.where}: batch.y must have shape [B, T_out] = [${want.join(", ")}] like batch.yIn, got [${batch.y.shape.join(", ")}]`,
        "batch.y",
        [...want],
        [...batch.y.shape],
      );
    }
    checkTokenIds(this.where, "batch.y", batch.y, this.outputSize);
  }

  /** Frees the variables. */
  dispose(): void {
    this.source.dispose();
    this.encoder.dispose();
    this.targetEmbedding.dispose();
    this.decoder.dispose();
    tf.dispose(Object.values(this.ownVariables()));
  }
}
