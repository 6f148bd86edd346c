/**
 * The trainer: gradient descent on any {@link Trainable}, one batch at a time.
 *
 * One step, for a batch (or a chunk of one, with truncated BPTT), in step.ts:
 * ```
 * L, ∇_θ L   = forward + backward (tf.variableGrads over model.variables)
 * g          = clip(∇_θ L)                (clipping.ts; the norm before clipping is logged)
 * θ          ← optimizer(θ, g)            (optimizers.ts)
 * ```
 * Around that step: epochs and shuffling (epoch.ts, batches.ts), teacher-forcing schedules
 * (schedules.ts), truncated BPTT (tbptt.ts), metrics (metrics.ts), validation (evaluate.ts)
 * and early stopping, callbacks (live curves, a progress bar), the Jupyter Interrupt button,
 * and a guard against NaN (non-finite.ts). `fit` reads as those steps, in order:
 * ```
 * checkFitOptions → new TrainingRun (optimizer, schedule, early stopping, callbacks, progress)
 * for each epoch:  trainEpoch (each batch: trainBatch → each chunk: trainStep) → endEpoch
 * finishRun (restore the best weights, history.stopped, onTrainEnd) → run.close()
 * ```
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
 * - **Errors early.** Before the first step: unknown option keys (with the likely name:
 *   `lr` → `optimizer: { learningRate }`), a disposed model, a second `fit` on a model that
 *   is still training, a generator object as `data`, bad validation batches. Each batch is
 *   checked before its step, NaN/±Inf included ("fit: data: batch 3 of epoch 1: x[1, 4, 0]
 *   is NaN"), so bad data is not mistaken for a learning rate that is too high.
 * - **Notebook output.** After every step the trainer awaits the event loop (setImmediate),
 *   so displays and prints reach the notebook while it trains.
 *
 * @example
 * // The adding problem: fresh batches every epoch (the trainer disposes them), a fixed
 * // validation set made anew for each evaluation, Adam, clipping, early stopping, live curves.
 * const model = new SequenceToVector({ inputSize: 2, cell: "gru", hiddenSize: 32, output: { values: 1 }, seed: 1 });
 * const history = await fit(model, {
 *   data: (_epoch, rng) => addingBatches({ length: 50, batchSize: 32, batches: 50, seed: rng.int(1e9) }),
 *   validation: () => addingBatches({ length: 50, batchSize: 256, batches: 1, seed: 999 }),
 *   epochs: 20,
 *   optimizer: { name: "adam", learningRate: 0.01 },
 *   clip: { globalNorm: 1 },
 *   earlyStopping: { patience: 3 },
 *   callbacks: [liveCurves()],
 * });
 * console.log(history.stopped?.message);
 *
 * @example
 * // A list of batches (yours: the trainer shuffles them but never disposes them), then
 * // three more epochs that continue the same history.
 * const model = new SequenceToVector({ inputSize: 2, cell: "gru", hiddenSize: 32, output: { values: 1 }, seed: 1 });
 * const batches = [...addingBatches({ length: 20, batchSize: 32, batches: 10, seed: 1 })];
 * const first = await fit(model, { data: batches, epochs: 5, seed: 1 });
 * const more = await fit(model, { data: batches, epochs: 3, seed: 2, history: first });
 * console.log(more.epochs, more.steps); // 8 80
 * disposeAll(batches);
 *
 * Explained in notebooks/07-the-catalogue.ipynb and notebooks/12-language-models-and-generation.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import type { Batch, Trainable } from "./model";
import type { ClipConfig } from "./clipping";
import type { OptimizerConfig, OptimizerName } from "./optimizers";
import type { Schedule } from "./schedules";
import { checkTbptt, type TbpttConfig } from "./tbptt";
import type { History } from "./history";
import type { EarlyStoppingConfig } from "./early-stopping";
import type { Callback } from "./callbacks";
import type { ProgressOptions } from "./progress";
import { checkDataSource, type BatchSource } from "./batches";
import { TrainingRun } from "./run";
import { endEpoch, trainEpoch } from "./epoch";
import { checkValidation } from "./evaluate";
import { checkNotDisposed, modelName } from "./model";
import { checkKeys, keysOf } from "../options";
import { OPTIMIZER_DEFAULTS } from "./optimizers";

export type { BatchSource } from "./batches";
export { disposeBatch } from "./batches";
export { evaluate, type EvaluateOptions } from "./evaluate";
export { NonFiniteLossError } from "./non-finite";
export { nextTurn } from "./step";

/** How to train. Every field but `data` is optional. */
export interface FitOptions<B extends Batch = Batch> {
  /** The training batches: an array, or a function of the epoch (not a generator object, which cannot be replayed); see {@link BatchSource}. */
  data: BatchSource<B>;
  /**
   * Validation batches, evaluated after every epoch with `training: false`. A function is
   * called each time, and the tensors it made are disposed (as for `data`). Checked before
   * the first training step: every batch of a list, the first of a function's (which is
   * called once more for this).
   */
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

/** Default of {@link FitOptions.epochs}. */
const DEFAULT_EPOCHS = 10;

/** The keys of {@link FitOptions} and of its nested configs (for the unknown-key check). */
const FIT_KEYS = keysOf<FitOptions>({
  data: true,
  validation: true,
  epochs: true,
  optimizer: true,
  clip: true,
  teacherForcing: true,
  tbptt: true,
  earlyStopping: true,
  seed: true,
  shuffle: true,
  perplexity: true,
  callbacks: true,
  progress: true,
  history: true,
  onNonFinite: true,
});
const CLIP_KEYS = keysOf<ClipConfig>({ globalNorm: true, norm: true, value: true });
const TBPTT_KEYS = keysOf<TbpttConfig>({ chunk: true, acrossBatches: true });
const EARLY_STOPPING_KEYS = keysOf<EarlyStoppingConfig>({ monitor: true, patience: true, minDelta: true, restoreBest: true });
const PROGRESS_KEYS = keysOf<ProgressOptions>({ interval: true, terminalInterval: true, write: true });

/**
 * The models being trained right now: a second `fit` on one of them is refused (two runs
 * would interleave their updates and each restore its own "last good" weights).
 */
const training = new WeakSet<object>();

/**
 * Trains `model` in place and returns its history.
 * @throws NonFiniteLossError (unless onNonFinite: "stop"); errors from the model, the data or a callback
 *   end the run too (the weights stay as they were after the last completed step)
 */
export async function fit<B extends Batch>(model: Trainable<B>, options: FitOptions<B>): Promise<History> {
  const epochs = checkFitOptions(model, options);
  if (training.has(model)) {
    throw new Error(
      `fit: ${modelName(model)} is already being trained by another fit call that has not finished; ` +
        "await it first (const history = await fit(…)) — two runs at once would mix their updates",
    );
  }
  checkValidation(options.validation, "fit");
  training.add(model);
  let run: TrainingRun<B> | undefined;
  try {
    run = new TrainingRun(model, options, epochs);
    return await train(run);
  } finally {
    run?.close();
    training.delete(model);
  }
}

/** The epochs of a prepared run, then its end; throws the run's failure (a non-finite loss) if any. */
async function train<B extends Batch>(run: TrainingRun<B>): Promise<History> {
  await run.call((cb) => cb.onTrainBegin?.(run.ctx));
  for (let epoch = run.ctx.firstEpoch; epoch <= run.ctx.lastEpoch && !run.stopRequest; epoch++) {
    const startedAt = Date.now();
    const progress = await trainEpoch(run, epoch);
    if (run.stopRequest) break; // a partial epoch is kept in steps/stepLoss only
    await endEpoch(run, progress, startedAt);
  }
  await finishRun(run);
  if (run.failure) throw run.failure;
  return run.history;
}

/** Checks what can be checked before training (except the validation batches); returns the number of epochs. */
function checkFitOptions<B extends Batch>(model: Trainable<B>, options: FitOptions<B>): number {
  if (options === null || typeof options !== "object")
    throw new Error(`fit: options must be an object { data, epochs?, … }, got ${String(options)}`);
  checkKeys("fit", options, FIT_KEYS);
  const optimizer = options.optimizer as unknown;
  if (optimizer !== null && typeof optimizer === "object" && typeof (optimizer as tf.Optimizer).applyGradients !== "function") {
    const name = (optimizer as { name?: unknown }).name;
    const defaults = OPTIMIZER_DEFAULTS[name as OptimizerName];
    if (defaults) checkKeys("fit", optimizer, ["name", ...Object.keys(defaults)], "optimizer");
  }
  checkKeys("fit", options.clip, CLIP_KEYS, "clip");
  checkKeys("fit", options.tbptt, TBPTT_KEYS, "tbptt");
  checkKeys("fit", options.earlyStopping, EARLY_STOPPING_KEYS, "earlyStopping");
  checkKeys("fit", options.progress, PROGRESS_KEYS, "progress");
  checkNotDisposed("fit", model);
  const epochs = options.epochs ?? DEFAULT_EPOCHS;
  if (!(Number.isInteger(epochs) && epochs >= 0)) throw new Error(`fit: epochs must be an integer ≥ 0, got ${epochs}`);
  if (options.data === undefined) throw new Error("fit: no data; pass { data: [batches…] } or { data: (epoch, rng) => batches }");
  checkDataSource(options.data, "fit: data");
  if (options.tbptt) checkTbptt(options.tbptt);
  if (Object.keys(model.variables).length === 0) throw new Error("fit: the model has no variables to train");
  return epochs;
}

/**
 * Ends the run: early stopping puts back the best epoch's weights (said in the message,
 * unless the run stopped on a non-finite loss), `history.stopped` says why the run ended,
 * and the callbacks' `onTrainEnd` is called.
 */
async function finishRun<B extends Batch>(run: TrainingRun<B>): Promise<void> {
  const { early, history } = run;
  if (early?.restore(run.model) && run.stopRequest?.reason !== "non-finite") {
    const note = `; the weights of epoch ${early.bestEpoch} were restored`;
    if (run.stopRequest) run.stopRequest.message += note;
    else run.stopRequest = { reason: "completed", message: `completed ${history.epochs} epochs${note}` };
  }
  const s = run.stopRequest ?? { reason: "completed" as const, message: `completed ${history.epochs} epochs` };
  history.stopped ??= { reason: s.reason, step: history.steps, epoch: history.epochs, message: s.message };
  await run.call((cb) => cb.onTrainEnd?.(history, run.ctx));
}
