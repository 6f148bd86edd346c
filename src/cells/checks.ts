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
  throw new ShapeError(`${where}: ${argument} must have shape ${symbols} = ${fmt(sizes)}, got ${fmt(shape)}${rank}`, argument, sizes, [
    ...shape,
  ]);
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

/** Thrown when a configuration field (a size, a count) is not a usable value. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    message: string,
    /** The field at fault, e.g. "hiddenSize". */
    readonly field: string,
    /** The value that came. */
    readonly actual: unknown,
  ) {
    super(message);
  }
}

/**
 * Throws a {@link ConfigError} unless `value` is a positive whole number, e.g.
 * `initLstm: hiddenSize must be a positive integer (the H of every [B, H] state), got 0`.
 *
 * @param where the function reporting ("initLstm")
 * @param field the configuration field ("hiddenSize")
 * @param meaning what the size is, in the repo's letters ("the H of every [B, H] state")
 */
export function checkSize(where: string, field: string, value: unknown, meaning: string): void {
  if (typeof value === "number" && Number.isInteger(value) && value > 0) return;
  const got = typeof value === "string" ? `the string ${JSON.stringify(value)}` : String(value);
  throw new ConfigError(`${where}: ${field} must be a positive integer (${meaning}), got ${got}`, field, value);
}

/**
 * Checks what goes into one step of a cell, before any work: x(t) must be [B, I] with the
 * cell's I, and each state tensor (h, and s for the LSTM) [B, H] with the same B, e.g.
 * `lstmStep: s must have shape [B, H] = [2, 5], got [3, 5] (B is x's batch size)`.
 * Shapes only: nothing is read back from the backend.
 *
 * @param sizes I and H, from the parameters (the cell's `…Sizes` function)
 * @param state the state tensors by name, e.g. `{h: prev.h, s: prev.s}`; a missing one is an error
 */
export function checkStep(
  where: string,
  sizes: { I: number; H: number },
  x: tf.Tensor,
  state: Readonly<Record<string, tf.Tensor | undefined>>,
): void {
  const { I, H } = sizes;
  if (!x || !Array.isArray(x.shape))
    throw new ShapeError(`${where}: x must be a tensor [B, I] = [B, ${I}], got ${String(x)}`, "x", [-1, I], []);
  checkRank(where, "x", x.shape, ["B", "I"]);
  const B = x.shape[0];
  checkShape(where, "x", x.shape, [
    ["B", B],
    ["I", I],
  ]);
  for (const [name, t] of Object.entries(state)) {
    if (!t || !Array.isArray(t.shape)) {
      throw new ShapeError(`${where}: ${name} must be a tensor [B, H] = [${B}, ${H}], got ${String(t)}`, name, [B, H], []);
    }
    const ok = t.shape.length === 2 && t.shape[0] === B && t.shape[1] === H;
    if (ok) continue;
    const batch = t.shape.length === 2 && t.shape[1] === H ? " (B is x's batch size)" : "";
    try {
      checkShape(where, name, t.shape, [
        ["B", B],
        ["H", H],
      ]);
    } catch (e) {
      if (e instanceof ShapeError) throw new ShapeError(e.message + batch, e.argument, e.expected, e.actual);
      throw e;
    }
  }
}

/** Checks a cell's {inputSize, hiddenSize} before its parameters are made. */
export function checkCellConfig(where: string, config: { inputSize: unknown; hiddenSize: unknown }, gates = 1): void {
  checkSize(where, "inputSize", config?.inputSize, "I, the size of x(t)");
  checkSize(where, "hiddenSize", config?.hiddenSize, "H, the size of h(t)");
  const [I, H] = [config.inputSize as number, config.hiddenSize as number];
  const count = gates * H * (I + H + 1); // U [gH, I], W [gH, H], b [gH]
  if (count > MAX_CELL_PARAMETERS) {
    const gb = (n: number) => `${((4 * n) / 2 ** 30).toFixed(1)} GB`;
    throw new ConfigError(
      `${where}: hiddenSize ${H} with inputSize ${I} gives ${count.toLocaleString("en-US")} parameters (${gb(count)} of float32, ` +
        `and as much again for each gradient and optimizer slot); a cell takes at most ${MAX_CELL_PARAMETERS.toLocaleString("en-US")} ` +
        `(${gb(MAX_CELL_PARAMETERS)}). Typical hidden sizes are 16 to 1024.`,
      "hiddenSize",
      H,
    );
  }
}

/** The most parameters one cell may have (2²⁷ floats, 512 MB): far above any model a laptop trains, far below what would exhaust it. */
export const MAX_CELL_PARAMETERS = 2 ** 27;

/** Thrown when a label, token id or mask value is outside what is allowed. */
export class ValueError extends Error {
  override name = "ValueError";
  constructor(
    message: string,
    /** The argument at fault, e.g. "y", "mask". */
    readonly argument: string,
    /** The first bad value. */
    readonly value: number,
    /** Its index in the argument, e.g. [batch row, timestep]. */
    readonly index: readonly number[],
  ) {
    super(message);
  }
}

/**
 * Throws a {@link ValueError} unless every entry of `y` is a class id, an integer in
 * [0, K), e.g. `sequenceLoss: y holds 7 at index [1, 3] (of shape [2, 4]); class ids must be
 * integers in [0, K) = [0, 5), K from o`. Reads `y` back from the backend once.
 *
 * @param source where K comes from, e.g. "o" or "V"
 */
export function checkClassIds(where: string, argument: string, y: tf.Tensor, K: number, source: string): void {
  const values = y.dataSync();
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (Number.isInteger(v) && v >= 0 && v < K) continue;
    const index = unravel(k, y.shape);
    throw new ValueError(
      `${where}: ${argument} holds ${v} at index ${fmt(index)} (of shape ${fmt(y.shape)}); ` +
        `class ids must be integers in [0, K) = [0, ${K}), K from ${source}`,
      argument,
      v,
      index,
    );
  }
}

/**
 * Throws a {@link ValueError} unless every entry of `mask` is 0 or 1, e.g.
 * `unroll(lstm): mask holds 0.5 at index [0, 2] (of shape [2, 4]); a mask holds 1 (real step) or 0 (padding)`.
 * Reads the mask back from the backend once.
 */
export function checkMaskValues(where: string, argument: string, mask: tf.Tensor): void {
  const values = mask.dataSync();
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (v === 0 || v === 1) continue;
    const index = unravel(k, mask.shape);
    throw new ValueError(
      `${where}: ${argument} holds ${v} at index ${fmt(index)} (of shape ${fmt(mask.shape)}); ` +
        `a mask holds 1 (real step) or 0 (padding)`,
      argument,
      v,
      index,
    );
  }
}
