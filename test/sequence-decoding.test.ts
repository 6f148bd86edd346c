/**
 * Decoding: greedy = beam search with k = 1; beam search beats greedy on a constructed
 * decoder; sampling at temperature → 0 = greedy and is repeatable by seed; decoded
 * log-probabilities agree with the model's teacher-forced loss; memory stays flat.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks } from "./recurrent-helpers";
import { ids, maxDiff, num, throwsWith } from "./sequence-helpers";

const { tf } = seqlab;
type Tensor1D = seqlab.tf.Tensor1D;
type Tensor2D = seqlab.tf.Tensor2D;

/**
 * A decoder with hand-set probabilities (tokens: 0 END, 1 A, 2 B, 3 START). First step:
 * p(A) = 0.6, p(B) = 0.4. After A: END, A, B equally likely (1/3 each). After B: END with 0.9.
 * Greedy takes A (0.6) then at best 1/3: p = 0.2. The best sequence is B END: 0.4 · 0.9 = 0.36.
 */
const toy: seqlab.StepDecoder = {
  outputSize: 4,
  begin: (source) => ({ n: tf.zeros([source.shape[0], 1]) }),
  step(prev: Tensor1D, state) {
    const rows = Array.from(prev.dataSync()).map((p) =>
      p === 3
        ? [1e-9, 0.6, 0.4, 1e-9]
        : p === 1
          ? [1 / 3 + 1e-6, 1 / 3, 1 / 3 - 1e-6, 1e-9]
          : p === 2
            ? [0.9, 0.05, 0.05, 1e-9]
            : [1, 1e-9, 1e-9, 1e-9],
    );
    return { logits: tf.log(tf.tensor2d(rows)) as Tensor2D, state: { n: tf.add(state.n, 1) } };
  },
};

describe("decoding", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();
  const Vx = 8,
    K = 6,
    START = 4,
    END = 5;
  const attn = () =>
    new seqlab.AttentionEncoderDecoder({
      sourceVocabSize: Vx,
      targetVocabSize: K,
      cell: "gru",
      hiddenSize: 8,
      score: "additive",
      seed: 21,
    });
  const plain = () => new seqlab.EncoderDecoder({ sourceVocabSize: Vx, targetVocabSize: K, cell: "lstm", hiddenSize: 8, seed: 22 });

  it("beam search with k = 1 is greedy decoding (tokens and log-probabilities), for both encoder–decoders", () => {
    for (const m of [attn(), plain()]) {
      const x = ids(4, 5, Vx, 3);
      const mask = internal.maskFromLengths([5, 2, 4, 3], 5);
      const options = { startToken: START, endToken: END, maxLength: 7, sourceMask: mask };
      const g = seqlab.greedyDecode(m, x, options);
      const b = seqlab.beamSearch(m, x, { ...options, beamWidth: 1 });
      assert.deepEqual(b.tokens, g.tokens);
      assert.deepEqual(b.ended, g.ended);
      b.logProb.forEach((lp, i) => assert.ok(Math.abs(lp - g.logProb[i]) < 1e-4));
      if (g.attention)
        assert.deepEqual(
          b.attention!.map((a) => a.length),
          g.attention.map((a) => a.length),
        );
      seqlab.disposeAll(x, mask);
      m.dispose();
    }
  });

  it("beam search finds a higher-scoring sequence than greedy on a constructed case", () => {
    const src = tf.zeros([1, 1]);
    const g = seqlab.greedyDecode(toy, src, { startToken: 3, endToken: 0, maxLength: 5 });
    assert.deepEqual(g.tokens[0].slice(0, 1), [1], "greedy starts with A");
    assert.ok(g.logProb[0] <= Math.log(0.6 / 3) + 1e-4);
    const b = seqlab.beamSearch(toy, src, { startToken: 3, endToken: 0, maxLength: 5, beamWidth: 2 });
    assert.deepEqual(b.tokens[0], [2], "beam: B then END");
    assert.ok(b.ended[0]);
    assert.ok(Math.abs(b.logProb[0] - Math.log(0.36)) < 1e-4);
    assert.ok(b.logProb[0] > g.logProb[0]);
    assert.ok(b.hypotheses[0].length >= 1 && b.hypotheses[0][0].score >= b.hypotheses[0][b.hypotheses[0].length - 1].score);
    src.dispose();
  });

  it("sampling at temperature → 0 is greedy; a seed repeats a sample; other seeds differ at τ = 1", () => {
    const m = attn();
    const x = ids(6, 5, Vx, 4);
    const options = { startToken: START, endToken: END, maxLength: 8 };
    const g = seqlab.greedyDecode(m, x, options);
    for (const temperature of [1e-4, 0]) {
      const s = seqlab.sampleDecode(m, x, { ...options, temperature, seed: 9 });
      assert.deepEqual(s.tokens, g.tokens, `temperature ${temperature}`);
    }
    const a = seqlab.sampleDecode(m, x, { ...options, temperature: 1, seed: 1 });
    const a2 = seqlab.sampleDecode(m, x, { ...options, temperature: 1, seed: 1 });
    const b = seqlab.sampleDecode(m, x, { ...options, temperature: 1, seed: 2 });
    assert.deepEqual(a.tokens, a2.tokens);
    assert.notDeepEqual(a.tokens, b.tokens);
    throwsWith(() => seqlab.sampleDecode(m, x, { ...options, temperature: -1 }), ["temperature", "-1"]);
    throwsWith(() => seqlab.greedyDecode(m, x, { ...options, endToken: K }), ["endToken", `[0, ${K})`, `${K}`]);
    x.dispose();
    m.dispose();
  });

  it("a step's log p (computed in JavaScript) is tf.logSoftmax's, and greedy's token tf.argMax's, ties to the first", () => {
    const rows = [
      [0.5, 2, 2, -1], // a tie: the first of the two
      [80, -80, 0, 79], // spread out: exp underflows float32 in all but two
      [-3e38, -3e38, -3e38, -3e38],
      [0, 0, 0, 0],
    ];
    const logits = tf.tensor2d(rows);
    const ours = internal.logSoftmaxRows(logits, "test");
    const theirs = tf.tidy(() => tf.logSoftmax(logits).arraySync() as number[][]);
    assert.equal(ours.length, 4);
    ours.forEach((row, b) => row.forEach((v, k) => assert.ok(Math.abs(v - theirs[b][k]) < 1e-5, `[${b}, ${k}]: ${v} vs ${theirs[b][k]}`)));
    const fixed: seqlab.StepDecoder = {
      outputSize: 4,
      begin: (source) => ({ n: tf.zeros([source.shape[0], 1]) }),
      step: (_prev, state) => ({ logits: logits.clone(), state: { n: tf.add(state.n, 1) } }),
    };
    const four = tf.zeros([4, 1]);
    const g = seqlab.greedyDecode(fixed, four, { startToken: 0, maxLength: 1 });
    assert.deepEqual(
      g.tokens.map((t) => t[0]),
      tf.tidy(() => tf.argMax(logits, 1).arraySync()),
    );
    assert.deepEqual(
      g.tokens.map((t) => t[0]),
      [1, 0, 0, 0],
    );
    g.logProb.forEach((lp, b) => assert.ok(Math.abs(lp - theirs[b][g.tokens[b][0]]) < 1e-5));
    tf.dispose([logits, four]);
  });

  it("sampling draws each token with probability softmax(o / τ) (frequencies over 20,000 draws); NaN logits are an error that leaks nothing", () => {
    const o = [1, 0, -1, 2];
    const tau = 1.5;
    const N = 20000;
    const logits = tf.tensor2d(Array.from({ length: N }, () => o));
    const oneStep = (l: Tensor2D): seqlab.StepDecoder => ({
      outputSize: 4,
      begin: (source) => ({ n: tf.zeros([source.shape[0], 1]) }),
      step: (_prev, state) => ({ logits: l.clone(), state: { n: tf.add(state.n, 1) } }),
    });
    const source = tf.zeros([N, 1]);
    const s = seqlab.sampleDecode(oneStep(logits), source, { startToken: 0, maxLength: 1, temperature: tau, seed: 5 });
    const w = o.map((v) => Math.exp(v / tau));
    const p = w.map((v) => v / w.reduce((a, b) => a + b, 0));
    p.forEach((pk, k) => {
      const seen = s.tokens.filter((t) => t[0] === k).length / N;
      const sd = Math.sqrt((pk * (1 - pk)) / N);
      assert.ok(Math.abs(seen - pk) < 4 * sd, `token ${k}: drawn ${seen}, p = ${pk}`);
    });
    const bad = tf.tensor2d([
      [0, 1, 2, 3],
      [0, NaN, 2, 3],
    ]);
    const two = tf.zeros([2, 1]);
    const opts = { startToken: 0, maxLength: 1, seed: 1 };
    throwsWith(() => seqlab.sampleDecode(oneStep(bad), two, opts), ["sampleDecode", "sequence 1", "token 1", "NaN"]);
    throwsWith(() => seqlab.greedyDecode(oneStep(bad), two, opts), ["greedyDecode", "sequence 1", "token 1", "NaN"]);
    throwsWith(() => seqlab.beamSearch(oneStep(bad), two, { ...opts, beamWidth: 2 }), ["beamSearch", "hypothesis 1", "token 1", "NaN"]);
    const masked = tf.tensor2d([
      [0, -Infinity, 2, 3],
      [-Infinity, -Infinity, -Infinity, -Infinity],
    ]);
    throwsWith(() => seqlab.greedyDecode(oneStep(masked), two, opts), ["greedyDecode", "sequence 1", "all are -Infinity"]);
    tf.dispose(masked);
    tf.dispose([logits, source, bad, two]);
  });

  it("a decoded sequence's log-probability = −(its teacher-forced loss × count)", () => {
    const m = plain();
    const x = ids(1, 5, Vx, 5);
    const d = seqlab.greedyDecode(m, x, { startToken: START, endToken: END, maxLength: 6 });
    const out = d.ended[0] ? [...d.tokens[0], END] : d.tokens[0];
    const yIn = tf.tensor2d([[START, ...out.slice(0, -1)]], [1, out.length], "int32");
    const y = tf.tensor2d([out], [1, out.length], "int32");
    const r = m.forward({ x, y, yIn }, { training: true, teacherForcingRatio: 1 });
    assert.ok(Math.abs(-num(r.loss) * num(r.count) - d.logProb[0]) < 1e-3, `${-num(r.loss) * num(r.count)} vs ${d.logProb[0]}`);
    seqlab.disposeAll(x, yIn, y, r);
    m.dispose();
  });

  it("teacher-forcing ratio 0.5 (runs of truth-fed steps unrolled at once) = stepping with begin/step and the same coins: logits, α and every gradient", () => {
    const models: [string, internal.EncoderDecoderBase][] = [
      ["plain LSTM", plain()],
      ["additive GRU", attn()],
      [
        "general LSTM, bidirectional encoder",
        new seqlab.AttentionEncoderDecoder({
          sourceVocabSize: Vx,
          targetVocabSize: K,
          cell: "lstm",
          hiddenSize: 8,
          bidirectional: "concat",
          seed: 24,
        }),
      ],
    ];
    for (const [name, m] of models) {
      const B = 3,
        Tout = 9;
      const x = ids(B, 5, Vx, 7);
      const xMask = internal.maskFromLengths([5, 2, 4], 5);
      const y = ids(B, Tout, K, 8);
      const yIn = tf.tidy(() => tf.concat([tf.fill([B, 1], START, "int32"), tf.slice(y, [0, 0], [B, Tout - 1])], 1) as Tensor2D);
      const batch = { x, xMask, y, yIn };
      const vars = Object.values(m.variables);
      // the coins: those of seed 4 at ratio 0.5 (one per step t + 1 < T_out), both ways; a mix of each
      const coins = (() => {
        const rng = new seqlab.Rng(4);
        return Array.from({ length: Tout - 1 }, () => rng.next() < 0.5);
      })();
      assert.ok(coins.some((c) => c) && coins.some((c) => !c), `${name}: the coins mix truth and predictions`);
      const runs = () => ({ ...m.run(batch, 0.5, new seqlab.Rng(4)) });
      const stepped = () => {
        const steps = [];
        let state = m.begin(x, xMask);
        let prev = tf.reshape(tf.slice(yIn, [0, 0], [B, 1]), [B]) as Tensor1D;
        for (let t = 0; t < Tout; t++) {
          const o = m.step(prev, state);
          steps.push(o);
          state = o.state;
          if (t + 1 < Tout)
            prev = coins[t]
              ? (tf.reshape(tf.slice(yIn, [0, t + 1], [B, 1]), [B]) as Tensor1D)
              : (tf.cast(tf.argMax(o.logits, 1), "int32") as Tensor1D);
        }
        return {
          logits: tf.stack(
            steps.map((o) => o.logits),
            1,
          ) as seqlab.tf.Tensor3D,
          attention: steps[0].attention
            ? (tf.stack(
                steps.map((o) => o.attention!),
                1,
              ) as seqlab.tf.Tensor3D)
            : undefined,
        };
      };
      const a = tf.tidy(runs);
      const b = tf.tidy(stepped);
      assert.ok(maxDiff(a.logits, b.logits) < 1e-5, `${name}: logits differ by ${maxDiff(a.logits, b.logits)}`);
      if (b.attention) assert.ok(maxDiff(a.attention!, b.attention) < 1e-5, `${name}: α`);
      // every gradient of Σ logits ⊙ w (w fixed, random)
      const w = tf.randomUniform(a.logits.shape, -1, 1, "float32", 3);
      const grads = (f: () => { logits: seqlab.tf.Tensor3D }) => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f().logits, w)) as seqlab.tf.Scalar, vars);
        value.dispose();
        return grads;
      };
      const ga = grads(runs);
      const gb = grads(stepped);
      for (const v of vars) {
        assert.ok(maxDiff(ga[v.name], gb[v.name]) < 1e-4, `${name}: ∂${v.name} differs by ${maxDiff(ga[v.name], gb[v.name])}`);
      }
      seqlab.disposeAll(x, xMask, y, yIn, a, b, w, ga, gb);
      m.dispose();
    }
  });

  it("a language model (SequenceToSequence) generates from a prompt, repeatably; memory stays flat", () => {
    const lm = new seqlab.SequenceToSequence({ vocabSize: 7, cell: "gru", hiddenSize: 8, layers: 2, output: { classes: 7 }, seed: 23 });
    const before = tf.memory().numTensors;
    const a = lm.generate(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { length: 10, temperature: 0.8, seed: 3 },
    );
    const b = lm.generate(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { length: 10, temperature: 0.8, seed: 3 },
    );
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(a.tokens, b.tokens);
    assert.equal(a.tokens[0].length, 10);
    for (const t of a.tokens.flat()) assert.ok(t >= 0 && t < 7);
    // generation continues the prompt exactly as the model reads it: greedy step 1 = argmax of predict at the last prompt step
    const g = lm.generate([[1, 2, 3]], { length: 1, temperature: 0 });
    const x = tf.tensor2d([[1, 2, 3]], [1, 3], "int32");
    const p = lm.predict(x);
    const last = tf.tidy(() => tf.argMax(tf.slice(p.o, [0, 2, 0], [1, 1, 7]), 2));
    assert.equal(g.tokens[0][0], num(last));
    seqlab.disposeAll(x, p, last);
    throwsWith(() => lm.generate([], { length: 3 }), ["empty batch"]);
    lm.dispose();
  });

  it("decoding leaves tf.memory().numTensors unchanged (greedy, sampling, beam)", () => {
    const m = attn();
    const x = ids(2, 5, Vx, 6);
    const before = tf.memory().numTensors;
    seqlab.greedyDecode(m, x, { startToken: START, endToken: END, maxLength: 6 });
    seqlab.sampleDecode(m, x, { startToken: START, endToken: END, maxLength: 6, seed: 1 });
    seqlab.beamSearch(m, x, { startToken: START, endToken: END, maxLength: 6, beamWidth: 3, lengthPenalty: 0.6 });
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
    m.dispose();
  });
});
