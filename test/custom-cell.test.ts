/**
 * A cell defined outside the library, through the public API only — what an instructor or a
 * student adding a cell does: the minimal gated unit (Zhou et al., 2016),
 * ```
 * f(t) = σ(U_f x(t) + W_f h(t−1) + b_f)                 forget gate
 * h̃(t) = tanh(U_h x(t) + W_h (f(t) ⊙ h(t−1)) + b_h)     candidate
 * h(t) = (1 − f(t)) ⊙ h(t−1) + f(t) ⊙ h̃(t)
 * ```
 * with its hand-derived backward. It must unroll, pass `gradientReport` (with and without a
 * float64 reference of its own), build models by `cell: mguCell`, and train with `fit`.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import type { Cell, HiddenState, StepGradients, CellInitConfig } from "seqlab";
import { assertNoTensorLeaks } from "./helpers/memory";

const { tf } = seqlab;
type Tensor1D = seqlab.tf.Tensor1D;
type Tensor2D = seqlab.tf.Tensor2D;
type Tensor3D = seqlab.tf.Tensor3D;

/** U = [U_f; U_h] [2H, I], W = [W_f; W_h] [2H, H], b = [b_f; b_h] [2H]. */
interface MguParams {
  U: Tensor2D;
  W: Tensor2D;
  b: Tensor1D;
}
interface MguOut extends HiddenState {
  f: Tensor2D;
  n: Tensor2D;
}

function rows(t: Tensor2D | Tensor1D, k: number, H: number) {
  return t.rank === 1 ? tf.slice(t, [k * H], [H]) : tf.slice(t, [k * H, 0], [H, t.shape[1]!]);
}

function mguStep(p: MguParams, x: Tensor2D, prev: HiddenState): MguOut {
  return tf.tidy(() => {
    const H = p.W.shape[1];
    const [Uf, Uh] = [rows(p.U, 0, H), rows(p.U, 1, H)] as Tensor2D[];
    const [Wf, Wh] = [rows(p.W, 0, H), rows(p.W, 1, H)] as Tensor2D[];
    const [bf, bh] = [rows(p.b, 0, H), rows(p.b, 1, H)];
    const f = tf.sigmoid(tf.add(tf.add(tf.matMul(x, Uf, false, true), tf.matMul(prev.h, Wf, false, true)), bf)) as Tensor2D; // [B, H]
    const n = tf.tanh(tf.add(tf.add(tf.matMul(x, Uh, false, true), tf.matMul(tf.mul(f, prev.h), Wh, false, true)), bh)) as Tensor2D; // [B, H]
    const h = tf.add(tf.mul(tf.sub(1, f), prev.h), tf.mul(f, n)) as Tensor2D; // [B, H]
    return { f, n, h };
  });
}

function mguBackward(p: MguParams, x: Tensor2D, prev: HiddenState, out: MguOut, d: HiddenState): StepGradients<MguParams, HiddenState> {
  return tf.tidy(() => {
    const H = p.W.shape[1];
    const { f, n } = out;
    const [Uf, Uh] = [rows(p.U, 0, H), rows(p.U, 1, H)] as Tensor2D[];
    const [Wf, Wh] = [rows(p.W, 0, H), rows(p.W, 1, H)] as Tensor2D[];
    const fh = tf.mul(f, prev.h) as Tensor2D; // [B, H]
    const dan = tf.mul(tf.mul(d.h, f), tf.sub(1, tf.square(n))) as Tensor2D; // ∇ of the candidate's pre-activation
    const dfh = tf.matMul(dan, Wh) as Tensor2D; // ∇(f ⊙ h(t−1))
    const df = tf.add(tf.mul(d.h, tf.sub(n, prev.h)), tf.mul(dfh, prev.h)); // ∇f
    const daf = tf.mul(df, tf.mul(f, tf.sub(1, f))) as Tensor2D; // ∇ of the gate's pre-activation
    const dhPrev = tf.add(tf.add(tf.mul(d.h, tf.sub(1, f)), tf.mul(dfh, f)), tf.matMul(daf, Wf)) as Tensor2D;
    const dx = tf.add(tf.matMul(daf, Uf), tf.matMul(dan, Uh)) as Tensor2D;
    return {
      dPrev: { h: dhPrev },
      dx,
      dParams: {
        U: tf.concat([tf.matMul(daf, x, true, false), tf.matMul(dan, x, true, false)], 0) as Tensor2D,
        W: tf.concat([tf.matMul(daf, prev.h, true, false), tf.matMul(dan, fh, true, false)], 0) as Tensor2D,
        b: tf.concat([tf.sum(daf, 0), tf.sum(dan, 0)]) as Tensor1D,
      },
    };
  });
}

function mguInit(c: CellInitConfig): MguParams {
  const { inputSize: I, hiddenSize: H } = c;
  const rng = new seqlab.Rng(c.seed ?? 0);
  const k = 1 / Math.sqrt(H);
  const u = (shape: number[]) =>
    tf.tensor(
      Array.from({ length: shape.reduce((a, b) => a * b) }, () => (2 * rng.next() - 1) * k),
      shape,
    );
  return { U: u([2 * H, I]) as Tensor2D, W: u([2 * H, H]) as Tensor2D, b: u([2 * H]) as Tensor1D };
}

const mguCell: Cell<MguParams, HiddenState, MguOut> = {
  name: "mgu",
  stateKeys: ["h"],
  sizes: (p) => ({ I: p.U.shape[1], H: p.W.shape[1] }),
  step: mguStep,
  backward: mguBackward,
  init: mguInit,
};

/** The same cell on one example in float64 (column vectors), for gradientReport's tight columns. */
const mguReference: internal.RefCell = {
  name: "mgu",
  stateKeys: ["h"],
  step(p, x, prev) {
    const H = p.W.shape[1];
    const I = p.U.shape[1];
    const U = (r: number, c: number) => p.U.data[r * I + c];
    const W = (r: number, c: number) => p.W.data[r * H + c];
    const f = new Float64Array(H);
    const n = new Float64Array(H);
    const h = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      let a = p.b.data[j];
      for (let i = 0; i < I; i++) a += U(j, i) * x[i];
      for (let k = 0; k < H; k++) a += W(j, k) * prev.h[k];
      f[j] = 1 / (1 + Math.exp(-a));
    }
    for (let j = 0; j < H; j++) {
      let a = p.b.data[H + j];
      for (let i = 0; i < I; i++) a += U(H + j, i) * x[i];
      for (let k = 0; k < H; k++) a += W(H + j, k) * f[k] * prev.h[k];
      n[j] = Math.tanh(a);
      h[j] = (1 - f[j]) * prev.h[j] + f[j] * n[j];
    }
    return { h, f, n };
  },
  backward(p, x, prev, out, d, g, dx) {
    const H = p.W.shape[1];
    const I = p.U.shape[1];
    const { f, n } = out;
    const dan = new Float64Array(H);
    const dfh = new Float64Array(H);
    const daf = new Float64Array(H);
    const dh = new Float64Array(H);
    for (let j = 0; j < H; j++) dan[j] = d.h[j] * f[j] * (1 - n[j] * n[j]);
    for (let k = 0; k < H; k++) for (let j = 0; j < H; j++) dfh[k] += p.W.data[(H + j) * H + k] * dan[j];
    for (let j = 0; j < H; j++) daf[j] = (d.h[j] * (n[j] - prev.h[j]) + dfh[j] * prev.h[j]) * f[j] * (1 - f[j]);
    for (let k = 0; k < H; k++) {
      dh[k] = d.h[k] * (1 - f[k]) + dfh[k] * f[k];
      for (let j = 0; j < H; j++) dh[k] += p.W.data[j * H + k] * daf[j];
    }
    for (let j = 0; j < H; j++) {
      g.b.data[j] += daf[j];
      g.b.data[H + j] += dan[j];
      for (let i = 0; i < I; i++) {
        g.U.data[j * I + i] += daf[j] * x[i];
        g.U.data[(H + j) * I + i] += dan[j] * x[i];
        dx[i] += p.U.data[j * I + i] * daf[j] + p.U.data[(H + j) * I + i] * dan[j];
      }
      for (let k = 0; k < H; k++) {
        g.W.data[j * H + k] += daf[j] * prev.h[k];
        g.W.data[(H + j) * H + k] += dan[j] * f[k] * prev.h[k];
      }
    }
    return { h: dh };
  },
};

describe("a cell defined outside the library (minimal gated unit)", () => {
  assertNoTensorLeaks();
  const [B, T, I, H, K] = [2, 4, 3, 5, 3];
  let x: Tensor3D;
  let y: Tensor2D;
  let p: MguParams;
  let ro: seqlab.ReadoutParams;
  before(async () => {
    await seqlab.initBackend();
    x = tf.randomNormal([B, T, I], 0, 1, "float32", 3) as Tensor3D;
    y = tf.tensor2d(
      [
        [0, 1, 2, 1],
        [2, 2, 0, 1],
      ],
      [B, T],
      "int32",
    );
    p = mguInit({ inputSize: I, hiddenSize: H, seed: 1 });
    ro = seqlab.initReadout({ hiddenSize: H, classes: K, seed: 2 });
  });
  after(() => seqlab.disposeAll(x, y, p, ro));

  it("unrolls on the reference path (it declares no fused kernel) with the shapes unroll promises", () => {
    internal.resetFusedProfile();
    const r = seqlab.unroll(mguCell, p, x);
    assert.deepEqual(r.outputs.shape, [B, T, H]);
    assert.deepEqual(r.state.h.shape, [B, H]);
    assert.equal(internal.fusedProfile().forwardCalls, 0);
    // h(T) equals the last output, and the first step equals one call of the step.
    const diff = tf.tidy(() => {
      const first = mguStep(p, tf.slice(x, [0, 0, 0], [B, 1, I]).reshape([B, I]) as Tensor2D, { h: tf.zeros([B, H]) as Tensor2D });
      const got = tf.slice(r.outputs, [0, 0, 0], [B, 1, H]).reshape([B, H]);
      return tf.max(tf.abs(tf.sub(got, first.h))).dataSync()[0];
    });
    assert.ok(diff < 1e-7, `first output vs one step: ${diff}`);
    seqlab.disposeAll(r);
  });

  it("gradientReport without a float64 reference: hand ≈ autodiff to float32, ≈ float32 finite differences", () => {
    const r = seqlab.gradientReport(mguCell, p, ro, x, y);
    assert.equal(r.numeric, "float32");
    assert.ok(r.worst.handVsAutodiff.scaled < 1e-6, `hand vs autodiff ${r.worst.handVsAutodiff.scaled}`);
    assert.ok(r.worst.handVsNumeric.scaled < 1e-3, `hand vs numeric ${r.worst.handVsNumeric.scaled}`);
    assert.equal(r.worst.f64HandVsNumeric, undefined);
    assert.deepEqual(
      r.params.map((row) => row.name),
      ["U", "W", "b", "V", "c", "x", "h0"],
    );
    assert.match(seqlab.formatGradientReport(r), /no float64 reference: finite differences in float32/);
  });

  it("gradientReport with the cell's own float64 reference: the derivation checked to ~1e-7", () => {
    const r = seqlab.gradientReport({ ...mguCell, reference: mguReference }, p, ro, x, y);
    assert.equal(r.numeric, "float64");
    assert.ok(r.worst.f64HandVsNumeric!.rel < 1e-6, `float64 hand vs numeric ${r.worst.f64HandVsNumeric!.rel}`);
    assert.ok(r.worst.handVsNumeric.scaled < 1e-6, `hand vs numeric ${r.worst.handVsNumeric.scaled}`);
    assert.ok(Math.abs(r.loss.tfjs - r.loss.f64) < 1e-5 * Math.abs(r.loss.f64));
  });

  it("a wrong backward is caught by the report (∂W_h missing the gate)", () => {
    const broken: typeof mguCell = {
      ...mguCell,
      backward: (pp, xx, prev, out, d) => {
        const g = mguBackward(pp, xx, prev, out, d);
        const W = tf.tidy(() =>
          tf.concat(
            [
              tf.slice(g.dParams.W, [0, 0], [H, H]),
              tf.matMul(tf.mul(tf.mul(d.h, out.f), tf.sub(1, tf.square(out.n))), prev.h, true, false),
            ],
            0,
          ),
        ) as Tensor2D;
        g.dParams.W.dispose();
        return { ...g, dParams: { ...g.dParams, W } };
      },
    };
    const r = seqlab.gradientReport(broken, p, ro, x, y);
    const W = r.params.find((row) => row.name === "W")!;
    assert.ok(W.handVsNumeric.scaled > 1e-2, `the broken ∂W went unnoticed: ${W.handVsNumeric.scaled}`);
    assert.ok(W.autodiffVsNumeric.scaled < 1e-3, "autodiff itself is right");
  });

  it("builds a model by `cell: mguCell` and trains it with fit on the adding problem; tensors stay flat", async () => {
    const model = new seqlab.SequenceToVector({ inputSize: 2, cell: mguCell, hiddenSize: 16, output: { values: 1 }, seed: 1 });
    const validation = [...seqlab.addingBatches({ length: 20, batchSize: 200, batches: 1, seed: 7 })];
    try {
      const first = (await seqlab.evaluate(model, validation)).loss;
      let tensors = -1;
      const history = await seqlab.fit(model, {
        data: (_epoch, rng) => seqlab.addingBatches({ length: 20, batchSize: 32, batches: 20, seed: rng.int(1e9) }),
        validation,
        epochs: 6,
        optimizer: { name: "adam", learningRate: 0.01 },
        seed: 1,
        progress: false,
        callbacks: [
          {
            onEpoch: () => {
              if (tensors < 0) tensors = tf.memory().numTensors;
              else assert.equal(tf.memory().numTensors, tensors, "tensors grew between epochs");
            },
          },
        ],
      });
      const last = history.valLoss.at(-1)!;
      assert.ok(last < first * 0.5, `validation MSE did not halve: ${first} → ${last}`);
    } finally {
      model.dispose();
      seqlab.disposeAll(validation);
    }
  });

  it("a copy of a library cell keeps its fused kernel ({...lstmCell} runs fused)", () => {
    const lstm = seqlab.initLstm({ inputSize: I, hiddenSize: H, seed: 3 });
    internal.resetFusedProfile();
    const r = seqlab.unroll({ ...seqlab.lstmCell }, lstm, x);
    assert.equal(internal.fusedProfile().forwardCalls, 1);
    seqlab.disposeAll(r, lstm);
  });

  it("a cell object without init cannot build a layer, and says why", () => {
    const { init: _init, ...noInit } = mguCell;
    assert.throws(() => new seqlab.RecurrentLayer({ cell: noInit, inputSize: 2, hiddenSize: 3 }), /RecurrentLayer: cell "mgu" has no init/);
  });
});
