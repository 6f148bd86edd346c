/**
 * A hand-written training loop without the plumbing.
 *
 * `fit` trains a model object. A notebook that teaches the update itself — gradient descent
 * on hand-written BPTT, several cells trained side by side, clipping on and off — writes
 * its own step, and `trainLoop` does the rest: it calls the step `steps` times, draws the
 * loss live, lets the notebook receive each update while training runs, stops at the end
 * of a step when the user presses Interrupt, disposes what the step returns, and counts
 * the tensors the loop leaked (a step that forgets to dispose shows up here, not as a slow
 * death of the kernel).
 *
 * Explained in notebooks/03-backprop-through-time-by-hand.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import { interruptible } from "../notebook";
import { liveFigure } from "../plot/live";
import { trainingCurves } from "../plot/training-curves";
import { ConfigError } from "../cells/checks";
import { checkKeys } from "../options";

/** What one step returns: its loss, or named losses (one curve each, e.g. one per model). */
export type StepResult = number | tf.Scalar | Record<string, number | tf.Scalar>;

export interface TrainLoopOptions {
  /** Number of steps. */
  steps: number;
  /** Title of the live loss figure. Default: "training loss". */
  title?: string;
  /** Log scale on the loss axis. Default: false. */
  logY?: boolean;
  /** Draw the loss live. Default: true. */
  plot?: boolean;
}

/** What {@link trainLoop} returns. */
export interface TrainLoopResult {
  /** The loss of every step, per curve name ("loss" when the step returns one loss). */
  losses: Record<string, number[]>;
  /** Steps completed (fewer than asked when Interrupt stopped the loop). */
  steps: number;
  /** True when Interrupt stopped the loop early. */
  interrupted: boolean;
  /** Tensors alive after the loop minus after its first step (optimizer slots are made in step 1); 0 when nothing leaks. */
  leakedTensors: number;
}

const OPTION_KEYS = ["steps", "title", "logY", "plot"] as const;

/**
 * Runs `step(1) … step(steps)`, drawing the loss live.
 *
 * `step` may be async; it returns the step's loss as a number or a scalar tensor (the loop
 * reads and disposes it), or an object of named losses, one curve each. Each step runs in
 * a `tf.tidy` (variables and what the step keeps in its own variables survive it).
 * After each step the loop lets the event loop turn, so the notebook receives the live
 * figure while training runs, and looks at the Interrupt button: pressing it ends the loop
 * after the current step, with the figure drawn and the result returned.
 *
 * @example
 * const w = tf.tidy(() => tf.variable(tf.scalar(5)));
 * const optimizer = tf.train.sgd(0.1);
 * const { losses, leakedTensors } = await trainLoop({ steps: 50, title: "minimising w²", plot: false }, () =>
 *   optimizer.minimize(() => w.square() as tf.Scalar, true)!,
 * );
 * console.log(losses.loss[0], "→", losses.loss.at(-1), "leaked:", leakedTensors);
 * @throws ConfigError for a bad option, before the first step
 */
export async function trainLoop(
  options: TrainLoopOptions,
  step: (step: number) => StepResult | Promise<StepResult>,
): Promise<TrainLoopResult> {
  checkKeys("trainLoop options", options, OPTION_KEYS);
  const { steps, title = "training loss", logY = false, plot = true } = options;
  if (!(Number.isInteger(steps) && steps >= 1)) {
    throw new ConfigError(`trainLoop: options.steps: expected an integer ≥ 1, got ${String(steps)}`, "steps", steps);
  }
  if (typeof step !== "function")
    throw new ConfigError(`trainLoop: step: expected a function (step number) => loss, got ${typeof step}`, "step", step);
  const losses: Record<string, number[]> = {};
  const live = plot ? liveFigure() : undefined;
  const figure = (done: number) =>
    trainingCurves(
      Object.entries(losses).map(([name, loss]) => ({ name, loss })),
      { title: `${title} — step ${done} of ${steps}`, logY, xTitle: "step" },
    );
  const run = interruptible();
  let done = 0;
  let baseline = 0;
  let interrupted = false;
  try {
    for (let k = 1; k <= steps; k++) {
      if (run.stop()) {
        interrupted = true;
        break;
      }
      const result = await stepInScope(step, k);
      record(losses, result, k);
      done = k;
      if (k === 1) baseline = tf.memory().numTensors;
      live?.update(() => figure(done));
      await new Promise((resolve) => setImmediate(resolve)); // let the notebook receive the update
    }
  } finally {
    run.close();
    await live?.close();
  }
  if (interrupted) process.stdout.write(`trainLoop: stopped by Interrupt after step ${done} of ${steps}\n`);
  const leakedTensors = done > 0 ? tf.memory().numTensors - baseline : 0;
  if (leakedTensors > 0) {
    process.stderr.write(
      `trainLoop: ${leakedTensors} tensors were left alive by steps 2–${done} (about ${(leakedTensors / Math.max(1, done - 1)).toFixed(1)} a step): ` +
        "dispose what a step creates, or return it\n",
    );
  }
  return { losses, steps: done, interrupted, leakedTensors };
}

/** Runs one step; a synchronous step runs inside tf.tidy, an async one in a scope of its own. */
async function stepInScope(step: (k: number) => StepResult | Promise<StepResult>, k: number): Promise<Record<string, number>> {
  tf.engine().startScope();
  try {
    const out = await step(k);
    return readLosses(out, k);
  } finally {
    tf.engine().endScope();
  }
}

function readLosses(out: StepResult, k: number): Record<string, number> {
  const read = (name: string, v: unknown): number => {
    if (typeof v === "number") return v;
    if (v instanceof tf.Tensor && v.size === 1) return v.dataSync()[0];
    const got = v instanceof tf.Tensor ? `a tensor of shape [${v.shape}]` : v === undefined ? "undefined" : typeof v;
    throw new ConfigError(
      `trainLoop: step ${k} returned ${name === "loss" ? "" : `"${name}": `}${got}; expected a number or a scalar tensor`,
      "step",
      v,
    );
  };
  if (typeof out === "number" || out instanceof tf.Tensor) return { loss: read("loss", out) };
  if (out === null || typeof out !== "object") return { loss: read("loss", out) };
  const entries = Object.entries(out);
  if (entries.length === 0) throw new ConfigError(`trainLoop: step ${k} returned {}; expected a loss or named losses`, "step", out);
  return Object.fromEntries(entries.map(([name, v]) => [name, read(name, v)]));
}

function record(losses: Record<string, number[]>, result: Record<string, number>, k: number): void {
  for (const [name, value] of Object.entries(result)) {
    const series = (losses[name] ??= []);
    // A curve that appears late (or skips steps) gets gaps, so every curve is indexed by step.
    while (series.length < k - 1) series.push(NaN);
    series.push(value);
  }
}
