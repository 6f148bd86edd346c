/**
 * Clear errors early in the architectures: NaN/±Inf in what predict/forward/unroll get is
 * named with its index (one reduction per input); unknown config keys suggest the right
 * name (before any variable is made, so nothing leaks); a disposed model is named.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks } from "./helpers/memory";

const { tf } = seqlab;
type Tensor3D = seqlab.tf.Tensor3D;
type Tensor2D = seqlab.tf.Tensor2D;

/** x [B, T, I] of zeros with one value set. */
function withValueAt(shape: [number, number, number], at: [number, number, number], value: number): Tensor3D {
  const data = new Float32Array(shape[0] * shape[1] * shape[2]);
  data[(at[0] * shape[1] + at[1]) * shape[2] + at[2]] = value;
  return tf.tensor3d(data, shape);
}

describe("architectures: clear errors early", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  it("unroll: NaN/Inf in x, h0 or s0 is named with its index; a finite input runs as before", () => {
    const p = seqlab.initLstm({ inputSize: 2, hiddenSize: 3, seed: 1 });
    const x = withValueAt([2, 5, 2], [1, 4, 0], NaN);
    assert.throws(
      () => seqlab.unroll(seqlab.lstmCell, p, x),
      (e: unknown) =>
        e instanceof internal.NonFiniteInputError && /^unroll\(lstm\): x\[1, 4, 0\] is NaN$/.test(e.message) && e.argument === "x",
    );
    const ok = tf.zeros([2, 5, 2]) as Tensor3D;
    const s0 = tf.tensor2d([
      [0, 0, 0],
      [0, -Infinity, 0],
    ]);
    assert.throws(() => seqlab.unroll(seqlab.lstmCell, p, ok, { initialState: { s: s0 } }), /unroll\(lstm\): s0\[1, 1\] is -Infinity/);
    assert.throws(
      () => seqlab.unroll(seqlab.lstmCell, p, ok, { initialState: { s: s0 }, fused: false }),
      /unroll\(lstm\): s0\[1, 1\] is -Infinity/,
    );
    const r = seqlab.unroll(seqlab.lstmCell, p, ok);
    seqlab.disposeAll(r);
    // a stack and a bidirectional pair name their own inputs
    const layer = seqlab.layer(seqlab.lstmCell, p);
    assert.throws(() => seqlab.unrollStacked([layer], x), /unrollStacked: x\[1, 4, 0\] is NaN/);
    assert.throws(() => seqlab.bidirectional(layer, layer, x), /bidirectional: x\[1, 4, 0\] is NaN/);
    seqlab.disposeAll(p, x, ok, s0);
  });

  it("predict/forward of the models name the argument and index of a NaN/Inf input", () => {
    const s2v = new seqlab.SequenceToVector({ cell: "gru", inputSize: 2, hiddenSize: 3, output: { values: 1 } });
    const x = withValueAt([2, 4, 2], [0, 3, 1], Infinity);
    assert.throws(
      () => s2v.predict(x),
      (e: unknown) => e instanceof internal.NonFiniteInputError && e.message === "SequenceToVector: x[0, 3, 1] is Infinity",
    );
    const y = tf.zeros([2, 1]);
    assert.throws(() => s2v.forward({ x, y }, { training: false }), /SequenceToVector: batch\.x\[0, 3, 1\] is Infinity/);
    const s2s = new seqlab.SequenceToSequence({ cell: "rnn", inputSize: 2, hiddenSize: 3, output: { values: 1 } });
    assert.throws(() => s2s.predict(x), /SequenceToSequence: x\[0, 3, 1\] is Infinity/);
    const h = tf.tensor2d([
      [0, NaN, 0],
      [0, 0, 0],
    ]);
    const zeros = tf.zeros([2, 4, 2]);
    const ids = tf.zeros([2, 4], "int32");
    assert.throws(
      () => s2s.predict(zeros, { state: { "layer0.h": h } }),
      /SequenceToSequence\.predict: options\.state\.layer0\.h\[0, 1\] is NaN/,
    );
    const v2s = new seqlab.VectorToSequence({ cell: "rnn", inputSize: 2, hiddenSize: 3, output: { values: 1 } });
    const v = tf.tensor2d([
      [1, 2],
      [NaN, 0],
    ]);
    assert.throws(() => v2s.predict(v as Tensor2D, 3), /VectorToSequence: v\[1, 0\] is NaN/);
    const tfr = new seqlab.TeacherForcingRnn({ inputSize: 2, classes: 3, hiddenSize: 4 });
    assert.throws(() => tfr.forward({ x, y: ids }, { training: true }), /TeacherForcingRnn: batch\.x\[0, 3, 1\] is Infinity/);
    const enc = new seqlab.RecurrentEncoder({ cell: "lstm", inputSize: 2, hiddenSize: 3, layers: 2 });
    assert.throws(() => enc.run(x), /RecurrentEncoder\.run: x\[0, 3, 1\] is Infinity/);
    // finite inputs: as before
    const o = s2v.predict(zeros);
    assert.deepEqual(o.shape, [2, 1]);
    o.dispose();
    [s2v, s2s, v2s, tfr, enc].forEach((m) => m.dispose());
    seqlab.disposeAll(x, y, h, v, zeros, ids);
  });

  it("the input check costs one reduction and one readback per input, and none for a tensor already found finite", () => {
    const p = seqlab.initRnn({ inputSize: 2, hiddenSize: 3, seed: 1 });
    const x = tf.ones([2, 5, 2]) as Tensor3D;
    const before = tf.memory().numTensors;
    internal.checkFinite("test", "x", x);
    assert.equal(tf.memory().numTensors, before);
    // remembered: no op at all the second time (a profile of the call records no kernel)
    const profile = tf.profile(() => {
      internal.checkFinite("test", "x", x);
    });
    return profile.then((info) => {
      assert.equal(info.kernels.length, 0);
      seqlab.disposeAll(p, x);
    });
  });

  it("unknown config keys: every model names the key and suggests the right one, before making any variable", () => {
    const cases: [() => unknown, RegExp][] = [
      [
        () => new seqlab.SequenceToVector({ cell: "gru", inputSize: 2, hidden_size: 3, output: { values: 1 } } as never),
        /SequenceToVector: unknown option "hidden_size"; did you mean "hiddenSize"\?/,
      ],
      [
        () => new seqlab.SequenceToVector({ cell: "gru", inputSize: 2, hiddenSize: 3, num_layers: 2, output: { values: 1 } } as never),
        /SequenceToVector: unknown option "num_layers"; did you mean "layers"\?/,
      ],
      [
        () => new seqlab.SequenceToVector({ cell: "gru", inputSize: 2, hiddenSize: 3, output: { value: 1 } } as never),
        /SequenceToVector: unknown option "output\.value"; did you mean "values"\?/,
      ],
      [
        () =>
          new seqlab.SequenceToSequence({
            cell: "gru",
            inputSize: 2,
            hiddenSize: 3,
            output: { classes: 2 },
            bidirectionel: "concat",
          } as never),
        /SequenceToSequence: unknown option "bidirectionel"; did you mean "bidirectional"\?/,
      ],
      [
        () =>
          new seqlab.VectorToSequence({ cell: "rnn", inputSize: 2, hiddenSize: 3, output: { values: 1 }, feeds: "every-step" } as never),
        /VectorToSequence: unknown option "feeds"; did you mean "feed"\?/,
      ],
      [
        () => new seqlab.TeacherForcingRnn({ inputSize: 2, classes: 3, hiddenSize: 4, num_classes: 3 } as never),
        /TeacherForcingRnn: unknown option "num_classes"; did you mean "classes"\?/,
      ],
      [
        () => new seqlab.EncoderDecoder({ sourceVocabSize: 5, targetVocabSize: 5, cell: "gru", hiddenSize: 4, num_layers: 2 } as never),
        /EncoderDecoder: unknown option "num_layers"; did you mean "encoderLayers"\?/,
      ],
      [
        () =>
          new seqlab.AttentionEncoderDecoder({
            sourceVocabSize: 5,
            targetVocabSize: 5,
            cell: "gru",
            hiddenSize: 4,
            scores: "dot",
          } as never),
        /AttentionEncoderDecoder: unknown option "scores"; did you mean "score"\?/,
      ],
      [
        () => new seqlab.RecurrentLayer({ cell: "lstm", input_size: 2, hiddenSize: 3 } as never),
        /RecurrentLayer: unknown option "input_size"; did you mean "inputSize"\?/,
      ],
      [
        () => new seqlab.RecurrentEncoder({ cell: "lstm", inputSize: 2, hiddenSize: 3, layer: 2 } as never),
        /RecurrentEncoder: unknown option "layer"; did you mean "layers"\?/,
      ],
    ];
    for (const [make, message] of cases)
      assert.throws(make, (e: unknown) => e instanceof internal.OptionError && message.test(e.message), String(message));
    // the configs the models pass on inside are not checked against the wrong list
    const m = new seqlab.SequenceToVector({
      vocabSize: 6,
      embeddingSize: 4,
      cell: "lstm",
      hiddenSize: 3,
      layers: 2,
      bidirectional: "sum",
      peepholes: false,
      seed: 3,
      maxLength: 50,
      output: { classes: 2 },
    });
    m.dispose();
  });

  it("a disposed model: predict, forward and decoding name the model instead of tfjs's 'Tensor is disposed'", () => {
    const s2v = new seqlab.SequenceToVector({ cell: "gru", inputSize: 2, hiddenSize: 3, output: { values: 1 } });
    s2v.dispose();
    const x = tf.zeros([1, 2, 2]);
    const y = tf.zeros([1, 1]);
    assert.throws(
      () => s2v.predict(x),
      (e: unknown) =>
        e instanceof internal.DisposedModelError &&
        /^SequenceToVector\.predict: the SequenceToVector model has been disposed/.test(e.message),
    );
    assert.throws(
      () => s2v.forward({ x, y }, { training: true }),
      /SequenceToVector\.forward: the SequenceToVector model has been disposed/,
    );
    const ed = new seqlab.AttentionEncoderDecoder({ sourceVocabSize: 5, targetVocabSize: 5, cell: "gru", hiddenSize: 4 });
    ed.dispose();
    const src = tf.tensor2d([[1, 2]], [1, 2], "int32");
    assert.throws(
      () => seqlab.greedyDecode(ed, src, { startToken: 1, maxLength: 3 }),
      /AttentionEncoderDecoder\.begin: the AttentionEncoderDecoder model has been disposed/,
    );
    const layer = new seqlab.RecurrentLayer({ cell: "rnn", inputSize: 2, hiddenSize: 3 });
    layer.dispose();
    assert.throws(() => layer.run(x as Tensor3D), /RecurrentLayer\.run: the RecurrentLayer has been disposed/);
    seqlab.disposeAll(x, y, src);
  });
});
