// AssemblyScript: the LSTM over a whole sequence (src/cells/lstm.ts, peepholes optional),
// forward and BPTT:
//
//   i = σ(a_i + w_cι ⊙ s(t−1)),  f = σ(a_f + w_cφ ⊙ s(t−1)),  g = tanh(a_g)
//   s(t) = f ⊙ s(t−1) + i ⊙ g,   o = σ(a_o + w_cω ⊙ s(t)),    h(t) = o ⊙ tanh(s(t))
//
// with a = U x(t) + W h(t−1) + b stacked i, f, g, o (G = 4·Hp). Layout: see layout.ts.

import { pgemm, pgemmTN } from "./parallel";
import { sigmoidArray, tanhArray, sigmoidV, tanhV } from "./activations";
import { at, rowBT, timeOf, maskAt, inputProjection, inputGradients, scatterState, nextStateRow, flush, flushV } from "./layout";

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
    pgemm(B, G, Hp, rowBT(HP, 0, t, T, Hp), T * Hp, WT, G, rowBT(act, 0, t, T, G), T * G, 1); // a += h(t−1) Wᵀ
    for (let b = 0; b < B; b++) {
      const a = rowBT(act, b, t, T, G);
      const sp = rowBT(SP, b, t, T, Hp);
      const hp = rowBT(HP, b, t, T, Hp);
      if (ASC_FEATURE_SIMD) {
        // the same equations as the scalar code below, 4 units at a time (Hp is a multiple of 8)
        forwardRowV(Hp, peep, a, sp, hp, wci, wcf, wco, rowBT(SN, b, t, T, Hp), rowBT(TS, b, t, T, Hp), rowBT(out, b, t, T, Hp),
          nextStateRow(HP, hT, b, k, T, Hp, reverse), nextStateRow(SP, sT, b, k, T, Hp, reverse), maskAt(mask, b, t, T));
        continue;
      }
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
      if (ASC_FEATURE_SIMD) {
        backwardRowV(Hp, peep, a, sp, sn, ts, dh, dn, ds, dO, m, wci, wcf, wco, dwci, dwcf, dwco);
        continue;
      }
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
    pgemm(B, Hp, G, rowBT(act, 0, t, T, G), T * G, Wp, Hp, dHn, Hp, 1); // ∇_h(t−1) L += ∇_a L · W
    const swap = dH; dH = dHn; dHn = swap;
  }
  memory.copy(dh0, dH, bytes);
  memory.copy(ds0, dS, bytes);
  pgemmTN(G, Hp, B * T, act, G, HP, Hp, dW, Hp, 0);
  inputGradients(B * T, I, G, act, x, Up, dU, db, dx);
}

// One row (b, t) of the forward, 4 units per iteration: gates, s(t), tanh(s(t)), h(t).
// @ts-ignore: decorator
@inline function forwardRowV(
  Hp: i32, peep: i32, a: usize, sp: usize, hp: usize, wci: usize, wcf: usize, wco: usize,
  sn: usize, ts: usize, o: usize, nh: usize, ns: usize, m: f32,
): void {
  const mv = f32x4.splat(m);
  const keep = f32x4.splat(<f32>1.0 - m);
  const H4 = <usize>Hp << 2;
  for (let j = 0; j < Hp; j += 4) {
    const jo = <usize>j << 2;
    const s = v128.load(sp + jo);
    let ai = v128.load(a + jo);
    let af = v128.load(a + H4 + jo);
    if (peep) {
      ai = f32x4.add(ai, f32x4.mul(v128.load(wci + jo), s));
      af = f32x4.add(af, f32x4.mul(v128.load(wcf + jo), s));
    }
    const i = sigmoidV(ai);
    const f = sigmoidV(af);
    const g = tanhV(v128.load(a + 2 * H4 + jo));
    const st = f32x4.add(f32x4.mul(f, s), f32x4.mul(i, g)); // s(t) = f ⊙ s(t−1) + i ⊙ g
    let ao = v128.load(a + 3 * H4 + jo);
    if (peep) ao = f32x4.add(ao, f32x4.mul(v128.load(wco + jo), st));
    const ov = sigmoidV(ao);
    const tst = tanhV(st);
    v128.store(a + jo, i);
    v128.store(a + H4 + jo, f);
    v128.store(a + 2 * H4 + jo, g);
    v128.store(a + 3 * H4 + jo, ov);
    v128.store(sn + jo, st);
    v128.store(ts + jo, tst);
    const h = f32x4.mul(ov, tst); // h(t) = o ⊙ tanh(s(t))
    const mh = f32x4.mul(mv, h);
    v128.store(o + jo, mh);
    v128.store(nh + jo, f32x4.add(mh, f32x4.mul(keep, v128.load(hp + jo))));
    v128.store(ns + jo, f32x4.add(f32x4.mul(mv, st), f32x4.mul(keep, s)));
  }
}

// One row (b, t) of BPTT, 4 units per iteration (the scalar loop in lstmBackward, vectorised).
// @ts-ignore: decorator
@inline function backwardRowV(
  Hp: i32, peep: i32, a: usize, sp: usize, sn: usize, ts: usize, dh: usize, dn: usize, ds: usize, dO: usize, m: f32,
  wci: usize, wcf: usize, wco: usize, dwci: usize, dwcf: usize, dwco: usize,
): void {
  const mv = f32x4.splat(m);
  const keep = f32x4.splat(<f32>1.0 - m);
  const one = f32x4.splat(1.0);
  const H4 = <usize>Hp << 2;
  for (let j = 0; j < Hp; j += 4) {
    const jo = <usize>j << 2;
    const carriedH = flushV(v128.load(dh + jo));
    const carriedS = flushV(v128.load(ds + jo));
    const gh = f32x4.mul(mv, dO ? f32x4.add(carriedH, v128.load(dO + jo)) : carriedH); // ∇_h(t) L
    const gs = f32x4.mul(mv, carriedS); // ∇_s(t) L from t+1
    const i = v128.load(a + jo);
    const f = v128.load(a + H4 + jo);
    const g = v128.load(a + 2 * H4 + jo);
    const o = v128.load(a + 3 * H4 + jo);
    const tsj = v128.load(ts + jo);
    const spj = v128.load(sp + jo);
    const dao = f32x4.mul(f32x4.mul(f32x4.mul(gh, tsj), o), f32x4.sub(one, o));
    let es = f32x4.add(gs, f32x4.mul(f32x4.mul(gh, o), f32x4.sub(one, f32x4.mul(tsj, tsj))));
    if (peep) es = f32x4.add(es, f32x4.mul(v128.load(wco + jo), dao));
    const dai = f32x4.mul(f32x4.mul(f32x4.mul(es, g), i), f32x4.sub(one, i));
    const daf = f32x4.mul(f32x4.mul(f32x4.mul(es, spj), f), f32x4.sub(one, f));
    const dag = f32x4.mul(f32x4.mul(es, i), f32x4.sub(one, f32x4.mul(g, g)));
    let dsp = f32x4.mul(es, f);
    if (peep) {
      dsp = f32x4.add(dsp, f32x4.add(f32x4.mul(v128.load(wci + jo), dai), f32x4.mul(v128.load(wcf + jo), daf)));
      v128.store(dwci + jo, f32x4.add(v128.load(dwci + jo), f32x4.mul(dai, spj)));
      v128.store(dwcf + jo, f32x4.add(v128.load(dwcf + jo), f32x4.mul(daf, spj)));
      v128.store(dwco + jo, f32x4.add(v128.load(dwco + jo), f32x4.mul(dao, v128.load(sn + jo))));
    }
    v128.store(a + jo, flushV(dai));
    v128.store(a + H4 + jo, flushV(daf));
    v128.store(a + 2 * H4 + jo, flushV(dag));
    v128.store(a + 3 * H4 + jo, flushV(dao));
    v128.store(dn + jo, f32x4.mul(keep, carriedH));
    v128.store(ds + jo, f32x4.add(f32x4.mul(keep, carriedS), dsp)); // ∇_s(t−1) L
  }
}
