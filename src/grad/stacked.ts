/**
 * Hand-written BPTT through stacked layers (src/sequence/stacked.ts): each layer's tape
 * recorded bottom to top, then each layer's backward top to bottom, ∂L/∂(inputs of layer
 * ℓ+1) being the upstream gradient of layer ℓ's outputs.
 */
import type { Tensor3D } from "@tensorflow/tfjs";
import type { AnyLayer, AnyState, StackedOptions } from "../sequence/stacked";
import { disposeAll } from "../init";
import { unrollWithTape, type Tape } from "./tape";
import { backwardThroughTime, type BpttOptions } from "./bptt";

/** A stacked forward pass with each layer's tape; dispose it with `disposeAll(tapes)`. */
export type StackedTapes = Tape<AnyState, AnyState>[];

/** {@link unrollStacked}, keeping every layer's tape for {@link backwardStacked}. */
export function unrollStackedWithTape(layers: readonly AnyLayer[], x: Tensor3D, options: StackedOptions = {}): StackedTapes {
  if (layers.length === 0) throw new Error("unrollStacked: layers must not be empty");
  const tapes: StackedTapes = [];
  try {
    let input = x;
    layers.forEach((l, k) => {
      const { initialStates, ...rest } = options;
      const tape = unrollWithTape(l.cell, l.params, input, { ...rest, initialState: initialStates?.[k] });
      tapes.push(tape as StackedTapes[number]);
      input = tape.outputs;
    });
  } catch (e) {
    disposeAll(tapes);
    throw e;
  }
  return tapes;
}

/**
 * Hand-written BPTT through the stack, top layer first: ∂L/∂(inputs of layer ℓ+1) is the
 * upstream gradient of layer ℓ's outputs.
 *
 * @param dOutputs ∂L/∂(top outputs), [B, T, H_L]
 * @param dFinals ∂L/∂(final state of layer ℓ), optional
 * @returns each layer's parameter gradients and ∂L/∂(initial state) (bottom first),
 *   ∂L/∂x, and each layer's ‖∇_h(t) L‖ per timestep.
 */
export function backwardStacked(
  layers: readonly AnyLayer[],
  tapes: StackedTapes,
  dOutputs: Tensor3D | null,
  dFinals: (Partial<AnyState> | undefined)[] = [],
  options: BpttOptions = {},
): { grads: object[]; dx: Tensor3D; dInitial: AnyState[]; dhNorms: number[][] } {
  const grads: object[] = new Array(layers.length);
  const dInitial: AnyState[] = new Array(layers.length);
  const dhNorms: number[][] = new Array(layers.length);
  let upstream = dOutputs;
  for (let k = layers.length - 1; k >= 0; k--) {
    const back = backwardThroughTime(layers[k].cell, layers[k].params, tapes[k], upstream, dFinals[k] ?? {}, options);
    if (upstream !== dOutputs) upstream?.dispose();
    grads[k] = back.grads;
    dInitial[k] = back.dInitial;
    dhNorms[k] = back.dhNorms;
    upstream = back.dx;
  }
  return { grads, dx: upstream!, dInitial, dhNorms };
}
