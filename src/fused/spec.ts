/**
 * What a cell declares to run on the fused WebAssembly kernels (src/fused/fused.ts):
 * which kernel family computes it and how its parameters are laid out. A cell carries
 * its description as `cell.fused` (src/cells/<name>/fused.ts); a cell without one runs
 * `unroll`'s tfjs-op reference path.
 */
import type { CellName } from "../cells/cell";

/** A cell's fused kernel description. */
export interface FusedCell {
  /** The kernel family in src/fused/assembly that computes this cell. */
  name: CellName;
  /** Gates stacked in U, W, b: RNN 1, GRU 3, LSTM 4. */
  nG: number;
  /** Parameter names in the order the kernel takes them (optional ones may be absent). */
  params: readonly string[];
  /** The state's tensors, in the order the kernel writes them. */
  stateKeys: readonly string[];
}
