/**
 * Parity with a framework nobody here wrote: PyTorch 1.13's nn.RNN (tanh), nn.LSTM and
 * nn.GRU, golden numbers made by test/fixtures/make_torch_fixtures.py (see there for the
 * loss). The lecture's cells, which no framework has (the peephole LSTM, the lecture GRU),
 * are written out in float64 torch ops by the same script, with gradients by PyTorch's
 * autograd. The tests need only the committed JSON, not PyTorch.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks, gradsThroughDefaultPath, values } from "./recurrent-helpers";

const { tf } = seqlab;
type Tensor2D = seqlab.tf.Tensor2D;
type Tensor3D = seqlab.tf.Tensor3D;

interface Fixture {
  meta: { torch: string; sizes: Record<string, number> };
  cases: Record<
    string,
    {
      kind: "rnn" | "lstm" | "gru" | "lstm_peephole" | "gru_lecture";
      lengths: number[] | null;
      reverse: boolean;
      /** "float64" for the lecture's cells written out in torch ops; float32 otherwise. */
      dtype?: "float64";
      tensors: Record<string, { shape: number[]; data: number[] }>;
    }
  >;
}
const fixture: Fixture = JSON.parse(readFileSync(join(__dirname, "fixtures", "torch_recurrent.json"), "utf8"));

/** float32 tolerance, relative to each tensor's scale (see seqlab.scaledError). */
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
    assert.deepEqual(Object.keys(fixture.cases), [
      "rnn",
      "lstm",
      "gru",
      "lstm_masked",
      "gru_reverse_masked",
      "lstm_peephole",
      "lstm_peephole_reverse_masked",
      "gru_lecture",
    ]);
  });

  for (const [name, c] of Object.entries(fixture.cases)) {
    if (c.dtype === "float64") continue; // the lecture's cells: below
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
        const g = seqlab.handGradients(seqlab.lstmCell, p, ro, x, y, {
          ...options,
          initialState: { h: h0, s: s0 },
          finalStateWeights: { h: wh, s: ws },
        });
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
        const e = seqlab.scaledError(ours, theirs);
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

  describe("the lecture's cells, written out in float64 torch ops (no framework has them)", () => {
    /** seqlab's float64 reference against PyTorch's float64: only summation order differs. */
    const TOL64 = 1e-12;
    const CELLS = { lstm_peephole: seqlab.lstmCell, gru_lecture: seqlab.gruCell } as Record<string, seqlab.AnyCell>;
    for (const [name, c] of Object.entries(fixture.cases)) {
      if (c.dtype !== "float64") continue;
      const cell = CELLS[c.kind];
      const lstm = c.kind === "lstm_peephole";
      const what = [c.lengths ? `lengths ${c.lengths}` : "", c.reverse ? "reverse" : ""].filter(Boolean).join(", ");
      it(`${name}: outputs, final states, L and every gradient — hand BPTT, tf.grads (fused: false), tf.grads (fused)${what ? ` (${what})` : ""}`, () => {
        assert.ok(cell, `no seqlab cell for kind ${c.kind}`);
        const made: seqlab.tf.Tensor[] = [];
        const t = <T extends seqlab.tf.Tensor>(k: string): T => {
          const x = tf.tensor(c.tensors[k].data, c.tensors[k].shape, "float32") as T;
          made.push(x);
          return x;
        };
        const names = lstm ? ["U", "W", "b", "wci", "wcf", "wco"] : ["U", "W", "b"];
        const p = Object.fromEntries(names.map((k) => [k, t(k)]));
        const ro = { V: t<Tensor2D>("readout.V"), c: t<seqlab.tf.Tensor1D>("readout.c") };
        const x = t<Tensor3D>("x");
        const y = tf.cast(t("y"), "int32") as Tensor2D;
        made.push(y);
        const initialState = lstm ? { h: t<Tensor2D>("h0"), s: t<Tensor2D>("s0") } : { h: t<Tensor2D>("h0") };
        const finalStateWeights = lstm ? { h: t<Tensor2D>("w_h"), s: t<Tensor2D>("w_s") } : { h: t<Tensor2D>("w_h") };
        const mask = c.lengths ? t<Tensor2D>("mask") : undefined;
        const options = { mask, reverse: c.reverse, initialState, finalStateWeights };
        const finals: Record<string, string> = { h: "hT", s: "sT" };

        const compare = (ours: ArrayLike<number>, key: string, how: string, tol = TOL) => {
          const e = seqlab.scaledError(ours, c.tensors[key].data);
          worst[`${name} ${key} (${how})`] = { scaled: e, rel: seqlab.relError(ours, c.tensors[key].data) };
          assert.ok(e < tol, `${name} ${key} (${how}): scaled error ${e}`);
        };
        for (const fused of [false, undefined]) {
          const how = fused === false ? "unroll, fused: false" : "unroll, fused";
          const r = seqlab.unroll(cell, p, x, { mask, reverse: c.reverse, initialState, fused });
          compare(values(r.outputs), "outputs", how);
          for (const k of cell.stateKeys) compare(values((r.state as unknown as Record<string, Tensor2D>)[k]), finals[k], how);
          seqlab.disposeAll(r);
        }
        const hand = seqlab.handGradients(cell, p, ro, x, y, options);
        const reference = seqlab.autodiffGradients(cell, p, ro, x, y, { ...options, fused: false });
        internal.resetFusedProfile();
        const fused = gradsThroughDefaultPath(cell, p, ro, x, y, options as never);
        assert.ok(internal.fusedProfile().backwardCalls > 0, "the default path is the fused kernel");
        const ways = { "hand BPTT": hand, "tf.grads, fused: false": reference, "tf.grads, fused": fused };
        for (const [how, g] of Object.entries(ways)) {
          compare([g.loss], "loss", how);
          for (const k of names) compare(values((g.grads as Record<string, seqlab.tf.Tensor>)[k]), `grad.${k}`, how);
          compare(values(g.readoutGrads.V), "grad.readout.V", how);
          compare(values(g.readoutGrads.c), "grad.readout.c", how);
          compare(values(g.dx), "grad.x", how);
          for (const k of cell.stateKeys) compare(values((g.dInitial as unknown as Record<string, Tensor2D>)[k]), `grad.${k}0`, how);
        }
        if (!c.lengths && !c.reverse) {
          // seqlab's float64 reference (plain loops, hand BPTT) has no mask or reverse option.
          const ref = internal.referenceGradients({
            cell: cell.reference!,
            params: internal.paramsToF64(p),
            readout: { V: internal.toF64(ro.V), c: internal.toF64(ro.c) },
            x: internal.toF64(x),
            y: y.dataSync(),
            initialState: internal.paramsToF64(initialState),
            finalStateWeights: internal.paramsToF64(finalStateWeights),
          });
          const how = "float64 reference";
          compare(ref.outputs.data, "outputs", how, TOL64);
          for (const k of cell.stateKeys) compare(ref.state[k].data, finals[k], how, TOL64);
          compare([ref.loss], "loss", how, TOL64);
          for (const k of names) compare(ref.grads[k].data, `grad.${k}`, how, TOL64);
          compare(ref.readoutGrads.V.data, "grad.readout.V", how, TOL64);
          compare(ref.readoutGrads.c.data, "grad.readout.c", how, TOL64);
          compare(ref.dx.data, "grad.x", how, TOL64);
          for (const k of cell.stateKeys) compare(ref.dInitial[k].data, `grad.${k}0`, how, TOL64);
        }
        seqlab.disposeAll(made, hand, reference, fused);
      });
    }
  });
});
