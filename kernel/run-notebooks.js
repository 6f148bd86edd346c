#!/usr/bin/env node
// @ts-check
"use strict";
/**
 * `npm run notebooks`: executes every notebook in notebooks/ through the seqlab
 * kernel and makes out/ a course book that opens offline anywhere (kernel/book.js):
 * out/index.html, each executed notebook as .ipynb and .html, and every figure a
 * notebook shows as HTML, PNG and SVG under out/<notebook>/. Exits non-zero if any
 * cell raised an error.
 *
 *   node kernel/run-notebooks.js [notebook.ipynb …] [--out DIR]
 *
 * The kernel run is this checkout's: a private kernelspec pointing here is put
 * first on JUPYTER_PATH, whichever seqlab kernel the user has registered.
 */
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn } = require("child_process");
const { findJupyter, installKernelSpec } = require("./jupyter");
const { packageRoot } = require("./resolve");
const { writeBook } = require("./book");

const CELL_TIMEOUT_S = 600;

/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} env
 * @returns {Promise<{ code: number | null, output: string }>}
 */
function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/**
 * The error outputs of an executed notebook.
 * @param {string} file
 * @returns {{ cell: number, ename: string, evalue: string }[]}
 */
function notebookErrors(file) {
  const nb = JSON.parse(fs.readFileSync(file, "utf-8"));
  /** @type {{ cell: number, ename: string, evalue: string }[]} */
  const errors = [];
  nb.cells.forEach((/** @type {any} */ cell, /** @type {number} */ i) => {
    for (const out of cell.outputs ?? []) {
      if (out.output_type === "error") errors.push({ cell: i + 1, ename: out.ename, evalue: out.evalue });
    }
  });
  return errors;
}

/**
 * Executes notebooks, converts them to HTML and writes the course book around them
 * (`outDir`/index.html; see kernel/book.js).
 * @param {{ notebooks?: string[], outDir?: string, env?: NodeJS.ProcessEnv, log?: (s: string) => void }} [opts]
 * @returns {Promise<{ notebook: string, executed: string, html: string, seconds: number,
 *   errors: { cell: number, ename: string, evalue: string }[],
 *   plots: string[], figures: import("./book").FigureFiles[] }[]>}
 *   `figures`: each figure the notebook shows, as files (`plots`: their HTML files)
 */
async function runNotebooks(opts = {}) {
  const log = opts.log ?? ((s) => console.log(s));
  const notebooks =
    opts.notebooks ??
    fs
      .readdirSync(path.join(packageRoot, "notebooks"))
      .filter((f) => f.endsWith(".ipynb"))
      .sort()
      .map((f) => path.join(packageRoot, "notebooks", f));
  const outDir = path.resolve(opts.outDir ?? path.join(packageRoot, "out"));
  const jupyter = findJupyter({ need: ["jupyter_client", "nbconvert", "nbclient"] });
  if (!jupyter) {
    throw new Error("no Python here has Jupyter with nbconvert and nbclient: run `npm install` (it installs them)");
  }
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-run-"));
  try {
    installKernelSpec(jupyter.python, { prefix });
    const base = opts.env ?? process.env;
    const jupyterPath = [path.join(prefix, "share", "jupyter"), base.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
    // A batch run keeps the still picture of every figure: the kernel may wait up to a minute for one.
    const env = { SEQLAB_PICTURE_WAIT: "60000", ...base, JUPYTER_PATH: jupyterPath, PYDEVD_DISABLE_FILE_VALIDATION: "1" };
    fs.mkdirSync(outDir, { recursive: true });
    /** @type {Awaited<ReturnType<typeof runNotebooks>>} */
    const results = [];
    for (const notebook of notebooks) {
      const name = path.basename(notebook, ".ipynb");
      const executed = path.join(outDir, `${name}.ipynb`);
      const html = path.join(outDir, `${name}.html`);
      const plotDir = path.join(outDir, name);
      fs.rmSync(plotDir, { recursive: true, force: true });
      const t0 = Date.now();
      const exec = await run(
        jupyter.python,
        [
          "-m",
          "nbconvert",
          "--to",
          "notebook",
          "--execute",
          "--allow-errors",
          "--ExecutePreprocessor.kernel_name=seqlab",
          `--ExecutePreprocessor.timeout=${CELL_TIMEOUT_S}`,
          "--output-dir",
          outDir,
          "--output",
          name,
          notebook,
        ],
        env,
      );
      const seconds = (Date.now() - t0) / 1000;
      if (exec.code !== 0 || !fs.existsSync(executed)) {
        throw new Error(`executing ${notebook} failed (exit ${exec.code}):\n${exec.output}`);
      }
      const conv = await run(jupyter.python, ["-m", "nbconvert", "--to", "html", "--output-dir", outDir, executed], env);
      if (conv.code !== 0) throw new Error(`converting ${executed} to HTML failed:\n${conv.output}`);
      const errors = notebookErrors(executed);
      results.push({ notebook, executed, html, seconds, errors, plots: [], figures: [] });
      log(
        `${errors.length === 0 ? "ok  " : "FAIL"} ${path.relative(packageRoot, notebook)} in ${seconds.toFixed(1)} s → ` +
          `${path.relative(process.cwd(), executed)}, ${path.relative(process.cwd(), html)}`,
      );
      for (const e of errors) log(`     cell ${e.cell}: ${e.ename}: ${e.evalue}`);
    }
    const book = await writeBook(
      outDir,
      results.map((r) => ({ name: path.basename(r.executed, ".ipynb"), ...r, errors: r.errors.length })),
      { log },
    );
    for (const r of results) {
      r.figures = book.figures.get(path.basename(r.executed, ".ipynb")) ?? [];
      r.plots = r.figures.map((f) => f.html);
    }
    const figures = results.flatMap((r) => r.figures);
    const formats = figures.every((f) => f.png && f.svg) ? "HTML, PNG and SVG" : "HTML";
    log(
      `book: ${path.relative(process.cwd(), book.index)}; ${figures.length} figure${figures.length === 1 ? "" : "s"} as ${formats} ` +
        `in ${book.exportSeconds.toFixed(1)} s`,
    );
    return results;
  } finally {
    fs.rmSync(prefix, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--out");
  const outDir = at >= 0 ? args.splice(at, 2)[1] : undefined;
  runNotebooks({ notebooks: args.length ? args.map((a) => path.resolve(a)) : undefined, outDir })
    .then((results) => {
      const failed = results.filter((r) => r.errors.length > 0);
      console.log(`${results.length - failed.length} of ${results.length} notebooks ran without error`);
      process.exit(failed.length ? 1 : 0);
    })
    .catch((e) => {
      console.error(`seqlab: ${e.message}`);
      process.exit(1);
    });
}

module.exports = { runNotebooks, notebookErrors };
