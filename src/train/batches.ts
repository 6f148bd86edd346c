/**
 * The batches of a training run: an epoch's batches in their order, the check every batch
 * passes, and disposing batches and carried states.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "@tensorflow/tfjs";
import type { Rng } from "../init";
import type { Batch, CarriedState } from "./model";

/**
 * Where batches come from:
 * - a list, which the caller owns (the trainer never disposes it) and the trainer shuffles
 *   each epoch (unless `shuffle: false`);
 * - a function giving an epoch's batches (an array or a generator), called with the epoch
 *   (1-based) and a seeded {@link Rng}; the trainer disposes each batch after its step.
 */
export type BatchSource<B extends Batch> = readonly B[] | ((epoch: number, rng: Rng) => Iterable<B>);

/** An epoch's batches: the data function's, or the list's in a seeded shuffled order. */
export function epochBatches<B extends Batch>(data: BatchSource<B>, epoch: number, shuffle: boolean, rng: Rng): Iterable<B> {
  return typeof data === "function" ? data(epoch, rng) : ordered(data, shuffle, rng);
}

/** The list's batches in this epoch's order (a seeded Fisher–Yates shuffle, drawn when the first batch is asked for). */
function* ordered<B>(list: readonly B[], shuffle: boolean, rng: Rng): Iterable<B> {
  const order = list.map((_, i) => i);
  if (shuffle) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
  }
  for (const i of order) yield list[i];
}

/** A batch must have x and y with the same B > 0. */
export function checkBatch(batch: Batch, where: string): void {
  if (!batch || !(batch.x instanceof tf.Tensor) || !(batch.y instanceof tf.Tensor)) {
    throw new Error(`fit: ${where} is not a batch { x, y, mask?, yIn? } of tensors`);
  }
  const B = batch.x.shape[0];
  if (B === 0) throw new Error(`fit: ${where} is empty (x has shape [${batch.x.shape.join(", ")}])`);
  if (batch.y.shape[0] !== B) throw new Error(`fit: ${where}: x has ${B} sequences but y has ${batch.y.shape[0]}`);
}

/** Disposes every tensor of a batch. */
export function disposeBatch(batch: Batch): void {
  tf.dispose(Object.values(batch).filter((v): v is Tensor => v instanceof tf.Tensor));
}

/** Disposes a carried state (if any); returns undefined, to assign. */
export function disposeState(state: CarriedState | undefined): undefined {
  if (state) tf.dispose(Object.values(state));
  return undefined;
}
