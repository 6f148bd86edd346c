#!/usr/bin/env node
// @ts-check
"use strict";
/**
 * Set-up run by `npm install` (and `npm run kernel:install` with --kernel-only):
 *   1. says in one line which tfjs backend seqlab will use and why;
 *   2. installs Jupyter if no Python here has it (Debian packages as root, else
 *      pip), or stops with the one command that would;
 *   3. registers the "seqlab" kernel with the Python that runs Jupyter.
 * SEQLAB_SKIP_JUPYTER=1 skips 2 and 3 (library-only installs).
 */
const fs = require("fs");
const { spawnSync } = require("child_process");
const { findJupyter, installKernelSpec, which, DISPLAY_NAME } = require("./jupyter");

const DEBIAN_PACKAGES = ["jupyter-notebook", "jupyter-nbconvert", "jupyter-client", "python3-nbclient"];
const PIP_PACKAGES = ["notebook", "nbconvert", "nbclient"];

/** @param {string} msg */
function say(msg) {
  console.log(`seqlab: ${msg}`);
}

function announceBackend() {
  try {
    require.resolve("@tensorflow/tfjs-node");
    say("@tensorflow/tfjs-node is installed: seqlab will use the native tensorflow backend.");
  } catch {
    say(
      "@tensorflow/tfjs-node is not installed (its install downloads libtensorflow, which failed or was skipped): " +
        "seqlab will use the wasm backend.",
    );
  }
}

/**
 * @param {string} cmd
 * @param {string[]} args
 */
function run(cmd, args) {
  say(`running: ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  return r.status === 0;
}

function installJupyter() {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const apt = which("apt-get");
  if (apt && fs.existsSync("/etc/debian_version")) {
    if (!root) return `sudo apt-get install -y ${DEBIAN_PACKAGES.join(" ")}`;
    say("Jupyter not found: installing it from Debian's packages.");
    const args = ["install", "-y", "-q", "--no-install-recommends", ...DEBIAN_PACKAGES];
    if (run(apt, args) || (run(apt, ["update", "-q"]) && run(apt, args))) return null;
    return `apt-get update && apt-get install -y ${DEBIAN_PACKAGES.join(" ")}`;
  }
  for (const python of ["python3", "python"]) {
    if (!which(python)) continue;
    if (spawnSync(python, ["-m", "pip", "--version"]).status !== 0) continue;
    say(`Jupyter not found: installing it with ${python} -m pip.`);
    const args = ["-m", "pip", "install", "--user", ...PIP_PACKAGES];
    if (run(python, args)) return null;
    return `${python} ${args.join(" ")}`;
  }
  return `python3 -m pip install --user ${PIP_PACKAGES.join(" ")}`;
}

function main() {
  const kernelOnly = process.argv.includes("--kernel-only");
  if (!kernelOnly) announceBackend();
  if (process.env.SEQLAB_SKIP_JUPYTER === "1") {
    say("SEQLAB_SKIP_JUPYTER=1: Jupyter and the kernel were not set up.");
    return;
  }
  let jupyter = findJupyter();
  if (!jupyter && !kernelOnly) {
    const failed = installJupyter();
    jupyter = failed ? null : findJupyter();
    if (!jupyter) {
      console.error(
        `seqlab: Jupyter is not installed and could not be installed here. Run:\n\n    ${failed ?? "apt-get install -y " + DEBIAN_PACKAGES.join(" ")}\n\nthen: npm run kernel:install`,
      );
      process.exit(1);
    }
  }
  if (!jupyter) {
    console.error("seqlab: no Python here has Jupyter (jupyter_client with notebook or jupyterlab); run `npm install` first.");
    process.exit(1);
  }
  const where = installKernelSpec(jupyter.python);
  say(`registered the Jupyter kernel "${DISPLAY_NAME}" with ${jupyter.python} in ${where}`);
}

main();
