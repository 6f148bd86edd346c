/**
 * The lecture's output layer and loss, applied at every timestep:
 *
 * ```
 * o(t) = c + V h(t)
 * ŷ(t) = softmax(o(t))
 * L = Σ_t L(t) = −Σ_t log p_model(y(t) | x(1), …, x(t)) = −Σ_t log ŷ_{y(t)}(t)
 * ```
 *
 * Explained in notebooks/02-the-vanilla-rnn.ipynb.
 */
import { DEFAULT_SEED } from "../seeds";
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import { checkClassIds, checkMaskValues, checkRank, checkShape, checkSize } from "./checks";
import { Rng, uniformTensor } from "../init";

/** The readout's parameters (the lecture's V and c). */
export interface ReadoutParams {
  /** V: hidden → output, [K, H] (PyTorch `nn.Linear(H, K).weight`; Keras `Dense` stores Vᵀ). */
  V: Tensor2D;
  /** c: output bias, [K]. */
  c: Tensor1D;
}

/** Checks the readout's shapes against H; returns K. */
export function readoutSizes(p: ReadoutParams, H: number, where = "readout"): { K: number } {
  checkRank(where, "V", p.V.shape, ["K", "H"]);
  const K = p.V.shape[0];
  checkShape(where, "V", p.V.shape, [
    ["K", K],
    ["H", H],
  ]);
  checkShape(where, "c", p.c.shape, [["K", K]]);
  return { K };
}

/**
 * The logits at every timestep, o(t) = c + V h(t) (lecture: "Recurrent Networks").
 *
 * | symbol | shape | meaning |
 * |---|---|---|
 * | h | [B, T, H] | hidden states, e.g. `unroll(…).outputs` |
 * | V, c | [K, H], [K] | {@link ReadoutParams} |
 * | o | [B, T, K] | logits; ŷ(t) = softmax(o(t)) |
 *
 * Same as a time-distributed `tf.layers.dense({units: K})` with `kernel = Vᵀ`, `bias = c`.
 */
export function readout(p: ReadoutParams, h: Tensor3D): Tensor3D {
  return tf.tidy("readout", () => {
    checkRank("readout", "h", h.shape, ["B", "T", "H"]);
    const [B, T, H] = h.shape;
    const { K } = readoutSizes(p, H);
    const o = tf.add(tf.matMul(tf.reshape(h, [B * T, H]), p.V, false, true), p.c); // [B·T, K]
    return tf.reshape(o, [B, T, K]) as Tensor3D;
  });
}

/** Checks labels y [B, T] and an optional mask [B, T] against logits [B, T, K]. */
function checkTargets(where: string, o: Tensor3D, y: Tensor2D, mask?: Tensor2D): void {
  checkRank(where, "o", o.shape, ["B", "T", "K"]);
  const [B, T] = o.shape;
  checkShape(where, "y", y.shape, [
    ["B", B],
    ["T", T],
  ]);
  if (mask)
    checkShape(where, "mask", mask.shape, [
      ["B", B],
      ["T", T],
    ]);
  checkClassIds(where, "y", y, o.shape[2], "o");
  if (mask) checkMaskValues(where, "mask", mask);
}

/**
 * The lecture's loss, L = Σ_t L(t) = −Σ_t log ŷ_{y(t)}(t), summed over the batch too.
 *
 * | symbol | shape | meaning |
 * |---|---|---|
 * | o | [B, T, K] | logits from {@link readout} |
 * | y | [B, T] | class of each step, integers in [0, K) |
 * | mask | [B, T] | optional: 1 for real steps, 0 for padding (padding adds no loss) |
 *
 * A sum, not a mean, so that ∇_o(t) L = ŷ(t) − 1_{y(t)} exactly as on the slide.
 * PyTorch's `CrossEntropyLoss` and tfjs's `tf.losses.softmaxCrossEntropy` average by
 * default (`reduction="sum"` / `Reduction.SUM` give this).
 */
export function sequenceLoss(o: Tensor3D, y: Tensor2D, mask?: Tensor2D): Scalar {
  return tf.tidy("sequenceLoss", () => {
    checkTargets("sequenceLoss", o, y, mask);
    const K = o.shape[2];
    const logYhat = tf.logSoftmax(o); // [B, T, K]
    const picked = tf.sum(tf.mul(logYhat, tf.oneHot(tf.cast(y, "int32"), K)), 2); // [B, T]
    const masked = mask ? tf.mul(picked, mask) : picked; // [B, T]
    return tf.neg(tf.sum(masked)) as Scalar;
  });
}

/**
 * The hand-derived backward of {@link readout} + {@link sequenceLoss} (lecture: "Back
 * Propagation in RNNs"):
 * ```
 * (∇_o(t) L)_i = ŷ_i(t) − 1_{i, y(t)}        (times the mask)
 * ∇_V L = Σ_t ∇_o(t) L h(t)ᵀ,   ∇_c L = Σ_t ∇_o(t) L
 * ∇_h(t) L (from the readout) = Vᵀ ∇_o(t) L   — the lecture's ∇_h(τ) L = Vᵀ ∇_o(τ) L at the last step
 * ```
 * Returns ∂L/∂h [B, T, H] for {@link backwardThroughTime}, and ∂L/∂V, ∂L/∂c.
 */
export function readoutBackward(
  p: ReadoutParams,
  h: Tensor3D,
  o: Tensor3D,
  y: Tensor2D,
  mask?: Tensor2D,
): { dh: Tensor3D; dV: Tensor2D; dc: Tensor1D } {
  return tf.tidy("readoutBackward", () => {
    checkTargets("readoutBackward", o, y, mask);
    const [B, T, K] = o.shape;
    const H = h.shape[2];
    checkShape("readoutBackward", "h", h.shape, [
      ["B", B],
      ["T", T],
      ["H", H],
    ]);
    let dO = tf.sub(tf.softmax(o), tf.oneHot(tf.cast(y, "int32"), K)); // [B, T, K]  ŷ − 1_y
    if (mask) dO = tf.mul(dO, tf.expandDims(mask, 2));
    const dO2 = tf.reshape(dO, [B * T, K]) as Tensor2D; // [B·T, K]
    const h2 = tf.reshape(h, [B * T, H]) as Tensor2D; // [B·T, H]
    return {
      dh: tf.reshape(tf.matMul(dO2, p.V), [B, T, H]) as Tensor3D, // Vᵀ ∇_o L
      dV: tf.matMul(dO2, h2, true, false) as Tensor2D, // [K, H]
      dc: tf.sum(dO2, 0) as Tensor1D, // [K]
    };
  });
}

/** How to initialise a readout. */
export interface ReadoutConfig {
  /** H: the size of h(t). */
  hiddenSize: number;
  /** K: the number of classes. */
  classes: number;
  /** Seed; default 0. Same seed → same weights on every backend. */
  seed?: number;
}

/** Fresh readout parameters, uniform in [−1/√H, 1/√H) (PyTorch's `nn.Linear` default). */
export function initReadout(config: ReadoutConfig): ReadoutParams {
  checkSize("initReadout", "hiddenSize", config?.hiddenSize, "H, the size of h(t)");
  checkSize("initReadout", "classes", config?.classes, "K, the number of classes");
  const rng = new Rng(config.seed ?? DEFAULT_SEED);
  const k = 1 / Math.sqrt(config.hiddenSize);
  return {
    V: uniformTensor<tf.Rank.R2>([config.classes, config.hiddenSize], k, rng),
    c: uniformTensor<tf.Rank.R1>([config.classes], k, rng),
  };
}
