/**
 * Gradients three ways, per parameter and per timestep: hand-written BPTT (tfjs) vs
 * autodiff (tf.grads through the forward pass) vs centred finite differences of the
 * float64 reference — plus the float64 hand BPTT vs finite differences for the tight check.
 *
 * "Autodiff" means tf.grads through the tfjs-op unroll (fused: false). Through the default
 * unroll, tf.grads calls the fused kernel's backward, which is hand-written too: comparing
 * the hand BPTT with it compares two hand derivations, so that is checked separately.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { CELLS, SIZES, assertNoTensorLeaks, expectNoLeak, gradsThroughDefaultPath, makeData, stateFor, values } from "./recurrent-helpers";

const { tf } = seqlab;
type Tensor2D = seqlab.tf.Tensor2D;

/**
 * Limits. float32 (tfjs) results are judged by the scale-relative error (CS231n's
 * per-entry one is inflated by float32 rounding of entries that nearly cancel); the
 * float64 hand BPTT vs float64 finite differences by both.
 */
const FLOAT32 = { scaled: 1e-5 };
const FLOAT64 = { rel: 1e-4, scaled: 1e-8 };
const ok32 = (a: seqlab.Agreement) => a.scaled < FLOAT32.scaled;
const ok64 = (a: seqlab.Agreement) => a.rel < FLOAT64.rel && a.scaled < FLOAT64.scaled;
const agree32 = (a: seqlab.tf.Tensor, b: seqlab.tf.Tensor) => seqlab.scaledError(values(a), values(b)) < FLOAT32.scaled;

/** Worst errors seen, printed at the end (for the notes of issue 3). */
const worst: Record<string, seqlab.GradientReport["worst"]> = {};

/**
 * Runs fn with the fused kernels off by default (SEQLAB_FUSED=0), for gradientReport, which
 * takes no `fused` option: its "autodiff" column is then tf.grads through tfjs ops.
 */
function withoutFusedDefault<T>(fn: () => T): T {
  const saved = process.env.SEQLAB_FUSED;
  process.env.SEQLAB_FUSED = "0";
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.SEQLAB_FUSED;
    else process.env.SEQLAB_FUSED = saved;
  }
}

describe("recurrent gradients", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  after(() => {
    if (process.env.SEQLAB_PRINT_GRADIENT_ERRORS) console.table(worst);
  });
  assertNoTensorLeaks();

  const edgeCases = [
    { name: "T=4 B=2 I=3 H=5 K=3", sizes: SIZES },
    { name: "B=1 T=1 H=3 (one step, one sequence)", sizes: { T: 1, B: 1, I: 2, H: 3, K: 2 } },
    { name: "T=3 B=3 I=1 H=6 K=4 (H not a multiple of 4)", sizes: { T: 3, B: 3, I: 1, H: 6, K: 4 } },
  ];
  for (const { label, cell, init } of CELLS) {
    describe(label, () => {
      for (const { name, sizes } of edgeCases) {
        it(`hand BPTT = tf.grads = finite differences, every parameter, x, h0${cell.stateKeys.length > 1 ? ", s0" : ""} and every timestep (${name})`, () => {
          const { I, H, K } = sizes;
          const data = makeData(sizes, 21);
          const p = init(I, H, 31) as never;
          const ro = seqlab.initReadout({ hiddenSize: H, classes: K, seed: 41 });
          internal.resetFusedProfile();
          const report = withoutFusedDefault(() =>
            expectNoLeak("gradientReport", () =>
              seqlab.gradientReport(cell as seqlab.AnyCell, p, ro, data.x, data.y, {
                initialState: stateFor(cell, data.h0, data.s0),
                finalStateWeights: stateFor(cell, data.wh, data.ws),
              }),
            ),
          );
          assert.equal(internal.fusedProfile().forwardCalls, 0, "the report's autodiff went through tfjs ops");
          const expectedRows = [...Object.keys(p), "V", "c", "x", ...cell.stateKeys.map((k) => `${k}0`)];
          assert.deepEqual(
            report.params.map((r) => r.name),
            expectedRows,
          );
          assert.equal(report.timesteps.length, sizes.T);
          for (const row of [...report.params, ...report.timesteps]) {
            const at = `${label} ${row.name}: ${JSON.stringify(row)}`;
            assert.ok(row.maxAbs > 0, `${at}: the gradient should not be all zero`);
            assert.ok(ok32(row.handVsAutodiff), at);
            assert.ok(ok32(row.handVsNumeric), at);
            assert.ok(ok32(row.autodiffVsNumeric), at);
            assert.ok(ok64(row.f64HandVsNumeric!), at);
          }
          assert.ok(Math.abs(report.loss.tfjs - report.loss.f64) < 1e-5 * Math.abs(report.loss.f64));
          assert.ok(seqlab.relError(report.dhNorms.tfjs, report.dhNorms.f64) < 1e-5);
          const key = `${label} (${name.split(" (")[0]})`;
          worst[key] = report.worst;
          seqlab.disposeAll(p, ro);
          data.dispose();
        });
      }

      it("hand BPTT = tf.grads (fused: false) = tf.grads through the fused kernel, with a mask (padded batch) and in reverse", () => {
        const { T, B, I, H, K } = SIZES;
        const data = makeData(SIZES, 22);
        const p = init(I, H, 32) as never;
        const ro = seqlab.initReadout({ hiddenSize: H, classes: K, seed: 42 });
        const mask = tf.tensor2d(
          [
            [1, 1, 1, 1],
            [1, 1, 0, 0],
          ],
          [B, T],
        ) as Tensor2D;
        for (const options of [{ mask }, { reverse: true }, { mask, reverse: true }]) {
          const all = { ...options, initialState: stateFor(cell, data.h0, data.s0), finalStateWeights: stateFor(cell, data.wh, data.ws) };
          const hand = expectNoLeak("handGradients", () => seqlab.handGradients(cell as seqlab.AnyCell, p, ro, data.x, data.y, all));
          const auto = expectNoLeak("autodiffGradients", () =>
            seqlab.autodiffGradients(cell as seqlab.AnyCell, p, ro, data.x, data.y, { ...all, fused: false }),
          );
          internal.resetFusedProfile();
          const fused = expectNoLeak("tf.grads (fused)", () =>
            gradsThroughDefaultPath(cell as seqlab.AnyCell, p, ro, data.x, data.y, all as never),
          );
          assert.ok(internal.fusedProfile().backwardCalls > 0, "the default path is the fused kernel");
          for (const [how, other] of Object.entries({ "tf.grads (fused: false)": auto, "tf.grads (fused)": fused })) {
            const what = `${JSON.stringify(Object.keys(options))} hand vs ${how}`;
            assert.ok(Math.abs(hand.loss - other.loss) < 1e-5 * Math.abs(other.loss), what);
            const pairs: [string, seqlab.tf.Tensor, seqlab.tf.Tensor][] = [
              ...Object.keys(hand.grads).map((k) => [k, hand.grads[k], other.grads[k]] as [string, seqlab.tf.Tensor, seqlab.tf.Tensor]),
              ["V", hand.readoutGrads.V, other.readoutGrads.V],
              ["c", hand.readoutGrads.c, other.readoutGrads.c],
              ["x", hand.dx, other.dx],
              ["h0", hand.dInitial.h, other.dInitial.h],
            ];
            for (const [k, a, b] of pairs) assert.ok(agree32(a, b), `${what} ${k}`);
          }
          const what = JSON.stringify(Object.keys(options));
          if ("mask" in options) {
            // Padded steps get no gradient: x(t) of sequence 1 at t = 2, 3 does not matter.
            const dx = hand.dx.arraySync();
            assert.ok(
              [...dx[1][2], ...dx[1][3]].every((v) => v === 0),
              what,
            );
          }
          seqlab.disposeAll(hand, auto, fused);
        }
        seqlab.disposeAll(p, ro, mask);
        data.dispose();
      });
    });
  }

  describe('"autodiff" means tfjs autodiff on the reference path', () => {
    for (const name of ["rnn", "lstm", "gru", "gru-pytorch"] as const) {
      it(`${name}: autodiffGradients and gradientReport run no fused kernel (whose gradient is hand-written), even with fused: true`, () => {
        const { I, H, K } = SIZES;
        const data = makeData(SIZES, 31);
        const cell = seqlab.CELLS[name];
        const p = cell.init!({ inputSize: I, hiddenSize: H, seed: 1 });
        const ro = seqlab.initReadout({ hiddenSize: H, classes: K, seed: 2 });
        internal.resetFusedProfile();
        const auto = seqlab.autodiffGradients(cell, p, ro, data.x, data.y, { fused: true });
        assert.equal(internal.fusedProfile().forwardCalls, 0, "autodiffGradients ran the fused kernels");
        seqlab.gradientReport(cell, p, ro, data.x, data.y);
        assert.equal(internal.fusedProfile().forwardCalls, 0, "gradientReport's autodiff column ran the fused kernels");
        // The fused path is what unroll runs by default, so the check above is not vacuous.
        const fused = seqlab.modelLoss(cell, p, ro, data.x, data.y);
        assert.equal(internal.fusedProfile().forwardCalls, 1);
        seqlab.disposeAll(auto, p, ro, fused);
        data.dispose();
      });
    }
  });

  describe("the lecture's RNN BPTT (U, V, W, b, c)", () => {
    it("rnnBptt returns ∇U, ∇V, ∇W, ∇b, ∇c equal to tf.grads (fused: false), and ‖∇_h(t) L‖ with ∇_h(τ) L = Vᵀ ∇_o(τ) L", () => {
      const { T, B, I, H, K } = SIZES;
      const data = makeData(SIZES, 23);
      const cellP = seqlab.initRnn({ inputSize: I, hiddenSize: H, seed: 1 });
      const ro = seqlab.initReadout({ hiddenSize: H, classes: K, seed: 2 });
      const params = { ...cellP, ...ro };
      const r = expectNoLeak("rnnBptt", () => seqlab.rnnBptt(params, data.x, data.y));
      const auto = seqlab.autodiffGradients(seqlab.rnnCell, cellP, ro, data.x, data.y, { fused: false });
      assert.deepEqual(Object.keys(r.grads).sort(), ["U", "V", "W", "b", "c"]);
      for (const k of ["U", "W", "b"] as const) assert.ok(agree32(r.grads[k], auto.grads[k]), k);
      assert.ok(agree32(r.grads.V, auto.readoutGrads.V));
      assert.ok(agree32(r.grads.c, auto.readoutGrads.c));
      assert.equal(r.dhNorms.length, T);
      // At the last step only the readout feeds h(τ): ∇_h(τ) L = Vᵀ (ŷ(τ) − 1_{y(τ)}).
      const expected = tf.tidy(() => {
        const { outputs } = seqlab.unroll(seqlab.rnnCell, cellP, data.x);
        const o = seqlab.readout(ro, outputs);
        const last = tf.squeeze(tf.slice(o, [0, T - 1, 0], [B, 1, K]), [1]); // [B, K]
        const yLast = tf.squeeze(tf.slice(data.y, [0, T - 1], [B, 1]), [1]);
        const dO = tf.sub(tf.softmax(last), tf.oneHot(tf.cast(yLast, "int32"), K));
        return tf.norm(tf.matMul(dO, ro.V)).dataSync()[0];
      });
      assert.ok(Math.abs(r.dhNorms[T - 1] - expected) < 1e-5 * expected);
      seqlab.disposeAll(r, auto, cellP, ro);
      data.dispose();
    });
  });

  describe("the checks have teeth", () => {
    it("a backward step that is wrong by 0.1% in one parameter is caught", () => {
      const { I, H, K } = SIZES;
      const data = makeData(SIZES, 24);
      const p = seqlab.initGru({ inputSize: I, hiddenSize: H, seed: 3 });
      const ro = seqlab.initReadout({ hiddenSize: H, classes: K, seed: 4 });
      const broken: seqlab.Cell<seqlab.GruParams, seqlab.HiddenState, seqlab.GruStepOutput> = {
        ...seqlab.gruCell,
        backward(params, x, prev, out, d) {
          const g = seqlab.gruCell.backward(params, x, prev, out, d);
          const W = tf.mul(g.dParams.W, 1.001) as Tensor2D;
          g.dParams.W.dispose();
          return { ...g, dParams: { ...g.dParams, W } };
        },
      };
      const report = seqlab.gradientReport(broken, p, ro, data.x, data.y);
      const row = report.params.find((r) => r.name === "W")!;
      assert.ok(!ok32(row.handVsAutodiff) && !ok32(row.handVsNumeric), JSON.stringify(row));
      assert.ok(row.handVsAutodiff.rel > 5e-4 && row.handVsNumeric.rel > 5e-4, JSON.stringify(row));
      assert.ok(ok32(row.autodiffVsNumeric) && ok64(row.f64HandVsNumeric!), "the references themselves agree");
      seqlab.disposeAll(p, ro);
      data.dispose();
    });

    it("formatGradientReport prints one line per parameter and per timestep", () => {
      const { I, H, K } = SIZES;
      const data = makeData(SIZES, 25);
      const p = seqlab.initLstm({ inputSize: I, hiddenSize: H, seed: 5 });
      const ro = seqlab.initReadout({ hiddenSize: H, classes: K, seed: 6 });
      const text = seqlab.formatGradientReport(seqlab.gradientReport(seqlab.lstmCell, p, ro, data.x, data.y));
      for (const name of ["U", "W", "b", "wci", "wcf", "wco", "V", "c", "x", "h0", "s0", "x(t=0)", "x(t=3)"]) {
        assert.match(text, new RegExp(`^${name.replace(/[()]/g, "\\$&")} +\\d+ `, "m"), name);
      }
      assert.match(text, /hand~auto +hand~num +auto~num +f64hand~num/);
      assert.match(text, /(rel +scaled *){4}/);
      assert.match(text, /^‖∇_h\(t\) L‖, tfjs: +[\d.e+-]+,/m);
      assert.match(text, /^‖∇_h\(t\) L‖, float64: +[\d.e+-]+,/m);
      for (const line of text.split("\n")) assert.ok(line.length <= 100, `${line.length} characters: ${line}`);
      seqlab.disposeAll(p, ro);
      data.dispose();
    });
  });

  describe("gradient checker (CS231n)", () => {
    it("scaledError is max |a−b| / max(1e−8, max|a| + max|b|)", () => {
      assert.ok(Math.abs(seqlab.scaledError([2, 1e-5], [2, 1.1e-5]) - 1e-6 / 4) < 1e-15);
      assert.ok(seqlab.relError([2, 1e-5], [2, 1.1e-5]) > 0.04, "while the per-entry error is large");
      assert.ok(Number.isNaN(seqlab.scaledError([1, NaN], [1, 1])));
    });
    it("relError is max |a−b| / max(1e−8, |a|+|b|) elementwise", () => {
      assert.equal(seqlab.relError([1, 2, 3], [1, 2, 3]), 0);
      assert.equal(seqlab.relError([1, -1], [1, 1]), 1);
      assert.ok(Math.abs(seqlab.relError([1, 10], [1.1, 10]) - 0.1 / 2.1) < 1e-15);
      assert.ok(Math.abs(seqlab.relError([0], [1e-9]) - 0.1) < 1e-12, "the 1e−8 floor");
      assert.ok(Number.isNaN(seqlab.relError([NaN, 1], [0, 1])), "NaN is never hidden");
    });
    it("numericalGradient of a scalar function matches its derivative", () => {
      const f = (x: Float64Array) => x.reduce((acc, v) => acc + Math.sin(v) * v * v, 0);
      const x = Float64Array.from([0.3, -1.2, 2.0, 0.7]);
      const analytic = x.map((v) => Math.cos(v) * v * v + 2 * v * Math.sin(v));
      const numeric = seqlab.numericalGradient(f, x);
      assert.ok(seqlab.relError(analytic, numeric) < 1e-8);
      assert.deepEqual(Array.from(x), [0.3, -1.2, 2.0, 0.7], "x is restored");
    });
    it("numericalGradientArray: the gradient of Σ df ⊙ f(x)", () => {
      const f = (x: Float64Array) => [x[0] * x[1], Math.exp(x[1]), x[2] ** 3];
      const x = Float64Array.from([0.5, -0.4, 1.1]);
      const df = [2, -1, 0.5];
      const analytic = [df[0] * x[1], df[0] * x[0] + df[1] * Math.exp(x[1]), df[2] * 3 * x[2] ** 2];
      assert.ok(seqlab.relError(analytic, seqlab.numericalGradientArray(f, x, df)) < 1e-8);
    });
    it("sparseGradCheck checks random entries and exposes a wrong one", () => {
      const f = (x: Float64Array) => x.reduce((acc, v, k) => acc + (k + 1) * v * v, 0);
      const x = Float64Array.from({ length: 50 }, (_, k) => Math.cos(k));
      const right = x.map((v, k) => 2 * (k + 1) * v);
      const checks = internal.sparseGradCheck(f, x, right, 8, { seed: 1 });
      assert.equal(checks.length, 8);
      assert.ok(checks.every((c) => c.relError < 1e-8));
      const wrong = right.map((v) => v * 1.01);
      assert.ok(internal.sparseGradCheck(f, x, wrong, 8, { seed: 1 }).every((c) => c.relError > 1e-3));
    });
    it("float64 finite differences see what float32 cannot: tfjs autodiff is only ~1e−7 relative", () => {
      // tfjs has no float64: the same finite difference in float32 is orders of magnitude worse.
      const { I, H, K } = SIZES;
      const data = makeData(SIZES, 26);
      const p = seqlab.initRnn({ inputSize: I, hiddenSize: H, seed: 7 });
      const ro = seqlab.initReadout({ hiddenSize: H, classes: K, seed: 8 });
      const lossAt = (b: Float64Array) =>
        tf.tidy(() => {
          const pb = { ...p, b: tf.tensor1d(Float32Array.from(b)) };
          return seqlab.modelLoss(seqlab.rnnCell, pb, ro, data.x, data.y).dataSync()[0];
        });
      const b = values(p.b);
      const numeric32 = seqlab.numericalGradient(lossAt, b, 1e-3);
      const model = {
        cell: "rnn" as const,
        params: internal.paramsToF64(p),
        readout: { V: internal.toF64(ro.V), c: internal.toF64(ro.c) },
        x: internal.toF64(data.x),
        y: data.y.dataSync(),
      };
      const numeric64 = internal.numericGradients(model).grads.b.data;
      const hand64 = internal.referenceGradients(model).grads.b.data;
      assert.ok(seqlab.relError(hand64, numeric64) < 1e-8);
      assert.ok(seqlab.relError(hand64, numeric32) > 100 * seqlab.relError(hand64, numeric64));
      seqlab.disposeAll(p, ro);
      data.dispose();
    });
  });
});
