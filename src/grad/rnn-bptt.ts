/**
 * The lecture's vanilla RNN and its BPTT with the lecture's names: parameters U, V, W, b, c.
 *
 * Explained in notebooks/03-backprop-through-time-by-hand.ipynb.
 */
import type { Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import { rnnCell, type RnnParams } from "../cells/rnn/rnn";
import type { ReadoutParams } from "../cells/readout";
import { handGradients, type ModelOptions } from "./gradients";
import type { HiddenState } from "../cells/cell";

/** All five parameters of the lecture's RNN. */
export interface RnnLectureParams extends RnnParams, ReadoutParams {}

/** What {@link rnnBptt} returns; dispose the tensors with `disposeAll(result)`. */
export interface RnnBpttResult {
  /** L = −Σ_t log ŷ_{y(t)}(t), summed over the batch. */
  loss: number;
  /** ∇_U L, ∇_V L, ∇_W L, ∇_b L, ∇_c L. */
  grads: { U: Tensor2D; V: Tensor2D; W: Tensor2D; b: Tensor1D; c: Tensor1D };
  /** ‖∇_h(t) L‖ for t = 1 … T (index 0 … T−1): what vanishes or explodes. */
  dhNorms: number[];
  /** ∇_x L, [B, T, I]. */
  dx: Tensor3D;
  /** ∇_h(0) L, [B, H]. */
  dh0: Tensor2D;
}

/**
 * The lecture's RNN forward and its back-propagation through time ("Back Propagation in
 * RNNs"):
 * ```
 * a(t) = b + W h(t−1) + U x(t),  h(t) = tanh(a(t)),  o(t) = c + V h(t),  ŷ(t) = softmax(o(t))
 * L = Σ_t L(t) = −Σ_t log p_model(y(t) | x(1), …, x(t))
 * (∇_o(t) L)_i = ŷ_i(t) − 1_{i, y(t)}
 * ∇_h(τ) L = Vᵀ ∇_o(τ) L
 * ∇_h(t) L = Wᵀ diag(1 − h(t+1)²) ∇_h(t+1) L + Vᵀ ∇_o(t) L
 * ∇_c L = Σ_t ∇_o(t) L,               ∇_V L = Σ_t ∇_o(t) L h(t)ᵀ
 * ∇_b L = Σ_t diag(1 − h(t)²) ∇_h(t) L,  ∇_W L = Σ_t diag(1 − h(t)²) ∇_h(t) L h(t−1)ᵀ
 * ∇_U L = Σ_t diag(1 − h(t)²) ∇_h(t) L x(t)ᵀ
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x | [B, T, I] | inputs (T is the slides' τ) |
 * | y | [B, T] | targets, classes in [0, K) |
 * | U, W, b | [H, I], [H, H], [H] | recurrent cell |
 * | V, c | [K, H], [K] | output layer |
 *
 * Sums over the batch as well as over t (PyTorch/tfjs losses average by default).
 * `options` are those of `unroll` (h0 as `initialState: {h: h0}`, mask, reverse).
 */
export function rnnBptt(
  params: RnnLectureParams,
  x: Tensor3D,
  y: Tensor2D,
  options: ModelOptions<HiddenState> & { checkFinite?: boolean } = {},
): RnnBpttResult {
  const { U, W, b, V, c } = params;
  const r = handGradients(rnnCell, { U, W, b }, { V, c }, x, y, options);
  return {
    loss: r.loss,
    grads: { U: r.grads.U, V: r.readoutGrads.V, W: r.grads.W, b: r.grads.b, c: r.readoutGrads.c },
    dhNorms: r.dhNorms,
    dx: r.dx,
    dh0: r.dInitial.h,
  };
}
