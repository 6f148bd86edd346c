/**
 * trainLoop: the hand-written loop helper runs the steps, records named losses, disposes
 * what steps make, reports leaks, and checks its options before the first step.
 */
import { strict as assert } from "assert";
import { tf, trainLoop, ConfigError } from "seqlab";

describe("trainLoop", () => {
  it("minimises w² with SGD: the loss falls by the factor (1 − 2·lr)² a step, and no tensor is left behind", async () => {
    const before = tf.memory().numTensors;
    const w = tf.tidy(() => tf.variable(tf.scalar(5)));
    const optimizer = tf.train.sgd(0.1);
    const r = await trainLoop({ steps: 20, plot: false }, () => optimizer.minimize(() => w.square() as tf.Scalar, true)!);
    assert.equal(r.steps, 20);
    assert.equal(r.interrupted, false);
    assert.equal(r.leakedTensors, 0);
    assert.equal(r.losses.loss.length, 20);
    // w ← w − 0.1·2w = 0.8 w, and minimize returns the loss before the update: 25·0.64^(k−1)
    r.losses.loss.forEach((l, k) => assert.ok(Math.abs(l - 25 * 0.64 ** k) < 1e-4 * 25, `step ${k + 1}: ${l}`));
    optimizer.dispose();
    w.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it("records named losses as separate curves, with gaps for steps a curve skipped; async steps work", async () => {
    const r = await trainLoop({ steps: 4, plot: false }, async (k) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const losses: Record<string, number | tf.Scalar> = { a: k };
      if (k % 2 === 0) losses.b = tf.scalar(10 * k);
      return losses;
    });
    assert.deepEqual(r.losses.a, [1, 2, 3, 4]);
    assert.deepEqual(
      r.losses.b.map((v) => (Number.isNaN(v) ? null : v)),
      [null, 20, null, 40],
    );
  });

  it("disposes every tensor a step makes, and counts a tensor kept on purpose every step as a leak", async () => {
    const before = tf.memory().numTensors;
    const kept: tf.Tensor[] = [];
    const r = await trainLoop({ steps: 5, plot: false }, () => {
      tf.ones([3, 3]).matMul(tf.ones([3, 3])); // intermediate: disposed by the loop's scope
      kept.push(tf.keep(tf.zeros([2])));
      return tf.scalar(1);
    });
    assert.equal(r.leakedTensors, 4, "steps 2–5 each kept one tensor");
    tf.dispose(kept);
    assert.equal(tf.memory().numTensors, before);
  });

  it("rejects bad options and results, naming what was expected", async () => {
    await assert.rejects(
      trainLoop({ steps: 0 }, () => 1),
      (e: Error) => e instanceof ConfigError && /options.steps: expected an integer ≥ 1, got 0/.test(e.message),
    );
    await assert.rejects(
      // @ts-expect-error misspelt option
      trainLoop({ steps: 2, logy: true }, () => 1),
      /unknown option "logy"; did you mean "logY"/,
    );
    const before = tf.memory().numTensors;
    await assert.rejects(
      trainLoop({ steps: 2, plot: false }, () => tf.zeros([2]) as unknown as tf.Scalar),
      /step 1 returned a tensor of shape \[2\]; expected a number or a scalar tensor/,
    );
    assert.equal(tf.memory().numTensors, before);
  });
});
