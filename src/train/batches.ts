/**
 * The batches of a training run: an epoch's batches in their order, the check every batch
 * passes, and disposing batches and carried states.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "@tensorflow/tfjs";
import type { Rng } from "../init";
import type { Batch, CarriedState } from "./model";
import { checkFinite } from "../sequence/finite";

/**
 * Where batches come from:
 * - a list, which the caller owns (the trainer never disposes it) and the trainer shuffles
 *   each epoch (unless `shuffle: false`);
 * - a function giving an epoch's batches (an array or a generator), called with the epoch
 *   (1-based) and a seeded {@link Rng}. The trainer disposes the tensors the function
 *   *made* during the call (a generator's fresh batches, a freshly built array) after their
 *   step, and leaves alone tensors that existed before the call: `() => batches`, returning
 *   the same array every epoch, trains on it every epoch and leaves it to the caller.
 *   (It tells them apart by tfjs's tensor ids, which only grow. A function that makes its
 *   batches on the first call and caches them gets them disposed after epoch 1; make them
 *   before `fit` instead.)
 *
 * A generator *object* (`data: myBatches(…)` rather than `data: () => myBatches(…)`) is
 * refused: it can be read only once, and fit reads the data every epoch.
 */
export type BatchSource<B extends Batch> = readonly B[] | ((epoch: number, rng: Rng) => Iterable<B>);

/** An epoch's batches, and the tensor mark below which tensors are the caller's (see {@link BatchSource}). */
export interface EpochBatches<B extends Batch> {
  batches: Iterable<B>;
  /** Tensors with an id ≥ this were made by the data function: the trainer disposes them. Infinity for a list. */
  madeFrom: number;
}

/** An epoch's batches: the data function's, or the list's in a seeded shuffled order. */
export function epochBatches<B extends Batch>(data: BatchSource<B>, epoch: number, shuffle: boolean, rng: Rng): EpochBatches<B> {
  if (typeof data !== "function") return { batches: ordered(data, shuffle, rng), madeFrom: Infinity };
  const madeFrom = tensorMark();
  const batches = data(epoch, rng);
  if (batches === null || typeof batches !== "object" || typeof (batches as Iterable<B>)[Symbol.iterator] !== "function") {
    throw new Error(`fit: data(${epoch}, rng) returned ${describe(batches)}; expected an array or a generator of batches { x, y, … }`);
  }
  return { batches, madeFrom };
}

/** The id the next tensor will get: every tensor made from now on has an id ≥ it. */
export function tensorMark(): number {
  const probe = tf.scalar(0);
  const id = probe.id;
  probe.dispose();
  return id;
}

/** Disposes the tensors of `batch` made at or after `mark` (by a data function), leaving older ones (the caller's). */
export function disposeMadeSince(batch: Batch, mark: number): void {
  tf.dispose(Object.values(batch).filter((v): v is Tensor => v instanceof tf.Tensor && v.id >= mark));
}

/**
 * Throws unless `data` can give batches every epoch: an array, or a function. A generator
 * or iterator object is refused with the way to fix it.
 */
export function checkDataSource(data: unknown, where: string): void {
  if (typeof data === "function" || Array.isArray(data)) return;
  if (
    data !== null &&
    typeof data === "object" &&
    (typeof (data as Iterable<unknown>)[Symbol.iterator] === "function" || typeof (data as Iterator<unknown>).next === "function")
  ) {
    throw new Error(
      `${where} is a generator (or another iterator), which can be read only once, but fit reads the data every epoch; ` +
        "pass a function that makes a fresh one each epoch, data: (epoch, rng) => myBatches(…), or an array, data: [...myBatches(…)]",
    );
  }
  throw new Error(`${where} must be an array of batches or a function (epoch, rng) => batches, got ${describe(data)}`);
}

/** A short description of a value for messages. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v === "object" ? `an object with keys {${Object.keys(v).join(", ")}}` : `${typeof v} ${String(v)}`;
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

/** The tensors a batch may have, by name. */
const BATCH_FIELDS = ["x", "y", "mask", "yIn", "xMask"] as const;

/**
 * A batch must have x and y with the same B > 0, tensors that are not disposed, and no
 * NaN/±Inf in any of its float tensors (reported as the data's fault, with the index).
 * @param where e.g. "fit: data: batch 3 of epoch 1" or "evaluate: batch 2"
 */
export function checkBatch(batch: Batch, where: string): void {
  if (!batch || !(batch.x instanceof tf.Tensor) || !(batch.y instanceof tf.Tensor)) {
    throw new Error(`${where} is not a batch { x, y, mask?, yIn? } of tensors, got ${describe(batch)}`);
  }
  for (const k of BATCH_FIELDS) {
    const t = batch[k];
    if (t instanceof tf.Tensor && t.isDisposed) {
      throw new Error(
        `${where}: ${k} has been disposed; a batch must stay alive while fit uses it (a data function that caches its batches: make them before fit and return the same array)`,
      );
    }
  }
  const B = batch.x.shape[0];
  if (B === 0) throw new Error(`${where} is empty (x has shape [${batch.x.shape.join(", ")}])`);
  if (batch.y.shape[0] !== B) throw new Error(`${where}: x has ${B} sequences but y has ${batch.y.shape[0]}`);
  for (const k of BATCH_FIELDS) {
    const t = batch[k];
    if (t instanceof tf.Tensor)
      checkFinite(where, k, t, "the data itself holds a non-finite value (not a learning-rate problem): clean or filter it");
  }
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
