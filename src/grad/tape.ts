/**
 * The tape of the hand-written BPTT: a forward pass that keeps, for every step, what the
 * cell's backward step will need (x(t), the state before it, the gates it computed).
 *
 * `unroll` (src/sequence/unroll.ts) only runs forward; this file records the same loop
 * ({@link unrollSteps}) and {@link backwardThroughTime} (bptt.ts) consumes the tape in
 * reverse order. The stacked versions are in stacked.ts.
 *
 * Explained in notebooks/04-vanishing-and-exploding-gradients.ipynb.
 */
import type { Tensor3D } from "@tensorflow/tfjs";
import type { Cell, HiddenState } from "../cells/cell";
import { tidy } from "../init";
import { unrollSteps, type StepRecord, type UnrollOptions } from "../sequence/unroll";

/** One step as recorded on a {@link Tape}: t, x(t), the state before, the step's output, the mask column. */
export type TapeStep<S extends HiddenState, O extends S> = StepRecord<S, O>;

/**
 * A forward pass with everything the hand-written backward needs. Dispose it with
 * `disposeAll(tape)` once {@link backwardThroughTime} has run (it holds O(T) tensors).
 */
export interface Tape<S extends HiddenState, O extends S> {
  /** h(t) for every t, [B, T, H]. */
  outputs: Tensor3D;
  /** The final state. */
  state: S;
  /** The steps in the order they ran (reversed for `reverse: true`). */
  steps: TapeStep<S, O>[];
  /** B, T, I, H. */
  sizes: { B: number; T: number; I: number; H: number };
}

/**
 * `unroll` on the reference path (tfjs ops, step by step), keeping every step's inputs,
 * states and gates for the hand-written BPTT ({@link backwardThroughTime}). Same
 * equations, options and checks as `unroll`. The caller disposes the tape:
 * `disposeAll(tape)`.
 */
export function unrollWithTape<P extends object, S extends HiddenState, O extends S>(
  cell: Cell<P, S, O>,
  params: P,
  x: Tensor3D,
  options: UnrollOptions<S> = {},
): Tape<S, O> {
  return tidy(`unroll(${cell.name})`, () => {
    const steps: TapeStep<S, O>[] = [];
    const { outputs, state, sizes } = unrollSteps(cell, params, x, options, (step) => steps.push(step));
    const tape: Tape<S, O> = { outputs, state, steps, sizes };
    return tape;
  });
}
