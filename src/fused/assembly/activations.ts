// AssemblyScript: sigmoid and tanh over float32 arrays, in place, with a Cephes-style
// exp (range reduction x = n·ln2 + r, a degree-6 polynomial for e^r, 2^n built in the
// exponent bits): about 2e−7 relative error, the same in the SIMD and the scalar build.
//
//   σ(x)    = 1 / (1 + e^(−x))
//   tanh(x) = x + x³·P(x²)                     for |x| < 0.625 (Cephes tanhf polynomial)
//           = sign(x) (1 − e^(−2|x|)) / (1 + e^(−2|x|))   otherwise

const EXP_HI: f32 = 88.3762626647949;
const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const P0: f32 = 1.9875691500e-4;
const P1: f32 = 1.3981999507e-3;
const P2: f32 = 8.3334519073e-3;
const P3: f32 = 4.1665795894e-2;
const P4: f32 = 1.6666665459e-1;
const P5: f32 = 5.0000001201e-1;
const T0: f32 = -5.70498872745e-3;
const T1: f32 = 2.06390887954e-2;
const T2: f32 = -5.37397155531e-2;
const T3: f32 = 1.33314422036e-1;
const T4: f32 = -3.33332819422e-1;
const TANH_SMALL: f32 = 0.625;
const MAGIC: f32 = 12582912.0; // 1.5·2^23, whose bits are 0x4B400000
const MAGIC_BITS: i32 = 0x4b400000;

/** e^x for one float32 (clamped to ±88.38, so never Inf). */
// @ts-ignore: decorator
@inline export function expScalar(x: f32): f32 {
  x = min<f32>(max<f32>(x, -EXP_HI), EXP_HI);
  const fx = Mathf.floor(x * LOG2E + <f32>0.5);
  x = x - fx * LN2_HI - fx * LN2_LO;
  const z = x * x;
  let y = P0;
  y = y * x + P1;
  y = y * x + P2;
  y = y * x + P3;
  y = y * x + P4;
  y = y * x + P5;
  y = y * z + x + <f32>1.0;
  return y * reinterpret<f32>((<i32>fx + 127) << 23);
}

// @ts-ignore: decorator
@inline function sigmoidScalar(x: f32): f32 {
  return <f32>1.0 / (<f32>1.0 + expScalar(-x));
}

// @ts-ignore: decorator
@inline function tanhScalar(x: f32): f32 {
  const ax = Mathf.abs(x);
  if (ax < TANH_SMALL) {
    const z = x * x;
    let y = T0;
    y = y * z + T1;
    y = y * z + T2;
    y = y * z + T3;
    y = y * z + T4;
    return y * z * x + x;
  }
  const e = expScalar(<f32>-2.0 * ax);
  const t = (<f32>1.0 - e) / (<f32>1.0 + e);
  return x < 0 ? -t : t;
}

// @ts-ignore: decorator
@inline function expV(x: v128): v128 {
  // pmax/pmin: one x86 instruction each, where min/max take several to order NaN and −0 as
  // wasm's min/max do; the same result for every x, NaN included (it passes through)
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-EXP_HI)), f32x4.splat(EXP_HI));
  const fx = f32x4.floor(f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(0.5)));
  x = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(LN2_HI)));
  x = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(LN2_LO)));
  const z = f32x4.mul(x, x);
  let y = f32x4.splat(P0);
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(P1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(P2));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(P3));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(P4));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(P5));
  y = f32x4.add(f32x4.add(f32x4.mul(y, z), x), f32x4.splat(1.0));
  // 2^n in the exponent bits. fx is a whole number in [−128, 128]: added to 1.5·2^23 its low
  // bits are n + 0x400000 (one add, where trunc_sat_f32x4_s takes several instructions), and
  // (n + 127) << 23 is (those bits + 127 − 0x4B400000) << 23.
  const nb = f32x4.add(fx, f32x4.splat(MAGIC));
  return f32x4.mul(y, i32x4.shl(i32x4.add(nb, i32x4.splat(127 - MAGIC_BITS)), 23));
}

// @ts-ignore: decorator
@inline export function sigmoidV(x: v128): v128 {
  const one = f32x4.splat(1.0);
  return f32x4.div(one, f32x4.add(one, expV(f32x4.neg(x))));
}

// @ts-ignore: decorator
@inline export function tanhV(x: v128): v128 {
  const ax = f32x4.abs(x);
  // large |x|: (1 − e)/(1 + e) with e = e^(−2|x|), sign restored below
  const e = expV(f32x4.mul(ax, f32x4.splat(-2.0)));
  const one = f32x4.splat(1.0);
  const big = f32x4.div(f32x4.sub(one, e), f32x4.add(one, e));
  // small |x|: x + x³ P(x²)
  const z = f32x4.mul(x, x);
  let y = f32x4.splat(T0);
  y = f32x4.add(f32x4.mul(y, z), f32x4.splat(T1));
  y = f32x4.add(f32x4.mul(y, z), f32x4.splat(T2));
  y = f32x4.add(f32x4.mul(y, z), f32x4.splat(T3));
  y = f32x4.add(f32x4.mul(y, z), f32x4.splat(T4));
  const small = f32x4.add(f32x4.mul(f32x4.mul(y, z), x), x);
  const signed = v128.or(big, v128.and(x, f32x4.splat(-0.0))); // copy x's sign bit onto |tanh|
  return v128.bitselect(small, signed, f32x4.lt(ax, f32x4.splat(TANH_SMALL)));
}

/** a[k] = σ(a[k]) for k < n. */
export function sigmoidArray(a: usize, n: i32): void {
  let k = 0;
  if (ASC_FEATURE_SIMD) {
    for (; k + 4 <= n; k += 4) {
      const p = a + (<usize>k << 2);
      v128.store(p, sigmoidV(v128.load(p)));
    }
  }
  for (; k < n; k++) {
    const p = a + (<usize>k << 2);
    store<f32>(p, sigmoidScalar(load<f32>(p)));
  }
}

/** a[k] = tanh(a[k]) for k < n. */
export function tanhArray(a: usize, n: i32): void {
  let k = 0;
  if (ASC_FEATURE_SIMD) {
    for (; k + 4 <= n; k += 4) {
      const p = a + (<usize>k << 2);
      v128.store(p, tanhV(v128.load(p)));
    }
  }
  for (; k < n; k++) {
    const p = a + (<usize>k << 2);
    store<f32>(p, tanhScalar(load<f32>(p)));
  }
}

/** d[k] = dy[k] (1 − y[k]²) for k < n: tanh's backward from its output y. */
export function tanhBackwardArray(y: usize, dy: usize, d: usize, n: i32): void {
  let k = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1.0);
    for (; k + 4 <= n; k += 4) {
      const o = <usize>k << 2;
      const yk = v128.load(y + o);
      v128.store(d + o, f32x4.mul(v128.load(dy + o), f32x4.sub(one, f32x4.mul(yk, yk))));
    }
  }
  for (; k < n; k++) {
    const o = <usize>k << 2;
    const yk = load<f32>(y + o);
    store<f32>(d + o, load<f32>(dy + o) * (<f32>1 - yk * yk));
  }
}

/** a[k] += b[k] for k < n. */
export function addArray(a: usize, b: usize, n: i32): void {
  let k = 0;
  if (ASC_FEATURE_SIMD) {
    for (; k + 4 <= n; k += 4) {
      const o = <usize>k << 2;
      v128.store(a + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
    }
  }
  for (; k < n; k++) {
    const o = <usize>k << 2;
    store<f32>(a + o, load<f32>(a + o) + load<f32>(b + o));
  }
}
