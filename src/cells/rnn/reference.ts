/**
 * The vanilla RNN on the float64 reference path (see src/cells/rnn/rnn.ts for the tfjs one):
 * a(t) = b + W h(t−1) + U x(t),  h(t) = tanh(a(t)).
 */
import type { RefCell } from "../../grad/f64/cell";
import { addMatTVec, addOuter, addVec, map, matVec } from "../../grad/f64/linalg";

export const rnnRef: RefCell = {
  name: "rnn",
  stateKeys: ["h"],
  step(p, x, prev) {
    const Wh = matVec(p.W, prev.h);
    const Ux = matVec(p.U, x);
    const a = map(Wh.length, (k) => p.b.data[k] + Wh[k] + Ux[k]); // a(t) = b + W h(t−1) + U x(t)
    return { h: a.map(Math.tanh) }; // h(t) = tanh(a(t))
  },
  backward(p, x, prev, out, d, g, dx) {
    const da = map(out.h.length, (k) => d.h[k] * (1 - out.h[k] * out.h[k])); // diag(1 − h²) ∇_h L
    addOuter(g.U, da, x);
    addOuter(g.W, da, prev.h);
    addVec(g.b.data, da);
    addMatTVec(dx, p.U, da);
    const dh = new Float64Array(prev.h.length);
    addMatTVec(dh, p.W, da); // Wᵀ ∇_a L
    return { h: dh };
  },
};
