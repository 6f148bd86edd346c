/**
 * Evaluation: the loss (and accuracy, perplexity) of a model over some batches, with
 * `training: false`. The trainer validates with it after every epoch.
 */
import * as tf from "@tensorflow/tfjs";
import { checkNotDisposed, type Batch, type ForwardOptions, type Trainable } from "./model";
import { MetricMeans, type Metrics } from "./metrics";
import { checkBatch, disposeMadeSince, tensorMark } from "./batches";
import { withCheckedInputs } from "../sequence/finite";

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Report perplexity = exp(loss). Default: false. */
  perplexity?: boolean;
  /** Teacher-forcing ratio to pass to forward (for measuring the train/test gap). Default: not passed. */
  teacherForcingRatio?: number;
}

/**
 * Loss (and accuracy, perplexity) of `model` over some batches, with `training: false`:
 * the means over all their real predictions. A list's batches are left alone; a function's
 * are disposed after use when the function made them (the rule of `fit`'s data, batches.ts:
 * tensors that existed before the call are the caller's).
 *
 * @example
 * const model = new SequenceToVector({ inputSize: 2, cell: "gru", hiddenSize: 32, output: { values: 1 }, seed: 1 });
 * const test = await evaluate(model, () => addingBatches({ length: 50, batchSize: 256, batches: 4, seed: 7 }));
 * console.log(`test MSE ${test.loss.toFixed(4)}`);
 */
export async function evaluate<B extends Batch>(
  model: Trainable<B>,
  batches: readonly B[] | (() => Iterable<B>),
  options: EvaluateOptions = {},
): Promise<Metrics> {
  checkNotDisposed("evaluate", model);
  const means = new MetricMeans();
  const madeFrom = typeof batches === "function" ? tensorMark() : Infinity;
  const source: Iterable<B> = typeof batches === "function" ? batches() : batches;
  let i = 0;
  for (const batch of source) {
    i++;
    try {
      checkBatch(batch, `evaluate: validation batch ${i}`);
      const [loss, count, correct] = await lossOf(model, batch, options.teacherForcingRatio);
      means.add(loss, count, correct);
    } finally {
      if (batch && typeof batch === "object") disposeMadeSince(batch, madeFrom);
    }
  }
  if (i === 0) throw new Error("evaluate: no batches");
  return means.result(options.perplexity ?? false);
}

/**
 * Checks `fit`'s validation batches before the first training step, so that a mistake in
 * them does not surface after a whole epoch of training: every batch of a list (and the
 * first of a function's, which is called once for this and whose fresh tensors are then
 * disposed) must be a batch of live tensors with one B, and hold no NaN/±Inf. Errors
 * start "fit: validation batch i". (Whether the model accepts their shapes is found by
 * the first evaluation, as no forward pass is spent here.)
 */
export function checkValidation<B extends Batch>(validation: readonly B[] | (() => Iterable<B>) | undefined, where: string): void {
  if (validation === undefined) return;
  if (typeof validation !== "function" && !Array.isArray(validation)) {
    throw new Error(
      `${where}: validation must be an array of batches or a function () => batches (called for every evaluation), got ${typeof validation}${validation !== null && typeof validation === "object" ? " (a generator can be read only once: pass () => myBatches(…))" : ""}`,
    );
  }
  const madeFrom = typeof validation === "function" ? tensorMark() : Infinity;
  const source = typeof validation === "function" ? validation() : validation;
  const iterator = source[Symbol.iterator]();
  try {
    let i = 0;
    for (let next = iterator.next(); !next.done; next = iterator.next()) {
      const batch = next.value;
      i++;
      try {
        checkBatch(batch, `${where}: validation batch ${i}`);
      } finally {
        if (batch && typeof batch === "object") disposeMadeSince(batch, madeFrom);
      }
      if (typeof validation === "function") break; // a function's first batch only
    }
    if (i === 0) throw new Error(`${where}: validation has no batches`);
  } finally {
    iterator.return?.();
  }
}

/** One batch's loss, count and (for classification) correct predictions, as numbers. */
async function lossOf<B extends Batch>(
  model: Trainable<B>,
  batch: B,
  teacherForcingRatio: number | undefined,
): Promise<[loss: number, count: number, correct: number | undefined]> {
  const fo: ForwardOptions = { training: false, ...(teacherForcingRatio === undefined ? {} : { teacherForcingRatio }) };
  const r = tf.tidy(() =>
    withCheckedInputs(() => {
      const out = model.forward(batch, fo);
      return [out.loss, out.count, ...(out.correct ? [out.correct] : [])];
    }),
  );
  const values = await Promise.all(r.map(async (t) => (await t.data())[0]));
  tf.dispose(r);
  return [values[0], values[1], values[2]];
}
