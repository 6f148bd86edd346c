/**
 * Small learning runs with the trainer (fit): each asserts that a loss falls by a stated
 * factor, not just that the code runs. Sizes are cut down from test/bench/tasks.ts so the
 * suite stays within a CI budget.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";

const { tf } = seqlab;
type Tensor2D = seqlab.tf.Tensor2D;

/** The validation loss of a model before any training. */
async function initialLoss(model: seqlab.Trainable, batches: readonly seqlab.Batch[], teacherForcingRatio?: number): Promise<number> {
  return (await seqlab.evaluate(model, batches, teacherForcingRatio === undefined ? {} : { teacherForcingRatio })).loss;
}

describe("sequence models learn (trainer + tasks)", function () {
  this.timeout(60_000);
  before(async () => {
    await seqlab.initBackend();
  });
  let tensors = 0;
  beforeEach(() => (tensors = tf.memory().numTensors));
  afterEach(function () {
    if (this.currentTest?.state === "passed") assert.equal(tf.memory().numTensors, tensors, "leaked tensors");
  });

  it("adding problem (T = 20): a GRU's validation MSE falls below 1/20 of the 0.167 baseline", async () => {
    const model = new seqlab.SequenceToVector({ inputSize: 2, cell: "gru", hiddenSize: 16, output: { values: 1 }, seed: 1 });
    const val = [...seqlab.addingBatches({ length: 20, batchSize: 256, batches: 1, seed: 5 })];
    const before = await initialLoss(model, val);
    const h = await seqlab.fit(model, {
      data: (_e, rng) => seqlab.addingBatches({ length: 20, batchSize: 32, batches: 50, seed: rng.int(1e9) }),
      validation: val,
      epochs: 10,
      optimizer: { name: "adam", learningRate: 0.01 },
      clip: { globalNorm: 1 },
      seed: 1,
      progress: false,
    });
    const after = h.valLoss[h.valLoss.length - 1];
    assert.ok(before > 0.1, `untrained MSE ${before}`);
    assert.ok(after < seqlab.ADDING_BASELINE_MSE / 20, `MSE ${before.toFixed(4)} → ${after.toFixed(4)}`);
    seqlab.disposeAll(val);
    model.dispose();
  });

  it("date translation: the attention encoder–decoder's held-out token loss falls by a factor of 20", async () => {
    const V = seqlab.DATE_TARGET_VOCAB;
    const model = new seqlab.AttentionEncoderDecoder({
      sourceVocabSize: seqlab.DATE_SOURCE_VOCAB.size,
      targetVocabSize: V.size,
      cell: "gru",
      hiddenSize: 32,
      seed: 2,
    });
    const formats = ["dd.MM.yyyy", "d MMM yyyy"] as const;
    const val = [internal.dateBatch({ batchSize: 200, split: "test", formats: [...formats] }, new seqlab.Rng(9))];
    const before = await initialLoss(model, val, 1);
    await seqlab.fit(model, {
      data: (_e, rng) => seqlab.dateBatches({ batchSize: 32, batches: 50, formats: [...formats], seed: rng.int(1e9) }),
      epochs: 6,
      optimizer: { name: "adam", learningRate: 0.01 },
      clip: { globalNorm: 1 },
      seed: 2,
      progress: false,
    });
    const after = (await seqlab.evaluate(model, val, { teacherForcingRatio: 1 })).loss;
    assert.ok(after < before / 20, `token loss ${before.toFixed(3)} → ${after.toFixed(3)}`);
    seqlab.disposeAll(val);
    model.dispose();
  });

  it("character language model: validation perplexity falls by a factor of 5 and below half the unigram model's", async () => {
    const text = seqlab.loadCorpus();
    const vocab = seqlab.corpusVocab(text);
    const { train, validation } = seqlab.splitText(text, 0.1);
    const model = new seqlab.SequenceToSequence({
      vocabSize: vocab.size,
      embeddingSize: 16,
      cell: "gru",
      hiddenSize: 64,
      output: { classes: vocab.size },
      seed: 3,
    });
    const val = [...seqlab.textStreams(validation, { batchSize: 4, seqLength: 100, vocab })];
    const before = Math.exp(await initialLoss(model, val));
    const h = await seqlab.fit(model, {
      data: () => seqlab.textStreams(train, { batchSize: 16, seqLength: 32, vocab }),
      validation: val,
      epochs: 12,
      optimizer: { name: "adam", learningRate: 0.01 },
      clip: { globalNorm: 1 },
      tbptt: { chunk: 32, acrossBatches: true },
      shuffle: false,
      seed: 3,
      progress: false,
    });
    const after = Math.min(...h.valPerplexity);
    const unigram = seqlab.unigramPerplexity(train, validation);
    assert.ok(
      after < before / 5 && after < unigram / 2,
      `perplexity ${before.toFixed(1)} → ${after.toFixed(2)} (unigram ${unigram.toFixed(2)})`,
    );
    seqlab.disposeAll(val);
    model.dispose();
  });

  it("vector → sequence: both feeds learn to count on from a one-hot start (loss falls by a factor of 20)", async () => {
    const K = 4,
      T = 6,
      B = 32;
    const batch = (rng: seqlab.Rng) => {
      const c = Array.from({ length: B }, () => rng.int(K));
      return {
        x: tf.tidy(() => tf.oneHot(tf.tensor1d(c, "int32"), K).toFloat()) as Tensor2D,
        y: tf.tensor2d(
          c.map((s) => Array.from({ length: T }, (_, t) => (s + t) % K)),
          [B, T],
          "int32",
        ),
      };
    };
    for (const feed of ["initial-state", "every-step"] as const) {
      const model = new seqlab.VectorToSequence({ cell: "gru", inputSize: K, hiddenSize: 16, feed, output: { classes: K }, seed: 4 });
      const val = [batch(new seqlab.Rng(77))];
      const before = await initialLoss(model, val);
      const h = await seqlab.fit(model, {
        data: (_e, rng) => Array.from({ length: 20 }, () => batch(rng)),
        validation: val,
        epochs: 5,
        optimizer: { name: "adam", learningRate: 0.03 },
        seed: 4,
        progress: false,
      });
      const after = h.valLoss[h.valLoss.length - 1];
      assert.ok(after < before / 20, `${feed}: ${before.toFixed(3)} → ${after.toFixed(3)}`);
      seqlab.disposeAll(val);
      model.dispose();
    }
  });

  it("teacher forcing: trained at ratio 1, the teacher-forced loss halves and free running is clearly worse (the train/test gap)", async () => {
    // y(t) = (x(t) + y(t−1)) mod K, except that with probability 0.2 the target jumps to a
    // random class. Given the true y(t−1) (teacher forcing) the rule predicts y(t) 87 % of
    // the time; running on its own predictions the model cannot know about past jumps, and
    // every miss propagates down the running sum.
    const K = 3,
      T = 12,
      B = 32;
    const batch = (rng: seqlab.Rng) => {
      const xs: number[][] = [];
      const ys: number[][] = [];
      for (let b = 0; b < B; b++) {
        let prev = 0;
        const x: number[] = [];
        const y: number[] = [];
        for (let t = 0; t < T; t++) {
          const v = rng.int(K);
          prev = rng.next() < 0.2 ? rng.int(K) : (v + prev) % K;
          x.push(v);
          y.push(prev);
        }
        xs.push(x);
        ys.push(y);
      }
      const ids = tf.tensor2d(xs, [B, T], "int32");
      const x = seqlab.oneHotIds(ids, K);
      ids.dispose();
      return { x, y: tf.tensor2d(ys, [B, T], "int32") };
    };
    const model = new seqlab.TeacherForcingRnn({ inputSize: K, classes: K, hiddenSize: 8, hiddenRecurrence: false, seed: 5 });
    const val = Array.from({ length: 4 }, (_, k) => batch(new seqlab.Rng(55 + k)));
    const before = await initialLoss(model, val, 1);
    await seqlab.fit(model, {
      data: (_e, rng) => Array.from({ length: 30 }, () => batch(rng)),
      epochs: 6,
      optimizer: { name: "adam", learningRate: 0.03 },
      teacherForcing: 1,
      seed: 5,
      progress: false,
    });
    const forced = (await seqlab.evaluate(model, val, { teacherForcingRatio: 1 })).loss;
    const free = (await seqlab.evaluate(model, val, { teacherForcingRatio: 0 })).loss;
    assert.ok(forced < before / 2, `teacher-forced loss ${before.toFixed(3)} → ${forced.toFixed(3)}`);
    assert.ok(free > forced + 0.2, `free running ${free.toFixed(3)} vs teacher forced ${forced.toFixed(3)}`);
    seqlab.disposeAll(val);
    model.dispose();
  });
});
