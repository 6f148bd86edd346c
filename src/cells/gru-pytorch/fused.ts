/**
 * The PyTorch-convention GRU on the fused kernels (src/fused/assembly/gru-pytorch.ts):
 * three gates r, z, n and the recurrent bias bh (a vector of three gates). The forward
 * keeps W_n h(t−1) + bh_n (HN) and uses GH [B, 3Hp] for h(t−1)·Wᵀ + bh; the backward writes
 * ∇ of the recurrent pre-activations (DGH) for ∇W and ∇bh.
 */
import { fusedCell } from "../../fused/spec";

/** The PyTorch GRU's fused description: gruPytorchForward / gruPytorchBackward. */
export const gruPytorchFused = fusedCell({
  name: "gru-pytorch",
  nG: 3,
  params: ["U", "W", "b", "bh"],
  stateKeys: ["h"],
  vectors: { bh: { params: ["bh"], gates: 3 } },
  saved: ({ B, T, Hp, G }) => ({ HN: B * T * Hp, GH: B * G }),
  scratch: ({ B, T, G }) => ({ DGH: B * T * G }),
  forward(k, a) {
    k.gruPytorchForward(a.B, a.T, a.I, a.Hp, a.reverse, a.x, a.UT, a.WT, a.bias, a.bh, a.h0, a.mask, a.act, a.HP, a.HN, a.GH, a.out, a.hT);
  },
  backward(k, a) {
    k.gruPytorchBackward(
      a.B,
      a.T,
      a.I,
      a.Hp,
      a.reverse,
      a.x,
      a.Wp,
      a.Up,
      a.mask,
      a.act,
      a.HP,
      a.HN,
      a.DGH,
      a.dOut,
      a.dhT,
      a.dH,
      a.dHn,
      a.dx,
      a.dU,
      a.dW,
      a.db,
      a.dbh,
      a.dh0,
    );
  },
});
