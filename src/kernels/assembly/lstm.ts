// AssemblyScript: the LSTM over a whole sequence (src/cells/lstm.ts, peepholes optional),
// forward and BPTT:
//
//   i = σ(a_i + w_cι ⊙ s(t−1)),  f = σ(a_f + w_cφ ⊙ s(t−1)),  g = tanh(a_g)
//   s(t) = f ⊙ s(t−1) + i ⊙ g,   o = σ(a_o + w_cω ⊙ s(t)),    h(t) = o ⊙ tanh(s(t))
//
// with a = U x(t) + W h(t−1) + b stacked i, f, g, o (G = 4·Hp). Layout: see layout.ts.

import { gemm, gemmTN } from "./gemm";
import { sigmoidArray, tanhArray } from "./activations";
import { at, rowBT, timeOf, maskAt, inputProjection, inputGradients, scatterState, nextStateRow, flush } from "./layout";

/**
 * Forward. Inputs: x [B, T, I], UT [I, 4Hp], WT [Hp, 4Hp], bias [4Hp], peepholes wci, wcf,
 * wco [Hp] (peep = 0: none), h0, s0 [B, Hp], mask [B, T] or 0. Writes: act [B, T, 4Hp] =
 * i, f, g, o; HP, SP [B, T, Hp] = h, s before each step; SN = s(t), TS = tanh(s(t));
 * out [B, T, Hp] = m ⊙ h(t); hT, sT [B, Hp] the final state.
 */
export function lstmForward(
  B: i32, T: i32, I: i32, Hp: i32, reverse: i32, peep: i32,
  x: usize, UT: usize, WT: usize, bias: usize, wci: usize, wcf: usize, wco: usize,
  h0: usize, s0: usize, mask: usize,
  act: usize, HP: usize, SP: usize, SN: usize, TS: usize, out: usize, hT: usize, sT: usize,
): void {
  const G = 4 * Hp;
  inputProjection(B * T, I, G, x, UT, bias, act);
  const t0 = timeOf(0, T, reverse);
  scatterState(h0, B, T, Hp, t0, HP);
  scatterState(s0, B, T, Hp, t0, SP);
  for (let k = 0; k < T; k++) {
    const t = timeOf(k, T, reverse);
    gemm(B, G, Hp, rowBT(HP, 0, t, T, Hp), T * Hp, WT, G, rowBT(act, 0, t, T, G), T * G, 1); // a += h(t−1) Wᵀ
    for (let b = 0; b < B; b++) {
      const a = rowBT(act, b, t, T, G);
      const sp = rowBT(SP, b, t, T, Hp);
      const hp = rowBT(HP, b, t, T, Hp);
      if (peep) {
        for (let j = 0; j < Hp; j++) {
          const s = load<f32>(at(sp, j));
          store<f32>(at(a, j), load<f32>(at(a, j)) + load<f32>(at(wci, j)) * s);
          store<f32>(at(a, Hp + j), load<f32>(at(a, Hp + j)) + load<f32>(at(wcf, j)) * s);
        }
      }
      sigmoidArray(a, 2 * Hp); // i, f
      tanhArray(at(a, 2 * Hp), Hp); // g
      const sn = rowBT(SN, b, t, T, Hp);
      for (let j = 0; j < Hp; j++) {
        const s = load<f32>(at(a, Hp + j)) * load<f32>(at(sp, j)) + load<f32>(at(a, j)) * load<f32>(at(a, 2 * Hp + j));
        store<f32>(at(sn, j), s); // s(t) = f ⊙ s(t−1) + i ⊙ g
        if (peep) store<f32>(at(a, 3 * Hp + j), load<f32>(at(a, 3 * Hp + j)) + load<f32>(at(wco, j)) * s);
      }
      sigmoidArray(at(a, 3 * Hp), Hp); // o
      const ts = rowBT(TS, b, t, T, Hp);
      memory.copy(ts, sn, <usize>Hp << 2);
      tanhArray(ts, Hp); // tanh(s(t))
      const o = rowBT(out, b, t, T, Hp);
      const nh = nextStateRow(HP, hT, b, k, T, Hp, reverse);
      const ns = nextStateRow(SP, sT, b, k, T, Hp, reverse);
      const m = maskAt(mask, b, t, T);
      for (let j = 0; j < Hp; j++) {
        const h = load<f32>(at(a, 3 * Hp + j)) * load<f32>(at(ts, j)); // h(t) = o ⊙ tanh(s(t))
        store<f32>(at(o, j), m * h);
        store<f32>(at(nh, j), m * h + (<f32>1.0 - m) * load<f32>(at(hp, j)));
        store<f32>(at(ns, j), m * load<f32>(at(sn, j)) + (<f32>1.0 - m) * load<f32>(at(sp, j)));
      }
    }
  }
}

/**
 * BPTT (Graves' ε_s form, see lstmStepBackward). act is overwritten with ∇_a L. dOut
 * [B, T, Hp] or 0, dhT, dsT [B, Hp] or 0. Scratch: dH, dHn, dS [B, Hp]. Writes dx, dU
 * [4Hp, I], dW [4Hp, Hp], db [4Hp], dwci, dwcf, dwco [Hp] (with peep), dh0, ds0 [B, Hp].
 */
export function lstmBackward(
  B: i32, T: i32, I: i32, Hp: i32, reverse: i32, peep: i32,
  x: usize, Wp: usize, Up: usize, wci: usize, wcf: usize, wco: usize, mask: usize,
  act: usize, HP: usize, SP: usize, SN: usize, TS: usize,
  dOut: usize, dhT: usize, dsT: usize,
  dH: usize, dHn: usize, dS: usize,
  dx: usize, dU: usize, dW: usize, db: usize, dwci: usize, dwcf: usize, dwco: usize, dh0: usize, ds0: usize,
): void {
  const G = 4 * Hp;
  const bytes = <usize>(B * Hp) << 2;
  if (dhT) memory.copy(dH, dhT, bytes); else memory.fill(dH, 0, bytes);
  if (dsT) memory.copy(dS, dsT, bytes); else memory.fill(dS, 0, bytes);
  if (peep) {
    memory.fill(dwci, 0, <usize>Hp << 2);
    memory.fill(dwcf, 0, <usize>Hp << 2);
    memory.fill(dwco, 0, <usize>Hp << 2);
  }
  for (let k = T - 1; k >= 0; k--) {
    const t = timeOf(k, T, reverse);
    for (let b = 0; b < B; b++) {
      const a = rowBT(act, b, t, T, G);
      const sp = rowBT(SP, b, t, T, Hp);
      const sn = rowBT(SN, b, t, T, Hp);
      const ts = rowBT(TS, b, t, T, Hp);
      const dh = at(dH, b * Hp);
      const dn = at(dHn, b * Hp);
      const ds = at(dS, b * Hp);
      const dO = dOut ? rowBT(dOut, b, t, T, Hp) : 0;
      const m = maskAt(mask, b, t, T);
      for (let j = 0; j < Hp; j++) {
        const carriedH = flush(load<f32>(at(dh, j)));
        const carriedS = flush(load<f32>(at(ds, j)));
        const gh = m * (carriedH + (dOut ? load<f32>(at(dO, j)) : <f32>0)); // ∇_h(t) L
        const gs = m * carriedS; // ∇_s(t) L from t+1
        const i = load<f32>(at(a, j));
        const f = load<f32>(at(a, Hp + j));
        const g = load<f32>(at(a, 2 * Hp + j));
        const o = load<f32>(at(a, 3 * Hp + j));
        const tsj = load<f32>(at(ts, j));
        const spj = load<f32>(at(sp, j));
        const dao = gh * tsj * o * (<f32>1.0 - o);
        let es = gs + gh * o * (<f32>1.0 - tsj * tsj);
        if (peep) es += load<f32>(at(wco, j)) * dao;
        const dai = es * g * i * (<f32>1.0 - i);
        const daf = es * spj * f * (<f32>1.0 - f);
        const dag = es * i * (<f32>1.0 - g * g);
        let dsp = es * f;
        if (peep) {
          dsp += load<f32>(at(wci, j)) * dai + load<f32>(at(wcf, j)) * daf;
          store<f32>(at(dwci, j), load<f32>(at(dwci, j)) + dai * spj);
          store<f32>(at(dwcf, j), load<f32>(at(dwcf, j)) + daf * spj);
          store<f32>(at(dwco, j), load<f32>(at(dwco, j)) + dao * load<f32>(at(sn, j)));
        }
        store<f32>(at(a, j), flush(dai));
        store<f32>(at(a, Hp + j), flush(daf));
        store<f32>(at(a, 2 * Hp + j), flush(dag));
        store<f32>(at(a, 3 * Hp + j), flush(dao));
        store<f32>(at(dn, j), (<f32>1.0 - m) * carriedH);
        store<f32>(at(ds, j), (<f32>1.0 - m) * carriedS + dsp); // ∇_s(t−1) L
      }
    }
    gemm(B, Hp, G, rowBT(act, 0, t, T, G), T * G, Wp, Hp, dHn, Hp, 1); // ∇_h(t−1) L += ∇_a L · W
    const swap = dH; dH = dHn; dHn = swap;
  }
  memory.copy(dh0, dH, bytes);
  memory.copy(ds0, dS, bytes);
  gemmTN(G, Hp, B * T, act, G, HP, Hp, dW, Hp, 0);
  inputGradients(B * T, I, G, act, x, Up, dU, db, dx);
}
