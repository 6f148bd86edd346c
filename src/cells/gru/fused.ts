/** The lecture's GRU on the fused kernels (src/fused/assembly/gru.ts): three gates z, r, h̃. */
import type { FusedCell } from "../../fused/spec";

export const gruFused: FusedCell = { name: "gru", nG: 3, params: ["U", "W", "b"], stateKeys: ["h"] };
