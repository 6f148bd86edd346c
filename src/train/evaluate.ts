/**
 * Evaluation: the loss (and accuracy, perplexity) of a model over some batches, with
 * `training: false`. The trainer validates with it after every epoch.
 */
import * as tf from "@tensorflow/tfjs";
import type { Batch, ForwardOptions, Trainable } from "./model";
import { MetricMeans, type Metrics } from "./metrics";
import { checkBatch, disposeBatch } from "./batches";

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Report perplexity = exp(loss). Default: false. */
  perplexity?: boolean;
  /** Teacher-forcing ratio to pass to forward (for measuring the train/test gap). Default: not passed. */
  teacherForcingRatio?: number;
}

/**
 * Loss (and accuracy, perplexity) of `model` over some batches, with `training: false`:
 * the means over all their real predictions. A function's batches are disposed after use;
 * a list's are not.
 *
 * @example
 * const model = new SequenceToVector({ inputSize: 2, cell: "gru", hiddenSize: 32, output: { values: 1 }, seed: 1 });
 * const test = await evaluate(model, () => addingBatches({ length: 50, batchSize: 256, batches: 4, seed: 7 }));
 * console.log(`test MSE ${test.loss.toFixed(4)}`);
 */
export async function evaluate<B extends Batch>(model: Trainable<B>, batches: readonly B[] | (() => Iterable<B>), options: EvaluateOptions = {}): Promise<Metrics> {
  const means = new MetricMeans();
  const owned = typeof batches === "function";
  const source: Iterable<B> = typeof batches === "function" ? batches() : batches;
  let i = 0;
  for (const batch of source) {
    i++;
    try {
      checkBatch(batch, `validation batch ${i}`);
      const [loss, count, correct] = await lossOf(model, batch, options.teacherForcingRatio);
      means.add(loss, count, correct);
    } finally {
      if (owned) disposeBatch(batch);
    }
  }
  if (i === 0) throw new Error("evaluate: no batches");
  return means.result(options.perplexity ?? false);
}

/** One batch's loss, count and (for classification) correct predictions, as numbers. */
async function lossOf<B extends Batch>(model: Trainable<B>, batch: B, teacherForcingRatio: number | undefined): Promise<[loss: number, count: number, correct: number | undefined]> {
  const fo: ForwardOptions = { training: false, ...(teacherForcingRatio === undefined ? {} : { teacherForcingRatio }) };
  const r = tf.tidy(() => {
    const out = model.forward(batch, fo);
    return [out.loss, out.count, ...(out.correct ? [out.correct] : [])];
  });
  const values = await Promise.all(r.map(async (t) => (await t.data())[0]));
  tf.dispose(r);
  return [values[0], values[1], values[2]];
}
