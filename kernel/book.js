// @ts-check
"use strict";
/**
 * The course book that `npm run notebooks` leaves in out/: a folder that opens offline,
 * on any machine, wherever it is copied — nothing on its pages is loaded from the network
 * or by an absolute path.
 *
 *   index.html                 contents: number, title, summary, run time, links
 *   <name>.html                the executed notebook as nbconvert's HTML, made portable
 *                              (see {@link portablePage}) and with a navigation bar
 *   <name>.ipynb               the executed notebook
 *   <name>/NN-slug.html|png|svg   every figure the notebook shows, as its outputs hold it
 *                              (a live figure in its final state)
 *   assets/plotly.js           plotly.js, one copy that every figure page loads
 *   assets/katex/              KaTeX (npm package katex), which typesets the equations
 *   book.json                  what the contents page is made from
 *
 * Debian's nbconvert points its pages at file:///usr/share/javascript/mathjax/MathJax.js
 * and …/requirejs/require.min.js, which exist only on the machine that made the page.
 * MathJax is replaced by KaTeX from assets/. require.js goes: an nbconvert page needs it
 * only for ipywidgets (a notebook with widget state) and for `application/javascript`
 * outputs that call require/define; seqlab's outputs are HTML that carries plotly.js
 * inline, and {@link needsRequireJs} names any output that would miss it.
 *
 * A run of some of the notebooks updates their pages and keeps the others already in
 * the folder (book.json remembers them), so the contents and the navigation cover all.
 */
const fs = require("fs");
const path = require("path");

/** KaTeX's files the pages load, relative to the package's dist/ and to assets/katex/. */
const KATEX_FILES = ["katex.min.js", "katex.min.css", "contrib/auto-render.min.js"];

/** Where KaTeX goes in the book, relative to the book's folder. */
const KATEX_DIR = "assets/katex";

/** The one copy of plotly.js the figure pages of every notebook load, relative to the book's folder. */
const PLOTLY_FILE = "assets/plotly.js";

/**
 * Copies plotly.js (the build seqlab's figures use) to assets/, once for all figure pages.
 * @param {string} outDir
 */
function copyPlotly(outDir) {
  const to = path.join(outDir, PLOTLY_FILE);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(require.resolve("plotly.js-dist-min"), to);
  return to;
}

/**
 * The delimiters KaTeX looks for, as Jupyter's MathJax does: `$…$`, `$$…$$`, `\(…\)`,
 * `\[…\]` and top-level LaTeX environments. (nbconvert 6 writes all markdown math
 * with dollars; the others come from text/latex outputs and newer nbconvert.)
 */
const DELIMITERS = [
  { left: "$$", right: "$$", display: true },
  { left: "\\[", right: "\\]", display: true },
  ...["equation", "equation*", "align", "align*", "alignat", "alignat*", "gather", "gather*", "CD"].map((env) => ({
    left: `\\begin{${env}}`,
    right: `\\end{${env}}`,
    display: true,
  })),
  { left: "\\(", right: "\\)", display: false },
  { left: "$", right: "$", display: false },
];

/**
 * Typesets the math of markdown cells and LaTeX outputs (never code, outputs' text or
 * plots) once KaTeX has loaded, and says how it went on <html data-math="…">:
 * "rendered", "errors" (window.seqlabMathErrors lists them) or "missing" (no KaTeX).
 */
const RENDER_MATH = `document.addEventListener("DOMContentLoaded", function () {
  var root = document.documentElement;
  if (!window.renderMathInElement) { root.setAttribute("data-math", "missing"); return; }
  var errors = (window.seqlabMathErrors = []);
  var options = {
    delimiters: ${JSON.stringify(DELIMITERS)},
    ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option"],
    throwOnError: false,
    errorColor: "#cc0000",
    globalGroup: true,
    macros: {},
    errorCallback: function (message, error) { errors.push(message + " " + error); }
  };
  document.querySelectorAll(".jp-RenderedMarkdown, .jp-RenderedLatex, .seqlab-book-math").forEach(function (el) {
    window.renderMathInElement(el, options);
  });
  root.setAttribute("data-math", errors.length ? "errors" : "rendered");
});`;

/** The navigation bar's look, on every notebook page. */
const NAV_CSS = `.seqlab-book-nav { position: sticky; top: 0; z-index: 100; display: flex; gap: 1.5em; align-items: baseline;
  padding: 0.45em 1em; background: #f6f7f9; border-bottom: 1px solid #d8dbe0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
.seqlab-book-nav a { color: #1a5fb4; text-decoration: none; }
.seqlab-book-nav a:hover { text-decoration: underline; }
.seqlab-book-nav .seqlab-book-next { margin-left: auto; }`;

/** The contents page's look. */
const INDEX_CSS = `body { margin: 0; background: #fff; color: #1f2328; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 52em; margin: 0 auto; padding: 2em 1.25em 4em; }
h1 { font-size: 1.7em; margin: 0 0 0.2em; }
.lead { color: #57606a; margin: 0 0 2em; }
ol.contents { list-style: none; padding: 0; margin: 0; }
ol.contents > li { padding: 1em 0; border-top: 1px solid #e4e6ea; }
h2 { font-size: 1.2em; margin: 0 0 0.3em; }
h2 .number { display: inline-block; min-width: 2em; color: #8c959f; font-variant-numeric: tabular-nums; }
a { color: #1a5fb4; text-decoration: none; }
a:hover { text-decoration: underline; }
.summary { margin: 0 0 0.4em 2.3em; }
.meta, .figures { margin: 0 0 0 2.3em; color: #57606a; font-size: 0.9em; }
.figures { padding: 0; list-style: none; }
.figures li { margin: 0.1em 0; }
.failed { color: #b42318; font-weight: 600; }
code { font-size: 0.92em; background: #f3f4f6; padding: 0 0.2em; border-radius: 3px; }`;

const HEAD_START = "<!-- seqlab book: head -->";
const HEAD_END = "<!-- /seqlab book: head -->";
const NAV_START = "<!-- seqlab book: navigation -->";
const NAV_END = "<!-- /seqlab book: navigation -->";

/** @param {string} s */
function escapeHtml(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * A relative URL for a path inside the book, from the book's folder.
 * @param {string} rel
 */
function href(rel) {
  return escapeHtml(rel.split(path.sep).map(encodeURIComponent).join("/"));
}

/**
 * Copies KaTeX (scripts, style sheet, fonts) into the book.
 * @param {string} outDir
 * @returns {{ dir: string, files: number, bytes: number }}
 */
function copyKatex(outDir) {
  const dist = path.join(path.dirname(require.resolve("katex/package.json")), "dist");
  const dir = path.join(outDir, KATEX_DIR);
  fs.rmSync(dir, { recursive: true, force: true });
  const files = [...KATEX_FILES, ...fs.readdirSync(path.join(dist, "fonts")).map((f) => `fonts/${f}`)];
  let bytes = 0;
  for (const f of files) {
    const to = path.join(dir, f);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(path.join(dist, f), to);
    bytes += fs.statSync(to).size;
  }
  return { dir, files: files.length, bytes };
}

/**
 * nbconvert's HTML made portable: Debian's MathJax and require.js (absolute file:/// or
 * CDN URLs) removed, KaTeX from the book's assets and `nav` (HTML, may be empty) added.
 * Running it again on its own result replaces what it added, so pages can be updated.
 * @param {string} html
 * @param {{ nav: string, title?: string }} opts `title`: for the page's <title> (plain text)
 * @returns {string}
 * @throws if the page's head still loads something from outside the book
 */
function portablePage(html, opts) {
  const body = /<body\b[^>]*>/i.exec(html);
  if (!body) throw new Error("not an HTML page: no <body>");
  let head = html.slice(0, body.index);
  let rest = html.slice(body.index + body[0].length);

  head = head
    // MathJax: the loader and its configuration (nbconvert's mathjax macro), whatever the URL.
    .replace(/[ \t]*<!-- Load mathjax -->[\s\S]*?<!-- End of mathjax configuration -->[ \t]*\n?/gi, "")
    .replace(/<script\b[^>]*\bsrc="[^"]*mathjax[^"]*"[^>]*>\s*<\/script>\s*/gi, "")
    .replace(/<script type="text\/x-mathjax-config">[\s\S]*?<\/script>\s*/gi, "")
    // require.js: only widgets and application/javascript outputs use it.
    .replace(/<script\b[^>]*\bsrc="[^"]*\brequire(?:\.min)?\.js"[^>]*>\s*<\/script>\s*/gi, "");
  const start = head.indexOf(HEAD_START);
  if (start >= 0) head = head.slice(0, start) + head.slice(head.indexOf(HEAD_END) + HEAD_END.length).replace(/^\n/, "");
  const outside = [...head.matchAll(/<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="((?:[a-z][a-z0-9+.-]*:|\/)[^"]*)"/gi)]
    .map((m) => m[1])
    .filter((url) => !/^data:/i.test(url));
  if (outside.length) throw new Error(`the page loads ${outside.join(", ")} from outside the book`);
  if (opts.title) head = head.replace(/<title>[^<]*<\/title>/i, () => `<title>${escapeHtml(opts.title ?? "")}</title>`);
  const katex = KATEX_DIR; // pages sit at the top of the book
  const added = [
    HEAD_START,
    `<link rel="stylesheet" href="${katex}/katex.min.css">`,
    `<script defer src="${katex}/katex.min.js"></script>`,
    `<script defer src="${katex}/contrib/auto-render.min.js"></script>`,
    `<script>\n${RENDER_MATH}\n</script>`,
    `<style>\n${NAV_CSS}\n</style>`,
    HEAD_END,
    "",
  ].join("\n");
  head = head.replace(/<\/head>/i, () => added + "</head>");
  if (!head.includes(HEAD_START)) throw new Error("not an HTML page: no </head>");

  if (rest.startsWith("\n" + NAV_START)) rest = rest.slice(rest.indexOf(NAV_END) + NAV_END.length);
  const nav = opts.nav ? `\n${NAV_START}\n${opts.nav}\n${NAV_END}` : "";
  return head + body[0] + nav + rest;
}

/**
 * The outputs of an executed notebook that an offline page cannot show as they were meant:
 * `application/javascript` (may call require.js) and ipywidgets (need a widget manager from a CDN).
 * @param {any} nb the notebook's JSON
 * @returns {string[]} e.g. "cell 3: application/javascript"
 */
function needsRequireJs(nb) {
  /** @type {string[]} */
  const found = [];
  if (nb.metadata?.widgets) found.push("the notebook's widget state");
  nb.cells.forEach((/** @type {any} */ cell, /** @type {number} */ i) => {
    for (const out of cell.outputs ?? []) {
      for (const mime of ["application/javascript", "application/vnd.jupyter.widget-view+json"]) {
        if (out.data?.[mime] !== undefined) found.push(`cell ${i + 1}: ${mime}`);
      }
    }
  });
  return found;
}

/**
 * The figures an executed notebook shows, in the order of the page: the plotly JSON of
 * its display outputs (a live figure's output holds its last update).
 * @param {any} nb the notebook's JSON
 * @returns {{ data: any[], layout: any, png?: string }[]} (png: base64)
 */
function figuresOf(nb) {
  return nb.cells
    .flatMap((/** @type {any} */ cell) => cell.outputs ?? [])
    .filter((/** @type {any} */ out) => Array.isArray(out.data?.["application/vnd.plotly.v1+json"]?.data))
    .map((/** @type {any} */ out) => {
      const fig = out.data["application/vnd.plotly.v1+json"];
      // The still picture the kernel drew of the figure's final state, when it has one (src/plot/picture.ts).
      const png = typeof out.data["image/png"] === "string" ? { png: out.data["image/png"] } : {};
      return { data: fig.data, layout: fig.layout ?? {}, ...png };
    });
}

/**
 * @typedef {{ title: string, html: string, png?: string, svg?: string }} FigureFiles
 *   a figure's files (absolute paths; png/svg missing when they could not be drawn)
 */

/**
 * Writes every figure of an executed notebook as NN-slug.html (plotly.js beside it),
 * .png and .svg into `dir`, which is emptied first. PNG/SVG need Chromium (one browser
 * serves all; the caller closes it with closeBrowser()); without one, `images` says why
 * and only HTML is written.
 * @param {string} executed the executed .ipynb
 * @param {string} dir
 * @param {{ images: true | string }} state `images`: true while PNG/SVG can be drawn, else why not (set here on the first failure)
 * @returns {Promise<FigureFiles[]>}
 */
async function exportFigures(executed, dir, state) {
  const figures = figuresOf(JSON.parse(fs.readFileSync(executed, "utf-8")));
  fs.rmSync(dir, { recursive: true, force: true });
  if (figures.length === 0) return [];
  // The compiled library (loading it loads TensorFlow.js: only when there is a figure).
  const { savePlot } = require("seqlab");
  const { plotFileStem, titleOf } = require("seqlab/internal");
  /** @type {FigureFiles[]} */
  const files = [];
  for (const [i, { png, ...fig }] of figures.entries()) {
    const stem = path.join(dir, plotFileStem(fig, i + 1));
    /** @type {FigureFiles} */
    const f = { title: titleOf(fig), html: await savePlot(fig, `${stem}.html`, { plotlyjs: { src: `../${PLOTLY_FILE}` } }) };
    if (state.images === true) {
      try {
        // The notebook already holds the figure's picture (same size, drawn the same way): reuse it.
        if (png) fs.writeFileSync((f.png = `${stem}.png`), Buffer.from(png, "base64"));
        else f.png = await savePlot(fig, `${stem}.png`);
        f.svg = await savePlot(fig, `${stem}.svg`);
      } catch (e) {
        state.images = /** @type {Error} */ (e).message;
      }
    }
    files.push(f);
  }
  return files;
}

/**
 * A notebook's title (its first markdown heading, without a leading "NN ·") and summary
 * (the first paragraph of prose, shortened to about a line), both still markdown.
 * @param {any} nb the notebook's JSON
 * @param {string} name the file name without extension, the fallback title
 * @returns {{ title: string, summary: string }}
 */
function describeNotebook(nb, name) {
  let title = "";
  let summary = "";
  for (const cell of nb.cells) {
    if (cell.cell_type !== "markdown") continue;
    const source = Array.isArray(cell.source) ? cell.source.join("") : String(cell.source ?? "");
    for (const block of source.split(/\n\s*\n/)) {
      const text = block.trim();
      const heading = /^#{1,6}\s+(.*)$/m.exec(text);
      if (heading && !title) {
        title = heading[1].replace(/\s+#+\s*$/, "").trim();
        continue;
      }
      if (!summary && text && !/^(#|\$\$|\\\[|\\begin|[-*+]\s|[>|<]|\d+[.)]\s|```|~~~)/.test(text)) summary = shorten(text);
    }
    if (title && summary) break;
  }
  title = title.replace(/^\d+\s*[·.:–—-]\s*/, "") || name;
  return { title, summary };
}

/**
 * Code and math in markdown, as Jupyter finds them: `…`, $…$, $$…$$, \\(…\\), \\[…\\]
 * (one capturing group: split() keeps them at odd indices).
 */
const INLINE_TOKENS = /(`[^`]*`|\$\$[\s\S]+?\$\$|\$[^$]+\$|\\\\\([\s\S]+?\\\\\)|\\\\\[[\s\S]+?\\\\\])/;

/** Longest summary, in characters of markdown. */
const SUMMARY_CHARS = 220;

/**
 * About one line of a paragraph: whole if short, else its first sentence, else cut at
 * a space — never inside math or code.
 * @param {string} paragraph
 */
function shorten(paragraph) {
  const text = paragraph.replace(/\s+/g, " ").trim();
  if (text.length <= SUMMARY_CHARS) return text;
  // Places where a cut is allowed: spaces outside math and code.
  /** @type {number[]} */
  const spaces = [];
  /** @type {number[]} */
  const sentenceEnds = [];
  let at = 0;
  text.split(INLINE_TOKENS).forEach((part, k) => {
    if (k % 2 === 0) {
      for (let j = part.indexOf(" "); j >= 0; j = part.indexOf(" ", j + 1)) {
        const i = at + j;
        spaces.push(i);
        if (/[.!?]/.test(text[i - 1]) && /[A-Z(]/.test(text[i + 1] ?? "")) sentenceEnds.push(i);
      }
    }
    at += part.length;
  });
  const sentence = sentenceEnds.find((i) => i <= SUMMARY_CHARS);
  if (sentence !== undefined) return text.slice(0, sentence);
  const cut = spaces.filter((i) => i <= SUMMARY_CHARS).pop();
  return cut !== undefined ? text.slice(0, cut).replace(/[,;:]$/, "") + " …" : text;
}

/**
 * Inline markdown (code, bold, italics, links' text, backslash escapes) to HTML. Math is
 * found as Jupyter finds it — `$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]` in the source — and
 * left for KaTeX, escaped, with `\(…\)` and `\[…\]` as delimiters.
 * @param {string} md
 */
function inlineMarkdown(md) {
  return md
    .split(INLINE_TOKENS)
    .map((part, i) => {
      if (i % 2 === 1) {
        if (part.startsWith("`")) return `<code>${escapeHtml(part.slice(1, -1))}</code>`;
        return escapeHtml(part.startsWith("\\\\") ? part.slice(1, -3) + part.slice(-2) : part);
      }
      return escapeHtml(part)
        .replace(/\\([\\`*_{}[\]()#+\-.!$])/g, "$1")
        .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
        .replace(/\*\*([^*]+)\*\*|__([^_]+)__/g, (_, a, b) => `<strong>${a ?? b}</strong>`)
        .replace(/(^|[^\w*])[*_]([^*_]+)[*_](?![\w*])/g, "$1<em>$2</em>");
    })
    .join("");
}

/** @param {number} s */
function formatSeconds(s) {
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/**
 * @typedef {{ name: string, title: string, summary: string, seconds: number, executedAt: string,
 *   errors: number, figures: { title: string, html: string, png?: string, svg?: string }[] }} BookEntry
 *   one notebook in book.json; figure paths relative to the book's folder
 */

/**
 * The navigation bar of one page.
 * @param {BookEntry[]} entries
 * @param {number} i
 */
function navHtml(entries, i) {
  const link = (/** @type {BookEntry} */ e, /** @type {string} */ rel, /** @type {string} */ label) =>
    `<a class="seqlab-book-${rel}" rel="${rel}" href="${href(e.name + ".html")}">${label}</a>`;
  const label = (/** @type {BookEntry} */ e) => `${escapeHtml(number(e.name))} · ${inlineMarkdown(e.title)}`;
  return [
    `<nav class="seqlab-book-nav seqlab-book-math" aria-label="course">`,
    `<a class="seqlab-book-contents" href="index.html">Contents</a>`,
    i > 0 ? link(entries[i - 1], "prev", `← ${label(entries[i - 1])}`) : "",
    i < entries.length - 1 ? link(entries[i + 1], "next", `${label(entries[i + 1])} →`) : "",
    `</nav>`,
  ]
    .filter(Boolean)
    .join("\n");
}

/**
 * The notebook's number, from its file name ("01-…"), or its name.
 * @param {string} name
 */
function number(name) {
  return /^(\d+)-/.exec(name)?.[1] ?? name;
}

/**
 * The contents page.
 * @param {BookEntry[]} entries
 * @param {{ name: string, version: string, description: string }} pkg
 */
function indexHtml(entries, pkg) {
  const items = entries.map((e) => {
    const figures = e.figures.map((f) => {
      const formats = [
        `<a href="${href(f.html)}">HTML</a>`,
        f.png ? `<a href="${href(f.png)}">PNG</a>` : "",
        f.svg ? `<a href="${href(f.svg)}">SVG</a>` : "",
      ].filter(Boolean);
      const title = f.title || path.basename(f.html, ".html");
      return `<li class="figure" data-title="${escapeHtml(title)}">${escapeHtml(title)}: ${formats.join(" · ")}</li>`;
    });
    const status = e.errors ? ` · <span class="failed">${e.errors} cell${e.errors > 1 ? "s" : ""} raised an error</span>` : "";
    return [
      `<li id="${escapeHtml(e.name)}">`,
      `<h2 class="seqlab-book-math"><span class="number">${escapeHtml(number(e.name))}</span> <a href="${href(e.name + ".html")}">${inlineMarkdown(e.title)}</a></h2>`,
      e.summary ? `<p class="summary seqlab-book-math">${inlineMarkdown(e.summary)}</p>` : "",
      `<p class="meta">ran in ${formatSeconds(e.seconds)} on ${escapeHtml(e.executedAt.slice(0, 10))}${status} · ` +
        `<a href="${href(e.name + ".html")}">page</a> · <a href="${href(e.name + ".ipynb")}" download>notebook (.ipynb)</a>` +
        (e.figures.length ? ` · ${e.figures.length} figure${e.figures.length > 1 ? "s" : ""}:` : "") +
        `</p>`,
      figures.length ? `<ul class="figures">\n${figures.join("\n")}\n</ul>` : "",
      `</li>`,
    ]
      .filter(Boolean)
      .join("\n");
  });
  const page = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${escapeHtml(pkg.name)} ${escapeHtml(pkg.version)}">
<title>${escapeHtml(pkg.name)}: the notebooks, executed</title>
<style>
${INDEX_CSS}
</style>
</head>
<body>
<main>
<h1>${escapeHtml(pkg.name)}: the notebooks, executed</h1>
<p class="lead">${escapeHtml(pkg.description)}. Each notebook as it ran through the ${escapeHtml(pkg.name)} kernel
(${escapeHtml(pkg.name)} ${escapeHtml(pkg.version)}), with its figures as HTML, PNG and SVG. This folder opens offline and
can be copied anywhere: it carries everything its pages load.</p>
<ol class="contents">
${items.join("\n")}
</ol>
</main>
</body>
</html>
`;
  // The same KaTeX as the notebook pages, for math in titles and summaries.
  return portablePage(page, { nav: "" });
}

/**
 * Writes the book into `outDir` from notebooks just executed there: KaTeX, every
 * figure as HTML/PNG/SVG, the portable pages with their navigation, book.json and
 * index.html. Notebooks of earlier runs still in the folder stay in the book.
 * @param {string} outDir
 * @param {{ name: string, executed: string, html: string, seconds: number, errors: number }[]} notebooks
 * @param {{ log?: (s: string) => void }} [opts]
 * @returns {Promise<{ index: string, figures: Map<string, FigureFiles[]>, katexBytes: number, exportSeconds: number }>}
 */
async function writeBook(outDir, notebooks, opts = {}) {
  const log = opts.log ?? (() => {});
  const katex = copyKatex(outDir);
  copyPlotly(outDir);
  const manifest = path.join(outDir, "book.json");
  /** @type {Map<string, BookEntry>} */
  const entries = new Map();
  if (fs.existsSync(manifest)) {
    for (const e of JSON.parse(fs.readFileSync(manifest, "utf-8")).notebooks ?? []) {
      const kept = ["html", "ipynb"].every((ext) => fs.existsSync(path.join(outDir, `${e.name}.${ext}`)));
      if (kept) entries.set(e.name, e);
    }
  }

  const state = /** @type {{ images: true | string }} */ ({ images: true });
  /** @type {Map<string, FigureFiles[]>} */
  const figures = new Map();
  const t0 = Date.now();
  try {
    for (const r of notebooks) {
      const nb = JSON.parse(fs.readFileSync(r.executed, "utf-8"));
      for (const what of needsRequireJs(nb)) {
        log(`     ${r.name}: ${what} needs require.js or a widget manager, which the offline page does not carry`);
      }
      const files = await exportFigures(r.executed, path.join(outDir, r.name), state);
      figures.set(r.name, files);
      const rel = (/** @type {string | undefined} */ p) => (p ? path.relative(outDir, p) : undefined);
      entries.set(r.name, {
        name: r.name,
        ...describeNotebook(nb, r.name),
        seconds: r.seconds,
        executedAt: new Date().toISOString(),
        errors: r.errors,
        figures: files.map((f) => ({ title: f.title, html: /** @type {string} */ (rel(f.html)), png: rel(f.png), svg: rel(f.svg) })),
      });
    }
  } finally {
    const { closeBrowser } = require("seqlab/internal");
    await closeBrowser();
  }
  const exportSeconds = (Date.now() - t0) / 1000;
  if (state.images !== true) log(`     figures written as HTML only, no PNG/SVG: ${state.images}`);

  const all = [...entries.values()].sort((a, b) => a.name.localeCompare(b.name));
  all.forEach((e, i) => {
    const file = path.join(outDir, `${e.name}.html`);
    const title = `${number(e.name)} · ${e.title.replace(/[`*_]|\$+/g, "")}`;
    try {
      fs.writeFileSync(file, portablePage(fs.readFileSync(file, "utf-8"), { nav: navHtml(all, i), title }));
    } catch (e) {
      throw new Error(`${file}: ${/** @type {Error} */ (e).message}`, { cause: e });
    }
  });
  fs.writeFileSync(manifest, JSON.stringify({ notebooks: all }, null, 1) + "\n");
  const index = path.join(outDir, "index.html");
  fs.writeFileSync(index, indexHtml(all, require("../package.json")));
  return { index, figures, katexBytes: katex.bytes, exportSeconds };
}

module.exports = { writeBook, portablePage, copyKatex, copyPlotly, figuresOf, exportFigures, describeNotebook, needsRequireJs, KATEX_DIR };
