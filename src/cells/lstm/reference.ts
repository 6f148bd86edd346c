/**
 * The LSTM (Graves, with optional diagonal peepholes) on the float64 reference path
 * (see src/cells/lstm/lstm.ts for the equations and the tfjs version). Gates stacked i, f, g, o.
 */
import type { RefCell } from "../../grad/f64/cell";
import { addMatTVec, addOuter, addVec, map, matVec, sigmoid } from "../../grad/f64/linalg";

export const lstmRef: RefCell = {
  name: "lstm",
  stateKeys: ["h", "s"],
  step(p, x, prev) {
    const H = p.W.shape[1];
    const pre = (k: number) => {
      const Ux = matVec(p.U, x, k * H, H);
      const Wh = matVec(p.W, prev.h, k * H, H);
      return map(H, (j) => Ux[j] + Wh[j] + p.b.data[k * H + j]);
    };
    const peep = (w: string, s: Float64Array, j: number) => (p[w] ? p[w].data[j] * s[j] : 0);
    const [ai, af, ag, ao] = [pre(0), pre(1), pre(2), pre(3)];
    const i = map(H, (j) => sigmoid(ai[j] + peep("wci", prev.s, j)));
    const f = map(H, (j) => sigmoid(af[j] + peep("wcf", prev.s, j)));
    const g = ag.map(Math.tanh);
    const s = map(H, (j) => f[j] * prev.s[j] + i[j] * g[j]);
    const o = map(H, (j) => sigmoid(ao[j] + peep("wco", s, j)));
    const h = map(H, (j) => o[j] * Math.tanh(s[j]));
    return { h, s, i, f, g, o };
  },
  backward(p, x, prev, out, d, grad, dx) {
    const H = p.W.shape[1];
    const { i, f, g, o, s } = out;
    const w = (name: string, j: number) => (p[name] ? p[name].data[j] : 0);
    const tanhS = s.map(Math.tanh);
    const dao = map(H, (j) => d.h[j] * tanhS[j] * o[j] * (1 - o[j]));
    const es = map(H, (j) => d.s[j] + d.h[j] * o[j] * (1 - tanhS[j] * tanhS[j]) + w("wco", j) * dao[j]);
    const dai = map(H, (j) => es[j] * g[j] * i[j] * (1 - i[j]));
    const daf = map(H, (j) => es[j] * prev.s[j] * f[j] * (1 - f[j]));
    const dag = map(H, (j) => es[j] * i[j] * (1 - g[j] * g[j]));
    const ds = map(H, (j) => es[j] * f[j] + w("wci", j) * dai[j] + w("wcf", j) * daf[j]);
    const dh = new Float64Array(H);
    [dai, daf, dag, dao].forEach((da, k) => {
      addOuter(grad.U, da, x, k * H);
      addOuter(grad.W, da, prev.h, k * H);
      addVec(grad.b.data, da, k * H);
      addMatTVec(dx, p.U, da, k * H);
      addMatTVec(dh, p.W, da, k * H);
    });
    if (p.wci)
      addVec(
        grad.wci.data,
        map(H, (j) => dai[j] * prev.s[j]),
      );
    if (p.wcf)
      addVec(
        grad.wcf.data,
        map(H, (j) => daf[j] * prev.s[j]),
      );
    if (p.wco)
      addVec(
        grad.wco.data,
        map(H, (j) => dao[j] * s[j]),
      );
    return { h: dh, s: ds };
  },
};
