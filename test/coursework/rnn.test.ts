/**
 * The checks of assignment 1 (src/coursework/rnn.ts): each passes a right answer on the
 * wasm and the cpu backend, recognises each mistake it lists, reports a stub as "not
 * implemented yet", and leaves tf.memory().numTensors unchanged whether it passes or fails.
 *
 * The students' functions are written here the way the assignment's solutions write them,
 * each with a switch that plants one mistake.
 */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { rnnStep } from "../../src/cells/rnn/rnn";
import { CheckFailure } from "../../src/coursework/compare";
import {
  checkReadoutLoss,
  checkRnnBackward,
  checkRnnForward,
  checkRnnStepBackward,
  checkRnnStepForward,
  type ReadoutLoss,
  type RnnBackward,
  type RnnForward,
  type RnnStepBackward,
  type RnnStepForward,
} from "../../src/coursework/rnn";

// The students' functions, right unless `bug` names a mistake -----------------------------------

const stepForward =
  (bug?: string): RnnStepForward =>
  (x, hPrev, p) =>
    tf.tidy(() => {
      const Wh = bug === "w-not-transposed" ? tf.matMul(hPrev, p.W) : tf.matMul(hPrev, p.W, false, true); // W h(t−1)
      const Ux = bug === "u-not-transposed" ? tf.matMul(x, p.U) : tf.matMul(x, p.U, false, true); // U x(t)
      const a = bug === "missing-bias" ? tf.add(Wh, Ux) : tf.add(tf.add(p.b, Wh), Ux);
      return (bug === "missing-tanh" ? a : bug === "sigmoid-not-tanh" ? tf.sigmoid(a) : tf.tanh(a)) as Tensor2D;
    });

const stepBackward =
  (bug?: string): RnnStepBackward =>
  (x, hPrev, h, dh, p) =>
    tf.tidy(() => {
      const a = tf.add(tf.add(p.b, tf.matMul(hPrev, p.W, false, true)), tf.matMul(x, p.U, false, true));
      const derivative =
        bug === "missing-tanh-derivative"
          ? tf.onesLike(h)
          : bug === "derivative-of-pre-activation"
            ? tf.sub(1, tf.square(a))
            : bug === "derivative-at-h-prev"
              ? tf.sub(1, tf.square(hPrev))
              : bug === "factor 2"
                ? tf.mul(2, tf.sub(1, tf.square(h)))
                : tf.sub(1, tf.square(h));
      const da = tf.mul(dh, derivative) as Tensor2D;
      const dhPrev =
        bug === "w-not-transposed"
          ? tf.matMul(da, p.W, false, true)
          : bug === "diagonal-after-w"
            ? tf.mul(tf.matMul(dh, p.W), tf.sub(1, tf.square(h)))
            : tf.matMul(da, p.W);
      const n = bug === "mean-over-batch" ? x.shape[0] : 1;
      const dW = bug === "transposed" ? tf.matMul(hPrev, da, true, false) : tf.matMul(da, bug === "dw-with-h" ? h : hPrev, true, false);
      return {
        dx: tf.matMul(da, p.U) as Tensor2D,
        dhPrev: dhPrev as Tensor2D,
        dU: tf.div(tf.matMul(da, x, true, false), n) as Tensor2D,
        dW: tf.div(dW, n) as Tensor2D,
        db: tf.div(tf.sum(da, 0), n) as Tensor1D,
      };
    });

const forward =
  (bug?: string): RnnForward =>
  (x, h0, p, step) =>
    tf.tidy(() => {
      const T = x.shape[1];
      const xs = tf.unstack(x, 1) as Tensor2D[];
      const hs: Tensor2D[] = new Array(T);
      let h = bug === "h0-ignored" ? tf.zerosLike(h0) : h0;
      for (let k = 0; k < T; k++) {
        const t = bug === "reversed-time" ? T - 1 - k : k;
        const next = bug === "step-not-used" ? rnnStep(p, xs[t], { h }).h : step(xs[t], bug === "state-not-carried" ? h0 : h, p);
        hs[t] = bug === "off-by-one" ? h : next;
        h = next;
      }
      return tf.stack(hs, bug === "time-major" ? 0 : 1) as Tensor3D;
    });

const backward =
  (bug?: string): RnnBackward =>
  (x, h0, hs, dhs, p, stepBack) =>
    tf.tidy(() => {
      const T = x.shape[1];
      const xs = tf.unstack(x, 1) as Tensor2D[];
      const hList = tf.unstack(hs, 1) as Tensor2D[];
      const dhList = tf.unstack(dhs, 1) as Tensor2D[];
      let dU = tf.zerosLike(p.U);
      let dW = tf.zerosLike(p.W);
      let db = tf.zerosLike(p.b);
      const dxs: Tensor2D[] = new Array(T);
      let carried = tf.zerosLike(h0);
      const stepBackwardToUse = bug === "step-not-used" ? stepBackward() : stepBack;
      for (let k = 0; k < T; k++) {
        const t = bug === "forward-in-time" ? k : T - 1 - k;
        const dh =
          bug === "no-carried-gradient"
            ? dhList[t]
            : bug === "upstream-only-at-last-step" && t < T - 1
              ? carried
              : bug === "factor 2"
                ? tf.add(tf.add(dhList[t], carried), dhList[t])
                : tf.add(dhList[t], carried);
        const hPrev = t > 0 ? hList[t - 1] : bug === "h0-ignored" ? tf.zerosLike(h0) : h0;
        const g = stepBackwardToUse(
          xs[t],
          bug === "h-prev-is-h" ? hList[t] : hPrev,
          bug === "h-is-h-prev" ? hPrev : hList[t],
          dh as Tensor2D,
          p,
        );
        dxs[t] = g.dx;
        dU = bug === "not-summed-over-time" ? g.dU : tf.add(dU, g.dU);
        dW = bug === "not-summed-over-time" ? g.dW : tf.add(dW, g.dW);
        db = bug === "not-summed-over-time" ? g.db : tf.add(db, g.db);
        carried = g.dhPrev;
      }
      return { dx: tf.stack(dxs, bug === "time-major" ? 0 : 1) as Tensor3D, dh0: carried, dU, dW, db };
    });

const readoutLoss =
  (bug?: string): ReadoutLoss =>
  (hs, y, p) =>
    tf.tidy(() => {
      const [B, T, H] = hs.shape;
      const K = p.V.shape[0];
      const h2 = tf.reshape(hs, [B * T, H]) as Tensor2D;
      const Vh = tf.matMul(h2, p.V, false, true);
      const o = bug === "missing-bias-c" ? Vh : tf.add(Vh, p.c); // [B·T, K]
      const logYhat =
        bug === "softmax-over-time"
          ? tf.reshape(tf.transpose(tf.logSoftmax(tf.transpose(tf.reshape(o, [B, T, K]), [0, 2, 1])), [0, 2, 1]), [B * T, K])
          : bug === "no-max-subtracted"
            ? tf.log(tf.div(tf.exp(o), tf.sum(tf.exp(o), 1, true)))
            : tf.logSoftmax(o);
      const target = tf.oneHot(tf.reshape(y, [B * T]) as Tensor1D, K);
      const n = bug === "mean-not-sum" ? B * T : bug === "mean-over-batch" ? B : 1;
      const sign = bug === "factor -1" ? -1 : 1;
      const loss = tf.mul(sign / n, tf.neg(tf.sum(tf.mul(logYhat, target))));
      const dO = tf.mul(sign / n, bug === "missing-one-hot" ? tf.exp(logYhat) : tf.sub(tf.exp(logYhat), target)) as Tensor2D;
      return {
        loss: loss as tf.Scalar,
        dhs: tf.reshape(tf.matMul(dO, p.V), [B, T, H]) as Tensor3D,
        dV: tf.matMul(dO, h2, true, false) as Tensor2D,
        dc: tf.sum(dO, 0) as Tensor1D,
      };
    });

const stub = (): never => {
  throw new Error("not implemented yet");
};

/** Runs fn with console.log captured; returns what it printed. */
function printed(fn: () => void): string {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    fn();
  } finally {
    console.log = log;
  }
  return lines.join("\n");
}

/** Asserts that `run` throws a CheckFailure for `mistake`, naming `quantity`. */
function fails(run: () => void, mistake: string, quantity: string | RegExp, message?: RegExp): void {
  let failure: CheckFailure | undefined;
  try {
    printed(run);
  } catch (e) {
    if (!(e instanceof CheckFailure)) throw e;
    failure = e;
  }
  assert.ok(failure, `expected a CheckFailure for ${mistake}, the check passed`);
  assert.equal(failure.mistake, mistake, failure.message);
  if (typeof quantity === "string") {
    assert.equal(failure.quantity, quantity, failure.message);
    assert.ok(failure.message.includes(quantity), failure.message);
  } else assert.match(failure.message, quantity);
  if (message) assert.match(failure.message, message);
}

// The hidden tests' sizes (coursework/assignments/01-rnn-step-and-bptt.ipynb), plus more seeds.
const STEP_CASES = [{}, { seed: 2024, B: 1, I: 7, H: 2 }, { seed: 77, B: 6, I: 3, H: 8, scale: 2 }, { seed: 5, B: 2, I: 5, H: 5 }];
const SEQUENCE_CASES = [
  {},
  { seed: 2024, B: 1, T: 1, I: 2, H: 3 },
  { seed: 77, B: 4, T: 10, I: 3, H: 8, scale: 2 },
  { seed: 9, B: 2, T: 3, I: 6, H: 6 },
];
const READOUT_CASES = [
  {},
  { seed: 2024, B: 1, T: 7, H: 2, K: 5 },
  { seed: 77, B: 4, T: 3, H: 6, K: 10, scale: 3 },
  { seed: 5, logitShift: 100 },
];
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

describe("coursework: assignment 1 (rnn)", () => {
  let tensorsBefore = 0;
  beforeEach(() => {
    tensorsBefore = tf.memory().numTensors;
  });
  afterEach(function () {
    if (this.currentTest?.state === "passed") assert.equal(tf.memory().numTensors, tensorsBefore, "the check left tensors behind");
  });

  for (const backend of ["wasm", "cpu"] as const) {
    describe(`a right answer passes on ${backend}`, () => {
      before(async () => {
        await initBackend(backend);
        assert.equal(tf.getBackend(), backend);
      });
      after(async () => {
        await initBackend("wasm");
      });

      it("checkRnnStepForward", () => {
        for (const options of STEP_CASES) {
          const out = printed(() => checkRnnStepForward(stepForward(), options));
          assert.match(out, /^✓ rnnStepForward: h\(t\) matches the float64 forward \(largest error [\d.e-]+\)$/);
        }
        for (const seed of SEEDS) printed(() => checkRnnStepForward(stepForward(), { seed, scale: 2 }));
      });
      it("checkRnnStepBackward", () => {
        for (const options of STEP_CASES) {
          const out = printed(() => checkRnnStepBackward(stepBackward(), options));
          assert.match(out, /^✓ rnnStepBackward: ∂x\(t\), ∂h\(t−1\), ∂U, ∂W, ∂b match .* finite differences .*\(largest error [\d.e-]+\)$/);
        }
        for (const seed of SEEDS) printed(() => checkRnnStepBackward(stepBackward(), { seed, scale: 2, B: 1, H: 3 }));
      });
      it("checkRnnForward", () => {
        for (const options of SEQUENCE_CASES) {
          const out = printed(() => checkRnnForward(forward(), options));
          assert.match(out, /^✓ rnnForward: hs = h\(1\)( matches| … h\(\d+\) match) the float64 forward/);
        }
        for (const seed of SEEDS) printed(() => checkRnnForward(forward(), { seed, scale: 2, T: 12 }));
      });
      it("checkRnnBackward", () => {
        for (const options of SEQUENCE_CASES) {
          const out = printed(() => checkRnnBackward(backward(), options));
          assert.match(out, /^✓ rnnBackward: ∂x, ∂h\(0\), ∂U, ∂W, ∂b over T = \d+ steps? match .* finite differences/);
        }
        for (const seed of SEEDS) printed(() => checkRnnBackward(backward(), { seed, scale: 2, T: 12, B: 1 }));
      });
      it("checkReadoutLoss", () => {
        for (const options of READOUT_CASES) {
          const out = printed(() => checkReadoutLoss(readoutLoss(), options));
          assert.match(out, /^✓ readoutLoss: L, ∂h, ∂V, ∂c match .* finite differences/);
        }
        for (const seed of SEEDS) printed(() => checkReadoutLoss(readoutLoss(), { seed, scale: 3 }));
      });
    });
  }

  describe("each listed mistake is recognised", () => {
    before(async () => {
      await initBackend("wasm");
    });

    it("rnnStepForward", () => {
      fails(() => checkRnnStepForward(stepForward("w-not-transposed")), "w-not-transposed", "h(t)", /Wᵀ/);
      fails(() => checkRnnStepForward(stepForward("missing-tanh")), "missing-tanh", "h(t)", /tanh/);
      fails(() => checkRnnStepForward(stepForward("missing-bias")), "missing-bias", "h(t)", /bias b/);
      fails(() => checkRnnStepForward(stepForward("sigmoid-not-tanh")), "sigmoid-not-tanh", "h(t)", /sigmoid/);
      fails(() => checkRnnStepForward(stepForward("u-not-transposed"), { I: 5, H: 5 }), "u-not-transposed", "h(t)", /Uᵀ/);
      // With I ≠ H the same mistake cannot even multiply: tfjs's error is passed on.
      fails(() => checkRnnStepForward(stepForward("u-not-transposed")), "threw", "rnnStepForward", /rnnStepForward threw/);
    });

    it("rnnStepBackward", () => {
      const cases: [string, string][] = [
        ["missing-tanh-derivative", "∂x(t)"],
        ["derivative-of-pre-activation", "∂x(t)"],
        ["derivative-at-h-prev", "∂x(t)"],
        ["w-not-transposed", "∂h(t−1)"],
        ["diagonal-after-w", "∂h(t−1)"],
        ["mean-over-batch", "∂U"],
        ["dw-with-h", "∂W"],
        ["factor 2", "∂x(t)"],
        ["transposed", "∂W"],
      ];
      for (const [bug, quantity] of cases) fails(() => checkRnnStepBackward(stepBackward(bug)), bug, quantity);
      fails(() => checkRnnStepBackward(stepBackward("missing-tanh-derivative")), "missing-tanh-derivative", "∂x(t)", /1 − h\(t\)²/);
      fails(() => checkRnnStepBackward(stepBackward("diagonal-after-w")), "diagonal-after-w", "∂h(t−1)", /diagonal acts first/);
    });

    it("rnnForward", () => {
      for (const bug of ["h0-ignored", "state-not-carried", "off-by-one", "reversed-time"]) {
        fails(() => checkRnnForward(forward(bug)), bug, "hs");
      }
      fails(() => checkRnnForward(forward("time-major")), "time-major", "hs", /stack the steps on axis 1/);
      fails(() => checkRnnForward(forward("step-not-used")), "step-not-used", "step", /never called `step`/);
    });

    it("rnnBackward", () => {
      const cases: [string, string][] = [
        ["no-carried-gradient", "∂x"],
        ["upstream-only-at-last-step", "∂x"],
        ["h-prev-is-h", "∂W"],
        ["h-is-h-prev", "∂x"],
        ["h0-ignored", "∂W"],
        ["forward-in-time", "∂x"],
        ["not-summed-over-time", "∂U"],
        ["time-major", "∂x"],
      ];
      for (const [bug, quantity] of cases) fails(() => checkRnnBackward(backward(bug)), bug, quantity);
      fails(() => checkRnnBackward(backward("no-carried-gradient")), "no-carried-gradient", "∂x", /carried back from t\+1 is missing/);
      fails(() => checkRnnBackward(backward("step-not-used")), "step-not-used", "stepBackward", /never called `stepBackward`/);
      // A gradient added twice at every step is not a constant factor of the answer, but is still caught.
      assert.throws(() => printed(() => checkRnnBackward(backward("factor 2"))), CheckFailure);
    });

    it("readoutLoss", () => {
      const cases: [string, string][] = [
        ["mean-not-sum", "L"],
        ["mean-over-batch", "L"],
        ["softmax-over-time", "L"],
        ["missing-bias-c", "L"],
        ["missing-one-hot", "∂h (dhs)"],
        ["factor -1", "L"],
      ];
      for (const [bug, quantity] of cases) fails(() => checkReadoutLoss(readoutLoss(bug)), bug, quantity);
      fails(() => checkReadoutLoss(readoutLoss("missing-one-hot")), "missing-one-hot", "∂h (dhs)", /tf\.oneHot/);
      // Without the max subtracted, large logits overflow exp.
      printed(() => checkReadoutLoss(readoutLoss("no-max-subtracted")));
      fails(() => checkReadoutLoss(readoutLoss("no-max-subtracted"), { logitShift: 100 }), "non-finite", "L", /NaN or Infinity/);
    });

    it("a field missing from the result is named", () => {
      const noDb: RnnStepBackward = (x, hPrev, h, dh, p) => {
        const { dx, dhPrev, dU, dW, db } = stepBackward()(x, hPrev, h, dh, p);
        db.dispose();
        return { dx, dhPrev, dU, dW } as unknown as ReturnType<RnnStepBackward>;
      };
      fails(() => checkRnnStepBackward(noDb), "missing", "∂b", /return it as `db`/);
    });
  });

  describe("stubs, throws and leaks", () => {
    it('a stub gives the "not implemented yet" failure, for every check', () => {
      const checks: [string, () => void][] = [
        ["rnnStepForward", () => checkRnnStepForward(stub)],
        ["rnnStepBackward", () => checkRnnStepBackward(stub)],
        ["rnnForward", () => checkRnnForward(stub)],
        ["rnnBackward", () => checkRnnBackward(stub)],
        ["readoutLoss", () => checkReadoutLoss(stub)],
      ];
      for (const [where, run] of checks) {
        fails(run, "stub", where, new RegExp(`^${where} is not implemented yet`));
      }
    });

    it("tensors are disposed when the student's function throws after making some", () => {
      const n = tf.memory().numTensors;
      const half: RnnStepBackward = (x, hPrev) => {
        tf.matMul(x, x, true, false);
        tf.square(hPrev);
        throw new Error("oops");
      };
      fails(() => checkRnnStepBackward(half), "threw", "rnnStepBackward", /threw Error: oops/);
      assert.equal(tf.memory().numTensors, n);
    });

    it("tensors are disposed when a check fails, for every check", () => {
      const n = tf.memory().numTensors;
      assert.throws(() => printed(() => checkRnnStepForward(stepForward("missing-tanh"))), CheckFailure);
      assert.throws(() => printed(() => checkRnnStepBackward(stepBackward("dw-with-h"))), CheckFailure);
      assert.throws(() => printed(() => checkRnnForward(forward("off-by-one"))), CheckFailure);
      assert.throws(() => printed(() => checkRnnBackward(backward("h0-ignored"))), CheckFailure);
      assert.throws(() => printed(() => checkReadoutLoss(readoutLoss("missing-bias-c"))), CheckFailure);
      assert.equal(tf.memory().numTensors, n);
    });

    it("a student's function that leaks passes with a one-line note, and the check disposes what it left", () => {
      const n = tf.memory().numTensors;
      const leaky: RnnStepForward = (x, hPrev, p) => {
        const Wh = tf.matMul(hPrev, p.W, false, true);
        const Ux = tf.matMul(x, p.U, false, true);
        return tf.tanh(tf.add(tf.add(p.b, Wh), Ux)) as Tensor2D;
      };
      const out = printed(() => checkRnnStepForward(leaky));
      assert.match(out, /^✓ rnnStepForward/);
      assert.match(out, /\n {2}note: rnnStepForward left 4 tensors undisposed \(wrap its body in tf\.tidy\); the check disposed them\.$/);
      assert.equal(tf.memory().numTensors, n);
      assert.doesNotMatch(
        printed(() => checkRnnStepForward(stepForward())),
        /note/,
      );
    });

    it("unknown options and bad sizes are errors that say so", () => {
      assert.throws(() => checkRnnForward(forward(), { t: 3 } as never), /checkRnnForward: unknown option "t"; did you mean "T"\?/);
      assert.throws(() => checkRnnStepBackward(stepBackward(), { H: 0 }), /checkRnnStepBackward: H must be a positive integer/);
    });
  });
});
