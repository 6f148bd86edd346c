/**
 * One call of `fit`, as an object: what `fit` prepares before the first epoch (the
 * optimizer, the teacher-forcing schedule, early stopping, the callbacks and the progress
 * display, the history it writes to) and what changes while it trains (the steps per
 * epoch once known, the last good weights, why it stops). The epoch and step functions
 * (epoch.ts, step.ts) read and write it; `close()` frees what it owns.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../init";
import { inKernel, interruptible } from "../notebook";
import type { Batch, CarriedState, ForwardOptions, Trainable } from "./model";
import { makeOptimizer, type OptimizerConfig, type OptimizerName } from "./optimizers";
import { toSchedule, type Schedule } from "./schedules";
import { copyHistory, emptyHistory, type History, type StopReason } from "./history";
import { EarlyStopping } from "./early-stopping";
import { disposeSnapshot, snapshotWeights, type WeightSnapshot } from "./weights";
import type { Callback, TrainContext } from "./callbacks";
import { progressDisplay } from "./progress";
import type { FitOptions } from "./trainer";
import type { NonFiniteLossError } from "./non-finite";

/** Why the run is stopping, and the sentence that goes into `history.stopped`. */
export interface StopRequest {
  reason: StopReason;
  message: string;
}

/** The state of one `fit` call (see the file comment). */
export class TrainingRun<B extends Batch> {
  /** The model's variable names, in its order, and the variables themselves. */
  readonly names: string[];
  readonly vars: tf.Variable[];
  readonly optimizer: tf.Optimizer;
  /** Whether `fit` made the optimizer (and so disposes it), rather than the caller passing one. */
  private readonly ownsOptimizer: boolean;
  /** The teacher-forcing ratio as a function of the step, when one was given. */
  readonly teacherForcing?: Schedule;
  readonly early?: EarlyStopping;
  /** The history this run writes (a copy of `options.history`, or a new one). */
  readonly history: History;
  /** Drives the batch order, the data function and the model's `rng`. */
  readonly rng: Rng;
  readonly shuffle: boolean;
  /** The user's callbacks, then the progress display. */
  readonly callbacks: Callback<B>[];
  /** What callbacks see. */
  readonly ctx: TrainContext<B>;
  /** Set once something asks the run to stop; the first request wins (but a non-finite loss overrides). */
  stopRequest?: StopRequest;
  /** Optimizer steps per epoch, once known. */
  stepsPerEpoch?: number;
  /** Report perplexity; decided by the first step when not given. */
  perplexity?: boolean;
  /** The weights that gave the last finite loss, and that loss. */
  private lastGood?: WeightSnapshot;
  lastGoodLoss = NaN;
  /** The error `fit` throws once the run is closed (a non-finite loss with onNonFinite: "throw"). */
  failure?: NonFiniteLossError;
  /** The Jupyter Interrupt button. */
  private readonly interrupt: { stop(): boolean; close(): void };

  /** Prepares a run: optimizer, schedule, early stopping, history, callbacks and progress, in that order. */
  constructor(
    readonly model: Trainable<B>,
    readonly options: FitOptions<B>,
    epochs: number,
  ) {
    this.names = Object.keys(model.variables);
    this.vars = this.names.map((n) => model.variables[n]);
    const given = isOptimizer(options.optimizer) ? options.optimizer : undefined;
    this.ownsOptimizer = !given;
    this.optimizer = given ?? makeOptimizer((options.optimizer as OptimizerName | OptimizerConfig | undefined) ?? "adam");
    if (options.teacherForcing !== undefined) this.teacherForcing = toSchedule(options.teacherForcing);
    if (options.earlyStopping) this.early = new EarlyStopping(options.earlyStopping, options.validation !== undefined);
    this.history = options.history ? copyHistory(options.history) : emptyHistory();
    delete this.history.stopped;
    this.rng = new Rng(options.seed ?? 0);
    this.shuffle = options.shuffle ?? true;
    this.callbacks = [...(options.callbacks ?? [])];
    const progress = options.progress ?? inKernel();
    if (progress) this.callbacks.push(progressDisplay(typeof progress === "object" ? progress : {}) as Callback<B>);
    this.stepsPerEpoch = Array.isArray(options.data) && !options.tbptt ? options.data.length : undefined;
    this.ctx = this.context(epochs);
    this.perplexity = options.perplexity;
    this.interrupt = interruptible();
  }

  /** The context callbacks get: live views of the history and the steps per epoch, and `stop`. */
  private context(epochs: number): TrainContext<B> {
    const stepsPerEpoch = () => this.stepsPerEpoch;
    const requestStop = (reason?: string) => this.requestStop("callback", reason ?? "a callback stopped the run");
    return {
      model: this.model,
      history: this.history,
      lastEpoch: this.history.epochs + epochs,
      firstEpoch: this.history.epochs + 1,
      get stepsPerEpoch() {
        return stepsPerEpoch();
      },
      startedAt: Date.now(),
      stop: requestStop,
    };
  }

  /** Asks the run to stop after the current step, unless something asked first. */
  requestStop(reason: StopReason, message: string): void {
    this.stopRequest ??= { reason, message };
  }

  /** Whether the Interrupt button was pressed since the run began. */
  interrupted(): boolean {
    return this.interrupt.stop();
  }

  /** Calls one hook of every callback, in order, awaiting each. */
  async call(hook: (cb: Callback<B>) => void | Promise<void> | undefined): Promise<void> {
    for (const cb of this.callbacks) await hook(cb);
  }

  /** What `forward` gets while training: the run's `rng`, the teacher-forcing ratio and the carried state, when there are. */
  forwardOptions(ratio: number | undefined, carried: CarriedState | undefined): ForwardOptions {
    return {
      training: true,
      rng: this.rng,
      ...(ratio === undefined ? {} : { teacherForcingRatio: ratio }),
      ...(carried ? { state: carried } : {}),
    };
  }

  /** Keeps the current weights (they gave the finite `loss`), in case the next update breaks them. */
  keepGoodWeights(loss: number): void {
    disposeSnapshot(this.lastGood);
    this.lastGood = snapshotWeights(this.model);
    this.lastGoodLoss = loss;
  }

  /** The weights that gave the last finite loss (undefined before the first finite step). */
  get goodWeights(): WeightSnapshot | undefined {
    return this.lastGood;
  }

  /** Frees what the run owns: the Interrupt hook, early stopping's best weights, the last good weights, and an optimizer it made. */
  close(): void {
    this.interrupt.close();
    this.early?.dispose();
    disposeSnapshot(this.lastGood);
    if (this.ownsOptimizer) this.optimizer.dispose();
  }
}

/** A tf.Optimizer (not a name or config). (`instanceof tf.Optimizer` throws on plain objects in tfjs 4.) */
function isOptimizer(o: unknown): o is tf.Optimizer {
  return typeof o === "object" && o !== null && typeof (o as tf.Optimizer).applyGradients === "function";
}
