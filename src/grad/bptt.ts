/**
 * Back-propagation through time, by hand: the cells' backward steps run in reverse order
 * over a {@link Tape} recorded by `unrollWithTape` (tape.ts).
 *
 * Lecture ("Back Propagation in RNNs"), for the vanilla RNN:
 * ```
 * ∇_h(τ) L = Vᵀ ∇_o(τ) L
 * ∇_h(t) L = (∂h(t+1)/∂h(t))ᵀ ∇_h(t+1) L + (∂o(t)/∂h(t))ᵀ ∇_o(t) L
 *          = Wᵀ diag(1 − h(t+1)²) ∇_h(t+1) L + Vᵀ ∇_o(t) L
 * ```
 * The first term is what the cell's backward step at t+1 returns (`dPrev`); the second is
 * the upstream gradient of the outputs (`dOutputs`, e.g. from `readoutBackward`). The same
 * recursion, with each cell's own (∂state(t+1)/∂state(t))ᵀ, serves the LSTM and the GRUs.
 *
 * Explained in notebooks/04-vanishing-and-exploding-gradients.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import type { Cell, HiddenState, Params } from "../cells/cell";
import { assertFinite, checkShape } from "../cells/checks";
import type { Tape } from "./tape";

/** Options of {@link backwardThroughTime}. */
export interface BpttOptions {
  /** Check every step's gradients for NaN/Inf and say where the first one is (slow; default false). */
  checkFinite?: boolean;
}

/** What {@link backwardThroughTime} returns; dispose it with `disposeAll(result)`. */
export interface BpttResult<P, S> {
  /** ∂L/∂(each parameter), summed over time and batch; same keys and shapes as the parameters. */
  grads: P;
  /** ∂L/∂x, [B, T, I]. */
  dx: Tensor3D;
  /** ∂L/∂(initial state), [B, H] each (∂L/∂h0, ∂L/∂s0). */
  dInitial: S;
  /**
   * ‖∇_h(t) L‖ for every t (input time order): the Frobenius norm over the batch of the
   * gradient reaching h(t) — the numbers the vanishing/exploding-gradient lesson plots.
   */
  dhNorms: number[];
}

/**
 * Hand-written BPTT for any cell:
 * ```
 * ∇_h(t) L = (∂state(t+1)/∂state(t))ᵀ ∇_state(t+1) L + ∇_h(t) L|outputs,   t = T … 1
 * ∇_θ L = Σ_t (∂state(t)/∂θ)ᵀ ∇_state(t) L
 * ```
 * | argument | shape | meaning |
 * |---|---|---|
 * | tape | | from `unrollWithTape(cell, params, x, options)` (same cell and params) |
 * | dOutputs | [B, T, H] | ∂L/∂outputs (the upstream gradient), or null if L does not use them |
 * | dFinal | [B, H] each | ∂L/∂(final state), e.g. {h: …, s: …}; missing entries are 0 |
 *
 * Masks and direction are taken from the tape: at padded steps the gradient flows past
 * the step unchanged. This computes what `tf.grads` computes through `unroll`; the tests
 * check that it does, and check both against finite differences.
 */
export function backwardThroughTime<P extends object, S extends HiddenState, O extends S>(
  cell: Cell<P, S, O>,
  params: P,
  tape: Tape<S, O>,
  dOutputs: Tensor3D | null,
  dFinal: Partial<S> = {},
  options: BpttOptions = {},
): BpttResult<P, S> {
  const where = `backwardThroughTime(${cell.name})`;
  const { B, T, I, H } = tape.sizes;
  const sizes = cell.sizes(params);
  if (sizes.H !== H || sizes.I !== I) {
    throw new Error(`${where}: params have I=${sizes.I}, H=${sizes.H} but the tape was recorded with I=${I}, H=${H}`);
  }
  if (dOutputs)
    checkShape(where, "dOutputs", dOutputs.shape, [
      ["B", B],
      ["T", T],
      ["H", H],
    ]);
  const given = dFinal as Partial<Record<string, Tensor2D>>;
  for (const key of cell.stateKeys) {
    const d = given[key];
    if (d)
      checkShape(where, `dFinal.${key}`, d.shape, [
        ["B", B],
        ["H", H],
      ]);
  }

  const result = tf.tidy(where, () => {
    const dOuts = dOutputs ? (tf.unstack(dOutputs, 1) as Tensor2D[]) : undefined; // T × [B, H]
    let dState = Object.fromEntries(cell.stateKeys.map((key) => [key, given[key] ?? tf.zeros([B, H])])) as Record<string, Tensor2D>;
    const grads: Record<string, Tensor> = {};
    const dxs: Tensor2D[] = new Array(T);
    const norms: tf.Scalar[] = new Array(T);
    for (let k = tape.steps.length - 1; k >= 0; k--) {
      const { t, x, prev, out, m } = tape.steps[k];
      // ∂L/∂(this step's new state): from t+1 (dState) plus, for h, from the outputs.
      const dStep: Record<string, Tensor2D> = {};
      for (const key of cell.stateKeys) {
        let d = dState[key];
        if (key === "h" && dOuts) d = tf.add(d, dOuts[t]);
        dStep[key] = m ? tf.mul(m, d) : d;
      }
      norms[t] = tf.norm(dStep.h) as tf.Scalar;
      if (options.checkFinite) for (const key of cell.stateKeys) assertFinite(cell.name, "backward", t, `∂L/∂${key}`, dStep[key]);
      const g = cell.backward(params, x, prev, out, dStep as unknown as S);
      const dPrev = g.dPrev as unknown as Record<string, Tensor2D>;
      const next: Record<string, Tensor2D> = {};
      for (const key of cell.stateKeys) {
        // At a padded step the state was carried: (1 − m) of the gradient skips the cell.
        next[key] = m ? tf.add(dPrev[key], tf.mul(tf.sub(1, m), dState[key])) : dPrev[key];
      }
      dState = next;
      dxs[t] = g.dx;
      for (const [name, d] of Object.entries(g.dParams as Params)) {
        if (!d) continue;
        if (options.checkFinite) assertFinite(cell.name, "backward", t, `∂L/∂${name}`, d);
        grads[name] = grads[name] ? tf.add(grads[name], d) : d;
      }
      if (options.checkFinite) assertFinite(cell.name, "backward", t, "∂L/∂x", g.dx);
    }
    return { grads, dx: tf.stack(dxs, 1) as Tensor3D, dInitial: dState, norms: tf.stack(norms) };
  });
  const dhNorms = Array.from(result.norms.dataSync());
  result.norms.dispose();
  return { grads: result.grads as unknown as P, dx: result.dx, dInitial: result.dInitial as unknown as S, dhNorms };
}
