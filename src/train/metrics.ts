/**
 * Loss, accuracy and perplexity, accumulated over the batches of an epoch.
 *
 * A model's `forward` returns the mean loss over its real (unmasked) predictions and how
 * many there were (`count`), so the epoch's loss is the count-weighted mean
 * ```
 * loss = Σ_b count_b · loss_b / Σ_b count_b        accuracy = Σ_b correct_b / Σ_b count_b
 * perplexity = exp(loss)
 * ```
 * which is the mean over every real prediction of the epoch, however the batches were
 * padded. Perplexity is exp of the mean cross-entropy per prediction (in nats): the number
 * of equally likely choices the model is as unsure as. It means something only for
 * cross-entropy losses (language models, token prediction), not for MSE.
 */

/** The metrics of one epoch (or one evaluation). */
export interface Metrics {
  /** Count-weighted mean loss. */
  loss: number;
  /** Number of predictions the loss averages. */
  count: number;
  /** Fraction of correct predictions, when the model reports `correct`. */
  accuracy?: number;
  /** exp(loss), when asked for (cross-entropy losses). */
  perplexity?: number;
}

/** Accumulates batch results into {@link Metrics}. */
export class MetricMeans {
  private lossSum = 0;
  private countSum = 0;
  private correctSum = 0;
  private sawCorrect = false;

  /** Adds one batch: its mean loss, its count, and (classification) its number correct. */
  add(loss: number, count: number, correct?: number): void {
    if (!(count >= 0)) throw new Error(`metrics: count must be ≥ 0, got ${count}`);
    if (count === 0) return;
    this.lossSum += loss * count;
    this.countSum += count;
    if (correct !== undefined) {
      this.correctSum += correct;
      this.sawCorrect = true;
    }
  }

  /** True once a batch with count > 0 was added. */
  get any(): boolean {
    return this.countSum > 0;
  }

  /** The means so far; `perplexity` only if asked for. */
  result(perplexity: boolean): Metrics {
    const loss = this.countSum > 0 ? this.lossSum / this.countSum : NaN;
    const m: Metrics = { loss, count: this.countSum };
    if (this.sawCorrect) m.accuracy = this.countSum > 0 ? this.correctSum / this.countSum : NaN;
    if (perplexity) m.perplexity = Math.exp(loss);
    return m;
  }
}
