/**
 * The lecture's teacher-forcing networks ("Other Recurrent Networks: Teacher Forcing
 * Networks"; Goodfellow et al. 2016, §10.2.1): the recurrence runs from the *output* at
 * t−1 into the hidden state at t.
 *
 * ```
 * train (teacher forcing):  h(t) = tanh(b + W h(t−1) + U x(t) + R y(t−1))      the true previous output
 * test (free running):      h(t) = tanh(b + W h(t−1) + U x(t) + R ŷ(t−1))      its own previous prediction
 * o(t) = c + V h(t),   ŷ(t) = onehot(argmax o(t)),   y(0) = ŷ(0) = 0
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x(t) | [B, I] | input (`batch.x`, [B, T, I]) |
 * | y(t−1) | [B, K] | the previous target, one-hot (`batch.y` shifted right, or `batch.yIn`) |
 * | U, R | [H, I], [H, K] | stored as one matrix over [x(t); y(t−1)] (the cell's U, [H, I + K]) |
 * | W | [H, H] | hidden → hidden; with `hiddenRecurrence: false` W ≡ 0 (not trained): the lecture's network, whose only recurrence is through the output |
 * | V, c | [K, H], [K] | output layer |
 *
 * The teacher-forcing ratio r (`options.teacherForcingRatio`; default 1 while training, 0
 * when evaluating) is the probability, per step, of feeding y(t−1) rather than ŷ(t−1). With
 * r = 1 all inputs are known in advance and the network is one {@link unroll}; otherwise it
 * runs step by step. Training at r = 1 and testing at r = 0 shows the train/test gap (exposure
 * bias): at test time the network sees its own mistakes, which it never saw in training.
 * With a cell other than "rnn" (e.g. "lstm") the same input [x(t); y(t−1)] feeds that cell.
 *
 * Explained in notebooks/08-teacher-forcing.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Variable } from "@tensorflow/tfjs";
import type { Batch, ForwardOptions, ForwardResult, Trainable } from "../train/model";
import type { CellChoice } from "../cells/cell";
import { ShapeError } from "../cells/checks";
import { Rng } from "../init";
import { checkKeys, keysOf } from "../options";
import { checkNotDisposed } from "../train/model";
import { checkFinite, tidyChecked } from "./finite";
import { DEFAULT_SEED, layerSeed, partSeed } from "../seeds";
import { RecurrentLayer, checkPositive, prefixed } from "./recurrent-layer";
import { OutputHead } from "./output-head";
import { checkSequence, DEFAULT_MAX_LENGTH } from "./inputs";
import { checkMask } from "./masks";
import { crossEntropy, flattenTime } from "./loss";
import { checkTokenIds } from "./embedding";
import type { AnyState } from "./stacked";

/** How to build a {@link TeacherForcingRnn}. */
export interface TeacherForcingRnnConfig {
  /** I: the size of x(t). */
  inputSize: number;
  /** K: the number of output classes. */
  classes: number;
  /** H. */
  hiddenSize: number;
  /** The cell; default "rnn" (the lecture's). */
  cell?: CellChoice;
  /** Keep h(t−1) → h(t) as well (default true); false: the lecture's output-only recurrence ("rnn" only). */
  hiddenRecurrence?: boolean;
  /** The longest sequence; default {@link DEFAULT_MAX_LENGTH} (1000). */
  maxLength?: number;
  /** Seed of the initialiser and of the teacher-forcing coins (src/seeds.ts); default {@link DEFAULT_SEED} (0). */
  seed?: number;
}

/** The keys of {@link TeacherForcingRnnConfig}. */
const TEACHER_FORCING_KEYS = keysOf<TeacherForcingRnnConfig>({
  inputSize: true,
  classes: true,
  hiddenSize: true,
  cell: true,
  hiddenRecurrence: true,
  maxLength: true,
  seed: true,
});

/** An RNN whose previous output feeds its hidden state (see the file comment). */
export class TeacherForcingRnn implements Trainable {
  readonly layer: RecurrentLayer;
  readonly head: OutputHead;
  readonly variables: Readonly<Record<string, Variable>>;
  readonly K: number;
  readonly inputSize: number;
  readonly maxLength: number;
  readonly hiddenRecurrence: boolean;
  private readonly rng: Rng;

  constructor(readonly config: TeacherForcingRnnConfig) {
    const where = "TeacherForcingRnn";
    checkKeys(where, config, TEACHER_FORCING_KEYS);
    checkPositive(where, "inputSize", config.inputSize);
    checkPositive(where, "classes", config.classes);
    const cell = config.cell ?? "rnn";
    this.hiddenRecurrence = config.hiddenRecurrence ?? true;
    if (!this.hiddenRecurrence && cell !== "rnn") {
      throw new Error(`${where}: hiddenRecurrence: false (output-only recurrence) needs cell "rnn", got "${cell}"`);
    }
    const seed = config.seed ?? DEFAULT_SEED;
    this.K = config.classes;
    this.inputSize = config.inputSize;
    this.maxLength = config.maxLength ?? DEFAULT_MAX_LENGTH;
    this.layer = new RecurrentLayer({
      cell,
      inputSize: config.inputSize + config.classes,
      hiddenSize: config.hiddenSize,
      seed: layerSeed(seed, 0),
    });
    if (!this.hiddenRecurrence) {
      // W ≡ 0, a constant: a(t) = b + U [x(t); y(t−1)] — recurrence only through the output.
      tf.tidy(() => this.layer.params.W.assign(tf.zerosLike(this.layer.params.W)));
      this.layer.params.W.trainable = false;
    }
    this.head = new OutputHead({ classes: config.classes }, config.hiddenSize, partSeed(seed, "head"), where);
    const own = prefixed("layer", this.layer.params);
    if (!this.hiddenRecurrence) delete own["layer.W"]; // not trained: stays 0
    this.variables = { ...own, ...prefixed("head", this.head.variables) };
    this.rng = new Rng(partSeed(seed, "teacherForcing"));
  }

  /**
   * o(t) for every t, [B, T, K], with teacher-forcing ratio r.
   * @param yPrev the tokens fed back when teacher forcing, aligned with the targets, [B, T]:
   *   step t is fed yPrev[:, t−1] (the first step is fed 0)
   */
  run(x: Tensor3D, yPrev: Tensor2D, r: number, options: { mask?: Tensor2D; rng?: Rng } = {}): Tensor3D {
    checkNotDisposed("TeacherForcingRnn.run", this);
    checkFinite("TeacherForcingRnn.run", "x", x);
    return tidyChecked("TeacherForcingRnn.run", () => {
      const [B, T] = x.shape;
      const K = this.K;
      const prevOneHot = (ids: Tensor1D) => tf.oneHot(tf.cast(ids, "int32"), K).toFloat() as Tensor2D; // [B, K]
      if (r >= 1) {
        // step t is fed y(t−1): zeros at the first step, then yPrev shifted right by one, [B, T, K]
        const shifted = tf.concat(
          [tf.zeros([B, 1, K]), tf.slice(tf.oneHot(tf.cast(yPrev, "int32"), K).toFloat(), [0, 0, 0], [B, T - 1, K])],
          1,
        );
        const u = tf.concat([x, shifted], 2) as Tensor3D; // [B, T, I + K]: [x(t); y(t−1)]
        const h = this.layer.run(u, { mask: options.mask }).outputs; // [B, T, H]
        return tf.reshape(this.head.apply(flattenTime<Tensor2D>(h)), [B, T, K]) as Tensor3D;
      }
      const rng = options.rng ?? this.rng;
      let state: AnyState = this.layer.zeroState(B);
      let prev = tf.zeros([B, K]) as Tensor2D; // y(0) = 0
      const outs: Tensor2D[] = [];
      for (let t = 0; t < T; t++) {
        const xt = tf.reshape(tf.slice(x, [0, t, 0], [B, 1, this.inputSize]), [B, this.inputSize]) as Tensor2D; // [B, I]
        const next = this.layer.step(tf.concat([xt, prev], 1) as Tensor2D, state); // [B, H]
        if (options.mask) {
          const m = tf.slice(options.mask, [0, t], [B, 1]); // [B, 1]: carry the state over padding, as unroll does
          for (const key of this.layer.stateKeys) next[key] = tf.add(tf.mul(m, next[key]), tf.mul(tf.sub(1, m), state[key])) as Tensor2D;
        }
        state = next;
        const o = this.head.apply(state.h); // [B, K]
        outs.push(o);
        const useTruth = rng.next() < r;
        prev = useTruth
          ? prevOneHot(tf.reshape(tf.slice(yPrev, [0, t], [B, 1]), [B]) as Tensor1D) // the true y(t)
          : prevOneHot(tf.argMax(o, 1) as Tensor1D); // its own ŷ(t)
      }
      return tf.stack(outs, 1) as Tensor3D; // [B, T, K]
    });
  }

  /**
   * The mean cross-entropy of y given x. `batch.yIn` (optional, [B, T], aligned with `batch.y`:
   * step t is fed yIn[:, t−1]) replaces `batch.y` as the tokens fed back under teacher forcing
   * (e.g. to feed a model's own predictions).
   */
  forward(batch: Batch, options: ForwardOptions): ForwardResult {
    const r = options.teacherForcingRatio ?? (options.training ? 1 : 0);
    if (!(r >= 0 && r <= 1)) throw new Error(`TeacherForcingRnn: teacherForcingRatio must be in [0, 1], got ${r}`);
    checkNotDisposed("TeacherForcingRnn.forward", this);
    return tidyChecked("TeacherForcingRnn.forward", () => {
      const x = batch.x as Tensor3D;
      checkSequence("TeacherForcingRnn", "batch.x", x, ["B", "T", "I"], this.maxLength);
      const [B, T, I] = x.shape;
      if (I !== this.inputSize)
        throw new ShapeError(
          `TeacherForcingRnn: batch.x must have shape [B, T, I] with I = ${this.inputSize}, got [${x.shape.join(", ")}]`,
          "batch.x",
          [B, T, this.inputSize],
          [...x.shape],
        );
      checkFinite("TeacherForcingRnn", "batch.x", x);
      this.head.checkTargets("batch.y", batch.y, [B, T], ["B", "T"]);
      const fed = (batch.yIn ?? batch.y) as Tensor2D;
      if (batch.yIn) {
        if (fed.rank !== 2 || fed.shape[0] !== B || fed.shape[1] !== T)
          throw new ShapeError(
            `TeacherForcingRnn: batch.yIn must have shape [B, T] = [${B}, ${T}], got [${fed.shape.join(", ")}]`,
            "batch.yIn",
            [B, T],
            [...fed.shape],
          );
        checkTokenIds("TeacherForcingRnn", "batch.yIn", fed, this.K);
      }
      if (batch.mask) checkMask("TeacherForcingRnn", "batch.mask", batch.mask, B, T);
      const o = this.run(x, fed, r, { mask: batch.mask, rng: options.rng }); // [B, T, K]
      const m = batch.mask ? flattenTime<Tensor1D>(batch.mask) : undefined;
      return crossEntropy(flattenTime<Tensor2D>(o), flattenTime<Tensor1D>(batch.y as Tensor), m);
    });
  }

  dispose(): void {
    this.layer.dispose();
    this.head.dispose();
  }
}
