/**
 * One epoch of a training run: its batches, each split into chunks for truncated BPTT
 * (tbptt.ts) and trained on one step per chunk (step.ts); then, if the epoch ran to its
 * end, its metrics, validation, early stopping and the callbacks' `onEpoch`.
 */
import type { Batch } from "./model";
import { MetricMeans, type Metrics } from "./metrics";
import type { History } from "./history";
import { splitTime } from "./tbptt";
import { checkBatch, disposeBatch, disposeMadeSince, disposeState, epochBatches } from "./batches";
import { evaluate } from "./evaluate";
import { fmt } from "./non-finite";
import { trainStep, type EpochProgress } from "./step";
import type { TrainingRun } from "./run";

/**
 * Trains on every batch of the epoch, until the batches run out or the run is asked to
 * stop. The tensors a data function made are disposed after their steps (batches.ts); a
 * state carried by truncated BPTT is disposed at the end of the epoch.
 */
export async function trainEpoch<B extends Batch>(run: TrainingRun<B>, epoch: number): Promise<EpochProgress> {
  const e: EpochProgress = { epoch, means: new MetricMeans(), stepInEpoch: 0 };
  let batchIndex = 0;
  try {
    const { batches, madeFrom } = epochBatches(run.options.data, epoch, run.shuffle, run.rng);
    for (const batch of batches) {
      batchIndex++;
      try {
        await trainBatch(run, e, batch, `fit: data: batch ${batchIndex} of epoch ${epoch}`);
      } finally {
        if (batch && typeof batch === "object") disposeMadeSince(batch, madeFrom);
      }
      if (run.stopRequest) break;
    }
  } finally {
    e.carried = disposeState(e.carried);
  }
  return e;
}

/** Checks a batch, splits it into chunks (truncated BPTT) and takes one step per chunk. */
async function trainBatch<B extends Batch>(run: TrainingRun<B>, e: EpochProgress, batch: B, where: string): Promise<void> {
  checkBatch(batch, where);
  const tbptt = run.options.tbptt;
  const chunks = tbptt ? splitTime(batch, tbptt.chunk) : [batch];
  try {
    if (!tbptt?.acrossBatches) e.carried = disposeState(e.carried);
    for (const chunk of chunks) {
      await trainStep(run, e, chunk);
      if (run.stopRequest) break;
    }
  } finally {
    if (chunks[0] !== batch) chunks.forEach(disposeBatch);
  }
}

/**
 * Closes an epoch that ran to its end: its training metrics, validation, the history's
 * entries, early stopping, and the callbacks' `onEpoch`.
 * @throws Error if the epoch took no step (no batches, or padding only)
 */
export async function endEpoch<B extends Batch>(run: TrainingRun<B>, e: EpochProgress, startedAt: number): Promise<void> {
  const { epoch } = e;
  if (e.stepInEpoch === 0) throw new Error(`fit: epoch ${epoch} had no batches (or only padding); check the data`);
  run.stepsPerEpoch ??= e.stepInEpoch;
  const train = e.means.result(run.perplexity ?? false);
  const validation = run.options.validation
    ? await evaluate(run.model, run.options.validation, { perplexity: run.perplexity ?? false })
    : undefined;
  record(run.history, train, validation);
  const seconds = (Date.now() - startedAt) / 1000;
  run.history.seconds.push(seconds);
  run.history.epochs = epoch;
  checkEarlyStopping(run, epoch);
  await run.call((cb) => cb.onEpoch?.({ epoch, train, ...(validation ? { validation } : {}), seconds }, run.ctx));
}

/** Tells early stopping about the epoch; asks the run to stop when the monitored value has not improved for `patience` epochs. */
function checkEarlyStopping<B extends Batch>(run: TrainingRun<B>, epoch: number): void {
  const early = run.early;
  if (!early) return;
  if (early.update(run.history, run.model)) {
    run.requestStop(
      "early-stopping",
      `early stopping after epoch ${epoch}: ${early.monitor} has not improved for ${early.patience} epochs (best ${fmt(early.best)} at epoch ${early.bestEpoch})`,
    );
  }
  run.history.bestEpoch = early.bestEpoch;
}

/** Appends an epoch's training (and validation) metrics to the history. */
function record(h: History, train: Metrics, validation: Metrics | undefined): void {
  h.loss.push(train.loss);
  if (train.accuracy !== undefined) h.accuracy.push(train.accuracy);
  if (train.perplexity !== undefined) h.perplexity.push(train.perplexity);
  if (validation) {
    h.valLoss.push(validation.loss);
    if (validation.accuracy !== undefined) h.valAccuracy.push(validation.accuracy);
    if (validation.perplexity !== undefined) h.valPerplexity.push(validation.perplexity);
  }
}
