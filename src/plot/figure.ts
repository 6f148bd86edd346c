/**
 * What every figure builder in src/plot returns, and the input checks they share.
 *
 * A figure is a plain plotly.js `{data, layout}` object: JSON all the way down (no
 * typed arrays, no functions), so it can be inspected in a test, sent to a notebook
 * as `application/vnd.plotly.v1+json`, or written into an HTML page as is.
 *
 * Bad input never gives a silently blank plot. Wrong shapes, empty series and
 * non-numbers throw an Error that names the argument; NaN and ±Infinity become
 * gaps (`null`, which plotly leaves out) and the figure's subtitle says where they are.
 */
import type { Data, Layout, LayoutAxis, PlotData } from "plotly.js";

/** A plotly.js figure: traces and layout, plain JSON. */
export interface Figure {
  data: Data[];
  layout: Partial<Layout>;
}

/**
 * A heatmap trace. @types/plotly.js types `text` and `customdata` as one value per
 * trace or per point; a heatmap takes them per cell (`[row][col]`), which plotly.js does.
 */
export type HeatmapTrace = Omit<Partial<PlotData>, "type" | "z" | "text" | "customdata"> & {
  type: "heatmap";
  z: (number | null)[][];
  text?: string[][];
  customdata?: string[][];
};

/** {@link HeatmapTrace} as plotly's `Data` (see there why the types differ). */
export function heatmapTrace(trace: HeatmapTrace): Data {
  return trace as unknown as Data;
}

/** A series of numbers: `number[]`, `Float32Array`, `Float64Array`… */
export type Series = ArrayLike<number>;

/** Rows of numbers: `number[][]`, `Float32Array[]`, what `tensor.arraySync()` gives for a 2-D tensor. */
export type Matrix = ArrayLike<ArrayLike<number>>;

/** Throws unless `fig` looks like a plotly figure. */
export function checkFigure(fig: Figure): void {
  if (fig === null || typeof fig !== "object" || !Array.isArray(fig.data)) {
    throw new Error("fig: expected a plotly figure { data: [...traces], layout: {...} }, as the seqlab plot builders return");
  }
}

/** Non-finite values found while reading input, for the figure's subtitle. */
export class Gaps {
  private notes: string[] = [];

  /** Records that `name` had non-finite values at `at`: indices ("3") or cells ("[1][2]"). */
  add(name: string, at: string[], why = "NaN/±Infinity"): void {
    if (at.length === 0) return;
    const where = at.length <= 5 ? at.join(", ") : `${at.slice(0, 5).join(", ")} … (${at.length} in all)`;
    const index = at[0].startsWith("[") ? "" : at.length === 1 ? "index " : "indices ";
    this.notes.push(`${name}: ${at.length} ${why} value${at.length === 1 ? "" : "s"} shown as gaps (at ${index}${where})`);
  }

  /** The warnings, one per argument; empty when the input was clean. */
  list(): string[] {
    return [...this.notes];
  }

  /** A layout title with the warnings as a red subtitle (plotly ≥ 3). */
  title(text: string): Partial<Layout>["title"] {
    if (this.notes.length === 0) return { text };
    return { text, subtitle: { text: `⚠ ${this.notes.join("; ")}`, font: { color: "#b00020", size: 11 } } };
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  return typeof v === "object" ? ((v as object).constructor?.name ?? "an object") : `${typeof v} ${String(v)}`;
}

function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return (
    v !== null &&
    typeof v === "object" &&
    typeof (v as ArrayLike<unknown>).length === "number" &&
    Number.isInteger((v as ArrayLike<unknown>).length)
  );
}

/**
 * Reads a series of numbers. NaN/±Infinity (and, with `positive`, values ≤ 0, which a
 * log axis cannot show) become `null` and are reported to `gaps`.
 *
 * @param name the argument's name, used in errors ("loss", "runs[1].valLoss")
 * @throws if `values` is not an array of numbers, is empty, or has no drawable value
 */
export function readSeries(name: string, values: Series, gaps: Gaps, opts: { positive?: boolean } = {}): (number | null)[] {
  if (!isArrayLike(values)) throw new Error(`${name}: expected an array of numbers, got ${describe(values)}`);
  if (values.length === 0) throw new Error(`${name}: empty series, nothing to plot`);
  const out: (number | null)[] = new Array(values.length);
  const bad: string[] = [];
  const notPositive: string[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== "number") throw new Error(`${name}[${i}]: expected a number, got ${describe(v)}`);
    if (!Number.isFinite(v)) {
      bad.push(String(i));
      out[i] = null;
    } else if (opts.positive && v <= 0) {
      notPositive.push(String(i));
      out[i] = null;
    } else {
      out[i] = v;
    }
  }
  if (bad.length + notPositive.length === values.length) {
    const what = notPositive.length === 0 ? "NaN or ±Infinity" : "NaN, ±Infinity or ≤ 0 (a log axis cannot show them)";
    throw new Error(`${name}: all ${values.length} values are ${what}, nothing to plot`);
  }
  gaps.add(name, bad);
  gaps.add(name, notPositive, "≤ 0 (log axis)");
  return out;
}

/**
 * Reads a rectangular matrix (rows of equal length). Non-finite entries become `null`
 * and are reported to `gaps` as `name[row][col]`.
 *
 * @throws if `rows` is not an array of arrays of numbers, is empty, ragged, or all non-finite
 */
export function readMatrix(name: string, rows: Matrix, gaps: Gaps, opts: { positive?: boolean } = {}): (number | null)[][] {
  if (!isArrayLike(rows)) throw new Error(`${name}: expected an array of rows (number[][]), got ${describe(rows)}`);
  if (rows.length === 0) throw new Error(`${name}: no rows, nothing to plot`);
  const cols = isArrayLike(rows[0]) ? rows[0].length : -1;
  if (cols <= 0) throw new Error(`${name}[0]: expected a non-empty row of numbers, got ${describe(rows[0])}`);
  const out: (number | null)[][] = [];
  const bad: string[] = [];
  let drawn = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (!isArrayLike(row)) throw new Error(`${name}[${r}]: expected a row of numbers, got ${describe(row)}`);
    if (row.length !== cols) {
      throw new Error(`${name}: rows must have equal lengths; row 0 has ${cols} values, row ${r} has ${row.length}`);
    }
    const o: (number | null)[] = new Array(cols);
    for (let c = 0; c < cols; c++) {
      const v = row[c];
      if (typeof v !== "number") throw new Error(`${name}[${r}][${c}]: expected a number, got ${describe(v)}`);
      if (!Number.isFinite(v) || (opts.positive && v <= 0)) {
        bad.push(`[${r}][${c}]`);
        o[c] = null;
      } else {
        o[c] = v;
        drawn++;
      }
    }
    out.push(o);
  }
  if (drawn === 0)
    throw new Error(`${name}: all ${rows.length * cols} values are non-finite${opts.positive ? " or ≤ 0" : ""}, nothing to plot`);
  gaps.add(name, bad, opts.positive ? "non-finite or ≤ 0" : "NaN/±Infinity");
  return out;
}

/** Lines, with markers where gaps could leave a single point standing alone (lines would hide it). */
export function lineMode(values: (number | null)[]): "lines" | "markers" | "lines+markers" {
  if (values.length === 1) return "markers";
  return values.includes(null) ? "lines+markers" : "lines";
}

/** Throws unless `actual` equals `expected`, naming both arguments. */
export function sameLength(name: string, actual: number, otherName: string, expected: number): void {
  if (actual !== expected) {
    throw new Error(`${name} has ${actual} values but ${otherName} has ${expected}; they must have the same length`);
  }
}

/** Reads labels for `n` positions (default 0..n-1 offset by `first`). */
export function readLabels(name: string, labels: ArrayLike<string | number> | undefined, n: number, first = 0): string[] {
  if (labels === undefined) return Array.from({ length: n }, (_, i) => String(i + first));
  if (!isArrayLike(labels)) throw new Error(`${name}: expected an array of labels, got ${describe(labels)}`);
  sameLength(name, labels.length, "the data", n);
  return Array.from(labels, (l) => String(l));
}

/** plotly.js's default colours (its `colorway`), so a run keeps its colour across subplots. */
export const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** Viridis at 11 stops; {@link sequential} interpolates it (for "one line per epoch"). */
const VIRIDIS = ["#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c", "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725"];

/** A colour from dark (u = 0) to bright (u = 1), viridis. */
export function sequential(u: number): string {
  const x = Math.min(1, Math.max(0, u)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i],
    b = VIRIDIS[i + 1];
  const ch = (k: number) => {
    const va = parseInt(a.slice(k, k + 2), 16),
      vb = parseInt(b.slice(k, k + 2), 16);
    return Math.round(va + (vb - va) * f)
      .toString(16)
      .padStart(2, "0");
  };
  return `#${ch(1)}${ch(3)}${ch(5)}`;
}

/**
 * Tick settings for a log axis over `values`. Across a decade or more: one tick per power
 * of ten (every k-th power over more than 8 decades), written 10⁻³. Within less than a decade plotly would label the ticks between
 * two powers with bare digits ("7 6 5 … 0.01 9 8"), which readers misread: every tick
 * then gets its full value (0.004, 0.005, …).
 */
export function logAxisTicks(values: Iterable<number | null>): Partial<LayoutAxis> {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null || !(v > 0) || !Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (lo === Infinity || hi / lo < 10) return { tickformat: ".2~g" };
  // At most about 8 labels: every decade, or every 2nd, 3rd, … over a wide range.
  const decades = Math.log10(hi / lo);
  return { dtick: Math.max(1, Math.ceil(decades / 8)), exponentformat: "power" };
}

/**
 * The range of a linear axis over `values`, or undefined to let plotly autoscale. When
 * the values span less than `minSpan` of their largest magnitude (a loss hovering at
 * chance, 1.3855–1.389), autoscaling would blow noise up to the full height of the
 * plot: the range is widened to that fraction, centred on the data.
 */
export function calmRange(values: Iterable<number | null>, minSpan = 0.1): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (lo === Infinity) return undefined;
  const scale = Math.max(Math.abs(lo), Math.abs(hi));
  const span = minSpan * scale;
  if (scale === 0 || hi - lo >= span) return undefined;
  const mid = (lo + hi) / 2;
  return [mid - span / 2, mid + span / 2];
}
