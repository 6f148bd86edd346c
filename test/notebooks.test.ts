/**
 * Every notebook in notebooks/ is committed without outputs and runs, through
 * the seqlab kernel, without an error (the same runner as `npm run notebooks`).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runNotebooks } from "../kernel/run-notebooks";
import { version as seqlabVersion } from "../package.json";
import { pathToFileURL } from "url";
import { chromiumPath, closeBrowser } from "seqlab/internal";
import { jupyterEnv, run, JupyterEnv } from "./helpers/jupyter";
import { checkBook } from "./helpers/book";
import { readExecuted, type NotebookCheck } from "./notebook-checks/helpers";

const dir = path.join(__dirname, "..", "notebooks");
const notebooks = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith(".ipynb"))
  .sort();

interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: { output_type: string; text?: string | string[]; data?: Record<string, unknown>; metadata?: Record<string, unknown> }[];
  execution_count?: number | null;
}
const read = (file: string): { cells: Cell[]; metadata: { kernelspec?: { name: string } } } => JSON.parse(fs.readFileSync(file, "utf-8"));
const text = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join("") : (t ?? ""));

describe("notebooks", function () {
  it("there is at least one, numbered like 01-…", () => {
    assert.ok(notebooks.length >= 1);
    for (const nb of notebooks) assert.match(nb, /^\d\d-[a-z0-9-]+\.ipynb$/);
  });

  for (const nb of notebooks) {
    it(`${nb} is committed without outputs and uses the seqlab kernel`, () => {
      const { cells, metadata } = read(path.join(dir, nb));
      assert.equal(metadata.kernelspec?.name, "seqlab");
      for (const [i, cell] of cells.entries()) {
        if (cell.cell_type !== "code") continue;
        assert.deepEqual(cell.outputs, [], `cell ${i + 1} of ${nb} has outputs`);
        assert.equal(cell.execution_count, null, `cell ${i + 1} of ${nb} has an execution count`);
      }
    });

    it(`${nb} reads like a chapter: a numbered title, the common first cell, exercises at the end, and a check`, () => {
      const { cells } = read(path.join(dir, nb));
      const number = nb.slice(0, 2);
      assert.equal(cells[0].cell_type, "markdown");
      assert.match(text(cells[0].source), new RegExp(`^# ${number} · \\S`), "first cell: # NN · Title");
      const firstCode = cells.find((c) => c.cell_type === "code")!;
      assert.match(text(firstCode.source), /^import \{ tf, initBackend, describeBackend, version[ ,}]/);
      assert.match(
        text(firstCode.source),
        /const backend = await initBackend\(\);\nconsole\.log\(`seqlab \$\{version\}`\);\nconsole\.log\(describeBackend\(backend\)\);/,
      );
      const exercises = cells.findIndex((c) => c.cell_type === "markdown" && /^## Exercises\b/m.test(text(c.source)));
      assert.ok(exercises >= 0, "an ## Exercises section");
      const items = cells
        .slice(exercises)
        .map((c) => text(c.source))
        .join("\n")
        .match(/^\d+\. /gm);
      assert.ok(items && items.length >= 2 && items.length <= 6, `${items?.length ?? 0} exercises`);
      assert.ok(
        cells.slice(exercises + 1).every((c) => c.cell_type === "markdown"),
        "the exercises end the notebook",
      );
      assert.ok(
        fs.existsSync(path.join(__dirname, "notebook-checks", nb.replace(/\.ipynb$/, ".ts"))),
        "test/notebook-checks has its check",
      );
      for (const [i, cell] of cells.entries()) {
        const src = text(cell.source);
        // eslint-disable-next-line no-control-regex
        assert.doesNotMatch(src, /[\x00-\x08\x0b\x0c\x0e-\x1f]/, `cell ${i + 1}: a control character (an unescaped "\\a"?)`);
        if (cell.cell_type === "markdown") {
          assert.doesNotMatch(
            src,
            /^\s*\|.*\|\s*\n\s*\|[-: |]+\|\s*$/m,
            `cell ${i + 1}: a markdown table (the classic Notebook renders them badly)`,
          );
        } else {
          assert.doesNotMatch(src, /seqlab\/internal/, `cell ${i + 1}: notebooks use the public entry only`);
          assert.doesNotMatch(
            src,
            /\binterruptible\(|setImmediate|numTensors/,
            `cell ${i + 1}: plumbing in a cell (trainLoop and fit do it)`,
          );
        }
      }
    });
  }

  it("every notebook that library doc comments point to exists", () => {
    const src = path.join(__dirname, "..", "src");
    const files = (fs.readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith(".ts"));
    const cited = new Set<string>();
    for (const f of files) {
      for (const m of fs.readFileSync(path.join(src, f), "utf-8").matchAll(/notebooks\/([\w-]+\.ipynb)/g)) cited.add(m[1]);
    }
    assert.ok(cited.size >= 5, `only ${cited.size} notebooks cited`);
    for (const nb of cited) assert.ok(notebooks.includes(nb), `a doc comment points to notebooks/${nb}, which does not exist`);
  });

  describe("executed through the seqlab kernel", function () {
    this.timeout(1_800_000);
    let jupyter: JupyterEnv;
    let out: string;
    let results: Awaited<ReturnType<typeof runNotebooks>>;
    before(async () => {
      jupyter = jupyterEnv(["nbconvert", "nbclient"]);
      out = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-notebooks-"));
      results = await runNotebooks({ outDir: out, env: jupyter.env, log: () => {} });
    });
    after(async () => {
      await closeBrowser();
      jupyter?.dispose();
      if (out) fs.rmSync(out, { recursive: true, force: true });
    });

    it("every notebook runs without an error output and is written as .ipynb and .html", () => {
      assert.equal(results.length, notebooks.length);
      for (const r of results) {
        assert.deepEqual(r.errors, [], `${path.basename(r.notebook)} raised errors`);
        assert.ok(fs.statSync(r.executed).size > 0);
        assert.match(fs.readFileSync(r.html, "utf-8"), /<html/i);
      }
    });

    it("a notebook outside the repository imports seqlab with types; cell errors are reported and fail the run", async () => {
      // The temporary folder has no node_modules: seqlab must resolve through the kernel.
      const bad = path.join(out, "99-elsewhere.ipynb");
      const nb = read(path.join(dir, notebooks[0]));
      nb.cells = [
        'import { version, tf, initBackend } from "seqlab";\nawait initBackend();\n' +
          "console.log(`outside: seqlab ${version}, ${tf.tensor1d([1, 2, 3]).sum().dataSync()[0]}`);",
        // The second entry resolves too, with its types: MAX_LIVE is a number, so the
        // assignment to a string must fail to compile (the error is reported, not run).
        'import { MAX_LIVE, fusedMemory } from "seqlab/internal";\n' +
          "console.log(`internal: ${MAX_LIVE > 0} ${typeof fusedMemory().bytes}`);",
        "const notAString: string = MAX_LIVE;",
        "const n: number = version;",
        'throw new TypeError("broken on purpose");',
      ].map((source) => ({ cell_type: "code", source, outputs: [], execution_count: null, metadata: {} }));
      fs.writeFileSync(bad, JSON.stringify({ ...nb, nbformat: 4, nbformat_minor: 4 }));
      const script = path.join(__dirname, "..", "kernel", "run-notebooks.js");
      const r = await run(process.execPath, [script, bad, "--out", path.join(out, "elsewhere")], { env: jupyter.env });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /FAIL .*99-elsewhere\.ipynb/, r.stderr);
      assert.match(r.stdout, /cell 3: TypeScriptError: .*Type 'number' is not assignable to type 'string'/);
      assert.match(r.stdout, /cell 4: TypeScriptError: .*Type 'string' is not assignable to type 'number'/);
      assert.match(r.stdout, /cell 5: TypeError: broken on purpose/);
      assert.match(r.stdout, /0 of 1 notebooks ran without error/);
      const executed = read(path.join(out, "elsewhere", "99-elsewhere.ipynb"));
      const printed = (cell: Cell) => text(cell.outputs?.find((o) => o.output_type === "stream")?.text);
      assert.equal(printed(executed.cells[0]), `outside: seqlab ${seqlabVersion}, 6\n`);
      assert.equal(printed(executed.cells[1]), "internal: true number\n");
      assert.ok(fs.existsSync(path.join(out, "elsewhere", "99-elsewhere.html")), "the failing notebook's HTML is still written");
    });

    for (const nb of notebooks) {
      const name = nb.replace(/\.ipynb$/, "");
      it(`${name}: runs without error or warning output and shows what its check asserts`, async () => {
        const r = results.find((x) => path.basename(x.notebook) === nb)!;
        const executed = readExecuted(r.executed, r.html, r.seconds, r.plots);
        console.log(`      ${name}: ${r.seconds.toFixed(1)} s, ${executed.figures.length} figures`);
        assert.equal(executed.stderr, "", `${name} wrote to stderr`);
        assert.ok(executed.figures.length >= 1, `${name} shows no figure`);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { default: check } = require(path.join(__dirname, "notebook-checks", name)) as { default: NotebookCheck };
        check(executed);
      });
    }

    it("a viewer that runs no scripts sees a picture of every figure, of its final state", async () => {
      const { chromium } = await import("playwright-core");
      const browser = await chromium.launch({ executablePath: chromiumPath(), args: ["--no-sandbox"] });
      try {
        // nbconvert's HTML with JavaScript off, as a viewer that runs no scripts shows it.
        const page = await (await browser.newContext({ javaScriptEnabled: false, offline: true })).newPage();
        for (const r of results) {
          const nb = read(r.executed);
          const figures = nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data?.["application/vnd.plotly.v1+json"]);
          const titles: string[] = [];
          for (const o of figures) {
            const fig = o.data!["application/vnd.plotly.v1+json"] as { layout: { title?: { text?: string } } };
            const png = Buffer.from(String(o.data!["image/png"] ?? ""), "base64");
            const title = (fig.layout.title?.text ?? "").replace(/<[^>]*>/g, "");
            titles.push(title);
            assert.ok(png.length > 1000 && png.readUInt32BE(0) === 0x89504e47, `${path.basename(r.notebook)}: no picture for "${title}"`);
            const meta = (o.metadata as Record<string, { title?: string }> | undefined)?.["image/png"];
            assert.equal(meta?.title, title, "the picture is of the figure's final state");
          }
          await page.goto(pathToFileURL(r.html).href);
          const seen = (await page.evaluate(
            `Array.from(document.querySelectorAll(".seqlab-plot")).map((p) => {
               const img = p.querySelector("img.seqlab-plot-picture");
               return img && img.naturalWidth > 0 && img.getBoundingClientRect().height > 50 ? img.alt : null;
             })`,
          )) as (string | null)[];
          assert.equal(
            seen.length,
            figures.length,
            `${path.basename(r.html)}: ${seen.length} figures in the HTML, ${figures.length} in the notebook`,
          );
          seen.forEach((alt, i) =>
            assert.ok(alt !== null && (titles[i] === "" || alt === titles[i]), `${path.basename(r.html)}, figure ${i + 1}: ${alt}`),
          );
        }
      } finally {
        await browser.close();
      }
    });

    it("out/ is a book that opens offline anywhere: a copy of it loads nothing from outside, typesets its math, draws every figure", async () => {
      const copy = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-book-copy-"));
      try {
        fs.cpSync(out, copy, { recursive: true });
        const book = await checkBook(copy);
        assert.deepEqual(book.problems, []);
        const pages = book.pages.filter((p) => /^\d\d-[^/]*\.html$/.test(p.page)).map((p) => p.page);
        assert.deepEqual(pages.sort(), notebooks.map((nb) => nb.replace(/\.ipynb$/, ".html")).sort());
      } finally {
        fs.rmSync(copy, { recursive: true, force: true });
      }
    });
  });
});
