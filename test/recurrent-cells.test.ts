/**
 * The cells compute the lecture's equations: against the float64 reference, against hand
 * calculations that isolate one term (peepholes, the GRU's z), with seeded initialisers,
 * and with errors that say what is wrong. (tfjs's own layers: recurrent-tfjs-layers.test.ts;
 * PyTorch: recurrent-torch.test.ts.)
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { CELLS, SIZES, assertNoTensorLeaks, expectNoLeak, makeData, maxAbsDiff, stateFor, values } from "./recurrent-helpers";

const { tf } = seqlab;
type Tensor2D = seqlab.tf.Tensor2D;
type Tensor3D = seqlab.tf.Tensor3D;

describe("recurrent cells", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  describe("forward pass = float64 reference (an independent implementation in plain loops)", () => {
    for (const { label, cell, init } of CELLS) {
      it(`${label}: outputs and final state`, () => {
        const { T, B, I, H, K } = SIZES;
        const data = makeData(SIZES);
        const p = init(I, H, 5) as never;
        const ro = seqlab.initReadout({ hiddenSize: H, classes: K, seed: 6 });
        const initialState = stateFor(cell, data.h0, data.s0);
        const res = expectNoLeak("unroll", () => seqlab.unroll(cell as seqlab.AnyCell, p, data.x, { initialState }));
        const ref = internal.referenceGradients({
          cell: cell.reference!,
          params: internal.paramsToF64(p),
          readout: { V: internal.toF64(ro.V), c: internal.toF64(ro.c) },
          x: internal.toF64(data.x),
          y: data.y.dataSync(),
          initialState: internal.paramsToF64(initialState),
        });
        assert.deepEqual(res.outputs.shape, [B, T, H]);
        assert.ok(maxAbsDiff(values(res.outputs), ref.outputs.data) < 1e-6);
        for (const key of cell.stateKeys) {
          assert.ok(maxAbsDiff(values((res.state as Record<string, Tensor2D>)[key]), ref.state[key].data) < 1e-6, key);
        }
        seqlab.disposeAll(res, p, ro);
        data.dispose();
      });
    }
  });

  it("rnnStep is a(t) = b + W h(t−1) + U x(t), h(t) = tanh(a(t)), written out for one entry", () => {
    const p = seqlab.initRnn({ inputSize: 2, hiddenSize: 3, seed: 1 });
    const x = tf.tensor2d([[0.3, -0.7]]);
    const hPrev = tf.tensor2d([[0.1, 0.2, -0.4]]);
    const { h } = seqlab.rnnStep(p, x, { h: hPrev });
    const [U, W, b] = [p.U.arraySync(), p.W.arraySync(), p.b.arraySync()];
    for (let i = 0; i < 3; i++) {
      const a = b[i] + W[i][0] * 0.1 + W[i][1] * 0.2 + W[i][2] * -0.4 + U[i][0] * 0.3 + U[i][1] * -0.7;
      assert.ok(Math.abs(h.arraySync()[0][i] - Math.tanh(a)) < 1e-6);
    }
    seqlab.disposeAll(p, x, hPrev, h);
  });

  describe("LSTM peepholes (diagonal; i and f see s(t−1), o sees s(t))", () => {
    // With U = W = 0 each gate's pre-activation is its bias plus its peephole term,
    // so every gate can be computed by hand.
    const H = 3;
    const s0 = [0.5, -1.0, 2.0];
    const bias = { i: 0.2, f: -0.3, g: 0.7, o: 0.1 };
    const sig = (a: number) => 1 / (1 + Math.exp(-a));
    function stepWith(w: { wci: number; wcf: number; wco: number }) {
      const b = [...Array(H).fill(bias.i), ...Array(H).fill(bias.f), ...Array(H).fill(bias.g), ...Array(H).fill(bias.o)];
      const p: seqlab.LstmParams = {
        U: tf.zeros([4 * H, 2]) as Tensor2D,
        W: tf.zeros([4 * H, H]) as Tensor2D,
        b: tf.tensor1d(b),
        wci: tf.fill([H], w.wci) as seqlab.tf.Tensor1D,
        wcf: tf.fill([H], w.wcf) as seqlab.tf.Tensor1D,
        wco: tf.fill([H], w.wco) as seqlab.tf.Tensor1D,
      };
      const x = tf.zeros([1, 2]) as Tensor2D;
      const prev = { h: tf.zeros([1, H]) as Tensor2D, s: tf.tensor2d([s0]) };
      const out = seqlab.lstmStep(p, x, prev);
      const got = {
        i: out.i.arraySync()[0],
        f: out.f.arraySync()[0],
        o: out.o.arraySync()[0],
        s: out.s.arraySync()[0],
        h: out.h.arraySync()[0],
      };
      seqlab.disposeAll(p, x, prev, out);
      return got;
    }
    it("input and forget gates see s(t−1)", () => {
      const got = stepWith({ wci: 0.8, wcf: -0.6, wco: 0 });
      for (let j = 0; j < H; j++) {
        assert.ok(Math.abs(got.i[j] - sig(bias.i + 0.8 * s0[j])) < 1e-6);
        assert.ok(Math.abs(got.f[j] - sig(bias.f - 0.6 * s0[j])) < 1e-6);
      }
    });
    it("output gate sees the new s(t); s(t) = f ⊙ s(t−1) + i ⊙ g; h = o ⊙ tanh(s)", () => {
      const got = stepWith({ wci: 0, wcf: 0, wco: 1.5 });
      for (let j = 0; j < H; j++) {
        const s = sig(bias.f) * s0[j] + sig(bias.i) * Math.tanh(bias.g);
        assert.ok(Math.abs(got.s[j] - s) < 1e-6);
        assert.ok(Math.abs(got.o[j] - sig(bias.o + 1.5 * s)) < 1e-6);
        assert.ok(Math.abs(got.h[j] - sig(bias.o + 1.5 * s) * Math.tanh(s)) < 1e-6);
      }
    });
    it("zero peepholes = no peepholes", () => {
      const { I, H: Hs } = SIZES;
      const data = makeData(SIZES);
      const p = seqlab.initLstm({ inputSize: I, hiddenSize: Hs, seed: 3 });
      const zeroPeep = { ...p, wci: tf.zerosLike(p.wci!), wcf: tf.zerosLike(p.wcf!), wco: tf.zerosLike(p.wco!) };
      const noPeep = { U: p.U, W: p.W, b: p.b };
      const a = seqlab.unroll(seqlab.lstmCell, zeroPeep, data.x);
      const b = seqlab.unroll(seqlab.lstmCell, noPeep, data.x);
      assert.equal(maxAbsDiff(values(a.outputs), values(b.outputs)), 0);
      const c = seqlab.unroll(seqlab.lstmCell, p, data.x);
      assert.ok(maxAbsDiff(values(a.outputs), values(c.outputs)) > 1e-3, "peepholes must change the outputs");
      seqlab.disposeAll(p, zeroPeep.wci, zeroPeep.wcf, zeroPeep.wco, a, b, c);
      data.dispose();
    });
  });

  describe("GRU conventions, selected by name", () => {
    const H = 4;
    const I = 2;
    // Bias the update gate to z ≈ 1 (b_z = +30): the lecture takes the candidate, PyTorch keeps h(t−1).
    function run(convention: "lecture" | "pytorch", bz: number) {
      const cell = convention === "lecture" ? seqlab.CELLS.gru : seqlab.CELLS["gru-pytorch"];
      const p = cell.init!({ inputSize: I, hiddenSize: H, seed: 2 });
      const b = p.b.arraySync();
      for (let j = H; j < 2 * H; j++) b[j] = bz;
      const p2 = { ...p, b: tf.tensor1d(b) };
      const x = tf.tensor2d([[0.4, -0.3]]);
      const hPrev = tf.tensor2d([[0.9, -0.8, 0.7, -0.6]]);
      const out = cell.step(p2, x, { h: hPrev });
      const got = { h: out.h.arraySync()[0], n: out.n.arraySync()[0] };
      seqlab.disposeAll(p, p2.b, x, hPrev, out);
      return got;
    }
    it('"lecture": h = (1 − z) ⊙ h(t−1) + z ⊙ h̃ — z ≈ 1 takes the candidate', () => {
      const got = run("lecture", 30);
      assert.ok(maxAbsDiff(got.h, got.n) < 1e-6);
    });
    it('"pytorch": h = (1 − z) ⊙ n + z ⊙ h(t−1) — z ≈ 1 keeps the old state', () => {
      const got = run("pytorch", 30);
      assert.ok(maxAbsDiff(got.h, [0.9, -0.8, 0.7, -0.6]) < 1e-6);
      const low = run("pytorch", -30);
      assert.ok(maxAbsDiff(low.h, low.n) < 1e-6);
    });
    it("reset before the matmul (lecture) and after it (pytorch) differ even with bh = 0", () => {
      const data = makeData(SIZES);
      const p = seqlab.initGru({ inputSize: SIZES.I, hiddenSize: SIZES.H, seed: 4 });
      const bh = tf.zeros([3 * SIZES.H]) as seqlab.tf.Tensor1D;
      // Same weights; with bh = 0 only the position of r (and the role of z) differ. Flip z back
      // by negating the z rows, so that only the reset position is left.
      const flipped = tf.tidy(() => {
        const neg = tf.concat([tf.ones([SIZES.H]), tf.fill([SIZES.H], -1), tf.ones([SIZES.H])]); // [3H]: −1 on the z rows
        const rows = neg.expandDims(1); // [3H, 1]
        return { U: tf.mul(p.U, rows) as Tensor2D, W: tf.mul(p.W, rows) as Tensor2D, b: tf.mul(p.b, neg) as seqlab.tf.Tensor1D, bh };
      });
      const a = seqlab.unroll(seqlab.gruCell, p, data.x);
      const b = seqlab.unroll(seqlab.gruPytorchCell, flipped, data.x);
      const diff = maxAbsDiff(values(a.outputs), values(b.outputs));
      assert.ok(diff > 1e-3 && diff < 0.5, `reset position should matter a little, got ${diff}`);
      seqlab.disposeAll(p, flipped, a, b);
      data.dispose();
    });
    it("the registry names both conventions: gru (lecture) and gru-pytorch", () => {
      assert.deepEqual(Object.keys(seqlab.CELLS), ["rnn", "lstm", "gru", "gru-pytorch"]);
      assert.equal(seqlab.CELLS.gru, seqlab.gruCell);
      assert.equal(seqlab.CELLS["gru-pytorch"], seqlab.gruPytorchCell);
    });
  });

  describe("seeded initialisers", () => {
    const snapshot = (seed: number) => {
      const ps = [
        seqlab.initRnn({ inputSize: 3, hiddenSize: 5, seed }),
        seqlab.initLstm({ inputSize: 3, hiddenSize: 5, seed }),
        seqlab.initGru({ inputSize: 3, hiddenSize: 5, seed }),
        seqlab.initGruPytorch({ inputSize: 3, hiddenSize: 5, seed }),
        seqlab.initReadout({ hiddenSize: 5, classes: 3, seed }),
      ];
      const flat = ps.flatMap((p) => Object.values(p).flatMap((t) => Array.from((t as seqlab.tf.Tensor).dataSync())));
      seqlab.disposeAll(ps);
      return flat;
    };
    it("same seed → same weights; another seed → other weights", () => {
      assert.deepEqual(snapshot(42), snapshot(42));
      assert.notDeepEqual(snapshot(42), snapshot(43));
    });
    it("same seed → same weights on the cpu backend as on this one", async () => {
      const here = tf.getBackend();
      const a = snapshot(7);
      await tf.setBackend("cpu");
      try {
        assert.equal(tf.getBackend(), "cpu");
        assert.deepEqual(snapshot(7), a);
      } finally {
        await tf.setBackend(here);
      }
    });
    it("entries lie in [−1/√H, 1/√H) and are spread out (PyTorch's default)", () => {
      const p = seqlab.initLstm({ inputSize: 3, hiddenSize: 16, seed: 1 });
      const w = values(p.W);
      const k = 1 / Math.sqrt(16);
      assert.ok(w.every((v) => v >= -k && v < k));
      const mean = w.reduce((a, b) => a + b, 0) / w.length;
      const variance = w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length;
      assert.ok(Math.abs(mean) < 0.02 && Math.abs(variance - (k * k) / 3) < 0.2 * ((k * k) / 3), `mean ${mean}, var ${variance}`);
      seqlab.disposeAll(p);
    });
    it("Rng: uniform in [0, 1), normal has mean ≈ 0 and variance ≈ 1", () => {
      const rng = new seqlab.Rng(3);
      const u = Array.from({ length: 4000 }, () => rng.next());
      assert.ok(u.every((v) => v >= 0 && v < 1));
      const n = Array.from({ length: 4000 }, () => rng.normal());
      const mean = n.reduce((a, b) => a + b, 0) / n.length;
      const variance = n.reduce((a, b) => a + b * b, 0) / n.length - mean * mean;
      assert.ok(Math.abs(mean) < 0.06 && Math.abs(variance - 1) < 0.08, `mean ${mean}, var ${variance}`);
    });
  });

  describe("shape errors name the argument, the expected and the actual shape", () => {
    const { B, T, I, H } = SIZES;
    function expectShapeError(fn: () => unknown, argument: string, message: RegExp) {
      const before = tf.memory().numTensors;
      assert.throws(fn, (e: unknown) => {
        assert.ok(e instanceof seqlab.ShapeError, `expected a ShapeError, got ${e}`);
        assert.equal(e.argument, argument);
        assert.match(e.message, message);
        return true;
      });
      assert.equal(tf.memory().numTensors, before, "a failed call must not leak");
    }
    it("x, h0, s0 and mask", () => {
      const p = seqlab.initLstm({ inputSize: I, hiddenSize: H });
      const x = tf.zeros([B, T, I + 1]) as Tensor3D;
      expectShapeError(
        () => seqlab.unroll(seqlab.lstmCell, p, x),
        "x",
        /^unroll\(lstm\): x must have shape \[B, T, I\] = \[2, 4, 3\], got \[2, 4, 4\]$/,
      );
      const x2 = tf.zeros([B, I]) as unknown as Tensor3D;
      expectShapeError(
        () => seqlab.unroll(seqlab.lstmCell, p, x2),
        "x",
        /x must have shape \[B, T, I\] \(rank 3\), got \[2, 3\] \(rank 2\)/,
      );
      const good = tf.zeros([B, T, I]) as Tensor3D;
      const h0 = tf.zeros([B, H - 1]) as Tensor2D;
      const s0 = tf.zeros([B + 1, H]) as Tensor2D;
      const ok = tf.zeros([B, H]) as Tensor2D;
      expectShapeError(
        () => seqlab.unroll(seqlab.lstmCell, p, good, { initialState: { h: h0 } }),
        "h0",
        /h0 must have shape \[B, H\] = \[2, 5\], got \[2, 4\]/,
      );
      expectShapeError(
        () => seqlab.unroll(seqlab.lstmCell, p, good, { initialState: { h: ok, s: s0 } }),
        "s0",
        /s0 must have shape \[B, H\] = \[2, 5\], got \[3, 5\]/,
      );
      const mask = tf.ones([B, T + 1]) as Tensor2D;
      expectShapeError(
        () => seqlab.unroll(seqlab.lstmCell, p, good, { mask }),
        "mask",
        /mask must have shape \[B, T\] = \[2, 4\], got \[2, 5\]/,
      );
      seqlab.disposeAll(p, x, x2, good, h0, s0, ok, mask);
    });
    it("every weight of every cell, and the readout", () => {
      const x = tf.zeros([B, T, I]) as Tensor3D;
      const lstm = seqlab.initLstm({ inputSize: I, hiddenSize: H });
      const bad1 = tf.zeros([H]) as seqlab.tf.Tensor1D;
      const cases: [() => unknown, string, RegExp][] = [
        [
          () => seqlab.unroll(seqlab.lstmCell, { ...lstm, W: lstm.U } as seqlab.LstmParams, x),
          "W",
          /lstm: W must have shape \[4H, H\] = \[12, 3\], got \[20, 3\]/,
        ],
        [() => seqlab.unroll(seqlab.lstmCell, { ...lstm, b: bad1 }, x), "b", /lstm: b must have shape \[4H\] = \[20\], got \[5\]/],
        [() => seqlab.unroll(seqlab.lstmCell, { ...lstm, wco: lstm.b }, x), "wco", /lstm: wco must have shape \[H\] = \[5\], got \[20\]/],
      ];
      const rnn = seqlab.initRnn({ inputSize: I, hiddenSize: H });
      cases.push([
        () => seqlab.unroll(seqlab.rnnCell, { ...rnn, b: rnn.U as never }, x),
        "b",
        /rnn: b must have shape \[H\] = \[5\], got \[5, 3\] \(rank 2, expected rank 1\)/,
      ]);
      const gru = seqlab.initGruPytorch({ inputSize: I, hiddenSize: H });
      cases.push([
        () => seqlab.unroll(seqlab.gruCell, { ...gru, U: gru.W }, x),
        "x",
        /unroll\(gru\): x must have shape \[B, T, I\] = \[2, 4, 5\], got \[2, 4, 3\]/,
      ]);
      cases.push([
        () => seqlab.unroll(seqlab.gruPytorchCell, { ...gru, bh: bad1 }, x),
        "bh",
        /gru-pytorch: bh must have shape \[3H\] = \[15\], got \[5\]/,
      ]);
      const ro = seqlab.initReadout({ hiddenSize: H + 1, classes: 3 });
      const h = tf.zeros([B, T, H]) as Tensor3D;
      cases.push([() => seqlab.readout(ro, h), "V", /readout: V must have shape \[K, H\] = \[3, 5\], got \[3, 6\]/]);
      for (const [fn, arg, re] of cases) expectShapeError(fn, arg, re);
      seqlab.disposeAll(x, lstm, bad1, rnn, gru, ro, h);
    });
    it("missing peepholes and unknown state names", () => {
      const p = seqlab.initLstm({ inputSize: I, hiddenSize: H });
      const x = tf.zeros([B, T, I]) as Tensor3D;
      assert.throws(
        () => seqlab.unroll(seqlab.lstmCell, { U: p.U, W: p.W, b: p.b, wci: p.wci }, x),
        /give all three peepholes wci, wcf, wco or none \(got 1\)/,
      );
      const h0 = tf.zeros([B, H]) as Tensor2D;
      const rnn = seqlab.initRnn({ inputSize: I, hiddenSize: H });
      assert.throws(
        () => seqlab.unroll(seqlab.rnnCell as seqlab.AnyCell, rnn, x, { initialState: { c: h0 } }),
        /initialState has no "c"; the rnn state is \{h\}/,
      );
      seqlab.disposeAll(p, x, h0, rnn);
    });
  });
});
