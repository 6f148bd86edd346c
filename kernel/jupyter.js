// @ts-check
"use strict";
/**
 * Finding Jupyter and registering the seqlab kernel with it.
 *
 * Jupyter may run under a Python that is not the first `python3` on PATH (on
 * Debian it is /usr/bin/python3, while pyenv or a venv may shadow it), and
 * `tslab install` then registers the kernel with the wrong one (tslab#92). So
 * every candidate Python is asked directly whether it has Jupyter.
 */
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawnSync } = require("child_process");
const { packageRoot } = require("./resolve");

const KERNEL_NAME = "seqlab";
const DISPLAY_NAME = "TypeScript (seqlab)";

/** Pythons to ask, in order: SEQLAB_PYTHON, the one behind `jupyter`, the system's, PATH's. */
function candidatePythons() {
  const found = [];
  if (process.env.SEQLAB_PYTHON) found.push(process.env.SEQLAB_PYTHON);
  const jupyter = which("jupyter");
  if (jupyter) {
    const first = fs.readFileSync(jupyter, "utf-8").split("\n")[0];
    if (first.startsWith("#!")) found.push(first.slice(2).trim().split(/\s+/)[0]);
  }
  found.push("/usr/bin/python3", "python3", "python");
  return [...new Set(found)];
}

/** @param {string} cmd */
function which(cmd) {
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

/**
 * @param {string} python
 * @param {string} code
 */
function pythonRuns(python, code) {
  const r = spawnSync(python, ["-c", code], { encoding: "utf-8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * The Python that runs Jupyter, and what it can do.
 * @param {{ need?: string[] }} [opts] modules that must import (default: a server and jupyter_client)
 * @returns {{ python: string, lab: boolean, notebook: boolean, nbconvert: boolean, nbclient: boolean } | null}
 */
function findJupyter(opts = {}) {
  const need = opts.need ?? ["jupyter_client"];
  for (const python of candidatePythons()) {
    const probe = [
      "import importlib.util as u, json",
      `print(json.dumps({m: u.find_spec(m) is not None for m in ${JSON.stringify([
        ...need,
        "jupyterlab",
        "notebook",
        "nbconvert",
        "nbclient",
      ])}}))`,
    ].join("\n");
    const out = pythonRuns(python, probe);
    if (!out) continue;
    const has = JSON.parse(out);
    if (!need.every((m) => has[m]) || !(has.jupyterlab || has.notebook)) continue;
    return { python, lab: has.jupyterlab, notebook: has.notebook, nbconvert: has.nbconvert, nbclient: has.nbclient };
  }
  return null;
}

/**
 * The kernelspec: this Node runs kernel/launch.js; Interrupt is SIGINT.
 * @returns {Record<string, unknown>}
 */
function kernelSpec() {
  return {
    argv: [process.execPath, path.join(packageRoot, "kernel", "launch.js"), "{connection_file}"],
    display_name: DISPLAY_NAME,
    language: "typescript",
    interrupt_mode: "signal",
    metadata: { seqlab: { package: packageRoot } },
  };
}

/**
 * Registers the kernelspec with the given Python's Jupyter.
 * @param {string} python
 * @param {{ prefix?: string }} [opts] install under PREFIX/share/jupyter/kernels (tests)
 *   instead of the user's Jupyter data folder
 * @returns {string} the folder the kernelspec was written to
 */
function installKernelSpec(python, opts = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-kernelspec-"));
  try {
    fs.writeFileSync(path.join(dir, "kernel.json"), JSON.stringify(kernelSpec(), null, 2) + "\n");
    for (const logo of ["logo-32x32.png", "logo-64x64.png"]) {
      const src = path.join(packageRoot, "kernel", logo);
      if (fs.existsSync(src)) fs.copyFileSync(src, path.join(dir, logo));
    }
    const where = opts.prefix ? `prefix=${JSON.stringify(opts.prefix)}` : "user=True";
    const code = [
      "from jupyter_client.kernelspec import KernelSpecManager",
      `print(KernelSpecManager().install_kernel_spec(${JSON.stringify(dir)}, kernel_name=${JSON.stringify(
        KERNEL_NAME,
      )}, ${where}, replace=True))`,
    ].join("\n");
    const r = spawnSync(python, ["-c", code], { encoding: "utf-8" });
    if (r.status !== 0) throw new Error(`registering the seqlab kernel with ${python} failed:\n${r.stderr}`);
    return r.stdout.trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { KERNEL_NAME, DISPLAY_NAME, findJupyter, installKernelSpec, kernelSpec, which };
