/**
 * What a recurrent cell is to the rest of seqlab: one step forward, one step backward.
 *
 * A cell does one step; {@link unroll} (src/sequence/unroll.ts) owns time (initial state,
 * direction, masks, collecting outputs) and {@link backwardThroughTime} (src/grad/bptt.ts)
 * runs the cells' backward steps in reverse order. This is the split of tfjs-layers'
 * `rnn(stepFunction, …)` and of PyTorch's `RNNCell` vs `RNN`.
 *
 * Symbols used throughout: T time, B batch, I input size, H hidden size, K classes.
 */
import type { Tensor, Tensor2D } from "@tensorflow/tfjs";

/** The cells seqlab has; the name also selects the float64 reference (src/grad/f64). */
export type CellName = "rnn" | "lstm" | "gru" | "gru-pytorch";

/** A recurrent state: named [B, H] tensors. `h` is the output every cell has. */
export interface HiddenState {
  /** h(t): [B, H]. */
  h: Tensor2D;
}

/** Parameters seen generically: named tensors (optional ones, e.g. peepholes, may be absent). */
export type Params = { readonly [name: string]: Tensor | undefined };

/**
 * One cell. (Members are function-typed properties, not methods, so that TypeScript
 * checks parameters strictly: a cell cannot be given another cell's parameters.)
 *
 * @typeParam P its parameters
 * @typeParam S its state (what flows from t−1 to t)
 * @typeParam O what one step returns: the new state plus the intermediate values the
 *   backward step needs (gate activations), which notebooks can also plot
 */
export interface Cell<P extends object, S extends HiddenState, O extends S = S> {
  readonly name: CellName;
  /** The names of the state's tensors, e.g. ["h"] or ["h", "s"]. */
  readonly stateKeys: readonly (keyof S & string)[];
  /** Checks every parameter's shape; returns I and H. Throws a ShapeError naming the parameter. */
  sizes: (p: P) => { I: number; H: number };
  /** One step: x(t) [B, I] and the state at t−1 → the state at t (plus intermediates). */
  step: (p: P, x: Tensor2D, prev: S) => O;
  /**
   * The hand-derived backward of {@link step}: given ∂L/∂(state at t), returns ∂L/∂(state
   * at t−1), ∂L/∂x(t) and this step's contribution to ∂L/∂(each parameter).
   */
  backward: (p: P, x: Tensor2D, prev: S, out: O, dState: S) => StepGradients<P, S>;
}

/** What a cell's backward step returns. */
export interface StepGradients<P, S> {
  /** ∂L/∂(state at t−1) through this step: [B, H] each. */
  dPrev: S;
  /** ∂L/∂x(t): [B, I]. */
  dx: Tensor2D;
  /** This step's contribution to ∂L/∂(each parameter), same shapes and keys as P. */
  dParams: P;
}

/** Any cell (for lists of layers with different cells). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCell = Cell<any, any, any>;
