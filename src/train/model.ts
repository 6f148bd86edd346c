/**
 * What the trainer (src/train) needs from a model, and nothing more. Every seqlab
 * architecture (src/sequence: sequence→vector, vector→sequence, encoder–decoder,
 * attention, …) implements {@link Trainable}; so can a user's own model.
 *
 * Symbols: T time, B batch, I input size, H hidden size, K classes.
 */
import type { Scalar, Tensor, Tensor2D, Variable } from "@tensorflow/tfjs";
import type { Rng } from "../init";

/** One batch of a task (src/data). Shapes depend on the task; see each task's doc. */
export interface Batch {
  /** Inputs, e.g. [B, T, I] values or [B, T] token ids. */
  x: Tensor;
  /** Targets, e.g. [B] class ids, [B, 1] values, [B, T] token ids, [B, T, 1] values. */
  y: Tensor;
  /** [B, T]: 1 for real steps, 0 for padding (loss and metrics ignore padded steps). */
  mask?: Tensor2D;
  /** For encoder–decoder tasks: the decoder's input (targets shifted right, with a start token). */
  yIn?: Tensor;
  /**
   * For encoder–decoder tasks whose inputs are padded: [B, Tx], 1 for real input steps,
   * 0 for padding (for the encoder and attention; `mask` is the targets' [B, Ty] mask).
   */
  xMask?: Tensor2D;
}

/** A recurrent state carried between calls (truncated BPTT): named [B, H] tensors. */
export type CarriedState = Record<string, Tensor2D>;

/** How {@link Trainable.forward} is called. */
export interface ForwardOptions {
  /** True while training (teacher forcing, dropout-like behaviour), false for evaluation. */
  training: boolean;
  /**
   * Probability, per decoder step, of feeding the true previous output y(t−1) rather than
   * the model's own prediction (teacher forcing = 1, free running = 0; scheduled sampling
   * lowers it over training). Only models with output→hidden recurrence use it.
   */
  teacherForcingRatio?: number;
  /** The state to start from (truncated BPTT carries it across chunks); zeros if absent. */
  state?: CarriedState;
  /**
   * A seeded stream for any randomness in this pass (the teacher-forcing coin flips,
   * dropout). The trainer derives it from its `seed`, so that a run repeats exactly;
   * a model should draw from it rather than from Math.random when it is given.
   */
  rng?: Rng;
}

/** What one forward pass gives the trainer. All tensors belong to the caller. */
export interface ForwardResult {
  /** The loss to minimise: the mean over real (unmasked) predictions. */
  loss: Scalar;
  /** How many predictions `loss` averages (real tokens or sequences), for weighting means. */
  count: Scalar;
  /** How many of those predictions were right (classification tasks only). */
  correct?: Scalar;
  /** The final state, for truncated BPTT (the trainer detaches it between chunks). */
  state?: CarriedState;
}

/** A model the trainer can train, evaluate, save and load. */
export interface Trainable<B extends Batch = Batch> {
  /** Every trainable variable by a stable name (used by optimizers and by save/load). */
  readonly variables: Readonly<Record<string, Variable>>;
  /** One forward pass over a batch. Called inside tf.tidy / tf.variableGrads by the trainer. */
  forward(batch: B, options: ForwardOptions): ForwardResult;
  /** Frees the variables. */
  dispose(): void;
}

/** Thrown when a model is used after `dispose()`. */
export class DisposedModelError extends Error {
  override name = "DisposedModelError";
}

/**
 * Throws a {@link DisposedModelError} if any of the model's variables has been disposed
 * (`model.dispose()` was called), instead of tfjs's "Tensor is disposed" deep inside a pass.
 * @param where the call that was attempted, e.g. "SequenceToVector.predict" or "fit"
 * @param model the model (its class name goes into the message), or `{variables}` with `name`
 * @param name what to call it, when not its class name (e.g. "RecurrentLayer")
 */
export function checkNotDisposed(where: string, model: Pick<Trainable, "variables">, name = modelName(model)): void {
  const gone = Object.entries(model.variables).filter(([, v]) => v.isDisposed);
  if (gone.length === 0) return;
  throw new DisposedModelError(
    `${where}: ${name} has been disposed (dispose() freed its weights: ${gone
      .map(([n]) => n)
      .slice(0, 3)
      .join(", ")}${gone.length > 3 ? ", …" : ""}); ` + "build a new one (and load a checkpoint into it to carry on)",
  );
}

/** "the SequenceToVector model", or "the model" for a plain object. */
export function modelName(model: object): string {
  const name = model.constructor?.name;
  return name && name !== "Object" ? `the ${name} model` : "the model";
}
