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
import type { CellConfig } from "../init";
import type { RefCell } from "../grad/f64/cell";
import type { FusedCell } from "../fused/spec";

/** The cells seqlab has (src/cells/<name>/), by the names configs use (`cell: "lstm"`). */
export type CellName = "rnn" | "lstm" | "gru" | "gru-pytorch";

/** A recurrent state: named [B, H] tensors. `h` is the output every cell has. */
export interface HiddenState {
  /** h(t): [B, H]. */
  h: Tensor2D;
}

/** Parameters seen generically: named tensors (optional ones, e.g. peepholes, may be absent). */
export type Params = { readonly [name: string]: Tensor | undefined };

/**
 * One cell, and everything seqlab knows about it: its step and hand-derived backward (what
 * `unroll` and the hand BPTT run), its initialiser (what layers and models call), and,
 * optionally, its float64 reference (gradient checks) and its fused-kernel description
 * (speed). seqlab's own cells live one per folder in src/cells/<name>/ — the equations in
 * `<name>.ts`, the float64 reference in `reference.ts`, the kernel description in `fused.ts`
 * — and are listed in src/cells/registry.ts. A cell of your own is one object of this
 * type: `unroll`, `RecurrentLayer` (and every model, via `cell: myCell`), `fit` and
 * `gradientReport` take it as they take seqlab's.
 *
 * (Members are function-typed properties, not methods, so that TypeScript checks
 * parameters strictly: a cell cannot be given another cell's parameters.)
 *
 * @typeParam P its parameters
 * @typeParam S its state (what flows from t−1 to t)
 * @typeParam O what one step returns: the new state plus the intermediate values the
 *   backward step needs (gate activations), which notebooks can also plot
 */
export interface Cell<P extends object, S extends HiddenState, O extends S = S> {
  /** The cell's name, used in messages (seqlab's: a {@link CellName}). */
  readonly name: string;
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
  /**
   * Fresh parameters, seeded (same seed → same weights). Needed to build layers and models
   * from the cell (`new RecurrentLayer({cell, …})`); `unroll` does not need it.
   */
  init?: (config: CellInitConfig) => P;
  /**
   * The same cell in float64 on one example (plain loops, column vectors): gives
   * `gradientReport` its float64 and finite-difference columns. Optional.
   */
  reference?: RefCell;
  /**
   * The cell's fused WebAssembly kernel, if it has one: `unroll` then runs the whole
   * sequence in one call (src/fused). Copies of the cell keep it (`{...lstmCell}`).
   */
  fused?: FusedCell;
}

/** A cell in a layer or model config: a seqlab cell's name, or a {@link Cell} object of your own (with `init`). */
export type CellChoice = CellName | AnyCell;

/** What a cell's `init` is given: sizes and seed (plus options some cells read, e.g. `peepholes`). */
export interface CellInitConfig extends CellConfig {
  /** LSTM: peephole weights w_cι, w_cφ, w_cω (default true); ignored by other cells. */
  peepholes?: boolean;
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
