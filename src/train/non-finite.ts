/**
 * The guard against NaN and ±Inf. If a step's loss is not finite, training stops and the
 * weights are put back to those of the last step whose loss was finite; if the loss is
 * finite but the gradient norm is not, the update is not applied. Either way the history
 * says why, and `fit` throws a {@link NonFiniteLossError} (or, with `onNonFinite: "stop"`,
 * returns).
 */
import type { Batch } from "./model";
import { copyHistory, type History } from "./history";
import { restoreWeights } from "./weights";
import type { TrainingRun } from "./run";

/** Thrown when a step's loss (or gradient) is NaN or ±Inf; the last good weights have been put back. */
export class NonFiniteLossError extends Error {
  constructor(
    message: string,
    /** The step (1-based, counting earlier runs) whose loss was not finite. */
    readonly step: number,
    /** Its epoch (1-based). */
    readonly epoch: number,
    /** The history up to the last good step. */
    readonly history: History,
  ) {
    super(message);
    this.name = "NonFiniteLossError";
  }
}

/** Where a step sits in the run, for the message. */
export interface StepPlace {
  /** The step (1-based, counting earlier runs). */
  step: number;
  epoch: number;
  /** Steps already taken in this epoch. */
  stepInEpoch: number;
}

/** Whether a step's loss and gradient norm are both finite. */
export function isFiniteStep(loss: number, norm: number): boolean {
  return Number.isFinite(loss) && Number.isFinite(norm);
}

/**
 * Stops the run after a non-finite step: puts back the last good weights (if the loss is
 * not finite), records why in the history, and sets the error `fit` throws (with
 * `onNonFinite: "throw"`, the default).
 */
export function stopOnNonFinite<B extends Batch>(run: TrainingRun<B>, loss: number, norm: number, at: StepPlace): void {
  const message =
    `fit: ${whatWentWrong(loss, norm)} at step ${at.step} (epoch ${at.epoch}, step ${at.stepInEpoch + 1} of the epoch); ` +
    `training stopped${restoreGoodWeights(run, loss, at.step)}. ` +
    "Try a smaller learning rate or gradient clipping (e.g. clip: { globalNorm: 1 }).";
  run.history.stopped = { reason: "non-finite", step: at.step, epoch: at.epoch, message };
  run.stopRequest = { reason: "non-finite", message };
  if ((run.options.onNonFinite ?? "throw") === "throw")
    run.failure = new NonFiniteLossError(message, at.step, at.epoch, copyHistory(run.history));
}

/** "the loss is NaN", or "the loss is finite (…) but the gradient norm is Infinity". */
function whatWentWrong(loss: number, norm: number): string {
  return !Number.isFinite(loss) ? `the loss is ${loss}` : `the loss is finite (${fmt(loss)}) but the gradient norm is ${norm}`;
}

/** Puts back the last good weights when the loss is not finite; returns the clause that says which weights the model now has. */
function restoreGoodWeights<B extends Batch>(run: TrainingRun<B>, loss: number, step: number): string {
  if (Number.isFinite(loss)) return "; the update was not applied, so the weights are those that gave this finite loss";
  const good = run.goodWeights;
  if (!good) return "; it was the first step, so the weights are the initial ones";
  restoreWeights(run.model, good, "fit");
  return `; the weights were put back to those of step ${step - 1} (loss ${fmt(run.lastGoodLoss)}, the last finite one)`;
}

/** A number for messages: 4 significant digits. */
export function fmt(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(4))) : String(x);
}
