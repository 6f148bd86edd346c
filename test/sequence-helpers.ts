/** Shared set-up for the architecture tests (imports only from "seqlab"). */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";

const { tf } = seqlab;
type Tensor = seqlab.tf.Tensor;

/** Values of a tensor as a flat number array. */
export function flat(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

/** max |a − b| over two tensors (or arrays) of equal size. */
export function maxDiff(a: Tensor | ArrayLike<number>, b: Tensor | ArrayLike<number>): number {
  const x = a instanceof tf.Tensor ? flat(a) : Array.from(a);
  const y = b instanceof tf.Tensor ? flat(b) : Array.from(b);
  assert.equal(x.length, y.length, "sizes differ");
  return x.reduce((m, v, k) => Math.max(m, Math.abs(v - y[k])), 0);
}

/** A scalar tensor's value (disposes nothing). */
export function num(t: Tensor): number {
  return t.dataSync()[0];
}

/** Normal [B, T, I] inputs from a seed. */
export function inputs(B: number, T: number, I: number, seed = 5): seqlab.tf.Tensor3D {
  return internal.normalTensor<seqlab.tf.Rank.R3>([B, T, I], 1, new seqlab.Rng(seed)) as seqlab.tf.Tensor3D;
}

/** Random integer ids [B, T] in [0, V). */
export function ids(B: number, T: number, V: number, seed = 6): seqlab.tf.Tensor2D {
  const rng = new seqlab.Rng(seed);
  return tf.tensor2d(
    Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V))),
    [B, T],
    "int32",
  );
}

/**
 * Runs `steps` training steps (forward, tf.variableGrads, Adam) and returns
 * tf.memory().numTensors after each; the caller asserts it stays flat.
 */
export function tensorCountsOverSteps(
  model: seqlab.Trainable,
  batch: seqlab.Batch,
  steps: number,
  options: seqlab.ForwardOptions = { training: true },
): number[] {
  const optimizer = tf.train.adam(0.01);
  const vars = Object.values(model.variables);
  const counts: number[] = [];
  for (let k = 0; k < steps; k++) {
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => model.forward(batch, options).loss, vars);
      optimizer.applyGradients(grads as seqlab.tf.NamedTensorMap as never);
      value.dispose();
    });
    counts.push(tf.memory().numTensors);
  }
  optimizer.dispose();
  return counts;
}

/** Asserts that `fn` throws an error whose message contains every one of `parts`. */
export function throwsWith(fn: () => unknown, parts: readonly string[]): void {
  assert.throws(fn, (e: Error) => {
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" should mention "${p}"`);
    return true;
  });
}

/** Normal values of a shape from a seed (standard deviation sd). */
export function normal<T extends Tensor>(shape: number[], seed: number, sd = 1): T {
  return internal.normalTensor(shape, sd, new seqlab.Rng(seed)) as T;
}

/** max |a − b| / max(1, max |b|): a float32 comparison that scales with the values. */
export function relDiff(a: Tensor, b: Tensor): number {
  const scale = Math.max(1, ...flat(b).map(Math.abs));
  return maxDiff(a, b) / scale;
}

/** A source mask for B = 3, T_in = 5: row 1 padded after 3 positions, row 2 fully masked (α = 0 and c = 0, as attentionSoftmax gives). */
export const PADDED_AND_EMPTY_MASK = [
  [1, 1, 1, 1, 1],
  [1, 1, 1, 0, 0],
  [0, 0, 0, 0, 0],
];

/**
 * Runs `run` on one thread and then on two, every fused call split however small (the worker
 * given a few calls to wake up), and asserts that every array it returns is the same bits;
 * that the worker took work, when the runtime has it; returns the one-thread arrays. Puts the
 * thread setting back.
 */
export function sameOnOneAndTwoThreads(run: () => Record<string, number[]>): Record<string, number[]> {
  try {
    internal.setFusedThreads(1);
    const one = run();
    internal.setFusedThreads(2, 0); // every call split, whatever its size
    const chunks0 = internal.fusedMemory().workerChunks;
    let two = run();
    // the worker claims chunks when it is awake; give it a few calls to wake up
    for (let i = 0; i < 20 && internal.fusedMemory().threads === 2 && internal.fusedMemory().workerChunks === chunks0; i++) two = run();
    assert.deepEqual(Object.keys(two).sort(), Object.keys(one).sort());
    for (const n of Object.keys(one)) assert.deepEqual(two[n], one[n], `${n} differs between one and two threads`);
    if (internal.fusedMemory().threads === 2) assert.ok(internal.fusedMemory().workerChunks > chunks0, "the worker took no work");
    return one;
  } finally {
    internal.setFusedThreads(undefined);
  }
}
