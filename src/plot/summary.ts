/**
 * A figure as a few lines of text: what `show()` prints outside a notebook, the
 * `text/plain` of its mime bundle, and what an HTML output shows until (or unless)
 * plotly.js draws it.
 */
import type { Figure } from "./figure";

/**
 * A figure as a few lines of text: its title, and per trace its name, type, size and range
 * (what `show` prints where no notebook can draw, and what a notebook's text fallback holds).
 *
 * @example
 * const text = figureSummary(trainingCurves({ loss: [1, 0.5, 0.25] }));
 * // 'plot "Training curves": 1 trace\n  train (scatter): 3 points, y 0.25 … 1, last 0.25'
 */
export function figureSummary(fig: Figure): string {
  const t = fig.layout?.title;
  const title = (typeof t === "string" ? t : (t?.text ?? "")).replace(/<br>/g, " ").replace(/<[^>]*>/g, "");
  const sub = typeof t === "object" && t?.subtitle ? (typeof t.subtitle === "string" ? t.subtitle : (t.subtitle.text ?? "")) : "";
  const n = fig.data.length;
  const lines = [`plot${title ? ` "${title}"` : ""}: ${n} trace${n === 1 ? "" : "s"}`];
  if (sub) lines.push(`  ${sub.replace(/<[^>]*>/g, "")}`);
  const shown = fig.data.slice(0, 12);
  for (const [i, d] of shown.entries()) lines.push(`  ${traceLine(d as Record<string, unknown>, i)}`);
  if (n > shown.length) lines.push(`  … and ${n - shown.length} more`);
  return lines.join("\n");
}

function traceLine(d: Record<string, unknown>, i: number): string {
  const type = String(d.type ?? "scatter");
  const name = typeof d.name === "string" && d.name ? d.name.replace(/<[^>]*>/g, "") : `trace ${i}`;
  if (Array.isArray(d.z)) {
    const rows = d.z as unknown[][];
    const cols = Array.isArray(rows[0]) ? rows[0].length : 0;
    return `${name} (${type}): ${rows.length}×${cols}${range(rows.flat(), "z")}`;
  }
  const ys = Array.isArray(d.y) ? (d.y as unknown[]) : [];
  if (d.mode === "text") return `${name} (text): ${ys.length} labels`;
  const finite = ys.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  const last = finite.length ? `, last ${fmt(finite[finite.length - 1])}` : "";
  return `${name} (${type}): ${ys.length} point${ys.length === 1 ? "" : "s"}${range(ys, "y")}${last}`;
}

function range(values: unknown[], axis: string): string {
  let lo = Infinity,
    hi = -Infinity,
    gaps = 0;
  for (const v of values) {
    if (typeof v === "number" && Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    } else gaps++;
  }
  if (lo > hi) return ", no values";
  return `, ${axis} ${fmt(lo)} … ${fmt(hi)}${gaps ? `, ${gaps} gap${gaps === 1 ? "" : "s"}` : ""}`;
}

function fmt(v: number): string {
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}
