/**
 * What a training run remembers: one entry per epoch (and the loss of every step), as plain
 * numbers, so that it can be plotted (`trainingCurves(historyCurves(h))`), saved to JSON
 * with the weights (checkpoint.ts) and continued after loading.
 */
import type { TrainingRun } from "../plot/training-curves";

/** Why a run ended. */
export type StopReason = "completed" | "early-stopping" | "interrupted" | "non-finite" | "callback";

/** The record of a run. Arrays indexed by epoch are all as long as `epochs` (validation ones may be empty). */
export interface History {
  /** Epochs completed (an interrupted epoch counts, with the metrics of the steps it ran). */
  epochs: number;
  /** Optimizer steps taken (with truncated BPTT, one per chunk). */
  steps: number;
  /** Training loss per epoch (mean over the epoch's real predictions). */
  loss: number[];
  /** Training accuracy per epoch (empty unless the model reports `correct`). */
  accuracy: number[];
  /** Training perplexity per epoch (empty unless perplexity is on). */
  perplexity: number[];
  /** Validation loss per epoch (empty without validation data). */
  valLoss: number[];
  /** Validation accuracy per epoch. */
  valAccuracy: number[];
  /** Validation perplexity per epoch. */
  valPerplexity: number[];
  /** The loss of every step. */
  stepLoss: number[];
  /** The global gradient norm of every step, before clipping. */
  gradNorm: number[];
  /** The teacher-forcing ratio per epoch (its value at the epoch's first step), when one was given. */
  teacherForcing: number[];
  /** Seconds spent per epoch. */
  seconds: number[];
  /** The epoch (1-based) with the best monitored value so far, when early stopping watched one. */
  bestEpoch?: number;
  /** Why the last run ended, and a sentence saying so. */
  stopped?: { reason: StopReason; step: number; epoch: number; message: string };
}

/** An empty history. */
export function emptyHistory(): History {
  return {
    epochs: 0,
    steps: 0,
    loss: [],
    accuracy: [],
    perplexity: [],
    valLoss: [],
    valAccuracy: [],
    valPerplexity: [],
    stepLoss: [],
    gradNorm: [],
    teacherForcing: [],
    seconds: [],
  };
}

/** A deep copy (histories are plain data). */
export function copyHistory(h: History): History {
  return JSON.parse(JSON.stringify(h)) as History;
}

/** Checks that `h` looks like a {@link History} (e.g. one read from a file). */
export function checkHistory(h: unknown, where = "history"): History {
  if (h === null || typeof h !== "object") throw new Error(`${where}: expected a training history object, got ${String(h)}`);
  const r = h as Record<string, unknown>;
  for (const key of ["epochs", "steps"]) {
    if (typeof r[key] !== "number") throw new Error(`${where}.${key}: expected a number, got ${JSON.stringify(r[key])}`);
  }
  const empty = emptyHistory() as unknown as Record<string, unknown>;
  for (const key of Object.keys(empty)) {
    if (Array.isArray(empty[key]) && !Array.isArray(r[key])) throw new Error(`${where}.${key}: expected an array of numbers`);
  }
  return r as unknown as History;
}

/**
 * The history as a {@link TrainingRun} for `trainingCurves`: loss (and validation loss) per
 * epoch, with accuracy (or perplexity) as the metric when there is one.
 */
export function historyCurves(h: History, name?: string): TrainingRun {
  const run: TrainingRun = { loss: h.loss };
  if (name !== undefined) run.name = name;
  if (h.valLoss.length > 0) {
    run.valLoss = h.valLoss;
    if (h.valLoss.length !== h.loss.length) {
      run.valX = h.valLoss.map((_, i) => h.loss.length - h.valLoss.length + i + 1);
    }
  }
  if (h.accuracy.length > 0 && h.accuracy.length === h.loss.length) {
    run.metric = h.accuracy;
    if (h.valAccuracy.length > 0 && h.valAccuracy.length === h.valLoss.length) run.valMetric = h.valAccuracy;
  }
  return run;
}
