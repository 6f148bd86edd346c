/**
 * The seed scheme (src/seeds.ts): the offsets keep their values, no two parts of a model
 * share a seed, and the models initialise each part from the seed the scheme names (their
 * weights equal the part's initialiser called with that seed, and the first numbers are
 * pinned as they were before the scheme had names).
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks } from "./helpers/memory";

type Tensor = seqlab.tf.Tensor;

/** Asserts two tensors hold the same numbers (exactly: the same seed draws the same stream). */
function same(actual: Tensor, expected: Tensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, what);
  assert.deepEqual(Array.from(actual.dataSync()), Array.from(expected.dataSync()), what);
}

const first = (t: Tensor, n: number) =>
  Array.from(t.dataSync())
    .slice(0, n)
    .map((v) => Math.round(v * 1e6) / 1e6);

describe("seeds: one scheme for every part of a model", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  it("the offsets keep their values: head +3, bridge +5, input +7, …, layer ℓ +101ℓ (+53 reversed), GRU bias XOR 0x5bd1e995", () => {
    assert.deepEqual(
      { ...internal.SEED_OFFSETS },
      {
        head: 3,
        bridge: 5,
        input: 7,
        source: 11,
        targetEmbedding: 13,
        decoderLayer: 17,
        teacherForcing: 19,
        attentionHead: 23,
        attention: 29,
      },
    );
    assert.equal(internal.partSeed(7, "head"), 10);
    assert.equal(internal.partSeed(100, "attention"), 129);
    assert.equal(internal.layerSeed(42, 0), 42);
    assert.equal(internal.layerSeed(42, 2), 244);
    assert.equal(internal.layerSeed(42, 2, "reversed"), 297);
    assert.equal(internal.gruPytorchBiasSeed(0), 0x5bd1e995);
    assert.equal(internal.gruPytorchBiasSeed(12), 12 ^ 0x5bd1e995);
  });

  it("no two parts of a model share a seed (8 layers, both directions, every named part)", () => {
    const seeds = Object.keys(internal.SEED_OFFSETS).map((p) => internal.partSeed(1, p as internal.SeedPart));
    for (let l = 0; l < 8; l++) seeds.push(internal.layerSeed(1, l), internal.layerSeed(1, l, "reversed"));
    assert.equal(new Set(seeds).size, seeds.length);
  });

  it("SequenceToVector(seed 42): E from partSeed 'input', layers from layerSeed, V, c from partSeed 'head'", () => {
    const m = new seqlab.SequenceToVector({
      cell: "lstm",
      vocabSize: 5,
      embeddingSize: 3,
      hiddenSize: 2,
      bidirectional: "concat",
      output: { classes: 2 },
      seed: 42,
    });
    const v = m.variables;
    const E = internal.initEmbedding({ vocabSize: 5, embeddingSize: 3, seed: internal.partSeed(42, "input") });
    const forward = seqlab.initLstm({ inputSize: 3, hiddenSize: 2, seed: internal.layerSeed(42, 0) });
    const reversed = seqlab.initLstm({ inputSize: 3, hiddenSize: 2, seed: internal.layerSeed(42, 0, "reversed") });
    const head = seqlab.initReadout({ hiddenSize: 4, classes: 2, seed: internal.partSeed(42, "head") });
    same(v["input.E"], E, "input.E");
    same(v["encoder.layer0.U"], forward.U, "layer0.U");
    same(v["encoder.layer0.reverse.W"], reversed.W, "layer0.reverse.W");
    same(v["head.V"], head.V, "head.V");
    assert.deepEqual(first(v["input.E"], 3), [-0.763645, 1.309572, 0.305918]);
    assert.deepEqual(first(v["encoder.layer0.U"], 3), [0.142982, -0.073128, 0.498462]);
    assert.deepEqual(first(v["encoder.layer0.reverse.U"], 3), [0.146922, 0.278765, -0.291468]);
    assert.deepEqual(first(v["head.V"], 3), [-0.462804, 0.413798, 0.286677]);
    assert.deepEqual(first(v["head.c"], 2), [0.067666, 0.254396]);
    seqlab.disposeAll([E, forward, reversed, head]);
    m.dispose();
  });

  it("VectorToSequence and TeacherForcingRnn: the layer from the seed itself, the head from seed + 3, the bridge from seed + 5", () => {
    const v2s = new seqlab.VectorToSequence({
      cell: "rnn",
      inputSize: 3,
      hiddenSize: 4,
      feed: "initial-state",
      output: { classes: 2 },
      seed: 5,
    });
    const layer = seqlab.initRnn({ inputSize: 1, hiddenSize: 4, seed: internal.layerSeed(5, 0) });
    const head = seqlab.initReadout({ hiddenSize: 4, classes: 2, seed: internal.partSeed(5, "head") });
    const A = internal.uniformTensor([4, 3], 1 / Math.sqrt(3), new seqlab.Rng(internal.partSeed(5, "bridge")));
    same(v2s.variables["layer.W"], layer.W, "layer.W");
    same(v2s.variables["head.V"], head.V, "head.V");
    same(v2s.variables["bridge.A"], A, "bridge.A");
    const tf1 = new seqlab.TeacherForcingRnn({ inputSize: 2, classes: 3, hiddenSize: 4, seed: 77 });
    const tfHead = seqlab.initReadout({ hiddenSize: 4, classes: 3, seed: internal.partSeed(77, "head") });
    same(tf1.variables["head.V"], tfHead.V, "TeacherForcingRnn head.V");
    seqlab.disposeAll([layer, head, A, tfHead]);
    v2s.dispose();
    tf1.dispose();
  });

  it("initGruPytorch: b_h from its own stream, gruPytorchBiasSeed(seed); U, W, b as initGru", () => {
    const p = seqlab.initGruPytorch({ inputSize: 2, hiddenSize: 2, seed: 12 });
    const g = seqlab.initGru({ inputSize: 2, hiddenSize: 2, seed: 12 });
    const bh = internal.uniformTensor([6], 1 / Math.sqrt(2), new seqlab.Rng(internal.gruPytorchBiasSeed(12)));
    same(p.U, g.U, "U");
    same(p.bh, bh, "bh");
    assert.deepEqual(first(p.bh, 6), [0.620647, -0.018929, -0.063573, 0.510845, 0.354203, 0.383364]);
    seqlab.disposeAll([p, g, bh]);
  });
});
