/**
 * More task generators: noisy sine (targets are the clean signal ahead; persistence beats
 * zero), parity (running and final, padded lengths), the embedded Reber grammar (every
 * generated string passes the checker, mutations fail it, next-symbol sets), reversal and
 * sorting batches, and the bundled text (found from dist, stream batches continue each other).
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks } from "./helpers/memory";

const { tf } = seqlab;

describe("tasks: sine, parity, Reber, reversal, sorting, text", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  it("noisy sine: y(t) = the clean signal `horizon` ahead; without noise x shifted by the horizon equals y", () => {
    const clean = internal.sineBatch({ length: 30, batchSize: 4, noise: 0, horizon: 2 }, new seqlab.Rng(1));
    assert.deepEqual(clean.x.shape, [4, 30, 1]);
    const x = clean.x.arraySync() as number[][][];
    const y = clean.y.arraySync() as number[][][];
    for (let b = 0; b < 4; b++) for (let t = 0; t + 2 < 30; t++) assert.ok(Math.abs(y[b][t][0] - x[b][t + 2][0]) < 1e-5);
    const noisy = internal.sineBatch({ length: 100, batchSize: 64, noise: 0.1 }, new seqlab.Rng(2));
    const base = seqlab.sineBaselines(noisy);
    assert.ok(base.persistence < base.zero / 5, JSON.stringify(base));
    assert.ok(base.zero > 0.15 && base.zero < 0.5, `E[A²/2] for A in [0.5, 1) is ≈ 0.29: ${base.zero}`);
    tf.dispose([clean.x, clean.y, noisy.x, noisy.y]);
  });

  it("parity: running and final targets are the XOR of the bits so far; varying lengths are padded and masked", () => {
    const run = internal.parityBatch({ length: 12, batchSize: 8, target: "running" }, new seqlab.Rng(3));
    const bits = (run.x.arraySync() as number[][][]).map((s) => s.map((r) => r[0]));
    const ys = run.y.arraySync() as number[][];
    bits.forEach((s, b) =>
      s.forEach((_, t) =>
        assert.equal(
          ys[b][t],
          s.slice(0, t + 1).reduce((a, c) => a ^ c, 0),
        ),
      ),
    );
    assert.equal(run.mask, undefined);
    const varying = internal.parityBatch({ length: [3, 9], batchSize: 16 }, new seqlab.Rng(4));
    assert.deepEqual(varying.x.shape, [16, 9, 1]);
    assert.deepEqual(varying.y.shape, [16]);
    const m = varying.mask!.arraySync() as number[][];
    const vx = (varying.x.arraySync() as number[][][]).map((s) => s.map((r) => r[0]));
    const vy = varying.y.arraySync() as number[];
    const lengths = m.map((r) => r.reduce((a, c) => a + c, 0));
    assert.ok(lengths.every((n) => n >= 3 && n <= 9) && new Set(lengths).size > 1);
    vx.forEach((s, b) => {
      assert.equal(
        vy[b],
        s.slice(0, lengths[b]).reduce((a, c) => a ^ c, 0),
      );
      assert.ok(
        s.slice(lengths[b]).every((v) => v === 0),
        "zero padding",
      );
    });
    internal.disposeBatch(run as seqlab.Batch);
    internal.disposeBatch(varying as seqlab.Batch);
  });

  it("Reber grammar: generated strings pass the checker, mutated ones fail, next-symbol sets are right", () => {
    for (const s of ["BTXSE", "BPVVE", "BTSSXXTVVE", "BPTVPSE"]) assert.ok(internal.isReber(s), s);
    for (const s of ["BTXS", "BTE", "TXSE", "BPVVEE", "BTXXE"]) assert.ok(!internal.isReber(s), s);
    assert.ok(internal.isEmbeddedReber("BTBTXSETE"));
    assert.ok(!internal.isEmbeddedReber("BTBTXSEPE"), "the second and second-to-last symbols must match");
    const rng = new seqlab.Rng(5);
    const symbols = "BTPSXVE";
    for (let i = 0; i < 300; i++) {
      const s = seqlab.embeddedReberString(rng);
      assert.ok(internal.isEmbeddedReber(s), s);
      // every symbol is one the grammar allows next
      for (let k = 0; k < s.length; k++) assert.ok(internal.embeddedReberNext(s.slice(0, k)).includes(s[k]), `${s} at ${k}`);
      // change one symbol at random: almost always invalid; if still valid, the checker must agree with the next-sets
      const k = rng.int(s.length);
      const other = symbols.replace(s[k], "")[rng.int(6)];
      const bad = s.slice(0, k) + other + s.slice(k + 1);
      const allowed =
        [...bad].every((c, j) => internal.embeddedReberNext(bad.slice(0, j)).includes(c)) && internal.embeddedReberNext(bad).length === 0;
      assert.equal(internal.isEmbeddedReber(bad), allowed, bad);
    }
    assert.deepEqual(internal.embeddedReberNext("BP"), ["B"]);
    assert.deepEqual(internal.embeddedReberNext("BPBPVVE"), ["P"]);
    assert.deepEqual(internal.embeddedReberNext("BPBPVVEP"), ["E"]);
    const b = internal.reberBatch({ batchSize: 6 }, new seqlab.Rng(6));
    const x = b.x.arraySync() as number[][];
    const y = b.y.arraySync() as number[][];
    const m = b.mask.arraySync() as number[][];
    b.strings.forEach((s, i) => {
      assert.equal(seqlab.REBER_VOCAB.decodeText(x[i]), s.slice(0, -1));
      assert.equal(seqlab.REBER_VOCAB.decodeText(y[i]), s.slice(1));
      assert.equal(
        m[i].reduce((a, c) => a + c, 0),
        s.length - 1,
      );
    });
    internal.disposeBatch(b);
  });

  it("reversal and sorting: encoder–decoder batches whose targets decode to the reversed / sorted sources", () => {
    const rng = new seqlab.Rng(7);
    for (const [make, f] of [
      [internal.reversalBatch, (s: string) => [...s].reverse().join("")],
      [internal.sortingBatch, (s: string) => [...s].sort().join("")],
    ] as const) {
      const b = make({ length: [3, 8], batchSize: 10 }, rng);
      const x = b.x.arraySync() as number[][];
      const y = b.y.arraySync() as number[][];
      const yIn = b.yIn.arraySync() as number[][];
      const m = b.mask.arraySync() as number[][];
      assert.equal(b.yIn.shape[1], b.y.shape[1]);
      x.forEach((row, i) => {
        const src = seqlab.DIGITS_SOURCE_VOCAB.decodeText(row);
        assert.ok(src.length >= 3 && src.length <= 8);
        assert.equal(seqlab.DIGITS_TARGET_VOCAB.decodeText(y[i]), f(src));
        assert.equal(seqlab.DIGITS_TARGET_VOCAB.decodeText(yIn[i]), f(src));
        assert.equal(yIn[i][0], seqlab.DIGITS_TARGET_VOCAB.start);
        assert.equal(
          m[i].reduce((a, c) => a + c, 0),
          src.length + 1,
          "target + END",
        );
      });
      internal.disposeBatch(b);
    }
    assert.throws(() => internal.seq2seqBatchOf([], seqlab.DIGITS_SOURCE_VOCAB, seqlab.DIGITS_TARGET_VOCAB), /empty batch/);
    assert.throws(
      () => internal.seq2seqBatchOf([{ source: "12a", target: "21" }], seqlab.DIGITS_SOURCE_VOCAB, seqlab.DIGITS_TARGET_VOCAB),
      /digit source vocab: unknown symbol "a" at position 2 of sequence 0/,
    );
    assert.throws(
      () =>
        internal.seq2seqBatchOf([{ source: "123456", target: "1" }], seqlab.DIGITS_SOURCE_VOCAB, seqlab.DIGITS_TARGET_VOCAB, {
          maxSourceLength: 5,
        }),
      /sequence 0 has 6 steps, longer than maxLength 5/,
    );
  });

  it("text: the bundled corpus loads from dist; stream batches continue each other row by row; y is x shifted by one", () => {
    const text = seqlab.loadCorpus();
    assert.ok(text.length > 4000 && text.startsWith("The Listening Station"), `${text.length} characters`);
    const vocab = seqlab.corpusVocab(text);
    assert.ok(vocab.size > 30 && vocab.size < 80, `${vocab.size} characters`);
    const { train, validation } = seqlab.splitText(text, 0.1);
    assert.equal(train + validation, text);
    assert.ok(Math.abs(validation.length / text.length - 0.1) < 0.05);
    const batches = Array.from(seqlab.textStreams(train, { batchSize: 4, seqLength: 16, vocab }));
    const streamLength = Math.floor((train.length - 1) / 4);
    assert.equal(batches.length, Math.floor(streamLength / 16));
    const row = (k: number, b: number, key: "x" | "y") => vocab.decodeText((batches[k][key].arraySync() as number[][])[b]);
    assert.equal(row(0, 0, "x"), train.slice(0, 16));
    assert.equal(row(1, 0, "x"), train.slice(16, 32), "batch 2 continues batch 1");
    assert.equal(row(0, 2, "x"), train.slice(2 * streamLength, 2 * streamLength + 16));
    assert.equal(row(3, 1, "y"), train.slice(streamLength + 3 * 16 + 1, streamLength + 4 * 16 + 1));
    const unigram = seqlab.unigramPerplexity(train, validation);
    assert.ok(unigram > 10 && unigram < vocab.size, `unigram perplexity ${unigram}`);
    assert.throws(() => Array.from(seqlab.textStreams("abc", { batchSize: 4, seqLength: 16 })), /too short for one batch/);
    batches.forEach(internal.disposeBatch);
  });
});
