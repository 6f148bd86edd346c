/**
 * The lecture's GRU on the float64 reference path (see src/cells/gru/gru.ts): gates stacked
 * r, z, n; reset before the matmul; h = (1 − z) ⊙ h(t−1) + z ⊙ h̃.
 */
import type { RefCell } from "../../grad/f64/cell";
import { addMatTVec, addOuter, addVec, map, matVec, sigmoid } from "../../grad/f64/linalg";

export const gruRef: RefCell = {
  name: "gru",
  stateKeys: ["h"],
  step(p, x, prev) {
    const H = p.W.shape[1];
    const hPrev = prev.h;
    const xa = (k: number) => {
      const Ux = matVec(p.U, x, k * H, H);
      return map(H, (j) => Ux[j] + p.b.data[k * H + j]);
    };
    const [xr, xz, xn] = [xa(0), xa(1), xa(2)];
    const Wrh = matVec(p.W, hPrev, 0, H);
    const Wzh = matVec(p.W, hPrev, H, H);
    const r = map(H, (j) => sigmoid(xr[j] + Wrh[j]));
    const z = map(H, (j) => sigmoid(xz[j] + Wzh[j]));
    const rh = map(H, (j) => r[j] * hPrev[j]);
    const Wnrh = matVec(p.W, rh, 2 * H, H);
    const n = map(H, (j) => Math.tanh(xn[j] + Wnrh[j]));
    const h = map(H, (j) => (1 - z[j]) * hPrev[j] + z[j] * n[j]);
    return { h, r, z, n };
  },
  backward(p, x, prev, out, d, grad, dx) {
    const H = p.W.shape[1];
    const hPrev = prev.h;
    const { r, z, n } = out;
    const dz = map(H, (j) => d.h[j] * (n[j] - hPrev[j]));
    const dan = map(H, (j) => d.h[j] * z[j] * (1 - n[j] * n[j]));
    const drh = new Float64Array(H);
    addMatTVec(drh, p.W, dan, 2 * H); // W_nᵀ ∇_a_n L
    const dar = map(H, (j) => drh[j] * hPrev[j] * r[j] * (1 - r[j]));
    const daz = map(H, (j) => dz[j] * z[j] * (1 - z[j]));
    const dh = map(H, (j) => d.h[j] * (1 - z[j]) + drh[j] * r[j]);
    addMatTVec(dh, p.W, dar, 0);
    addMatTVec(dh, p.W, daz, H);
    const rh = map(H, (j) => r[j] * hPrev[j]);
    addOuter(grad.W, dar, hPrev, 0);
    addOuter(grad.W, daz, hPrev, H);
    addOuter(grad.W, dan, rh, 2 * H);
    [dar, daz, dan].forEach((da, k) => {
      addOuter(grad.U, da, x, k * H);
      addVec(grad.b.data, da, k * H);
      addMatTVec(dx, p.U, da, k * H);
    });
    return { h: dh };
  },
};
