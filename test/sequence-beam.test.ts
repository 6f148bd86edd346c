/**
 * Beam search on fixed seeded encoder–decoders gives the same hypotheses (tokens, END,
 * log-probabilities, scores) and attention as the implementation that re-gathered the whole
 * state, encoder memory included, at every step. The expected numbers were printed by that
 * implementation (beam width 3, maxLength 5, the sources and masks below); the current one
 * lays the memory out once per search and gathers only the decoder's recurrent state.
 * Memory stays flat.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks } from "./helpers/memory";
import { ids } from "./sequence-helpers";

const { tf } = seqlab;

/** [tokens as digits, ended (1/0), log p, score] per hypothesis, per source. */
type Hyps = [string, number, number, number][][];

const Vx = 8,
  K = 6,
  START = 4;
const models = {
  additive: () =>
    new seqlab.AttentionEncoderDecoder({
      sourceVocabSize: Vx,
      targetVocabSize: K,
      cell: "gru",
      hiddenSize: 8,
      score: "additive",
      seed: 21,
    }),
  bidirectional: () =>
    new seqlab.AttentionEncoderDecoder({
      sourceVocabSize: Vx,
      targetVocabSize: K,
      cell: "lstm",
      hiddenSize: 8,
      score: "general",
      bidirectional: "concat",
      seed: 23,
    }),
  plain: () => new seqlab.EncoderDecoder({ sourceVocabSize: Vx, targetVocabSize: K, cell: "lstm", hiddenSize: 8, seed: 22 }),
};

const cases: { model: keyof typeof models; endToken?: number; lengthPenalty: number; hyps: Hyps; lastAttention?: number[][] }[] = [
  {
    model: "additive",
    lengthPenalty: 0,
    hyps: [
      [
        ["54555", 0, -7.716485, -7.716485],
        ["45555", 0, -7.785637, -7.785637],
        ["54554", 0, -7.789301, -7.789301],
      ],
      [
        ["45444", 0, -7.716488, -7.716488],
        ["44445", 0, -7.722788, -7.722788],
        ["45445", 0, -7.726382, -7.726382],
      ],
    ],
    lastAttention: [
      [0.215735, 0.186487, 0.228545, 0.19152, 0.177713],
      [0.324587, 0.348979, 0.326435, 0, 0],
    ],
  },
  {
    model: "bidirectional",
    endToken: 1,
    lengthPenalty: 0.7,
    hyps: [
      [
        ["", 1, -1.770744, -1.770744],
        ["44445", 0, -8.278709, -2.683389],
        ["44455", 0, -8.293658, -2.688234],
        ["44444", 0, -8.321494, -2.697257],
      ],
      [
        ["44445", 0, -8.392127, -2.720151],
        ["44455", 0, -8.419407, -2.728993],
        ["44444", 0, -8.423369, -2.730278],
      ],
    ],
    lastAttention: [
      [0.212044, 0.187577, 0.218623, 0.185355, 0.196402],
      [0.326995, 0.349123, 0.323882, 0, 0],
    ],
  },
  {
    model: "bidirectional",
    endToken: 2,
    lengthPenalty: 0,
    hyps: [
      [
        ["44445", 0, -8.278709, -8.278709],
        ["44455", 0, -8.293658, -8.293658],
        ["44444", 0, -8.321494, -8.321494],
      ],
      [["", 1, -1.731495, -1.731495]],
    ],
    lastAttention: [
      [0.217947, 0.175725, 0.22608, 0.178476, 0.201771],
      [0.33629, 0.339792, 0.323918, 0, 0],
    ],
  },
  {
    model: "plain",
    lengthPenalty: 0,
    hyps: [
      [
        ["45555", 0, -7.087551, -7.087551],
        ["44555", 0, -7.142147, -7.142147],
        ["55555", 0, -7.149546, -7.149546],
      ],
      [
        ["45555", 0, -7.023292, -7.023292],
        ["55555", 0, -7.077908, -7.077908],
        ["44555", 0, -7.081763, -7.081763],
      ],
    ],
  },
];

describe("beam search: the same results with the memory laid out once per search", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  for (const c of cases) {
    it(`${c.model} encoder–decoder, END ${c.endToken ?? "none"}, length penalty ${c.lengthPenalty}`, () => {
      const m = models[c.model]();
      const x = ids(2, 5, Vx, 3);
      const mask = internal.maskFromLengths([5, 3], 5);
      const options = {
        startToken: START,
        endToken: c.endToken,
        maxLength: 5,
        sourceMask: mask,
        beamWidth: 3,
        lengthPenalty: c.lengthPenalty,
      };
      const before = tf.memory().numTensors;
      const b = seqlab.beamSearch(m, x, options);
      assert.equal(tf.memory().numTensors, before, "beam search leaves no tensors behind");
      b.hypotheses.forEach((hs, i) => {
        assert.deepEqual(
          hs.map((h) => [h.tokens.join(""), h.ended ? 1 : 0]),
          c.hyps[i].map(([t, e]) => [t, e]),
          `source ${i}: tokens and END`,
        );
        hs.forEach((h, j) => {
          assert.ok(Math.abs(h.logProb - c.hyps[i][j][2]) < 2e-6, `source ${i}, hypothesis ${j}: log p ${h.logProb} vs ${c.hyps[i][j][2]}`);
          assert.ok(Math.abs(h.score - c.hyps[i][j][3]) < 2e-6, `source ${i}, hypothesis ${j}: score ${h.score} vs ${c.hyps[i][j][3]}`);
        });
        assert.deepEqual(b.tokens[i], hs[0].tokens);
        assert.equal(b.logProb[i], hs[0].logProb);
      });
      if (c.lastAttention) {
        b.attention!.forEach((a, i) =>
          a[a.length - 1].forEach((v, j) => assert.ok(Math.abs(v - c.lastAttention![i][j]) < 2e-6, `α of source ${i}, position ${j}`)),
        );
      } else assert.equal(b.attention, undefined);
      // A second search over the same model: the same tensor count again.
      seqlab.beamSearch(m, x, options);
      assert.equal(tf.memory().numTensors, before);
      seqlab.disposeAll(x, mask);
      m.dispose();
    });
  }
});

describe("beam search: all sources in one batch", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  // Sources whose searches end at different steps (the END token chosen so that they do), with
  // padding: the rows of the batch change as searches end, and each source must still get
  // exactly its own search.
  for (const [model, endToken, lengthPenalty] of [
    ["additive", 4, 0],
    ["bidirectional", 1, 0.7],
    ["plain", 5, 0],
  ] as const) {
    it(`${model} encoder–decoder, length penalty ${lengthPenalty}: each source's hypotheses equal its search alone`, () => {
      const m = models[model]();
      const lengths = [5, 3, 4, 1, 5, 2];
      const x = ids(lengths.length, 5, Vx, 11);
      const mask = internal.maskFromLengths(lengths, 5);
      const options = { startToken: START, endToken, maxLength: 6, beamWidth: 3, lengthPenalty };
      const together = seqlab.beamSearch(m, x, { ...options, sourceMask: mask });
      lengths.forEach((_, b) => {
        const [xb, mb] = tf.tidy(() => [tf.slice(x, [b, 0], [1, -1]), tf.slice(mask, [b, 0], [1, -1])]);
        const alone = seqlab.beamSearch(m, xb, { ...options, sourceMask: mb as seqlab.tf.Tensor2D });
        const hyps = (d: typeof alone, i: number) => d.hypotheses[i].map((h) => [h.tokens.join(""), h.ended]);
        assert.deepEqual(hyps(together, b), hyps(alone, 0), `source ${b}: tokens and END`);
        together.hypotheses[b].forEach((h, j) => {
          const a = alone.hypotheses[0][j];
          assert.ok(Math.abs(h.logProb - a.logProb) < 1e-5, `source ${b}, hypothesis ${j}: log p ${h.logProb} vs ${a.logProb} alone`);
          assert.ok(Math.abs(h.score - a.score) < 1e-5, `source ${b}, hypothesis ${j}: score`);
        });
        if (alone.attention) {
          assert.equal(together.attention![b].length, alone.attention[0].length, `source ${b}: attention rows`);
          together.attention![b].forEach((row, t) =>
            row.forEach((v, j) => assert.ok(Math.abs(v - alone.attention![0][t][j]) < 1e-5, `α of source ${b}, step ${t}, position ${j}`)),
          );
        }
        seqlab.disposeAll(xb, mb);
      });
      const finished = together.hypotheses.map((h) => h.length);
      assert.ok(new Set(finished).size > 1, `the searches end in different states (hypotheses per source: ${finished})`);
      seqlab.disposeAll(x, mask);
      m.dispose();
    });
  }
});

/** Type tests (checked by tsc -p .): the encoder–decoder's state is typed, not a bag of prefixed names. */
export function stateTypes(m: seqlab.EncoderDecoder, x: seqlab.tf.Tensor2D): void {
  const state = m.begin(x);
  const keys: seqlab.tf.Tensor3D = state.memory.keys; // [B, T_in, H_enc]
  const h: seqlab.tf.Tensor2D = state.decoder.h; // [B, H]
  // @ts-expect-error the memory is state.memory, not a "memory."-prefixed key
  void state["memory.keys"];
  // @ts-expect-error a language model's flat state is not an encoder–decoder's
  m.step(tf.tensor1d([0], "int32"), { h });
  void keys;
}

/**
 * A decoder that reads its probabilities from a table, by the previous token and the step:
 * tokens 0 = END, 1 = a, 2 = b (3 = the start symbol). After "a" comes "a" once more, then
 * END, so the most likely sequence is "a a" (p = 0.61 · 0.9 · 0.95 ≈ 0.52). The empty
 * sequence (p 0.2) and "b" (p 0.19 · 0.9) finish early: two finished sequences while "a a"
 * is still alive.
 */
function tableDecoder(): seqlab.StepDecoder {
  const P = (t: number, prev: number): number[] => {
    if (prev === 3) return [0.2, 0.61, 0.19, 0];
    if (prev === 1) return t === 1 ? [0.1, 0.9, 0, 0] : [0.95, 0.05, 0, 0];
    return [0.9, 0.05, 0.05, 0];
  };
  return {
    outputSize: 4,
    begin: (source) => ({ h: tf.zeros([source.shape[0], 1]) }),
    step: (prev, state) => {
      const h = state.h;
      const t = h.dataSync()[0];
      const rows = Array.from(prev.dataSync()).map((p) => P(t, p).map((v) => Math.log(Math.max(v, 1e-9))));
      return { state: { h: h.add(1) }, logits: tf.tensor2d(rows) };
    },
  };
}

describe("beam search: stopping", () => {
  assertNoTensorLeaks();

  it("with α = 0 it keeps going while a live prefix is more likely than every finished sequence (never worse than greedy)", () => {
    const decoder = tableDecoder();
    const source = tf.zeros([1, 1]);
    const greedy = seqlab.greedyDecode(decoder, source, { startToken: 3, endToken: 0, maxLength: 6 });
    const beam = seqlab.beamSearch(decoder, source, { beamWidth: 2, startToken: 3, endToken: 0, maxLength: 6 });
    assert.deepEqual(greedy.tokens[0], [1, 1]);
    assert.deepEqual(beam.tokens[0], [1, 1], `beam found ${JSON.stringify(beam.hypotheses[0].map((h) => [h.tokens, h.logProb]))}`);
    assert.ok(Math.abs(beam.hypotheses[0][0].logProb - Math.log(0.61 * 0.9 * 0.95)) < 1e-5);
    source.dispose();
  });
});
