/**
 * Misuse of the architectures that the signatures reject at compile time (checked by
 * `tsc -p .`): each `// @ts-expect-error` line must be a type error, or tsc fails with
 * "Unused '@ts-expect-error' directive". The runtime checks for the same mistakes (for
 * JavaScript callers and notebook cells) are in sequence-architectures.test.ts.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";

const { tf } = seqlab;

/** Never called: it only has to type-check (with the expected errors). */
function misuse(): void {
  const q1 = tf.zeros([4]) as seqlab.tf.Tensor1D;
  const q2 = tf.zeros([2, 4]) as seqlab.tf.Tensor2D;
  const k3 = tf.zeros([2, 3, 4]) as seqlab.tf.Tensor3D;

  // @ts-expect-error a model must say what it predicts: output {classes} or {values}
  new seqlab.SequenceToVector({ inputSize: 2, cell: "lstm", hiddenSize: 4 });
  // @ts-expect-error classes or values, not both
  new seqlab.SequenceToVector({ inputSize: 2, cell: "lstm", hiddenSize: 4, output: { classes: 3, values: 1 } });
  // @ts-expect-error merges are "concat", "sum", "average"
  new seqlab.RecurrentEncoder({ cell: "gru", inputSize: 2, hiddenSize: 4, bidirectional: "max" });
  // @ts-expect-error cells are "rnn", "lstm", "gru", "gru-pytorch"
  new seqlab.RecurrentLayer({ cell: "elman", inputSize: 2, hiddenSize: 4 });
  // @ts-expect-error feeds are "initial-state" and "every-step"
  new seqlab.VectorToSequence({ cell: "rnn", inputSize: 2, hiddenSize: 4, feed: "sometimes", output: { classes: 2 } });
  // @ts-expect-error scores are "additive", "dot", "general", "scaled-dot"
  new seqlab.AttentionEncoderDecoder({ sourceVocabSize: 5, targetVocabSize: 5, cell: "gru", hiddenSize: 4, score: "cosine" });
  // @ts-expect-error a query is [B, D_q] (or [B, T_out, D_q]), not a vector
  seqlab.dotScore(q1, k3);
  // @ts-expect-error keys are [B, T_in, D_k]
  seqlab.dotScore(q2, q2);
  // @ts-expect-error a one-step query gives [B, T_in] scores, not [B, T_out, T_in]
  const e: seqlab.tf.Tensor3D = seqlab.dotScore(q2, k3);
  // @ts-expect-error beam search needs a maxLength
  seqlab.beamSearch(null as unknown as seqlab.StepDecoder, q2, { startToken: 0, beamWidth: 2 });
  void e;
}

describe("architecture types", () => {
  it("misuse fails to compile (see the @ts-expect-error lines, checked by tsc -p .)", () => {
    assert.equal(typeof misuse, "function");
  });
});
