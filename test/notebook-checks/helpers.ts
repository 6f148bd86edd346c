/**
 * What a notebook's check sees: the executed notebook, its text output and its prose.
 *
 * Each notebook in notebooks/ has a check file here with the same base name
 * (notebooks/07-the-catalogue.ipynb → test/notebook-checks/07-the-catalogue.ts) whose
 * default export asserts what the notebook must show: the numbers it prints, that the
 * numbers its prose quotes agree with them, and that its experiments came out as the
 * prose says. test/notebooks.test.ts executes every notebook once and calls its check.
 */
import * as fs from "fs";

export interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}

export interface Cell {
  cell_type: "code" | "markdown" | "raw";
  source: string | string[];
  outputs?: Output[];
  execution_count?: number | null;
  metadata?: Record<string, unknown>;
}

/** An executed notebook, as its check receives it. */
export interface Executed {
  /** The executed .ipynb. */
  file: string;
  /** Its nbconvert HTML. */
  html: string;
  /** Seconds it took to execute through the kernel. */
  seconds: number;
  cells: Cell[];
  /** Everything the code cells printed to stdout, in order. */
  stdout: string;
  /** Everything printed to stderr. */
  stderr: string;
  /** The markdown cells' text, joined. */
  prose: string;
  /** Every figure shown: its plotly JSON (data and layout), in order. */
  figures: { data: Record<string, unknown>[]; layout: Record<string, unknown> }[];
  /** Plot files saved for it (SEQLAB_PLOT_DIR). */
  plots: string[];
}

export type NotebookCheck = (nb: Executed) => void;

export const text = (t: string | string[] | undefined): string => (Array.isArray(t) ? t.join("") : (t ?? ""));

export function readExecuted(file: string, html: string, seconds: number, plots: string[]): Executed {
  const nb = JSON.parse(fs.readFileSync(file, "utf-8")) as { cells: Cell[] };
  const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
  const streams = (name: string) =>
    outputs
      .filter((o) => o.output_type === "stream" && o.name === name)
      .map((o) => text(o.text))
      .join("");
  const figures = outputs
    .map((o) => o.data?.["application/vnd.plotly.v1+json"])
    .filter((f): f is Executed["figures"][number] => f !== undefined && f !== null);
  return {
    file,
    html,
    seconds,
    cells: nb.cells,
    stdout: streams("stdout"),
    stderr: streams("stderr"),
    prose: nb.cells
      .filter((c) => c.cell_type === "markdown")
      .map((c) => text(c.source))
      .join("\n\n"),
    figures,
    plots,
  };
}

/** The number captured by `re`'s first group in `s`; fails, showing `s`, when absent. */
export function numberIn(s: string, re: RegExp, what = re.source): number {
  const m = re.exec(s);
  if (!m) throw new Error(`no match for ${what} in:\n${s.slice(0, 4000)}`);
  const v = Number(m[1].replace(/−/g, "-").replace(/,/g, ""));
  if (!Number.isFinite(v)) throw new Error(`${what}: "${m[1]}" is not a number`);
  return v;
}

/**
 * The number `prose` captures in the notebook's prose (line breaks read as spaces) equals the
 * one `printed` captures in its output; returns it.
 */
export function quotedAsPrinted(nb: Executed, prose: RegExp, printed: RegExp, what: string): number {
  const p = numberIn(nb.prose.replace(/\s+/g, " "), prose, `${what} (prose)`);
  const o = numberIn(nb.stdout, printed, `${what} (output)`);
  if (p !== o) throw new Error(`the prose says ${what} is ${p}, the notebook printed ${o}`);
  return o;
}
