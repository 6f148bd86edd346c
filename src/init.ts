/**
 * Seeded weight initialisers: the same seed gives the same weights on every backend.
 *
 * The random numbers are drawn in JavaScript (mulberry32, a 32-bit generator) and only
 * then copied into a tensor, so the backend (tensorflow, wasm, cpu) cannot change them.
 * tfjs's own initialisers (`tf.randomUniform(shape, lo, hi, dtype, seed)`) are seeded
 * too, but their stream is the backend's: results differ between backends and versions.
 */
import * as tf from "@tensorflow/tfjs";

/** A seeded stream of pseudo-random numbers (mulberry32). */
export class Rng {
  private state: number;

  /** @param seed any integer (it is reduced to 32 bits); the same seed gives the same stream. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float, uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  }

  /** A float, uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** A standard normal float (Box–Muller). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]: log(u) is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** An integer, uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/**
 * A tensor with entries uniform in [−limit, limit), drawn from `rng` in row-major order.
 *
 * With limit = 1/√H this is PyTorch's default for nn.RNN/LSTM/GRU weights and biases;
 * Keras/tfjs use Glorot-uniform kernels, orthogonal recurrent kernels and zero biases.
 */
export function uniformTensor<R extends tf.Rank>(shape: readonly number[], limit: number, rng: Rng): tf.Tensor<R> {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let k = 0; k < size; k++) values[k] = rng.uniform(-limit, limit);
  const t: tf.Tensor = tf.tensor(values, [...shape], "float32");
  return t as tf.Tensor<R>;
}

/** A tensor of standard normal entries times `scale`, drawn from `rng` in row-major order. */
export function normalTensor<R extends tf.Rank>(shape: readonly number[], scale: number, rng: Rng): tf.Tensor<R> {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let k = 0; k < size; k++) values[k] = scale * rng.normal();
  const t: tf.Tensor = tf.tensor(values, [...shape], "float32");
  return t as tf.Tensor<R>;
}

/** What every cell's initialiser needs. */
export interface CellConfig {
  /** I: the size of x(t). */
  inputSize: number;
  /** H: the size of h(t) (and of the LSTM's cell state s(t)). */
  hiddenSize: number;
  /** Seed of the initialiser; default 0. Same seed → same weights on every backend. */
  seed?: number;
}

/**
 * `tf.tidy` for functions that return typed objects (interfaces such as a tape or a
 * gradient set, which TypeScript does not see as a `tf.TensorContainer`): runs `fn`,
 * keeps the tensors it returns, disposes every other tensor it made.
 */
export function tidy<T>(name: string, fn: () => T): T {
  return tf.tidy(name, fn as unknown as () => tf.TensorContainer) as unknown as T;
}

/**
 * Disposes every tensor inside any object or array (a tape, a gradient set, an unroll
 * result): `tf.dispose` for values TypeScript does not see as a `tf.TensorContainer`.
 */
export function disposeAll(...things: unknown[]): void {
  tf.dispose(things as unknown as tf.TensorContainer);
}
