/**
 * A time series and a model's predictions of it, with the teacher-forced and the
 * free-running parts marked.
 *
 * Teacher forcing (the lecture's "teacher forcing networks"): during the first part the
 * model's input at step t is the true y(t−1), so each prediction is one step ahead of
 * known data. Free running: from `freeRunningFrom` on, the model is fed its own previous
 * prediction ŷ(t−1), and errors compound. The free-running part is shaded.
 */
import type { Data, Layout } from "plotly.js";
import { COLORS, Gaps, lineMode, readSeries, sameLength, type Figure, type Series } from "./figure";

export interface SequencePredictionOptions {
  /** Default: "Predictions". */
  title?: string;
  /**
   * Index (0-based) of the first free-running step; steps before it are teacher-forced.
   * Default: no split (the prediction is drawn as one line, unmarked).
   */
  freeRunningFrom?: number;
  /** x of each step. Default: 1, 2, …, T. */
  x?: Series;
  /** Title of the x axis. Default: "time step t". */
  xTitle?: string;
}

/**
 * Target against prediction; with `freeRunningFrom`, the prediction is two traces
 * ("teacher-forced", "free-running", meeting at the boundary) and the free-running
 * steps are shaded.
 *
 * @param target the true series y(t), length T
 * @param prediction the model's ŷ(t), length T (NaN where there is no prediction: a gap)
 * @throws if lengths differ, a series is empty, or `freeRunningFrom` is not in 0..T
 */
export function sequencePrediction(target: Series, prediction: Series, options: SequencePredictionOptions = {}): Figure {
  const gaps = new Gaps();
  const y = readSeries("target", target, gaps);
  const yHat = readSeries("prediction", prediction, gaps);
  sameLength("prediction", yHat.length, "target", y.length);
  const T = y.length;
  let x: number[];
  if (options.x === undefined) x = y.map((_, i) => i + 1);
  else {
    const xg = new Gaps();
    x = readSeries("x", options.x, xg) as number[];
    if (xg.list().length > 0) throw new Error("x: x values must be finite numbers");
    sameLength("x", x.length, "target", T);
  }
  const k = options.freeRunningFrom;
  if (k !== undefined && !(Number.isInteger(k) && k >= 0 && k <= T)) {
    throw new Error(`freeRunningFrom: expected an integer step index in 0..${T} (the target has ${T} steps), got ${k}`);
  }

  const data: Data[] = [
    { type: "scatter", mode: lineMode(y), name: "target", x, y, line: { color: "#444", width: 2 }, connectgaps: false },
  ];
  /** Steps from..to−1; with `joinFirst`, the first point only joins the line (no marker: it belongs to the other part). */
  const predicted = (name: string, from: number, to: number, color: string, dash: "solid" | "dot", joinFirst = false): Data => ({
    type: "scatter",
    mode: to - from === 1 ? "markers" : "lines+markers",
    name,
    x: x.slice(from, to),
    y: yHat.slice(from, to),
    line: { color, dash },
    marker: { color, size: x.slice(from, to).map((_, i) => (joinFirst && i === 0 ? 0 : 5)) },
    connectgaps: false,
  });
  const layout: Partial<Layout> = {
    title: gaps.title(options.title ?? "Predictions"),
    xaxis: { title: { text: options.xTitle ?? "time step t" } },
    yaxis: { title: { text: "value" } },
    legend: { orientation: "h", y: -0.2 },
  };

  if (k === undefined) {
    data.push(predicted("prediction", 0, T, COLORS[0], "solid"));
    return { data, layout };
  }
  if (k > 0) data.push(predicted("prediction (teacher-forced)", 0, k, COLORS[0], "solid"));
  if (k < T) data.push(predicted("prediction (free-running)", Math.max(0, k - 1), T, COLORS[3], "dot", k > 0));
  // The boundary lies halfway between the last teacher-forced and the first free-running step.
  const step = T > 1 ? (x[T - 1] - x[0]) / (T - 1) : 1;
  const start = k === 0 ? x[0] - step / 2 : k === T ? x[T - 1] + step / 2 : (x[k - 1] + x[k]) / 2;
  const end = x[T - 1] + step / 2;
  layout.shapes = [
    {
      type: "rect",
      xref: "x",
      yref: "paper",
      x0: start,
      x1: end,
      y0: 0,
      y1: 1,
      fillcolor: "rgba(214,39,40,0.08)",
      line: { width: 0 },
      layer: "below",
    },
    { type: "line", xref: "x", yref: "paper", x0: start, x1: start, y0: 0, y1: 1, line: { color: "#999", dash: "dash", width: 1 } },
  ];
  layout.annotations = [
    {
      xref: "x",
      yref: "paper",
      x: start,
      y: 1,
      xanchor: "right",
      yanchor: "bottom",
      text: "teacher-forced ◀ ",
      showarrow: false,
      font: { color: COLORS[0] },
    },
    {
      xref: "x",
      yref: "paper",
      x: start,
      y: 1,
      xanchor: "left",
      yanchor: "bottom",
      text: " ▶ free-running",
      showarrow: false,
      font: { color: COLORS[3] },
    },
  ];
  return { data, layout };
}
