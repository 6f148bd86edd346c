/**
 * What a training run shows: the progress display through a fake kernel bridge (one
 * display_data, then update_display_data on the same display id, with a bar, ETA and
 * metrics, ending with why the run stopped), its terminal lines, and the live training
 * curves fed from the history.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { fakeKernel, linearModel } from "./train-helpers";

const { tf } = seqlab;

function data(n: number): seqlab.Batch[] {
  const rng = new seqlab.Rng(1);
  return Array.from({ length: n }, () => {
    const x = Array.from({ length: 8 }, () => [rng.normal(), rng.normal(), rng.normal()]);
    return { x: tf.tensor2d(x), y: tf.tensor2d(x.map((r) => [r[0] - r[1]])) };
  });
}

describe("training display", () => {
  before(async () => {
    await seqlab.initBackend();
  });

  it("in a notebook: a progress bar updated in place, with ETA and metrics, ending with the stop reason", async () => {
    const k = fakeKernel();
    try {
      const batches = data(5);
      const model = linearModel(3, 0);
      // progress defaults to on inside the kernel; interval 0 redraws at every step
      await seqlab.fit(model, {
        data: batches,
        validation: batches.slice(0, 1),
        epochs: 3,
        progress: { interval: 0 },
        optimizer: { name: "sgd", learningRate: 0.05 },
      });
      const progress = k.sent.filter((s) => String(s.content.transient?.display_id).startsWith("seqlab-progress-"));
      assert.ok(progress.length >= 1 + 15 + 3, `${progress.length} messages`);
      assert.equal(progress[0].update, false, "first a display_data");
      assert.ok(
        progress.slice(1).every((s) => s.update),
        "then update_display_data",
      );
      assert.equal(new Set(progress.map((s) => s.content.transient?.display_id)).size, 1, "one display id");
      const html = (i: number) => String(progress[i].content.data["text/html"]);
      const text = (i: number) => String(progress[i].content.data["text/plain"]);
      assert.match(text(1), /^epoch 1\/3 · step 1\/15 · 0:\d\d elapsed · ETA \d+:\d\d · loss [\d.]+$/);
      assert.match(html(1), /<div style="width: 6\.7%; height: 100%/);
      const last = progress.length - 1;
      assert.match(text(last), /epoch 3\/3 · step 15\/15 .* loss [\d.]+ · val loss [\d.]+ · completed 3 epochs/);
      assert.match(html(last), /width: 100\.0%/);
      assert.doesNotMatch(text(last), /ETA/);
      model.dispose();
      batches.forEach(internal.disposeBatch);
    } finally {
      k.remove();
    }
  });

  it("after Interrupt the progress line shows the epoch and step where training stopped", async () => {
    const k = fakeKernel();
    try {
      const batches = data(5);
      const model = linearModel(3, 0);
      await seqlab.fit(model, {
        data: batches,
        epochs: 4,
        progress: { interval: 0 },
        optimizer: { name: "sgd", learningRate: 0.05 },
        callbacks: [{ onStep: (log) => void (log.step === 13 && k.bridge.interrupts++) }],
      });
      const progress = k.sent.filter((s) => String(s.content.transient?.display_id).startsWith("seqlab-progress-"));
      const last = String(progress.at(-1)!.content.data["text/plain"]);
      assert.match(last, /^epoch 3\/4 · step 13\/20 · .*interrupted at step 13 \(epoch 3\)/);
      model.dispose();
      batches.forEach(internal.disposeBatch);
    } finally {
      k.remove();
    }
  });

  it("in a terminal: one line per epoch and one at the end (steps per epoch of generated batches known after epoch 1)", async () => {
    const lines: string[] = [];
    const model = linearModel(3, 0);
    await seqlab.fit(model, {
      data: () => data(4),
      epochs: 3,
      progress: { write: (l) => lines.push(l) },
    });
    assert.equal(lines.length, 4, lines.join("\n"));
    assert.match(
      lines[0],
      /^epoch 1\/3 · step 4\/12 · 0:\d\d elapsed · ETA \d+:\d\d · loss [\d.]+$/,
      "steps per epoch known once epoch 1 ends",
    );
    assert.match(lines[1], /^epoch 2\/3 · step 8\/12 · .* ETA \d+:\d\d · loss/);
    assert.match(lines[3], /completed 3 epochs$/);
    model.dispose();
  });

  it("liveCurves: a live figure redrawn from the history (train and validation loss per epoch)", async () => {
    const k = fakeKernel();
    try {
      const batches = data(3);
      const model = linearModel(3, 0);
      const curves = seqlab.liveCurves({ interval: 0 });
      const h = await seqlab.fit(model, {
        data: batches,
        validation: batches.slice(0, 1),
        epochs: 4,
        callbacks: [curves],
        progress: false,
      });
      assert.ok(curves.live);
      const fig = curves.live.figure;
      const names = fig.data.map((d) => (d as { name?: string }).name);
      assert.deepEqual(names, ["train", "validation"]);
      assert.deepEqual((fig.data[0] as { y: number[] }).y, h.loss);
      assert.deepEqual((fig.data[1] as { y: number[] }).y, h.valLoss);
      const live = k.sent.filter((s) => String(s.content.transient?.display_id).startsWith("seqlab-live-"));
      assert.ok(live.length >= 5, `${live.length} live messages: the first display and an update per epoch`);
      const perStep = internal.historyFigure(h, { every: "step" });
      assert.equal((perStep.data[0] as { y: number[] }).y.length, h.steps);
      model.dispose();
      batches.forEach(internal.disposeBatch);
    } finally {
      k.remove();
    }
  });
});
