/**
 * seqlab's cells by name: what `cell: "lstm"` in a layer or model config means. Each
 * entry is a {@link Cell} that carries its own initialiser, float64 reference and fused
 * kernel description (src/cells/<name>/). To add a cell to seqlab, add its folder and one
 * line here; to use a cell of your own, pass the object itself (`cell: myCell`).
 */
import type { AnyCell, CellName } from "./cell";
import { rnnCell } from "./rnn/rnn";
import { lstmCell } from "./lstm/lstm";
import { gruCell } from "./gru/gru";
import { gruPytorchCell } from "./gru-pytorch/gru-pytorch";

/** The cells, by name: "rnn" (Elman), "lstm" (Graves, peepholes), "gru" (lecture), "gru-pytorch". */
export const CELLS: { readonly [N in CellName]: AnyCell } = {
  rnn: rnnCell,
  lstm: lstmCell,
  gru: gruCell,
  "gru-pytorch": gruPytorchCell,
};

/** The names of seqlab's cells. */
export const CELL_NAMES = Object.keys(CELLS) as readonly CellName[];

/**
 * The cell a config names: one of {@link CELL_NAMES}, or a {@link Cell} object (returned
 * as it is, after checking it has what a cell needs). `where` starts the error message.
 */
export function resolveCell(where: string, cell: CellName | AnyCell): AnyCell {
  if (typeof cell === "string" && Object.prototype.hasOwnProperty.call(CELLS, cell)) return CELLS[cell];
  if (typeof cell === "object" && cell !== null) {
    const missing = (["name", "stateKeys", "sizes", "step", "backward"] as const).filter((k) => !(k in cell));
    if (missing.length) throw new Error(`${where}: cell object lacks ${missing.join(", ")} (see the Cell interface)`);
    if (!Array.isArray(cell.stateKeys) || !cell.stateKeys.includes("h")) {
      throw new Error(`${where}: cell.stateKeys must include "h", got ${JSON.stringify(cell.stateKeys)}`);
    }
    return cell;
  }
  throw new Error(
    `${where}: cell must be one of ${CELL_NAMES.map((n) => `"${n}"`).join(", ")} or a Cell object, got ${JSON.stringify(cell)}`,
  );
}
