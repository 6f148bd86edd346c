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
  const tfjsNode = "@tensorflow/tfjs-node"; // optional: may be absent, so not a literal for the type checker
  try {
    require.resolve(tfjsNode);
  } catch {
    say(
      "@tensorflow/tfjs-node is not installed (its install downloads libtensorflow, which failed or was skipped): " +
        "seqlab will use the wasm backend.",
    );
    return;
  }
  try {
    require(tfjsNode);
    say("@tensorflow/tfjs-node is installed: seqlab will use the native tensorflow backend.");
  } catch (e) {
    const why = String(e instanceof Error ? e.message : e).split("\n")[0];
    say(`@tensorflow/tfjs-node is installed but does not load (${why}): seqlab will use the wasm backend.`);
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

/**
 * How Jupyter can be installed here: attempts (each a list of commands that
 * must all succeed) and, should they fail, the one command a person must run.
 * @param {{ debian: boolean, root: boolean, pipPython: string | null }} machine
 * @returns {{ attempts: { cmd: string, args: string[] }[][], manual: string }}
 */
function installPlan({ debian, root, pipPython }) {
  if (debian) {
    const sudo = root ? "" : "sudo ";
    const manual = `${sudo}apt-get update && ${sudo}apt-get install -y ${DEBIAN_PACKAGES.join(" ")}`;
    if (!root) return { attempts: [], manual };
    const install = { cmd: "apt-get", args: ["install", "-y", "-q", "--no-install-recommends", ...DEBIAN_PACKAGES] };
    return { attempts: [[install], [{ cmd: "apt-get", args: ["update", "-q"] }, install]], manual };
  }
  const args = ["-m", "pip", "install", "--user", ...PIP_PACKAGES];
  if (pipPython) return { attempts: [[{ cmd: pipPython, args }]], manual: `${pipPython} ${args.join(" ")}` };
  return { attempts: [], manual: `python3 ${args.join(" ")}` };
}

/** This machine, as installPlan needs it. */
function thisMachine() {
  const pipPython = ["python3", "python"].find((p) => which(p) && spawnSync(p, ["-m", "pip", "--version"]).status === 0);
  return {
    debian: Boolean(which("apt-get")) && fs.existsSync("/etc/debian_version"),
    root: typeof process.getuid === "function" && process.getuid() === 0,
    pipPython: pipPython ?? null,
  };
}

/**
 * Installs Jupyter if it can; returns null on success, else the command to run.
 * @returns {string | null}
 */
function installJupyter() {
  const plan = installPlan(thisMachine());
  for (const attempt of plan.attempts) {
    say(`Jupyter not found: installing it (${attempt.map((c) => c.cmd).join(", ")}).`);
    if (attempt.every(({ cmd, args }) => run(cmd, args))) return null;
  }
  return plan.manual;
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
        `seqlab: Jupyter is not installed and could not be installed here. Run:\n\n    ${failed ?? installPlan(thisMachine()).manual}\n\nthen: npm run kernel:install`,
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

if (require.main === module) main();

module.exports = { installPlan, DEBIAN_PACKAGES, PIP_PACKAGES };
