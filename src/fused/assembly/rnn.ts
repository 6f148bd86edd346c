// AssemblyScript: the vanilla RNN over a whole sequence (src/cells/rnn/rnn.ts), forward and BPTT.
//
//   a(t) = b + W h(t−1) + U x(t),   h(t) = tanh(a(t))
//
// with masks (state carried at padded steps, output 0) and either direction, as
// src/sequence/unroll.ts defines them. Layout: see layout.ts (G = Hp here).

import { gemmPanels } from "./gemm";
import { forwardSteps, backwardSteps, carry, pgemmTN } from "./parallel";
import { tanhArray } from "./activations";
import { at, rowBT, timeOf, maskAt, inputProjection, inputGradients, scatterState, nextStateRow, flush, flushV } from "./layout";

/** The arguments of the running RNN kernel, for its step rows on either thread (see lstm.ts). */
@unmanaged class Args {
  T: i32; Hp: i32; reverse: i32;
  WT: usize; Wp: usize; mask: usize; act: usize; HP: usize; out: usize; hT: usize;
  dOut: usize;
}
const A = changetype<Args>(memory.data(offsetof<Args>(), 16));

/**
 * Forward. Inputs: x [B, T, I], UT [I, Hp], WT [Hp, Hp], bias [Hp], h0 [B, Hp], mask [B, T]
 * or 0. Writes: act [B, T, Hp] = h(t) (kept for the backward), HP [B, T, Hp] = the state
 * before each step, out [B, T, Hp] = m ⊙ h(t), hT [B, Hp] = the final state.
 */
export function rnnForward(
  B: i32, T: i32, I: i32, Hp: i32, reverse: i32,
  x: usize, UT: usize, WT: usize, bias: usize, h0: usize, mask: usize,
  act: usize, HP: usize, out: usize, hT: usize,
): void {
  A.T = T; A.Hp = Hp; A.reverse = reverse;
  A.WT = WT; A.mask = mask; A.act = act; A.HP = HP; A.out = out; A.hT = hT;
  inputProjection(B * T, I, Hp, x, UT, bias, act);
  scatterState(h0, B, T, Hp, timeOf(0, T, reverse), HP);
  forwardSteps(forwardRows, T, B, <i64>B * Hp * Hp);
}

/** Step k of the forward, rows r0 … r1−1: a += h(t−1) Wᵀ, h(t) = tanh(a). */
function forwardRows(k: i32, r0: i32, r1: i32): void {
  const T = A.T, Hp = A.Hp, G = Hp, reverse = A.reverse;
  const act = A.act, HP = A.HP, out = A.out, hT = A.hT, mask = A.mask;
  const t = timeOf(k, T, reverse);
  gemmPanels(r1 - r0, G, Hp, rowBT(HP, r0, t, T, Hp), T * Hp, A.WT, Hp * 8, rowBT(act, r0, t, T, G), T * G, 1); // a += h(t−1) Wᵀ
  for (let b = r0; b < r1; b++) {
    const a = rowBT(act, b, t, T, G);
    tanhArray(a, Hp); // h(t) = tanh(a(t))
    const hp = rowBT(HP, b, t, T, Hp);
    const o = rowBT(out, b, t, T, Hp);
    const nx = nextStateRow(HP, hT, b, k, T, Hp, reverse);
    const m = maskAt(mask, b, t, T);
    if (ASC_FEATURE_SIMD) {
      forwardRowV(Hp, a, hp, o, nx, m);
      continue;
    }
    for (let j = 0; j < Hp; j++) {
      const h = load<f32>(at(a, j));
      store<f32>(at(o, j), m * h);
      store<f32>(at(nx, j), m * h + (<f32>1.0 - m) * load<f32>(at(hp, j)));
    }
  }
}

/**
 * BPTT. dOut [B, T, Hp] (∂L/∂outputs) or 0, dhT [B, Hp] (∂L/∂final h) or 0; act, HP from
 * the forward (act is overwritten with ∇_a L). Wp [Hp, Hp] and Up [Hp, I] are W, U padded.
 * Scratch: dH, dHn [B, Hp]. Writes dx [B, T, I] (or dx = 0: none), dU [Hp, I], dW [Hp, Hp],
 * db [Hp], dh0 [B, Hp].
 */
export function rnnBackward(
  B: i32, T: i32, I: i32, Hp: i32, reverse: i32,
  x: usize, Wp: usize, Up: usize, mask: usize,
  act: usize, HP: usize, dOut: usize, dhT: usize,
  dH: usize, dHn: usize,
  dx: usize, dU: usize, dW: usize, db: usize, dh0: usize,
): void {
  const G = Hp;
  A.T = T; A.Hp = Hp; A.reverse = reverse;
  A.Wp = Wp; A.mask = mask; A.act = act; A.dOut = dOut;
  backwardSteps(backwardRows, T, B, Hp, <i64>B * Hp * Hp, dhT, dH, dHn, dh0);
  pgemmTN(G, Hp, B * T, act, G, HP, Hp, dW, Hp, 0); // ∇W = Σ_t ∇_a(t)ᵀ h(t−1)
  inputGradients(B * T, I, G, act, x, Up, dU, db, dx);
}

/** Step k of BPTT, rows r0 … r1−1: ∇_a L = (1 − h²) ⊙ ∇_h(t) L, then ∇_h(t−1) L += ∇_a L · W. */
function backwardRows(k: i32, r0: i32, r1: i32): void {
  const T = A.T, Hp = A.Hp, G = Hp;
  const act = A.act, dOut = A.dOut, dH = carry.dH, dHn = carry.dHn, mask = A.mask;
  const t = timeOf(k, T, A.reverse);
  for (let b = r0; b < r1; b++) {
    const a = rowBT(act, b, t, T, G);
    const dh = at(dH, b * Hp);
    const dn = at(dHn, b * Hp);
    const dO = dOut ? rowBT(dOut, b, t, T, Hp) : 0;
    const m = maskAt(mask, b, t, T);
    if (ASC_FEATURE_SIMD) {
      backwardRowV(Hp, a, dh, dn, dO, m);
      continue;
    }
    for (let j = 0; j < Hp; j++) {
      const carried = flush(load<f32>(at(dh, j)));
      const dhNew = m * (carried + (dOut ? load<f32>(at(dO, j)) : <f32>0)); // ∇_h(t) L of the cell's output
      const h = load<f32>(at(a, j));
      store<f32>(at(a, j), flush(dhNew * (<f32>1.0 - h * h))); // ∇_a(t) L = (1 − h²) ⊙ ∇_h(t) L
      store<f32>(at(dn, j), (<f32>1.0 - m) * carried); // the carried part at padded steps
    }
  }
  gemmPanels(r1 - r0, Hp, G, rowBT(act, r0, t, T, G), T * G, A.Wp, G * 8, at(dHn, r0 * Hp), Hp, 1); // ∇_h(t−1) L += ∇_a L · W
}

// One row (b, t) of the forward after tanh, 4 units per iteration: the same operations as
// the scalar loop in forwardRows, so the results are the same bit for bit.
// @ts-ignore: decorator
@inline function forwardRowV(Hp: i32, a: usize, hp: usize, o: usize, nx: usize, m: f32): void {
  const mv = f32x4.splat(m);
  const keep = f32x4.splat(<f32>1.0 - m);
  for (let j = 0; j < Hp; j += 4) {
    const jo = <usize>j << 2;
    const mh = f32x4.mul(mv, v128.load(a + jo));
    v128.store(o + jo, mh);
    v128.store(nx + jo, f32x4.add(mh, f32x4.mul(keep, v128.load(hp + jo))));
  }
}

// One row (b, t) of BPTT, 4 units per iteration: the scalar loop in backwardRows, operation
// for operation (∂L/∂output is added as 0 where there is none, as there).
// @ts-ignore: decorator
@inline function backwardRowV(Hp: i32, a: usize, dh: usize, dn: usize, dO: usize, m: f32): void {
  const mv = f32x4.splat(m);
  const keep = f32x4.splat(<f32>1.0 - m);
  const one = f32x4.splat(1.0);
  const zero = f32x4.splat(0);
  for (let j = 0; j < Hp; j += 4) {
    const jo = <usize>j << 2;
    const carried = flushV(v128.load(dh + jo));
    const dhNew = f32x4.mul(mv, f32x4.add(carried, dO ? v128.load(dO + jo) : zero)); // ∇_h(t) L of the cell's output
    const h = v128.load(a + jo);
    v128.store(a + jo, flushV(f32x4.mul(dhNew, f32x4.sub(one, f32x4.mul(h, h))))); // ∇_a(t) L = (1 − h²) ⊙ ∇_h(t) L
    v128.store(dn + jo, f32x4.mul(keep, carried)); // the carried part at padded steps
  }
}
