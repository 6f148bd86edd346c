/**
 * Heatmaps with labelled axes: a matrix as colours, and the three the lecture needs —
 * hidden states over time, gate activations over time, attention weights.
 *
 * Orientation: time runs left to right (x), units top to bottom (y). Inputs are
 * time-major, `[T][H]` (one row per step, as an unroll produces them), and are
 * transposed for drawing. Axes are numeric with tick labels, so repeated tokens
 * ("t", "h", "e", " ", "t", …) keep their own columns.
 */
import type { ColorScale, Data, Layout } from "plotly.js";
import { Gaps, heatmapTrace, readLabels, readMatrix, type Figure, type HeatmapTrace, type Matrix } from "./figure";

export interface HeatmapOptions {
  /** Figure title. */
  title?: string;
  /** x axis title. */
  xTitle?: string;
  /** y axis title. */
  yTitle?: string;
  /** One label per column. Default: 0, 1, … */
  xLabels?: ArrayLike<string | number>;
  /** One label per row. Default: 0, 1, … */
  yLabels?: ArrayLike<string | number>;
  /** plotly colour scale. Default: "Viridis". */
  colorscale?: ColorScale;
  /** Lower end of the colour range. Default: the data's minimum. */
  zmin?: number;
  /** Upper end of the colour range. Default: the data's maximum. */
  zmax?: number;
  /** Colour bar title, e.g. "h". */
  colorbarTitle?: string;
}

/**
 * A matrix as a heatmap: `z[row][col]`, row 0 at the top.
 * @throws if `z` is empty or ragged, or labels do not match its shape
 */
export function heatmap(z: Matrix, options: HeatmapOptions = {}): Figure {
  const gaps = new Gaps();
  return draw(readMatrix("z", z, gaps), gaps, options);
}

/** The heatmap of checked values. */
function draw(values: (number | null)[][], gaps: Gaps, options: HeatmapOptions): Figure {
  const rows = values.length,
    cols = values[0].length;
  const xLabels = readLabels("xLabels", options.xLabels, cols);
  const yLabels = readLabels("yLabels", options.yLabels, rows);
  const trace = heatmapTrace({
    type: "heatmap",
    z: values,
    x: range(cols),
    y: range(rows),
    colorscale: options.colorscale ?? "Viridis",
    colorbar: { title: { text: options.colorbarTitle ?? "" } },
    hoverongaps: false,
    ...zRange(options),
    ...hoverText(values, xLabels, yLabels, options.xTitle ?? "x", options.yTitle ?? "y"),
  });
  return {
    data: [trace],
    layout: {
      title: gaps.title(options.title ?? ""),
      xaxis: { title: { text: options.xTitle ?? "" }, ...ticks(xLabels), showgrid: false },
      // automargin: long row labels push the plot right instead of being cut off.
      yaxis: { title: { text: options.yTitle ?? "" }, ...ticks(yLabels), autorange: "reversed", showgrid: false, automargin: true },
    },
  };
}

export interface HiddenStatesOptions {
  /** Default: "Hidden state h(t)". */
  title?: string;
  /** Name of the state, for the colour bar. Default: "h". */
  name?: string;
  /** Labels of the time steps. Default: 1, 2, …, T (the lecture counts from 1). */
  times?: ArrayLike<string | number>;
  /** Colour range [min, max]. Default: [-1, 1] (tanh), widened if the data go beyond. */
  range?: [number, number];
}

/**
 * Hidden state (or cell state) over time: units × time, red positive, blue negative, grey 0.
 * @param states `[T][H]`: states[t][j] is unit j at step t+1.
 */
export function hiddenStates(states: Matrix, options: HiddenStatesOptions = {}): Figure {
  const name = options.name ?? "h";
  const gaps = new Gaps();
  const byTime = readMatrix("states", states, gaps);
  const [lo, hi] = options.range ?? widen(byTime, -1, 1);
  // plotly's "RdBu" runs from blue (low) to red (high).
  return draw(transpose(byTime), gaps, {
    title: options.title ?? `Hidden state ${name}(t)`,
    xTitle: "time step t",
    yTitle: "unit",
    xLabels: readLabels("times", options.times, byTime.length, 1),
    colorscale: "RdBu",
    zmin: lo,
    zmax: hi,
    colorbarTitle: name,
  });
}

export interface GateActivationsOptions {
  /** Default: "Gate activations". */
  title?: string;
  /** Labels of the time steps. Default: 1, 2, …, T. */
  times?: ArrayLike<string | number>;
}

/**
 * Gate activations over time, one panel per gate (LSTM: i, f, o; GRU: z, r), on one
 * colour scale from 0 (closed) to 1 (open).
 *
 * @param gates gate name → `[T][H]` activations, e.g. `{ i, f, o }`. All the same shape.
 */
export function gateActivations(gates: Record<string, Matrix>, options: GateActivationsOptions = {}): Figure {
  const names = Object.keys(gates ?? {});
  if (names.length === 0) throw new Error("gates: expected { name: [T][H] activations, … }, got no gates");
  const gaps = new Gaps();
  const mats = names.map((g) => readMatrix(`gates.${g}`, gates[g], gaps));
  const T = mats[0].length,
    H = mats[0][0].length;
  mats.forEach((m, k) => {
    if (m.length !== T || m[0].length !== H) {
      throw new Error(
        `gates.${names[k]} is [${m.length}][${m[0].length}] but gates.${names[0]} is [${T}][${H}]; all gates must have the same shape [T][H]`,
      );
    }
  });
  const times = readLabels("times", options.times, T, 1);
  const n = names.length,
    gap = 0.04,
    h = (1 - gap * (n - 1)) / n;
  const layout: Partial<Layout> = { title: gaps.title(options.title ?? "Gate activations"), height: 180 + 160 * n };
  const data: Data[] = mats.map((m, k) => {
    const ax = k === 0 ? "" : String(k + 1);
    const top = 1 - k * (h + gap);
    (layout as Record<string, unknown>)[`xaxis${ax}`] = {
      anchor: `y${ax}`,
      ...ticks(times),
      showgrid: false,
      ...(k === n - 1 ? { title: { text: "time step t" } } : { showticklabels: false }),
      ...(k === 0 ? {} : { matches: "x" }),
    };
    (layout as Record<string, unknown>)[`yaxis${ax}`] = {
      anchor: `x${ax}`,
      domain: [Math.max(0, top - h), top],
      title: { text: `${names[k]}: unit` },
      ...ticks(range(H).map(String)),
      autorange: "reversed",
      showgrid: false,
    };
    return heatmapTrace({
      type: "heatmap",
      name: names[k],
      z: transpose(m),
      x: range(T),
      y: range(H),
      xaxis: `x${ax}`,
      yaxis: `y${ax}`,
      zmin: 0,
      zmax: 1,
      colorscale: "Viridis",
      showscale: k === 0,
      colorbar: { title: { text: "gate" } },
      hoverongaps: false,
      hovertemplate: `${names[k]}: t %{x}, unit %{y}: %{z:.3f}<extra></extra>`,
    });
  });
  return { data, layout };
}

export interface AttentionOptions {
  /** Default: "Attention weights". */
  title?: string;
}

/**
 * Attention weights: which source token (x) each target token (y) attends to.
 *
 * @param weights `[targetLength][sourceLength]`: weights[i][j] = α(i, j), rows usually sum to 1.
 * @param sourceTokens one label per column (the encoder's input)
 * @param targetTokens one label per row (the decoder's output)
 */
export function attentionWeights(
  weights: Matrix,
  sourceTokens: ArrayLike<string | number>,
  targetTokens: ArrayLike<string | number>,
  options: AttentionOptions = {},
): Figure {
  const gaps = new Gaps();
  const w = readMatrix("weights", weights, gaps);
  const src = readLabels("sourceTokens", sourceTokens, w[0].length);
  const tgt = readLabels("targetTokens", targetTokens, w.length);
  return draw(w, gaps, {
    title: options.title ?? "Attention weights",
    xTitle: "source",
    yTitle: "target",
    xLabels: src,
    yLabels: tgt,
    // White for α = 0, dark blue for α = 1: the strongest weight is the darkest cell
    // (plotly's "Blues" runs the other way, which makes a weight of 1 look like an empty cell).
    colorscale: [
      [0, "#ffffff"],
      [1, "#08306b"],
    ],
    zmin: 0,
    zmax: Math.max(1, ...w.flat().filter((v): v is number => v !== null)),
    colorbarTitle: "α",
  });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function transpose<T>(m: T[][]): T[][] {
  return m[0].map((_, c) => m.map((row) => row[c]));
}

/** The range [lo, hi] widened to include the data. */
function widen(m: (number | null)[][], lo: number, hi: number): [number, number] {
  for (const row of m) {
    for (const v of row) {
      if (v === null) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  return [lo, hi];
}

function zRange(o: HeatmapOptions): Partial<Record<"zmin" | "zmax", number>> {
  return { ...(o.zmin === undefined ? {} : { zmin: o.zmin }), ...(o.zmax === undefined ? {} : { zmax: o.zmax }) };
}

/** Tick labels at integer positions; at most ~40 of them so that long sequences stay readable. */
function ticks(labels: string[]): { tickmode: "array"; tickvals: number[]; ticktext: string[] } {
  const stride = labels.length <= 40 ? 1 : Math.ceil(labels.length / 20);
  const at = range(labels.length).filter((i) => i % stride === 0);
  return { tickmode: "array", tickvals: at, ticktext: at.map((i) => labels[i]) };
}

/** Hover text with the labels (not the positions) for matrices small enough to carry it. */
function hoverText(z: (number | null)[][], xl: string[], yl: string[], xt: string, yt: string): Partial<HeatmapTrace> {
  if (z.length * z[0].length > 20_000) return { hovertemplate: `${xt} %{x}, ${yt} %{y}: %{z:.3f}<extra></extra>` };
  return {
    text: z.map((row, r) => row.map((_, c) => `${xt} ${xl[c]}, ${yt} ${yl[r]}`)),
    hovertemplate: "%{text}: %{z:.3f}<extra></extra>",
  };
}
