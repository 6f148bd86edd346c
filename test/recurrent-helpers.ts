/** Shared set-up for the recurrent-core tests (imports only from "seqlab", as users do). */
export { assertNoTensorLeaks, expectNoLeak, tensorsIn } from "./helpers/memory";
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";

const { tf } = seqlab;
type Tensor = seqlab.tf.Tensor;

/** Float64 copy of a tensor's values. */
export function values(t: Tensor): Float64Array {
  return Float64Array.from(t.dataSync());
}

/** max |a − b|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "lengths differ");
  return internal.maxAbsError(a, b);
}

/** Tiny sizes used throughout (T time, B batch, I input, H hidden, K classes). */
export const SIZES = { T: 4, B: 2, I: 3, H: 5, K: 3 };

/** Deterministic inputs for the lecture's model: x [B, T, I], y [B, T], h0/s0 and final-state weights [B, H]. */
export function makeData(sizes: { T: number; B: number; I: number; H: number; K: number }, seed = 11) {
  const { T, B, I, H, K } = sizes;
  const rng = new seqlab.Rng(seed);
  const x = internal.normalTensor<seqlab.tf.Rank.R3>([B, T, I], 1, rng) as seqlab.tf.Tensor3D;
  const y = tf.tensor2d(
    Array.from({ length: B * T }, () => rng.int(K)),
    [B, T],
    "int32",
  );
  const h0 = internal.normalTensor<seqlab.tf.Rank.R2>([B, H], 0.5, rng) as seqlab.tf.Tensor2D;
  const s0 = internal.normalTensor<seqlab.tf.Rank.R2>([B, H], 0.5, rng) as seqlab.tf.Tensor2D;
  const wh = internal.normalTensor<seqlab.tf.Rank.R2>([B, H], 1, rng) as seqlab.tf.Tensor2D;
  const ws = internal.normalTensor<seqlab.tf.Rank.R2>([B, H], 1, rng) as seqlab.tf.Tensor2D;
  return { x, y, h0, s0, wh, ws, dispose: () => tf.dispose([x, y, h0, s0, wh, ws]) };
}

/** The cells under test, each with a fresh-parameters maker. */
export const CELLS = [
  {
    label: "rnn",
    cell: seqlab.rnnCell,
    init: (I: number, H: number, seed: number) => seqlab.initRnn({ inputSize: I, hiddenSize: H, seed }),
  },
  {
    label: "lstm (peepholes)",
    cell: seqlab.lstmCell,
    init: (I: number, H: number, seed: number) => seqlab.initLstm({ inputSize: I, hiddenSize: H, seed }),
  },
  {
    label: "lstm (no peepholes)",
    cell: seqlab.lstmCell,
    init: (I: number, H: number, seed: number) => seqlab.initLstm({ inputSize: I, hiddenSize: H, seed, peepholes: false }),
  },
  {
    label: "gru (lecture)",
    cell: seqlab.gruCell,
    init: (I: number, H: number, seed: number) => seqlab.initGru({ inputSize: I, hiddenSize: H, seed }),
  },
  {
    label: "gru (pytorch)",
    cell: seqlab.gruPytorchCell,
    init: (I: number, H: number, seed: number) => seqlab.initGruPytorch({ inputSize: I, hiddenSize: H, seed }),
  },
] as const;

/** Initial state and final-state weights for a cell: {h} or {h, s}. */
export function stateFor(
  cell: seqlab.AnyCell,
  h: seqlab.tf.Tensor2D,
  s: seqlab.tf.Tensor2D,
): { h: seqlab.tf.Tensor2D; s?: seqlab.tf.Tensor2D } {
  return cell.stateKeys.includes("s") ? { h, s } : { h };
}

/**
 * tf.grads through `modelLoss` on the path `unroll` takes by default — the fused kernels for
 * seqlab's cells, whose gradient is their own hand-written backward. (`autodiffGradients`
 * always runs the tfjs-op reference path; this is the other side of "fused = reference".)
 */
export function gradsThroughDefaultPath(
  cell: seqlab.AnyCell,
  params: Record<string, seqlab.tf.Tensor | undefined>,
  ro: seqlab.ReadoutParams,
  x: seqlab.tf.Tensor3D,
  y: seqlab.tf.Tensor2D,
  options: seqlab.ModelOptions<seqlab.AnyState> = {},
): seqlab.ModelGradients<Record<string, seqlab.tf.Tensor>, Record<string, seqlab.tf.Tensor2D>> {
  const { tf } = seqlab;
  const names = Object.keys(params).filter((k) => params[k] !== undefined);
  const given = (options.initialState ?? {}) as Record<string, seqlab.tf.Tensor2D | undefined>;
  const [B] = x.shape;
  const H = cell.sizes(params).H;
  const s0 = cell.stateKeys.map((k) => given[k] ?? (tf.zeros([B, H]) as seqlab.tf.Tensor2D));
  const inputs = [...names.map((k) => params[k]!), ro.V, ro.c, x, ...s0];
  const f = (...ts: seqlab.tf.Tensor[]) => {
    const p = Object.fromEntries(names.map((k, j) => [k, ts[j]]));
    const r = { V: ts[names.length] as seqlab.tf.Tensor2D, c: ts[names.length + 1] as seqlab.tf.Tensor1D };
    const init = Object.fromEntries(cell.stateKeys.map((k, j) => [k, ts[names.length + 3 + j]]));
    return seqlab.modelLoss(cell, p, r, ts[names.length + 2] as seqlab.tf.Tensor3D, y, { ...options, initialState: init });
  };
  const { value, grads } = tf.valueAndGrads(f)(inputs);
  s0.forEach((t, j) => given[cell.stateKeys[j]] === undefined && t.dispose());
  const loss = value.dataSync()[0];
  value.dispose();
  const n = names.length;
  return {
    loss,
    grads: Object.fromEntries(names.map((k, j) => [k, grads[j]])),
    readoutGrads: { V: grads[n] as seqlab.tf.Tensor2D, c: grads[n + 1] as seqlab.tf.Tensor1D },
    dx: grads[n + 2] as seqlab.tf.Tensor3D,
    dInitial: Object.fromEntries(cell.stateKeys.map((k, j) => [k, grads[n + 3 + j] as seqlab.tf.Tensor2D])),
  };
}
