/**
 * The losses the sequence models report to the trainer: the mean over real predictions
 * (padded steps, mask 0, count for nothing), with how many there were and how many were
 * right.
 *
 * ```
 * cross-entropy:  L = −(1/N) Σ_n m_n log ŷ_{y_n}(n),      ŷ(n) = softmax(o(n))
 * squared error:  L =  (1/N) Σ_n m_n (1/K) Σ_k (o_k(n) − y_k(n))²
 * N = Σ_n m_n  (the real predictions)
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | o | [N, K] | logits (cross-entropy) or predicted values (squared error) |
 * | y | [N] or [N, K] | class ids, or target values |
 * | m | [N] | 1 for a real prediction, 0 for padding (all 1 without a mask) |
 *
 * N is every (sequence, step) pair flattened: B for one prediction per sequence, B·T for one
 * per step. The lecture's L = Σ_t L(t) (src/cells/readout.ts) is N times this mean; the
 * trainer uses the mean, like PyTorch's `CrossEntropyLoss()`/`MSELoss()` defaults with
 * `ignore_index`/masking for padding.
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import { checkClassIds, checkMaskValues, checkRank, checkShape } from "../cells/checks";

/** A loss with its count (and, for classes, the number right). */
export interface LossResult {
  loss: Scalar;
  count: Scalar;
  correct?: Scalar;
}

/**
 * Mean cross-entropy over the real predictions, and how many argmax predictions are right.
 * @param o logits [N, K]; @param y class ids [N]; @param m mask [N] (optional)
 */
export function crossEntropy(o: Tensor2D, y: Tensor1D, m?: Tensor1D): LossResult {
  checkRank("crossEntropy", "o", o.shape, ["N", "K"]);
  const [N, K] = o.shape;
  checkShape("crossEntropy", "y", y.shape, [["N", N]]);
  if (m) checkShape("crossEntropy", "m", m.shape, [["N", N]]);
  checkClassIds("crossEntropy", "y", y, K, "o");
  if (m) checkMaskValues("crossEntropy", "m", m);
  return tf.tidy("crossEntropy", () => {
    const ids = tf.cast(y, "int32") as Tensor1D;
    const logYhat = tf.logSoftmax(o); // [N, K]
    const nll = tf.neg(tf.sum(tf.mul(logYhat, tf.oneHot(ids, K)), 1)); // [N]
    const w = m ?? tf.onesLike(nll); // [N]
    const count = tf.sum(w) as Scalar;
    const loss = tf.div(tf.sum(tf.mul(nll, w)), tf.maximum(count, 1)) as Scalar;
    const right = tf.cast(tf.equal(tf.argMax(o, 1), ids), "float32"); // [N]
    const correct = tf.sum(tf.mul(right, w)) as Scalar;
    return { loss, count, correct };
  }) as LossResult;
}

/**
 * Mean squared error over the real predictions (each averaged over its K components).
 * @param o predictions [N, K]; @param y targets [N, K]; @param m mask [N] (optional)
 */
export function meanSquaredError(o: Tensor2D, y: Tensor2D, m?: Tensor1D): LossResult {
  return tf.tidy("meanSquaredError", () => {
    const se = tf.mean(tf.square(tf.sub(o, y)), 1); // [N]
    const w = m ?? tf.onesLike(se); // [N]
    const count = tf.sum(w) as Scalar;
    const loss = tf.div(tf.sum(tf.mul(se, w)), tf.maximum(count, 1)) as Scalar;
    return { loss, count };
  }) as LossResult;
}

/**
 * v [B, I] → [B, T, I], v at every step. A broadcast add of zeros rather than tf.tile: the
 * same values, and its gradient is one sum over time, where tile's adds up T slices (and
 * tfjs-wasm's Tile kernel is slow).
 */
export function repeatOverTime(v: Tensor2D, T: number): Tensor3D {
  return tf.add(tf.expandDims(v, 1), tf.zeros([1, T, 1])) as Tensor3D;
}

/** [B, T, …] → [B·T, …]: every (sequence, step) pair as one row. */
export function flattenTime<T extends Tensor>(t: Tensor): T {
  const [B, T, ...rest] = t.shape;
  return tf.reshape(t, [B * T, ...rest]) as T;
}
