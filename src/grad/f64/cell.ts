/**
 * A cell on the float64 reference path: one example (column vectors, exactly the
 * lecture's notation), one step forward and its hand-derived backward, in plain loops.
 */
import type { F64 } from "./linalg";

/** Parameters by name (U, W, b, …), float64. */
export type RefParams = Record<string, F64>;
/** One example's state or step output by name (h, s, gates), float64 vectors. */
export type RefVectors = Record<string, Float64Array>;

export interface RefCell {
  readonly name: string;
  readonly stateKeys: readonly string[];
  /** One step for one example: x(t) [I] and the state at t−1 → the state at t and gates. */
  step(p: RefParams, x: Float64Array, prev: RefVectors): RefVectors;
  /**
   * The backward step: given ∂L/∂(state at t), adds this step's parameter gradients to
   * `g` and ∂L/∂x(t) to `dx`, and returns ∂L/∂(state at t−1).
   */
  backward(p: RefParams, x: Float64Array, prev: RefVectors, out: RefVectors, d: RefVectors, g: RefParams, dx: Float64Array): RefVectors;
}
