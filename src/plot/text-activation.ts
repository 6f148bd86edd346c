/**
 * Text coloured by one unit's activation, character by character — the picture of
 * Karpathy, Johnson & Fei-Fei (2015), "Visualizing and Understanding Recurrent
 * Networks": some cells of a character-level LSTM track quotes, line length or
 * nesting depth, and it shows as colour running along the text.
 *
 * Drawn as a heatmap with one cell per character and the character written in it;
 * lines break at "\n" (shown as ↵) and every `width` characters.
 *
 * Explained in notebooks/12-language-models-and-generation.ipynb.
 */
import { Gaps, heatmapTrace, readSeries, sameLength, type Figure, type Series } from "./figure";

export interface TextActivationOptions {
  /** Default: "Activation of unit <unit>" or "Activation". */
  title?: string;
  /** Which unit, for the title. */
  unit?: number | string;
  /** Characters per line before wrapping. Default: 48 (the figure then fits a notebook's width). */
  width?: number;
  /** Title of the colour bar, e.g. "loss (nats)" when the colour is not an activation. Default: "activation". */
  colorbarTitle?: string;
  /** Colour range [min, max]. Default: [-1, 1] (tanh), widened if the data go beyond. */
  range?: [number, number];
}

/**
 * @param text the characters the network read (one activation per character, as `Array.from(text)` splits it)
 * @param activations the unit's activation after each character
 * @throws if the lengths differ, the text is empty, or `width` is not a positive integer
 */
export function textActivation(text: string, activations: Series, options: TextActivationOptions = {}): Figure {
  if (typeof text !== "string") throw new Error(`text: expected a string, got ${typeof text}`);
  const chars = Array.from(text);
  if (chars.length === 0) throw new Error("text: empty string, nothing to plot");
  const width = options.width ?? 48;
  if (!Number.isInteger(width) || width < 1) throw new Error(`width: expected a positive integer, got ${width}`);
  const gaps = new Gaps();
  const a = readSeries("activations", activations, gaps);
  sameLength("activations", a.length, "text (characters)", chars.length);

  // Lay out the characters on lines: [row][col] → index into chars.
  const lines: number[][] = [[]];
  chars.forEach((c, i) => {
    let line = lines[lines.length - 1];
    if (line.length === width) lines.push((line = []));
    line.push(i);
    if (c === "\n") lines.push([]);
  });
  if (lines[lines.length - 1].length === 0) lines.pop();
  const cols = Math.max(...lines.map((l) => l.length));
  const pad = <T>(row: T[], fill: T) => [...row, ...new Array<T>(cols - row.length).fill(fill)];
  const z = lines.map((l) =>
    pad(
      l.map((i) => a[i]),
      null,
    ),
  );
  const shown = lines.map((l) =>
    pad(
      l.map((i) => (chars[i] === "\n" ? "↵" : escape(chars[i]))),
      "",
    ),
  );
  const hover = lines.map((l) =>
    pad(
      l.map((i) => `${escape(JSON.stringify(chars[i]))} at ${i}: ${a[i] === null ? "NaN" : a[i]!.toFixed(3)}`),
      "",
    ),
  );

  let [lo, hi] = options.range ?? [-1, 1];
  if (!options.range) {
    for (const v of a) {
      if (v === null) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const trace = heatmapTrace({
    type: "heatmap",
    z,
    text: shown,
    customdata: hover,
    texttemplate: "%{text}",
    textfont: { family: "monospace", size: 14, color: "#000" },
    hovertemplate: "%{customdata}<extra></extra>",
    colorscale: "RdBu", // plotly's runs from blue (low) to red (high)
    zmin: lo,
    zmax: hi,
    xgap: 1,
    ygap: 1,
    hoverongaps: false,
    colorbar: { title: { text: options.colorbarTitle ?? "activation" } },
  });
  const title = options.title ?? (options.unit === undefined ? "Activation" : `Activation of unit ${options.unit}`);
  return {
    data: [trace],
    layout: {
      title: gaps.title(title),
      xaxis: { visible: false, fixedrange: true },
      yaxis: { visible: false, autorange: "reversed", fixedrange: true },
      margin: { l: 10, r: 10, t: gaps.list().length ? 80 : 50, b: 10 },
      width: Math.min(1400, 140 + cols * 16),
      height: 150 + lines.length * 26,
      plot_bgcolor: "#fff",
    },
  };
}

/** plotly reads text as pseudo-HTML: "<" would start a tag. */
function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
