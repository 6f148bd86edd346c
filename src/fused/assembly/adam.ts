// Adam's update of one weight, in place, as tfjs's AdamOptimizer computes it op by op
// (src/train/adam.ts): every operation a float32 multiply, add, divide or square root,
// correctly rounded, in tfjs's order, so the results are tfjs's bits. No fused multiply-add:
// each product is rounded before it is added, as tfjs's separate Mul and Add kernels round it.

/**
 * m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  w ← (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε) · (−η) + w,
 * over n floats at g, m, v, w (m, v and w updated in place).
 * @param c1 1 − β₁ (as float32)  @param c2 1 − β₂  @param d1 1 − β₁ᵗ  @param d2 1 − β₂ᵗ
 * @param minusLr −η
 */
export function adamUpdate(
  g: usize, m: usize, v: usize, w: usize, n: i32,
  beta1: f32, beta2: f32, c1: f32, c2: f32, d1: f32, d2: f32, epsilon: f32, minusLr: f32,
): void {
  let k = 0;
  if (ASC_FEATURE_SIMD) {
    const b1 = f32x4.splat(beta1);
    const b2 = f32x4.splat(beta2);
    const vc1 = f32x4.splat(c1);
    const vc2 = f32x4.splat(c2);
    const vd1 = f32x4.splat(d1);
    const vd2 = f32x4.splat(d2);
    const ve = f32x4.splat(epsilon);
    const vlr = f32x4.splat(minusLr);
    for (; k + 4 <= n; k += 4) {
      const at: usize = <usize>k << 2;
      const gk = v128.load(g + at);
      const mk = f32x4.add(f32x4.mul(v128.load(m + at), b1), f32x4.mul(gk, vc1));
      const vk = f32x4.add(f32x4.mul(v128.load(v + at), b2), f32x4.mul(f32x4.mul(gk, gk), vc2));
      v128.store(m + at, mk);
      v128.store(v + at, vk);
      const mHat = f32x4.div(mk, vd1);
      const vHat = f32x4.div(vk, vd2);
      const step = f32x4.mul(f32x4.div(mHat, f32x4.add(f32x4.sqrt(vHat), ve)), vlr);
      v128.store(w + at, f32x4.add(step, v128.load(w + at)));
    }
  }
  for (; k < n; k++) {
    const at: usize = <usize>k << 2;
    const gk = load<f32>(g + at);
    const mk = load<f32>(m + at) * beta1 + gk * c1;
    const vk = load<f32>(v + at) * beta2 + gk * gk * c2;
    store<f32>(m + at, mk);
    store<f32>(v + at, vk);
    const step = (mk / d1 / (sqrt<f32>(vk / d2) + epsilon)) * minusLr;
    store<f32>(w + at, step + load<f32>(w + at));
  }
}
