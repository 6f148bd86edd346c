/**
 * The PyTorch-convention GRU on the float64 reference path (see src/cells/gru-pytorch/gru-pytorch.ts):
 * reset after the matmul with recurrent bias bh; h = (1 − z) ⊙ n + z ⊙ h(t−1).
 */
import type { RefCell } from "../../grad/f64/cell";
import { addMatTVec, addOuter, addVec, map, matVec, sigmoid } from "../../grad/f64/linalg";

export const gruPytorchRef: RefCell = {
  name: "gru-pytorch",
  stateKeys: ["h"],
  step(p, x, prev) {
    const H = p.W.shape[1];
    const hPrev = prev.h;
    const Ux = matVec(p.U, x);
    const Wh = matVec(p.W, hPrev);
    const gi = map(3 * H, (k) => Ux[k] + p.b.data[k]); // U x + b
    const gh = map(3 * H, (k) => Wh[k] + p.bh.data[k]); // W h + bh
    const r = map(H, (j) => sigmoid(gi[j] + gh[j]));
    const z = map(H, (j) => sigmoid(gi[H + j] + gh[H + j]));
    const hn = gh.slice(2 * H);
    const n = map(H, (j) => Math.tanh(gi[2 * H + j] + r[j] * hn[j]));
    const h = map(H, (j) => (1 - z[j]) * n[j] + z[j] * hPrev[j]);
    return { h, r, z, n, hn };
  },
  backward(p, x, prev, out, d, grad, dx) {
    const H = p.W.shape[1];
    const hPrev = prev.h;
    const { r, z, n, hn } = out;
    const dan = map(H, (j) => d.h[j] * (1 - z[j]) * (1 - n[j] * n[j]));
    const daz = map(H, (j) => d.h[j] * (hPrev[j] - n[j]) * z[j] * (1 - z[j]));
    const dar = map(H, (j) => dan[j] * hn[j] * r[j] * (1 - r[j]));
    const dgi = map(3 * H, (k) => (k < H ? dar[k] : k < 2 * H ? daz[k - H] : dan[k - 2 * H]));
    const dgh = map(3 * H, (k) => (k < 2 * H ? dgi[k] : dan[k - 2 * H] * r[k - 2 * H]));
    addOuter(grad.U, dgi, x);
    addVec(grad.b.data, dgi);
    addOuter(grad.W, dgh, hPrev);
    addVec(grad.bh.data, dgh);
    addMatTVec(dx, p.U, dgi);
    const dh = map(H, (j) => d.h[j] * z[j]);
    addMatTVec(dh, p.W, dgh);
    return { h: dh };
  },
};
