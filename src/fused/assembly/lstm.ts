// AssemblyScript: the LSTM over a whole sequence (src/cells/lstm/lstm.ts, peepholes optional),
// forward and BPTT:
//
//   i = σ(a_i + w_cι ⊙ s(t−1)),  f = σ(a_f + w_cφ ⊙ s(t−1)),  g = tanh(a_g)
//   s(t) = f ⊙ s(t−1) + i ⊙ g,   o = σ(a_o + w_cω ⊙ s(t)),    h(t) = o ⊙ tanh(s(t))
//
// with a = U x(t) + W h(t−1) + b stacked i, f, g, o (G = 4·Hp). Layout: see layout.ts.

import { gemmPanels } from "./gemm";
import { forwardSteps, backwardSteps, carry, pgemmTN } from "./parallel";
import { sigmoidArray, tanhArray, sigmoidV, tanhV } from "./activations";
import { at, rowBT, timeOf, maskAt, inputProjection, inputGradients, scatterState, nextStateRow, flush, flushV } from "./layout";

/**
 * The arguments of the LSTM kernel that is running, where the step rows read them on
 * either thread (a static block: the worker's instance sees the same address).
 */
@unmanaged class Args {
  T: i32; Hp: i32; reverse: i32; peep: i32;
  WT: usize; Wp: usize; wci: usize; wcf: usize; wco: usize; mask: usize;
  act: usize; HP: usize; SP: usize; SN: usize; TS: usize; out: usize; hT: usize; sT: usize;
  dOut: usize; dS: usize;
}
const A = changetype<Args>(memory.data(offsetof<Args>(), 16));

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
  A.T = T; A.Hp = Hp; A.reverse = reverse; A.peep = peep;
  A.WT = WT; A.wci = wci; A.wcf = wcf; A.wco = wco; A.mask = mask;
  A.act = act; A.HP = HP; A.SP = SP; A.SN = SN; A.TS = TS; A.out = out; A.hT = hT; A.sT = sT;
  inputProjection(B * T, I, G, x, UT, bias, act);
  const t0 = timeOf(0, T, reverse);
  scatterState(h0, B, T, Hp, t0, HP);
  scatterState(s0, B, T, Hp, t0, SP);
  forwardSteps(forwardRows, T, B, <i64>B * G * Hp);
}

/** Step k of the forward, rows r0 … r1−1: a += h(t−1) Wᵀ, then the gates and states. */
function forwardRows(k: i32, r0: i32, r1: i32): void {
  const T = A.T, Hp = A.Hp, G = 4 * Hp, reverse = A.reverse, peep = A.peep;
  const act = A.act, HP = A.HP, SP = A.SP, SN = A.SN, TS = A.TS, out = A.out, hT = A.hT, sT = A.sT;
  const wci = A.wci, wcf = A.wcf, wco = A.wco, mask = A.mask;
  const t = timeOf(k, T, reverse);
  gemmPanels(r1 - r0, G, Hp, rowBT(HP, r0, t, T, Hp), T * Hp, A.WT, Hp * 8, rowBT(act, r0, t, T, G), T * G, 1); // a += h(t−1) Wᵀ
  for (let b = r0; b < r1; b++) {
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

/**
 * BPTT (Graves' ε_s form, see lstmStepBackward). act is overwritten with ∇_a L. dOut
 * [B, T, Hp] or 0, dhT, dsT [B, Hp] or 0. Scratch: dH, dHn, dS [B, Hp]. Writes dx (or
 * dx = 0: none), dU [4Hp, I], dW [4Hp, Hp], db [4Hp], dwci, dwcf, dwco [Hp] (with peep),
 * dh0, ds0 [B, Hp].
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
  if (dsT) memory.copy(dS, dsT, bytes); else memory.fill(dS, 0, bytes);
  A.T = T; A.Hp = Hp; A.reverse = reverse; A.peep = peep;
  A.Wp = Wp; A.wci = wci; A.wcf = wcf; A.wco = wco; A.mask = mask;
  A.act = act; A.SP = SP; A.SN = SN; A.TS = TS; A.dOut = dOut; A.dS = dS;
  backwardSteps(backwardRows, T, B, Hp, <i64>B * G * Hp, dhT, dH, dHn, dh0);
  memory.copy(ds0, dS, bytes);
  if (peep) peepholeGradients(B * T, Hp, act, SP, SN, dwci, dwcf, dwco);
  pgemmTN(G, Hp, B * T, act, G, HP, Hp, dW, Hp, 0);
  inputGradients(B * T, I, G, act, x, Up, dU, db, dx);
}

/** Step k of BPTT, rows r0 … r1−1: ∇_a L from ∇_h(t) L and ∇_s(t) L, then ∇_h(t−1) L += ∇_a L · W. */
function backwardRows(k: i32, r0: i32, r1: i32): void {
  const T = A.T, Hp = A.Hp, G = 4 * Hp, peep = A.peep;
  const act = A.act, SP = A.SP, SN = A.SN, TS = A.TS, dOut = A.dOut, dH = carry.dH, dHn = carry.dHn, dS = A.dS;
  const wci = A.wci, wcf = A.wcf, wco = A.wco, mask = A.mask;
  const t = timeOf(k, T, A.reverse);
  for (let b = r0; b < r1; b++) {
    const a = rowBT(act, b, t, T, G);
    const sp = rowBT(SP, b, t, T, Hp);
    const ts = rowBT(TS, b, t, T, Hp);
    const dh = at(dH, b * Hp);
    const dn = at(dHn, b * Hp);
    const ds = at(dS, b * Hp);
    const dO = dOut ? rowBT(dOut, b, t, T, Hp) : 0;
    const m = maskAt(mask, b, t, T);
    if (ASC_FEATURE_SIMD) {
      backwardRowV(Hp, peep, a, sp, ts, dh, dn, ds, dO, m, wci, wcf, wco);
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
      if (peep) dsp += load<f32>(at(wci, j)) * dai + load<f32>(at(wcf, j)) * daf;
      store<f32>(at(a, j), flush(dai));
      store<f32>(at(a, Hp + j), flush(daf));
      store<f32>(at(a, 2 * Hp + j), flush(dag));
      store<f32>(at(a, 3 * Hp + j), flush(dao));
      store<f32>(at(dn, j), (<f32>1.0 - m) * carriedH);
      store<f32>(at(ds, j), (<f32>1.0 - m) * carriedS + dsp); // ∇_s(t−1) L
    }
  }
  gemmPanels(r1 - r0, Hp, G, rowBT(act, r0, t, T, G), T * G, A.Wp, G * 8, at(dHn, r0 * Hp), Hp, 1); // ∇_h(t−1) L += ∇_a L · W
}

/**
 * The peephole gradients, summed over all B·T rows after BPTT (so that the step rows,
 * which may run on two threads, write no shared sum): ∇w_cι = Σ ∇a_i ⊙ s(t−1),
 * ∇w_cφ = Σ ∇a_f ⊙ s(t−1), ∇w_cω = Σ ∇a_o ⊙ s(t). dA [rows, 4Hp] = ∇_a L.
 */
function peepholeGradients(rows: i32, Hp: i32, dA: usize, SP: usize, SN: usize, dwci: usize, dwcf: usize, dwco: usize): void {
  const bytes = <usize>Hp << 2;
  memory.fill(dwci, 0, bytes);
  memory.fill(dwcf, 0, bytes);
  memory.fill(dwco, 0, bytes);
  for (let r = 0; r < rows; r++) {
    const a = at(dA, r * 4 * Hp);
    const sp = at(SP, r * Hp);
    const sn = at(SN, r * Hp);
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j < Hp; j += 4) {
        const jo = <usize>j << 2;
        const s = v128.load(sp + jo);
        v128.store(dwci + jo, f32x4.add(v128.load(dwci + jo), f32x4.mul(v128.load(a + jo), s)));
        v128.store(dwcf + jo, f32x4.add(v128.load(dwcf + jo), f32x4.mul(v128.load(a + bytes + jo), s)));
        v128.store(dwco + jo, f32x4.add(v128.load(dwco + jo), f32x4.mul(v128.load(a + 3 * bytes + jo), v128.load(sn + jo))));
      }
    }
    for (; j < Hp; j++) {
      const s = load<f32>(at(sp, j));
      store<f32>(at(dwci, j), load<f32>(at(dwci, j)) + load<f32>(at(a, j)) * s);
      store<f32>(at(dwcf, j), load<f32>(at(dwcf, j)) + load<f32>(at(a, Hp + j)) * s);
      store<f32>(at(dwco, j), load<f32>(at(dwco, j)) + load<f32>(at(a, 3 * Hp + j)) * load<f32>(at(sn, j)));
    }
  }
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
  Hp: i32, peep: i32, a: usize, sp: usize, ts: usize, dh: usize, dn: usize, ds: usize, dO: usize, m: f32,
  wci: usize, wcf: usize, wco: usize,
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
    if (peep) dsp = f32x4.add(dsp, f32x4.add(f32x4.mul(v128.load(wci + jo), dai), f32x4.mul(v128.load(wcf + jo), daf)));
    v128.store(a + jo, flushV(dai));
    v128.store(a + H4 + jo, flushV(daf));
    v128.store(a + 2 * H4 + jo, flushV(dag));
    v128.store(a + 3 * H4 + jo, flushV(dao));
    v128.store(dn + jo, f32x4.mul(keep, carriedH));
    v128.store(ds + jo, f32x4.add(f32x4.mul(keep, carriedS), dsp)); // ∇_s(t−1) L
  }
}
