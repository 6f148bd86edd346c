/**
 * The GRU as the lecture writes it (Cho et al. 2014; the lecture's "GRU" slide):
 *
 * ```
 * z_t = σ(W_z · [h_{t−1}, x_t])
 * r_t = σ(W_r · [h_{t−1}, x_t])
 * h̃_t = tanh(W · [r_t ∗ h_{t−1}, x_t])
 * h_t = (1 − z_t) ∗ h_{t−1} + z_t ∗ h̃_t
 * ```
 * The reset gate acts *before* the matmul, and z is the weight of the *new* candidate.
 * PyTorch/Keras do both the other way round: see src/cells/gru-pytorch/gru-pytorch.ts.
 *
 * Explained in notebooks/06-gru.ipynb.
 */
import { DEFAULT_SEED } from "../../seeds";
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D } from "@tensorflow/tfjs";
import { gruRef } from "./reference";
import { gruFused } from "./fused";
import type { Cell, HiddenState, StepGradients } from "../cell";
import { checkCellConfig, checkRank, checkShape, checkStep } from "../checks";
import { Rng, uniformTensor, type CellConfig } from "../../init";

/**
 * The lecture GRU's parameters. The slide's W_z · [h, x] is split into its h and x
 * columns, W_z h + U_z x, and the three blocks are stacked in PyTorch's order
 * (r reset, z update, n candidate h̃).
 */
export interface GruParams {
  /** U = [U_r; U_z; U_n]: input → gates, [3H, I]. */
  U: Tensor2D;
  /** W = [W_r; W_z; W_n]: h(t−1) (for n: r ⊙ h(t−1)) → gates, [3H, H]. */
  W: Tensor2D;
  /** b = [b_r; b_z; b_n]: biases, [3H] (the slide folds them into W·[h, x]). */
  b: Tensor1D;
}

/** One GRU step's new h and gate activations (all [B, H]); the backward step needs them. */
export interface GruStepOutput extends HiddenState {
  /** r(t): reset gate. */
  r: Tensor2D;
  /** z(t): update gate. */
  z: Tensor2D;
  /** n(t) = h̃(t): candidate state. */
  n: Tensor2D;
}

/**
 * One GRU step, the lecture's convention ("lecture"), in vector form with biases:
 * ```
 * r(t) = σ(U_r x(t) + W_r h(t−1) + b_r)
 * z(t) = σ(U_z x(t) + W_z h(t−1) + b_z)
 * h̃(t) = tanh(U_n x(t) + W_n (r(t) ⊙ h(t−1)) + b_n)       reset before the matmul
 * h(t) = (1 − z(t)) ⊙ h(t−1) + z(t) ⊙ h̃(t)                z weighs the new candidate
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x(t) | [B, I] | input |
 * | h(t−1), h(t) | [B, H] | state |
 * | U, W, b | [3H, I], [3H, H], [3H] | stacked r, z, n ({@link GruParams}) |
 *
 * Differences: PyTorch `nn.GRU` and Keras `GRU(reset_after=True)` compute
 * h = (1 − z) ⊙ h̃ + z ⊙ h(t−1) (z flipped) and r ⊙ (W_n h(t−1) + b_hn) (reset after the
 * matmul, with a separate recurrent bias): that is {@link gruPytorchStep}. tfjs's
 * `tf.layers.gru` flips z but resets before the matmul (Keras's old reset_after=False;
 * tfjs cannot reset after), stacks its gates z, r, h, and defaults `recurrentActivation`
 * to `hardSigmoid`, so it matches neither convention exactly.
 */
export function gruStep(p: GruParams, x: Tensor2D, prev: HiddenState): GruStepOutput {
  const hPrev = prev.h; // [B, H]
  checkStep("gruStep", gruSizes(p, "gruStep"), x, { h: prev?.h });
  return tf.tidy("gruStep", () => {
    const [xr, xz, xn] = tf.split(tf.add(tf.matMul(x, p.U, false, true), p.b), 3, 1) as Tensor2D[]; // [B, H] each
    const [Wr, Wz, Wn] = tf.split(p.W, 3, 0) as Tensor2D[]; // [H, H] each
    const r = tf.sigmoid(tf.add(xr, tf.matMul(hPrev, Wr, false, true))) as Tensor2D; // [B, H]
    const z = tf.sigmoid(tf.add(xz, tf.matMul(hPrev, Wz, false, true))) as Tensor2D; // [B, H]
    const n = tf.tanh(tf.add(xn, tf.matMul(tf.mul(r, hPrev), Wn, false, true))) as Tensor2D; // [B, H]
    const h = tf.add(tf.mul(tf.sub(1, z), hPrev), tf.mul(z, n)) as Tensor2D; // [B, H]
    return { r, z, n, h }; // in the order they are computed (NaN checks report the first)
  });
}

/**
 * The hand-derived backward of {@link gruStep}: given ∇_h(t) L,
 * ```
 * ∇_z L = ∇_h L ⊙ (h̃ − h(t−1)),   ∇_a_n L = ∇_h L ⊙ z ⊙ (1 − h̃²)
 * ∇_(r⊙h) L = W_nᵀ ∇_a_n L,       ∇_a_r L = ∇_(r⊙h) L ⊙ h(t−1) ⊙ r ⊙ (1 − r),   ∇_a_z L = ∇_z L ⊙ z ⊙ (1 − z)
 * ∇_h(t−1) L = ∇_h L ⊙ (1 − z) + ∇_(r⊙h) L ⊙ r + W_rᵀ ∇_a_r L + W_zᵀ ∇_a_z L
 * ∇_x(t) L = Uᵀ ∇_a L,   ∇_U L += ∇_a L x(t)ᵀ,   ∇_b L += ∇_a L       with ∇_a L = [∇_a_r; ∇_a_z; ∇_a_n]
 * ∇_W L += [∇_a_r L h(t−1)ᵀ; ∇_a_z L h(t−1)ᵀ; ∇_a_n L (r ⊙ h(t−1))ᵀ]
 * ```
 */
export function gruStepBackward(
  p: GruParams,
  x: Tensor2D,
  prev: HiddenState,
  out: GruStepOutput,
  dState: HiddenState,
): StepGradients<GruParams, HiddenState> {
  checkStep("gruStepBackward", gruSizes(p, "gruStepBackward"), x, { h: prev?.h, "dState.h": dState?.h });
  const [hPrev, dh] = [prev.h, dState.h]; // [B, H] each
  return tf.tidy("gruStepBackward", () => {
    const { r, z, n } = out;
    const [Wr, Wz, Wn] = tf.split(p.W, 3, 0) as Tensor2D[]; // [H, H] each
    const dz = tf.mul(dh, tf.sub(n, hPrev)); // [B, H]
    const dan = tf.mul(tf.mul(dh, z), tf.sub(1, tf.square(n))) as Tensor2D; // [B, H]
    const drh = tf.matMul(dan, Wn); // [B, H]   ∂L/∂(r ⊙ h(t−1))
    const dar = tf.mul(tf.mul(drh, hPrev), tf.mul(r, tf.sub(1, r))) as Tensor2D; // [B, H]
    const daz = tf.mul(dz, tf.mul(z, tf.sub(1, z))) as Tensor2D; // [B, H]
    const dhPrev = tf.addN([tf.mul(dh, tf.sub(1, z)), tf.mul(drh, r), tf.matMul(dar, Wr), tf.matMul(daz, Wz)]); // [B, H]
    const da = tf.concat([dar, daz, dan], 1) as Tensor2D; // [B, 3H]
    const dW = tf.concat(
      [tf.matMul(dar, hPrev, true, false), tf.matMul(daz, hPrev, true, false), tf.matMul(dan, tf.mul(r, hPrev), true, false)],
      0,
    ) as Tensor2D; // [3H, H]
    return {
      dPrev: { h: dhPrev as Tensor2D },
      dx: tf.matMul(da, p.U) as Tensor2D, // [B, I]
      dParams: { U: tf.matMul(da, x, true, false) as Tensor2D, W: dW, b: tf.sum(da, 0) as Tensor1D },
    };
  });
}

/** Checks the shapes of a GRU's U, W, b; returns I and H. */
export function gruSizes(p: GruParams, where = "gru"): { I: number; H: number } {
  checkRank(where, "W", p.W.shape, ["3H", "H"]);
  checkRank(where, "U", p.U.shape, ["3H", "I"]);
  const H = p.W.shape[1];
  const I = p.U.shape[1];
  checkShape(where, "W", p.W.shape, [
    ["3H", 3 * H],
    ["H", H],
  ]);
  checkShape(where, "U", p.U.shape, [
    ["3H", 3 * H],
    ["I", I],
  ]);
  checkShape(where, "b", p.b.shape, [["3H", 3 * H]]);
  return { I, H };
}

/**
 * The lecture's GRU as a {@link Cell}: state {h}; step {@link gruStep}; backward
 * {@link gruStepBackward}. For PyTorch's convention use `gruPytorchCell` (`cell: "gru-pytorch"`).
 */
export const gruCell: Cell<GruParams, HiddenState, GruStepOutput> = {
  name: "gru",
  stateKeys: ["h"],
  sizes: (p) => gruSizes(p),
  step: gruStep,
  backward: gruStepBackward,
  init: initGru,
  reference: gruRef,
  fused: gruFused,
};

/**
 * Fresh lecture-GRU parameters: every entry uniform in [−1/√H, 1/√H) from a seeded stream
 * (PyTorch's default).
 */
export function initGru(config: CellConfig): GruParams {
  checkCellConfig("initGru", config, 3);
  const { inputSize: I, hiddenSize: H } = config;
  const rng = new Rng(config.seed ?? DEFAULT_SEED);
  const k = 1 / Math.sqrt(H);
  return {
    U: uniformTensor<tf.Rank.R2>([3 * H, I], k, rng),
    W: uniformTensor<tf.Rank.R2>([3 * H, H], k, rng),
    b: uniformTensor<tf.Rank.R1>([3 * H], k, rng),
  };
}
