/**
 * Unrolling a cell through time — the one place in seqlab that owns time.
 *
 * ```
 * h(0) = h0 (zeros by default),   h(t) = cell(h(t−1), x(t); θ)   for t = 1 … T
 * ```
 * (the lecture's s(t) = f(s(t−1), x(t); θ), "Introduction to Recurrent Networks").
 * Cells do one step (src/cells); this file adds the initial state, the direction,
 * masks for padded batches and collecting the outputs.
 *
 * Explained in notebooks/01-sequences-and-the-unfolded-recurrence.ipynb and notebooks/02-the-vanilla-rnn.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import type { Cell, HiddenState } from "../cells/cell";
import { assertFinite, checkRank, checkShape } from "../cells/checks";
import { tidy } from "../init";
import { fusedUnroll, fusedVariant, type FusedVariant } from "../fused/fused";
import { checkInputs } from "./finite";

/** How to unroll. Every field is optional. */
export interface UnrollOptions<S extends HiddenState> {
  /**
   * The state at t = 0, e.g. `{h: h0}` or `{h: h0, s: s0}` for the LSTM, each [B, H];
   * missing entries are zeros (as in tfjs, PyTorch and Keras).
   */
  initialState?: Partial<S>;
  /**
   * Run from t = T down to 1 (default false). Outputs stay in the input's time order:
   * `outputs[:, t]` is the state after reading x(t), …, x(T). This is how PyTorch's
   * bidirectional layers align them; Keras's `goBackwards` returns them reversed instead.
   */
  reverse?: boolean;
  /**
   * [B, T], 1 for real steps and 0 for padding (variable-length batches). At a padded step
   * the state is carried over unchanged and the output is 0, so the final state is the
   * state after the last real step (as PyTorch's packed sequences give; Keras also carries
   * the state, but repeats the previous output at padded steps instead of 0).
   */
  mask?: Tensor2D;
  /** Check every step's tensors for NaN/Inf and say where the first one is (slow; default false). */
  checkFinite?: boolean;
  /**
   * Run the whole sequence in seqlab's fused WebAssembly kernels (src/fused/fused.ts):
   * one call forward, one call for BPTT, differentiable as one tfjs op. Default
   * true for seqlab's four cells, on the fastest build the runtime validates (the
   * environment variable SEQLAB_FUSED=0 turns the default off, SEQLAB_FUSED=simd or
   * =scalar picks a slower build); `false` runs the tfjs-op reference below, step by
   * step; "relaxed" / "simd" / "scalar" ask for a build. Other cells, and
   * `checkFinite: true` (which inspects every step), always take the reference path.
   * Both paths compute the same function (tested to float32 rounding).
   */
  fused?: boolean | FusedVariant;
}

/** What {@link unroll} returns; dispose it with `disposeAll(result)`. */
export interface UnrollResult<S extends HiddenState> {
  /** h(t) for every t, [B, T, H] (0 at padded steps). */
  outputs: Tensor3D;
  /** The final state (after the last real step of each sequence), [B, H] each. */
  state: S;
}

/** What {@link unroll} returns with `returnSequences: false`. */
export interface UnrollLastResult<S extends HiddenState> {
  /** The final state; `state.h` is "the last output". */
  state: S;
}

/**
 * Runs `cell` over the sequence x and returns all outputs (or only the final state):
 * ```
 * h(t) = cell(h(t−1), x(t); θ),  t = 1 … T      (or t = T … 1 with reverse)
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x | [B, T, I] | inputs, batch first (tfjs/Keras order; PyTorch defaults to [T, B, I]) |
 * | initialState | [B, H] each | h0 (and s0 for the LSTM); zeros by default |
 * | mask | [B, T] | 1 = real step, 0 = padding |
 * | outputs | [B, T, H] | h(t) for every t |
 * | state | [B, H] each | the final state |
 *
 * Runs in `tf.tidy`: only the returned tensors survive. Inputs are validated first: NaN or
 * ±Inf in x, the initial state or the mask throws a NonFiniteInputError naming the argument
 * and the index (one reduction per input; src/sequence/finite.ts; with `checkFinite`, the
 * per-step NonFiniteError, which names the timestep, instead); a wrong rank or size
 * throws a ShapeError naming the argument (x, h0, s0, mask, a weight).
 */
export function unroll<P extends object, S extends HiddenState, O extends S>(
  cell: Cell<P, S, O>,
  params: P,
  x: Tensor3D,
  options: UnrollOptions<S> & { returnSequences: false },
): UnrollLastResult<S>;
export function unroll<P extends object, S extends HiddenState, O extends S>(
  cell: Cell<P, S, O>,
  params: P,
  x: Tensor3D,
  options?: UnrollOptions<S> & { returnSequences?: true },
): UnrollResult<S>;
export function unroll<P extends object, S extends HiddenState, O extends S>(
  cell: Cell<P, S, O>,
  params: P,
  x: Tensor3D,
  options: UnrollOptions<S> & { returnSequences?: boolean } = {},
): UnrollResult<S> | UnrollLastResult<S> {
  // NaN/±Inf in the inputs, named with their index (with checkFinite, the per-step check says which timestep instead).
  const given = (options.initialState ?? {}) as Partial<Record<string, Tensor2D>>;
  if (!options.checkFinite)
    checkInputs(`unroll(${cell.name})`, {
      x,
      ...Object.fromEntries(Object.entries(given).map(([k, t]) => [`${k}0`, t])),
      mask: options.mask,
    });
  const variant = options.checkFinite ? null : fusedVariant(cell, options.fused);
  if (variant) {
    const { H } = checkUnrollInputs(cell, params, x, options);
    return tidy(`unroll(${cell.name}, fused)`, (): UnrollResult<S> | UnrollLastResult<S> => {
      const returnSequences = options.returnSequences !== false;
      const initialState = options.initialState as { [key: string]: Tensor2D | undefined } | undefined;
      const r = fusedUnroll(cell, params as { [name: string]: tf.Tensor | undefined }, x, H, {
        ...options,
        initialState,
        returnSequences,
        variant,
      });
      const state = r.state as unknown as S;
      return returnSequences ? { outputs: r.outputs!, state } : { state };
    });
  }
  return tidy(`unroll(${cell.name})`, (): UnrollResult<S> | UnrollLastResult<S> => {
    const { outputs, state } = unrollSteps(cell, params, x, options);
    return options.returnSequences === false ? { state } : { outputs, state };
  });
}

/** One step of the reference loop, as {@link unrollSteps} reports it to a visitor. */
export interface StepRecord<S extends HiddenState, O extends S> {
  /** The timestep (0-based, in the input's time order). */
  t: number;
  /** x(t): [B, I]. */
  x: Tensor2D;
  /** The state before this step, [B, H] each. */
  prev: S;
  /** What the cell's step returned (new state and gates). */
  out: O;
  /** The mask column at t, [B, 1] (only with a mask). */
  m?: Tensor2D;
}

/**
 * The reference loop behind {@link unroll}: the cell's step, t = 1 … T (or T … 1), with
 * the mask's carry, in tfjs ops. `visit` sees every step as it runs (the hand-written
 * BPTT's tape in src/grad/tape.ts records them; `unroll` passes none). Runs in the
 * caller's scope (no tidy): the caller keeps or disposes what it makes.
 */
export function unrollSteps<P extends object, S extends HiddenState, O extends S>(
  cell: Cell<P, S, O>,
  params: P,
  x: Tensor3D,
  options: UnrollOptions<S>,
  visit?: (step: StepRecord<S, O>) => void,
): { outputs: Tensor3D; state: S; sizes: { B: number; T: number; I: number; H: number } } {
  const { B, T, I, H } = checkUnrollInputs(cell, params, x, options);
  const given = (options.initialState ?? {}) as Partial<Record<string, Tensor2D>>;
  // Slices rather than tf.unstack: tfjs's gradient of unstack fails when T = 1.
  const xs = Array.from({ length: T }, (_, t) => tf.reshape(tf.slice(x, [0, t, 0], [B, 1, I]), [B, I]) as Tensor2D); // T × [B, I]
  const mask = options.mask;
  const ms = mask ? Array.from({ length: T }, (_, t) => tf.slice(mask, [0, t], [B, 1]) as Tensor2D) : undefined; // T × [B, 1]
  // Copies of h0/s0, so that disposing a tape never disposes the caller's tensors.
  let state = Object.fromEntries(cell.stateKeys.map((key) => [key, given[key] ? tf.clone(given[key]!) : tf.zeros([B, H])])) as unknown as S;
  const outputs: Tensor2D[] = new Array(T);
  for (let k = 0; k < T; k++) {
    const t = options.reverse ? T - 1 - k : k;
    if (options.checkFinite) assertFinite(cell.name, "forward", t, "x", xs[t]);
    const out = cell.step(params, xs[t], state);
    if (options.checkFinite) checkStep(cell.name, t, out as unknown as Record<string, Tensor2D>);
    const m = ms?.[t];
    const next = {} as Record<string, Tensor2D>;
    for (const key of cell.stateKeys) next[key] = m ? carry(m, out[key] as Tensor2D, state[key] as Tensor2D) : (out[key] as Tensor2D);
    outputs[t] = m ? (tf.mul(m, out.h) as Tensor2D) : out.h;
    visit?.({ t, x: xs[t], prev: state, out, ...(m ? { m } : {}) });
    state = next as unknown as S;
  }
  return { outputs: tf.stack(outputs, 1) as Tensor3D, state, sizes: { B, T, I, H } };
}

/** Checks x, the initial state and the mask against the cell's sizes; returns B, T, I, H. */
export function checkUnrollInputs<P extends object, S extends HiddenState, O extends S>(
  cell: Cell<P, S, O>,
  params: P,
  x: Tensor3D,
  options: UnrollOptions<S>,
): { B: number; T: number; I: number; H: number } {
  const where = `unroll(${cell.name})`;
  const { I, H } = cell.sizes(params);
  checkRank(where, "x", x.shape, ["B", "T", "I"]);
  const [B, T] = x.shape;
  checkShape(where, "x", x.shape, [
    ["B", B],
    ["T", T],
    ["I", I],
  ]);
  if (T < 1) throw new Error(`${where}: x must have at least one timestep, got shape [${x.shape.join(", ")}]`);
  const given = (options.initialState ?? {}) as Partial<Record<string, Tensor2D>>;
  for (const key of Object.keys(given)) {
    if (!cell.stateKeys.includes(key as keyof S & string)) {
      throw new Error(`${where}: initialState has no "${key}"; the ${cell.name} state is {${cell.stateKeys.join(", ")}}`);
    }
  }
  for (const key of cell.stateKeys) {
    const s0 = given[key];
    if (s0)
      checkShape(where, `${key}0`, s0.shape, [
        ["B", B],
        ["H", H],
      ]);
  }
  if (options.mask)
    checkShape(where, "mask", options.mask.shape, [
      ["B", B],
      ["T", T],
    ]);
  return { B, T, I, H };
}

/** m ⊙ new + (1 − m) ⊙ old: the state moves on at real steps and is carried at padding. */
function carry(m: Tensor2D, next: Tensor2D, old: Tensor2D): Tensor2D {
  return tf.add(tf.mul(m, next), tf.mul(tf.sub(1, m), old)) as Tensor2D;
}

function checkStep(name: string, t: number, out: Record<string, Tensor2D>): void {
  for (const [key, value] of Object.entries(out)) assertFinite(name, "forward", t, key, value);
}
