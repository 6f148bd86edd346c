/**
 * Float64 arrays for the reference path. tfjs computes in float32 only (relative precision
 * ~6e-8), too coarse for tight finite-difference checks; these plain Float64Array loops
 * are not.
 */
import type * as tf from "@tensorflow/tfjs";

/** A float64 array with a shape (row-major), the reference path's tensor. */
export interface F64 {
  shape: number[];
  data: Float64Array;
}

/** A float64 copy of a tensor (reads it back from the device). */
export function toF64(t: tf.Tensor): F64 {
  return { shape: [...t.shape], data: Float64Array.from(t.dataSync()) };
}

/** Float64 copies of every tensor in a parameter object. */
export function paramsToF64(p: object): Record<string, F64> {
  const out: Record<string, F64> = {};
  for (const [k, v] of Object.entries(p)) if (v) out[k] = toF64(v as tf.Tensor);
  return out;
}

/** A zero array of the given shape. */
export function zerosF64(shape: number[]): F64 {
  return { shape: [...shape], data: new Float64Array(shape.reduce((a, b) => a * b, 1)) };
}

/** A deep copy. */
export function cloneF64(a: F64): F64 {
  return { shape: [...a.shape], data: Float64Array.from(a.data) };
}

/** (M v)_r for rows r0 … r0+n−1 of M [R, C] and v [C]: a length-n vector. */
export function matVec(M: F64, v: Float64Array, r0 = 0, n = M.shape[0] - r0): Float64Array {
  const C = M.shape[1];
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let acc = 0;
    for (let c = 0; c < C; c++) acc += M.data[(r0 + r) * C + c] * v[c];
    out[r] = acc;
  }
  return out;
}

/** out += M[r0 : r0+n]ᵀ u for M [R, C], u [n], out [C]. */
export function addMatTVec(out: Float64Array, M: F64, u: Float64Array, r0 = 0): void {
  const C = M.shape[1];
  for (let r = 0; r < u.length; r++) {
    const ur = u[r];
    for (let c = 0; c < C; c++) out[c] += M.data[(r0 + r) * C + c] * ur;
  }
}

/** G[r0 : r0+n] += u vᵀ for G [R, C], u [n], v [C]. */
export function addOuter(G: F64, u: Float64Array, v: Float64Array, r0 = 0): void {
  const C = G.shape[1];
  for (let r = 0; r < u.length; r++) for (let c = 0; c < C; c++) G.data[(r0 + r) * C + c] += u[r] * v[c];
}

/** g[k0 + k] += u[k]. */
export function addVec(g: Float64Array, u: Float64Array, k0 = 0): void {
  for (let k = 0; k < u.length; k++) g[k0 + k] += u[k];
}

/** Elementwise map over any number of equal-length vectors. */
export function map(n: number, f: (k: number) => number): Float64Array {
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) out[k] = f(k);
  return out;
}

export function sigmoid(a: number): number {
  return 1 / (1 + Math.exp(-a));
}

/** Row b of a [B, …] array as a view (time-major slices are taken by the caller). */
export function rowOf(a: F64, b: number): Float64Array {
  const n = a.data.length / a.shape[0];
  return a.data.subarray(b * n, (b + 1) * n);
}
