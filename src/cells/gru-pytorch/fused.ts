/** The PyTorch-convention GRU on the fused kernels (src/fused/assembly/gru-pytorch.ts): three gates r, z, n and bh. */
import type { FusedCell } from "../../fused/spec";

export const gruPytorchFused: FusedCell = { name: "gru-pytorch", nG: 3, params: ["U", "W", "b", "bh"], stateKeys: ["h"] };
