// AssemblyScript: the lecture's GRU over a whole sequence (src/cells/gru/gru.ts), forward and BPTT:
//
//   r = σ(U_r x + W_r h(t−1) + b_r),  z = σ(U_z x + W_z h(t−1) + b_z)
//   n = tanh(U_n x + W_n (r ⊙ h(t−1)) + b_n)       reset before the matmul
//   h(t) = (1 − z) ⊙ h(t−1) + z ⊙ n
//
// Gates stacked r, z, n (G = 3·Hp). Layout: see layout.ts.

import { gemmPanels } from "./gemm";
import { forwardSteps, backwardSteps, carry, pgemmTN } from "./parallel";
import { sigmoidArray, tanhArray } from "./activations";
import { at, rowBT, timeOf, maskAt, inputProjection, inputGradients, scatterState, nextStateRow, flush } from "./layout";

/** The arguments of the running GRU kernel, for its step rows on either thread (see lstm.ts). */
@unmanaged class Args {
  T: i32; Hp: i32; reverse: i32;
  WT: usize; Wp: usize; mask: usize; act: usize; HP: usize; RH: usize; out: usize; hT: usize;
  dOut: usize; dRH: usize;
}
const A = changetype<Args>(memory.data(offsetof<Args>(), 16));

/**
 * Forward. Inputs: x [B, T, I], UT [I, 3Hp], WT [Hp, 3Hp], bias [3Hp], h0 [B, Hp], mask or 0.
 * Writes: act [B, T, 3Hp] = r, z, n; HP [B, T, Hp] = h before each step; RH [B, T, Hp] =
 * r ⊙ h(t−1); out [B, T, Hp] = m ⊙ h(t); hT [B, Hp].
 */
export function gruForward(
  B: i32, T: i32, I: i32, Hp: i32, reverse: i32,
  x: usize, UT: usize, WT: usize, bias: usize, h0: usize, mask: usize,
  act: usize, HP: usize, RH: usize, out: usize, hT: usize,
): void {
  const G = 3 * Hp;
  A.T = T; A.Hp = Hp; A.reverse = reverse;
  A.WT = WT; A.mask = mask; A.act = act; A.HP = HP; A.RH = RH; A.out = out; A.hT = hT;
  inputProjection(B * T, I, G, x, UT, bias, act);
  scatterState(h0, B, T, Hp, timeOf(0, T, reverse), HP);
  forwardSteps(forwardRows, T, B, <i64>B * G * Hp);
}

/** Step k of the forward, rows r0 … r1−1: r, z; then n from r ⊙ h(t−1); then h(t). */
function forwardRows(k: i32, r0: i32, r1: i32): void {
  const T = A.T, Hp = A.Hp, G = 3 * Hp, reverse = A.reverse;
  const act = A.act, HP = A.HP, RH = A.RH, out = A.out, hT = A.hT, WT = A.WT, mask = A.mask;
  const t = timeOf(k, T, reverse);
  const a0 = rowBT(act, r0, t, T, G);
  gemmPanels(r1 - r0, 2 * Hp, Hp, rowBT(HP, r0, t, T, Hp), T * Hp, WT, Hp * 8, a0, T * G, 1); // a_r, a_z += h(t−1) [W_r; W_z]ᵀ
  for (let b = r0; b < r1; b++) {
    const a = rowBT(act, b, t, T, G);
    sigmoidArray(a, 2 * Hp); // r, z
    const hp = rowBT(HP, b, t, T, Hp);
    const rh = rowBT(RH, b, t, T, Hp);
    for (let j = 0; j < Hp; j++) store<f32>(at(rh, j), load<f32>(at(a, j)) * load<f32>(at(hp, j)));
  }
  gemmPanels(r1 - r0, Hp, Hp, rowBT(RH, r0, t, T, Hp), T * Hp, at(WT, 2 * Hp * Hp), Hp * 8, at(a0, 2 * Hp), T * G, 1); // a_n += (r ⊙ h) W_nᵀ
  for (let b = r0; b < r1; b++) {
    const a = rowBT(act, b, t, T, G);
    tanhArray(at(a, 2 * Hp), Hp); // n
    const hp = rowBT(HP, b, t, T, Hp);
    const o = rowBT(out, b, t, T, Hp);
    const nx = nextStateRow(HP, hT, b, k, T, Hp, reverse);
    const m = maskAt(mask, b, t, T);
    for (let j = 0; j < Hp; j++) {
      const z = load<f32>(at(a, Hp + j));
      const hpj = load<f32>(at(hp, j));
      const h = (<f32>1.0 - z) * hpj + z * load<f32>(at(a, 2 * Hp + j));
      store<f32>(at(o, j), m * h);
      store<f32>(at(nx, j), m * h + (<f32>1.0 - m) * hpj);
    }
  }
}

/**
 * BPTT (see gruStepBackward). act is overwritten with ∇_a L = [∇_a_r; ∇_a_z; ∇_a_n].
 * Wp [3Hp, Hp], Up [3Hp, I]. Scratch: dH, dHn, dRH [B, Hp]. Writes dx (or dx = 0: none),
 * dU [3Hp, I], dW [3Hp, Hp], db [3Hp], dh0 [B, Hp].
 */
export function gruBackward(
  B: i32, T: i32, I: i32, Hp: i32, reverse: i32,
  x: usize, Wp: usize, Up: usize, mask: usize,
  act: usize, HP: usize, RH: usize, dOut: usize, dhT: usize,
  dH: usize, dHn: usize, dRH: usize,
  dx: usize, dU: usize, dW: usize, db: usize, dh0: usize,
): void {
  const G = 3 * Hp;
  A.T = T; A.Hp = Hp; A.reverse = reverse;
  A.Wp = Wp; A.mask = mask; A.act = act; A.HP = HP; A.dOut = dOut; A.dRH = dRH;
  backwardSteps(backwardRows, T, B, Hp, <i64>B * G * Hp, dhT, dH, dHn, dh0);
  pgemmTN(2 * Hp, Hp, B * T, act, G, HP, Hp, dW, Hp, 0); // ∇[W_r; W_z] = Σ ∇_a_{r,z}ᵀ h(t−1)
  pgemmTN(Hp, Hp, B * T, at(act, 2 * Hp), G, RH, Hp, at(dW, 2 * Hp * Hp), Hp, 0); // ∇W_n = Σ ∇_a_nᵀ (r ⊙ h(t−1))
  inputGradients(B * T, I, G, act, x, Up, dU, db, dx);
}

/** Step k of BPTT, rows r0 … r1−1: ∇_a_z, ∇_a_n; ∇(r ⊙ h) through W_n; ∇_a_r; then ∇_h(t−1) L. */
function backwardRows(k: i32, r0: i32, r1: i32): void {
  const T = A.T, Hp = A.Hp, G = 3 * Hp;
  const act = A.act, HP = A.HP, dOut = A.dOut, dH = carry.dH, dHn = carry.dHn, dRH = A.dRH, Wp = A.Wp, mask = A.mask;
  const t = timeOf(k, T, A.reverse);
  const a0 = rowBT(act, r0, t, T, G);
  for (let b = r0; b < r1; b++) {
    const a = rowBT(act, b, t, T, G);
    const hp = rowBT(HP, b, t, T, Hp);
    const dh = at(dH, b * Hp);
    const dn = at(dHn, b * Hp);
    const dO = dOut ? rowBT(dOut, b, t, T, Hp) : 0;
    const m = maskAt(mask, b, t, T);
    for (let j = 0; j < Hp; j++) {
      const carried = flush(load<f32>(at(dh, j)));
      const gh = m * (carried + (dOut ? load<f32>(at(dO, j)) : <f32>0)); // ∇_h(t) L
      const z = load<f32>(at(a, Hp + j));
      const n = load<f32>(at(a, 2 * Hp + j));
      const hpj = load<f32>(at(hp, j));
      const dz = gh * (n - hpj);
      store<f32>(at(a, Hp + j), flush(dz * z * (<f32>1.0 - z))); // ∇_a_z L
      store<f32>(at(a, 2 * Hp + j), flush(gh * z * (<f32>1.0 - n * n))); // ∇_a_n L
      store<f32>(at(dn, j), (<f32>1.0 - m) * carried + gh * (<f32>1.0 - z));
    }
  }
  gemmPanels(r1 - r0, Hp, Hp, at(a0, 2 * Hp), T * G, at(Wp, 2 * Hp * 8), G * 8, at(dRH, r0 * Hp), Hp, 0); // ∇_(r⊙h) L = ∇_a_n L · W_n
  for (let b = r0; b < r1; b++) {
    const a = rowBT(act, b, t, T, G);
    const hp = rowBT(HP, b, t, T, Hp);
    const drh = at(dRH, b * Hp);
    const dn = at(dHn, b * Hp);
    for (let j = 0; j < Hp; j++) {
      const r = load<f32>(at(a, j));
      const d = load<f32>(at(drh, j));
      store<f32>(at(a, j), flush(d * load<f32>(at(hp, j)) * r * (<f32>1.0 - r))); // ∇_a_r L
      store<f32>(at(dn, j), load<f32>(at(dn, j)) + d * r);
    }
  }
  gemmPanels(r1 - r0, Hp, 2 * Hp, a0, T * G, Wp, G * 8, at(dHn, r0 * Hp), Hp, 1); // += [∇_a_r, ∇_a_z] · [W_r; W_z]
}
