/**
 * Task generators: shapes, values and baselines (the adding problem's 0.167, the copy task's
 * memoryless cross-entropy), seeded repeatability, date formats that round-trip and a
 * held-out split of dates; vocabularies and padding with their error messages.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks } from "./helpers/memory";

const { tf } = seqlab;

describe("tasks", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  it("adding problem: two markers, one per half; y = the sum of the marked values; answering 1 scores MSE ≈ 1/6", () => {
    const { x, y } = internal.addingBatch({ length: 20, batchSize: 4000 }, new seqlab.Rng(1));
    assert.deepEqual(x.shape, [4000, 20, 2]);
    assert.deepEqual(y.shape, [4000, 1]);
    const xs = x.arraySync();
    const ys = y.dataSync();
    let sq = 0;
    xs.forEach((seq, b) => {
      const marked = seq.map((step, t) => [step[1], t, step[0]]).filter(([m]) => m === 1);
      assert.equal(marked.length, 2);
      assert.ok(marked[0][1] < 10 && marked[1][1] >= 10, "one marker per half");
      assert.ok(seq.every(([u, m]) => u >= 0 && u < 1 && (m === 0 || m === 1)));
      assert.ok(Math.abs(ys[b] - (marked[0][2] + marked[1][2])) < 1e-6);
      sq += (ys[b] - 1) ** 2;
    });
    const mse = sq / 4000;
    assert.ok(Math.abs(mse - 1 / 6) < 0.01, `baseline MSE ${mse}`);
    assert.equal(seqlab.ADDING_BASELINE_MSE, 1 / 6);
    // seeded
    const again = internal.addingBatch({ length: 20, batchSize: 4000 }, new seqlab.Rng(1));
    assert.deepEqual(Array.from(again.x.dataSync()), Array.from(x.dataSync()));
    assert.throws(() => internal.addingBatch({ length: 1, batchSize: 2 }, new seqlab.Rng(0)), /length must be an integer ≥ 2, got 1/);
    tf.dispose([x, y, again.x, again.y]);
  });

  it("copy task: S symbols, D − 1 blanks, the delimiter, S blanks; the target repeats the symbols at the end", () => {
    const S = 5;
    const D = 7;
    const { x, y } = internal.copyBatch({ length: S, delay: D, symbols: 4, batchSize: 3 }, new seqlab.Rng(2));
    const T = D + 2 * S;
    assert.deepEqual(x.shape, [3, T]);
    assert.deepEqual(y.shape, [3, T]);
    const { delimiter, size } = internal.copyVocabulary(4);
    assert.equal(delimiter, 5);
    assert.equal(size, 6);
    const xs = x.arraySync() as number[][];
    const ys = y.arraySync() as number[][];
    for (let b = 0; b < 3; b++) {
      const symbols = xs[b].slice(0, S);
      assert.ok(symbols.every((s) => s >= 1 && s <= 4));
      assert.deepEqual(xs[b].slice(S), [...Array(D - 1).fill(0), delimiter, ...Array(S).fill(0)]);
      assert.deepEqual(ys[b], [...Array(D + S).fill(0), ...symbols]);
    }
    // S ln A / T: 10 symbols of 8 after a delay of 100 → 0.173 (Arjovsky et al.)
    assert.ok(Math.abs(internal.copyBaseline({ length: 10, delay: 100, symbols: 8 }) - (10 * Math.log(8)) / 120) < 1e-12);
    const hot = internal.copyBatch({ length: S, delay: D, symbols: 4, batchSize: 3, oneHot: true }, new seqlab.Rng(2));
    assert.deepEqual(hot.x.shape, [3, T, 6]);
    const argMax = tf.argMax(hot.x, 2);
    assert.deepEqual(Array.from(argMax.dataSync()), xs.flat());
    argMax.dispose();
    tf.dispose([x, y, hot.x, hot.y]);
  });

  it("dates: every format round-trips through formatDate/parseDate, with the examples documented", () => {
    const nov26 = { year: 2026, month: 11, day: 26 };
    for (const f of internal.DATE_FORMAT_NAMES) {
      assert.equal(internal.formatDate(nov26, f), internal.DATE_FORMATS[f]);
      assert.deepEqual(internal.parseDate(internal.DATE_FORMATS[f], f), nov26);
    }
    const rng = new seqlab.Rng(3);
    for (const e of seqlab.dateExamples(500, {}, rng)) {
      assert.deepEqual(internal.parseDate(e.source, e.format), e.date);
      assert.deepEqual(internal.parseDate(e.target, "iso"), e.date);
    }
    assert.equal(internal.formatDate({ year: 2024, month: 2, day: 29 }, "EEEE, d MMMM yyyy"), "Thursday, 29 February 2024");
    assert.throws(() => internal.parseDate("31 Apr 2026", "d MMM yyyy"), /not a valid date in the format "d MMM yyyy"/);
    assert.throws(() => internal.parseDate("Friday, 26 November 2026", "EEEE, d MMMM yyyy"), /not a valid date/, "wrong weekday");
    assert.throws(() => internal.formatDate({ year: 2023, month: 2, day: 29 }, "iso"), /not a valid date/);
  });

  it("dates: about 10% of dates are held out, and train examples never use them", () => {
    let test = 0;
    let n = 0;
    for (let y = 1950; y < 2050; y++) {
      for (let d = 1; d <= 365; d += 1) {
        const t = new Date(Date.UTC(y, 0, d));
        n++;
        if (internal.isTestDate({ year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() })) test++;
      }
    }
    assert.ok(Math.abs(test / n - 0.1) < 0.01, `held out ${test / n}`);
    const rng = new seqlab.Rng(4);
    assert.ok(seqlab.dateExamples(300, { split: "train" }, rng).every((e) => !internal.isTestDate(e.date)));
    assert.ok(seqlab.dateExamples(300, { split: "test" }, rng).every((e) => internal.isTestDate(e.date)));
  });

  it("dates: a batch has padded source ids with a source mask, START + target in, target + END out", () => {
    const examples = seqlab.dateExamples(6, { formats: ["d MMM yyyy", "EEEE, d MMMM yyyy"] }, new seqlab.Rng(5));
    const b = seqlab.dateBatchOf(examples);
    const longest = Math.max(...examples.map((e) => e.source.length));
    assert.deepEqual(b.x.shape, [6, longest]);
    assert.deepEqual(b.xMask.shape, [6, longest]);
    assert.deepEqual(b.yIn.shape, [6, 11]);
    assert.deepEqual(b.y.shape, [6, 11]);
    const xs = b.x.arraySync() as number[][];
    const ms = b.xMask.arraySync() as number[][];
    const yIn = b.yIn.arraySync() as number[][];
    const ys = b.y.arraySync() as number[][];
    const V = seqlab.DATE_TARGET_VOCAB;
    examples.forEach((e, i) => {
      assert.equal(seqlab.DATE_SOURCE_VOCAB.decodeText(xs[i]), e.source);
      assert.equal(
        ms[i].reduce((a, c) => a + c, 0),
        e.source.length,
      );
      assert.equal(yIn[i][0], V.start);
      assert.equal(ys[i][10], V.end);
      assert.equal(V.decodeText(ys[i]), e.target);
      assert.equal(V.decodeText(yIn[i]), e.target);
    });
    internal.disposeBatch(b);
  });

  it("vocabularies: ids, specials, decode; an unknown symbol names itself, its position and its sequence", () => {
    const v = new seqlab.Vocab(["a", "b", "c"], { specials: ["pad", "start", "end"], name: "abc vocab" });
    assert.equal(v.size, 6);
    assert.deepEqual([v.pad, v.start, v.end], [0, 1, 2]);
    assert.deepEqual(v.encode("cab"), [5, 3, 4]);
    assert.equal(v.decodeText([1, 5, 3, 2, 4]), "ca", "START skipped, stops at END");
    assert.throws(
      () => v.encode("abxc", 7),
      (e: unknown) => {
        assert.ok(e instanceof internal.UnknownSymbolError);
        assert.equal(e.symbol, "x");
        assert.equal(e.position, 2);
        assert.match(e.message, /abc vocab: unknown symbol "x" at position 2 of sequence 7; the vocabulary has "a" "b" "c"/);
        return true;
      },
    );
    assert.throws(() => v.special("unk"), /has no unk token/);
    assert.throws(() => v.decode([9]), /id 9 at position 0 is out of range \[0, 6\)/);
    const withUnk = new seqlab.Vocab(["a"], { specials: ["pad", "unk"] });
    assert.deepEqual(withUnk.encode("ab"), [2, 1]);
    assert.throws(() => new seqlab.Vocab(["a", "a"]), /symbol "a" appears twice/);
    assert.throws(() => seqlab.DATE_SOURCE_VOCAB.encode("26 Nov 2026!", 0), /unknown symbol "!" at position 11 of sequence 0/);
  });

  it("padding: ids and mask; empty batch, empty sequence and too-long sequence → clear errors", () => {
    const { ids, mask, lengths } = seqlab.padSequences([[3, 4, 5], [6]], { padId: 0 });
    assert.deepEqual(ids.arraySync(), [
      [3, 4, 5],
      [6, 0, 0],
    ]);
    assert.deepEqual(mask.arraySync(), [
      [1, 1, 1],
      [1, 0, 0],
    ]);
    assert.deepEqual(lengths, [3, 1]);
    const v = internal.padVectors([
      [[1, 2]],
      [
        [3, 4],
        [5, 6],
      ],
    ]);
    assert.deepEqual(v.x.arraySync(), [
      [
        [1, 2],
        [0, 0],
      ],
      [
        [3, 4],
        [5, 6],
      ],
    ]);
    assert.deepEqual(v.mask.arraySync(), [
      [1, 0],
      [1, 1],
    ]);
    assert.throws(() => seqlab.padSequences([]), /empty batch/);
    assert.throws(() => seqlab.padSequences([[1], []]), /sequence 1 is empty/);
    assert.throws(() => seqlab.padSequences([[1], [1, 2, 3]], { maxLength: 2 }), /sequence 1 has 3 steps, longer than maxLength 2/);
    assert.throws(() => seqlab.padSequences([[1, 2, 3]], { length: 2 }), /sequence 0 has 3 steps, longer than the batch length 2/);
    assert.throws(() => internal.padVectors([[[1, 2]], [[3]]]), /sequence 1 step 0 has 1 values, expected I = 2/);
    const batches = Array.from(internal.batchesOf([1, 2, 3, 4, 5], 2, (xs) => xs));
    assert.deepEqual(batches, [[1, 2], [3, 4], [5]]);
    assert.throws(() => Array.from(internal.batchesOf([], 2, (xs) => xs)), /no examples \(empty batch\)/);
    tf.dispose([ids, mask, v.x, v.mask]);
  });
});
