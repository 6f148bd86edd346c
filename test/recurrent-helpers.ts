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
  { label: "rnn", cell: seqlab.rnnCell, init: (I: number, H: number, seed: number) => seqlab.initRnn({ inputSize: I, hiddenSize: H, seed }) },
  { label: "lstm (peepholes)", cell: seqlab.lstmCell, init: (I: number, H: number, seed: number) => seqlab.initLstm({ inputSize: I, hiddenSize: H, seed }) },
  {
    label: "lstm (no peepholes)",
    cell: seqlab.lstmCell,
    init: (I: number, H: number, seed: number) => seqlab.initLstm({ inputSize: I, hiddenSize: H, seed, peepholes: false }),
  },
  { label: "gru (lecture)", cell: seqlab.gruCell, init: (I: number, H: number, seed: number) => seqlab.initGru({ inputSize: I, hiddenSize: H, seed }) },
  {
    label: "gru (pytorch)",
    cell: seqlab.gruPytorchCell,
    init: (I: number, H: number, seed: number) => seqlab.initGruPytorch({ inputSize: I, hiddenSize: H, seed }),
  },
] as const;

/** Initial state and final-state weights for a cell: {h} or {h, s}. */
export function stateFor(cell: seqlab.AnyCell, h: seqlab.tf.Tensor2D, s: seqlab.tf.Tensor2D): { h: seqlab.tf.Tensor2D; s?: seqlab.tf.Tensor2D } {
  return cell.stateKeys.includes("s") ? { h, s } : { h };
}
