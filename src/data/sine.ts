/**
 * Noisy sine waves: time-series forecasting, the simplest sequence → sequence task.
 *
 * Each sequence is a sine with its own frequency, phase and amplitude, plus Gaussian noise;
 * the target at every step is the clean signal `horizon` steps ahead:
 * ```
 * s(t) = A sin(2π f t + φ),   x(t) = s(t) + σ ε(t),   y(t) = s(t + horizon)
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x | [B, T, 1] | the noisy observations |
 * | y | [B, T, 1] | the clean value `horizon` steps later |
 * | f | per sequence | uniform in `frequencies` (cycles per step) |
 * | φ, A | per sequence | uniform in [0, 2π) and in `amplitudes` |
 * | σ | `noise` | the noise's standard deviation |
 *
 * Baselines to beat: predicting 0 (MSE = A²/2 on average) and repeating the last
 * observation ("persistence"), both returned by {@link sineBaselines}.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor3D } from "@tensorflow/tfjs";
import type { Rng } from "../init";
import { seededBatches, type BatchStreamOptions } from "./batches";

/** Default of {@link SineOptions.noise}: σ = 0.1. */
export const DEFAULT_SINE_NOISE = 0.1;
/** Default of {@link SineOptions.horizon}: forecast 1 step ahead. */
export const DEFAULT_SINE_HORIZON = 1;
/** Default of {@link SineOptions.frequencies}: f in [0.02, 0.1] cycles per step (periods of 10 to 50 steps). */
export const DEFAULT_SINE_FREQUENCIES: readonly [number, number] = [0.02, 0.1];
/** Default of {@link SineOptions.amplitudes}: A in [0.5, 1]. */
export const DEFAULT_SINE_AMPLITUDES: readonly [number, number] = [0.5, 1];

/** How to make noisy-sine batches. */
export interface SineOptions {
  /** T: steps per sequence. */
  length: number;
  /** B: sequences per batch. */
  batchSize: number;
  /** σ: noise standard deviation. Default: {@link DEFAULT_SINE_NOISE} (0.1). */
  noise?: number;
  /** Steps ahead to forecast. Default: {@link DEFAULT_SINE_HORIZON} (1). */
  horizon?: number;
  /** Range of frequencies f, cycles per step. Default: {@link DEFAULT_SINE_FREQUENCIES} ([0.02, 0.1]). */
  frequencies?: [number, number];
  /** Range of amplitudes A. Default: {@link DEFAULT_SINE_AMPLITUDES} ([0.5, 1]). */
  amplitudes?: [number, number];
}

/** One batch {x [B, T, 1], y [B, T, 1]} drawn from `rng`. */
export function sineBatch(options: SineOptions, rng: Rng): { x: Tensor3D; y: Tensor3D } {
  const {
    length: T,
    batchSize: B,
    noise = DEFAULT_SINE_NOISE,
    horizon = DEFAULT_SINE_HORIZON,
    frequencies = DEFAULT_SINE_FREQUENCIES,
    amplitudes = DEFAULT_SINE_AMPLITUDES,
  } = options;
  if (!(Number.isInteger(T) && T >= 1)) throw new Error(`sine: length must be an integer ≥ 1, got ${T}`);
  if (!(Number.isInteger(B) && B >= 1)) throw new Error(`sine: batchSize must be an integer ≥ 1, got ${B}`);
  if (!(Number.isInteger(horizon) && horizon >= 1)) throw new Error(`sine: horizon must be an integer ≥ 1, got ${horizon}`);
  if (!(noise >= 0)) throw new Error(`sine: noise must be ≥ 0, got ${noise}`);
  const x = new Float32Array(B * T);
  const y = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    const f = rng.uniform(frequencies[0], frequencies[1]);
    const phi = rng.uniform(0, 2 * Math.PI);
    const A = rng.uniform(amplitudes[0], amplitudes[1]);
    const s = (t: number) => A * Math.sin(2 * Math.PI * f * t + phi);
    for (let t = 0; t < T; t++) {
      x[b * T + t] = s(t) + noise * rng.normal();
      y[b * T + t] = s(t + horizon);
    }
  }
  return { x: tf.tensor3d(x, [B, T, 1]), y: tf.tensor3d(y, [B, T, 1]) };
}

/** `batches` batches from `seed` (a generator; see {@link seededBatches}). */
export function sineBatches(options: SineOptions & BatchStreamOptions): Generator<{ x: Tensor3D; y: Tensor3D }> {
  return seededBatches(sineBatch, options);
}

/** MSE of predicting 0 and of persistence (ŷ(t) = x(t)) on a batch. */
export function sineBaselines(batch: { x: Tensor3D; y: Tensor3D }): { zero: number; persistence: number } {
  return tf.tidy(() => ({
    zero: tf.mean(tf.square(batch.y)).dataSync()[0],
    persistence: tf.mean(tf.square(tf.sub(batch.y, batch.x))).dataSync()[0],
  }));
}
