/**
 * The vanilla (Elman) recurrent cell, exactly as the lecture writes it.
 *
 * ```
 * a(t) = b + W h(t−1) + U x(t)
 * h(t) = tanh(a(t))
 * ```
 * The output layer o(t) = c + V h(t), ŷ(t) = softmax(o(t)) is src/cells/readout.ts.
 *
 * Explained in notebooks/02-the-vanilla-rnn.ipynb and notebooks/03-backprop-through-time-by-hand.ipynb.
 */
import { DEFAULT_SEED } from "../../seeds";
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D } from "@tensorflow/tfjs";
import { rnnRef } from "./reference";
import { rnnFused } from "./fused";
import type { Cell, HiddenState, StepGradients } from "../cell";
import { checkCellConfig, checkRank, checkShape, checkStep } from "../checks";
import { Rng, uniformTensor, type CellConfig } from "../../init";

/**
 * The parameters of the vanilla RNN cell (the lecture's U, W, b; V and c are the readout's).
 *
 * Shapes follow the lecture's column-vector equations, like PyTorch's `weight_ih_l0`
 * [H, I] and `weight_hh_l0` [H, H]; tfjs/Keras store the transposes (`kernel` [I, H],
 * `recurrentKernel` [H, H]). PyTorch has two biases `b_ih + b_hh`; here their sum is b.
 */
export interface RnnParams {
  /** U: input → hidden, [H, I]. */
  U: Tensor2D;
  /** W: hidden → hidden, [H, H]. */
  W: Tensor2D;
  /** b: hidden bias, [H]. */
  b: Tensor1D;
}

/**
 * One step of the vanilla RNN (lecture: "Recurrent Networks"):
 * ```
 * a(t) = b + W h(t−1) + U x(t)
 * h(t) = tanh(a(t))
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x(t) | [B, I] | input at time t (one row per sequence of the batch) |
 * | h(t−1), h(t) | [B, H] | hidden state before and after the step |
 * | U, W, b | [H, I], [H, H], [H] | parameters ({@link RnnParams}) |
 *
 * With a batch, vectors are rows, so `W h` is computed as `h Wᵀ`. Same as PyTorch's
 * `nn.RNNCell(nonlinearity="tanh")` with `b = b_ih + b_hh`, and as tfjs
 * `tf.layers.simpleRNNCell` with `kernel = Uᵀ`, `recurrentKernel = Wᵀ`, `bias = b`.
 */
export function rnnStep(p: RnnParams, x: Tensor2D, prev: HiddenState): HiddenState {
  checkStep("rnnStep", rnnSizes(p, "rnnStep"), x, { h: prev?.h });
  return tf.tidy("rnnStep", () => {
    const a = tf.add(tf.add(p.b, tf.matMul(prev.h, p.W, false, true)), tf.matMul(x, p.U, false, true)); // [B, H]
    return { h: tf.tanh(a) as Tensor2D }; // [B, H]
  });
}

/**
 * The hand-derived backward of {@link rnnStep} (lecture: "Back Propagation in RNNs"):
 * ```
 * ∇_a(t) L   = diag(1 − h(t)²) ∇_h(t) L
 * ∇_h(t−1) L = Wᵀ ∇_a(t) L            (the step's part of the lecture's Wᵀ diag(1 − h(t+1)²) ∇_h(t+1) L)
 * ∇_x(t) L   = Uᵀ ∇_a(t) L
 * ∇_W L += ∇_a(t) L h(t−1)ᵀ,  ∇_U L += ∇_a(t) L x(t)ᵀ,  ∇_b L += ∇_a(t) L   (summed over the batch)
 * ```
 * `dState.h` is the whole of ∇_h(t) L: what flows back from t+1 plus Vᵀ ∇_o(t) L from the
 * readout; {@link backwardThroughTime} adds the two.
 *
 * @param prev the state before the step, {h: h(t−1)}
 * @param out what {@link rnnStep} returned, {h: h(t)}
 * @param dState ∇_h(t) L, {h: [B, H]}
 */
export function rnnStepBackward(
  p: RnnParams,
  x: Tensor2D,
  prev: HiddenState,
  out: HiddenState,
  dState: HiddenState,
): StepGradients<RnnParams, HiddenState> {
  const sizes = rnnSizes(p, "rnnStepBackward");
  checkStep("rnnStepBackward", sizes, x, { h: prev?.h, "out.h": out?.h, "dState.h": dState?.h });
  return tf.tidy("rnnStepBackward", () => {
    const da = tf.mul(dState.h, tf.sub(1, tf.square(out.h))) as Tensor2D; // [B, H]
    return {
      dPrev: { h: tf.matMul(da, p.W) as Tensor2D }, // [B, H]
      dx: tf.matMul(da, p.U) as Tensor2D, // [B, I]
      dParams: {
        U: tf.matMul(da, x, true, false) as Tensor2D, // [H, I]
        W: tf.matMul(da, prev.h, true, false) as Tensor2D, // [H, H]
        b: tf.sum(da, 0) as Tensor1D, // [H]
      },
    };
  });
}

/** Checks the shapes of the RNN's parameters; returns I and H. */
export function rnnSizes(p: RnnParams, where = "rnn"): { I: number; H: number } {
  checkRank(where, "W", p.W.shape, ["H", "H"]);
  checkRank(where, "U", p.U.shape, ["H", "I"]);
  const H = p.W.shape[1];
  const I = p.U.shape[1];
  checkShape(where, "W", p.W.shape, [
    ["H", H],
    ["H", H],
  ]);
  checkShape(where, "U", p.U.shape, [
    ["H", H],
    ["I", I],
  ]);
  checkShape(where, "b", p.b.shape, [["H", H]]);
  return { I, H };
}

/**
 * The vanilla RNN as a {@link Cell}: state {h}; step {@link rnnStep}; backward
 * {@link rnnStepBackward}. Unroll it with `unroll(rnnCell, params, x)`.
 */
export const rnnCell: Cell<RnnParams, HiddenState> = {
  name: "rnn",
  stateKeys: ["h"],
  sizes: (p) => rnnSizes(p),
  step: rnnStep,
  backward: rnnStepBackward,
  init: initRnn,
  reference: rnnRef,
  fused: rnnFused,
};

/**
 * Fresh RNN parameters: every entry uniform in [−1/√H, 1/√H) from a seeded stream
 * (PyTorch's default; tfjs/Keras use Glorot-uniform U, orthogonal W, zero b).
 */
export function initRnn(config: CellConfig): RnnParams {
  checkCellConfig("initRnn", config);
  const { inputSize: I, hiddenSize: H } = config;
  const rng = new Rng(config.seed ?? DEFAULT_SEED);
  const k = 1 / Math.sqrt(H);
  return {
    U: uniformTensor<tf.Rank.R2>([H, I], k, rng),
    W: uniformTensor<tf.Rank.R2>([H, H], k, rng),
    b: uniformTensor<tf.Rank.R1>([H], k, rng),
  };
}
