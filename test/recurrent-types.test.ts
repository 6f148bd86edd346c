/**
 * Misuse that the signatures reject at compile time (checked by `tsc -p .`, which
 * `npm test` runs): each `// @ts-expect-error` line must be a type error, or tsc fails
 * with "Unused '@ts-expect-error' directive".
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";

const { tf } = seqlab;

/** Never called: it only has to type-check (with the expected errors). */
function misuse(): void {
  const x3 = tf.zeros([2, 4, 3]) as seqlab.tf.Tensor3D;
  const x2 = tf.zeros([2, 3]) as seqlab.tf.Tensor2D;
  const x1 = tf.zeros([5]) as seqlab.tf.Tensor1D;
  const rnn = seqlab.initRnn({ inputSize: 3, hiddenSize: 5 });
  const lstm = seqlab.initLstm({ inputSize: 3, hiddenSize: 5 });
  const gruP = seqlab.initGruPytorch({ inputSize: 3, hiddenSize: 5 });

  // @ts-expect-error a step takes x(t) [B, I], not the whole sequence [B, T, I]
  seqlab.rnnStep(rnn, x3, { h: x2 });
  // @ts-expect-error h(t−1) is [B, H], not a vector
  seqlab.rnnStep(rnn, x2, { h: x1 });
  // @ts-expect-error unroll takes a sequence [B, T, I]
  seqlab.unroll(seqlab.rnnCell, rnn, x2);
  // @ts-expect-error a step takes the state object {h}, not the tensor h
  seqlab.gruStep(seqlab.initGru({ inputSize: 3, hiddenSize: 5 }), x2, x2);
  // @ts-expect-error the LSTM's state needs s as well as h
  seqlab.lstmStep(lstm, x2, { h: x2 });
  // @ts-expect-error the PyTorch-convention GRU needs its recurrent bias bh
  seqlab.unroll(seqlab.gruPytorchCell, seqlab.initGru({ inputSize: 3, hiddenSize: 5 }), x3);
  // @ts-expect-error h0 must be [B, H]
  seqlab.unroll(seqlab.rnnCell, rnn, x3, { initialState: { h: x3 } });
  // @ts-expect-error a mask is [B, T]
  seqlab.unroll(seqlab.rnnCell, rnn, x3, { mask: x3 });
  // @ts-expect-error with returnSequences: false there are no outputs
  void seqlab.unroll(seqlab.rnnCell, rnn, x3, { returnSequences: false }).outputs;
  // @ts-expect-error the readout reads h [B, T, H]
  seqlab.readout(seqlab.initReadout({ hiddenSize: 5, classes: 3 }), x2);
  // @ts-expect-error targets y are [B, T]
  seqlab.sequenceLoss(x3, x3);
  // @ts-expect-error the registry has no "keras" cell
  void seqlab.CELLS.keras;
  // @ts-expect-error the cell and its parameters must match
  seqlab.layer(seqlab.gruPytorchCell, lstm);
  void gruP;
}

describe("recurrent core types", () => {
  it("misuse fails to compile (see the @ts-expect-error lines, checked by tsc -p .)", () => {
    assert.equal(typeof misuse, "function");
  });
});
