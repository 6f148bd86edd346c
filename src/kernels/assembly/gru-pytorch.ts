// AssemblyScript: the GRU in PyTorch's convention over a whole sequence
// (src/cells/gru-pytorch.ts), forward and BPTT:
//
//   r = σ(gi_r + gh_r),  z = σ(gi_z + gh_z),  n = tanh(gi_n + r ⊙ gh_n),  h(t) = (1 − z) ⊙ n + z ⊙ h(t−1)
//   gi = U x(t) + b,  gh = W h(t−1) + bh
//
// Gates stacked r, z, n (G = 3·Hp). Layout: see layout.ts.

import { pgemm, pgemmTN } from "./parallel";
import { sigmoidArray, tanhArray } from "./activations";
import { at, rowBT, timeOf, maskAt, inputProjection, inputGradients, scatterState, nextStateRow, broadcastRows, columnSums, flush } from "./layout";

/**
 * Forward. Inputs: x [B, T, I], UT [I, 3Hp], WT [Hp, 3Hp], bias, bh [3Hp], h0 [B, Hp], mask
 * or 0. Scratch: GH [B, 3Hp]. Writes: act [B, T, 3Hp] = r, z, n; HP [B, T, Hp] = h before
 * each step; HN [B, T, Hp] = W_n h(t−1) + bh_n; out [B, T, Hp] = m ⊙ h(t); hT [B, Hp].
 */
export function gruPytorchForward(
  B: i32, T: i32, I: i32, Hp: i32, reverse: i32,
  x: usize, UT: usize, WT: usize, bias: usize, bh: usize, h0: usize, mask: usize,
  act: usize, HP: usize, HN: usize, GH: usize, out: usize, hT: usize,
): void {
  const G = 3 * Hp;
  inputProjection(B * T, I, G, x, UT, bias, act);
  scatterState(h0, B, T, Hp, timeOf(0, T, reverse), HP);
  for (let k = 0; k < T; k++) {
    const t = timeOf(k, T, reverse);
    broadcastRows(GH, B, G, bh);
    pgemm(B, G, Hp, rowBT(HP, 0, t, T, Hp), T * Hp, WT, G, GH, G, 1); // gh = h(t−1) Wᵀ + bh
    for (let b = 0; b < B; b++) {
      const a = rowBT(act, b, t, T, G);
      const gh = at(GH, b * G);
      for (let j = 0; j < 2 * Hp; j++) store<f32>(at(a, j), load<f32>(at(a, j)) + load<f32>(at(gh, j)));
      sigmoidArray(a, 2 * Hp); // r, z
      const hn = rowBT(HN, b, t, T, Hp);
      for (let j = 0; j < Hp; j++) {
        const g = load<f32>(at(gh, 2 * Hp + j));
        store<f32>(at(hn, j), g);
        store<f32>(at(a, 2 * Hp + j), load<f32>(at(a, 2 * Hp + j)) + load<f32>(at(a, j)) * g);
      }
      tanhArray(at(a, 2 * Hp), Hp); // n
      const hp = rowBT(HP, b, t, T, Hp);
      const o = rowBT(out, b, t, T, Hp);
      const nx = nextStateRow(HP, hT, b, k, T, Hp, reverse);
      const m = maskAt(mask, b, t, T);
      for (let j = 0; j < Hp; j++) {
        const z = load<f32>(at(a, Hp + j));
        const hpj = load<f32>(at(hp, j));
        const h = (<f32>1.0 - z) * load<f32>(at(a, 2 * Hp + j)) + z * hpj;
        store<f32>(at(o, j), m * h);
        store<f32>(at(nx, j), m * h + (<f32>1.0 - m) * hpj);
      }
    }
  }
}

/**
 * BPTT (see gruPytorchStepBackward). act is overwritten with ∇_gi L; DGH [B, T, 3Hp]
 * receives ∇_gh L. Wp [3Hp, Hp], Up [3Hp, I]. Scratch: dH, dHn [B, Hp]. Writes dx,
 * dU [3Hp, I], dW [3Hp, Hp], db, dbh [3Hp], dh0 [B, Hp].
 */
export function gruPytorchBackward(
  B: i32, T: i32, I: i32, Hp: i32, reverse: i32,
  x: usize, Wp: usize, Up: usize, mask: usize,
  act: usize, HP: usize, HN: usize, DGH: usize, dOut: usize, dhT: usize,
  dH: usize, dHn: usize,
  dx: usize, dU: usize, dW: usize, db: usize, dbh: usize, dh0: usize,
): void {
  const G = 3 * Hp;
  const bytes = <usize>(B * Hp) << 2;
  if (dhT) memory.copy(dH, dhT, bytes); else memory.fill(dH, 0, bytes);
  for (let k = T - 1; k >= 0; k--) {
    const t = timeOf(k, T, reverse);
    for (let b = 0; b < B; b++) {
      const a = rowBT(act, b, t, T, G);
      const dg = rowBT(DGH, b, t, T, G);
      const hn = rowBT(HN, b, t, T, Hp);
      const hp = rowBT(HP, b, t, T, Hp);
      const dh = at(dH, b * Hp);
      const dn = at(dHn, b * Hp);
      const dO = dOut ? rowBT(dOut, b, t, T, Hp) : 0;
      const m = maskAt(mask, b, t, T);
      for (let j = 0; j < Hp; j++) {
        const carried = flush(load<f32>(at(dh, j)));
        const gh = m * (carried + (dOut ? load<f32>(at(dO, j)) : <f32>0)); // ∇_h(t) L
        const r = load<f32>(at(a, j));
        const z = load<f32>(at(a, Hp + j));
        const n = load<f32>(at(a, 2 * Hp + j));
        const hpj = load<f32>(at(hp, j));
        const dan = flush(gh * (<f32>1.0 - z) * (<f32>1.0 - n * n));
        const daz = flush(gh * (hpj - n) * z * (<f32>1.0 - z));
        const dar = flush(dan * load<f32>(at(hn, j)) * r * (<f32>1.0 - r));
        store<f32>(at(a, j), dar);
        store<f32>(at(a, Hp + j), daz);
        store<f32>(at(a, 2 * Hp + j), dan);
        store<f32>(at(dg, j), dar);
        store<f32>(at(dg, Hp + j), daz);
        store<f32>(at(dg, 2 * Hp + j), flush(dan * r));
        store<f32>(at(dn, j), (<f32>1.0 - m) * carried + gh * z);
      }
    }
    pgemm(B, Hp, G, rowBT(DGH, 0, t, T, G), T * G, Wp, Hp, dHn, Hp, 1); // ∇_h(t−1) L += ∇_gh L · W
    const swap = dH; dH = dHn; dHn = swap;
  }
  memory.copy(dh0, dH, bytes);
  pgemmTN(G, Hp, B * T, DGH, G, HP, Hp, dW, Hp, 0); // ∇W = Σ ∇_ghᵀ h(t−1)
  columnSums(DGH, B * T, G, G, dbh);
  inputGradients(B * T, I, G, act, x, Up, dU, db, dx);
}
