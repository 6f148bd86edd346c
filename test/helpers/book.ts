/**
 * Reads a course book (what `npm run notebooks` leaves in out/) the way a reader on
 * another machine would: headless Chromium opens index.html and every page reachable
 * from it, with every request that is not a file inside the book's folder blocked and
 * recorded — the network, and absolute paths such as Debian's
 * file:///usr/share/javascript/mathjax, which a machine without Debian's packages (or
 * one the folder was copied to) does not have. Check a copy of the folder, not the
 * folder the runner wrote, so that absolute paths into it break too.
 */
import * as fs from "fs";
import * as path from "path";
import { fileURLToPath, pathToFileURL } from "url";
import { INSPECT_PLOTS, withPage, type RenderedPlots } from "seqlab/internal";

/** What one page of the book showed. */
export interface PageReport {
  /** The page, relative to the book's folder. */
  page: string;
  /** Requests that would leave the folder (network, or a file outside it); all were blocked. */
  outside: string[];
  /** Requests for files inside the folder that failed (missing files). */
  failed: string[];
  /** Uncaught errors on the page. */
  pageErrors: string[];
  /**
   * How the math went (`<html data-math>`, set by the book's KaTeX script): "rendered",
   * "errors", "missing" (KaTeX did not load), or "none" (the page has no KaTeX script).
   */
  math: string;
  /** KaTeX's complaints: errors it reported, `.katex-error` elements, commands it does not know. */
  mathErrors: string[];
  /** Typeset expressions on the page (`.katex`), and how many of them are display math. */
  katex: number;
  katexDisplay: number;
  /** Markdown and contents text that still shows TeX delimiters after typesetting (code excepted). */
  rawMath: string[];
  /** Does the page have markdown, whose math must be typeset? */
  hasMarkdown: boolean;
  plots: RenderedPlots["plots"];
  notDrawn: string[];
  /** Links to files inside the folder (relative to it, without #fragments) and links to files outside it. */
  links: string[];
  linksOutside: string[];
}

/** One figure listed on the contents page, with its files checked. */
export interface FigureReport {
  title: string;
  html?: string;
  png?: string;
  svg?: string;
  /** What is wrong with its PNG or SVG (empty when both are valid). */
  problems: string[];
}

export interface BookReport {
  pages: PageReport[];
  figures: FigureReport[];
  /** Everything wrong, one line each: empty for a good book. */
  problems: string[];
}

/** Runs in the page after load: math, raw TeX, links. */
const INSPECT_PAGE = `(() => {
  const root = document.documentElement;
  const hasKatexScript = !!document.querySelector('script[src$="katex.min.js"]');
  const math = root.getAttribute("data-math") || (hasKatexScript ? "not run" : "none");
  const mathErrors = (window.seqlabMathErrors || []).map(String).concat(
    Array.from(document.querySelectorAll(".katex-error")).map((e) => "katex-error: " + (e.getAttribute("title") || e.textContent)),
    // A command KaTeX does not know is typeset as its name in the error colour (#cc0000).
    Array.from(document.querySelectorAll(".katex-html [style]"))
      .filter((e) => e.style.color === "rgb(204, 0, 0)" && e.parentElement.style.color !== "rgb(204, 0, 0)")
      .map((e) => "unsupported command: " + e.textContent));
  const prose = Array.from(document.querySelectorAll(".jp-RenderedMarkdown, .jp-RenderedLatex, .seqlab-book-math"));
  const rawMath = [];
  for (const el of prose) {
    const copy = el.cloneNode(true);
    copy.querySelectorAll(".katex, code, pre, script, style").forEach((e) => e.remove());
    const text = copy.textContent;
    const m = /\\$\\$|\\\\\\(|\\\\\\)|\\\\\\[|\\\\\\]|\\\\begin\\{/.exec(text);
    if (m) rawMath.push(text.slice(Math.max(0, m.index - 40), m.index + 60).replace(/\\s+/g, " "));
  }
  const links = Array.from(document.querySelectorAll("a[href]")).map((a) => a.href);
  const figures = Array.from(document.querySelectorAll("li.figure")).map((li) => ({
    title: li.getAttribute("data-title"),
    files: Array.from(li.querySelectorAll("a[href]")).map((a) => a.href),
  }));
  return {
    math, mathErrors, rawMath, links, figures,
    katex: document.querySelectorAll(".katex").length,
    katexDisplay: document.querySelectorAll(".katex-display").length,
    hasMarkdown: prose.length > 0,
  };
})()`;

/** Parses an SVG document in the page: its root element's name, a parser error, and its text. */
const PARSE_SVG = `(svg) => {
  const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
  const error = doc.querySelector("parsererror");
  return { root: doc.documentElement.nodeName, error: error ? error.textContent : "", text: doc.documentElement.textContent };
}`;

function inside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

/** A link's file, or undefined for links that are not file: URLs (http links are allowed: they load nothing). */
function linkedFile(url: string): string | undefined {
  if (!url.startsWith("file:")) return undefined;
  const u = new URL(url);
  u.hash = "";
  u.search = "";
  return fileURLToPath(u.href);
}

/**
 * Opens one page of the book (a file inside `root`) and reports what it shows.
 * @param timeoutMs for the page to load and its figures to draw
 */
export async function checkPage(
  root: string,
  file: string,
  timeoutMs = 60_000,
): Promise<PageReport & { figureLinks: { title: string; files: string[] }[] }> {
  root = path.resolve(root);
  file = path.resolve(file);
  return withPage(async (page) => {
    const outside: string[] = [];
    const failed: string[] = [];
    const pageErrors: string[] = [];
    await page.route(
      () => true,
      (route) => {
        const url = route.request().url();
        if (url.startsWith("file:") && inside(root, fileURLToPath(url))) return route.continue();
        outside.push(url);
        return route.abort(url.startsWith("file:") ? "failed" : "internetdisconnected");
      },
    );
    page.on("requestfailed", (r) => {
      if (!outside.includes(r.url())) failed.push(`${r.url()}: ${r.failure()?.errorText}`);
    });
    page.on("pageerror", (e) => pageErrors.push(String(e.message ?? e)));
    await page.goto(pathToFileURL(file).href, { waitUntil: "load", timeout: timeoutMs });
    await page.waitForFunction(`!document.querySelector('.seqlab-plot[data-state="waiting"]')`, undefined, { timeout: timeoutMs });
    const found = (await page.evaluate(INSPECT_PAGE)) as Omit<
      PageReport,
      "page" | "outside" | "failed" | "pageErrors" | "plots" | "notDrawn" | "links" | "linksOutside"
    > & {
      links: string[];
      figures: { title: string; files: string[] }[];
    };
    const plots = (await page.evaluate(INSPECT_PLOTS)) as Pick<RenderedPlots, "plots" | "notDrawn">;
    const files = found.links.map(linkedFile).filter((f): f is string => f !== undefined);
    return {
      ...found,
      ...plots,
      page: path.relative(root, file),
      outside,
      failed,
      pageErrors,
      links: [...new Set(files.filter((f) => inside(root, f)).map((f) => path.relative(root, f)))],
      linksOutside: [...new Set(files.filter((f) => !inside(root, f)))],
      figureLinks: found.figures.map((f) => ({
        title: f.title,
        files: f.files.map(linkedFile).filter((x): x is string => x !== undefined),
      })),
    };
  });
}

/** What is wrong with a page, one line each. */
export function pageProblems(p: PageReport): string[] {
  const at = (s: string) => `${p.page}: ${s}`;
  return [
    ...p.outside.map((u) => at(`requests ${u}, outside the book`)),
    ...p.failed.map((u) => at(`could not load ${u}`)),
    ...p.pageErrors.map((e) => at(`page error: ${e}`)),
    ...(p.hasMarkdown && p.math !== "rendered" ? [at(`math not typeset (data-math: ${p.math})`)] : []),
    ...p.mathErrors.map((e) => at(`math error: ${e}`)),
    ...p.rawMath.map((t) => at(`raw TeX left in the text: "${t}"`)),
    ...p.plots.filter((x) => x.drawn !== x.traces).map((x) => at(`plot "${x.title}" drew ${x.drawn} of ${x.traces} traces`)),
    ...p.notDrawn.map((n) => at(`a figure did not draw: ${n}`)),
    ...p.linksOutside.map((f) => at(`links to ${f}, outside the book`)),
  ];
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Checks a book: index.html and every page reachable from it by links inside the folder,
 * every link (the file exists), and every figure the contents list (its HTML draws, its
 * PNG is a PNG of more than 1 kB, its SVG parses and shows the figure's title).
 */
export async function checkBook(root: string, options: { timeoutMs?: number } = {}): Promise<BookReport> {
  root = path.resolve(root);
  const problems: string[] = [];
  const pages: PageReport[] = [];
  const figures: FigureReport[] = [];
  const index = path.join(root, "index.html");
  if (!fs.existsSync(index)) return { pages, figures, problems: [`no index.html in ${root}`] };
  const queue = ["index.html"];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const rel = queue.shift()!;
    const report = await checkPage(root, path.join(root, rel), options.timeoutMs);
    const { figureLinks, ...page } = report;
    pages.push(page);
    problems.push(...pageProblems(page));
    for (const link of page.links) {
      const file = path.join(root, link);
      if (!fs.existsSync(file)) problems.push(`${page.page}: links to ${link}, which does not exist`);
      else if (link.endsWith(".html") && !seen.has(link)) {
        seen.add(link);
        queue.push(link);
      }
    }
    for (const f of figureLinks) figures.push(await checkFigure(root, f.title, f.files));
  }
  for (const f of figures) problems.push(...f.problems.map((p) => `figure "${f.title}": ${p}`));
  return { pages, figures, problems };
}

async function checkFigure(root: string, title: string, files: string[]): Promise<FigureReport> {
  const pick = (ext: string) => files.find((f) => f.endsWith(ext));
  const rel = (f: string | undefined) => (f ? path.relative(root, f) : undefined);
  const [html, png, svg] = [pick(".html"), pick(".png"), pick(".svg")];
  const problems: string[] = [];
  if (!html) problems.push("no HTML file listed");
  if (!png || !fs.existsSync(png)) problems.push(`no PNG (${rel(png) ?? "not listed"})`);
  else {
    const b = fs.readFileSync(png);
    if (b.length <= 1024) problems.push(`${rel(png)} has only ${b.length} bytes`);
    if (!PNG_SIGNATURE.every((x, i) => b[i] === x) || b.toString("latin1", 12, 16) !== "IHDR") problems.push(`${rel(png)} is not a PNG`);
    else if (b.readUInt32BE(16) < 10 || b.readUInt32BE(20) < 10)
      problems.push(`${rel(png)} is ${b.readUInt32BE(16)}×${b.readUInt32BE(20)} pixels`);
  }
  if (!svg || !fs.existsSync(svg)) problems.push(`no SVG (${rel(svg) ?? "not listed"})`);
  else {
    const text = fs.readFileSync(svg, "utf-8");
    const parsed = (await withPage((page) => page.evaluate(`(${PARSE_SVG})(${JSON.stringify(text)})`))) as {
      root: string;
      error: string;
      text: string;
    };
    if (parsed.error || parsed.root !== "svg") problems.push(`${rel(svg)} does not parse as SVG: ${parsed.error || parsed.root}`);
    // (plotly.js puts zero-width spaces around sub- and superscripts)
    else if (
      !parsed.text
        .replace(/\u200b/g, "")
        .replace(/\s+/g, " ")
        .includes(title)
    )
      problems.push(`${rel(svg)} does not show the title "${title}"`);
  }
  return { title, html: rel(html), png: rel(png), svg: rel(svg), problems };
}
