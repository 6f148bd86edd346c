/**
 * NaN and ±Inf in what a caller passes in: found where it comes in, and reported as the
 * input's fault, naming the argument and the index of the first bad value, e.g.
 * `SequenceToVector.predict: x[1, 4, 0] is NaN`.
 *
 * The check is one reduction and one readback per input tensor: Σ x is finite exactly when
 * every value is (NaN and ±Inf propagate through a sum; Inf − Inf is NaN), unless the sum
 * overflows, which only sends it to the slow path that reads the values and looks. Integer
 * tensors (token ids) are skipped; a tensor found finite once is remembered (tensors do not
 * change, so a list of batches is checked on its first epoch only; variables are never
 * remembered, since `assign` changes them).
 *
 * Inputs are checked at the outermost door only. `fit` and `evaluate` check their batches
 * and then call `forward` inside {@link withCheckedInputs}, as the architectures do around
 * their layers: inside, {@link unroll}, the stacks and the encoders do not check again, so
 * a tensor made from non-finite *weights* (a diverged run) goes on to a non-finite loss —
 * the trainer's NaN guard — rather than being blamed on an input. The per-step
 * `checkFinite` option of `unroll` is a different, opt-in tool (every state, every step).
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "@tensorflow/tfjs";
import { tidy } from "../init";

/** Thrown when an input holds NaN or ±Inf. */
export class NonFiniteInputError extends Error {
  override name = "NonFiniteInputError";
  constructor(
    message: string,
    /** The argument at fault, e.g. "x", "h0", "batch.x". */
    readonly argument: string,
    /** The index of the first bad value (row-major order). */
    readonly index: readonly number[],
    /** That value: NaN, Infinity or -Infinity. */
    readonly value: number,
  ) {
    super(message);
  }
}

/** Tensors already found finite (tensors are immutable; variables are never added). */
const finite = new WeakSet<Tensor>();

/** Depth of {@link withCheckedInputs} scopes (the forward passes it wraps are synchronous). */
let checkedDepth = 0;

/**
 * Runs `fn` as the inside of a call whose inputs are already checked: {@link checkInputs}
 * calls in it do nothing (see the file comment). `fn` must be synchronous.
 */
export function withCheckedInputs<T>(fn: () => T): T {
  checkedDepth++;
  try {
    return fn();
  } finally {
    checkedDepth--;
  }
}

/** Whether the caller runs inside {@link withCheckedInputs}. */
export function inputsChecked(): boolean {
  return checkedDepth > 0;
}

/**
 * Throws a {@link NonFiniteInputError} if one of `inputs` holds NaN or ±Inf, unless called
 * inside {@link withCheckedInputs}. Undefined entries are skipped.
 * @param where the function reporting, e.g. "unroll(lstm)"
 * @param inputs the tensors by the names the caller knows them by, e.g. `{x, h0}`
 */
export function checkInputs(where: string, inputs: Record<string, Tensor | undefined>): void {
  if (checkedDepth > 0) return;
  for (const [argument, t] of Object.entries(inputs)) if (t) checkFinite(where, argument, t);
}

/**
 * Throws a {@link NonFiniteInputError} if `x` holds NaN or ±Inf (always, even inside
 * {@link withCheckedInputs}: for the doors themselves), e.g.
 * `fit: data: batch 3 of epoch 1, x[1, 4, 0] is NaN`.
 * @param where what reports, ending where the argument's name goes (e.g. "fit: data: batch 3 of epoch 1")
 * @param argument the tensor's name
 * @param advice a sentence appended to the message
 */
export function checkFinite(where: string, argument: string, x: Tensor, advice = ""): void {
  if (x.dtype !== "float32" || x.size === 0 || finite.has(x)) return;
  const total = tf.tidy(() => tf.sum(x).dataSync()[0]);
  if (Number.isFinite(total)) {
    if (!(x instanceof tf.Variable)) finite.add(x);
    return;
  }
  const values = x.dataSync();
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (Number.isFinite(v)) continue;
    const index = unravel(k, x.shape);
    throw new NonFiniteInputError(`${where}: ${argument}[${index.join(", ")}] is ${v}${advice ? `; ${advice}` : ""}`, argument, index, v);
  }
  if (!(x instanceof tf.Variable)) finite.add(x); // the sum overflowed; every value is finite
}

/** A state's tensors as named inputs: `{h, s}` → `{"h0": h, "s0": s}` or, with a prefix, `{"initialStates[1].h": h, …}`. */
export function stateInputs(state: Partial<Record<string, Tensor>> | undefined, prefix?: string): Record<string, Tensor | undefined> {
  return Object.fromEntries(Object.entries(state ?? {}).map(([k, t]) => [prefix ? `${prefix}.${k}` : `${k}0`, t]));
}

/** The row-major index of flat position k in `shape`. */
function unravel(k: number, shape: readonly number[]): number[] {
  const index: number[] = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    index[d] = k % shape[d];
    k = Math.floor(k / shape[d]);
  }
  return index;
}

/** `tf.tidy` around `fn`, run {@link withCheckedInputs}: the body of an architecture's public method, once it has checked what it was given. */
export function tidyChecked<T>(name: string, fn: () => T): T {
  return tidy(name, () => withCheckedInputs(fn));
}
