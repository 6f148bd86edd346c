// AssemblyScript: the GRU in PyTorch's convention over a whole sequence
// (src/cells/gru-pytorch/gru-pytorch.ts), forward and BPTT:
//
//   r = σ(gi_r + gh_r),  z = σ(gi_z + gh_z),  n = tanh(gi_n + r ⊙ gh_n),  h(t) = (1 − z) ⊙ n + z ⊙ h(t−1)
//   gi = U x(t) + b,  gh = W h(t−1) + bh
//
// Gates stacked r, z, n (G = 3·Hp). Layout: see layout.ts.

import { gemmPanels } from "./gemm";
import { forwardSteps, backwardSteps, carry, pgemmTN } from "./parallel";
import { sigmoidArray, tanhArray, sigmoidV, tanhV } from "./activations";
import { at, rowBT, timeOf, maskAt, inputProjection, inputGradients, scatterState, nextStateRow, broadcastRows, columnSums, flush, flushV } from "./layout";

/** The arguments of the running kernel, for its step rows on either thread (see lstm.ts). */
@unmanaged class Args {
  T: i32; Hp: i32; reverse: i32;
  WT: usize; Wp: usize; bh: usize; mask: usize; act: usize; HP: usize; HN: usize; GH: usize; DGH: usize; out: usize; hT: usize;
  dOut: usize;
}
const A = changetype<Args>(memory.data(offsetof<Args>(), 16));

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
  A.T = T; A.Hp = Hp; A.reverse = reverse;
  A.WT = WT; A.bh = bh; A.mask = mask; A.act = act; A.HP = HP; A.HN = HN; A.GH = GH; A.out = out; A.hT = hT;
  inputProjection(B * T, I, G, x, UT, bias, act);
  scatterState(h0, B, T, Hp, timeOf(0, T, reverse), HP);
  forwardSteps(forwardRows, T, B, <i64>B * G * Hp);
}

/** Step k of the forward, rows r0 … r1−1: gh = h(t−1) Wᵀ + bh, then r, z, n, h(t). */
function forwardRows(k: i32, r0: i32, r1: i32): void {
  const T = A.T, Hp = A.Hp, G = 3 * Hp, reverse = A.reverse;
  const act = A.act, HP = A.HP, HN = A.HN, GH = A.GH, out = A.out, hT = A.hT, mask = A.mask;
  const t = timeOf(k, T, reverse);
  broadcastRows(at(GH, r0 * G), r1 - r0, G, A.bh);
  gemmPanels(r1 - r0, G, Hp, rowBT(HP, r0, t, T, Hp), T * Hp, A.WT, Hp * 8, at(GH, r0 * G), G, 1); // gh = h(t−1) Wᵀ + bh
  for (let b = r0; b < r1; b++) {
    const a = rowBT(act, b, t, T, G);
    const gh = at(GH, b * G);
    if (ASC_FEATURE_SIMD) {
      // the same equations as the scalar code below, 4 units at a time (Hp is a multiple of 8)
      forwardRowV(Hp, a, gh, rowBT(HN, b, t, T, Hp), rowBT(HP, b, t, T, Hp), rowBT(out, b, t, T, Hp),
        nextStateRow(HP, hT, b, k, T, Hp, reverse), maskAt(mask, b, t, T));
      continue;
    }
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

/**
 * BPTT (see gruPytorchStepBackward). act is overwritten with ∇_gi L; DGH [B, T, 3Hp]
 * receives ∇_gh L. Wp [3Hp, Hp], Up [3Hp, I]. Scratch: dH, dHn [B, Hp]. Writes dx (or
 * dx = 0: none), dU [3Hp, I], dW [3Hp, Hp], db, dbh [3Hp], dh0 [B, Hp].
 */
export function gruPytorchBackward(
  B: i32, T: i32, I: i32, Hp: i32, reverse: i32,
  x: usize, Wp: usize, Up: usize, mask: usize,
  act: usize, HP: usize, HN: usize, DGH: usize, dOut: usize, dhT: usize,
  dH: usize, dHn: usize,
  dx: usize, dU: usize, dW: usize, db: usize, dbh: usize, dh0: usize,
): void {
  const G = 3 * Hp;
  A.T = T; A.Hp = Hp; A.reverse = reverse;
  A.Wp = Wp; A.mask = mask; A.act = act; A.HP = HP; A.HN = HN; A.DGH = DGH; A.dOut = dOut;
  backwardSteps(backwardRows, T, B, Hp, <i64>B * G * Hp, dhT, dH, dHn, dh0);
  pgemmTN(G, Hp, B * T, DGH, G, HP, Hp, dW, Hp, 0); // ∇W = Σ ∇_ghᵀ h(t−1)
  columnSums(DGH, B * T, G, G, dbh);
  inputGradients(B * T, I, G, act, x, Up, dU, db, dx);
}

/** Step k of BPTT, rows r0 … r1−1: ∇_gi L, ∇_gh L, then ∇_h(t−1) L += ∇_gh L · W. */
function backwardRows(k: i32, r0: i32, r1: i32): void {
  const T = A.T, Hp = A.Hp, G = 3 * Hp;
  const act = A.act, HP = A.HP, HN = A.HN, DGH = A.DGH, dOut = A.dOut, dH = carry.dH, dHn = carry.dHn, mask = A.mask;
  const t = timeOf(k, T, A.reverse);
  for (let b = r0; b < r1; b++) {
    const a = rowBT(act, b, t, T, G);
    const dg = rowBT(DGH, b, t, T, G);
    const hn = rowBT(HN, b, t, T, Hp);
    const hp = rowBT(HP, b, t, T, Hp);
    const dh = at(dH, b * Hp);
    const dn = at(dHn, b * Hp);
    const dO = dOut ? rowBT(dOut, b, t, T, Hp) : 0;
    const m = maskAt(mask, b, t, T);
    if (ASC_FEATURE_SIMD) {
      backwardRowV(Hp, a, dg, hn, hp, dh, dn, dO, m);
      continue;
    }
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
  gemmPanels(r1 - r0, Hp, G, rowBT(DGH, r0, t, T, G), T * G, A.Wp, G * 8, at(dHn, r0 * Hp), Hp, 1); // ∇_h(t−1) L += ∇_gh L · W
}

// One row (b, t) of the forward, 4 units per iteration: r, z, n, h(t).
// @ts-ignore: decorator
@inline function forwardRowV(Hp: i32, a: usize, gh: usize, hn: usize, hp: usize, o: usize, nx: usize, m: f32): void {
  const mv = f32x4.splat(m);
  const keep = f32x4.splat(<f32>1.0 - m);
  const one = f32x4.splat(1.0);
  const H4 = <usize>Hp << 2;
  for (let j = 0; j < Hp; j += 4) {
    const jo = <usize>j << 2;
    const r = sigmoidV(f32x4.add(v128.load(a + jo), v128.load(gh + jo)));
    const z = sigmoidV(f32x4.add(v128.load(a + H4 + jo), v128.load(gh + H4 + jo)));
    const g = v128.load(gh + 2 * H4 + jo);
    v128.store(hn + jo, g);
    const n = tanhV(f32x4.add(v128.load(a + 2 * H4 + jo), f32x4.mul(r, g)));
    v128.store(a + jo, r);
    v128.store(a + H4 + jo, z);
    v128.store(a + 2 * H4 + jo, n);
    const hpj = v128.load(hp + jo);
    const h = f32x4.add(f32x4.mul(f32x4.sub(one, z), n), f32x4.mul(z, hpj)); // h(t) = (1 − z) ⊙ n + z ⊙ h(t−1)
    const mh = f32x4.mul(mv, h);
    v128.store(o + jo, mh);
    v128.store(nx + jo, f32x4.add(mh, f32x4.mul(keep, hpj)));
  }
}

// One row (b, t) of BPTT, 4 units per iteration (the scalar loop in gruPytorchBackward, vectorised).
// @ts-ignore: decorator
@inline function backwardRowV(Hp: i32, a: usize, dg: usize, hn: usize, hp: usize, dh: usize, dn: usize, dO: usize, m: f32): void {
  const mv = f32x4.splat(m);
  const keep = f32x4.splat(<f32>1.0 - m);
  const one = f32x4.splat(1.0);
  const H4 = <usize>Hp << 2;
  for (let j = 0; j < Hp; j += 4) {
    const jo = <usize>j << 2;
    const carried = flushV(v128.load(dh + jo));
    const gh = f32x4.mul(mv, dO ? f32x4.add(carried, v128.load(dO + jo)) : carried); // ∇_h(t) L
    const r = v128.load(a + jo);
    const z = v128.load(a + H4 + jo);
    const n = v128.load(a + 2 * H4 + jo);
    const hpj = v128.load(hp + jo);
    const dan = flushV(f32x4.mul(f32x4.mul(gh, f32x4.sub(one, z)), f32x4.sub(one, f32x4.mul(n, n))));
    const daz = flushV(f32x4.mul(f32x4.mul(f32x4.mul(gh, f32x4.sub(hpj, n)), z), f32x4.sub(one, z)));
    const dar = flushV(f32x4.mul(f32x4.mul(f32x4.mul(dan, v128.load(hn + jo)), r), f32x4.sub(one, r)));
    v128.store(a + jo, dar);
    v128.store(a + H4 + jo, daz);
    v128.store(a + 2 * H4 + jo, dan);
    v128.store(dg + jo, dar);
    v128.store(dg + H4 + jo, daz);
    v128.store(dg + 2 * H4 + jo, flushV(f32x4.mul(dan, r)));
    v128.store(dn + jo, f32x4.add(f32x4.mul(keep, carried), f32x4.mul(gh, z)));
  }
}
