/**
 * Bidirectional recurrent layers (lecture: "Bi-directional Networks"): two unrolls over the
 * same input, one forward in time and one reversed, merged at every step.
 *
 * ```
 * h→(t) = cell→(h→(t−1), x(t)),   t = 1 … T          (forward unroll)
 * h←(t) = cell←(h←(t+1), x(t)),   t = T … 1          (reversed unroll)
 * h(t)  = [h→(t); h←(t)]          merge "concat"  → [B, T, 2H]
 *       = h→(t) + h←(t)           merge "sum"     → [B, T, H]
 *       = (h→(t) + h←(t)) / 2     merge "average" → [B, T, H]
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x | [B, T, I] | inputs |
 * | h→(t), h←(t) | [B, H] | the two directions' outputs, both in the input's time order |
 * | h(t) | [B, T, 2H] or [B, T, H] | the merged output |
 *
 * So h(t) sees the whole sequence: x(1) … x(t) through h→(t) and x(t) … x(T) through h←(t).
 * With a mask (padded batches) the reversed unroll starts at each sequence's last real
 * step, as PyTorch's packed sequences do. PyTorch's `bidirectional=True` concatenates;
 * Keras's `Bidirectional` offers `merge_mode` "concat", "sum", "ave", "mul".
 *
 * Explained in notebooks/09-bidirectional-and-deep-rnns.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import type { AnyState, Layer } from "./stacked";
import { unroll } from "./unroll";
import { checkInputs, stateInputs, withCheckedInputs } from "./finite";
import { tidy } from "../init";

/** How the two directions are combined. */
export type Merge = "concat" | "sum" | "average";

/** The merges, for error messages. */
export const MERGES: readonly Merge[] = ["concat", "sum", "average"];

/** Options of {@link bidirectional}. */
export interface BidirectionalOptions {
  /** How to merge the directions; default "concat". */
  merge?: Merge;
  /** [B, T]: 1 for real steps, 0 for padding. */
  mask?: Tensor2D;
  /** Initial states of the forward and the backward unroll (zeros where missing). */
  initialStates?: { forward?: Partial<AnyState>; backward?: Partial<AnyState> };
}

/** What {@link bidirectional} returns; dispose it with `disposeAll(result)`. */
export interface BidirectionalResult {
  /** h(t) merged for every t: [B, T, 2H] (concat) or [B, T, H]. */
  outputs: Tensor3D;
  /** The forward unroll's final state (after each sequence's last real step). */
  forward: AnyState;
  /** The reversed unroll's final state (after reading x(1)). */
  backward: AnyState;
  /** The two final h's merged, [B, 2H] or [B, H]: a summary of the whole sequence. */
  final: Tensor2D;
}

/**
 * Runs a forward and a reversed unroll over x and merges them (see the file's equations).
 * `forwardLayer` and `backwardLayer` have their own parameters (and may be different cells).
 */
export function bidirectional(
  forwardLayer: Layer<any, any, any>, // eslint-disable-line @typescript-eslint/no-explicit-any
  backwardLayer: Layer<any, any, any>, // eslint-disable-line @typescript-eslint/no-explicit-any
  x: Tensor3D,
  options: BidirectionalOptions = {},
): BidirectionalResult {
  const merge = options.merge ?? "concat";
  const bad = checkMerge("bidirectional", merge);
  if (bad) throw bad;
  checkInputs("bidirectional", {
    x,
    mask: options.mask,
    ...stateInputs(options.initialStates?.forward, "initialStates.forward"),
    ...stateInputs(options.initialStates?.backward, "initialStates.backward"),
  });
  return tidy("bidirectional", () =>
    withCheckedInputs(() => {
      const fwd = unroll(forwardLayer.cell, forwardLayer.params, x, { mask: options.mask, initialState: options.initialStates?.forward });
      const bwd = unroll(backwardLayer.cell, backwardLayer.params, x, {
        mask: options.mask,
        reverse: true,
        initialState: options.initialStates?.backward,
      });
      const outputs = mergeDirections(fwd.outputs, bwd.outputs, merge) as Tensor3D; // [B, T, 2H] or [B, T, H]
      const final = mergeDirections(fwd.state.h, bwd.state.h, merge) as Tensor2D; // [B, 2H] or [B, H]
      return { outputs, forward: fwd.state as AnyState, backward: bwd.state as AnyState, final };
    }),
  );
}

/**
 * Merges two directions along the last axis: concat → [h→; h←], sum → h→ + h←,
 * average → (h→ + h←) / 2. Works for [B, T, H] sequences and [B, H] states.
 */
export function mergeDirections<T extends Tensor>(forward: T, backward: T, merge: Merge): T {
  switch (merge) {
    case "concat":
      return tf.concat([forward, backward], forward.rank - 1) as T;
    case "sum":
      return tf.add(forward, backward) as T;
    case "average":
      return tf.div(tf.add(forward, backward), 2) as T;
    default:
      throw checkMerge("mergeDirections", merge);
  }
}

/** The merged size: 2H for concat, H otherwise. */
export function mergedSize(H: number, merge: Merge): number {
  return merge === "concat" ? 2 * H : H;
}

function checkMerge(where: string, merge: unknown): Error | undefined {
  if ((MERGES as readonly unknown[]).includes(merge)) return undefined;
  return new Error(`${where}: merge must be one of ${MERGES.map((m) => `"${m}"`).join(", ")}, got ${JSON.stringify(merge)}`);
}
