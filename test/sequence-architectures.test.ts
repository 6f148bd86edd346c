/**
 * The architectures of src/sequence: shapes and masks of each, bidirectional merges and
 * stacks against manual unrolls, state carried across chunks, vector → sequence feeds,
 * teacher forcing (ratio 1 vs 0), errors for bad input, and memory over training steps.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks } from "./recurrent-helpers";
import { flat, ids, inputs, maxDiff, num, tensorCountsOverSteps, throwsWith } from "./sequence-helpers";

const { tf } = seqlab;
type Tensor2D = seqlab.tf.Tensor2D;
type Tensor3D = seqlab.tf.Tensor3D;

describe("sequence architectures", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();
  const B = 3,
    T = 6,
    I = 4,
    H = 5,
    K = 3;

  describe("sequence → vector", () => {
    it("classifies from the last state: o [B, K], loss = mean cross-entropy over B, count = B", () => {
      const m = new seqlab.SequenceToVector({ inputSize: I, cell: "lstm", hiddenSize: H, output: { classes: K }, seed: 1 });
      const x = inputs(B, T, I);
      const y = tf.tensor1d([0, 2, 1], "int32");
      const o = m.predict(x);
      assert.deepEqual(o.shape, [B, K]);
      const r = m.forward({ x, y }, { training: true });
      assert.equal(num(r.count), B);
      // the same loss by hand: −mean log softmax(o)_y
      const manual = tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(o), tf.oneHot(y, K)), 1))));
      assert.ok(Math.abs(num(r.loss) - num(manual)) < 1e-6);
      const right = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(o, 1), y), "float32")));
      assert.equal(num(r.correct!), num(right));
      right.dispose();
      seqlab.disposeAll(x, y, o, r, manual);
      m.dispose();
    });

    it("with a mask answers from each sequence's last REAL step (padding content is ignored)", () => {
      const m = new seqlab.SequenceToVector({ inputSize: I, cell: "gru", hiddenSize: H, output: { values: 2 }, seed: 2 });
      const x = inputs(B, T, I);
      const lengths = [T, 2, 4];
      const mask = internal.maskFromLengths(lengths, T);
      const o = m.predict(x, mask);
      assert.deepEqual(o.shape, [B, 2]);
      lengths.forEach((n, b) => {
        const alone = tf.tidy(() => m.predict(tf.slice(x, [b, 0, 0], [1, n, I]) as Tensor3D));
        const row = tf.slice(o, [b, 0], [1, 2]);
        assert.ok(maxDiff(alone, row) < 1e-5, `sequence ${b} (length ${n})`);
        seqlab.disposeAll(alone, row);
      });
      // garbage in the padding changes nothing
      const noisy = tf.tidy(() => tf.add(x, tf.mul(tf.sub(1, tf.expandDims(mask, 2)), 100)) as Tensor3D);
      const o2 = m.predict(noisy, mask);
      assert.ok(maxDiff(o, o2) < 1e-5);
      seqlab.disposeAll(x, mask, o, noisy, o2);
      m.dispose();
    });

    it("embed: outside a gradient tape one gather, the same bits as onehot(w)·E; under a tape onehot(w)·E, whose ∂E counts each id", async () => {
      const E = tf.tensor2d(
        Array.from({ length: 7 * 3 }, (_, k) => Math.sin(k + 1) * 10 ** ((k % 5) - 2)),
        [7, 3],
      );
      const w = tf.tensor2d([0, 6, 2, 2, 5, 1], [2, 3], "int32");
      let looked: seqlab.tf.Tensor | undefined;
      const profile = await tf.profile(() => {
        looked = internal.embed(E, w);
      });
      assert.deepEqual(
        profile.kernels.map((k) => k.name).filter((n) => n === "GatherV2" || n === "OneHot" || n === "BatchMatMul"),
        ["GatherV2"],
      );
      assert.deepEqual(looked!.shape, [2, 3, 3]);
      let taped: seqlab.tf.Tensor | undefined;
      const dE = tf.grad((e) => {
        const x = internal.embed(e, w);
        taped = tf.keep(x.clone());
        return tf.sum(x);
      })(E);
      assert.deepEqual(Array.from(looked!.dataSync()), Array.from(taped!.dataSync())); // bit for bit
      const rows = E.arraySync();
      assert.deepEqual(looked!.arraySync(), [
        [rows[0], rows[6], rows[2]],
        [rows[2], rows[5], rows[1]],
      ]);
      // ids 0, 6, 2, 2, 5, 1: row r of ∂E is (how often r occurs) · 1
      assert.deepEqual(
        Array.from(dE.dataSync()),
        [1, 1, 2, 0, 0, 1, 1].flatMap((c) => [c, c, c]),
      );
      seqlab.disposeAll(E, w, looked, taped, dE);
    });

    it("token inputs go through an embedding; bidirectional + 2 layers give [B, K]", () => {
      const m = new seqlab.SequenceToVector({
        vocabSize: 7,
        embeddingSize: 3,
        cell: "rnn",
        hiddenSize: H,
        layers: 2,
        bidirectional: "concat",
        output: { classes: K },
        seed: 3,
      });
      assert.equal(m.encoder.outputSize, 2 * H);
      assert.deepEqual(Object.keys(m.variables).sort(), [
        "encoder.layer0.U",
        "encoder.layer0.W",
        "encoder.layer0.b",
        "encoder.layer0.reverse.U",
        "encoder.layer0.reverse.W",
        "encoder.layer0.reverse.b",
        "encoder.layer1.U",
        "encoder.layer1.W",
        "encoder.layer1.b",
        "encoder.layer1.reverse.U",
        "encoder.layer1.reverse.W",
        "encoder.layer1.reverse.b",
        "head.V",
        "head.c",
        "input.E",
      ]);
      assert.deepEqual(m.variables["encoder.layer1.U"].shape, [H, 2 * H]);
      const x = ids(B, T, 7);
      const o = m.predict(x);
      assert.deepEqual(o.shape, [B, K]);
      seqlab.disposeAll(x, o);
      m.dispose();
    });
  });

  describe("bidirectional and stacked layers", () => {
    for (const merge of ["concat", "sum", "average"] as const) {
      it(`merge "${merge}" equals two manual unrolls (one reversed), with a mask`, () => {
        const pf = seqlab.initGru({ inputSize: I, hiddenSize: H, seed: 4 });
        const pb = seqlab.initGru({ inputSize: I, hiddenSize: H, seed: 5 });
        const x = inputs(B, T, I);
        const mask = internal.maskFromLengths([T, 3, 5], T);
        const r = seqlab.bidirectional(seqlab.layer(seqlab.gruCell, pf), seqlab.layer(seqlab.gruCell, pb), x, { merge, mask });
        const f = seqlab.unroll(seqlab.gruCell, pf, x, { mask });
        const b = seqlab.unroll(seqlab.gruCell, pb, x, { mask, reverse: true });
        // the backward direction by hand, sequence by sequence: reverse its real steps, run forward, reverse back
        [T, 3, 5].forEach((n, k) => {
          const hand = tf.tidy(() => {
            const xs = tf.reverse(tf.slice(x, [k, 0, 0], [1, n, I]), 1) as Tensor3D;
            return tf.reverse(seqlab.unroll(seqlab.gruCell, pb, xs).outputs, 1);
          });
          const got = tf.slice(b.outputs, [k, 0, 0], [1, n, H]);
          assert.ok(maxDiff(hand, got) < 1e-5, `reversed direction, sequence ${k}`);
          seqlab.disposeAll(hand, got);
        });
        const expected = tf.tidy(() =>
          merge === "concat"
            ? tf.concat([f.outputs, b.outputs], 2)
            : merge === "sum"
              ? tf.add(f.outputs, b.outputs)
              : tf.div(tf.add(f.outputs, b.outputs), 2),
        );
        assert.deepEqual(r.outputs.shape, [B, T, merge === "concat" ? 2 * H : H]);
        assert.ok(maxDiff(r.outputs, expected) < 1e-6);
        const final = tf.tidy(() =>
          merge === "concat"
            ? tf.concat([f.state.h, b.state.h], 1)
            : merge === "sum"
              ? tf.add(f.state.h, b.state.h)
              : tf.div(tf.add(f.state.h, b.state.h), 2),
        );
        assert.ok(maxDiff(r.final, final) < 1e-6);
        seqlab.disposeAll(pf, pb, x, mask, r, f, b, expected, final);
      });
    }

    it("a 2-layer encoder equals layer 1 unrolled over layer 0's outputs", () => {
      const enc = new seqlab.RecurrentEncoder({ cell: "lstm", inputSize: I, hiddenSize: H, layers: 2, seed: 6 });
      const x = inputs(B, T, I);
      const r = enc.run(x);
      const [l0, l1] = enc.forwardLayers;
      const hand = tf.tidy(
        () => seqlab.unroll(seqlab.lstmCell, l1.params as never, seqlab.unroll(seqlab.lstmCell, l0.params as never, x).outputs).outputs,
      );
      assert.ok(maxDiff(r.outputs, hand) < 1e-6);
      assert.equal(r.states.length, 2);
      assert.deepEqual(Object.keys(r.states[1]).sort(), ["h", "s"]);
      seqlab.disposeAll(x, r, hand);
      enc.dispose();
    });
  });

  describe("sequence → sequence (same length)", () => {
    it("an output at every step; a mask counts only real steps in the loss", () => {
      const m = new seqlab.SequenceToSequence({ inputSize: I, cell: "gru-pytorch", hiddenSize: H, output: { classes: K }, seed: 7 });
      const x = inputs(B, T, I);
      const y = ids(B, T, K);
      const mask = internal.maskFromLengths([T, 2, 4], T);
      const { o, state } = m.predict(x, { mask });
      assert.deepEqual(o.shape, [B, T, K]);
      const r = m.forward({ x, y, mask }, { training: true });
      assert.equal(num(r.count), T + 2 + 4);
      const manual = tf.tidy(() => {
        const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(o), tf.oneHot(y, K)), 2)); // [B, T]
        return tf.div(tf.sum(tf.mul(nll, mask)), tf.sum(mask));
      });
      assert.ok(Math.abs(num(r.loss) - num(manual)) < 1e-6);
      seqlab.disposeAll(x, y, mask, o, state, r, manual);
      m.dispose();
    });

    it("values targets [B, T, K]: mean squared error", () => {
      const m = new seqlab.SequenceToSequence({ inputSize: I, cell: "rnn", hiddenSize: H, output: { values: 2 }, seed: 8 });
      const x = inputs(B, T, I);
      const y = inputs(B, T, 2, 9);
      const { o, state } = m.predict(x);
      const r = m.forward({ x, y }, { training: true });
      const manual = tf.tidy(() => tf.mean(tf.square(tf.sub(o, y))));
      assert.ok(Math.abs(num(r.loss) - num(manual)) < 1e-6);
      seqlab.disposeAll(x, y, o, state, r, manual);
      m.dispose();
    });

    it("carries its state across chunks: two halves with the state passed on = the whole sequence", () => {
      const m = new seqlab.SequenceToSequence({ vocabSize: 6, cell: "lstm", hiddenSize: H, layers: 2, output: { classes: 6 }, seed: 9 });
      const x = ids(B, T, 6);
      const whole = m.predict(x);
      const [a, b] = [tf.slice(x, [0, 0], [B, 3]), tf.slice(x, [0, 3], [B, 3])];
      const first = m.predict(a);
      const second = m.predict(b, { state: first.state });
      const joined = tf.concat([first.o, second.o], 1);
      assert.ok(maxDiff(whole.o, joined) < 1e-5);
      assert.deepEqual(Object.keys(whole.state!).sort(), ["layer0.h", "layer0.s", "layer1.h", "layer1.s"]);
      seqlab.disposeAll(x, a, b, whole, first, second, joined);
      m.dispose();
    });
  });

  describe("vector → sequence", () => {
    it('"every-step" = an unroll over v repeated T times; "initial-state" = v only through h(0)', () => {
      const v = tf.tidy(() => tf.reshape(inputs(B, 1, I), [B, I]) as Tensor2D);
      const every = new seqlab.VectorToSequence({
        cell: "gru",
        inputSize: I,
        hiddenSize: H,
        feed: "every-step",
        output: { classes: K },
        seed: 10,
      });
      const o = every.predict(v, T);
      assert.deepEqual(o.shape, [B, T, K]);
      const hand = tf.tidy(() => {
        const h = seqlab.unroll(every.layer.cell, every.layer.params as never, tf.tile(tf.expandDims(v, 1), [1, T, 1]) as Tensor3D).outputs;
        return seqlab.readout(
          { V: every.head.params.V as unknown as Tensor2D, c: every.head.params.c as unknown as seqlab.tf.Tensor1D },
          h,
        );
      });
      assert.ok(maxDiff(o, hand) < 1e-6);

      const init = new seqlab.VectorToSequence({
        cell: "lstm",
        inputSize: I,
        hiddenSize: H,
        feed: "initial-state",
        output: { values: 1 },
        seed: 11,
      });
      assert.deepEqual(init.layer.params.U.shape, [4 * H, 1]);
      const o2 = init.predict(v, T);
      assert.deepEqual(o2.shape, [B, T, 1]);
      const rows = o2.arraySync();
      assert.ok(maxDiff(rows[0].flat(), rows[1].flat()) > 1e-4, "different vectors give different sequences");
      // trainable: the bridge A gets a gradient
      const y = inputs(B, T, 1, 12);
      const g = tf.tidy(() => tf.variableGrads(() => init.forward({ x: v, y }, { training: true }).loss, [init.bridge!.A]));
      assert.ok(Math.max(...flat(g.grads[init.bridge!.A.name]).map(Math.abs)) > 0);
      seqlab.disposeAll(v, o, hand, o2, y, g);
      every.dispose();
      init.dispose();
    });
  });

  describe("teacher forcing (output → hidden recurrence)", () => {
    const make = (hiddenRecurrence: boolean) =>
      new seqlab.TeacherForcingRnn({ inputSize: I, classes: K, hiddenSize: H, hiddenRecurrence, seed: 13 });

    it("ratio 1 (one unroll) = the step loop fed the truth; ratio 0 = ratio 1 fed its own predictions", () => {
      const m = make(true);
      const x = inputs(B, T, I);
      const y = ids(B, T, K);
      const r1 = m.forward({ x, y }, { training: true, teacherForcingRatio: 1 });
      const almost = m.forward({ x, y }, { training: true, teacherForcingRatio: 1 - 1e-12 }); // step loop, coins all "truth"
      assert.ok(Math.abs(num(r1.loss) - num(almost.loss)) < 1e-5);
      const r0 = m.forward({ x, y }, { training: false, teacherForcingRatio: 0 });
      assert.ok(Math.abs(num(r0.loss) - num(r1.loss)) > 1e-4, "free running differs from teacher forcing");
      // its own predictions, then teacher-force with them: same loss as free running
      const own = tf.tidy(() => tf.argMax(m.run(x, y, 0), 2) as Tensor2D);
      const fed = m.forward({ x, y, yIn: own }, { training: true, teacherForcingRatio: 1 });
      assert.ok(Math.abs(num(fed.loss) - num(r0.loss)) < 1e-5);
      // the default: ratio 1 when training, 0 when evaluating
      const dTrain = m.forward({ x, y }, { training: true });
      const dEval = m.forward({ x, y }, { training: false });
      assert.equal(num(dTrain.loss), num(r1.loss));
      assert.equal(num(dEval.loss), num(r0.loss));
      seqlab.disposeAll(x, y, r1, almost, r0, own, fed, dTrain, dEval);
      m.dispose();
    });

    it("hiddenRecurrence: false is the lecture's network: W stays 0 and is not trained", () => {
      const m = make(false);
      assert.ok(!("layer.W" in m.variables));
      const x = inputs(B, T, I);
      const y = ids(B, T, K);
      const counts = tensorCountsOverSteps(m, { x, y }, 2);
      assert.equal(counts[0], counts[1]);
      assert.equal(Math.max(...flat(m.layer.params.W).map(Math.abs)), 0);
      seqlab.disposeAll(x, y);
      m.dispose();
      assert.throws(
        () => new seqlab.TeacherForcingRnn({ inputSize: I, classes: K, hiddenSize: H, cell: "lstm", hiddenRecurrence: false }),
        /needs cell "rnn"/,
      );
    });
  });

  describe("bad input", () => {
    it("a token id outside the vocabulary names the argument, V and the id", () => {
      const m = new seqlab.SequenceToVector({ vocabSize: 5, cell: "rnn", hiddenSize: H, output: { classes: K } });
      const x = tf.tensor2d([[1, 2, 7]], [1, 3], "int32");
      const y = tf.tensor1d([0], "int32");
      throwsWith(() => m.forward({ x, y }, { training: true }), ["batch.x", "token id 7", "V = 5"]);
      const yBad = tf.tensor1d([3], "int32");
      const xOk = tf.tensor2d([[1, 2, 3]], [1, 3], "int32");
      throwsWith(() => m.forward({ x: xOk, y: yBad }, { training: true }), ["batch.y", "token id 3", "V = 3"]);
      assert.throws(
        () => m.forward({ x, y }, { training: true }),
        (e: Error) => e instanceof internal.VocabularyError && e.argument === "batch.x" && e.expected === 5 && e.actual === 7,
      );
      seqlab.disposeAll(x, y, yBad, xOk);
      m.dispose();
    });

    it("a sequence longer than maxLength, an empty batch, a wrong feature size", () => {
      const m = new seqlab.SequenceToSequence({ inputSize: I, cell: "gru", hiddenSize: H, output: { classes: K }, maxLength: 4 });
      const long = inputs(1, 5, I);
      throwsWith(() => m.predict(long), ["x", "T = 5", "maxLength = 4"]);
      const empty = tf.zeros([0, 3, I]);
      const yEmpty = tf.zeros([0, 3]);
      throwsWith(() => m.forward({ x: empty, y: yEmpty }, { training: true }), ["batch.x", "empty batch", "[0, 3, 4]"]);
      const wrong = inputs(2, 3, I + 1);
      throwsWith(() => m.predict(wrong), ["x", "I = 4", "[2, 3, 5]"]);
      const x = inputs(2, 3, I);
      const yLong = tf.zeros([2, 4], "int32");
      throwsWith(() => m.forward({ x, y: yLong }, { training: true }), ["batch.y", "[B, T] = [2, 3]", "[2, 4]"]);
      seqlab.disposeAll(long, empty, yEmpty, wrong, x, yLong);
      m.dispose();
      throwsWith(
        () => new seqlab.SequenceToVector({ inputSize: I, vocabSize: 3, cell: "rnn", hiddenSize: H, output: { classes: K } }),
        ["exactly one of inputSize", "vocabSize"],
      );
      throwsWith(
        () => new seqlab.RecurrentEncoder({ cell: "elman" as never, inputSize: I, hiddenSize: H }),
        ["cell must be one of", '"elman"'],
      );
      throwsWith(
        () => new seqlab.RecurrentEncoder({ cell: "rnn", inputSize: I, hiddenSize: H, bidirectional: "max" as never }),
        ["bidirectional", '"max"'],
      );
    });
  });

  describe("memory", () => {
    it("tf.memory().numTensors is flat across forward + backward + optimizer steps, for every model", () => {
      const x = inputs(B, T, I);
      const xi = ids(B, T, 6);
      const yT = ids(B, T, K);
      const yB = tf.tensor1d([0, 1, 2], "int32");
      const v = tf.tidy(() => tf.reshape(inputs(B, 1, I), [B, I]));
      const mask = internal.maskFromLengths([T, 2, 4], T);
      const cases: [string, seqlab.Trainable, seqlab.Batch][] = [
        [
          "SequenceToVector",
          new seqlab.SequenceToVector({ inputSize: I, cell: "lstm", hiddenSize: H, bidirectional: "sum", output: { classes: K } }),
          { x, y: yB, mask },
        ],
        [
          "SequenceToSequence",
          new seqlab.SequenceToSequence({ vocabSize: 6, cell: "gru", hiddenSize: H, layers: 2, output: { classes: K } }),
          { x: xi, y: yT, mask },
        ],
        [
          "VectorToSequence",
          new seqlab.VectorToSequence({ cell: "rnn", inputSize: I, hiddenSize: H, feed: "initial-state", output: { classes: K } }),
          { x: v, y: yT },
        ],
        ["TeacherForcingRnn", new seqlab.TeacherForcingRnn({ inputSize: I, classes: K, hiddenSize: H }), { x, y: yT }],
      ];
      for (const [name, model, batch] of cases) {
        for (const r of [1, 0.5]) {
          const counts = tensorCountsOverSteps(model, batch, 3, { training: true, teacherForcingRatio: r });
          assert.equal(counts[2], counts[1], `${name}: ${counts.join(" → ")}`);
        }
        model.dispose();
      }
      seqlab.disposeAll(x, xi, yT, yB, v, mask);
    });
  });
});
