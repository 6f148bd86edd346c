/**
 * Gradient checking, after CS231n's `gradient_check.py` and `rel_error`: centred finite
 * differences of a scalar function, of an array function with an upstream gradient, and
 * sparse random checks for large tensors. Plain Float64Array: use it on the float64
 * reference path (src/grad/f64), where h = 1e-5 leaves ~1e-10 of truncation and rounding
 * error; in float32 (tfjs) the same check cannot do better than ~1e-3.
 */
import { Rng } from "../init";

/**
 * CS231n's relative error: max over elements of |a − b| / max(1e−8, |a| + |b|).
 *
 * Rough scale (CS231n): > 1e−2 the gradient is probably wrong; 1e−4 … 1e−2 suspicious;
 * < 1e−7 (float64, smooth functions) right. float32 gradients of the same function
 * typically agree to 1e−6 … 1e−4 elementwise; entries that nearly cancel give more.
 */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relError: lengths differ (${a.length} vs ${b.length})`);
  let worst = 0;
  for (let k = 0; k < a.length; k++) {
    const e = Math.abs(a[k] - b[k]) / Math.max(1e-8, Math.abs(a[k]) + Math.abs(b[k]));
    if (Number.isNaN(e)) return NaN; // a NaN is never hidden behind a max
    if (e > worst) worst = e;
  }
  return worst;
}

/**
 * The error relative to the tensors' scale: max |a − b| / max(1e−8, max |a| + max |b|).
 *
 * {@link relError} divides entry by entry, so one entry that nearly cancels (say 6e−5 in
 * a gradient whose largest entry is 2) carries float32's absolute rounding (~1e−8) into
 * a relative error of ~1e−4. That is float32, not a wrong derivative; this measure is not
 * fooled by it, and is what float32 comparisons should be judged by. A wrong derivative
 * shows in both.
 */
export function scaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`scaledError: lengths differ (${a.length} vs ${b.length})`);
  let diff = 0;
  let maxA = 0;
  let maxB = 0;
  for (let k = 0; k < a.length; k++) {
    const d = Math.abs(a[k] - b[k]);
    if (Number.isNaN(d)) return NaN;
    diff = Math.max(diff, d);
    maxA = Math.max(maxA, Math.abs(a[k]));
    maxB = Math.max(maxB, Math.abs(b[k]));
  }
  return diff / Math.max(1e-8, maxA + maxB);
}

/** max |a − b| over elements: the absolute counterpart of {@link relError}. */
export function maxAbsError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let k = 0; k < a.length; k++) {
    const e = Math.abs(a[k] - b[k]);
    if (Number.isNaN(e)) return NaN;
    if (e > worst) worst = e;
  }
  return worst;
}

/**
 * The centred finite difference of a scalar function (CS231n `eval_numerical_gradient`):
 * ```
 * ∂f/∂x_k ≈ (f(x + h e_k) − f(x − h e_k)) / 2h       error O(h²)
 * ```
 * `x` is changed in place while f is evaluated and restored afterwards, so f may read
 * it through a closure.
 */
export function numericalGradient(f: (x: Float64Array) => number, x: Float64Array, h = 1e-5): Float64Array {
  const grad = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) grad[k] = partial(f, x, k, h);
  return grad;
}

function partial(f: (x: Float64Array) => number, x: Float64Array, k: number, h: number): number {
  const old = x[k];
  x[k] = old + h;
  const fPlus = f(x);
  x[k] = old - h;
  const fMinus = f(x);
  x[k] = old;
  return (fPlus - fMinus) / (2 * h);
}

/**
 * The centred finite difference of an array function with an upstream gradient df
 * (CS231n `eval_numerical_gradient_array`): the gradient of Σ_j df_j f_j(x),
 * ```
 * ∂/∂x_k ≈ Σ_j df_j (f_j(x + h e_k) − f_j(x − h e_k)) / 2h
 * ```
 */
export function numericalGradientArray(
  f: (x: Float64Array) => ArrayLike<number>,
  x: Float64Array,
  df: ArrayLike<number>,
  h = 1e-5,
): Float64Array {
  const dot = (y: ArrayLike<number>) => {
    if (y.length !== df.length) throw new Error(`numericalGradientArray: f returned ${y.length} values, df has ${df.length}`);
    let acc = 0;
    for (let j = 0; j < y.length; j++) acc += y[j] * df[j];
    return acc;
  };
  return numericalGradient((z) => dot(f(z)), x, h);
}

/** One entry checked by {@link sparseGradCheck}. */
export interface SparseCheck {
  index: number;
  numeric: number;
  analytic: number;
  relError: number;
}

/**
 * Checks `analytic` at `count` random entries of x only (CS231n `grad_check_sparse`), for
 * tensors too large to difference entirely. The entries are drawn from a seeded stream.
 */
export function sparseGradCheck(
  f: (x: Float64Array) => number,
  x: Float64Array,
  analytic: ArrayLike<number>,
  count = 10,
  options: { h?: number; seed?: number } = {},
): SparseCheck[] {
  if (analytic.length !== x.length) throw new Error(`sparseGradCheck: analytic has ${analytic.length} entries, x has ${x.length}`);
  const rng = new Rng(options.seed ?? 0);
  const checks: SparseCheck[] = [];
  for (let c = 0; c < count; c++) {
    const index = rng.int(x.length);
    const numeric = partial(f, x, index, options.h ?? 1e-5);
    checks.push({ index, numeric, analytic: analytic[index], relError: relError([numeric], [analytic[index]]) });
  }
  return checks;
}
