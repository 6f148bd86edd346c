/**
 * Attention: the four scores against values worked out by hand, weights that sum to 1 with
 * exactly 0 on padded source positions, contexts as weighted sums, one-step vs all-step
 * queries, and the encoder–decoder with attention (weights [B, T_out, T_in] for plotting,
 * padding ignored, errors).
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks } from "./recurrent-helpers";
import { flat, ids, maxDiff, num, tensorCountsOverSteps, throwsWith } from "./sequence-helpers";

const { tf } = seqlab;
type Tensor2D = seqlab.tf.Tensor2D;
type Tensor3D = seqlab.tf.Tensor3D;

describe("attention", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  // One query, three keys (B = 1, T_in = 3, D = 2), small enough to do on paper.
  const qv = [1, 2];
  const kv = [
    [1, 0],
    [0, 1],
    [1, 1],
  ];
  const make = () => ({ q: tf.tensor2d([qv]) as Tensor2D, k: tf.tensor3d([kv]) as Tensor3D });

  it("dot, scaled dot and general scores equal the hand-computed values", () => {
    const { q, k } = make();
    const dot = seqlab.dotScore(q, k);
    assert.ok(maxDiff(dot, [1, 2, 3]) < 1e-6); // qᵀk_j: 1·1+2·0, 1·0+2·1, 1+2
    const scaled = seqlab.scaledDotScore(q, k);
    assert.ok(maxDiff(scaled, [1 / Math.SQRT2, 2 / Math.SQRT2, 3 / Math.SQRT2]) < 1e-6);
    const Wa = tf.tensor2d([
      [2, 0],
      [1, -1],
    ]); // qᵀ W_a = [1·2 + 2·1, 1·0 + 2·(−1)] = [4, −2]
    const general = seqlab.generalScore(q, k, Wa);
    assert.ok(maxDiff(general, [4, -2, 2]) < 1e-6);
    seqlab.disposeAll(q, k, dot, scaled, Wa, general);
  });

  it("additive score wᵀ tanh(W_q q + W_k k_j) equals the hand-computed value", () => {
    const { q, k } = make();
    const p = {
      Wq: tf.tensor2d([
        [1, 0],
        [0, 1],
      ]),
      Wk: tf.tensor2d([
        [0.5, 0],
        [0, -1],
      ]),
      w: tf.tensor1d([1, 2]),
    };
    const e = seqlab.additiveScore(q, k, p);
    // W_q q = [1, 2]; W_k k_j = [0.5, 0], [0, −1], [0.5, −1]
    const hand = [Math.tanh(1.5) + 2 * Math.tanh(2), Math.tanh(1) + 2 * Math.tanh(1), Math.tanh(1.5) + 2 * Math.tanh(1)];
    assert.ok(maxDiff(e, hand) < 1e-6);
    const projected = internal.projectKeys(p, k);
    const e2 = seqlab.additiveScore(q, k, p, projected);
    assert.ok(maxDiff(e, e2) < 1e-7);
    seqlab.disposeAll(q, k, p, e, projected, e2);
  });

  it("weights are a softmax that sums to 1; masked positions get exactly 0; the context is Σ α_j v_j", () => {
    const e = tf.tensor2d([
      [1, 2, 3],
      [0.5, -1, 4],
    ]);
    const mask = tf.tensor2d([
      [1, 1, 1],
      [1, 1, 0],
    ]);
    const alpha = seqlab.attentionSoftmax(e, mask);
    const a = alpha.arraySync();
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    assert.ok(maxDiff(a[0], [Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z]) < 1e-6);
    const z2 = Math.exp(0.5) + Math.exp(-1);
    assert.ok(maxDiff(a[1], [Math.exp(0.5) / z2, Math.exp(-1) / z2, 0]) < 1e-6);
    assert.equal(a[1][2], 0, "the padded position's weight is exactly 0");
    for (const row of a) assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-6);
    const v = tf.tensor3d([
      [
        [1, 0],
        [0, 1],
        [2, 2],
      ],
      [
        [1, 1],
        [3, 0],
        [100, 100],
      ],
    ]);
    const c = seqlab.attentionContext(alpha, v);
    const hand = [
      [a[0][0] + 2 * a[0][2], a[0][1] + 2 * a[0][2]],
      [a[1][0] + 3 * a[1][1], a[1][0]],
    ];
    assert.ok(maxDiff(c, hand.flat()) < 1e-5);
    seqlab.disposeAll(e, mask, alpha, v, c);
  });

  it("queries for all output steps at once [B, T_out, D] = one step at a time, for every score", () => {
    const rng = new seqlab.Rng(3);
    const [B, Tout, Tin, D] = [2, 3, 4, 5];
    const q = internal.normalTensor<seqlab.tf.Rank.R3>([B, Tout, D], 1, rng) as Tensor3D;
    const k = internal.normalTensor<seqlab.tf.Rank.R3>([B, Tin, D], 1, rng) as Tensor3D;
    const Wa = internal.normalTensor<seqlab.tf.Rank.R2>([D, D], 1, rng) as Tensor2D;
    const p = {
      Wq: internal.normalTensor<seqlab.tf.Rank.R2>([3, D], 1, rng) as Tensor2D,
      Wk: internal.normalTensor<seqlab.tf.Rank.R2>([3, D], 1, rng) as Tensor2D,
      w: tf.tensor1d([1, -1, 0.5]),
    };
    const scores = {
      dot: (qq: Tensor2D | Tensor3D) => seqlab.dotScore(qq, k),
      scaled: (qq: Tensor2D | Tensor3D) => seqlab.scaledDotScore(qq, k),
      general: (qq: Tensor2D | Tensor3D) => seqlab.generalScore(qq, k, Wa),
      additive: (qq: Tensor2D | Tensor3D) => seqlab.additiveScore(qq, k, p),
    };
    for (const [name, f] of Object.entries(scores)) {
      const all = f(q) as Tensor3D;
      assert.deepEqual(all.shape, [B, Tout, Tin], name);
      for (let t = 0; t < Tout; t++) {
        const one = tf.tidy(() => f(tf.reshape(tf.slice(q, [0, t, 0], [B, 1, D]), [B, D]) as Tensor2D));
        const col = tf.slice(all, [0, t, 0], [B, 1, Tin]);
        assert.ok(maxDiff(one, col) < 1e-5, `${name}, t = ${t}`);
        seqlab.disposeAll(one, col);
      }
      all.dispose();
    }
    seqlab.disposeAll(q, k, Wa, p);
  });

  it("mismatched sizes throw, naming the argument", () => {
    const q = tf.zeros([1, 3]) as Tensor2D;
    const k = tf.zeros([1, 4, 2]) as Tensor3D;
    throwsWith(() => seqlab.dotScore(q, k), ["dotScore", "k", "[1, 4, 3]", "[1, 4, 2]"]);
    const Wa = tf.zeros([2, 2]) as Tensor2D;
    throwsWith(() => seqlab.generalScore(q, k, Wa), ["generalScore", "Wa", "[3, 2]", "[2, 2]"]);
    seqlab.disposeAll(q, k, Wa);
  });

  describe("encoder–decoder with attention", () => {
    const Vx = 9,
      K = 7,
      H = 6;
    const batch = () => {
      const x = ids(3, 5, Vx, 1);
      const xMask = internal.maskFromLengths([5, 3, 4], 5);
      const y = ids(3, 4, K, 2);
      const yIn = tf.tidy(() => tf.concat([tf.fill([3, 1], 0, "int32"), tf.slice(y, [0, 0], [3, 3])], 1) as Tensor2D);
      return { x, xMask, y, yIn, mask: tf.ones([3, 4]) as Tensor2D };
    };

    for (const score of internal.ATTENTION_SCORES) {
      it(`"${score}": weights [B, T_out, T_in], rows sum to 1, padded source positions 0 (teacher forced and free running)`, () => {
        const m = new seqlab.AttentionEncoderDecoder({
          sourceVocabSize: Vx,
          targetVocabSize: K,
          cell: "gru",
          hiddenSize: H,
          score,
          seed: 4,
        });
        const b = batch();
        for (const r of [1, 0]) {
          const out = m.run(b, r);
          assert.deepEqual(out.logits.shape, [3, 4, K]);
          assert.deepEqual(out.attention!.shape, [3, 4, 5]);
          const a = out.attention!.arraySync();
          const lengths = [5, 3, 4];
          a.forEach((rows, s) =>
            rows.forEach((row) => {
              assert.ok(Math.abs(row.reduce((x, y) => x + y, 0) - 1) < 1e-5);
              for (let j = lengths[s]; j < 5; j++) assert.equal(row[j], 0);
            }),
          );
          seqlab.disposeAll(out);
        }
        seqlab.disposeAll(b);
        m.dispose();
      });
    }

    it("padded source tokens do not change the output; with r = 1 the decoder is one unroll, equal to the r < 1 path with every coin “truth”", () => {
      const m = new seqlab.AttentionEncoderDecoder({
        sourceVocabSize: Vx,
        targetVocabSize: K,
        cell: "lstm",
        hiddenSize: H,
        score: "additive",
        bidirectional: "concat",
        seed: 5,
      });
      const b = batch();
      const a = m.run(b, 1);
      const other = tf.tidy(() => tf.add(tf.mul(b.x, b.xMask.toInt()), tf.mul(tf.sub(1, b.xMask.toInt()), 8)).toInt() as Tensor2D); // padding → token 8
      const a2 = m.run({ ...b, x: other }, 1);
      assert.ok(maxDiff(a.logits, a2.logits) < 1e-5);
      const stepwise = m.run(b, 1 - 1e-12); // the r < 1 path with every coin "truth" (stepping itself: test/sequence-decoding.test.ts)
      assert.ok(maxDiff(a.logits, stepwise.logits) < 1e-4);
      assert.ok(maxDiff(a.attention!, stepwise.attention!) < 1e-5);
      const r0 = m.forward(b, { training: false });
      const r1 = m.forward(b, { training: true });
      assert.ok(Math.abs(num(r0.loss) - num(r1.loss)) > 1e-6, "free running ≠ teacher forcing");
      seqlab.disposeAll(b, a, other, a2, stepwise, r0, r1);
      m.dispose();
    });

    it("plot: the weights of a decoded sequence make an attentionWeights heatmap", () => {
      const m = new seqlab.AttentionEncoderDecoder({ sourceVocabSize: Vx, targetVocabSize: K, cell: "gru", hiddenSize: H, seed: 6 });
      const b = batch();
      const d = seqlab.greedyDecode(m, b.x, { startToken: 0, endToken: 1, maxLength: 6, sourceMask: b.xMask });
      assert.ok(d.attention);
      const w = d.attention![1];
      assert.equal(w[0].length, 5);
      const fig = seqlab.attentionWeights(
        w,
        ["a", "b", "c", "-", "-"],
        w.map((_, i) => `t${i}`),
      );
      assert.equal(fig.data.length, 1);
      seqlab.disposeAll(b);
      m.dispose();
    });

    it("errors: dot score with a concat-bidirectional encoder; missing yIn; target ids outside K", () => {
      throwsWith(
        () =>
          new seqlab.AttentionEncoderDecoder({
            sourceVocabSize: Vx,
            targetVocabSize: K,
            cell: "gru",
            hiddenSize: H,
            score: "dot",
            bidirectional: "concat",
          }),
        ["H_enc = 12", "H = 6"],
      );
      throwsWith(
        () =>
          new seqlab.AttentionEncoderDecoder({
            sourceVocabSize: Vx,
            targetVocabSize: K,
            cell: "gru",
            hiddenSize: H,
            score: "cosine" as never,
          }),
        ["score must be one of", '"cosine"'],
      );
      const m = new seqlab.AttentionEncoderDecoder({ sourceVocabSize: Vx, targetVocabSize: K, cell: "gru", hiddenSize: H });
      const b = batch();
      throwsWith(() => m.forward({ x: b.x, y: b.y }, { training: true }), ["batch.yIn is missing"]);
      const bad = tf.fill([3, 4], K, "int32");
      throwsWith(() => m.forward({ ...b, y: bad }, { training: true }), ["batch.y", `token id ${K}`, `V = ${K}`]);
      const long = ids(1, 20, Vx);
      const small = new seqlab.EncoderDecoder({ sourceVocabSize: Vx, targetVocabSize: K, cell: "rnn", hiddenSize: H, maxLength: 10 });
      throwsWith(() => small.begin(long), ["source", "T = 20", "maxLength = 10"]);
      seqlab.disposeAll(b, bad, long);
      m.dispose();
      small.dispose();
    });

    it("memory: flat over training steps (teacher forced, scheduled) for both encoder–decoders", () => {
      const b = batch();
      const models = [
        new seqlab.AttentionEncoderDecoder({
          sourceVocabSize: Vx,
          targetVocabSize: K,
          cell: "lstm",
          hiddenSize: H,
          score: "additive",
          seed: 7,
        }),
        new seqlab.EncoderDecoder({ sourceVocabSize: Vx, targetVocabSize: K, cell: "gru", hiddenSize: H, encoderLayers: 2, seed: 8 }),
      ];
      for (const m of models) {
        for (const r of [1, 0.5]) {
          const counts = tensorCountsOverSteps(m, b, 3, { training: true, teacherForcingRatio: r });
          assert.equal(counts[2], counts[1], counts.join(" → "));
        }
        const names = Object.keys(m.variables);
        assert.ok(names.includes("target.E") && names.includes("source.E") && names.includes("head.V"), names.join(", "));
        m.dispose();
      }
      void flat;
      seqlab.disposeAll(b);
    });
  });
});
