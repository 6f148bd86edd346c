/**
 * The vanilla RNN on the fused kernels (src/fused/assembly/rnn.ts): one gate, U, W, b; the
 * forward keeps only the pre-activations act and h before each step HP (spec.ts lists the
 * arrays every cell gets).
 */
import { fusedCell } from "../../fused/spec";

/** The RNN's fused description: rnnForward / rnnBackward with the common arrays. */
export const rnnFused = fusedCell({
  name: "rnn",
  nG: 1,
  params: ["U", "W", "b"],
  stateKeys: ["h"],
  forward(k, a) {
    k.rnnForward(a.B, a.T, a.I, a.Hp, a.reverse, a.x, a.UT, a.WT, a.bias, a.h0, a.mask, a.act, a.HP, a.out, a.hT);
  },
  backward(k, a) {
    k.rnnBackward(
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
      a.dOut,
      a.dhT,
      a.dH,
      a.dHn,
      a.dx,
      a.dU,
      a.dW,
      a.db,
      a.dh0,
    );
  },
});
