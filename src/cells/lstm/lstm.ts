/**
 * The LSTM cell in the lecture's (Graves') form, with peepholes.
 *
 * ```
 * a_ι(t) = Σ_i w_iι x_i(t) + Σ_h w_hι b_h(t−1) + Σ_c w_cι s_c(t−1)      b_ι(t) = f(a_ι(t))   input gate
 * a_φ(t) = Σ_i w_iφ x_i(t) + Σ_h w_hφ b_h(t−1) + Σ_c w_cφ s_c(t−1)      b_φ(t) = f(a_φ(t))   forget gate
 * a_c(t) = Σ_i w_ic x_i(t) + Σ_h w_hc b_h(t−1)
 * s_c(t) = b_φ(t) s_c(t−1) + b_ι(t) g(a_c(t))                                                  cell state
 * a_ω(t) = Σ_i w_iω x_i(t) + Σ_h w_hω b_h(t−1) + Σ_c w_cω s_c(t)        b_ω(t) = f(a_ω(t))   output gate
 * b_c(t) = b_ω(t) h(s_c(t))                                                                     cell output
 * ```
 * f = sigmoid; g, h = tanh.
 *
 * Explained in notebooks/05-lstm.ipynb.
 */
import { DEFAULT_SEED } from "../../seeds";
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D } from "@tensorflow/tfjs";
import { lstmRef } from "./reference";
import { lstmFused } from "./fused";
import type { Cell, HiddenState, StepGradients } from "../cell";
import { checkCellConfig, checkRank, checkShape, checkStep } from "../checks";
import { Rng, tidy, uniformTensor, type CellConfig } from "../../init";

/**
 * The LSTM's parameters. The four gates are stacked in PyTorch's order
 * (i = ι input, f = φ forget, g = cell input, o = ω output), so `U`, `W`, `b` are
 * PyTorch's `weight_ih_l0`, `weight_hh_l0`, `b_ih + b_hh`, and tfjs/Keras's `kernel`,
 * `recurrentKernel`, `bias` transposed (Keras's order i, f, c, o is the same).
 *
 * Peepholes are diagonal: with one cell per block (as everyone uses) the lecture's
 * Σ_c w_cι s_c is one weight per unit, w_cι ⊙ s. Leave `wci`, `wcf`, `wco` out for an
 * LSTM without peepholes (the tfjs/PyTorch/Keras LSTM).
 */
export interface LstmParams {
  /** U = [w_iι; w_iφ; w_ic; w_iω]: input → gates, [4H, I]. */
  U: Tensor2D;
  /** W = [w_hι; w_hφ; w_hc; w_hω]: h(t−1) → gates, [4H, H]. */
  W: Tensor2D;
  /** b: gate biases, [4H] (the slides fold biases into the sums; here they are explicit). */
  b: Tensor1D;
  /** w_cι: peephole s(t−1) → input gate, [H]. */
  wci?: Tensor1D;
  /** w_cφ: peephole s(t−1) → forget gate, [H]. */
  wcf?: Tensor1D;
  /** w_cω: peephole s(t) → output gate, [H]. */
  wco?: Tensor1D;
}

/** The LSTM's state: h(t) (the lecture's b_c(t)) and the cell state s(t) (s_c(t)). */
export interface LstmState extends HiddenState {
  /** s(t): the cell state, [B, H] (PyTorch's c, Keras's c / "carry"). */
  s: Tensor2D;
}

/** One LSTM step's state and gate activations (all [B, H]); the backward step needs them. */
export interface LstmStepOutput extends LstmState {
  /** b_ι(t): input gate. */
  i: Tensor2D;
  /** b_φ(t): forget gate. */
  f: Tensor2D;
  /** g(a_c(t)): cell input. */
  g: Tensor2D;
  /** b_ω(t): output gate. */
  o: Tensor2D;
}

/**
 * One LSTM step (lecture: "LSTM Cell"), in vector form with biases:
 * ```
 * i(t) = σ(U_i x(t) + W_i h(t−1) + w_cι ⊙ s(t−1) + b_i)    input gate  b_ι
 * f(t) = σ(U_f x(t) + W_f h(t−1) + w_cφ ⊙ s(t−1) + b_f)    forget gate b_φ
 * g(t) = tanh(U_g x(t) + W_g h(t−1) + b_g)                 cell input  g(a_c)
 * s(t) = f(t) ⊙ s(t−1) + i(t) ⊙ g(t)                       cell state  s_c
 * o(t) = σ(U_o x(t) + W_o h(t−1) + w_cω ⊙ s(t) + b_o)      output gate b_ω (sees the new s(t))
 * h(t) = o(t) ⊙ tanh(s(t))                                 cell output b_c
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x(t) | [B, I] | input |
 * | h(t−1), h(t) | [B, H] | output (the lecture's b_c) |
 * | s(t−1), s(t) | [B, H] | cell state (the lecture's s_c) |
 * | U, W, b | [4H, I], [4H, H], [4H] | gate weights, stacked i, f, g, o ({@link LstmParams}) |
 * | w_cι, w_cφ, w_cω | [H] | peepholes (absent: no peephole terms) |
 *
 * Differences: tfjs/PyTorch/Keras LSTMs have no peepholes; tfjs's `tf.layers.lstm`
 * defaults `recurrentActivation` to `hardSigmoid` (Keras 2 did too; PyTorch and Keras 3
 * use sigmoid). Without peepholes this step equals `tf.layers.lstm` with
 * `recurrentActivation: "sigmoid"`, `kernel = Uᵀ`, `recurrentKernel = Wᵀ`, `bias = b`, and
 * PyTorch's `nn.LSTM` with `b_ih + b_hh = b` (its c is our s).
 */
export function lstmStep(p: LstmParams, x: Tensor2D, prev: LstmState): LstmStepOutput {
  checkStep("lstmStep", lstmSizes(p, "lstmStep"), x, { h: prev?.h, s: prev?.s });
  return tf.tidy("lstmStep", () => {
    const a = tf.add(tf.add(tf.matMul(x, p.U, false, true), tf.matMul(prev.h, p.W, false, true)), p.b); // [B, 4H]
    const [ai, af, ag, ao] = tf.split(a, 4, 1) as Tensor2D[]; // [B, H] each
    const i = tf.sigmoid(peephole(ai, p.wci, prev.s)) as Tensor2D; // [B, H]
    const f = tf.sigmoid(peephole(af, p.wcf, prev.s)) as Tensor2D; // [B, H]
    const g = tf.tanh(ag) as Tensor2D; // [B, H]
    const s = tf.add(tf.mul(f, prev.s), tf.mul(i, g)) as Tensor2D; // [B, H]
    const o = tf.sigmoid(peephole(ao, p.wco, s)) as Tensor2D; // [B, H]
    const h = tf.mul(o, tf.tanh(s)) as Tensor2D; // [B, H]
    return { i, f, g, s, o, h }; // in the order they are computed (NaN checks report the first)
  });
}

/** a + w_c ⊙ s, or a when the LSTM has no peepholes. */
function peephole(a: Tensor2D, wc: Tensor1D | undefined, s: Tensor2D): Tensor2D {
  return wc ? tf.add(a, tf.mul(wc, s)) : a;
}

/**
 * The hand-derived backward of {@link lstmStep}. Given ∇_h(t) L and ∇_s(t) L (what flows
 * back from t+1 through s(t+1) and its peepholes), with σ' = σ(1 − σ), tanh' = 1 − tanh²:
 * ```
 * ∇_a_o L     = ∇_h L ⊙ tanh(s) ⊙ o ⊙ (1 − o)
 * ε_s         = ∇_s L + ∇_h L ⊙ o ⊙ (1 − tanh²(s)) + w_cω ⊙ ∇_a_o L       (all paths into s(t))
 * ∇_a_i L     = ε_s ⊙ g ⊙ i ⊙ (1 − i)
 * ∇_a_f L     = ε_s ⊙ s(t−1) ⊙ f ⊙ (1 − f)
 * ∇_a_g L     = ε_s ⊙ i ⊙ (1 − g²)
 * ∇_s(t−1) L  = ε_s ⊙ f + w_cι ⊙ ∇_a_i L + w_cφ ⊙ ∇_a_f L
 * ∇_h(t−1) L  = Wᵀ ∇_a L,   ∇_x(t) L = Uᵀ ∇_a L      with ∇_a L = [∇_a_i; ∇_a_f; ∇_a_g; ∇_a_o]
 * ∇_U L += ∇_a L x(t)ᵀ,  ∇_W L += ∇_a L h(t−1)ᵀ,  ∇_b L += ∇_a L
 * ∇_w_cι L += ∇_a_i L ⊙ s(t−1),  ∇_w_cφ L += ∇_a_f L ⊙ s(t−1),  ∇_w_cω L += ∇_a_o L ⊙ s(t)
 * ```
 * (sums over the batch). This is Graves' (2012, §4.6) derivation with ε_s his ∂L/∂s_c.
 */
export function lstmStepBackward(
  p: LstmParams,
  x: Tensor2D,
  prev: LstmState,
  out: LstmStepOutput,
  dState: LstmState,
): StepGradients<LstmParams, LstmState> {
  const sizes = lstmSizes(p, "lstmStepBackward");
  checkStep("lstmStepBackward", sizes, x, { h: prev?.h, s: prev?.s, "dState.h": dState?.h, "dState.s": dState?.s });
  return tidy("lstmStepBackward", () => {
    const { i, f, g, o, s } = out;
    const tanhS = tf.tanh(s); // [B, H]
    const dao = tf.mul(tf.mul(dState.h, tanhS), tf.mul(o, tf.sub(1, o))); // [B, H]
    let es = tf.add(dState.s, tf.mul(tf.mul(dState.h, o), tf.sub(1, tf.square(tanhS)))); // [B, H]
    if (p.wco) es = tf.add(es, tf.mul(p.wco, dao));
    const dai = tf.mul(tf.mul(es, g), tf.mul(i, tf.sub(1, i))); // [B, H]
    const daf = tf.mul(tf.mul(es, prev.s), tf.mul(f, tf.sub(1, f))); // [B, H]
    const dag = tf.mul(tf.mul(es, i), tf.sub(1, tf.square(g))); // [B, H]
    let dsPrev = tf.mul(es, f); // [B, H]
    if (p.wci) dsPrev = tf.add(dsPrev, tf.mul(p.wci, dai));
    if (p.wcf) dsPrev = tf.add(dsPrev, tf.mul(p.wcf, daf));
    const da = tf.concat([dai, daf, dag, dao], 1) as Tensor2D; // [B, 4H]
    const dParams: LstmParams = {
      U: tf.matMul(da, x, true, false), // [4H, I]
      W: tf.matMul(da, prev.h, true, false), // [4H, H]
      b: tf.sum(da, 0) as Tensor1D, // [4H]
    };
    if (p.wci) dParams.wci = tf.sum(tf.mul(dai, prev.s), 0) as Tensor1D; // [H]
    if (p.wcf) dParams.wcf = tf.sum(tf.mul(daf, prev.s), 0) as Tensor1D; // [H]
    if (p.wco) dParams.wco = tf.sum(tf.mul(dao, s), 0) as Tensor1D; // [H]
    return {
      dPrev: { h: tf.matMul(da, p.W) as Tensor2D, s: dsPrev as Tensor2D }, // [B, H]
      dx: tf.matMul(da, p.U) as Tensor2D, // [B, I]
      dParams,
    };
  });
}

/** Checks the shapes of the LSTM's parameters; returns I and H. */
export function lstmSizes(p: LstmParams, where = "lstm"): { I: number; H: number } {
  checkRank(where, "W", p.W.shape, ["4H", "H"]);
  checkRank(where, "U", p.U.shape, ["4H", "I"]);
  const H = p.W.shape[1];
  const I = p.U.shape[1];
  checkShape(where, "W", p.W.shape, [
    ["4H", 4 * H],
    ["H", H],
  ]);
  checkShape(where, "U", p.U.shape, [
    ["4H", 4 * H],
    ["I", I],
  ]);
  checkShape(where, "b", p.b.shape, [["4H", 4 * H]]);
  for (const name of ["wci", "wcf", "wco"] as const) {
    const w = p[name];
    if (w) checkShape(where, name, w.shape, [["H", H]]);
  }
  const present = [p.wci, p.wcf, p.wco].filter((w) => w !== undefined).length;
  if (present !== 0 && present !== 3) {
    throw new Error(`${where}: give all three peepholes wci, wcf, wco or none (got ${present})`);
  }
  return { I, H };
}

/**
 * The LSTM as a {@link Cell}: state {h, s}; step {@link lstmStep}; backward
 * {@link lstmStepBackward}. Peepholes are used when the parameters have them.
 */
export const lstmCell: Cell<LstmParams, LstmState, LstmStepOutput> = {
  name: "lstm",
  stateKeys: ["h", "s"],
  sizes: (p) => lstmSizes(p),
  step: lstmStep,
  backward: lstmStepBackward,
  init: initLstm,
  reference: lstmRef,
  fused: lstmFused,
};

/** How to initialise an LSTM. */
export interface LstmConfig extends CellConfig {
  /** Peephole weights w_cι, w_cφ, w_cω (the lecture's LSTM); default true. */
  peepholes?: boolean;
}

/**
 * Fresh LSTM parameters: every entry uniform in [−1/√H, 1/√H) from a seeded stream
 * (PyTorch's default; Keras/tfjs use Glorot-uniform U, orthogonal W, zero b with the
 * forget-gate bias at 1).
 */
export function initLstm(config: LstmConfig): LstmParams {
  checkCellConfig("initLstm", config, 4);
  const { inputSize: I, hiddenSize: H } = config;
  const rng = new Rng(config.seed ?? DEFAULT_SEED);
  const k = 1 / Math.sqrt(H);
  const p: LstmParams = {
    U: uniformTensor<tf.Rank.R2>([4 * H, I], k, rng),
    W: uniformTensor<tf.Rank.R2>([4 * H, H], k, rng),
    b: uniformTensor<tf.Rank.R1>([4 * H], k, rng),
  };
  if (config.peepholes ?? true) {
    p.wci = uniformTensor<tf.Rank.R1>([H], k, rng);
    p.wcf = uniformTensor<tf.Rank.R1>([H], k, rng);
    p.wco = uniformTensor<tf.Rank.R1>([H], k, rng);
  }
  return p;
}
