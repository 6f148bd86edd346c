/**
 * Attention (lecture: "Attention Models"): a query q scores every source position j, the
 * scores become weights that sum to 1, and the context is the weighted sum of the values.
 *
 * ```
 * e_j = score(q, k_j)                          j = 1 … T_in
 * α_j = exp(e_j) / Σ_{j'} exp(e_{j'})          (masked positions: α_j = 0)
 * c   = Σ_j α_j v_j
 *
 * additive (Bahdanau et al. 2015):  score(q, k_j) = wᵀ tanh(W_q q + W_k k_j)
 * dot (Luong et al. 2015):          score(q, k_j) = qᵀ k_j
 * general (Luong et al. 2015):      score(q, k_j) = qᵀ W_a k_j
 * scaled dot-product (Vaswani 2017): score(q, k_j) = qᵀ k_j / √D
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | q | [B, D_q] or [B, T_out, D_q] | the query (the decoder's state; one per output step) |
 * | k_j, v_j | [B, T_in, D_k], [B, T_in, D_v] | keys and values (the encoder's outputs; here k = v) |
 * | m | [B, T_in] | source mask: 1 = real position, 0 = padding |
 * | e, α | [B, T_in] or [B, T_out, T_in] | scores and weights |
 * | c | [B, D_v] or [B, T_out, D_v] | context |
 * | W_q, W_k, w | [A, D_q], [A, D_k], [A] | additive attention's parameters (A: attention size) |
 * | W_a | [D_q, D_k] | general attention's matrix |
 * | D | scalar | D_q = D_k for dot and scaled dot |
 *
 * Bahdanau's paper writes the additive score vᵀ tanh(W s_{i−1} + U h_j) with the
 * *previous* decoder state as query; Luong's use the current one. These functions do not
 * care which state is the query; the decoder (src/sequence/attention-encoder-decoder.ts)
 * decides. The weights are what `attentionWeights` (src/plot/heatmap.ts) draws.
 *
 * Explained in notebooks/11-attention.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import { checkRank, checkShape } from "../cells/checks";

/** Additive attention's parameters. */
export interface AdditiveAttentionParams {
  /** W_q: query → attention space, [A, D_q]. */
  Wq: Tensor2D;
  /** W_k: key → attention space, [A, D_k]. */
  Wk: Tensor2D;
  /** w: attention space → score, [A]. */
  w: Tensor1D;
}

/** A query for one output step, [B, D_q], or for every output step, [B, T_out, D_q]. */
export type Query = Tensor2D | Tensor3D;

/** The scores' shape follows the query's: [B, T_in] for [B, D_q], [B, T_out, T_in] for [B, T_out, D_q]. */
export type Scores<Q extends Query> = Q extends Tensor3D ? Tensor3D : Tensor2D;

/** W_k k_j for every j, [B, T_in, A]: computed once per source, reused at every decoder step. */
export function projectKeys(p: AdditiveAttentionParams, k: Tensor3D): Tensor3D {
  return tf.tidy("projectKeys", () => {
    checkRank("additiveScore", "k", k.shape, ["B", "T_in", "D_k"]);
    const [B, Tin, Dk] = k.shape;
    const A = p.Wk.shape[0];
    checkShape("additiveScore", "Wk", p.Wk.shape, [
      ["A", A],
      ["D_k", Dk],
    ]);
    return tf.reshape(tf.matMul(tf.reshape(k, [B * Tin, Dk]), p.Wk, false, true), [B, Tin, A]) as Tensor3D; // [B, T_in, A]
  });
}

/**
 * Additive (Bahdanau) scores e_j = wᵀ tanh(W_q q + W_k k_j).
 * @param projected W_k k from {@link projectKeys} (computed here if absent)
 */
export function additiveScore<Q extends Query>(q: Q, k: Tensor3D, p: AdditiveAttentionParams, projected?: Tensor3D): Scores<Q> {
  return tf.tidy("additiveScore", () => {
    const q3 = asQueries("additiveScore", q, k); // [B, T_out, D_q]
    const [B, Tout, Dq] = q3.shape;
    const A = p.Wq.shape[0];
    checkShape("additiveScore", "Wq", p.Wq.shape, [
      ["A", A],
      ["D_q", Dq],
    ]);
    checkShape("additiveScore", "w", p.w.shape, [["A", A]]);
    const Wk_k = tf.expandDims(projected ?? projectKeys(p, k), 1); // [B, 1, T_in, A]
    const Wq_q = tf.reshape(tf.matMul(tf.reshape(q3, [B * Tout, Dq]), p.Wq, false, true), [B, Tout, 1, A]); // [B, T_out, 1, A]
    const hidden = tf.tanh(tf.add(Wq_q, Wk_k)); // [B, T_out, T_in, A]
    const e = tf.sum(tf.mul(hidden, p.w), 3) as Tensor3D; // [B, T_out, T_in]  wᵀ tanh(…)
    return likeQuery(q, e);
  }) as Scores<Q>;
}

/** Dot-product (Luong) scores e_j = qᵀ k_j (D_q = D_k). */
export function dotScore<Q extends Query>(q: Q, k: Tensor3D): Scores<Q> {
  return tf.tidy("dotScore", () => {
    const q3 = asQueries("dotScore", q, k); // [B, T_out, D]
    checkShape("dotScore", "k", k.shape, [
      ["B", q3.shape[0]],
      ["T_in", k.shape[1]],
      ["D_q", q3.shape[2]],
    ]);
    const e = tf.matMul(q3, k, false, true) as Tensor3D; // [B, T_out, D]·[B, D, T_in] → [B, T_out, T_in]
    return likeQuery(q, e);
  }) as Scores<Q>;
}

/** General (Luong) scores e_j = qᵀ W_a k_j. */
export function generalScore<Q extends Query>(q: Q, k: Tensor3D, Wa: Tensor2D): Scores<Q> {
  return tf.tidy("generalScore", () => {
    const q3 = asQueries("generalScore", q, k); // [B, T_out, D_q]
    const [B, Tout, Dq] = q3.shape;
    checkShape("generalScore", "Wa", Wa.shape, [
      ["D_q", Dq],
      ["D_k", k.shape[2]],
    ]);
    const qWa = tf.reshape(tf.matMul(tf.reshape(q3, [B * Tout, Dq]), Wa), [B, Tout, k.shape[2]]) as Tensor3D; // qᵀ W_a
    return likeQuery(q, dotScore(qWa, k));
  }) as Scores<Q>;
}

/** Scaled dot-product scores e_j = qᵀ k_j / √D. */
export function scaledDotScore<Q extends Query>(q: Q, k: Tensor3D): Scores<Q> {
  return tf.tidy("scaledDotScore", () => tf.div(dotScore(q, k), Math.sqrt(q.shape[q.rank - 1]))) as Scores<Q>;
}

/**
 * α = softmax(e) over the source positions (the last axis), with masked positions (m = 0)
 * given weight exactly 0 and the rest renormalised; each row sums to 1.
 * @param e scores [B, T_in] or [B, T_out, T_in]; @param mask [B, T_in]
 */
export function attentionSoftmax<E extends Tensor2D | Tensor3D>(e: E, mask?: Tensor2D): E {
  return tf.tidy("attentionSoftmax", () => {
    if (!mask) return tf.softmax(e);
    const [B, Tin] = [e.shape[0], e.shape[e.rank - 1]];
    checkShape("attentionSoftmax", "mask", mask.shape, [
      ["B", B],
      ["T_in", Tin],
    ]);
    const m = e.rank === 3 ? tf.expandDims(mask, 1) : mask; // [B, 1, T_in] or [B, T_in]
    const shut = tf.mul(tf.sub(1, m), -1e9); // −10⁹ at padding
    return tf.mul(tf.softmax(tf.add(e, shut)), m); // exp(−10⁹) = 0; times m to be exact
  }) as E;
}

/** c = Σ_j α_j v_j: weights [B, T_in] (or [B, T_out, T_in]) and values [B, T_in, D_v] → [B, D_v] (or [B, T_out, D_v]). */
export function attentionContext<A extends Tensor2D | Tensor3D>(alpha: A, v: Tensor3D): A {
  return tf.tidy("attentionContext", () => {
    const a3 = (alpha.rank === 2 ? tf.expandDims(alpha, 1) : alpha) as Tensor3D; // [B, T_out, T_in]
    checkShape("attentionContext", "alpha", a3.shape, [
      ["B", v.shape[0]],
      ["T_out", a3.shape[1]],
      ["T_in", v.shape[1]],
    ]);
    const c = tf.matMul(a3, v); // [B, T_out, T_in]·[B, T_in, D_v] → [B, T_out, D_v]
    return alpha.rank === 2 ? tf.squeeze(c, [1]) : c;
  }) as A;
}

/** The scores by name. */
export type AttentionScore = "additive" | "dot" | "general" | "scaled-dot";

/** The score names, for error messages. */
export const ATTENTION_SCORES: readonly AttentionScore[] = ["additive", "dot", "general", "scaled-dot"];

/** q as [B, T_out, D_q] (a [B, D_q] query is one output step), after checking it against k. */
function asQueries(where: string, q: Query, k: Tensor3D): Tensor3D {
  if (q.rank !== 2 && q.rank !== 3) checkRank(where, "q", q.shape, ["B", "D_q"]);
  checkRank(where, "k", k.shape, ["B", "T_in", "D_k"]);
  if (k.shape[0] !== q.shape[0])
    checkShape(where, "k", k.shape, [
      ["B", q.shape[0]],
      ["T_in", k.shape[1]],
      ["D_k", k.shape[2]],
    ]);
  return (q.rank === 2 ? tf.expandDims(q, 1) : q) as Tensor3D;
}

/** Scores [B, T_out, T_in] back to [B, T_in] when the query was one step. */
function likeQuery(q: Query, e: Tensor3D): Tensor2D | Tensor3D {
  return q.rank === 2 ? (tf.squeeze(e, [1]) as Tensor2D) : e;
}
