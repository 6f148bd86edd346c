/**
 * The trainer: gradient descent on any {@link Trainable}, one batch at a time.
 *
 * One step, for a batch (or a chunk of one, with truncated BPTT):
 * ```
 * L, ∇_θ L   = forward + backward (tf.variableGrads over model.variables)
 * g          = clip(∇_θ L)                (clipping.ts; the norm before clipping is logged)
 * θ          ← optimizer(θ, g)            (optimizers.ts)
 * ```
 * Around that loop: epochs, shuffling, teacher-forcing schedules (schedules.ts), truncated
 * BPTT (tbptt.ts), metrics (metrics.ts), validation and early stopping, callbacks (live
 * curves, a progress bar), the Jupyter Interrupt button, and a guard against NaN.
 *
 * - **Reproducible.** `seed` drives the order of the batches, the data function's stream
 *   and the `rng` the model gets, so the same seed (and the same initial weights) gives the
 *   same history.
 * - **Interrupt** (Jupyter's ■ button) ends the run at the end of the current step: the
 *   weights and the history stay as they are, and `fit` returns normally.
 * - **NaN/Inf.** If a step's loss is not finite, training stops, the weights are put back to
 *   those of the last step whose loss was finite, and a {@link NonFiniteLossError} names the
 *   step (or, with `onNonFinite: "stop"`, the history says so and fit returns). A non-finite
 *   gradient with a finite loss stops before it is applied.
 * - **Memory.** Every tensor a step makes is disposed before the next one:
 *   `tf.memory().numTensors` stays flat however long the run.
 * - **Notebook output.** After every step the trainer awaits the event loop (setImmediate),
 *   so displays and prints reach the notebook while it trains.
 *
 * @example
 * const history = await fit(model, {
 *   data: (epoch, rng) => addingBatches({ T: 50, batchSize: 32, batches: 50, seed: rng.int(1e9) }),
 *   validation: addingBatches({ T: 50, batchSize: 256, batches: 1, seed: 999 }),
 *   epochs: 20, optimizer: { name: "adam", learningRate: 0.01 }, clip: { globalNorm: 1 },
 *   earlyStopping: { patience: 3 }, callbacks: [liveCurves()],
 * });
 *
 * Explained in notebooks/04-encoder-decoder-and-attention.ipynb and notebooks/05-teacher-forcing-bidirectional-generation.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "@tensorflow/tfjs";
import { Rng } from "../init";
import { inKernel, interruptible } from "../notebook";
import type { Batch, CarriedState, ForwardOptions, Trainable } from "./model";
import { clipGradients, type ClipConfig, type Gradients } from "./clipping";
import { makeOptimizer, type OptimizerConfig, type OptimizerName } from "./optimizers";
import { toSchedule, type Schedule } from "./schedules";
import { checkTbptt, splitTime, type TbpttConfig } from "./tbptt";
import { MetricMeans, type Metrics } from "./metrics";
import { copyHistory, emptyHistory, type History, type StopReason } from "./history";
import { EarlyStopping, type EarlyStoppingConfig } from "./early-stopping";
import { disposeSnapshot, restoreWeights, snapshotWeights, type WeightSnapshot } from "./weights";
import type { Callback, StepLog, TrainContext } from "./callbacks";
import { progressDisplay, type ProgressOptions } from "./progress";

/**
 * Where batches come from:
 * - a list, which the caller owns (the trainer never disposes it) and the trainer shuffles
 *   each epoch (unless `shuffle: false`);
 * - a function giving an epoch's batches (an array or a generator), called with the epoch
 *   (1-based) and a seeded {@link Rng}; the trainer disposes each batch after its step.
 */
export type BatchSource<B extends Batch> = readonly B[] | ((epoch: number, rng: Rng) => Iterable<B>);

/** How to train. Every field but `data` is optional. */
export interface FitOptions<B extends Batch = Batch> {
  /** The training batches; see {@link BatchSource}. */
  data: BatchSource<B>;
  /** Validation batches, evaluated after every epoch with `training: false`. A function is called each time and its batches disposed. */
  validation?: readonly B[] | (() => Iterable<B>);
  /** Epochs to run (in this call). Default: 10. */
  epochs?: number;
  /** The optimizer: a name, a config (optimizers.ts), or a tf.Optimizer you own (to keep its state across calls). Default: "adam". */
  optimizer?: OptimizerName | OptimizerConfig | tf.Optimizer;
  /** Gradient clipping (clipping.ts). Default: none. */
  clip?: ClipConfig;
  /** Teacher-forcing ratio, or a schedule of the step (schedules.ts), passed to `forward` while training. Default: not passed. */
  teacherForcing?: number | Schedule;
  /** Truncated BPTT (tbptt.ts). Default: none (BPTT through each whole batch). */
  tbptt?: TbpttConfig;
  /** Early stopping (early-stopping.ts). Default: none. */
  earlyStopping?: EarlyStoppingConfig;
  /** Seed of the run's randomness (batch order, data function, the model's `rng`). Default: 0. */
  seed?: number;
  /** Shuffle a list of batches each epoch. Default: true. */
  shuffle?: boolean;
  /** Report perplexity = exp(loss) (cross-entropy losses). Default: true when the model reports `correct` (classification). */
  perplexity?: boolean;
  /** Hooks called during the run (e.g. `liveCurves()`, or your own). */
  callbacks?: Callback<B>[];
  /** The progress display: true/false or its options. Default: on inside Jupyter, off elsewhere. */
  progress?: boolean | ProgressOptions;
  /** Continue this history (e.g. from `loadCheckpoint`): epochs and steps go on from it. It is not modified; fit returns a new one. */
  history?: History;
  /** What a non-finite loss does: throw a {@link NonFiniteLossError} (default) or stop and return. */
  onNonFinite?: "throw" | "stop";
}

/** Thrown when a step's loss (or gradient) is NaN or ±Inf; the last good weights have been put back. */
export class NonFiniteLossError extends Error {
  constructor(
    message: string,
    /** The step (1-based, counting earlier runs) whose loss was not finite. */
    readonly step: number,
    /** Its epoch (1-based). */
    readonly epoch: number,
    /** The history up to the last good step. */
    readonly history: History,
  ) {
    super(message);
    this.name = "NonFiniteLossError";
  }
}

/** Resolves on the next turn of the event loop, after pending I/O (so notebook output streams). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Trains `model` in place and returns its history.
 * @throws NonFiniteLossError (unless onNonFinite: "stop"); errors from the model, the data or a callback
 *   end the run too (the weights stay as they were after the last completed step)
 */
export async function fit<B extends Batch>(model: Trainable<B>, options: FitOptions<B>): Promise<History> {
  const epochs = options.epochs ?? 10;
  if (!(Number.isInteger(epochs) && epochs >= 0)) throw new Error(`fit: epochs must be an integer ≥ 0, got ${epochs}`);
  if (options.data === undefined) throw new Error("fit: no data; pass { data: [batches…] } or { data: (epoch, rng) => batches }");
  if (options.tbptt) checkTbptt(options.tbptt);
  const names = Object.keys(model.variables);
  if (names.length === 0) throw new Error("fit: the model has no variables to train");
  const vars = names.map((n) => model.variables[n]);
  const given = isOptimizer(options.optimizer) ? options.optimizer : undefined;
  const optimizer = given ?? makeOptimizer((options.optimizer as OptimizerName | OptimizerConfig | undefined) ?? "adam");
  const schedule = options.teacherForcing === undefined ? undefined : toSchedule(options.teacherForcing);
  const hasValidation = options.validation !== undefined;
  const early = options.earlyStopping ? new EarlyStopping(options.earlyStopping, hasValidation) : undefined;
  const history = options.history ? copyHistory(options.history) : emptyHistory();
  delete history.stopped;
  const rng = new Rng(options.seed ?? 0);
  const shuffle = options.shuffle ?? true;
  const callbacks: Callback<B>[] = [...(options.callbacks ?? [])];
  const progress = options.progress ?? inKernel();
  if (progress) callbacks.push(progressDisplay(typeof progress === "object" ? progress : {}) as Callback<B>);

  let stopRequest: { reason: StopReason; message: string } | undefined;
  let stepsPerEpoch: number | undefined = Array.isArray(options.data) && !options.tbptt ? options.data.length : undefined;
  const firstEpoch = history.epochs + 1;
  const ctx: TrainContext<B> = {
    model,
    history,
    lastEpoch: history.epochs + epochs,
    firstEpoch,
    get stepsPerEpoch() {
      return stepsPerEpoch;
    },
    startedAt: Date.now(),
    stop(reason?: string) {
      stopRequest ??= { reason: "callback", message: reason ?? "a callback stopped the run" };
    },
  };
  let perplexity = options.perplexity;
  let lastGood: WeightSnapshot | undefined;
  let lastGoodLoss = NaN;
  const run = interruptible();
  let failure: NonFiniteLossError | undefined;

  const call = async (fn: (cb: Callback<B>) => void | Promise<void> | undefined) => {
    for (const cb of callbacks) await fn(cb);
  };

  try {
    await call((cb) => cb.onTrainBegin?.(ctx));
    for (let epoch = firstEpoch; epoch <= ctx.lastEpoch && !stopRequest; epoch++) {
      const t0 = Date.now();
      const means = new MetricMeans();
      let stepInEpoch = 0;
      let carried: CarriedState | undefined;
      const owned = typeof options.data === "function";
      const source: Iterable<B> = typeof options.data === "function" ? options.data(epoch, rng) : ordered(options.data, shuffle, rng);
      let batchIndex = 0;
      try {
        for (const batch of source) {
          batchIndex++;
          try {
            checkBatch(batch, `batch ${batchIndex} of epoch ${epoch}`);
            const chunks = options.tbptt ? splitTime(batch, options.tbptt.chunk) : [batch];
            try {
              if (!options.tbptt?.acrossBatches) carried = disposeState(carried);
              for (const chunk of chunks) {
                const stepNo = history.steps + 1;
                const ratio = schedule?.(history.steps);
                const forwardOptions: ForwardOptions = { training: true, rng, ...(ratio === undefined ? {} : { teacherForcingRatio: ratio }), ...(carried ? { state: carried } : {}) };
                const r = gradientsOf(model, vars, names, chunk, forwardOptions, options.clip);
                const next = r.state;
                try {
                  if (r.count === 0) continue; // a chunk of padding only: nothing to learn from
                  perplexity ??= r.correct !== undefined;
                  if (!Number.isFinite(r.loss) || !Number.isFinite(r.norm)) {
                    const what = !Number.isFinite(r.loss) ? `the loss is ${r.loss}` : `the loss is finite (${fmt(r.loss)}) but the gradient norm is ${r.norm}`;
                    let restored = "";
                    if (!Number.isFinite(r.loss) && lastGood) {
                      restoreWeights(model, lastGood, "fit");
                      restored = `; the weights were put back to those of step ${stepNo - 1} (loss ${fmt(lastGoodLoss)}, the last finite one)`;
                    } else if (!Number.isFinite(r.loss)) {
                      restored = "; it was the first step, so the weights are the initial ones";
                    } else {
                      restored = "; the update was not applied, so the weights are those that gave this finite loss";
                    }
                    const message =
                      `fit: ${what} at step ${stepNo} (epoch ${epoch}, step ${stepInEpoch + 1} of the epoch); training stopped${restored}. ` +
                      "Try a smaller learning rate or gradient clipping (e.g. clip: { globalNorm: 1 }).";
                    history.stopped = { reason: "non-finite", step: stepNo, epoch, message };
                    stopRequest = { reason: "non-finite", message };
                    if ((options.onNonFinite ?? "throw") === "throw") failure = new NonFiniteLossError(message, stepNo, epoch, copyHistory(history));
                    break;
                  }
                  // These weights gave a finite loss: keep them, in case the update breaks them.
                  disposeSnapshot(lastGood);
                  lastGood = snapshotWeights(model);
                  lastGoodLoss = r.loss;
                  optimizer.applyGradients(names.map((n) => ({ name: model.variables[n].name, tensor: r.grads[n] })));
                } finally {
                  tf.dispose(Object.values(r.grads));
                  if (next && !stopRequest) {
                    disposeState(carried);
                    carried = next;
                  } else disposeState(next);
                }
                history.steps = stepNo;
                history.stepLoss.push(r.loss);
                history.gradNorm.push(r.norm);
                if (stepInEpoch === 0 && ratio !== undefined) history.teacherForcing.push(ratio);
                stepInEpoch++;
                means.add(r.loss, r.count, r.correct);
                const log: StepLog = {
                  step: stepNo,
                  epoch,
                  stepInEpoch,
                  loss: r.loss,
                  count: r.count,
                  gradNorm: r.norm,
                  running: means.result(perplexity ?? false),
                  ...(r.correct !== undefined ? { accuracy: r.correct / r.count } : {}),
                  ...(ratio !== undefined ? { teacherForcing: ratio } : {}),
                };
                await call((cb) => cb.onStep?.(log, ctx));
                if (run.stop()) {
                  stopRequest ??= {
                    reason: "interrupted",
                    message: `interrupted at step ${stepNo} (epoch ${epoch}); the weights and the history are kept — pass { history } to fit to go on`,
                  };
                }
                await nextTurn();
                if (stopRequest) break;
              }
            } finally {
              if (chunks[0] !== batch) chunks.forEach(disposeBatch);
            }
          } finally {
            if (owned) disposeBatch(batch);
          }
          if (stopRequest) break;
        }
      } finally {
        carried = disposeState(carried);
      }
      if (stopRequest) break; // a partial epoch is kept in steps/stepLoss only
      if (stepInEpoch === 0) throw new Error(`fit: epoch ${epoch} had no batches (or only padding); check the data`);
      stepsPerEpoch ??= stepInEpoch;
      const train = means.result(perplexity ?? false);
      const validation = options.validation ? await evaluate(model, options.validation, { perplexity: perplexity ?? false }) : undefined;
      record(history, train, validation);
      const seconds = (Date.now() - t0) / 1000;
      history.seconds.push(seconds);
      history.epochs = epoch;
      if (early?.update(history, model)) {
        stopRequest ??= {
          reason: "early-stopping",
          message: `early stopping after epoch ${epoch}: ${early.monitor} has not improved for ${early.patience} epochs (best ${fmt(early.best)} at epoch ${early.bestEpoch})`,
        };
      }
      if (early) history.bestEpoch = early.bestEpoch;
      await call((cb) => cb.onEpoch?.({ epoch, train, ...(validation ? { validation } : {}), seconds }, ctx));
    }
    if (early?.restore(model) && stopRequest?.reason !== "non-finite") {
      const note = `; the weights of epoch ${early.bestEpoch} were restored`;
      if (stopRequest) stopRequest.message += note;
      else stopRequest = { reason: "completed", message: `completed ${history.epochs} epochs${note}` };
    }
    const s = stopRequest ?? { reason: "completed" as const, message: `completed ${history.epochs} epochs` };
    history.stopped ??= { reason: s.reason, step: history.steps, epoch: history.epochs, message: s.message };
    await call((cb) => cb.onTrainEnd?.(history, ctx));
  } finally {
    run.close();
    early?.dispose();
    disposeSnapshot(lastGood);
    if (!given) optimizer.dispose();
  }
  if (failure) throw failure;
  return history;
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Report perplexity = exp(loss). Default: false. */
  perplexity?: boolean;
  /** Teacher-forcing ratio to pass to forward (for measuring the train/test gap). Default: not passed. */
  teacherForcingRatio?: number;
}

/**
 * Loss (and accuracy, perplexity) of `model` over some batches, with `training: false`.
 * A function's batches are disposed after use; a list's are not.
 */
export async function evaluate<B extends Batch>(model: Trainable<B>, batches: readonly B[] | (() => Iterable<B>), options: EvaluateOptions = {}): Promise<Metrics> {
  const means = new MetricMeans();
  const owned = typeof batches === "function";
  const source: Iterable<B> = typeof batches === "function" ? batches() : batches;
  let i = 0;
  for (const batch of source) {
    i++;
    try {
      checkBatch(batch, `validation batch ${i}`);
      const fo: ForwardOptions = { training: false, ...(options.teacherForcingRatio === undefined ? {} : { teacherForcingRatio: options.teacherForcingRatio }) };
      const r = tf.tidy(() => {
        const out = model.forward(batch, fo);
        return [out.loss, out.count, ...(out.correct ? [out.correct] : [])];
      });
      const [loss, count, correct] = await Promise.all(r.map(async (t) => (await t.data())[0]));
      tf.dispose(r);
      means.add(loss, count, correct);
    } finally {
      if (owned) disposeBatch(batch);
    }
  }
  if (i === 0) throw new Error("evaluate: no batches");
  return means.result(options.perplexity ?? false);
}

/** One forward + backward: the loss, count, correct and state as numbers/kept tensors, and the clipped gradients by name. */
function gradientsOf<B extends Batch>(
  model: Trainable<B>,
  vars: tf.Variable[],
  names: string[],
  batch: B,
  options: ForwardOptions,
  clip: ClipConfig | undefined,
): { loss: number; count: number; correct?: number; norm: number; grads: Gradients; state?: CarriedState } {
  let kept: Tensor[] = [];
  let state: CarriedState | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(batch, options);
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
  return { loss, count, ...(correct !== undefined ? { correct } : {}), norm: clipped.norm, grads: clipped.grads, ...(state ? { state } : {}) };
}

/** A tf.Optimizer (not a name or config). (`instanceof tf.Optimizer` throws on plain objects in tfjs 4.) */
function isOptimizer(o: unknown): o is tf.Optimizer {
  return typeof o === "object" && o !== null && typeof (o as tf.Optimizer).applyGradients === "function";
}

/** The list's batches in this epoch's order (a seeded Fisher–Yates shuffle). */
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
function checkBatch(batch: Batch, where: string): void {
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

function disposeState(state: CarriedState | undefined): undefined {
  if (state) tf.dispose(Object.values(state));
  return undefined;
}

function record(h: History, train: Metrics, validation: Metrics | undefined): void {
  h.loss.push(train.loss);
  if (train.accuracy !== undefined) h.accuracy.push(train.accuracy);
  if (train.perplexity !== undefined) h.perplexity.push(train.perplexity);
  if (validation) {
    h.valLoss.push(validation.loss);
    if (validation.accuracy !== undefined) h.valAccuracy.push(validation.accuracy);
    if (validation.perplexity !== undefined) h.valPerplexity.push(validation.perplexity);
  }
}

/** A number for messages: 4 significant digits. */
export function fmt(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(4))) : String(x);
}
