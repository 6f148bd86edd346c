/**
 * Gradient flow through time: the norm of the loss gradient with respect to each
 * hidden state, ‖∇_{h(t)} L‖, against t — the picture of vanishing and exploding
 * gradients. BPTT sends the gradient from h(t+1) back to h(t) through
 *
 *   ∇_{h(t)} L = Wᵀ diag(1 − h(t+1)²) ∇_{h(t+1)} L + Vᵀ ∇_{o(t)} L,
 *
 * so it is multiplied by Wᵀ diag(1 − h²) once per step: the lines fall (or rise)
 * exponentially towards t = 1, which a log axis shows as straight lines.
 *
 * Two views of the same numbers: {@link gradientFlow} (one line per epoch, log y) and
 * {@link gradientFlowHeatmap} (t × epoch, colour = log₁₀ of the norm).
 *
 * Explained in notebooks/04-vanishing-and-exploding-gradients.ipynb.
 */
import type { Data } from "plotly.js";
import {
  Gaps,
  heatmapTrace,
  lineMode,
  logAxisTicks,
  readLabels,
  readMatrix,
  sequential,
  type Figure,
  type Matrix,
  type Series,
} from "./figure";

export interface GradientFlowOptions {
  /** Default: "Gradient flow ‖∇h(t) L‖". */
  title?: string;
  /**
   * Labels of the rows. Numbers are epochs ("epoch 3"); strings are used as they are
   * (e.g. "step 200" or "ρ(W) = 0.9"). Default: epochs 1, 2, …
   */
  epochs?: ArrayLike<string | number>;
}

const NORM = "‖∇<sub>h(t)</sub> L‖";

/**
 * ‖∇_{h(t)} L‖ against t on a log scale, one line per epoch (dark = early, bright = late).
 *
 * @param norms `[epochs][T]` (or one epoch as `[T]`): norms[e][t] is the norm at step t+1.
 *   Zeros (fully vanished) and NaN become gaps, listed in the subtitle.
 */
export function gradientFlow(norms: Matrix | Series, options: GradientFlowOptions = {}): Figure {
  const gaps = new Gaps();
  const rows = readMatrix("norms", asRows(norms), gaps, { positive: true });
  const epochs = rowNames(options.epochs, rows.length);
  const T = rows[0].length;
  const t = Array.from({ length: T }, (_, i) => i + 1);
  const legend = rows.length <= 12;
  const data: Data[] = rows.map((y, e) => ({
    type: "scatter",
    mode: lineMode(y),
    marker: { size: 4 },
    name: epochs[e],
    x: t,
    y,
    line: { color: sequential(rows.length === 1 ? 0.5 : e / (rows.length - 1)) },
    showlegend: legend || e === 0 || e === rows.length - 1,
    connectgaps: false,
    hovertemplate: `${epochs[e]}, t %{x}: %{y:.3e}<extra></extra>`,
  }));
  return {
    data,
    layout: {
      title: gaps.title(options.title ?? `Gradient flow ${NORM}`),
      xaxis: { title: { text: "time step t" } },
      yaxis: { title: { text: `${NORM} (log scale)` }, type: "log", ...logAxisTicks(rows.flat()) },
    },
  };
}

/**
 * The same norms as a t × epoch heatmap, colour = log₁₀ ‖∇_{h(t)} L‖.
 * @param norms `[epochs][T]` (or one epoch as `[T]`)
 */
export function gradientFlowHeatmap(norms: Matrix | Series, options: GradientFlowOptions = {}): Figure {
  const gaps = new Gaps();
  const rows = readMatrix("norms", asRows(norms), gaps, { positive: true });
  const epochs = rowNames(options.epochs, rows.length);
  const ticks = readLabels("epochs", options.epochs, rows.length, 1);
  const T = rows[0].length;
  const z = rows.map((r) => r.map((v) => (v === null ? null : Math.log10(v))));
  const data: Data[] = [
    heatmapTrace({
      type: "heatmap",
      z,
      x: Array.from({ length: T }, (_, i) => i + 1),
      y: Array.from({ length: rows.length }, (_, i) => i),
      colorscale: "Viridis",
      colorbar: { title: { text: "log<sub>10</sub> norm" } },
      hoverongaps: false,
      text: rows.map((r, e) => r.map((v) => `${epochs[e]}: ${v === null ? "gap" : v.toExponential(3)}`)),
      hovertemplate: "t %{x}, %{text}<extra></extra>",
    }),
  ];
  const stride = Math.max(1, Math.ceil(rows.length / 20));
  const at = epochs.map((_, i) => i).filter((i) => i % stride === 0);
  return {
    data,
    layout: {
      title: gaps.title(options.title ?? `Gradient flow log<sub>10</sub> ${NORM}`),
      xaxis: { title: { text: "time step t" }, showgrid: false },
      yaxis: { title: { text: "epoch" }, tickmode: "array", tickvals: at, ticktext: at.map((i) => ticks[i]), showgrid: false },
    },
  };
}

/** A single series is one row. */
function asRows(norms: Matrix | Series): Matrix {
  const first = (norms as ArrayLike<unknown> | null)?.[0];
  return typeof first === "number" ? [norms as Series] : (norms as Matrix);
}

/** "epoch N" for numeric (or default) row labels, the label itself for strings. */
function rowNames(labels: ArrayLike<string | number> | undefined, n: number): string[] {
  const read = readLabels("epochs", labels, n, 1);
  return read.map((l, i) => (labels === undefined || typeof labels[i] === "number" ? `epoch ${l}` : l));
}
