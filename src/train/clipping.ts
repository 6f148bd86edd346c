/**
 * Gradient clipping: the standard cure for exploding gradients in RNNs (Pascanu, Mikolov &
 * Bengio, 2013; the lecture's "Vanishing/Exploding Gradients").
 *
 * ```
 * global norm:  ‖g‖ = √(Σ_k ‖g_k‖²)  over every weight k;   g_k ← g_k · min(1, c / ‖g‖)
 * per tensor:   g_k ← g_k · min(1, c / ‖g_k‖)              for each weight k on its own
 * by value:     g_k ← clip(g_k, −c, c)                      elementwise
 * ```
 * | symbol | meaning |
 * |---|---|
 * | g_k | the gradient of weight k (any shape) |
 * | c | the threshold (`maxNorm` or `limit`) |
 *
 * Global-norm clipping rescales all gradients by one factor, so the step keeps its
 * direction; per-tensor clipping rescales each weight's gradient by its own factor and so
 * turns the step. The names differ between frameworks — a silent difference worth knowing:
 * PyTorch's `clip_grad_norm_` and Keras's `global_clipnorm` are global; TensorFlow's
 * `tf.clip_by_norm` and Keras's `clipnorm` are per tensor. tfjs has neither (only
 * `tf.clipByValue`), so both are written here.
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor } from "@tensorflow/tfjs";

/** Gradients by weight name. */
export type Gradients = Record<string, Tensor>;

/** How the trainer clips (several may be given: value first, then per tensor, then global). */
export interface ClipConfig {
  /** Rescale all gradients together so that their global norm is at most this (PyTorch's clip_grad_norm_). */
  globalNorm?: number;
  /** Rescale each weight's gradient so that its own norm is at most this (tf.clip_by_norm, Keras clipnorm). */
  norm?: number;
  /** Clip every gradient entry into [−value, value] (tf.clipByValue, Keras clipvalue). */
  value?: number;
}

function checkThreshold(what: string, c: number): void {
  if (!(typeof c === "number" && c > 0 && Number.isFinite(c))) throw new Error(`${what}: the threshold must be a number > 0, got ${c}`);
}

/** ‖g‖ = √(Σ_k ‖g_k‖²), the global norm of a set of gradients, as a scalar tensor. */
export function globalNorm(grads: Gradients): Scalar {
  return tf.tidy("globalNorm", () => {
    const squares = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    if (squares.length === 0) return tf.scalar(0);
    return tf.sqrt(tf.addN(squares)) as Scalar;
  });
}

/**
 * Scales every gradient by min(1, maxNorm / ‖g‖), ‖g‖ the global norm. Returns new tensors
 * (the caller disposes both sets) and the norm before clipping, as a number.
 * A non-finite norm (NaN/Inf gradients) is returned as is and the gradients are copied
 * unscaled, so that the caller can see it and stop.
 */
export function clipByGlobalNorm(grads: Gradients, maxNorm: number): { grads: Gradients; norm: number } {
  checkThreshold("clipByGlobalNorm", maxNorm);
  const normT = globalNorm(grads);
  const norm = normT.dataSync()[0];
  normT.dispose();
  const scale = Number.isFinite(norm) && norm > maxNorm ? maxNorm / norm : 1;
  const out = tf.tidy("clipByGlobalNorm", () =>
    Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, scale === 1 ? tf.clone(g) : tf.mul(g, scale)])),
  ) as Gradients;
  return { grads: out, norm };
}

/** Scales each gradient by min(1, maxNorm / ‖g_k‖) on its own (per tensor). Returns new tensors. */
export function clipByNorm(grads: Gradients, maxNorm: number): Gradients {
  checkThreshold("clipByNorm", maxNorm);
  return tf.tidy("clipByNorm", () =>
    Object.fromEntries(
      Object.entries(grads).map(([k, g]) => {
        const n = tf.norm(g); // ‖g_k‖
        const scale = tf.minimum(1, tf.div(maxNorm, tf.maximum(n, 1e-30)));
        return [k, tf.mul(g, scale)];
      }),
    ),
  ) as Gradients;
}

/** Clips every entry into [−limit, limit]. Returns new tensors. */
export function clipByValue(grads: Gradients, limit: number): Gradients {
  checkThreshold("clipByValue", limit);
  return tf.tidy("clipByValue", () =>
    Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.clipByValue(g, -limit, limit)])),
  ) as Gradients;
}

/**
 * Applies a {@link ClipConfig}: by value, then per tensor, then by global norm. Returns new
 * tensors and the global norm of the gradients as given (before any clipping), which the
 * trainer logs and checks for NaN.
 */
export function clipGradients(grads: Gradients, config: ClipConfig = {}): { grads: Gradients; norm: number } {
  const normT = globalNorm(grads);
  const norm = normT.dataSync()[0];
  normT.dispose();
  let current = grads;
  const replace = (next: Gradients) => {
    if (current !== grads) tf.dispose(Object.values(current));
    current = next;
  };
  if (config.value !== undefined) replace(clipByValue(current, config.value));
  if (config.norm !== undefined) replace(clipByNorm(current, config.norm));
  if (config.globalNorm !== undefined) replace(clipByGlobalNorm(current, config.globalNorm).grads);
  if (current === grads) current = tf.tidy(() => Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.clone(g)]))) as Gradients;
  return { grads: current, norm };
}
