/**
 * Hooks into a training run: what the trainer tells callbacks after every step and every
 * epoch, and how a callback can stop the run. The progress display (progress.ts) and the
 * live training curves (live-curves.ts) are callbacks; so can a user's own code be.
 */
import type { Batch, Trainable } from "./model";
import type { History } from "./history";
import type { Metrics } from "./metrics";

/** What the trainer reports after each optimizer step. */
export interface StepLog {
  /** Steps taken so far in this and earlier runs (1 after the first step). */
  step: number;
  /** The epoch this step belongs to (1-based, counting earlier runs of a resumed history). */
  epoch: number;
  /** The step's index within its epoch (1-based). */
  stepInEpoch: number;
  /** This step's mean loss. */
  loss: number;
  /** How many predictions the loss averages. */
  count: number;
  /** This step's accuracy, for classification models. */
  accuracy?: number;
  /** The global gradient norm before clipping. */
  gradNorm: number;
  /** The teacher-forcing ratio passed to the model, if any. */
  teacherForcing?: number;
  /** The epoch's running means so far. */
  running: Metrics;
}

/** What the trainer reports after each epoch. */
export interface EpochLog {
  /** The epoch just finished (1-based, counting earlier runs). */
  epoch: number;
  /** Training metrics over the epoch. */
  train: Metrics;
  /** Validation metrics after the epoch, when there is validation data. */
  validation?: Metrics;
  /** Seconds the epoch took (validation included). */
  seconds: number;
}

/** The run as callbacks see it. */
export interface TrainContext<B extends Batch = Batch> {
  readonly model: Trainable<B>;
  /** The history, updated as the run goes (read-only for callbacks). */
  readonly history: History;
  /** The epoch the run ends at if nothing stops it (1-based, counting earlier runs). */
  readonly lastEpoch: number;
  /** The epoch the run began at (1-based). */
  readonly firstEpoch: number;
  /** Optimizer steps per epoch, once known (a list of batches: at once; generated batches: after the first epoch). */
  readonly stepsPerEpoch: number | undefined;
  /** Date.now() when the run began. */
  readonly startedAt: number;
  /** Asks the trainer to stop after the current step; `reason` goes into history.stopped. */
  stop(reason?: string): void;
}

/** A set of hooks; every one is optional and may be async (the trainer awaits it). */
export interface Callback<B extends Batch = Batch> {
  onTrainBegin?(ctx: TrainContext<B>): void | Promise<void>;
  onStep?(log: StepLog, ctx: TrainContext<B>): void | Promise<void>;
  onEpoch?(log: EpochLog, ctx: TrainContext<B>): void | Promise<void>;
  /** Called however the run ends (completed, stopped, interrupted, non-finite loss), before fit returns or throws. */
  onTrainEnd?(history: History, ctx: TrainContext<B>): void | Promise<void>;
}
