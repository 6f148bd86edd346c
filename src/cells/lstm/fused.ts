/**
 * The peephole LSTM on the fused kernels (src/fused/assembly/lstm.ts): four gates i, f, g,
 * o and the state (h, s). The peepholes w_cι, w_cφ, w_cω are one optional vector of three
 * gates (`peep`, offsets 0 and the flag 0 without them). The forward keeps s before each
 * step (SP), s(t) (SN) and tanh(s(t)) (TS); the backward carries ∇_s in dS.
 */
import { fusedCell, gateOffsets } from "../../fused/spec";

/** The LSTM's fused description: lstmForward / lstmBackward, peepholes optional. */
export const lstmFused = fusedCell({
  name: "lstm",
  nG: 4,
  params: ["U", "W", "b", "wci", "wcf", "wco"],
  stateKeys: ["h", "s"],
  vectors: { peep: { params: ["wci", "wcf", "wco"], gates: 3, optional: true } },
  saved: ({ B, T, Hp }) => ({ SP: B * T * Hp, SN: B * T * Hp, TS: B * T * Hp }),
  scratch: ({ B, Hp }) => ({ dS: B * Hp }),
  forward(k, a) {
    const [wci, wcf, wco] = gateOffsets(a.peep, 3, a.Hp);
    k.lstmForward(
      a.B,
      a.T,
      a.I,
      a.Hp,
      a.reverse,
      a.peep ? 1 : 0,
      a.x,
      a.UT,
      a.WT,
      a.bias,
      wci,
      wcf,
      wco,
      a.h0,
      a.s0,
      a.mask,
      a.act,
      a.HP,
      a.SP,
      a.SN,
      a.TS,
      a.out,
      a.hT,
      a.sT,
    );
  },
  backward(k, a) {
    const [wci, wcf, wco] = gateOffsets(a.peep, 3, a.Hp);
    const [dwci, dwcf, dwco] = gateOffsets(a.dpeep, 3, a.Hp);
    k.lstmBackward(
      a.B,
      a.T,
      a.I,
      a.Hp,
      a.reverse,
      a.peep ? 1 : 0,
      a.x,
      a.Wp,
      a.Up,
      wci,
      wcf,
      wco,
      a.mask,
      a.act,
      a.HP,
      a.SP,
      a.SN,
      a.TS,
      a.dOut,
      a.dhT,
      a.dsT,
      a.dH,
      a.dHn,
      a.dS,
      a.dx,
      a.dU,
      a.dW,
      a.db,
      dwci,
      dwcf,
      dwco,
      a.dh0,
      a.ds0,
    );
  },
});
