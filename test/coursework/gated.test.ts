/**
 * The checks of assignment 2 (src/coursework/gated.ts): a right answer passes on the wasm
 * and the cpu backend, every mistake a check lists is recognised by name when a student
 * makes it (each written here in tfjs, as a student would, independently of the float64
 * variants the check computes), a stub says "not implemented yet", and no check leaves a
 * tensor behind, whether the student's function passes, fails, throws or leaks.
 */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D } from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { lstmStep, lstmStepBackward, type LstmParams, type LstmState } from "../../src/cells/lstm/lstm";
import { gruStep, gruStepBackward, type GruParams } from "../../src/cells/gru/gru";
import { CheckFailure } from "../../src/coursework/compare";
import {
  GATED_MISTAKES,
  checkGruStepBackward,
  checkGruStepForward,
  checkLstmStepBackward,
  checkLstmStepForward,
  type GatedCheckOptions,
  type GruStepBackward,
  type GruStepGradients,
  type GruStepForward,
  type LstmStepBackward,
  type LstmStepForward,
} from "../../src/coursework/gated";

// The student's functions, right or with one mistake made on purpose ----------------------------------

const one = (t: tf.Tensor) => tf.sub(1, t);
const dsig = (t: tf.Tensor) => t.mul(one(t)); // σ' written with σ

/** The LSTM forward as the notebook's solution writes it, with `m` made. */
function lstmForward(m = ""): LstmStepForward {
  return (x, prev, p) =>
    tf.tidy(() => {
      const a = x
        .matMul(p.U, false, true)
        .add(prev.h.matMul(p.W, false, true))
        .add(p.b); // [B, 4H]
      const blocks = tf.split(a, 4, 1) as Tensor2D[];
      const order = m === "gate-order-i-f-o-g" ? [0, 1, 3, 2] : m === "gate-order-i-g-f-o" ? [0, 2, 1, 3] : [0, 1, 2, 3];
      const [ai, af, ag, ao] = order.map((k) => blocks[k]);
      const [wi, wf] = m === "peepholes-swapped" ? [p.wcf!, p.wci!] : [p.wci!, p.wcf!];
      const seen = m === "peephole-reads-h" ? prev.h : prev.s;
      const peep = (w: Tensor1D, s: Tensor2D) => (m === "no-peepholes" ? tf.zerosLike(s) : w.mul(s));
      const i = tf.sigmoid(ai.add(peep(wi, seen))) as Tensor2D;
      const f = tf.sigmoid(af.add(peep(wf, seen))) as Tensor2D;
      const g = (m === "cell-input-sigmoid" ? tf.sigmoid(ag) : tf.tanh(ag)) as Tensor2D;
      const s = (m === "gates-swapped-in-s" ? f.mul(g).add(i.mul(prev.s)) : f.mul(prev.s).add(i.mul(g))) as Tensor2D;
      const o = tf.sigmoid(ao.add(peep(p.wco!, m === "output-peephole-reads-s(t-1)" ? prev.s : s))) as Tensor2D;
      const h = (m === "h-without-tanh" ? o.mul(s) : o.mul(tf.tanh(s))) as Tensor2D;
      return { h, s, i, f, g, o };
    });
}

/** The LSTM backward, with `m` made. */
function lstmBackward(m = ""): LstmStepBackward {
  return (dNext, x, prev, p, out) =>
    tf.tidy(() => {
      const { i, f, g, o, s, h } = out;
      const tanhS = tf.tanh(s);
      const dao = dNext.h.mul(tanhS).mul(m === "missing-sigmoid-derivative-output" ? 1 : dsig(o));
      const es = (m === "missing-ds" ? tf.zerosLike(s) : dNext.s)
        .add(dNext.h.mul(o).mul(m === "missing-tanh-derivative-cell-state" ? 1 : one(tanhS.square())))
        .add(m === "missing-output-peephole-path" ? 0 : p.wco!.mul(dao));
      const dai = es.mul(g).mul(m === "missing-sigmoid-derivative-input" ? 1 : dsig(i));
      const daf = es.mul(m === "forget-delta-with-s(t)" ? s : prev.s).mul(m === "missing-sigmoid-derivative-forget" ? 1 : dsig(f));
      const dag = es.mul(i).mul(m === "missing-tanh-derivative-cell-input" ? 1 : one(g.square()));
      let dsPrev = m === "dsprev-without-forget-gate" ? es : es.mul(f);
      if (m !== "dsprev-missing-peepholes") dsPrev = dsPrev.add(p.wci!.mul(dai)).add(p.wcf!.mul(daf));
      const da = tf.concat(m === "delta-order-i-f-o-g" ? [dai, daf, dao, dag] : [dai, daf, dag, dao], 1); // [B, 4H]
      const sIn = m === "peephole-gradients-with-s(t)" ? s : prev.s;
      return {
        dx: da.matMul(p.U) as Tensor2D,
        dhPrev: da.matMul(p.W) as Tensor2D,
        dsPrev: dsPrev as Tensor2D,
        dU: da.matMul(x, true, false) as Tensor2D,
        dW: da.matMul(m === "dW-with-h(t)" ? h : prev.h, true, false) as Tensor2D,
        db: da.sum(0) as Tensor1D,
        dwci: dai.mul(sIn).sum(0) as Tensor1D,
        dwcf: daf.mul(sIn).sum(0) as Tensor1D,
        dwco: dao.mul(m === "output-peephole-gradient-with-s(t-1)" ? prev.s : s).sum(0) as Tensor1D,
      };
    });
}

/** The lecture's GRU forward, with `m` made. */
function gruForward(m = ""): GruStepForward {
  return (x, hPrev, p) =>
    tf.tidy(() => {
      const [U0, U1, Un] = tf.split(p.U, 3, 0) as Tensor2D[];
      const [W0, W1, Wn] = tf.split(p.W, 3, 0) as Tensor2D[];
      const [b0, b1, bn] = tf.split(p.b, 3) as Tensor1D[];
      const gate = (U: Tensor2D, W: Tensor2D, b: Tensor1D) =>
        tf.sigmoid(
          x
            .matMul(U, false, true)
            .add(hPrev.matMul(W, false, true))
            .add(b),
        ) as Tensor2D;
      const [r, z] = m === "gate-order-z-r-n" ? [gate(U1, W1, b1), gate(U0, W0, b0)] : [gate(U0, W0, b0), gate(U1, W1, b1)];
      const recurrent =
        m === "reset-after-matmul"
          ? r.mul(hPrev.matMul(Wn, false, true))
          : (m === "no-reset" ? hPrev : r.mul(hPrev)).matMul(Wn, false, true);
      const a = x.matMul(Un, false, true).add(recurrent).add(bn);
      const n = (m === "candidate-sigmoid" ? tf.sigmoid(a) : tf.tanh(a)) as Tensor2D;
      const h = (m === "z-flipped" ? z.mul(hPrev).add(one(z).mul(n)) : one(z).mul(hPrev).add(z.mul(n))) as Tensor2D;
      return { h, r, z, n };
    });
}

/** The lecture's GRU backward, with `m` made. */
function gruBackward(m = ""): GruStepBackward {
  return (dh, x, hPrev, p, out) =>
    tf.tidy(() => {
      const { r, z, n, h } = out;
      const [Wr, Wz, Wn] = tf.split(p.W, 3, 0) as Tensor2D[];
      const flipped = m === "z-flipped";
      const dz = dh.mul(flipped || m === "dz-sign" ? hPrev.sub(n) : n.sub(hPrev));
      const dan = dh.mul(flipped ? one(z) : z).mul(m === "missing-tanh-derivative-candidate" ? 1 : one(n.square()));
      const drh = dan.matMul(Wn);
      const dar = drh.mul(m === "dar-without-hprev" ? 1 : hPrev).mul(m === "missing-sigmoid-derivative-reset" ? 1 : dsig(r));
      const daz = dz.mul(m === "missing-sigmoid-derivative-update" ? 1 : dsig(z));
      let dhPrev = dar.matMul(Wr).add(daz.matMul(Wz));
      if (m !== "dhprev-missing-direct") dhPrev = dhPrev.add(dh.mul(flipped ? z : one(z)));
      if (m !== "dhprev-missing-reset-path") dhPrev = dhPrev.add(drh.mul(r));
      const hRead = m === "dW-with-h(t)" ? h : hPrev;
      const da = tf.concat([dar, daz, dan], 1); // [B, 3H]
      const dW = tf.concat(
        [
          dar.matMul(hRead, true, false),
          daz.matMul(hRead, true, false),
          dan.matMul(m === "dWn-with-hprev" ? hRead : r.mul(hRead), true, false),
        ],
        0,
      );
      return {
        dx: da.matMul(p.U) as Tensor2D,
        dhPrev: dhPrev as Tensor2D,
        dU: da.matMul(x, true, false) as Tensor2D,
        dW: dW as Tensor2D,
        db: da.sum(0) as Tensor1D,
      };
    });
}

/** seqlab's own cells, adapted to the student's signatures: a second right answer. */
const library = {
  lstmForward: ((x, prev, p) => lstmStep(p, x, prev)) as LstmStepForward,
  lstmBackward: ((dNext, x, prev, p, out) => {
    const g = lstmStepBackward(p, x, prev, out, dNext);
    const d = g.dParams;
    return { dx: g.dx, dhPrev: g.dPrev.h, dsPrev: g.dPrev.s, dU: d.U, dW: d.W, db: d.b, dwci: d.wci!, dwcf: d.wcf!, dwco: d.wco! };
  }) as LstmStepBackward,
  gruForward: ((x, hPrev, p) => gruStep(p, x, { h: hPrev })) as GruStepForward,
  gruBackward: ((dh, x, hPrev, p, out) => {
    const g = gruStepBackward(p, x, { h: hPrev }, out, { h: dh });
    return { dx: g.dx, dhPrev: g.dPrev.h, dU: g.dParams.U, dW: g.dParams.W, db: g.dParams.b };
  }) as GruStepBackward,
};

// Helpers --------------------------------------------------------------------------------------------

/** Runs fn with console.log captured; returns what it printed and what it returned. */
function quiet<R>(fn: () => R): { lines: string[]; result: R } {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  try {
    return { lines, result: fn() };
  } finally {
    console.log = log;
  }
}

/** The CheckFailure fn throws (fails the test if it throws nothing or something else). */
function failure(fn: () => unknown): CheckFailure {
  try {
    quiet(fn);
  } catch (e) {
    if (e instanceof CheckFailure) return e;
    throw e;
  }
  assert.fail("expected a CheckFailure");
}

const checks = [
  { name: "lstmStepForward", check: checkLstmStepForward, right: lstmForward, library: library.lstmForward },
  { name: "lstmStepBackward", check: checkLstmStepBackward, right: lstmBackward, library: library.lstmBackward },
  { name: "gruStepForward", check: checkGruStepForward, right: gruForward, library: library.gruForward },
  { name: "gruStepBackward", check: checkGruStepBackward, right: gruBackward, library: library.gruBackward },
] as unknown as {
  name: keyof typeof GATED_MISTAKES;
  check: (fn: unknown, options?: GatedCheckOptions) => void;
  right: (m?: string) => unknown;
  library: unknown;
}[];

/** The options of the public check and of the notebook's hidden tests. */
const CASES: GatedCheckOptions[] = [
  {},
  { seed: 2024, B: 1, I: 7, H: 2 },
  { seed: 77, B: 6, I: 3, H: 8 },
  { seed: 5, B: 4, I: 2, H: 6, scale: 3 },
];

// The tests ------------------------------------------------------------------------------------------

describe("coursework: gated cells (assignment 2)", function () {
  this.timeout(60_000);
  let initial = "";
  let start = 0;
  before(async () => {
    await initBackend();
    initial = tf.getBackend();
  });
  after(async () => {
    await initBackend(initial);
  });
  beforeEach(() => {
    start = tf.memory().numTensors;
  });
  afterEach(function () {
    if (this.currentTest?.state !== "passed") return;
    assert.equal(tf.memory().numTensors, start, `"${this.currentTest.title}" left tensors behind`);
  });

  for (const backend of ["wasm", "cpu"]) {
    describe(`right answers pass on ${backend}`, () => {
      before(async () => {
        await initBackend(backend);
        assert.equal(tf.getBackend(), backend);
      });
      for (const { name, check, right, library: lib } of checks) {
        it(`${name}: the notebook's solution and seqlab's cell pass, with one ✓ line each, for every size and seed`, () => {
          for (const options of CASES) {
            for (const fn of [right(), lib]) {
              const { lines } = quiet(() => check(fn, options));
              assert.equal(lines.length, 1, lines.join("\n"));
              const line = lines[0].match(new RegExp(`^✓ ${name}: .* \\(largest error ([0-9.e-]+)\\)$`));
              assert.ok(line, lines[0]);
              if (name.endsWith("Backward")) assert.match(lines[0], /independently, finite differences of the float64 forward/);
              assert.ok(Number(line[1]) < 1e-5, `${name} ${JSON.stringify(options)}: ${lines[0]}`);
            }
          }
        });
      }
    });
  }

  for (const { name, check, right } of checks) {
    describe(`${name}: every listed mistake is recognised`, () => {
      for (const mistake of GATED_MISTAKES[name]) {
        it(mistake, () => {
          for (const options of [{}, { seed: 77, B: 6, I: 3, H: 8 }]) {
            const e = failure(() => check(right(mistake), options));
            assert.equal(e.mistake, mistake, `${JSON.stringify(options)}: ${e.message}`);
            assert.ok(e.message.startsWith(`${name}: ${e.quantity} is wrong`), e.message);
            assert.match(e.quantity, /\(\w+\)$/, "the quantity names the key the student returns");
          }
        });
      }
    });
  }

  describe("messages", () => {
    it("names the quantity and the mistake: the planted bugs of the notebook", () => {
      const lstm = failure(() => checkLstmStepForward(lstmForward("output-peephole-reads-s(t-1)")));
      assert.match(
        lstm.message,
        /^lstmStepForward: the output gate b_ω \(o\) is wrong: error .*\n {2}The output gate is computed after the cell/,
      );
      const gru = failure(() => checkGruStepForward(gruForward("z-flipped")));
      assert.match(gru.message, /^gruStepForward: the output h\(t\) \(h\) is wrong[\s\S]*PyTorch's convention/);
      const sigma = failure(() => checkLstmStepBackward(lstmBackward("missing-sigmoid-derivative-output")));
      assert.match(sigma.message, /^lstmStepBackward: ∂b \(db\) is wrong[\s\S]*σ'\(a_ω\)/);
    });

    it("a stub says 'not implemented yet'", () => {
      const stub = () => {
        throw new Error("not implemented yet");
      };
      for (const { name, check } of checks) {
        const e = failure(() => check(stub));
        assert.equal(e.mistake, "stub");
        assert.match(e.message, new RegExp(`^${name} is not implemented yet`));
      }
    });

    it("another throw is reported with what was thrown", () => {
      const e = failure(() =>
        checkLstmStepForward((x, prev, p) => {
          x.matMul(p.U); // [B, I] × [4H, I]: the forgotten transpose
          return lstmStep(p, x, prev);
        }),
      );
      assert.equal(e.mistake, "threw");
      assert.match(
        e.message,
        /^lstmStepForward threw Error: Error in matMul: inner shapes .*\n {2}Rows hold the batch, so U x\(t\) is x Uᵀ/,
      );
    });

    it("a wrong return value is named", () => {
      const e = failure(() => checkGruStepForward((() => undefined) as unknown as GruStepForward));
      assert.equal(e.mistake, "return");
      assert.match(e.message, /^gruStepForward must return an object \{ h, r, z, n \}, got undefined/);
      const missing = failure(() =>
        checkGruStepForward(((x: Tensor2D, h: Tensor2D, p: GruParams) => ({ h: gruStep(p, x, { h }).h })) as GruStepForward),
      );
      assert.match(missing.message, /^gruStepForward: the reset gate r \(r\) is missing/);
    });

    it("a gradient left out is named with its key", () => {
      const backward = gruBackward();
      const e = failure(() =>
        checkGruStepBackward((...args) => {
          const { db, ...rest } = backward(...args);
          db.dispose();
          return rest as GruStepGradients;
        }),
      );
      assert.match(e.message, /^gruStepBackward: ∂b \(db\) is missing: the function returned nothing for it\./);
    });

    it("a transposed gradient is recognised from its shape", () => {
      const backward = lstmBackward();
      const e = failure(() =>
        checkLstmStepBackward((...args) => tf.tidy(() => ({ ...backward(...args), dU: backward(...args).dU.transpose() as Tensor2D }))),
      );
      assert.equal(e.mistake, "transposed");
      assert.match(e.message, /^lstmStepBackward: ∂U \(dU\) has shape \[4, 20\], expected \[20, 4\]\. It looks transposed/);
    });

    it("averaging over the batch instead of summing is recognised as a factor 1/B", () => {
      const backward = gruBackward();
      const e = failure(() =>
        checkGruStepBackward((...args) => tf.tidy(() => ({ ...backward(...args), db: backward(...args).db.div(3) as Tensor1D }))),
      );
      assert.equal(e.mistake, "factor 0.3333333333333333");
      assert.match(e.message, /about 1\/3 of the right value: did you average over the batch \(B = 3\) instead of summing\?/);
    });

    it("an unknown mistake in a stacked gradient says which gate blocks are off", () => {
      const backward = lstmBackward();
      const wrongCellBlock: LstmStepBackward = (dNext, x, prev, p, out) =>
        tf.tidy(() => {
          const g = backward(dNext, x, prev, p, out);
          const H = p.W.shape[1];
          const scale = tf.concat([tf.ones([2 * H]), tf.fill([H], 1.5), tf.ones([H])]);
          return { ...g, db: g.db.mul(scale) as Tensor1D };
        });
      const e = failure(() => checkLstmStepBackward(wrongCellBlock));
      assert.equal(e.mistake, undefined);
      assert.match(
        e.message,
        /matches no mistake this check knows[\s\S]*The blocks of the cell input c are off; those of the input gate ι, forget gate φ and output gate ω are right\./,
      );
    });
  });

  describe("memory", () => {
    it("a leaky student function is noted in one line, and the check disposes what it left", () => {
      const leaky: LstmStepForward = (x, prev, p) => {
        tf.ones([3, 3]); // an intermediate nobody disposes
        return lstmStep(p, x, prev);
      };
      const { lines } = quiet(() => checkLstmStepForward(leaky));
      assert.equal(lines.length, 2, lines.join("\n"));
      assert.match(lines[0], /^note: lstmStepForward left 1 intermediate tensor undisposed/);
      assert.match(lines[1], /^✓ lstmStepForward/);
    });

    it("no tensors are left behind when the student's function fails or throws midway", () => {
      const start = tf.memory().numTensors;
      failure(() => checkLstmStepBackward(lstmBackward("missing-ds")));
      failure(() => checkGruStepBackward(gruBackward("z-flipped")));
      failure(() =>
        checkGruStepForward(() => {
          tf.zeros([5, 5]);
          throw new Error("boom");
        }),
      );
      assert.equal(tf.memory().numTensors, start);
    });

    it("an argument the student returns unchanged is still disposed once", () => {
      const passThrough: LstmStepForward = (x, prev: LstmState, p: LstmParams) => ({ ...lstmStep(p, x, prev), s: prev.s });
      const e = failure(() => checkLstmStepForward(passThrough));
      assert.match(e.message, /the cell state s\(t\) \(s\) is wrong/);
    });
  });
});
