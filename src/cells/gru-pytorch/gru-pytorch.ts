/**
 * The GRU in PyTorch's convention (also Keras's `GRU(reset_after=True)`, the TF2 default):
 *
 * ```
 * r = σ(W_ir x + b_ir + W_hr h + b_hr)
 * z = σ(W_iz x + b_iz + W_hz h + b_hz)
 * n = tanh(W_in x + b_in + r ∗ (W_hn h + b_hn))
 * h' = (1 − z) ∗ n + z ∗ h
 * ```
 * Two differences from the lecture's GRU (src/cells/gru/gru.ts): z is flipped (it weighs the
 * *old* state), and the reset gate acts *after* the matmul, on W_hn h + b_hn, which is why
 * there is a separate recurrent bias.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D } from "@tensorflow/tfjs";
import { gruPytorchRef } from "./reference";
import { gruPytorchFused } from "./fused";
import type { Cell, HiddenState, StepGradients } from "../cell";
import { checkCellConfig, checkShape, checkStep } from "../checks";
import { gruSizes, initGru, type GruParams, type GruStepOutput } from "../gru/gru";
import { Rng, uniformTensor, type CellConfig } from "../../init";
import { DEFAULT_SEED, gruPytorchBiasSeed } from "../../seeds";

/**
 * PyTorch-convention GRU parameters: U = `weight_ih_l0`, W = `weight_hh_l0`, b = `bias_ih_l0`,
 * bh = `bias_hh_l0`, stacked r, z, n as in PyTorch. (Keras stacks z, r, h and keeps both
 * biases in one [2, 3H] tensor: `bias[0]` = b, `bias[1]` = bh, after reordering.)
 */
export interface GruPytorchParams extends GruParams {
  /** bh = [b_hr; b_hz; b_hn]: recurrent biases, [3H]; b_hn sits inside the reset gate. */
  bh: Tensor1D;
}

/** One PyTorch-convention GRU step's outputs; `hn` = W_hn h(t−1) + b_hn is kept for the backward. */
export interface GruPytorchStepOutput extends GruStepOutput {
  /** W_hn h(t−1) + b_hn: [B, H]. */
  hn: Tensor2D;
}

/**
 * One GRU step, PyTorch's convention ("pytorch"):
 * ```
 * r(t) = σ(U_r x(t) + b_r + W_r h(t−1) + bh_r)
 * z(t) = σ(U_z x(t) + b_z + W_z h(t−1) + bh_z)
 * n(t) = tanh(U_n x(t) + b_n + r(t) ⊙ (W_n h(t−1) + bh_n))     reset after the matmul
 * h(t) = (1 − z(t)) ⊙ n(t) + z(t) ⊙ h(t−1)                     z weighs the old state
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x(t) | [B, I] | input |
 * | h(t−1), h(t) | [B, H] | state |
 * | U, W, b, bh | [3H, I], [3H, H], [3H], [3H] | stacked r, z, n ({@link GruPytorchParams}) |
 *
 * Equals `torch.nn.GRU` (and Keras `GRU(reset_after=True)` after reordering the gates).
 * The lecture's GRU is {@link gruStep}; tfjs's `tf.layers.gru` is neither (see there).
 */
export function gruPytorchStep(p: GruPytorchParams, x: Tensor2D, prev: HiddenState): GruPytorchStepOutput {
  checkStep("gruPytorchStep", gruPytorchSizes(p, "gruPytorchStep"), x, { h: prev?.h });
  const hPrev = prev.h; // [B, H]
  return tf.tidy("gruPytorchStep", () => {
    const [xr, xz, xn] = tf.split(tf.add(tf.matMul(x, p.U, false, true), p.b), 3, 1) as Tensor2D[]; // [B, H] each
    const [hr, hz, hn] = tf.split(tf.add(tf.matMul(hPrev, p.W, false, true), p.bh), 3, 1) as Tensor2D[]; // [B, H] each
    const r = tf.sigmoid(tf.add(xr, hr)) as Tensor2D; // [B, H]
    const z = tf.sigmoid(tf.add(xz, hz)) as Tensor2D; // [B, H]
    const n = tf.tanh(tf.add(xn, tf.mul(r, hn))) as Tensor2D; // [B, H]
    const h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, hPrev)) as Tensor2D; // [B, H]
    return { hn, r, z, n, h }; // in the order they are computed (NaN checks report the first)
  });
}

/**
 * The hand-derived backward of {@link gruPytorchStep}: given ∇_h(t) L,
 * ```
 * ∇_a_n L = ∇_h L ⊙ (1 − z) ⊙ (1 − n²),   ∇_a_z L = ∇_h L ⊙ (h(t−1) − n) ⊙ z ⊙ (1 − z)
 * ∇_a_r L = ∇_a_n L ⊙ (W_n h(t−1) + bh_n) ⊙ r ⊙ (1 − r)
 * ∇_gi L = [∇_a_r; ∇_a_z; ∇_a_n],   ∇_gh L = [∇_a_r; ∇_a_z; ∇_a_n ⊙ r]     (gi = U x + b, gh = W h + bh)
 * ∇_h(t−1) L = ∇_h L ⊙ z + Wᵀ ∇_gh L,   ∇_x(t) L = Uᵀ ∇_gi L
 * ∇_U L += ∇_gi L x(t)ᵀ,  ∇_b L += ∇_gi L,  ∇_W L += ∇_gh L h(t−1)ᵀ,  ∇_bh L += ∇_gh L
 * ```
 */
export function gruPytorchStepBackward(
  p: GruPytorchParams,
  x: Tensor2D,
  prev: HiddenState,
  out: GruPytorchStepOutput,
  dState: HiddenState,
): StepGradients<GruPytorchParams, HiddenState> {
  checkStep("gruPytorchStepBackward", gruPytorchSizes(p, "gruPytorchStepBackward"), x, { h: prev?.h, "dState.h": dState?.h });
  const [hPrev, dh] = [prev.h, dState.h]; // [B, H] each
  return tf.tidy("gruPytorchStepBackward", () => {
    const { r, z, n, hn } = out;
    const dan = tf.mul(tf.mul(dh, tf.sub(1, z)), tf.sub(1, tf.square(n))); // [B, H]
    const daz = tf.mul(tf.mul(dh, tf.sub(hPrev, n)), tf.mul(z, tf.sub(1, z))); // [B, H]
    const dar = tf.mul(tf.mul(dan, hn), tf.mul(r, tf.sub(1, r))); // [B, H]
    const dgi = tf.concat([dar, daz, dan], 1) as Tensor2D; // [B, 3H]
    const dgh = tf.concat([dar, daz, tf.mul(dan, r)], 1) as Tensor2D; // [B, 3H]
    return {
      dPrev: { h: tf.add(tf.mul(dh, z), tf.matMul(dgh, p.W)) as Tensor2D }, // [B, H]
      dx: tf.matMul(dgi, p.U) as Tensor2D, // [B, I]
      dParams: {
        U: tf.matMul(dgi, x, true, false) as Tensor2D, // [3H, I]
        W: tf.matMul(dgh, hPrev, true, false) as Tensor2D, // [3H, H]
        b: tf.sum(dgi, 0) as Tensor1D, // [3H]
        bh: tf.sum(dgh, 0) as Tensor1D, // [3H]
      },
    };
  });
}

/** Checks the shapes of a PyTorch-convention GRU's parameters; returns I and H. */
export function gruPytorchSizes(p: GruPytorchParams, where = "gru-pytorch"): { I: number; H: number } {
  const sizes = gruSizes(p, where);
  checkShape(where, "bh", p.bh.shape, [["3H", 3 * sizes.H]]);
  return sizes;
}

/** The PyTorch-convention GRU as a {@link Cell}: state {h}. */
export const gruPytorchCell: Cell<GruPytorchParams, HiddenState, GruPytorchStepOutput> = {
  name: "gru-pytorch",
  stateKeys: ["h"],
  sizes: (p) => gruPytorchSizes(p),
  step: gruPytorchStep,
  backward: gruPytorchStepBackward,
  init: initGruPytorch,
  reference: gruPytorchRef,
  fused: gruPytorchFused,
};

/**
 * Fresh PyTorch-convention GRU parameters: U, W, b as {@link initGru} (same seed, same
 * values), then bh, every entry uniform in [−1/√H, 1/√H) (PyTorch's default), from its own
 * stream ({@link gruPytorchBiasSeed}: the seed XOR 0x5bd1e995).
 */
export function initGruPytorch(config: CellConfig): GruPytorchParams {
  checkCellConfig("initGruPytorch", config, 3);
  const base = initGru(config);
  const rng = new Rng(gruPytorchBiasSeed(config.seed ?? DEFAULT_SEED));
  return { ...base, bh: uniformTensor<tf.Rank.R1>([3 * config.hiddenSize], 1 / Math.sqrt(config.hiddenSize), rng) };
}
