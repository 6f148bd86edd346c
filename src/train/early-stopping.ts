/**
 * Early stopping: stop when the monitored metric (validation loss by default) has not
 * improved for `patience` epochs, and put back the weights of the best epoch.
 *
 * "Improved" means better than the best so far by more than `minDelta` (lower for losses
 * and perplexity, higher for accuracy). Keras's `EarlyStopping` works the same way; note
 * that Keras's `restore_best_weights` defaults to false, seqlab's `restoreBest` to true.
 */
import type { History } from "./history";
import type { Trainable } from "./model";
import { disposeSnapshot, restoreWeights, snapshotWeights, type WeightSnapshot } from "./weights";

/** What early stopping may watch. */
export type Monitor = "loss" | "valLoss" | "accuracy" | "valAccuracy" | "perplexity" | "valPerplexity";

/** Early-stopping settings. */
export interface EarlyStoppingConfig {
  /** The metric to watch. Default: "valLoss" when there is validation data, else "loss". */
  monitor?: Monitor;
  /** Epochs without improvement before stopping. Default: 5. */
  patience?: number;
  /** Least change that counts as an improvement. Default: 0. */
  minDelta?: number;
  /** When the run ends, load the weights of the best epoch. Default: true. */
  restoreBest?: boolean;
}

/** The state of early stopping during one run (used by the trainer). */
export class EarlyStopping {
  readonly monitor: Monitor;
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBest: boolean;
  /** The best value seen, and the epoch (1-based) it was seen at. */
  best = NaN;
  bestEpoch = 0;
  private wait = 0;
  private snapshot: WeightSnapshot | undefined;

  constructor(config: EarlyStoppingConfig, hasValidation: boolean) {
    this.monitor = config.monitor ?? (hasValidation ? "valLoss" : "loss");
    if (this.monitor.startsWith("val") && !hasValidation) {
      throw new Error(`earlyStopping.monitor is "${this.monitor}" but fit was given no validation data`);
    }
    this.patience = config.patience ?? 5;
    if (!(Number.isInteger(this.patience) && this.patience >= 0))
      throw new Error(`earlyStopping.patience: expected an integer ≥ 0, got ${this.patience}`);
    this.minDelta = config.minDelta ?? 0;
    this.restoreBest = config.restoreBest ?? true;
  }

  private get higherIsBetter(): boolean {
    return this.monitor === "accuracy" || this.monitor === "valAccuracy";
  }

  /** The monitored value of the history's newest epoch. */
  private latest(h: History): number {
    const series = h[this.monitor];
    if (series.length === 0) throw new Error(`earlyStopping: the history has no "${this.monitor}" (does the model report it?)`);
    return series[series.length - 1];
  }

  /** Records the newest epoch; returns true when the run should stop. */
  update(h: History, model: Trainable): boolean {
    const value = this.latest(h);
    const better =
      Number.isFinite(value) &&
      (Number.isNaN(this.best) || (this.higherIsBetter ? value > this.best + this.minDelta : value < this.best - this.minDelta));
    if (better) {
      this.best = value;
      this.bestEpoch = h.epochs;
      this.wait = 0;
      if (this.restoreBest) {
        disposeSnapshot(this.snapshot);
        this.snapshot = snapshotWeights(model);
      }
      return false;
    }
    this.wait++;
    return this.wait >= this.patience;
  }

  /** Loads the best epoch's weights (if restoreBest and one was seen). Returns whether it did. */
  restore(model: Trainable): boolean {
    if (!this.restoreBest || !this.snapshot) return false;
    restoreWeights(model, this.snapshot, "earlyStopping");
    return true;
  }

  dispose(): void {
    disposeSnapshot(this.snapshot);
    this.snapshot = undefined;
  }
}
