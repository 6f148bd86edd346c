/**
 * One training step, on one batch (or, with truncated BPTT, one chunk of a batch):
 * ```
 * L, ∇_θ L   = forward + backward (tf.variableGrads over model.variables)
 * g          = clip(∇_θ L)                (clipping.ts; the norm before clipping is logged)
 * θ          ← optimizer(θ, g)            (optimizers.ts)
 * ```
 * then the step is logged (history, running means, callbacks) and the Interrupt button is
 * looked at. A chunk of padding only (count 0) teaches nothing and is not a step; a step
 * whose loss or gradient is not finite stops the run (non-finite.ts).
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "@tensorflow/tfjs";
import type { Batch, CarriedState, ForwardOptions, Trainable } from "./model";
import { clipGradients, type ClipConfig, type Gradients } from "./clipping";
import type { MetricMeans } from "./metrics";
import type { StepLog } from "./callbacks";
import { disposeState } from "./batches";
import { isFiniteStep, stopOnNonFinite } from "./non-finite";
import type { TrainingRun } from "./run";
import { withCheckedInputs } from "../sequence/finite";

/** Where an epoch stands: what its steps add up and the state they carry. */
export interface EpochProgress {
  readonly epoch: number;
  /** The running means of the epoch's steps. */
  readonly means: MetricMeans;
  /** Steps taken in this epoch so far (chunks of padding only do not count). */
  stepInEpoch: number;
  /** Truncated BPTT: the state the last chunk ended in (the next chunk starts from it). */
  carried?: CarriedState;
}

/** What one forward + backward gives: numbers, the clipped gradients by variable name, and the state to carry. */
export interface Gradient {
  loss: number;
  /** How many predictions the loss averages (0: a chunk of padding only). */
  count: number;
  correct?: number;
  /** The global gradient norm before clipping. */
  norm: number;
  grads: Gradients;
  state?: CarriedState;
}

/** One step on `chunk`: forward + backward, clip, NaN guard, apply, then log it. */
export async function trainStep<B extends Batch>(run: TrainingRun<B>, e: EpochProgress, chunk: B): Promise<void> {
  const step = run.history.steps + 1;
  const ratio = run.teacherForcing?.(run.history.steps);
  const g = forwardBackward(run.model, run.vars, run.names, chunk, run.forwardOptions(ratio, e.carried), run.options.clip);
  let applied = false;
  try {
    if (g.count > 0) applied = applyGradient(run, e, g, step);
  } finally {
    tf.dispose(Object.values(g.grads));
    e.carried = carryState(e.carried, g.state, !run.stopRequest);
  }
  if (applied) await logStep(run, e, g, step, ratio);
}

/** One forward + backward: the loss, count, correct and state as numbers/kept tensors, and the clipped gradients by name. */
export function forwardBackward<B extends Batch>(
  model: Trainable<B>,
  vars: tf.Variable[],
  names: string[],
  batch: B,
  options: ForwardOptions,
  clip: ClipConfig | undefined,
): Gradient {
  let kept: Tensor[] = [];
  let state: CarriedState | undefined;
  const { value, grads } = tf.variableGrads(() => {
    // The batch was checked when it came in (batches.ts): no input checks again inside.
    const out = withCheckedInputs(() => model.forward(batch, options));
    kept = [tf.keep(out.count), ...(out.correct ? [tf.keep(out.correct)] : [])];
    if (out.state) state = Object.fromEntries(Object.entries(out.state).map(([k, t]) => [k, tf.keep(t)]));
    return out.loss;
  }, vars);
  const loss = value.dataSync()[0];
  const count = kept[0].dataSync()[0];
  const correct = kept[1]?.dataSync()[0];
  tf.dispose([value, ...kept]);
  // By our names, in the model's order; a weight the loss does not touch gets a zero gradient.
  const byName: Gradients = {};
  names.forEach((n, i) => (byName[n] = grads[vars[i].name] ?? tf.zerosLike(vars[i])));
  const clipped = clipGradients(byName, clip);
  tf.dispose(Object.values(grads));
  tf.dispose(Object.values(byName));
  return {
    loss,
    count,
    ...(correct !== undefined ? { correct } : {}),
    norm: clipped.norm,
    grads: clipped.grads,
    ...(state ? { state } : {}),
  };
}

/**
 * θ ← optimizer(θ, g), unless the loss or the gradient is not finite (then the run stops
 * and nothing is applied). Keeps the weights before the update as the last good ones.
 * Returns whether the update was applied.
 */
function applyGradient<B extends Batch>(run: TrainingRun<B>, e: EpochProgress, g: Gradient, step: number): boolean {
  run.perplexity ??= g.correct !== undefined;
  if (!isFiniteStep(g.loss, g.norm)) {
    stopOnNonFinite(run, g.loss, g.norm, { step, epoch: e.epoch, stepInEpoch: e.stepInEpoch });
    return false;
  }
  // These weights gave a finite loss: keep them, in case the update breaks them.
  run.keepGoodWeights(g.loss);
  run.optimizer.applyGradients(run.names.map((n) => ({ name: run.model.variables[n].name, tensor: g.grads[n] })));
  return true;
}

/** The state the next chunk starts from: the step's final state while the run goes on (the old one is disposed), else the old one. */
function carryState(carried: CarriedState | undefined, next: CarriedState | undefined, goingOn: boolean): CarriedState | undefined {
  if (next && goingOn) {
    disposeState(carried);
    return next;
  }
  disposeState(next);
  return carried;
}

/** Records the step (history, running means), tells the callbacks, looks at the Interrupt button and lets notebook output through. */
async function logStep<B extends Batch>(
  run: TrainingRun<B>,
  e: EpochProgress,
  g: Gradient,
  step: number,
  ratio: number | undefined,
): Promise<void> {
  const h = run.history;
  h.steps = step;
  h.stepLoss.push(g.loss);
  h.gradNorm.push(g.norm);
  if (e.stepInEpoch === 0 && ratio !== undefined) h.teacherForcing.push(ratio);
  e.stepInEpoch++;
  e.means.add(g.loss, g.count, g.correct);
  const log: StepLog = {
    step,
    epoch: e.epoch,
    stepInEpoch: e.stepInEpoch,
    loss: g.loss,
    count: g.count,
    gradNorm: g.norm,
    running: e.means.result(run.perplexity ?? false),
    ...(g.correct !== undefined ? { accuracy: g.correct / g.count } : {}),
    ...(ratio !== undefined ? { teacherForcing: ratio } : {}),
  };
  await run.call((cb) => cb.onStep?.(log, run.ctx));
  if (run.interrupted()) {
    run.requestStop(
      "interrupted",
      `interrupted at step ${step} (epoch ${e.epoch}); the weights and the history are kept — pass { history } to fit to go on`,
    );
  }
  await nextTurn();
}

/** Resolves on the next turn of the event loop, after pending I/O (so notebook output streams). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
