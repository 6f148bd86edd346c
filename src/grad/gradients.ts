/**
 * The lecture's whole model — a cell unrolled through time, a softmax readout at every
 * step, the summed cross-entropy — and its gradients two ways: by hand (BPTT) and by
 * tfjs's autodiff (`tf.grads` through the forward pass).
 *
 * ```
 * h(t) = cell(h(t−1), x(t)),  o(t) = c + V h(t),  ŷ(t) = softmax(o(t))
 * L = −Σ_t log ŷ_{y(t)}(t)  [+ Σ w_final ⊙ state(T), optional, to test the final-state path]
 * ```
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import type { Cell, HiddenState } from "../cells/cell";
import { checkShape } from "../cells/checks";
import { readout, readoutBackward, readoutSizes, sequenceLoss, type ReadoutParams } from "../cells/readout";
import { unroll, type UnrollOptions } from "../sequence/unroll";
import { unrollWithTape } from "./tape";
import { backwardThroughTime } from "./bptt";
import { disposeAll } from "../init";

/** Options of the model-level loss and gradients. */
export interface ModelOptions<S extends HiddenState> extends UnrollOptions<S> {
  /**
   * Adds Σ w ⊙ state(T) to L for each given entry ([B, H] each): a fixed random w makes
   * the gradient flow into the final state (h(T), s(T)) too, which seq2seq will rely on.
   */
  finalStateWeights?: Partial<S>;
}

/** What the gradient functions return; dispose the tensors with `disposeAll(result)`. */
export interface ModelGradients<P, S> {
  /** L (a number, read back from the device). */
  loss: number;
  /** ∂L/∂(each cell parameter). */
  grads: P;
  /** ∂L/∂V, ∂L/∂c. */
  readoutGrads: ReadoutParams;
  /** ∂L/∂x, [B, T, I]. */
  dx: Tensor3D;
  /** ∂L/∂(initial state), [B, H] each. */
  dInitial: S;
}

/**
 * L for the lecture's model (see the file comment), as a scalar tensor.
 *
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x | [B, T, I] | inputs |
 * | y | [B, T] | target class at every step, in [0, K) |
 * | readoutParams | V [K, H], c [K] | output layer |
 * | options.mask | [B, T] | padded steps add no loss |
 */
export function modelLoss<P extends object, S extends HiddenState, O extends S>(
  cell: Cell<P, S, O>,
  params: P,
  readoutParams: ReadoutParams,
  x: Tensor3D,
  y: Tensor2D,
  options: ModelOptions<S> = {},
): Scalar {
  return tf.tidy("modelLoss", () => {
    const { outputs, state } = unroll(cell, params, x, options);
    const loss = sequenceLoss(readout(readoutParams, outputs), y, options.mask);
    return tf.add(loss, finalTerm(cell, state, options.finalStateWeights)) as Scalar;
  });
}

function finalTerm<S extends HiddenState>(cell: { stateKeys: readonly string[] }, state: S, w?: Partial<S>): Scalar {
  const weights = (w ?? {}) as Partial<Record<string, Tensor2D>>;
  const st = state as unknown as Record<string, Tensor2D>;
  let sum: Scalar = tf.scalar(0);
  for (const key of cell.stateKeys) {
    const wk = weights[key];
    if (!wk) continue;
    checkShape("finalStateWeights", key, wk.shape, [
      ["B", st[key].shape[0]],
      ["H", st[key].shape[1]],
    ]);
    sum = tf.add(sum, tf.sum(tf.mul(wk, st[key])));
  }
  return sum;
}

/**
 * The gradients of {@link modelLoss} by hand: `unrollWithTape`, `readoutBackward`
 * ((∇_o(t) L)_i = ŷ_i(t) − 1_{i,y(t)}, ∇_V L, ∇_c L, Vᵀ ∇_o(t) L), then
 * {@link backwardThroughTime}. Also returns ‖∇_h(t) L‖ per timestep.
 */
export function handGradients<P extends object, S extends HiddenState, O extends S>(
  cell: Cell<P, S, O>,
  params: P,
  readoutParams: ReadoutParams,
  x: Tensor3D,
  y: Tensor2D,
  options: ModelOptions<S> & { checkFinite?: boolean } = {},
): ModelGradients<P, S> & { dhNorms: number[] } {
  const tape = unrollWithTape(cell, params, x, options);
  try {
    readoutSizes(readoutParams, tape.sizes.H);
    const { loss, dh, dV, dc } = tf.tidy(() => {
      const o = readout(readoutParams, tape.outputs);
      const L = tf.add(sequenceLoss(o, y, options.mask), finalTerm(cell, tape.state, options.finalStateWeights));
      return { loss: L, ...readoutBackward(readoutParams, tape.outputs, o, y, options.mask) };
    });
    const back = backwardThroughTime(cell, params, tape, dh, options.finalStateWeights ?? {}, options);
    const value = loss.dataSync()[0];
    tf.dispose([loss, dh]);
    return { loss: value, grads: back.grads, readoutGrads: { V: dV, c: dc }, dx: back.dx, dInitial: back.dInitial, dhNorms: back.dhNorms };
  } finally {
    disposeAll(tape);
  }
}

/**
 * The gradients of {@link modelLoss} by tfjs's reverse-mode autodiff: `tf.grads` through
 * the forward pass on the reference path (`fused: false`, whatever `options.fused` says),
 * so no hand-written derivative is involved. The reference the hand BPTT is tested against.
 */
export function autodiffGradients<P extends object, S extends HiddenState, O extends S>(
  cell: Cell<P, S, O>,
  params: P,
  readoutParams: ReadoutParams,
  x: Tensor3D,
  y: Tensor2D,
  options: ModelOptions<S> = {},
): ModelGradients<P, S> {
  const pNames = Object.keys(params).filter((k) => (params as Record<string, Tensor | undefined>)[k] !== undefined);
  const given = (options.initialState ?? {}) as Partial<Record<string, Tensor2D>>;
  const B = x.shape[0];
  const H = cell.sizes(params).H;
  // Differentiate with respect to the initial state too (zeros if not given).
  const s0 = cell.stateKeys.map((key) => given[key] ?? (tf.zeros([B, H]) as Tensor2D));
  const inputs: Tensor[] = [...pNames.map((k) => (params as Record<string, Tensor>)[k]), readoutParams.V, readoutParams.c, x, ...s0];
  const f = (...ts: Tensor[]): Scalar => {
    const p = Object.fromEntries(pNames.map((k, j) => [k, ts[j]])) as P;
    const r: ReadoutParams = { V: ts[pNames.length] as Tensor2D, c: ts[pNames.length + 1] as tf.Tensor1D };
    const xs = ts[pNames.length + 2] as Tensor3D;
    const init = Object.fromEntries(cell.stateKeys.map((key, j) => [key, ts[pNames.length + 3 + j]])) as unknown as Partial<S>;
    // fused: false — the reference path in tfjs ops, so tf.grads differentiates the ops
    // themselves; the fused kernels' gradient is their own hand-written backward.
    return modelLoss(cell, p, r, xs, y, { ...options, initialState: init, fused: false });
  };
  const { value, grads } = tf.valueAndGrads(f)(inputs);
  s0.forEach((t, j) => given[cell.stateKeys[j]] === undefined && t.dispose());
  const loss = value.dataSync()[0];
  value.dispose();
  const n = pNames.length;
  return {
    loss,
    grads: Object.fromEntries(pNames.map((k, j) => [k, grads[j]])) as P,
    readoutGrads: { V: grads[n] as Tensor2D, c: grads[n + 1] as tf.Tensor1D },
    dx: grads[n + 2] as Tensor3D,
    dInitial: Object.fromEntries(cell.stateKeys.map((key, j) => [key, grads[n + 3 + j]])) as unknown as S,
  };
}
