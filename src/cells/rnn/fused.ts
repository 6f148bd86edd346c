/** The vanilla RNN on the fused kernels (src/fused/assembly/rnn.ts): one gate, U, W, b. */
import type { FusedCell } from "../../fused/spec";

export const rnnFused: FusedCell = { name: "rnn", nG: 1, params: ["U", "W", "b"], stateKeys: ["h"] };
