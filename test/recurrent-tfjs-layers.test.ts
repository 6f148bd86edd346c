/**
 * Parity with tfjs's own recurrent layers (code nobody here wrote): outputs, final states
 * and gradients of
 *
 *     L = Σ w_out ⊙ outputs + Σ w_h ⊙ h(T) [+ Σ w_s ⊙ s(T)]
 *
 * with respect to every weight, x, h0 (and s0), by tf.grads through the tf.layers layer
 * against seqlab's hand BPTT (backwardThroughTime), tf.grads through the tfjs-op unroll
 * (fused: false) and tf.grads through the default (fused) unroll.
 *
 * | seqlab | tf.layers | mapping |
 * |---|---|---|
 * | vanilla RNN | simpleRNN | kernel = Uᵀ, recurrentKernel = Wᵀ, bias = b |
 * | LSTM without peepholes | lstm, recurrentActivation "sigmoid" | same gate order [i, f, g, o]: kernel = Uᵀ, … |
 * | lecture GRU: h = (1−z)⊙h(t−1) + z⊙h̃, reset before the matmul | gru (Keras's resetAfter: false), recurrentActivation "sigmoid" | gates [r, z, n] → [z, r, h] with z's rows negated |
 *
 * tfjs's GRU computes h = z'⊙h(t−1) + (1−z')⊙h̃ with z' = σ(a'); negating z's
 * pre-activation (a' = −a) gives z' = 1 − σ(a) = 1 − z, the lecture's GRU. The map is linear,
 * so the gradients map the same way. tfjs's GRU always applies the reset before the matmul
 * (its GRUCell throws on resetAfter: true, and the option is not in its typings), so the
 * PyTorch-convention GRU (reset after) is checked against PyTorch itself (recurrent-torch.test.ts).
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { SIZES, assertNoTensorLeaks, makeData, values } from "./recurrent-helpers";

const { tf } = seqlab;
type Tensor = seqlab.tf.Tensor;
type Tensor1D = seqlab.tf.Tensor1D;
type Tensor2D = seqlab.tf.Tensor2D;
type Tensor3D = seqlab.tf.Tensor3D;

/**
 * float32 tolerance, relative to each tensor's scale (seqlab.scaledError); the worst seen
 * is ~2e−7 (the fused path's ∂L/∂bias).
 */
const TOL = 2e-6;

/** One recurrent layer of tfjs and how seqlab's parameters map onto its weights. */
interface Case {
  label: string;
  cell: seqlab.AnyCell;
  init: (I: number, H: number, seed: number) => Record<string, Tensor>;
  /** The tf.layers layer (returnSequences and returnState on). */
  layer: (H: number) => seqlab.tf.layers.Layer;
  /** seqlab's U, W, b (or their gradients) → tfjs's kernel, recurrentKernel, bias (or theirs). */
  toTfjs: (U: Tensor2D, W: Tensor2D, b: Tensor1D) => Tensor[];
}

/** [U_r; U_z; U_n] (rows) → [−U_z, U_r, U_n] (tfjs's order, z negated), as rows. */
function gruRows(M: Tensor): Tensor {
  const [r, z, n] = tf.split(M, 3, 0);
  return tf.concat([tf.neg(z), r, n], 0);
}

const CASES: Case[] = [
  {
    label: "vanilla RNN = tf.layers.simpleRNN",
    cell: seqlab.rnnCell,
    init: (I, H, seed) => ({ ...seqlab.initRnn({ inputSize: I, hiddenSize: H, seed }) }),
    layer: (H) => tf.layers.simpleRNN({ units: H, returnSequences: true, returnState: true }),
    toTfjs: (U, W, b) => tf.tidy(() => [U.transpose(), W.transpose(), tf.clone(b)]),
  },
  {
    label: "LSTM without peepholes = tf.layers.lstm (recurrentActivation 'sigmoid')",
    cell: seqlab.lstmCell,
    init: (I, H, seed) => ({ ...seqlab.initLstm({ inputSize: I, hiddenSize: H, seed, peepholes: false }) }),
    layer: (H) => tf.layers.lstm({ units: H, returnSequences: true, returnState: true, recurrentActivation: "sigmoid" }),
    toTfjs: (U, W, b) => tf.tidy(() => [U.transpose(), W.transpose(), tf.clone(b)]),
  },
  {
    label: "lecture GRU = tf.layers.gru (reset before the matmul, recurrentActivation 'sigmoid') with z negated and gates reordered",
    cell: seqlab.gruCell,
    init: (I, H, seed) => ({ ...seqlab.initGru({ inputSize: I, hiddenSize: H, seed }) }),
    layer: (H) => tf.layers.gru({ units: H, returnSequences: true, returnState: true, recurrentActivation: "sigmoid" }),
    toTfjs: (U, W, b) => tf.tidy(() => [gruRows(U).transpose(), gruRows(W).transpose(), gruRows(b)]),
  },
];

/** Outputs, final state and ∂L/∂(kernel, recurrentKernel, bias, x, h0[, s0]) of one side. */
interface Side {
  outputs: Tensor;
  state: Tensor[];
  grads: Tensor[];
}

describe("parity with tfjs's layers (tf.layers.simpleRNN, lstm, gru), forward and gradients", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  for (const c of CASES) {
    it(`${c.label}: outputs, final state, and ∂L/∂(weights, x, h0${c.cell.stateKeys.length > 1 ? ", s0" : ""}) by hand BPTT, tf.grads (fused: false) and tf.grads (fused)`, () => {
      const { B, T, I, H } = SIZES;
      const data = makeData(SIZES, 13);
      const rng = new seqlab.Rng(17);
      const wOut = internal.normalTensor<seqlab.tf.Rank.R3>([B, T, H], 1, rng) as Tensor3D;
      const p = c.init(I, H, 19);
      const lstm = c.cell.stateKeys.includes("s");
      const h0s = lstm ? [data.h0, data.s0] : [data.h0];
      const ws = lstm ? [data.wh, data.ws] : [data.wh];
      const L = (outputs: Tensor, state: Tensor[]) =>
        tf.addN([tf.sum(tf.mul(wOut, outputs)), ...state.map((s, j) => tf.sum(tf.mul(ws[j], s)))]) as seqlab.tf.Scalar;

      // tfjs: the layer with seqlab's weights mapped onto its own; gradients by tf.grads.
      const weights = c.toTfjs(p.U as Tensor2D, p.W as Tensor2D, p.b as Tensor1D);
      const layer = c.layer(H);
      tf.dispose(layer.apply(data.x) as Tensor[]); // builds the weights
      layer.setWeights(weights);
      const vars = layer.trainableWeights.map((w) => w.read() as seqlab.tf.Variable);
      assert.equal(vars.length, 3);
      const theirs = tf.tidy(() => {
        const f = (x: Tensor, ...init: Tensor[]) => {
          const [seq, ...state] = layer.apply(x, { initialState: init }) as Tensor[];
          return L(seq, state);
        };
        const [seq, ...state] = layer.apply(data.x, { initialState: h0s }) as Tensor[];
        const dInputs = tf.grads(f)([data.x, ...h0s]);
        const dWeights = tf.variableGrads(() => f(data.x, ...h0s), vars).grads;
        return { outputs: seq, state, grads: [...vars.map((v) => dWeights[v.name]), ...dInputs] };
      });

      // seqlab: hand BPTT, and tf.grads through both unroll paths.
      const initialState = Object.fromEntries(c.cell.stateKeys.map((k, j) => [k, h0s[j]]));
      const names = Object.keys(p);
      const mapGrads = (g: Record<string, Tensor>, rest: Tensor[]) => [
        ...c.toTfjs(g.U as Tensor2D, g.W as Tensor2D, g.b as Tensor1D),
        ...rest,
      ];
      const byTfGrads = (fused: boolean | undefined): Side =>
        tf.tidy(() => {
          const run = (...ts: Tensor[]) => {
            const params = Object.fromEntries(names.map((k, j) => [k, ts[j]]));
            const init = Object.fromEntries(c.cell.stateKeys.map((k, j) => [k, ts[names.length + 1 + j]]));
            return seqlab.unroll(c.cell, params, ts[names.length] as Tensor3D, { initialState: init, fused });
          };
          const stateOf = (r: seqlab.UnrollResult<seqlab.HiddenState>) =>
            c.cell.stateKeys.map((k) => (r.state as unknown as Record<string, Tensor>)[k]);
          const args = [...names.map((k) => p[k]), data.x, ...h0s];
          const r = run(...args);
          const g = tf.grads((...ts: Tensor[]) => {
            const r2 = run(...ts);
            return L(r2.outputs, stateOf(r2));
          })(args);
          const dp = Object.fromEntries(names.map((k, j) => [k, g[j]]));
          return { outputs: r.outputs, state: stateOf(r), grads: mapGrads(dp, g.slice(names.length)) };
        });
      const byHand = ((): Side => {
        const tape = seqlab.unrollWithTape(c.cell, p, data.x, { initialState });
        const dFinal = Object.fromEntries(c.cell.stateKeys.map((k, j) => [k, ws[j]]));
        const back = seqlab.backwardThroughTime(c.cell, p, tape, wOut, dFinal);
        const side = tf.tidy(() => ({
          outputs: tf.clone(tape.outputs),
          state: c.cell.stateKeys.map((k) => tf.clone((tape.state as Record<string, Tensor>)[k])),
          grads: mapGrads(
            back.grads as Record<string, Tensor>,
            [back.dx, ...c.cell.stateKeys.map((k) => (back.dInitial as Record<string, Tensor>)[k])].map((t) => tf.clone(t)),
          ),
        }));
        seqlab.disposeAll(tape, back);
        return side;
      })();
      const reference = byTfGrads(false);
      internal.resetFusedProfile();
      const fused = byTfGrads(undefined);
      assert.ok(internal.fusedProfile().backwardCalls > 0, "the default unroll took the fused path");
      const ours: Record<string, Side> = { "hand BPTT": byHand, "tf.grads, fused: false": reference, "tf.grads, fused": fused };

      const gradNames = ["kernel", "recurrentKernel", "bias", "x", "h0", "s0"];
      for (const [how, side] of Object.entries(ours)) {
        const check = (a: Tensor, b: Tensor, what: string, tol: number) => {
          assert.deepEqual(a.shape, b.shape, `${how} ${what}: shape`);
          const e = seqlab.scaledError(values(a), values(b));
          assert.ok(e < tol, `${c.label}, ${how}, ${what}: scaled error ${e}`);
        };
        check(side.outputs, theirs.outputs, "outputs", TOL);
        side.state.forEach((s, j) => check(s, theirs.state[j], `final ${c.cell.stateKeys[j]}`, TOL));
        assert.equal(side.grads.length, theirs.grads.length);
        side.grads.forEach((g, j) => check(g, theirs.grads[j], `∂L/∂${gradNames[j]}`, TOL));
      }
      seqlab.disposeAll(p, weights, theirs, ours, wOut);
      layer.dispose();
      data.dispose();
    });
  }

  it("the mappings matter: tfjs's defaults (hardSigmoid) and an un-negated GRU z give other numbers", () => {
    const { I, H } = SIZES;
    const data = makeData(SIZES, 13);
    const outputsOf = (layer: seqlab.tf.layers.Layer, weights: Tensor[]) => {
      tf.dispose(layer.apply(data.x) as Tensor[]);
      layer.setWeights(weights);
      const out = layer.apply(data.x) as Tensor[];
      const v = values(out[0]);
      tf.dispose(out);
      layer.dispose();
      return v;
    };
    const [lstmCase, gruCase] = [CASES[1], CASES[2]];
    for (const c of [lstmCase, gruCase]) {
      const p = c.init(I, H, 19);
      const ours = seqlab.unroll(c.cell, p, data.x);
      const mapped = c.toTfjs(p.U as Tensor2D, p.W as Tensor2D, p.b as Tensor1D);
      const same = outputsOf(c.layer(H), mapped);
      assert.ok(seqlab.scaledError(values(ours.outputs), same) < TOL, `${c.label}: mapped`);
      const hard =
        c === lstmCase
          ? tf.layers.lstm({ units: H, returnSequences: true, returnState: true })
          : tf.layers.gru({ units: H, returnSequences: true, returnState: true });
      assert.ok(internal.maxAbsError(values(ours.outputs), outputsOf(hard, mapped)) > 1e-3, `${c.label}: hardSigmoid must differ`);
      if (c === gruCase) {
        const unflipped = tf.tidy(() => {
          const rows = (M: Tensor) => {
            const [r, z, n] = tf.split(M, 3, 0);
            return tf.concat([z, r, n], 0);
          };
          return [rows(p.U).transpose(), rows(p.W).transpose(), rows(p.b)];
        });
        assert.ok(internal.maxAbsError(values(ours.outputs), outputsOf(c.layer(H), unflipped)) > 1e-3, "z not negated must differ");
        tf.dispose(unflipped);
      }
      seqlab.disposeAll(p, ours, mapped);
    }
    data.dispose();
  });
});
