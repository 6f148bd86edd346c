/**
 * Truncated backpropagation through time (Williams & Peng, 1990; Sutskever, 2013).
 *
 * Full BPTT over a long stream keeps every step's activations and multiplies T Jacobians
 * (the lecture's vanishing/exploding gradients). Truncated BPTT cuts the stream into
 * chunks of k steps, runs BPTT inside each chunk and updates the weights after each:
 * ```
 * chunk c = steps (c−1)k+1 … ck:   h0(c) = stopGradient(h_final(c−1));   θ ← θ − η ∇_θ L(c)
 * ```
 * The state flows forward across chunks (the model still sees the whole past), but the
 * gradient stops at the chunk boundary — the state is *detached*: the trainer hands the
 * final state of one chunk to the next as a plain tensor, outside the gradient tape.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "@tensorflow/tfjs";
import type { Batch } from "./model";

/** How to truncate. */
export interface TbpttConfig {
  /** k: steps per chunk; each chunk is one optimizer step. */
  chunk: number;
  /**
   * Carry the state from the last chunk of one batch into the next batch too (the batches
   * are consecutive pieces of the same B streams, as `textStreams` makes them). The state
   * is reset to zeros at the start of every epoch. Default: false (each batch starts from zeros).
   */
  acrossBatches?: boolean;
}

/** Checks a {@link TbpttConfig}. */
export function checkTbptt(c: TbpttConfig): void {
  if (!(Number.isInteger(c.chunk) && c.chunk >= 1)) throw new Error(`tbptt.chunk: expected an integer ≥ 1, got ${c.chunk}`);
}

/**
 * Cuts a batch along time into chunks of `chunk` steps (the last may be shorter). Cuts x,
 * y, mask and yIn along axis 1, which must all be T long; a target without a time axis
 * (sequence → vector) cannot be truncated. Returns new tensors; the caller disposes them.
 */
export function splitTime<B extends Batch>(batch: B, chunk: number): B[] {
  const T = batch.x.shape[1];
  if (batch.x.rank < 2 || T === undefined) throw new Error(`tbptt: x must be [B, T, …], got shape [${batch.x.shape.join(", ")}]`);
  const timed: Record<string, Tensor> = { x: batch.x, y: batch.y };
  if (batch.mask) timed.mask = batch.mask;
  if (batch.yIn) timed.yIn = batch.yIn;
  for (const [name, t] of Object.entries(timed)) {
    if (t.rank < 2 || t.shape[1] !== T) {
      throw new Error(
        `tbptt: ${name} has shape [${t.shape.join(", ")}] but x has T = ${T} steps; truncated BPTT needs a target at every step ` +
          "(sequence → sequence of the same length), not one per sequence",
      );
    }
  }
  if (batch.xMask) throw new Error("tbptt: batches with xMask (encoder–decoder inputs) cannot be cut along time");
  const out: B[] = [];
  for (let t0 = 0; t0 < T; t0 += chunk) {
    const n = Math.min(chunk, T - t0);
    const piece = { ...batch } as B;
    for (const [name, t] of Object.entries(timed)) {
      const begin = t.shape.map((_, i) => (i === 1 ? t0 : 0));
      const size = t.shape.map((d, i) => (i === 1 ? n : d));
      (piece as unknown as Record<string, Tensor>)[name] = tf.slice(t, begin, size);
    }
    out.push(piece);
  }
  return out;
}
