/**
 * Stacked (deep) recurrent layers: the outputs of layer ℓ are the inputs of layer ℓ+1.
 *
 * ```
 * h_1(t) = cell_1(h_1(t−1), x(t)),   h_ℓ(t) = cell_ℓ(h_ℓ(t−1), h_{ℓ−1}(t))   for ℓ = 2 … L
 * ```
 * Like PyTorch's `num_layers` (without inter-layer dropout) and a stack of tfjs layers
 * with `returnSequences: true`; here each layer may be a different cell.
 *
 * Explained in notebooks/09-bidirectional-and-deep-rnns.ipynb.
 */
import type { Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import type { Cell, HiddenState } from "../cells/cell";
import { unroll, type UnrollOptions } from "./unroll";
import { tidy } from "../init";
import { checkInputs, stateInputs, withCheckedInputs } from "./finite";

/** One layer of a stack: a cell and its parameters. */
export interface Layer<P extends object = object, S extends HiddenState = HiddenState, O extends S = S> {
  cell: Cell<P, S, O>;
  params: P;
}

/** Makes a {@link Layer} (keeps the cell's and the parameters' types together). */
export function layer<P extends object, S extends HiddenState, O extends S>(cell: Cell<P, S, O>, params: P): Layer<P, S, O> {
  return { cell, params };
}

/** A state of any cell: h plus, for the LSTM, s. */
export type AnyState = HiddenState & { [key: string]: Tensor2D };

/** Options of a stack: those of {@link unroll}, with one initial state per layer. */
export interface StackedOptions extends Omit<UnrollOptions<AnyState>, "initialState"> {
  /** Layer ℓ's initial state (e.g. `[{h: h0}, {h: h0, s: s0}]`); zeros where missing. */
  initialStates?: (Partial<AnyState> | undefined)[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyLayer = Layer<any, any, any>;

/**
 * Runs the stack over x [B, T, I]; returns the top layer's outputs [B, T, H_L] and every
 * layer's final state (bottom first). All layers share the mask and the direction.
 * Runs in `tf.tidy`; dispose the result with `disposeAll(result)`. NaN/±Inf in x, the
 * initial states or the mask throws a NonFiniteInputError naming it (src/sequence/finite.ts).
 */
export function unrollStacked(
  layers: readonly AnyLayer[],
  x: Tensor3D,
  options: StackedOptions = {},
): { outputs: Tensor3D; states: AnyState[] } {
  if (layers.length === 0) throw new Error("unrollStacked: layers must not be empty");
  // Layer by layer through unroll (not the tape): whatever makes unroll faster (fused
  // kernels) makes the stack faster, and no per-step tape is kept.
  checkInputs("unrollStacked", {
    x,
    mask: options.mask,
    ...Object.assign({}, ...(options.initialStates ?? []).map((s, k) => stateInputs(s, `initialStates[${k}]`))),
  });
  return tidy("unrollStacked", () =>
    withCheckedInputs(() => {
      const { initialStates, ...rest } = options;
      let outputs = x;
      const states: AnyState[] = [];
      layers.forEach((l, k) => {
        const r = unroll(l.cell, l.params, outputs, { ...rest, initialState: initialStates?.[k] });
        outputs = r.outputs; // [B, T, H_ℓ]: the next layer's input
        states.push(r.state as AnyState);
      });
      return { outputs, states };
    }),
  );
}
