#!/usr/bin/env node
// @ts-check
"use strict";
/**
 * `npm run pdf -- <notebook.ipynb> [--out FILE.pdf]`: a notebook as PDF, as courses that
 * grade written answers on paper (or on Gradescope's PDF assignments) need.
 *
 * The notebook is converted to HTML by nbconvert (Debian's), its math typeset by KaTeX
 * (the course book's page, kernel/book.js) and printed by the headless Chromium seqlab
 * already uses for pictures. The notebook is printed as saved: run it and save it first.
 */
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawnSync } = require("child_process");
const { findJupyter } = require("../kernel/jupyter");
const { portablePage, copyKatex } = require("../kernel/book");

/**
 * @param {string} notebook
 * @param {string} [out] default: the notebook's path with .pdf
 * @param {{ screenshot?: string }} [opts] `screenshot`: also save the printed page as a PNG (to look at)
 * @returns {Promise<{ pdf: string, pages: number, bytes: number, math: number, mathErrors: number }>}
 */
async function notebookToPdf(notebook, out, opts = {}) {
  const src = path.resolve(notebook);
  if (!fs.existsSync(src)) throw new Error(`notebook: no such file ${src}`);
  if (!src.endsWith(".ipynb")) throw new Error(`notebook: expected a .ipynb file, got ${path.basename(src)}`);
  const pdf = path.resolve(out ?? src.replace(/\.ipynb$/, ".pdf"));
  const jupyter = findJupyter({ need: ["nbconvert"] });
  if (!jupyter) throw new Error("no Python here has Jupyter with nbconvert: run `npm install` (it installs them)");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-pdf-"));
  try {
    const conv = spawnSync(jupyter.python, ["-m", "nbconvert", "--to", "html", "--output-dir", dir, "--output", "page", src], {
      encoding: "utf-8",
      env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: "1" },
    });
    if (conv.status !== 0) throw new Error(`nbconvert could not convert ${src}:\n${conv.stderr.trim().split("\n").slice(-3).join("\n")}`);
    const page = path.join(dir, "page.html");
    fs.writeFileSync(page, portablePage(fs.readFileSync(page, "utf-8"), { nav: "" }));
    copyKatex(dir);
    const { chromiumPath } = require("../dist/internal");
    const { chromium } = require("playwright-core");
    const browser = await chromium.launch({ executablePath: chromiumPath(), args: ["--no-sandbox"] });
    try {
      const tab = await browser.newPage();
      await tab.goto(`file://${page}`, { waitUntil: "load" });
      // KaTeX typesets after load; a page without math has no $ left to typeset.
      await tab.waitForFunction('document.querySelectorAll(".katex").length > 0 || !document.body.innerText.includes("$")', null, {
        timeout: 10_000,
      });
      await tab.emulateMedia({ media: "print" });
      const math = Number(await tab.evaluate('document.querySelectorAll(".katex").length'));
      const mathErrors = Number(await tab.evaluate('document.querySelectorAll(".katex-error").length'));
      if (opts.screenshot) await tab.screenshot({ path: opts.screenshot, fullPage: true });
      await tab.pdf({
        path: pdf,
        format: "A4",
        printBackground: true,
        margin: { top: "15mm", bottom: "15mm", left: "12mm", right: "12mm" },
      });
      const bytes = fs.statSync(pdf).size;
      const pages = (fs.readFileSync(pdf, "latin1").match(/\/Type\s*\/Page\b/g) ?? []).length;
      return { pdf, pages, bytes, math, mathErrors };
    } finally {
      await browser.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--out");
  const out = at >= 0 ? args.splice(at, 2)[1] : undefined;
  const base = process.env.INIT_CWD ?? process.cwd();
  if (args.length !== 1) {
    console.error("usage: npm run pdf -- <notebook.ipynb> [--out FILE.pdf]");
    process.exit(2);
  }
  notebookToPdf(path.resolve(base, args[0]), out ? path.resolve(base, out) : undefined).then(
    (r) => console.log(`${path.relative(base, r.pdf)}: ${r.pages} page${r.pages === 1 ? "" : "s"}, ${(r.bytes / 1024).toFixed(0)} kB`),
    (e) => {
      console.error(`pdf: ${e.message}`);
      process.exit(1);
    },
  );
}

module.exports = { notebookToPdf };
