// The arithmetic ceiling of a build on the running machine, for `npm run bench`: rounds of
// twelve independent multiply-add chains on registers, no memory traffic. With SIMD each
// chain is 4 lanes wide (a fused multiply-add with relaxed SIMD, a multiply and an add
// without), 96 floating-point operations a round; without SIMD, 24. Twelve chains hide the
// multiply-add's latency on two pipes; more do not fit the vector registers V8 allocates
// (a 6 × 8 or 4 × 12 product tile, with 12 accumulators and its operands, runs at half
// the speed of the 4 × 8 tile of gemm.ts, which is why that one is 4 × 8).

import { madd } from "./gemm";

/** Floating-point operations of one round of {@link fmaPeak}. */
export function fmaPeakFlops(): i32 {
  return ASC_FEATURE_SIMD ? 96 : 24;
}

/**
 * n rounds of twelve multiply-add chains c ← c·y + x, started from 0 … 11; returns the sum of
 * the chains so that the work is not optimised away.
 */
export function fmaPeak(n: i32, x: f32): f32 {
  const y: f32 = 0.999;
  if (ASC_FEATURE_SIMD) {
    const xv = f32x4.splat(x), yv = f32x4.splat(y);
    let c0 = f32x4.splat(0), c1 = f32x4.splat(1), c2 = f32x4.splat(2), c3 = f32x4.splat(3);
    let c4 = f32x4.splat(4), c5 = f32x4.splat(5), c6 = f32x4.splat(6), c7 = f32x4.splat(7);
    let c8 = f32x4.splat(8), c9 = f32x4.splat(9), c10 = f32x4.splat(10), c11 = f32x4.splat(11);
    for (let i = 0; i < n; i++) {
      c0 = madd(c0, yv, xv); c1 = madd(c1, yv, xv); c2 = madd(c2, yv, xv); c3 = madd(c3, yv, xv);
      c4 = madd(c4, yv, xv); c5 = madd(c5, yv, xv); c6 = madd(c6, yv, xv); c7 = madd(c7, yv, xv);
      c8 = madd(c8, yv, xv); c9 = madd(c9, yv, xv); c10 = madd(c10, yv, xv); c11 = madd(c11, yv, xv);
    }
    const s = f32x4.add(
      f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7))),
      f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11)),
    );
    return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
  }
  let c0: f32 = 0, c1: f32 = 1, c2: f32 = 2, c3: f32 = 3, c4: f32 = 4, c5: f32 = 5;
  let c6: f32 = 6, c7: f32 = 7, c8: f32 = 8, c9: f32 = 9, c10: f32 = 10, c11: f32 = 11;
  for (let i = 0; i < n; i++) {
    c0 = c0 * y + x; c1 = c1 * y + x; c2 = c2 * y + x; c3 = c3 * y + x; c4 = c4 * y + x; c5 = c5 * y + x;
    c6 = c6 * y + x; c7 = c7 * y + x; c8 = c8 * y + x; c9 = c9 * y + x; c10 = c10 * y + x; c11 = c11 * y + x;
  }
  return c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
}
