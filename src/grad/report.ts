/**
 * A gradient report: hand-written BPTT (tfjs, float32), autodiff (`tf.grads` on the tfjs-op
 * reference path, float32), the float64 hand BPTT and centred finite differences (float64)
 * side by side, per parameter and per timestep, as relative errors (CS231n's
 * {@link relError}, and {@link scaledError}, which float32 rounding of tiny entries does not
 * inflate).
 *
 * A cell without a float64 reference (`cell.reference`, e.g. one you are writing) still
 * gets a report: its finite differences are then taken in float32 through the tfjs forward
 * (step 1e−2 by default, so expect agreement to ~1e−3 rather than ~1e−7), and the float64
 * column is left empty.
 *
 * Explained in notebooks/03-backprop-through-time-by-hand.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import type { Cell, HiddenState } from "../cells/cell";
import type { ReadoutParams } from "../cells/readout";
import { autodiffGradients, handGradients, modelLoss, type ModelOptions } from "./gradients";
import { numericalGradient, relError, scaledError } from "./gradcheck";
import { disposeAll } from "../init";
import { checkClassIds, checkRank, checkShape } from "../cells/checks";
import { paramsToF64, toF64, type F64 } from "./f64/linalg";
import { numericGradients, referenceGradients, type RefModel } from "./f64/model";

/** How well two gradients agree: two measures (see src/grad/gradcheck.ts). */
export interface Agreement {
  /** CS231n's relative error, max over entries of |a − b| / max(1e−8, |a| + |b|). */
  rel: number;
  /** max |a − b| / max(1e−8, max |a| + max |b|): not fooled by float32 rounding of tiny entries. */
  scaled: number;
}

/** One line of a {@link GradientReport}. */
export interface ReportRow {
  /** A parameter ("U", "W", "V", …), "x", "h0"/"s0", or "x(t=k)" for a timestep. */
  name: string;
  /** How many entries were compared. */
  size: number;
  /** max |∂L/∂θ| (numeric), for scale. */
  maxAbs: number;
  /** Hand BPTT (tfjs) vs tf.grads. */
  handVsAutodiff: Agreement;
  /** Hand BPTT (tfjs, float32) vs finite differences (float64). */
  handVsNumeric: Agreement;
  /** tf.grads (float32) vs finite differences (float64). */
  autodiffVsNumeric: Agreement;
  /** Hand BPTT in float64 vs finite differences: the tight check of the derivation (absent without a float64 reference). */
  f64HandVsNumeric?: Agreement;
}

/** Hand vs autodiff vs numeric, per parameter and per timestep. */
export interface GradientReport {
  cell: string;
  /** L by the tfjs forward and the float64 reference (NaN without one). */
  loss: { tfjs: number; f64: number };
  /** How the finite differences were taken: in float64 on the cell's reference, or in float32 through tfjs. */
  numeric: "float64" | "float32";
  /** One row per parameter, then V, c, x and the initial state. */
  params: ReportRow[];
  /** One row per timestep t: ∂L/∂x(t). */
  timesteps: ReportRow[];
  /** ‖∇_h(t) L‖ per timestep, by the tfjs hand BPTT and the float64 one. */
  dhNorms: { tfjs: number[]; f64: number[] };
  /** The worst of each column. */
  worst: Omit<ReportRow, "name" | "size" | "maxAbs">;
}

/**
 * Builds a {@link GradientReport} for the lecture's model (cell + softmax readout + summed
 * cross-entropy, see `modelLoss`) at the given weights and inputs. The finite differences
 * need 2 forward passes per entry of every parameter: keep the sizes small (T≈4, H≈5).
 *
 * @param options.initialState h0 (and s0), [B, H]; zeros if missing
 * @param options.finalStateWeights adds Σ w ⊙ state(T) to L
 * @param options.h the finite-difference step (default 1e-5 in float64, 1e-2 in float32)
 *
 * @example
 * const rnn = initRnn({ inputSize: 3, hiddenSize: 5, seed: 1 });
 * const out = initReadout({ hiddenSize: 5, classes: 3, seed: 2 });
 * const x = tf.randomNormal([2, 4, 3], 0, 1, "float32", 3) as tf.Tensor3D;
 * const y = tf.tensor2d([[0, 1, 2, 1], [2, 2, 0, 1]], [2, 4], "int32");
 * console.log(formatGradientReport(gradientReport(rnnCell, rnn, out, x, y)));
 */
export function gradientReport<P extends object, S extends HiddenState, O extends S>(
  cell: Cell<P, S, O>,
  params: P,
  readoutParams: ReadoutParams,
  x: Tensor3D,
  y: Tensor2D,
  options: { initialState?: Partial<S>; finalStateWeights?: Partial<S>; h?: number } = {},
): GradientReport {
  // Before any work: an id outside [0, K) would add nothing to the loss (one-hot of zeros)
  // in the float32 columns and NaN in the float64 ones.
  checkRank("gradientReport", "x", x.shape, ["B", "T", "I"]);
  checkShape("gradientReport", "y", y.shape, [
    ["B", x.shape[0]],
    ["T", x.shape[1]],
  ]);
  checkClassIds("gradientReport", "y", y, readoutParams.V.shape[0], "V");
  const { initialState, finalStateWeights } = options;
  const hand = handGradients(cell, params, readoutParams, x, y, { initialState, finalStateWeights });
  const auto = autodiffGradients(cell, params, readoutParams, x, y, { initialState, finalStateWeights });
  const reference = cell.reference;
  let ref: ReturnType<typeof referenceGradients> | null = null;
  let num: Pick<ReturnType<typeof referenceGradients>, "grads" | "readoutGrads" | "dx" | "dInitial">;
  if (reference) {
    const model: RefModel = {
      cell: reference,
      params: paramsToF64(params),
      readout: { V: toF64(readoutParams.V), c: toF64(readoutParams.c) },
      x: toF64(x),
      y: y.dataSync(),
      initialState: initialState ? paramsToF64(initialState) : undefined,
      finalStateWeights: finalStateWeights ? paramsToF64(finalStateWeights) : undefined,
    };
    ref = referenceGradients(model);
    num = numericGradients(model, options.h ?? 1e-5);
  } else {
    num = float32NumericGradients(cell, params, readoutParams, x, y, { initialState, finalStateWeights }, options.h ?? 1e-2);
  }
  const f32 = (t: Tensor) => Float64Array.from(t.dataSync());

  const entries: [string, Tensor, Tensor, F64 | undefined, F64][] = [];
  for (const [k, g] of Object.entries(hand.grads as Record<string, Tensor | undefined>)) {
    if (g) entries.push([k, g, (auto.grads as Record<string, Tensor>)[k], ref?.grads[k], num.grads[k]]);
  }
  entries.push(["V", hand.readoutGrads.V, auto.readoutGrads.V, ref?.readoutGrads.V, num.readoutGrads.V]);
  entries.push(["c", hand.readoutGrads.c, auto.readoutGrads.c, ref?.readoutGrads.c, num.readoutGrads.c]);
  entries.push(["x", hand.dx, auto.dx, ref?.dx, num.dx]);
  for (const k of cell.stateKeys) {
    const di = (s: unknown) => (s as Record<string, Tensor>)[k];
    entries.push([`${k}0`, di(hand.dInitial), di(auto.dInitial), ref?.dInitial[k], num.dInitial[k]]);
  }
  const rows = entries.map(([name, h, a, r, n]) => row(name, f32(h), f32(a), r?.data, n.data));

  const [B, T, I] = x.shape;
  const hx = f32(hand.dx);
  const ax = f32(auto.dx);
  const sliceT = (d: Float64Array, t: number) => {
    const out = new Float64Array(B * I);
    for (let b = 0; b < B; b++) out.set(d.subarray((b * T + t) * I, (b * T + t + 1) * I), b * I);
    return out;
  };
  const timesteps = Array.from({ length: T }, (_, t) =>
    row(`x(t=${t})`, sliceT(hx, t), sliceT(ax, t), ref ? sliceT(ref.dx.data, t) : undefined, sliceT(num.dx.data, t)),
  );
  const report: GradientReport = {
    cell: cell.name,
    loss: { tfjs: hand.loss, f64: ref ? ref.loss : NaN },
    numeric: ref ? "float64" : "float32",
    params: rows,
    timesteps,
    dhNorms: { tfjs: hand.dhNorms, f64: ref ? ref.dhNorms : [] },
    worst: {
      handVsAutodiff: worstOf(rows.map((r) => r.handVsAutodiff)),
      handVsNumeric: worstOf(rows.map((r) => r.handVsNumeric)),
      autodiffVsNumeric: worstOf(rows.map((r) => r.autodiffVsNumeric)),
      ...(ref ? { f64HandVsNumeric: worstOf(rows.map((r) => r.f64HandVsNumeric!)) } : {}),
    },
  };
  disposeAll(hand, auto);
  return report;
}

function row(name: string, hand: Float64Array, auto: Float64Array, ref: Float64Array | undefined, num: Float64Array): ReportRow {
  const agree = (a: Float64Array, b: Float64Array): Agreement => ({ rel: relError(a, b), scaled: scaledError(a, b) });
  return {
    name,
    size: hand.length,
    maxAbs: num.reduce((m, v) => Math.max(m, Math.abs(v)), 0),
    handVsAutodiff: agree(hand, auto),
    handVsNumeric: agree(hand, num),
    autodiffVsNumeric: agree(auto, num),
    ...(ref ? { f64HandVsNumeric: agree(ref, num) } : {}),
  };
}

function worstOf(xs: Agreement[]): Agreement {
  const pick = (f: (a: Agreement) => number) => xs.reduce((m, a) => (Number.isNaN(f(a)) || f(a) > m ? f(a) : m), 0);
  return { rel: pick((a) => a.rel), scaled: pick((a) => a.scaled) };
}

/**
 * The report as a fixed-width table, for a notebook's output or a log: for each pair,
 * CS231n's relative error and the scale-relative one (see {@link Agreement}).
 */
export function formatGradientReport(r: GradientReport): string {
  const e = (v: number) => v.toExponential(1).padStart(8);
  const pair = (a: Agreement | undefined) => (a ? `${e(a.rel)}${e(a.scaled)}` : "—").padStart(18);
  const head =
    `${"".padEnd(9)}${"size".padStart(6)}${"max|g|".padStart(9)}` +
    ["hand~auto", "hand~num", "auto~num", "f64hand~num"].map((h) => h.padStart(18)).join("");
  const sub = `${"".padEnd(24)}${"      rel  scaled".repeat(4)}`;
  const line = (x: ReportRow) =>
    `${x.name.padEnd(9)}${String(x.size).padStart(6)}${e(x.maxAbs).padStart(9)}` +
    [x.handVsAutodiff, x.handVsNumeric, x.autodiffVsNumeric, x.f64HandVsNumeric].map(pair).join("");
  return [
    r.numeric === "float64"
      ? `${r.cell}: L = ${r.loss.tfjs.toPrecision(8)} (tfjs float32), ${r.loss.f64.toPrecision(12)} (float64)`
      : `${r.cell}: L = ${r.loss.tfjs.toPrecision(8)} (tfjs float32); no float64 reference: finite differences in float32`,
    "rel = max|a−b| / max(1e−8, |a|+|b|) per entry (CS231n); scaled = max|a−b| / max(1e−8, max|a|+max|b|)",
    head,
    sub,
    ...r.params.map(line),
    "per timestep, ∂L/∂x(t):",
    ...r.timesteps.map(line),
    ...norms("‖∇_h(t) L‖, tfjs:    ", r.dhNorms.tfjs),
    ...norms("‖∇_h(t) L‖, float64: ", r.dhNorms.f64),
  ].join("\n");
}

/** A labelled list of norms, wrapped under 100 characters a line. */
function norms(label: string, values: number[]): string[] {
  if (values.length === 0) return [];
  const lines: string[] = [];
  let line = label;
  for (const [i, v] of values.entries()) {
    const item = v.toPrecision(4) + (i < values.length - 1 ? "," : "");
    if (line.length + 1 + item.length > 96 && line.trim() !== label.trim()) {
      lines.push(line);
      line = " ".repeat(label.length);
    }
    line += (line.endsWith(" ") ? "" : " ") + item;
  }
  return [...lines, line];
}

/**
 * Centred finite differences of {@link modelLoss} in float32, through the tfjs forward on
 * the reference path: for a cell without a float64 reference. Each entry of every
 * parameter, of V, c, x and the initial state costs two forward passes.
 */
function float32NumericGradients<P extends object, S extends HiddenState, O extends S>(
  cell: Cell<P, S, O>,
  params: P,
  readoutParams: ReadoutParams,
  x: Tensor3D,
  y: Tensor2D,
  options: ModelOptions<S>,
  h: number,
): { grads: Record<string, F64>; readoutGrads: { V: F64; c: F64 }; dx: F64; dInitial: Record<string, F64> } {
  const [B] = x.shape;
  const { H } = cell.sizes(params);
  const given = (options.initialState ?? {}) as Partial<Record<string, Tensor2D>>;
  const inputs: Record<string, Tensor> = {
    ...(params as Record<string, Tensor>),
    "readout.V": readoutParams.V,
    "readout.c": readoutParams.c,
    x,
  };
  for (const k of cell.stateKeys) inputs[`initial.${k}`] = given[k] ?? tf.zeros([B, H]);
  const names = Object.keys(inputs).filter((k) => inputs[k] !== undefined);
  const loss = (values: Record<string, Tensor>): number =>
    tf.tidy(() => {
      const p = Object.fromEntries(Object.keys(params).map((k) => [k, values[k]])) as P;
      const init = Object.fromEntries(cell.stateKeys.map((k) => [k, values[`initial.${k}`]])) as unknown as Partial<S>;
      const r: ReadoutParams = { V: values["readout.V"] as Tensor2D, c: values["readout.c"] as tf.Tensor1D };
      const L = modelLoss(cell, p, r, values.x as Tensor3D, y, { ...options, initialState: init, fused: false });
      return L.dataSync()[0];
    });
  const grads: Record<string, F64> = {};
  for (const name of names) {
    const t = inputs[name];
    const data = Float64Array.from(t.dataSync());
    const g = numericalGradient(
      (v) => {
        const moved = tf.tensor(Float32Array.from(v), t.shape, "float32");
        try {
          return loss({ ...inputs, [name]: moved });
        } finally {
          moved.dispose();
        }
      },
      data,
      h,
    );
    grads[name] = { shape: t.shape, data: g };
  }
  for (const k of cell.stateKeys) if (!given[k]) inputs[`initial.${k}`].dispose();
  const pick = (prefix: string) =>
    Object.fromEntries(names.filter((n) => n.startsWith(prefix)).map((n) => [n.slice(prefix.length), grads[n]]));
  return {
    grads: Object.fromEntries(
      Object.keys(params)
        .filter((k) => grads[k])
        .map((k) => [k, grads[k]]),
    ),
    readoutGrads: { V: grads["readout.V"], c: grads["readout.c"] },
    dx: grads.x,
    dInitial: pick("initial."),
  };
}
