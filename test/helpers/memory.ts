/**
 * tf.memory().numTensors checks shared by every test suite: a suite-wide hook that each
 * test leaves the count unchanged, and a check that one call leaves only what it returns.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";

const { tf } = seqlab;
type Tensor = seqlab.tf.Tensor;

/** Every test in a suite that calls this must leave tf.memory().numTensors unchanged. */
export function assertNoTensorLeaks(): void {
  let before = 0;
  beforeEach(() => {
    before = tf.memory().numTensors;
  });
  afterEach(function () {
    if (this.currentTest?.state !== "passed") return;
    assert.equal(tf.memory().numTensors, before, `"${this.currentTest.title}" leaked tensors`);
  });
}

/**
 * Runs fn and asserts that afterwards exactly the tensors it returned are new: everything
 * else it made was disposed (so disposing its result restores tf.memory().numTensors).
 */
export function expectNoLeak<T>(what: string, fn: () => T): T {
  const before = tf.memory().numTensors;
  const result = fn();
  const returned = tensorsIn(result).filter((t) => !t.isDisposed).length;
  assert.equal(tf.memory().numTensors - before, returned, `${what} left tensors behind besides the ${returned} it returned`);
  return result;
}

/** The distinct tensors inside any object or array. */
export function tensorsIn(x: unknown, seen = new Set<Tensor>()): Tensor[] {
  if (x instanceof tf.Tensor) seen.add(x);
  else if (Array.isArray(x)) x.forEach((v) => tensorsIn(v, seen));
  else if (x !== null && typeof x === "object") Object.values(x).forEach((v) => tensorsIn(v, seen));
  return [...seen];
}
