/**
 * Mistakes students make, caught early with a message that names the argument, what was
 * expected and what came: wrong sizes in the one-step API, bad configuration, labels and
 * token ids out of range, masks that are not 0/1.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks, expectNoLeak } from "./recurrent-helpers";

import tf = seqlab.tf;
const [B, I, H, K, T] = [2, 3, 4, 5, 3];

/** Runs `fn`, disposing whatever it made, and asserts it throws `name` with a message matching `message`. */
function throwsError(fn: () => unknown, name: string, message: RegExp): void {
  expectNoLeak(name, () => {
    assert.throws(
      () => tf.tidy(() => void fn()),
      (e: Error) => {
        assert.equal(e.name, name);
        assert.match(e.message, message);
        return true;
      },
    );
  });
}

describe("errors: caught early, naming the argument, what was expected and what came", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  const params = {
    rnn: () => seqlab.initRnn({ inputSize: I, hiddenSize: H }),
    lstm: () => seqlab.initLstm({ inputSize: I, hiddenSize: H }),
    gru: () => seqlab.initGru({ inputSize: I, hiddenSize: H }),
  };

  describe("one step: x [B, I] and the state [B, H]", () => {
    it("rnnStep: x with the wrong input size names x, [B, I] and both shapes", () => {
      const p = params.rnn();
      throwsError(
        () => seqlab.rnnStep(p, tf.zeros([B, I + 1]), { h: tf.zeros([B, H]) }),
        "ShapeError",
        /^rnnStep: x must have shape \[B, I\] = \[2, 3\], got \[2, 4\]$/,
      );
      throwsError(
        () => seqlab.rnnStep(p, tf.zeros([I]) as never, { h: tf.zeros([B, H]) }),
        "ShapeError",
        /^rnnStep: x must have shape \[B, I\] \(rank 2\), got \[3\] \(rank 1\)$/,
      );
      seqlab.disposeAll(p);
    });

    it("rnnStep: h with the wrong hidden size, or another batch size than x, names h", () => {
      const p = params.rnn();
      throwsError(
        () => seqlab.rnnStep(p, tf.zeros([B, I]), { h: tf.zeros([B, H + 1]) }),
        "ShapeError",
        /^rnnStep: h must have shape \[B, H\] = \[2, 4\], got \[2, 5\]$/,
      );
      throwsError(
        () => seqlab.rnnStep(p, tf.zeros([B, I]), { h: tf.zeros([B + 1, H]) }),
        "ShapeError",
        /^rnnStep: h must have shape \[B, H\] = \[2, 4\], got \[3, 4\] \(B is x's batch size\)$/,
      );
      throwsError(
        () => seqlab.rnnStep(p, tf.zeros([B, I]), {} as never),
        "ShapeError",
        /^rnnStep: h must be a tensor \[B, H\] = \[2, 4\], got undefined$/,
      );
      seqlab.disposeAll(p);
    });

    it("lstmStep: names s when the cell state is wrong", () => {
      const p = params.lstm();
      throwsError(
        () => seqlab.lstmStep(p, tf.zeros([B, I]), { h: tf.zeros([B, H]), s: tf.zeros([B, H - 1]) }),
        "ShapeError",
        /^lstmStep: s must have shape \[B, H\] = \[2, 4\], got \[2, 3\]$/,
      );
      throwsError(
        () => seqlab.lstmStep(p, tf.zeros([B, I]), { h: tf.zeros([B, H]) } as never),
        "ShapeError",
        /^lstmStep: s must be a tensor/,
      );
      throwsError(
        () => seqlab.lstmStep(p, tf.zeros([B, 7]), { h: tf.zeros([B, H]), s: tf.zeros([B, H]) }),
        "ShapeError",
        /^lstmStep: x must have shape \[B, I\] = \[2, 3\], got \[2, 7\]$/,
      );
      seqlab.disposeAll(p);
    });

    it("gruStep: names x and h", () => {
      const p = params.gru();
      throwsError(
        () => seqlab.gruStep(p, tf.zeros([B, 1]), { h: tf.zeros([B, H]) }),
        "ShapeError",
        /^gruStep: x must have shape \[B, I\] = \[2, 3\], got \[2, 1\]$/,
      );
      throwsError(
        () => seqlab.gruStep(p, tf.zeros([B, I]), { h: tf.zeros([1, H]) }),
        "ShapeError",
        /^gruStep: h must have shape \[B, H\] = \[2, 4\], got \[1, 4\]/,
      );
      seqlab.disposeAll(p);
    });

    it("the backward steps check x, the state and ∂L/∂state", () => {
      const p = params.gru();
      const x = tf.zeros([B, I]) as tf.Tensor2D;
      const prev = { h: tf.zeros([B, H]) as tf.Tensor2D };
      const out = seqlab.gruStep(p, x, prev);
      throwsError(
        () => seqlab.gruStepBackward(p, x, prev, out, { h: tf.zeros([B, H + 2]) }),
        "ShapeError",
        /^gruStepBackward: dState\.h must have shape \[B, H\] = \[2, 4\], got \[2, 6\]$/,
      );
      throwsError(() => seqlab.gruStepBackward(p, tf.zeros([B, 9]), prev, out, prev), "ShapeError", /^gruStepBackward: x must have shape/);
      seqlab.disposeAll(out);
      const q = params.lstm();
      const ls = { h: tf.zeros([B, H]) as tf.Tensor2D, s: tf.zeros([B, H]) as tf.Tensor2D };
      const lo = seqlab.lstmStep(q, x, ls);
      throwsError(
        () => seqlab.lstmStepBackward(q, x, ls, lo, { h: ls.h, s: tf.zeros([B + 1, H]) }),
        "ShapeError",
        /^lstmStepBackward: dState\.s must have shape \[B, H\] = \[2, 4\], got \[3, 4\]/,
      );
      const r = params.rnn();
      const ro = seqlab.rnnStep(r, x, prev);
      throwsError(() => seqlab.rnnStepBackward(r, x, { h: tf.zeros([B, 1]) }, ro, ro), "ShapeError", /^rnnStepBackward: h must have shape/);
      seqlab.disposeAll(lo, ro, ls, prev, x);
      seqlab.disposeAll(p, q, r);
    });

    it("the checks read nothing back from the backend", () => {
      const p = params.lstm();
      const x = tf.zeros([B, I]) as tf.Tensor2D;
      const prev = { h: tf.zeros([B, H]) as tf.Tensor2D, s: tf.zeros([B, H]) as tf.Tensor2D };
      let reads = 0;
      for (const t of [x, prev.h, prev.s]) {
        const counted = t as unknown as Record<string, unknown>;
        for (const m of ["dataSync", "data", "arraySync", "array", "bufferSync", "buffer"]) counted[m] = () => (reads++, []);
      }
      seqlab.disposeAll(seqlab.lstmStep(p, x, prev));
      assert.equal(reads, 0);
      seqlab.disposeAll(p, x, prev);
    });
  });

  describe("configuration: sizes must be positive integers", () => {
    const bad: [unknown, string][] = [
      [0, "0"],
      [-3, "-3"],
      [2.5, "2.5"],
      [NaN, "NaN"],
      [Infinity, "Infinity"],
      ["8", 'the string "8"'],
    ];
    const inits = {
      initRnn: seqlab.initRnn,
      initLstm: seqlab.initLstm,
      initGru: seqlab.initGru,
      initGruPytorch: seqlab.initGruPytorch,
    };
    for (const [name, init] of Object.entries(inits)) {
      it(`${name}: hiddenSize and inputSize`, () => {
        for (const [value, shown] of bad) {
          const esc = shown.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
          throwsError(
            () => init({ inputSize: I, hiddenSize: value as number }),
            "ConfigError",
            new RegExp(`^${name}: hiddenSize must be a positive integer \\(H, the size of h\\(t\\)\\), got ${esc}$`),
          );
          throwsError(
            () => init({ inputSize: value as number, hiddenSize: H }),
            "ConfigError",
            new RegExp(`^${name}: inputSize must be a positive integer \\(I, the size of x\\(t\\)\\), got ${esc}$`),
          );
        }
      });
    }
    it("initReadout: hiddenSize and classes", () => {
      throwsError(
        () => seqlab.initReadout({ hiddenSize: 0, classes: K }),
        "ConfigError",
        /^initReadout: hiddenSize must be a positive integer \(H, the size of h\(t\)\), got 0$/,
      );
      throwsError(
        () => seqlab.initReadout({ hiddenSize: H, classes: -1 }),
        "ConfigError",
        /^initReadout: classes must be a positive integer \(K, the number of classes\), got -1$/,
      );
    });
    it("initEmbedding: vocabSize and embeddingSize", () => {
      throwsError(
        () => internal.initEmbedding({ vocabSize: 1.5, embeddingSize: 4 }),
        "ConfigError",
        /^initEmbedding: vocabSize must be a positive integer \(V, the number of symbols\), got 1\.5$/,
      );
      throwsError(
        () => internal.initEmbedding({ vocabSize: 10, embeddingSize: NaN }),
        "ConfigError",
        /^initEmbedding: embeddingSize must be a positive integer .*, got NaN$/,
      );
    });
  });

  describe("configuration: an absurd size is refused before anything is built", () => {
    it("initLstm with hiddenSize 20,000 (1.6 billion parameters) and a model asking for it", () => {
      throwsError(
        () => seqlab.initLstm({ inputSize: 1, hiddenSize: 20000 }),
        "ConfigError",
        /^initLstm: hiddenSize 20000 with inputSize 1 gives 1,600,160,000 parameters \(6\.0 GB of float32.*a cell takes at most 134,217,728/,
      );
      throwsError(
        () => seqlab.initGru({ inputSize: 10, hiddenSize: 8000 }),
        "ConfigError",
        /^initGru: hiddenSize 8000 with inputSize 10 gives/,
      );
      throwsError(
        () => new seqlab.SequenceToVector({ inputSize: 1, cell: "lstm", hiddenSize: 20000, output: { values: 1 } }),
        "ConfigError",
        /^initLstm: hiddenSize 20000/,
      );
      // The limit leaves room for every size a laptop trains: H = 1024 LSTM with I = 1024.
      const big = seqlab.initLstm({ inputSize: 1024, hiddenSize: 1024, peepholes: false });
      seqlab.disposeAll(big);
    });
  });

  describe("labels and token ids out of range", () => {
    it("sequenceLoss: names y, the value, its index and [0, K)", () => {
      const o = tf.zeros([B, T, K]) as tf.Tensor3D;
      throwsError(
        () =>
          seqlab.sequenceLoss(
            o,
            tf.tensor2d([
              [0, 1, 2],
              [3, 7, 0],
            ]),
          ),
        "ValueError",
        /^sequenceLoss: y holds 7 at index \[1, 1\] \(of shape \[2, 3\]\); class ids must be integers in \[0, K\) = \[0, 5\), K from o$/,
      );
      throwsError(
        () =>
          seqlab.sequenceLoss(
            o,
            tf.tensor2d([
              [0, -1, 2],
              [3, 4, 0],
            ]),
          ),
        "ValueError",
        /y holds -1 at index \[0, 1\]/,
      );
      throwsError(
        () =>
          seqlab.sequenceLoss(
            o,
            tf.tensor2d([
              [0, 1, 2],
              [3, 4, 0.5],
            ]),
          ),
        "ValueError",
        /y holds 0\.5 at index \[1, 2\]/,
      );
      o.dispose();
    });

    it("crossEntropy: names y and its index", () => {
      const o = tf.zeros([4, K]) as tf.Tensor2D;
      throwsError(
        () => internal.crossEntropy(o, tf.tensor1d([0, 1, 5, 2])),
        "ValueError",
        /^crossEntropy: y holds 5 at index \[2\] \(of shape \[4\]\); class ids must be integers in \[0, K\) = \[0, 5\), K from o$/,
      );
      throwsError(
        () => internal.crossEntropy(o, tf.tensor1d([0, 1, 2])),
        "ShapeError",
        /^crossEntropy: y must have shape \[N\] = \[4\], got \[3\]$/,
      );
      o.dispose();
    });

    it("embed: names ids, the id, its index and the vocabulary", () => {
      const E = tf.zeros([6, 2]);
      throwsError(
        () =>
          internal.embed(
            E,
            tf.tensor2d(
              [
                [0, 1],
                [9, 2],
              ],
              undefined,
              "int32",
            ),
          ),
        "VocabularyError",
        /^embed: ids holds token id 9 at index \[1, 0\], but the model's vocabulary has V = 6 symbols \(ids 0 … 5\)/,
      );
      E.dispose();
    });

    it("gradientReport: refuses y out of range before computing anything", () => {
      const p = params.rnn();
      const ro = seqlab.initReadout({ hiddenSize: H, classes: K });
      const x = tf.zeros([B, T, I]) as tf.Tensor3D;
      throwsError(
        () =>
          seqlab.gradientReport(
            seqlab.rnnCell,
            p,
            ro,
            x,
            tf.tensor2d([
              [0, 1, 2],
              [3, 4, 5],
            ]),
          ),
        "ValueError",
        /^gradientReport: y holds 5 at index \[1, 2\] \(of shape \[2, 3\]\); class ids must be integers in \[0, K\) = \[0, 5\), K from V$/,
      );
      throwsError(
        () =>
          seqlab.gradientReport(
            seqlab.rnnCell,
            p,
            ro,
            x,
            tf.tensor2d([
              [0, 1],
              [3, 4],
            ]),
          ),
        "ShapeError",
        /^gradientReport: y must have shape \[B, T\] = \[2, 3\], got \[2, 2\]$/,
      );
      seqlab.disposeAll(p, ro, x);
    });
  });

  describe("masks hold 0 or 1", () => {
    it("checkMask names the mask, the first bad value and its index", () => {
      const m = tf.tensor2d([
        [1, 1, 0],
        [1, 0.5, 0],
      ]) as tf.Tensor2D;
      throwsError(
        () => internal.checkMask("unroll(rnn)", "mask", m, B, T),
        "ValueError",
        /^unroll\(rnn\): mask holds 0\.5 at index \[1, 1\] \(of shape \[2, 3\]\); a mask holds 1 \(real step\) or 0 \(padding\)$/,
      );
      m.dispose();
      const ok = internal.maskFromLengths([3, 1], T);
      internal.checkMask("unroll(rnn)", "mask", ok, B, T);
      ok.dispose();
    });

    it("sequenceLoss checks its mask the same way", () => {
      const o = tf.zeros([B, T, K]) as tf.Tensor3D;
      const y = tf.zeros([B, T]) as tf.Tensor2D;
      throwsError(
        () =>
          seqlab.sequenceLoss(
            o,
            y,
            tf.tensor2d([
              [1, 2, 0],
              [1, 1, 0],
            ]),
          ),
        "ValueError",
        /^sequenceLoss: mask holds 2 at index \[0, 1\]/,
      );
      seqlab.disposeAll(o, y);
    });
  });
});
