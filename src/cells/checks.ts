/**
 * Checks on what goes into a recurrent net: shapes (before anything runs) and
 * NaN/Inf (optionally, after every step of a forward or backward pass).
 *
 * Both errors say *where*: the argument (x, h0, s0, mask, a weight), the expected shape
 * written with the repo's letters (T time, B batch, I input, H hidden, K classes) and
 * their values, the actual shape; for NaN/Inf, the pass, the timestep and the tensor.
 */
import * as tf from "@tensorflow/tfjs";

/** A dimension of an expected shape: its symbol (e.g. "4H") and its value. */
export type Dim = readonly [symbol: string, size: number];

/** Thrown when an argument has the wrong rank or size. */
export class ShapeError extends Error {
  override name = "ShapeError";
  constructor(
    message: string,
    /** The argument at fault, e.g. "x", "h0", "W". */
    readonly argument: string,
    readonly expected: readonly number[],
    readonly actual: readonly number[],
  ) {
    super(message);
  }
}

/**
 * Throws a {@link ShapeError} unless `shape` equals `expected`, e.g.
 * `lstm: W must have shape [4H, H] = [20, 5], got [20, 4]`.
 *
 * @param where the function or cell reporting ("lstm", "unroll(gru)")
 * @param argument the argument's name as the caller wrote it
 */
export function checkShape(where: string, argument: string, shape: readonly number[], expected: readonly Dim[]): void {
  const sizes = expected.map(([, n]) => n);
  if (shape.length === sizes.length && shape.every((n, k) => n === sizes[k])) return;
  const symbols = `[${expected.map(([s]) => s).join(", ")}]`;
  const rank = shape.length === sizes.length ? "" : ` (rank ${shape.length}, expected rank ${sizes.length})`;
  throw new ShapeError(
    `${where}: ${argument} must have shape ${symbols} = ${fmt(sizes)}, got ${fmt(shape)}${rank}`,
    argument,
    sizes,
    [...shape],
  );
}

/**
 * Throws a {@link ShapeError} unless `shape` has `rank` dimensions; used before the sizes
 * are known (e.g. to read H from W). `symbols` is the expected shape in letters.
 */
export function checkRank(where: string, argument: string, shape: readonly number[], symbols: readonly string[]): void {
  if (shape.length === symbols.length) return;
  throw new ShapeError(
    `${where}: ${argument} must have shape [${symbols.join(", ")}] (rank ${symbols.length}), got ${fmt(shape)} (rank ${shape.length})`,
    argument,
    [],
    [...shape],
  );
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Thrown when NaN or ±Inf shows up in a pass run with `checkFinite: true`. */
export class NonFiniteError extends Error {
  override name = "NonFiniteError";
  constructor(
    message: string,
    readonly pass: "forward" | "backward",
    /** The timestep (0-based, in the input's time order) at which it first appeared. */
    readonly t: number,
    /** The tensor's name, e.g. "s" (cell state) or "∂L/∂h". */
    readonly tensor: string,
    /** The first bad value: NaN, Infinity or -Infinity. */
    readonly value: number,
    /** Its index in the tensor, e.g. [batch row, unit]. */
    readonly index: readonly number[],
  ) {
    super(message);
  }
}

/**
 * Throws a {@link NonFiniteError} if `x` holds NaN or ±Inf, e.g.
 * `lstm forward: NaN in s at timestep t=3 (index [1, 2] of shape [2, 5]; …)`.
 * Reads the tensor back to the CPU, so it is slow: it runs only with `checkFinite: true`.
 */
export function assertFinite(where: string, pass: "forward" | "backward", t: number, tensor: string, x: tf.Tensor): void {
  const values = x.dataSync();
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (Number.isFinite(v)) continue;
    const index = unravel(k, x.shape);
    throw new NonFiniteError(
      `${where} ${pass}: ${v} in ${tensor} at timestep t=${t} (index ${fmt(index)} of shape ${fmt(x.shape)}; ` +
        `the first non-finite value in the order the pass visits the timesteps)`,
      pass,
      t,
      tensor,
      v,
      index,
    );
  }
}

function unravel(k: number, shape: readonly number[]): number[] {
  const index: number[] = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    index[d] = k % shape[d];
    k = Math.floor(k / shape[d]);
  }
  return index;
}
