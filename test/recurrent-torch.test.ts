/**
 * Parity with a framework nobody here wrote: PyTorch 1.13's nn.RNN (tanh), nn.LSTM and
 * nn.GRU, golden numbers made by test/fixtures/make_torch_fixtures.py (see there for the
 * loss). The tests need only the committed JSON, not PyTorch.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks, values } from "./recurrent-helpers";

const { tf } = seqlab;
type Tensor2D = seqlab.tf.Tensor2D;
type Tensor3D = seqlab.tf.Tensor3D;

interface Fixture {
  meta: { torch: string; sizes: Record<string, number> };
  cases: Record<string, { kind: "rnn" | "lstm" | "gru"; lengths: number[] | null; reverse: boolean; tensors: Record<string, { shape: number[]; data: number[] }> }>;
}
const fixture: Fixture = JSON.parse(readFileSync(join(__dirname, "fixtures", "torch_recurrent.json"), "utf8"));

/** float32 tolerance, relative to each tensor's scale (see internal.scaledError). */
const TOL = 2e-6;
const worst: Record<string, { scaled: number; rel: number }> = {};

describe("parity with PyTorch (fixtures from test/fixtures/make_torch_fixtures.py)", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  after(() => {
    if (process.env.SEQLAB_PRINT_GRADIENT_ERRORS) console.table(worst);
  });
  assertNoTensorLeaks();

  it(`was made with PyTorch (${fixture.meta.torch}) at T=4, B=2, I=3, H=5, K=3`, () => {
    assert.deepEqual(fixture.meta.sizes, { T: 4, B: 2, I: 3, H: 5, K: 3 });
    assert.deepEqual(Object.keys(fixture.cases), ["rnn", "lstm", "gru", "lstm_masked", "gru_reverse_masked"]);
  });

  for (const [name, c] of Object.entries(fixture.cases)) {
    const what = [c.lengths ? `lengths ${c.lengths}` : "", c.reverse ? "reverse direction" : ""].filter(Boolean).join(", ");
    it(`${name}: outputs, final states, L and the gradients of every parameter, x, h0${c.kind === "lstm" ? ", c0" : ""}${what ? ` (${what})` : ""}`, () => {
      const t = (k: string) => tf.tensor(c.tensors[k].data, c.tensors[k].shape, "float32");
      const made: seqlab.tf.Tensor[] = [];
      const keep = <T extends seqlab.tf.Tensor>(x: T): T => (made.push(x), x);
      const U = keep(t("weight_ih")) as Tensor2D;
      const W = keep(t("weight_hh")) as Tensor2D;
      const bih = keep(t("bias_ih")) as seqlab.tf.Tensor1D;
      const bhh = keep(t("bias_hh")) as seqlab.tf.Tensor1D;
      const ro = { V: keep(t("readout.weight")) as Tensor2D, c: keep(t("readout.bias")) as seqlab.tf.Tensor1D };
      const x = keep(t("x")) as Tensor3D;
      const y = keep(tf.cast(keep(t("y")), "int32")) as Tensor2D;
      const h0 = keep(t("h0")) as Tensor2D;
      const wh = keep(t("w_h")) as Tensor2D;
      const mask = c.lengths ? (keep(t("mask")) as Tensor2D) : undefined;
      const options = { mask, reverse: c.reverse };
      // PyTorch adds two biases where seqlab's RNN and LSTM have one (their sum); its GRU
      // is seqlab's "pytorch" convention with b = bias_ih, bh = bias_hh.
      let grads: Record<string, seqlab.tf.Tensor>;
      let outputs: Tensor3D;
      let state: Record<string, Tensor2D>;
      let hand: { loss: number; readoutGrads: seqlab.ReadoutParams; dx: Tensor3D; dInitial: seqlab.HiddenState };
      if (c.kind === "lstm") {
        const s0 = keep(t("c0")) as Tensor2D;
        const ws = keep(t("w_c")) as Tensor2D;
        const p = { U, W, b: keep(tf.add(bih, bhh)) as seqlab.tf.Tensor1D };
        const r = seqlab.unroll(seqlab.lstmCell, p, x, { ...options, initialState: { h: h0, s: s0 } });
        const g = seqlab.handGradients(seqlab.lstmCell, p, ro, x, y, { ...options, initialState: { h: h0, s: s0 }, finalStateWeights: { h: wh, s: ws } });
        hand = g;
        ({ outputs } = r);
        state = { hT: r.state.h, cT: r.state.s };
        grads = { weight_ih: g.grads.U, weight_hh: g.grads.W, bias_ih: g.grads.b, bias_hh: g.grads.b, c0: g.dInitial.s };
      } else if (c.kind === "rnn") {
        const p = { U, W, b: keep(tf.add(bih, bhh)) as seqlab.tf.Tensor1D };
        const r = seqlab.unroll(seqlab.rnnCell, p, x, { ...options, initialState: { h: h0 } });
        const g = seqlab.handGradients(seqlab.rnnCell, p, ro, x, y, { ...options, initialState: { h: h0 }, finalStateWeights: { h: wh } });
        hand = g;
        ({ outputs } = r);
        state = { hT: r.state.h };
        grads = { weight_ih: g.grads.U, weight_hh: g.grads.W, bias_ih: g.grads.b, bias_hh: g.grads.b };
      } else {
        const p = { U, W, b: bih, bh: bhh };
        const cell = seqlab.gruPytorchCell;
        const r = seqlab.unroll(cell, p, x, { ...options, initialState: { h: h0 } });
        const g = seqlab.handGradients(cell, p, ro, x, y, { ...options, initialState: { h: h0 }, finalStateWeights: { h: wh } });
        hand = g;
        ({ outputs } = r);
        state = { hT: r.state.h };
        grads = { weight_ih: g.grads.U, weight_hh: g.grads.W, bias_ih: g.grads.b, bias_hh: g.grads.bh };
      }
      const compare = (ours: ArrayLike<number>, key: string) => {
        const theirs = c.tensors[key].data;
        const e = internal.scaledError(ours, theirs);
        worst[`${name} ${key}`] = { scaled: e, rel: seqlab.relError(ours, theirs) };
        assert.ok(e < TOL, `${name} ${key}: scaled error ${e}`);
      };
      compare(values(outputs), "outputs");
      for (const [k, v] of Object.entries(state)) compare(values(v), k);
      compare([hand.loss], "loss");
      for (const [k, g] of Object.entries(grads)) compare(values(g), `grad.${k}`);
      compare(values(hand.readoutGrads.V), "grad.readout.weight");
      compare(values(hand.readoutGrads.c), "grad.readout.bias");
      compare(values(hand.dx), "grad.x");
      compare(values(hand.dInitial.h), "grad.h0");
      seqlab.disposeAll(made, outputs, state, hand);
    });
  }
});
