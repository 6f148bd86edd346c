/**
 * How an assignment's checks compare a student's answer with the right one, and what they
 * say when it is wrong.
 *
 * A check names the quantity ("∂W", "h(t)"), computes the right value on the float64
 * reference path, and calls {@link expectClose}. A wrong answer throws a
 * {@link CheckFailure} whose message says which quantity, how far off, and, where the
 * answer matches a known mistake, what that mistake usually is:
 *
 * ```
 * rnnStepBackward: ∂W is wrong: error 0.50 (must be below 1e-4).
 *   It is about 2× the right value: did you add the step's gradient twice?
 * ```
 * Mistakes are recognised two ways: by the check's own list of wrong variants (each
 * computed from the reference with the mistake made on purpose, e.g. without (1 − h²)),
 * and by a few patterns any quantity can show: a constant factor, the opposite sign, a
 * transposed matrix, all zeros, NaN.
 *
 * Tolerances are for float32 (tfjs on wasm, cpu or tfjs-node) against float64: errors
 * are measured with {@link scaledError}, which float32 rounding keeps near 1e−7, so a
 * bound of 1e−4 passes every correct answer on every backend and fails every real mistake.
 */
import * as tf from "@tensorflow/tfjs";
import { scaledError } from "../grad/gradcheck";

/** The default bound on {@link scaledError} for a float32 answer against a float64 reference. */
export const FLOAT32_TOLERANCE = 1e-4;

/** Thrown by a check when an answer is wrong; the message is written for the student. */
export class CheckFailure extends Error {
  override name = "CheckFailure";
  /** The seqlab kernel shows a check's failure as its message alone, without a stack. */
  readonly hideStack = true;
  constructor(
    message: string,
    /** The quantity at fault, e.g. "∂W". */
    readonly quantity: string,
    /** How far off it was ({@link scaledError}), or NaN when the shape was wrong. */
    readonly error: number,
    /** The mistake it was recognised as, if any. */
    readonly mistake?: string,
  ) {
    super(message);
  }
}

/** A value a check knows how to get, or a student's tensor. */
export type Numbers = tf.Tensor | ArrayLike<number> | number;

/** A wrong variant of the right value and what it usually means. */
export interface Mistake {
  /** The wrong value, computed from the reference with the mistake made on purpose. */
  value: Numbers;
  /** What a student who gets this value has probably done, as a question or a hint. */
  hint: string;
  /** A short name for tests and reports, e.g. "missing-tanh-derivative". */
  name: string;
}

/** Options of {@link expectClose}. */
export interface CloseOptions {
  /** The expected shape; checked first (default: the shape is not checked). */
  shape?: readonly number[];
  /** Bound on {@link scaledError} (default {@link FLOAT32_TOLERANCE}). */
  tolerance?: number;
  /** Known wrong variants, tried in order. */
  mistakes?: readonly Mistake[];
  /** Hints for a constant factor, keyed by the factor, e.g. `{ 2: "did you …?" }`. */
  factorHints?: Readonly<Record<number, string>>;
}

/** The numbers of a value (reading a tensor's data; the tensor is not disposed). */
export function numbersOf(v: Numbers): Float64Array {
  if (typeof v === "number") return Float64Array.of(v);
  if (v instanceof tf.Tensor) {
    if (v.isDisposed) throw new TypeError("the tensor was disposed before the check could read it");
    return Float64Array.from(v.dataSync() as ArrayLike<number>);
  }
  return Float64Array.from(v);
}

function shapeOf(v: Numbers): number[] | undefined {
  if (typeof v === "number") return [];
  return v instanceof tf.Tensor ? v.shape : undefined;
}

function fmtShape(s: readonly number[]): string {
  return `[${s.join(", ")}]`;
}

/** A number short enough for a message: 2 significant digits, exponent when small. */
export function fmtError(e: number): string {
  if (!Number.isFinite(e)) return String(e);
  if (e === 0) return "0";
  return e < 1e-3 ? e.toExponential(1).replace(".0e", "e") : e.toPrecision(2);
}

/** The factor c minimising |got − c·want|, and the error left after it. */
function bestFactor(got: Float64Array, want: Float64Array): { factor: number; error: number } {
  let gw = 0;
  let ww = 0;
  for (let k = 0; k < got.length; k++) {
    gw += got[k] * want[k];
    ww += want[k] * want[k];
  }
  if (ww === 0) return { factor: NaN, error: Infinity };
  const factor = gw / ww;
  return {
    factor,
    error: scaledError(
      got,
      want.map((w) => factor * w),
    ),
  };
}

/** A factor near a simple number (±1, ±2, ±1/2, ±3, ±4, …), as that number; else undefined. */
function simpleFactor(c: number): number | undefined {
  const candidates = [-1, 2, -2, 0.5, -0.5, 3, 4, 0.25, 1 / 3];
  for (const s of candidates) if (Math.abs(c - s) <= 0.02 * Math.abs(s)) return s;
  if (Math.abs(c) >= 1.5 && Math.abs(c - Math.round(c)) <= 0.02 * Math.abs(c)) return Math.round(c);
  if (Math.abs(c) > 0 && Math.abs(c) < 0.7) {
    const r = Math.round(1 / c);
    if (Math.abs(1 / c - r) <= 0.02 * Math.abs(r) && r !== 0) return 1 / r;
  }
  return undefined;
}

function factorText(s: number): string {
  if (s === -1) return "the right value with the opposite sign";
  if (Math.abs(s) >= 1) return `about ${s}× the right value`;
  return `about 1/${Math.round(1 / s)} of the right value`;
}

/**
 * Throws a {@link CheckFailure} unless `got` equals `want` within the tolerance; returns
 * the error ({@link scaledError}) when it does.
 *
 * @param where the function being checked, as the student named it ("rnnStepBackward")
 * @param quantity what is compared, in the lecture's symbols ("∂W", "h(t)")
 * @param got the student's value
 * @param want the right value (float64 reference)
 */
export function expectClose(where: string, quantity: string, got: Numbers, want: Numbers, options: CloseOptions = {}): number {
  const tolerance = options.tolerance ?? FLOAT32_TOLERANCE;
  const head = `${where}: ${quantity}`;
  if (got === undefined || got === null) {
    throw new CheckFailure(`${head} is missing: the function returned nothing for it.`, quantity, NaN);
  }
  if (typeof got !== "number" && !(got instanceof tf.Tensor) && typeof (got as ArrayLike<number>).length !== "number") {
    throw new CheckFailure(`${head} must be a tensor, got ${typeof got}.`, quantity, NaN);
  }
  const gotShape = shapeOf(got);
  const want64 = numbersOf(want);
  if (options.shape && gotShape) {
    const expected = options.shape;
    const same = gotShape.length === expected.length && gotShape.every((n, k) => n === expected[k]);
    if (!same) {
      const transposed = gotShape.length === 2 && expected.length === 2 && gotShape[0] === expected[1] && gotShape[1] === expected[0];
      throw new CheckFailure(
        `${head} has shape ${fmtShape(gotShape)}, expected ${fmtShape(expected)}.` +
          (transposed ? " It looks transposed: check the order of the matMul's arguments, or transpose it." : ""),
        quantity,
        NaN,
        transposed ? "transposed" : "shape",
      );
    }
  }
  const got64 = numbersOf(got);
  if (got64.length !== want64.length) {
    throw new CheckFailure(`${head} has ${got64.length} numbers, expected ${want64.length}.`, quantity, NaN, "shape");
  }
  const error = scaledError(got64, want64);
  if (error <= tolerance) return error;

  const fail = (why: string, mistake?: string): never => {
    throw new CheckFailure(
      `${head} is wrong: error ${fmtError(error)} (must be below ${fmtError(tolerance)}).\n  ${why}`,
      quantity,
      error,
      mistake,
    );
  };
  if (got64.some((v) => !Number.isFinite(v))) {
    fail("It holds NaN or Infinity: look for a division by zero, a log of 0, or an exp that overflows.", "non-finite");
  }
  for (const m of options.mistakes ?? []) {
    const wrong = numbersOf(m.value);
    if (wrong.length === got64.length && scaledError(got64, wrong) <= Math.max(tolerance, 1e-3)) fail(m.hint, m.name);
  }
  if (got64.every((v) => v === 0) && want64.some((v) => v !== 0)) {
    fail("It is all zeros: is something never added in, or multiplied by a zero you did not mean?", "zeros");
  }
  if (gotShape && gotShape.length === 2 && gotShape[0] === gotShape[1] && gotShape[0] > 1) {
    const n = gotShape[0];
    const t = got64.map((_, k) => got64[(k % n) * n + Math.floor(k / n)]);
    if (scaledError(t, want64) <= Math.max(tolerance, 1e-3)) {
      fail("Its transpose is right: the outer product (or the matMul) has its arguments the wrong way round.", "transposed");
    }
  }
  const { factor, error: left } = bestFactor(got64, want64);
  if (left <= Math.max(tolerance, 1e-3)) {
    const s = simpleFactor(factor);
    if (s !== undefined) {
      const hint = options.factorHints?.[s];
      fail(`It is ${factorText(s)}${hint ? `: ${hint}` : "."}`, `factor ${s}`);
    }
    fail(`It is the right value times ${factor.toPrecision(3)}: a scale is wrong somewhere.`, "factor");
  }
  fail("It matches no mistake this check knows; compare your code with the equations term by term.");
  throw new Error("unreachable");
}

/** Prints the line a check prints when everything it compared was right. */
export function passed(where: string, what: string, worst: number): void {
  console.log(`✓ ${where}: ${what} (largest error ${fmtError(worst)})`);
}

/**
 * Calls the student's function, turning "not implemented yet" and other throws into a
 * {@link CheckFailure} that says which function and what it threw.
 */
export function callStudent<R>(where: string, run: () => R): R {
  try {
    return run();
  } catch (e) {
    if (e instanceof CheckFailure) throw e;
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    if (/not implemented yet/i.test(message)) {
      throw new CheckFailure(
        `${where} is not implemented yet: write it in the cell above, run that cell, then this one.`,
        where,
        NaN,
        "stub",
      );
    }
    throw new CheckFailure(`${where} threw ${message}`, where, NaN, "threw");
  }
}
