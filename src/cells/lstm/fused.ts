/** The peephole LSTM on the fused kernels (src/fused/assembly/lstm.ts): four gates i, f, g, o; peepholes optional. */
import type { FusedCell } from "../../fused/spec";

export const lstmFused: FusedCell = { name: "lstm", nG: 4, params: ["U", "W", "b", "wci", "wcf", "wco"], stateKeys: ["h", "s"] };
