/**
 * The course book that `npm run notebooks` writes opens offline on any machine: two
 * small notebooks (test/fixtures/book/) go through the runner, the out folder is copied
 * elsewhere, and headless Chromium reads the copy with every request outside it blocked
 * (test/helpers/book.ts) — the network, and absolute paths like Debian's MathJax.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pathToFileURL } from "url";
import { runNotebooks } from "../kernel/run-notebooks";
import { portablePage, writeBook } from "../kernel/book";
import { closeBrowser, withPage } from "seqlab/internal";
import { checkBook, checkPage, pageProblems, type BookReport } from "./helpers/book";
import { jupyterEnv, run, type JupyterEnv } from "./helpers/jupyter";

const fixtures = path.join(__dirname, "fixtures", "book");
const EQUATIONS = "01-equations-and-a-figure";
const LIVE = "02-a-live-figure";

/** The MathJax and require.js that Debian's nbconvert puts in every page. */
const DEBIAN_MATHJAX = "file:///usr/share/javascript/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe";
const DEBIAN_REQUIREJS = "file:///usr/share/javascript/requirejs/require.min.js";

describe("the course book written by npm run notebooks", function () {
  this.timeout(900_000);
  let jupyter: JupyterEnv;
  let tmp: string;
  let out: string;
  let copy: string;
  let results: Awaited<ReturnType<typeof runNotebooks>>;
  let book: BookReport;

  before(async () => {
    jupyter = jupyterEnv(["nbconvert", "nbclient"]);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-book-"));
    out = path.join(tmp, "out");
    const notebooks = [EQUATIONS, LIVE].map((n) => path.join(fixtures, `${n}.ipynb`));
    results = await runNotebooks({ notebooks, outDir: out, env: jupyter.env, log: () => {} });
    // Another folder on "another machine": absolute paths into out/ would not resolve here.
    copy = path.join(tmp, "elsewhere", "book");
    fs.cpSync(out, copy, { recursive: true });
    book = await checkBook(copy);
  });
  after(async () => {
    await closeBrowser();
    jupyter?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("the runner lists every figure a notebook shows as NN-slug .html, .png and .svg beside its page", () => {
    assert.deepEqual(
      results.map((r) => r.errors),
      [[], []],
    );
    const names = results.map((r) =>
      r.figures.map((f) => [f.title, path.relative(out, f.html), path.relative(out, f.png ?? ""), path.relative(out, f.svg ?? "")]),
    );
    assert.deepEqual(names, [
      [
        [
          "Training curves",
          `${EQUATIONS}/01-training-curves.html`,
          `${EQUATIONS}/01-training-curves.png`,
          `${EQUATIONS}/01-training-curves.svg`,
        ],
      ],
      [
        // The live figure as it was left: its last update.
        ["live loss, step 20", `${LIVE}/01-live-loss-step-20.html`, `${LIVE}/01-live-loss-step-20.png`, `${LIVE}/01-live-loss-step-20.svg`],
        ["Hidden state h(t)", `${LIVE}/02-hidden-state-h-t.html`, `${LIVE}/02-hidden-state-h-t.png`, `${LIVE}/02-hidden-state-h-t.svg`],
      ],
    ]);
    for (const r of results) {
      assert.deepEqual(
        r.plots,
        r.figures.map((f) => f.html),
      );
      for (const f of r.figures) for (const file of [f.html, f.png!, f.svg!]) assert.ok(fs.statSync(file).size > 1024, file);
    }
  });

  it("a copy of out/ opens offline: nothing outside it is requested, math is typeset, plots draw, links and figures are valid", () => {
    assert.deepEqual(book.problems, []);
    assert.deepEqual(book.pages.map((p) => p.page).sort(), [
      `${EQUATIONS}.html`,
      `${EQUATIONS}/01-training-curves.html`,
      `${LIVE}.html`,
      `${LIVE}/01-live-loss-step-20.html`,
      `${LIVE}/02-hidden-state-h-t.html`,
      "index.html",
    ]);
    assert.equal(book.figures.length, 3);
    for (const f of book.figures) assert.ok(f.png && f.svg, `figure "${f.title}" has PNG and SVG`);
    const page = (name: string) => book.pages.find((p) => p.page === name)!;
    // Every plot on the notebook pages, including the live figure's last state.
    assert.deepEqual(
      page(`${EQUATIONS}.html`).plots.map((p) => [p.title, p.traces]),
      [["Training curves", 2]],
    );
    assert.deepEqual(
      page(`${LIVE}.html`).plots.map((p) => [p.title, p.traces]),
      [
        ["live loss, step 20", 1],
        ["Hidden state h(t)", 1],
      ],
    );
  });

  it("every equation is typeset, in all of Jupyter's delimiters; code and output text keep their dollar signs", async () => {
    const page = (name: string) => book.pages.find((p) => p.page === name)!;
    // 01: $…$, \\(…\\) and $…$ inline; $$…$$, \\[…\\] and an aligned block displayed.
    assert.deepEqual([page(`${EQUATIONS}.html`).katex, page(`${EQUATIONS}.html`).katexDisplay], [6, 3]);
    // 02: $η$ inline and $$…$$ written inside a sentence.
    assert.deepEqual([page(`${LIVE}.html`).katex, page(`${LIVE}.html`).katexDisplay], [2, 1]);
    // The contents: the summaries' math (01's first sentence has two expressions, 02's one).
    assert.deepEqual([page("index.html").katex, page("index.html").math], [3, "rendered"]);
    const texts = await withPage(async (p) => {
      await p.goto(pathToFileURL(path.join(copy, `${EQUATIONS}.html`)).href, { waitUntil: "load" });
      return p.evaluate(`[Array.from(document.querySelectorAll(".jp-RenderedMarkdown code")).map((e) => e.textContent),
        Array.from(document.querySelectorAll(".jp-OutputArea-output pre")).map((e) => e.textContent)]`);
    });
    const [code, outputs] = texts as [string[], string[]];
    assert.deepEqual(code, ["echo $$ $HOME"]);
    assert.ok(
      outputs.some((t) => t.includes("prices in output text stay as they are: $5 and $$6")),
      outputs.join("\n"),
    );
  });

  it("the contents give each notebook's number, title, summary, run time and links; each page has contents / previous / next", () => {
    const index = fs.readFileSync(path.join(copy, "index.html"), "utf-8");
    assert.match(index, /<span class="number">01<\/span> <a href="01-equations-and-a-figure\.html">Equations and a figure<\/a>/);
    assert.match(index, /<span class="number">02<\/span> <a href="02-a-live-figure\.html">A live figure<\/a>/);
    // The first paragraph, cut after its first sentence (it is long), math left whole for KaTeX.
    assert.match(
      index,
      /<p class="summary seqlab-book-math">A fixture of the book test: inline math \$s\^\{\(t\)\} = f\(s\^\{\(t-1\)\}, x\^\{\(t\)\}; \\theta\)\$ and \\\(h = \\tanh a\\\) in the first paragraph, which the table of contents shows\.<\/p>/,
    );
    for (const r of results) {
      const seconds = new RegExp(`ran in ${r.seconds.toFixed(1).replace(".", "\\.")} s`);
      assert.match(index, seconds);
    }
    const links = (name: string) => book.pages.find((p) => p.page === name)!.links.sort();
    assert.deepEqual(links("index.html"), [
      `${EQUATIONS}.html`,
      `${EQUATIONS}.ipynb`,
      `${EQUATIONS}/01-training-curves.html`,
      `${EQUATIONS}/01-training-curves.png`,
      `${EQUATIONS}/01-training-curves.svg`,
      `${LIVE}.html`,
      `${LIVE}.ipynb`,
      `${LIVE}/01-live-loss-step-20.html`,
      `${LIVE}/01-live-loss-step-20.png`,
      `${LIVE}/01-live-loss-step-20.svg`,
      `${LIVE}/02-hidden-state-h-t.html`,
      `${LIVE}/02-hidden-state-h-t.png`,
      `${LIVE}/02-hidden-state-h-t.svg`,
    ]);
    // Navigation (and the anchors nbconvert gives headings, which point at the page itself).
    assert.deepEqual(links(`${EQUATIONS}.html`), [`${EQUATIONS}.html`, `${LIVE}.html`, "index.html"]);
    assert.deepEqual(links(`${LIVE}.html`), [`${EQUATIONS}.html`, `${LIVE}.html`, "index.html"]);
    const page = fs.readFileSync(path.join(copy, `${LIVE}.html`), "utf-8");
    assert.match(page, /<a class="seqlab-book-prev" rel="prev" href="01-equations-and-a-figure\.html">← 01 · Equations and a figure<\/a>/);
  });

  it("a page as Debian's nbconvert writes it fails the check (it asks for /usr/share/javascript); made portable, it passes", async () => {
    // nbconvert's HTML with Debian's settings, whichever nbconvert is installed.
    const executed = path.join(copy, `${EQUATIONS}.ipynb`);
    const r = await run(
      jupyter.python,
      [
        "-m",
        "nbconvert",
        "--to",
        "html",
        `--HTMLExporter.mathjax_url=${DEBIAN_MATHJAX}`,
        `--HTMLExporter.require_js_url=${DEBIAN_REQUIREJS}`,
        "--output-dir",
        copy,
        "--output",
        "debian",
        executed,
      ],
      { env: jupyter.env },
    );
    assert.equal(r.code, 0, r.stderr);
    const debian = path.join(copy, "debian.html");
    const before = await checkPage(copy, debian);
    // Blocked, as on a machine without Debian's packages: no MathJax, no math.
    assert.deepEqual(before.outside.sort(), [DEBIAN_MATHJAX, DEBIAN_REQUIREJS].sort());
    const problems = pageProblems(before);
    assert.ok(
      problems.some((p) => p.includes("requests file:///usr/share/javascript/mathjax/")),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => p.includes("math not typeset")),
      problems.join("\n"),
    );
    assert.equal(before.katex, 0);
    // The same page through the book's post-processing.
    fs.writeFileSync(debian, portablePage(fs.readFileSync(debian, "utf-8"), { nav: "" }));
    const after = await checkPage(copy, debian);
    assert.deepEqual(pageProblems(after), []);
    assert.deepEqual([after.katex, after.plots.length], [6, 1]);
  });

  it("running some notebooks again keeps the others in the book, and pages made portable twice stay the same", async () => {
    const again = path.join(tmp, "again");
    fs.cpSync(copy, again, { recursive: true });
    fs.rmSync(path.join(again, "debian.html"), { force: true });
    const pageBefore = fs.readFileSync(path.join(again, `${EQUATIONS}.html`), "utf-8");
    const name = LIVE;
    await writeBook(again, [
      { name, executed: path.join(again, `${name}.ipynb`), html: path.join(again, `${name}.html`), seconds: 1.5, errors: 0 },
    ]);
    const index = fs.readFileSync(path.join(again, "index.html"), "utf-8");
    assert.match(index, /Equations and a figure/);
    assert.match(index, /ran in 1\.5 s/);
    assert.equal(fs.readFileSync(path.join(again, `${EQUATIONS}.html`), "utf-8"), pageBefore);
    const live = fs.readFileSync(path.join(again, `${LIVE}.html`), "utf-8");
    assert.equal(live.split("<!-- seqlab book: navigation -->").length, 2, "one navigation bar");
    assert.equal(live.split('src="assets/katex/katex.min.js"').length, 2, "KaTeX loaded once");
    assert.deepEqual((await checkBook(again)).problems, []);
  });
});
