// AssemblyScript: the attention core of an encoder–decoder, forward and backward, for every
// example b and output step t at once (src/fused/attention.ts is the tfjs op around it).
//
//   e[t, j] = s · (Q[t] · K[j])                          dot (s = 1), scaled dot (s = 1/√D),
//                                                          general (Q = h W_a, computed by tfjs)
//   e[t, j] = Σ_a w[a] tanh(Pq[t, a] + Pk[j, a])          additive (Pq = h W_qᵀ, Pk = h_enc W_kᵀ)
//   α[t, j] = exp(e[t, j]) / Σ_{j' real} exp(e[t, j'])    j real (m[j] ≠ 0); α = 0 where m[j] = 0,
//                                                          and a row with no real j is all 0
//   c[t]    = Σ_j α[t, j] V[j]
//
// Backward, from ∂c and ∂α (g[j] = ∂α[t, j] + ∂c[t]·V[j]):
//   ∂V[j] += α[t, j] ∂c[t]
//   ∂e[t, j] = α[t, j] (g[j] − Σ_j' α[t, j'] g[j'])      (softmax's Jacobian)
//   dot:      ∂Q[t] = s Σ_j ∂e[t, j] K[j],   ∂K[j] += s ∂e[t, j] Q[t]
//   additive: with u = tanh(Pq[t, a] + Pk[j, a]):
//             ∂Pq[t, a] += ∂e w[a] (1 − u²),  ∂Pk[j, a] += ∂e w[a] (1 − u²),  ∂w[a] += ∂e u
//
// The backward recomputes e and α from the inputs (cheap next to the rest), so nothing is
// kept between the two calls. All arrays are row-major float32 at byte offsets:
// Q [B, T_out, D], K [B, T_in, D], V [B, T_in, D_v], m [B, T_in] (0: no mask),
// α [B, T_out, T_in], c [B, T_out, D_v]; additive: Pq [B, T_out, A], Pk [B, T_in, A], w [A].

import { madd, currentThread } from "./gemm";
import { forRows } from "./parallel";
import { addArray, expScalar } from "./activations";

// tanh as a rational function (Eigen's fast float tanh): x·P(x²)/Q(x²) on x clamped to ±7.905,
// P of degree 6 and Q of degree 3, max error 3.6e−7 (checked against float64 on a 1e−4 grid of
// [−10, 10]). One division and no exp: three times as fast here as activations.ts's tanhV (measured),
// and the additive score is T_out·T_in·A tanh per example, its cost.
const TANH_CLAMP: f32 = 7.90531110763549805;
const TA1: f32 = 4.89352455891786e-3;
const TA3: f32 = 6.37261928875436e-4;
const TA5: f32 = 1.48572235717979e-5;
const TA7: f32 = 5.12229709037114e-8;
const TA9: f32 = -8.60467152213735e-11;
const TA11: f32 = 2.00018790482477e-13;
const TA13: f32 = -2.76076847742355e-16;
const TB0: f32 = 4.89352518554385e-3;
const TB2: f32 = 2.26843463243900e-3;
const TB4: f32 = 1.18534705686654e-4;
const TB6: f32 = 1.19825839466702e-6;

/** tanh on 4 lanes (see TANH_CLAMP). */
// @ts-ignore: decorator
@inline function tanhRationalV(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(-TANH_CLAMP)), f32x4.splat(TANH_CLAMP));
  const z = f32x4.mul(x, x);
  let p = madd(z, f32x4.splat(TA13), f32x4.splat(TA11));
  p = madd(z, p, f32x4.splat(TA9));
  p = madd(z, p, f32x4.splat(TA7));
  p = madd(z, p, f32x4.splat(TA5));
  p = madd(z, p, f32x4.splat(TA3));
  p = madd(z, p, f32x4.splat(TA1));
  let q = madd(z, f32x4.splat(TB6), f32x4.splat(TB4));
  q = madd(z, q, f32x4.splat(TB2));
  q = madd(z, q, f32x4.splat(TB0));
  return f32x4.div(f32x4.mul(x, p), q);
}

/** tanh of one float (the same rational function). */
// @ts-ignore: decorator
@inline function tanhRational(x: f32): f32 {
  x = min<f32>(max<f32>(x, -TANH_CLAMP), TANH_CLAMP);
  const z = x * x;
  let p = z * TA13 + TA11;
  p = z * p + TA9;
  p = z * p + TA7;
  p = z * p + TA5;
  p = z * p + TA3;
  p = z * p + TA1;
  let q = z * TB6 + TB4;
  q = z * q + TB2;
  q = z * q + TB0;
  return (x * p) / q;
}

// @ts-ignore: decorator
@inline function at(p: usize, k: i32): usize {
  return p + (<usize>k << 2);
}

/** x · y over n floats. */
// @ts-ignore: decorator
@inline function dot(x: usize, y: usize, n: i32): f32 {
  let k = 0;
  let s: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (; k + 4 <= n; k += 4) acc = madd(v128.load(at(x, k)), v128.load(at(y, k)), acc);
    s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  }
  for (; k < n; k++) s += load<f32>(at(x, k)) * load<f32>(at(y, k));
  return s;
}

/** y += a·x over n floats. */
// @ts-ignore: decorator
@inline function axpy(a: f32, x: usize, y: usize, n: i32): void {
  let k = 0;
  if (ASC_FEATURE_SIMD) {
    const av = f32x4.splat(a);
    for (; k + 4 <= n; k += 4) v128.store(at(y, k), madd(av, v128.load(at(x, k)), v128.load(at(y, k))));
  }
  for (; k < n; k++) store<f32>(at(y, k), load<f32>(at(y, k)) + a * load<f32>(at(x, k)));
}

/** Σ_a w[a] tanh(pq[a] + pk[a]) over A floats; the tanh values go to u (if u ≠ 0). */
// @ts-ignore: decorator
@inline function additiveRow(pq: usize, pk: usize, w: usize, A: i32, u: usize): f32 {
  let a = 0;
  let s: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (; a + 4 <= A; a += 4) {
      const h = tanhRationalV(f32x4.add(v128.load(at(pq, a)), v128.load(at(pk, a))));
      if (u) v128.store(at(u, a), h);
      acc = madd(v128.load(at(w, a)), h, acc);
    }
    s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  }
  for (; a < A; a++) {
    const h = tanhRational(load<f32>(at(pq, a)) + load<f32>(at(pk, a)));
    if (u) store<f32>(at(u, a), h);
    s += load<f32>(at(w, a)) * h;
  }
  return s;
}

/**
 * The scores e[0 … T_in) of one row become α in place: softmax over the real positions
 * (m[j] ≠ 0; m = 0: all real), exactly 0 elsewhere, all 0 if none is real.
 */
function maskedSoftmax(e: usize, m: usize, Tin: i32): void {
  let top = <f32>-Infinity;
  for (let j = 0; j < Tin; j++) if (!m || load<f32>(at(m, j)) != 0) top = max<f32>(top, load<f32>(at(e, j)));
  if (top == <f32>-Infinity) {
    memory.fill(e, 0, <usize>Tin << 2);
    return;
  }
  let sum: f32 = 0;
  for (let j = 0; j < Tin; j++) {
    const x: f32 = !m || load<f32>(at(m, j)) != 0 ? expScalar(load<f32>(at(e, j)) - top) : 0;
    store<f32>(at(e, j), x);
    sum += x;
  }
  const inv = <f32>1 / sum;
  for (let j = 0; j < Tin; j++) store<f32>(at(e, j), load<f32>(at(e, j)) * inv);
}

/** c = Σ_j α[j] V[j] for one row (V: T_in rows of D_v). */
// @ts-ignore: decorator
@inline function contextRow(alpha: usize, v: usize, Tin: i32, Dv: i32, c: usize): void {
  memory.fill(c, 0, <usize>Dv << 2);
  for (let j = 0; j < Tin; j++) {
    const a = load<f32>(at(alpha, j));
    if (a != 0) axpy(a, at(v, j * Dv), c, Dv);
  }
}

/**
 * From α (one row) and ∂c, ∂α of that row: ∂V[j] += α[j] ∂c, and ∂e in place of g
 * (g: T_in floats of scratch), ∂e[j] = α[j] (g[j] − Σ α g) with g[j] = ∂α[j] + ∂c·V[j].
 */
// @ts-ignore: decorator
@inline function softmaxContextBackward(alpha: usize, dc: usize, dalpha: usize, v: usize, dv: usize, Tin: i32, Dv: i32, g: usize): void {
  let sum: f32 = 0;
  for (let j = 0; j < Tin; j++) {
    const a = load<f32>(at(alpha, j));
    let gj: f32 = 0;
    if (a != 0) {
      gj = (dalpha ? load<f32>(at(dalpha, j)) : 0) + dot(dc, at(v, j * Dv), Dv);
      axpy(a, dc, at(dv, j * Dv), Dv);
    }
    store<f32>(at(g, j), gj);
    sum += a * gj;
  }
  for (let j = 0; j < Tin; j++) store<f32>(at(g, j), load<f32>(at(alpha, j)) * (load<f32>(at(g, j)) - sum));
}

/**
 * The arguments of the running attention kernel, for its rows of examples on either thread
 * (see parallel.ts's forRows): every example b is computed from its own rows alone, so the
 * examples split between the threads, and each example's values come from the same
 * operations in the same order on one thread or two (the additive score's ∂w, a sum over
 * the examples, is summed per example, then over the examples in order: additiveAttentionBackward).
 */
@unmanaged class Args {
  B: i32; Tout: i32; Tin: i32; D: i32; Dv: i32; s: f32;
  q: usize; k: usize; v: usize; m: usize; w: usize;
  alpha: usize; c: usize;
  dc: usize; dalpha: usize; dq: usize; dk: usize; dv: usize; dw: usize;
  /** Additive backward: each example's share of ∂w, [B, A]. */
  de: usize;
  /** Per-thread scratch: `scratchFloats` floats for each of the two threads. */
  scratch: usize; scratchFloats: i32;
}
const P = changetype<Args>(memory.data(offsetof<Args>(), 16));

/** This thread's scratch. */
// @ts-ignore: decorator
@inline function threadScratch(): usize {
  return at(P.scratch, currentThread() * P.scratchFloats);
}

/** Multiply-adds of a call below which the examples are not split (see forRows). */
// @ts-ignore: decorator
@inline function work(B: i32, Tout: i32, Tin: i32, D: i32): i64 {
  return <i64>B * <i64>Tout * <i64>Tin * <i64>D;
}

/**
 * Dot-product attention forward: α [B, T_out, T_in] and c [B, T_out, D_v] from Q, K, V,
 * the scale s and the source mask m (0: none). Dot: s = 1; scaled dot: s = 1/√D; general:
 * Q = h W_a.
 */
export function dotAttentionForward(
  B: i32, Tout: i32, Tin: i32, D: i32, Dv: i32,
  q: usize, k: usize, v: usize, m: usize, s: f32,
  alpha: usize, c: usize,
): void {
  P.Tout = Tout; P.Tin = Tin; P.D = D; P.Dv = Dv; P.s = s;
  P.q = q; P.k = k; P.v = v; P.m = m; P.alpha = alpha; P.c = c;
  forRows(dotForwardRows, 0, B, work(B, Tout, Tin, D));
}

/** Examples b0 … b1−1 of {@link dotAttentionForward}. */
function dotForwardRows(_k: i32, b0: i32, b1: i32): void {
  const Tout = P.Tout, Tin = P.Tin, D = P.D, Dv = P.Dv, s = P.s;
  const q = P.q, k = P.k, v = P.v, m = P.m, alpha = P.alpha, c = P.c;
  for (let b = b0; b < b1; b++) {
    const kb = at(k, b * Tin * D), vb = at(v, b * Tin * Dv);
    const mb = m ? at(m, b * Tin) : 0;
    for (let t = 0; t < Tout; t++) {
      const row = b * Tout + t;
      const qt = at(q, row * D), et = at(alpha, row * Tin);
      for (let j = 0; j < Tin; j++) store<f32>(at(et, j), s * dot(qt, at(kb, j * D), D));
      maskedSoftmax(et, mb, Tin);
      contextRow(et, vb, Tin, Dv, at(c, row * Dv));
    }
  }
}

/**
 * Dot-product attention backward: ∂Q (written), ∂K and ∂V (written) from ∂c [B, T_out, D_v]
 * and ∂α [B, T_out, T_in] (0: none), recomputing α. scratch: 2 · 2·T_in floats (two threads).
 * ∂K and ∂V may be one array (V = K): each example zeroes its rows of both first.
 */
export function dotAttentionBackward(
  B: i32, Tout: i32, Tin: i32, D: i32, Dv: i32,
  q: usize, k: usize, v: usize, m: usize, s: f32,
  dc: usize, dalpha: usize,
  dq: usize, dk: usize, dv: usize, scratch: usize,
): void {
  P.Tout = Tout; P.Tin = Tin; P.D = D; P.Dv = Dv; P.s = s;
  P.q = q; P.k = k; P.v = v; P.m = m; P.dc = dc; P.dalpha = dalpha; P.dq = dq; P.dk = dk; P.dv = dv;
  P.scratch = scratch; P.scratchFloats = 2 * Tin;
  forRows(dotBackwardRows, 0, B, 2 * work(B, Tout, Tin, D));
}

/** Examples b0 … b1−1 of {@link dotAttentionBackward}. */
function dotBackwardRows(_k: i32, b0: i32, b1: i32): void {
  const Tout = P.Tout, Tin = P.Tin, D = P.D, Dv = P.Dv, s = P.s;
  const q = P.q, k = P.k, v = P.v, m = P.m, dc = P.dc, dalpha = P.dalpha, dq = P.dq, dk = P.dk, dv = P.dv;
  const alpha = threadScratch(), g = at(alpha, Tin);
  for (let b = b0; b < b1; b++) {
    const kb = at(k, b * Tin * D), vb = at(v, b * Tin * Dv);
    const dkb = at(dk, b * Tin * D), dvb = at(dv, b * Tin * Dv);
    memory.fill(dkb, 0, <usize>(Tin * D) << 2);
    memory.fill(dvb, 0, <usize>(Tin * Dv) << 2);
    const mb = m ? at(m, b * Tin) : 0;
    for (let t = 0; t < Tout; t++) {
      const row = b * Tout + t;
      const qt = at(q, row * D), dqt = at(dq, row * D);
      for (let j = 0; j < Tin; j++) store<f32>(at(alpha, j), s * dot(qt, at(kb, j * D), D));
      maskedSoftmax(alpha, mb, Tin);
      softmaxContextBackward(alpha, at(dc, row * Dv), dalpha ? at(dalpha, row * Tin) : 0, vb, dvb, Tin, Dv, g);
      memory.fill(dqt, 0, <usize>D << 2);
      for (let j = 0; j < Tin; j++) {
        const de = s * load<f32>(at(g, j));
        if (de == 0) continue;
        axpy(de, at(kb, j * D), dqt, D);
        axpy(de, qt, at(dkb, j * D), D);
      }
    }
  }
}

/**
 * Additive attention forward: α [B, T_out, T_in] and c [B, T_out, D_v] from
 * Pq = h W_qᵀ [B, T_out, A], Pk = h_enc W_kᵀ [B, T_in, A], w [A], V and the mask m (0: none).
 */
export function additiveAttentionForward(
  B: i32, Tout: i32, Tin: i32, A: i32, Dv: i32,
  pq: usize, pk: usize, w: usize, v: usize, m: usize,
  alpha: usize, c: usize,
): void {
  P.Tout = Tout; P.Tin = Tin; P.D = A; P.Dv = Dv;
  P.q = pq; P.k = pk; P.w = w; P.v = v; P.m = m; P.alpha = alpha; P.c = c;
  forRows(additiveForwardRows, 0, B, 4 * work(B, Tout, Tin, A));
}

/** Examples b0 … b1−1 of {@link additiveAttentionForward}. */
function additiveForwardRows(_k: i32, b0: i32, b1: i32): void {
  const Tout = P.Tout, Tin = P.Tin, A = P.D, Dv = P.Dv;
  const pq = P.q, pk = P.k, w = P.w, v = P.v, m = P.m, alpha = P.alpha, c = P.c;
  for (let b = b0; b < b1; b++) {
    const pkb = at(pk, b * Tin * A), vb = at(v, b * Tin * Dv);
    const mb = m ? at(m, b * Tin) : 0;
    for (let t = 0; t < Tout; t++) {
      const row = b * Tout + t;
      const pqt = at(pq, row * A), et = at(alpha, row * Tin);
      for (let j = 0; j < Tin; j++) {
        const real = !mb || load<f32>(at(mb, j)) != 0;
        store<f32>(at(et, j), real ? additiveRow(pqt, at(pkb, j * A), w, A, 0) : 0);
      }
      maskedSoftmax(et, mb, Tin);
      contextRow(et, vb, Tin, Dv, at(c, row * Dv));
    }
  }
}

/**
 * Additive attention backward: ∂Pq, ∂Pk, ∂w and ∂V (all written) from ∂c and ∂α (0: none),
 * recomputing α and the tanh values. scratch: 2 · (2·T_in + T_in·A) floats (two threads),
 * then B·A floats for each example's share of ∂w.
 *
 * The examples are split between the threads. ∂w = Σ_b ∂w_b is a sum over the examples:
 * each example's ∂w_b = Σ_(t, j) ∂e[b, t, j] tanh(Pq[b, t] + Pk[b, j]) is summed with its
 * other gradients, in the order of (t, j), and the B shares are then added in the order of
 * b on the calling thread, so ∂w is the same bits on one thread or two.
 */
export function additiveAttentionBackward(
  B: i32, Tout: i32, Tin: i32, A: i32, Dv: i32,
  pq: usize, pk: usize, w: usize, v: usize, m: usize,
  dc: usize, dalpha: usize,
  dpq: usize, dpk: usize, dw: usize, dv: usize, scratch: usize,
): void {
  P.B = B; P.Tout = Tout; P.Tin = Tin; P.D = A; P.Dv = Dv;
  P.q = pq; P.k = pk; P.w = w; P.v = v; P.m = m; P.dc = dc; P.dalpha = dalpha; P.dq = dpq; P.dk = dpk; P.dv = dv; P.dw = dw;
  P.scratch = scratch; P.scratchFloats = 2 * Tin + Tin * A;
  P.de = at(scratch, 2 * P.scratchFloats);
  forRows(additiveBackwardRows, 0, B, 8 * work(B, Tout, Tin, A));
  // ∂w = Σ_b ∂w_b, in the order of b
  memory.fill(dw, 0, <usize>A << 2);
  for (let b = 0; b < B; b++) addArray(dw, at(P.de, b * A), A);
}

/** Examples b0 … b1−1 of {@link additiveAttentionBackward}: ∂Pq, ∂Pk, ∂V, and ∂w_b into P.de. */
function additiveBackwardRows(_k: i32, b0: i32, b1: i32): void {
  const Tout = P.Tout, Tin = P.Tin, A = P.D, Dv = P.Dv;
  const pq = P.q, pk = P.k, w = P.w, v = P.v, m = P.m, dc = P.dc, dalpha = P.dalpha;
  const dpq = P.dq, dpk = P.dk, dv = P.dv;
  const alpha = threadScratch(), g = at(alpha, Tin), u = at(alpha, 2 * Tin);
  for (let b = b0; b < b1; b++) {
    const pkb = at(pk, b * Tin * A), vb = at(v, b * Tin * Dv);
    const dpkb = at(dpk, b * Tin * A), dvb = at(dv, b * Tin * Dv), dwb = at(P.de, b * A);
    memory.fill(dpkb, 0, <usize>(Tin * A) << 2);
    memory.fill(dvb, 0, <usize>(Tin * Dv) << 2);
    memory.fill(dwb, 0, <usize>A << 2);
    const mb = m ? at(m, b * Tin) : 0;
    for (let t = 0; t < Tout; t++) {
      const row = b * Tout + t;
      const pqt = at(pq, row * A), dpqt = at(dpq, row * A);
      for (let j = 0; j < Tin; j++) {
        const real = !mb || load<f32>(at(mb, j)) != 0;
        store<f32>(at(alpha, j), real ? additiveRow(pqt, at(pkb, j * A), w, A, at(u, j * A)) : 0);
      }
      maskedSoftmax(alpha, mb, Tin);
      softmaxContextBackward(alpha, at(dc, row * Dv), dalpha ? at(dalpha, row * Tin) : 0, vb, dvb, Tin, Dv, g);
      memory.fill(dpqt, 0, <usize>A << 2);
      for (let j = 0; j < Tin; j++) {
        const de = load<f32>(at(g, j));
        if (de == 0) continue;
        additiveRowBackward(de, at(u, j * A), w, A, dpqt, at(dpkb, j * A), dwb);
      }
    }
  }
}

/** For one (t, j): with ∂e and u = tanh(Pq[t] + Pk[j]), ∂Pq[t], ∂Pk[j] += ∂e w ⊙ (1 − u²) and ∂w_b += ∂e u. */
// @ts-ignore: decorator
@inline function additiveRowBackward(de: f32, u: usize, w: usize, A: i32, dpq: usize, dpk: usize, dw: usize): void {
  let a = 0;
  if (ASC_FEATURE_SIMD) {
    const dev = f32x4.splat(de);
    const one = f32x4.splat(1);
    for (; a + 4 <= A; a += 4) {
      const h = v128.load(at(u, a));
      const gv = f32x4.mul(f32x4.mul(dev, v128.load(at(w, a))), f32x4.sub(one, f32x4.mul(h, h)));
      v128.store(at(dpq, a), f32x4.add(v128.load(at(dpq, a)), gv));
      v128.store(at(dpk, a), f32x4.add(v128.load(at(dpk, a)), gv));
      v128.store(at(dw, a), madd(dev, h, v128.load(at(dw, a))));
    }
  }
  for (; a < A; a++) {
    const h = load<f32>(at(u, a));
    const gv = de * load<f32>(at(w, a)) * (<f32>1 - h * h);
    store<f32>(at(dpq, a), load<f32>(at(dpq, a)) + gv);
    store<f32>(at(dpk, a), load<f32>(at(dpk, a)) + gv);
    store<f32>(at(dw, a), load<f32>(at(dw, a)) + de * h);
  }
}
