/**
 * Figures as HTML that works with no network: plotly.js comes from the installed
 * plotly.js-dist-min package (the minified build of plotly.js-dist), never from a CDN (nbviewer and closed networks block CDNs).
 *
 * A figure's HTML fragment is
 *
 *   <div class="seqlab-plot" data-state="waiting">
 *     <div class="seqlab-plot-note">text summary</div>      ← visible until the plot draws
 *     <div class="seqlab-plot-area"></div>
 *     <script type="application/json">{data, layout}</script>
 *     [<script>plotly.js</script>]                          ← only if asked to carry it
 *     <script>draw now if window.Plotly, else queue</script>
 *   </div>
 *
 * plotly.js (~11 MB unminified) is sent once per page: the first figure of a kernel
 * session carries it and later figures reuse `window.Plotly`. Where that is missing,
 * a figure queues itself; the script that loads plotly.js draws every queued figure,
 * so figures heal as soon as plotly.js arrives (out-of-order rendering, or after
 * `sendPlotlyJs()`). If it has not arrived after a few seconds, the note says why and
 * what to do; where scripts do not run at all (untrusted notebook, GitHub's viewer),
 * the note shows the text summary. Never a silently blank output.
 *
 * In an nbconvert HTML export all outputs are one page and scripts run in document
 * order, so the first figure's plotly.js serves the rest — provided the notebook was
 * run top to bottom in one kernel session (Restart & Run All, `npm run notebooks`).
 */
import * as fs from "fs";
import { randomUUID } from "crypto";
import type { Figure } from "./figure";
import { figureSummary } from "./summary";

let source: string | undefined;

/** The plotly.js bundle from plotly.js-dist-min, read once. */
export function plotlySource(): string {
  if (source === undefined) {
    let file: string;
    try {
      file = require.resolve("plotly.js-dist-min");
    } catch {
      throw new Error('plotly.js-dist-min is not installed (seqlab depends on it): run "npm install" in the project');
    }
    source = fs.readFileSync(file, "utf-8");
  }
  return source;
}

/**
 * A `<script>` that defines `window.Plotly` (unless already defined) and then draws the
 * figures waiting for it. `module` is shadowed so that the bundle's UMD header takes the
 * browser branch even on pages that define a global `module`.
 */
export function plotlyScript(): string {
  const js = plotlySource()
    .replace(/<\/(script)/gi, "<\\/$1")
    .replace(/<!--/g, "<\\!--");
  return "<script>\nif (!window.Plotly) { (function (module, exports, define) {\n" + js + "\n}).call(window); }\n" + DRAIN + "</script>";
}

/** Draws the figures that queued themselves before plotly.js was on the page. */
const DRAIN =
  "(function () { var q = window.__seqlabPlotQueue || []; window.__seqlabPlotQueue = []; q.forEach(function (draw) { draw(); }); })();\n";

/** Seconds a figure waits for plotly.js before its note explains what is missing. */
const WAIT_SECONDS = 3;

const NO_PLOTLY =
  "plotly.js is not on this page, so this plot cannot be drawn. seqlab sends plotly.js " +
  "with the first plot of a kernel session; that output has been cleared, or the page was " +
  "reloaded. Run sendPlotlyJs() (from seqlab) in any cell and this plot will draw; to export " +
  "the notebook, run it top to bottom (Restart & Run All).";

/** A still picture of a figure (see picture.ts). */
export interface Picture {
  /** PNG, base64. */
  png: string;
  width: number;
  height: number;
}

/**
 * The HTML fragment for one figure.
 * @param carryPlotly include plotly.js itself (once per page)
 * @param picture a still picture of the figure: shown where scripts do not run
 *   (an untrusted notebook, GitHub, nbconvert HTML without JavaScript) instead of the text summary
 */
export function figureHtml(fig: Figure, carryPlotly: boolean, picture?: Picture): string {
  const id = `seqlab-plot-${randomUUID()}`;
  const json = JSON.stringify({ data: fig.data, layout: fig.layout }).replace(/<\//g, "<\\/").replace(/<!--/g, "<\\u0021--");
  const note = picture
    ? `<img class="seqlab-plot-picture" src="data:image/png;base64,${picture.png}" width="${picture.width}" height="${picture.height}" ` +
      `alt="${escapeHtml(titleOf(fig) || figureSummary(fig).split("\n")[0])}" style="max-width: 100%; height: auto">`
    : escapeHtml(figureSummary(fig));
  const draw = `<script>
(function () {
  var s = document.currentScript;
  var root = (s && s.parentNode && s.parentNode.getAttribute && s.parentNode.getAttribute("id") === ${JSON.stringify(id)}) ? s.parentNode : document.getElementById(${JSON.stringify(id)});
  if (!root) return;
  var note = root.querySelector(".seqlab-plot-note");
  var msg = root.querySelector(".seqlab-plot-msg");
  function say(state, text) { root.setAttribute("data-state", state); msg.textContent = text; msg.style.display = ""; note.style.display = ""; }
  function draw() {
    if (root.getAttribute("data-state") === "rendered") return;
    var fig;
    try { fig = JSON.parse(root.querySelector("script.seqlab-plot-figure").textContent); }
    catch (e) { return say("error", "seqlab: this plot's data could not be read: " + e); }
    window.Plotly.newPlot(root.querySelector(".seqlab-plot-area"), fig.data, fig.layout, { responsive: true, displaylogo: false }).then(
      function () { root.setAttribute("data-state", "rendered"); note.style.display = "none"; msg.style.display = "none"; },
      function (e) { say("error", "plotly.js could not draw this plot: " + e); });
  }
  if (window.Plotly) return draw();
  (window.__seqlabPlotQueue = window.__seqlabPlotQueue || []).push(draw);
  setTimeout(function () { if (root.getAttribute("data-state") === "waiting") say("no-plotly", ${JSON.stringify(NO_PLOTLY)}); }, ${WAIT_SECONDS * 1000});
})();
</script>`;
  return (
    `<div class="seqlab-plot" id="${id}" data-state="waiting">` +
    `<div class="seqlab-plot-note" style="font: 12px monospace; white-space: pre-wrap; color: #555">${note}</div>` +
    `<div class="seqlab-plot-msg" style="font: 12px monospace; white-space: pre-wrap; color: #555; display: none"></div>` +
    `<div class="seqlab-plot-area"></div>` +
    `<script type="application/json" class="seqlab-plot-figure">${json}</script>` +
    (carryPlotly ? plotlyScript() : "") +
    draw +
    `</div>`
  );
}

/** The HTML that only loads plotly.js (and draws what is waiting for it). */
export function plotlyLoaderHtml(): string {
  return `<div class="seqlab-plotly-loader" style="display: none"></div>${plotlyScript()}`;
}

/**
 * A standalone HTML page for one figure.
 * @param plotly "inline": plotly.js inside the page (opens anywhere, offline);
 *   otherwise the `src` of a script tag that loads it (e.g. a plotly.js file next to the page)
 */
export function pageHtml(fig: Figure, plotly: "inline" | { src: string }): string {
  const title = escapeHtml(titleOf(fig) || "seqlab plot");
  const head = plotly === "inline" ? plotlyScript() : `<script src="${escapeHtml(plotly.src)}"></script>`;
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="generator" content="seqlab">
<title>${title}</title>
${head}
</head>
<body style="margin: 0">
${figureHtml(fig, false)}
</body>
</html>
`;
}

/**
 * The name (without extension) under which the `n`-th figure of a notebook is saved:
 * its number and a slug of its title, e.g. "01-training-curves".
 */
export function plotFileStem(fig: Figure, n: number): string {
  const slug =
    titleOf(fig)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 40) || "plot";
  return `${String(n).padStart(2, "0")}-${slug}`;
}

/** The figure's title text without markup. */
export function titleOf(fig: Figure): string {
  const t = fig.layout?.title;
  const text = typeof t === "string" ? t : (t?.text ?? "");
  return text.replace(/<[^>]*>/g, "");
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
