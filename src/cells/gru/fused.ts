/**
 * The lecture's GRU on the fused kernels (src/fused/assembly/gru.ts): three gates z, r, h̃;
 * the forward keeps r ⊙ h(t−1) (RH) for ∇W_h̃, the backward needs one [B, Hp] scratch
 * for ∇(r ⊙ h(t−1)) (dRH).
 */
import { fusedCell } from "../../fused/spec";

/** The lecture GRU's fused description: gruForward / gruBackward. */
export const gruFused = fusedCell({
  name: "gru",
  nG: 3,
  params: ["U", "W", "b"],
  stateKeys: ["h"],
  saved: ({ B, T, Hp }) => ({ RH: B * T * Hp }),
  scratch: ({ B, Hp }) => ({ dRH: B * Hp }),
  forward(k, a) {
    k.gruForward(a.B, a.T, a.I, a.Hp, a.reverse, a.x, a.UT, a.WT, a.bias, a.h0, a.mask, a.act, a.HP, a.RH, a.out, a.hT);
  },
  backward(k, a) {
    k.gruBackward(
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
      a.RH,
      a.dOut,
      a.dhT,
      a.dH,
      a.dHn,
      a.dRH,
      a.dx,
      a.dU,
      a.dW,
      a.db,
      a.dh0,
    );
  },
});
