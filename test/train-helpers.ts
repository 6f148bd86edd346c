/**
 * Small models for the trainer tests, written against the Trainable contract only (as a
 * user's own model would be): a linear regressor, an RNN that reads a sequence and answers
 * once (adding problem), and an RNN that answers at every step and carries its state
 * (truncated BPTT). Built from seqlab's cells and unroll; imports only from "seqlab".
 */
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";

const { tf } = seqlab;
type Tensor = seqlab.tf.Tensor;
type Tensor2D = seqlab.tf.Tensor2D;
type Tensor3D = seqlab.tf.Tensor3D;
type Variable = seqlab.tf.Variable;

function variable(t: Tensor): Variable {
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

/** ŷ = x W + b, loss = mean (ŷ − y)² over B. x [B, I], y [B, 1]. */
export function linearModel(I: number, seed = 0): seqlab.Trainable {
  const rng = new seqlab.Rng(seed);
  const variables = { W: variable(internal.uniformTensor([I, 1], 0.5, rng)), b: variable(tf.zeros([1])) };
  return {
    variables,
    forward(batch) {
      return tf.tidy(() => {
        const yHat = tf.add(tf.matMul(batch.x as Tensor2D, variables.W as Tensor as Tensor2D), variables.b); // [B, 1]
        const loss = tf.mean(tf.square(tf.sub(yHat, batch.y))) as seqlab.tf.Scalar;
        return { loss, count: tf.scalar(batch.x.shape[0]) };
      });
    },
    dispose: () => tf.dispose(Object.values(variables)),
  };
}

/** h(T) of an RNN/LSTM over x [B, T, I], then ŷ = V h(T) + c; MSE against y [B, 1]. */
export function sequenceRegressor(cellName: "rnn" | "lstm", I: number, H: number, seed = 0): seqlab.Trainable {
  const p =
    cellName === "rnn" ? seqlab.initRnn({ inputSize: I, hiddenSize: H, seed }) : seqlab.initLstm({ inputSize: I, hiddenSize: H, seed });
  const head = seqlab.initReadout({ hiddenSize: H, classes: 1, seed: seed + 1 });
  const variables: Record<string, Variable> = {};
  for (const [k, t] of Object.entries(p)) if (t) variables[k] = variable(t as Tensor);
  variables.V = variable(head.V);
  variables.c = variable(head.c);
  const cell = (cellName === "rnn" ? seqlab.rnnCell : seqlab.lstmCell) as seqlab.AnyCell;
  const cellParams = Object.fromEntries(
    Object.keys(p)
      .filter((k) => (p as unknown as Record<string, unknown>)[k])
      .map((k) => [k, variables[k]]),
  );
  return {
    variables,
    forward(batch) {
      return tf.tidy(() => {
        const { state } = seqlab.unroll(cell, cellParams, batch.x as Tensor3D, { returnSequences: false });
        const yHat = tf.add(tf.matMul(state.h, variables.V, false, true), variables.c); // [B, 1]
        const loss = tf.mean(tf.square(tf.sub(yHat, batch.y))) as seqlab.tf.Scalar;
        return { loss, count: tf.scalar(batch.x.shape[0]) };
      });
    },
    dispose: () => tf.dispose(Object.values(variables)),
  };
}

/**
 * An RNN tagger: x [B, T, I] → logits o(t) = V h(t) + c at every step, cross-entropy against
 * y [B, T] ids (mean over real steps; `mask` respected), accuracy, and the final state for
 * truncated BPTT. Records the initial states it was given (for the TBPTT test).
 */
export function rnnTagger(I: number, H: number, K: number, seed = 0): seqlab.Trainable & { seenStates: (number[] | undefined)[] } {
  const p = seqlab.initRnn({ inputSize: I, hiddenSize: H, seed });
  const head = seqlab.initReadout({ hiddenSize: H, classes: K, seed: seed + 1 });
  const variables = { U: variable(p.U), W: variable(p.W), b: variable(p.b), V: variable(head.V), c: variable(head.c) };
  const seenStates: (number[] | undefined)[] = [];
  return {
    variables,
    seenStates,
    forward(batch, options) {
      seenStates.push(options.state ? Array.from(options.state.h.dataSync()) : undefined);
      return tf.tidy(() => {
        const x = batch.x as Tensor3D;
        const [B, T] = x.shape;
        const r = seqlab.unroll(seqlab.rnnCell, { U: variables.U, W: variables.W, b: variables.b } as seqlab.RnnParams, x, {
          ...(options.state ? { initialState: { h: options.state.h } } : {}),
          ...(batch.mask ? { mask: batch.mask } : {}),
        });
        const o = seqlab.readout({ V: variables.V, c: variables.c } as seqlab.ReadoutParams, r.outputs); // [B, T, K]
        const mask = batch.mask ?? (tf.ones([B, T]) as Tensor2D);
        const count = tf.sum(mask) as seqlab.tf.Scalar;
        const loss = tf.div(seqlab.sequenceLoss(o, batch.y as Tensor2D, mask), count) as seqlab.tf.Scalar;
        const hits = tf.cast(tf.equal(tf.argMax(o, 2), tf.cast(batch.y, "int32")), "float32");
        const correct = tf.sum(tf.mul(hits, mask)) as seqlab.tf.Scalar;
        return { loss, count, correct, state: { h: r.state.h } };
      });
    },
    dispose: () => tf.dispose(Object.values(variables)),
  };
}

export { fakeKernel } from "./helpers/fake-kernel";
