/**
 * The unfolded computational graph of a recurrent network (the lecture's figure):
 *
 *   a(t) = b + W h(t−1) + U x(t)
 *   h(t) = tanh(a(t))
 *   o(t) = c + V h(t)
 *   L(t) = loss(softmax(o(t)), y(t))
 *
 * One column per time step; nodes x(t), h(t), o(t), L(t), y(t) and h(0); edges U
 * (x → h), W (h(t−1) → h(t)), V (h → o), and o, y → L. The point of the picture: the
 * same U, W, V sit on every column — the parameters are shared across time — so the
 * figure lists their shapes, drawn from the model's own sizes.
 *
 * | symbol | size  | meaning                         |
 * |--------|-------|---------------------------------|
 * | I      | input | x(t) ∈ ℝ^I                      |
 * | H      | hidden| h(t) ∈ ℝ^H                     |
 * | K      | output| o(t), y(t) ∈ ℝ^K (K classes)    |
 * | T      | steps | t = 1 … T                       |
 *
 * Explained in notebooks/01-sequences-and-the-unfolded-recurrence.ipynb.
 */
import type { Annotations, Data } from "plotly.js";
import type { Figure } from "./figure";

/** The sizes the graph is drawn from. */
export interface UnfoldedGraphSizes {
  /** T, the number of time steps. */
  steps: number;
  /** I, the size of x(t). */
  inputSize: number;
  /** H, the size of h(t). */
  hiddenSize: number;
  /** K, the size of o(t) (number of classes). */
  outputSize: number;
}

export interface UnfoldedGraphOptions {
  /** Default: "RNN unfolded over T = … steps". */
  title?: string;
  /** Most columns drawn; longer sequences show 1 … maxColumns−1, "⋯", T. Default: 6. */
  maxColumns?: number;
}

const ROW = { x: 0, h: 1, o: 2, L: 3, y: 4 } as const;
const KIND_COLOR = { x: "#2ca02c", h: "#1f77b4", o: "#ff7f0e", L: "#d62728", y: "#7f7f7f" } as const;

/**
 * @throws if a size is not a positive integer (the error names it)
 */
export function unfoldedGraph(sizes: UnfoldedGraphSizes, options: UnfoldedGraphOptions = {}): Figure {
  for (const k of ["steps", "inputSize", "hiddenSize", "outputSize"] as const) {
    const v = sizes?.[k];
    if (!Number.isInteger(v) || v < 1) throw new Error(`sizes.${k}: expected a positive integer, got ${v}`);
  }
  const { steps: T, inputSize: I, hiddenSize: H, outputSize: K } = sizes;
  const maxColumns = options.maxColumns ?? 6;
  if (!Number.isInteger(maxColumns) || maxColumns < 3) throw new Error(`maxColumns: expected an integer ≥ 3, got ${maxColumns}`);

  // Columns: the time steps drawn, with null for the "⋯" that stands for the ones left out.
  const columns: (number | null)[] = T <= maxColumns ? range(1, T) : [...range(1, maxColumns - 1), null, T];
  const sup = (t: number | string) => `<sup>(${t})</sup>`;
  const nodes: Record<keyof typeof ROW, { x: number[]; y: number[]; text: string[] }> = {
    x: { x: [], y: [], text: [] },
    h: { x: [0], y: [ROW.h], text: [`h${sup(0)}`] },
    o: { x: [], y: [], text: [] },
    L: { x: [], y: [], text: [] },
    y: { x: [], y: [], text: [] },
  };
  const arrows: Partial<Annotations>[] = [];
  const labels = { x: [] as number[], y: [] as number[], text: [] as string[] };
  const edge = (x0: number, y0: number, x1: number, y1: number, label?: string) => {
    arrows.push({
      x: x1,
      y: y1,
      ax: x0,
      ay: y0,
      xref: "x",
      yref: "y",
      axref: "x",
      ayref: "y",
      showarrow: true,
      arrowhead: 2,
      arrowsize: 1.2,
      arrowwidth: 1.5,
      arrowcolor: "#555",
      standoff: 17,
      startstandoff: 17,
      text: "",
    });
    if (label) {
      // Labels sit beside the arrow's middle: left of vertical edges, above horizontal ones.
      const vertical = x0 === x1;
      labels.x.push((x0 + x1) / 2 + (vertical ? -0.15 : 0));
      labels.y.push((y0 + y1) / 2 + (vertical ? 0 : 0.16));
      labels.text.push(`<b>${label}</b>`);
    }
  };

  const ellipsis = { x: [] as number[], y: [] as number[] };
  columns.forEach((t, c) => {
    const col = c + 1;
    if (t === null) {
      ellipsis.x.push(col);
      ellipsis.y.push(ROW.h);
      edge(col - 1, ROW.h, col, ROW.h, "W");
      return;
    }
    for (const kind of ["x", "h", "o", "L", "y"] as const) {
      nodes[kind].x.push(col);
      nodes[kind].y.push(ROW[kind]);
      nodes[kind].text.push(`${kind}${sup(t)}`);
    }
    edge(col, ROW.x, col, ROW.h, "U");
    edge(col - 1, ROW.h, col, ROW.h, "W");
    edge(col, ROW.h, col, ROW.o, "V");
    edge(col, ROW.o, col, ROW.L);
    edge(col, ROW.y, col, ROW.L);
  });

  const legendName = {
    x: `x(t) ∈ ℝ<sup>${I}</sup>: input`,
    h: `h(t) ∈ ℝ<sup>${H}</sup>: hidden state`,
    o: `o(t) ∈ ℝ<sup>${K}</sup>: output`,
    L: "L(t): loss",
    y: `y(t): target`,
  };
  const data: Data[] = (Object.keys(nodes) as (keyof typeof ROW)[]).map((kind) => ({
    type: "scatter",
    mode: "text+markers",
    name: legendName[kind],
    x: nodes[kind].x,
    y: nodes[kind].y,
    text: nodes[kind].text,
    textposition: "middle center",
    textfont: { color: "#fff", size: 13 },
    marker: { size: 34, color: KIND_COLOR[kind], line: { width: 1, color: "#333" } },
    hoverinfo: "name",
  }));
  data.push({
    type: "scatter",
    mode: "text",
    name: "shared parameters",
    x: labels.x,
    y: labels.y,
    text: labels.text,
    textfont: { size: 13, color: "#333" },
    hoverinfo: "skip",
    showlegend: false,
  });
  if (ellipsis.x.length > 0) {
    data.push({
      type: "scatter",
      mode: "text",
      name: `steps ${maxColumns - 1}…${T - 1}`,
      x: ellipsis.x,
      y: ellipsis.y,
      text: ["⋯"],
      textfont: { size: 24 },
      hoverinfo: "name",
      showlegend: false,
    });
  }

  const params = H * I + H * H + H + K * H + K;
  const shapes = `U: ${H}×${I}, W: ${H}×${H}, b: ${H}, V: ${K}×${H}, c: ${K}`;
  return {
    data,
    layout: {
      title: {
        text: options.title ?? `RNN unfolded over T = ${T} step${T === 1 ? "" : "s"}`,
        subtitle: { text: `the same ${shapes} at every step: ${params} parameters in all` },
      },
      annotations: arrows,
      xaxis: { visible: false, range: [-0.6, columns.length + 0.6] },
      yaxis: { visible: false, range: [-0.6, 4.6] },
      width: 260 + 130 * columns.length,
      height: 560,
      margin: { t: 90 },
      legend: { orientation: "h", y: -0.02 },
      hovermode: "closest",
    },
  };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
