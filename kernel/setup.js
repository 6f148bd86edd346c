#!/usr/bin/env node
// @ts-check
"use strict";
/**
 * What seqlab needs from the machine, and getting it there.
 *
 *   node kernel/setup.js               `npm install` (prepare): says which tfjs backend seqlab
 *                                      will use, installs Jupyter and Chromium if missing,
 *                                      registers the "seqlab" kernel
 *   node kernel/setup.js --kernel-only `npm run kernel:install`: registers the kernel again
 *   node kernel/setup.js --for=test    `npm test` (pretest): what the tests need besides that
 *   node kernel/setup.js --for=bench   `npm run bench`: PyTorch, and OpenBLAS under it
 *
 * Every system package seqlab uses is named in NEEDS below, and only there. What is missing is
 * installed with apt-get as root on Debian (`apt-get update` and again when the first try
 * fails), with `pip install --user` elsewhere where pip can do it; otherwise (not root, or
 * nothing can install it) set-up prints the one command to run. Jupyter missing stops
 * `npm install` (the kernel cannot be registered without it) and anything missing stops
 * `npm run bench`; Chromium and the test packages only warn, and the features and tests that
 * need them fail with a message naming the same command.
 *
 * Environment: SEQLAB_SKIP_JUPYTER=1 skips Jupyter and the kernel at install (library-only
 * installs); SEQLAB_NO_INSTALL=1 installs nothing and says what it would run (apt-get only
 * simulates, with -s); SEQLAB_PRETEND_MISSING=chromium,kernel-test,… treats those needs as
 * missing at the first look (with SEQLAB_NO_INSTALL=1: a dry run of a fresh machine).
 */
const fs = require("fs");
const { spawnSync } = require("child_process");
const { findJupyter, installKernelSpec, which, DISPLAY_NAME } = require("./jupyter");

/** The Python the benchmarks run PyTorch with (Debian's python3-torch lives there). */
const TORCH_PYTHON = "/usr/bin/python3";

/** Where Chromium is looked for when SEQLAB_CHROMIUM is not set (as src/plot/browser.ts does). */
const CHROMIUM_PATHS = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/**
 * @typedef {"jupyter" | "chromium" | "kernel-test" | "torch" | "openblas"} Need
 * @typedef {{ what: string, debian: string[], pip?: string[], elsewhere?: string }} NeedInfo
 * @typedef {"install" | "test" | "bench"} Purpose
 * @typedef {{ debian: boolean, root: boolean, pipPython: string | null }} Machine
 * @typedef {{ cmd: string, args: string[] }} Command
 */

/**
 * Each need: what it is for, its Debian packages, its pip packages (for machines without apt),
 * or else what to do by hand.
 * @type {Record<Need, NeedInfo>}
 */
const NEEDS = {
  jupyter: {
    what: "Jupyter",
    debian: ["jupyter-notebook", "jupyter-nbconvert", "jupyter-client", "python3-nbclient"],
    pip: ["notebook", "nbconvert", "nbclient"],
  },
  chromium: {
    what: "Chromium (PNG/SVG export)",
    debian: ["chromium"],
    elsewhere: "install Chromium or Chrome and set SEQLAB_CHROMIUM to its executable",
  },
  "kernel-test": {
    what: "jupyter_kernel_test (the kernel's conformance tests)",
    debian: ["python3-jupyter-kernel-test"],
    pip: ["jupyter_kernel_test"],
  },
  torch: {
    what: `PyTorch for ${TORCH_PYTHON} (the benchmarks' reference)`,
    debian: ["python3-torch"],
    elsewhere: `${TORCH_PYTHON} -m pip install --user torch`,
  },
  // Debian's PyTorch runs on whichever libblas.so.3 the alternatives point at; python3-torch
  // alone brings the reference BLAS (libblas3), ~10× slower: the comparison needs OpenBLAS.
  openblas: {
    what: "OpenBLAS for PyTorch",
    debian: ["libopenblas0-pthread"],
  },
};

/** What each command needs; `required` ones stop it when they cannot be had. */
const PURPOSES = /** @type {Record<Purpose, { needs: Need[], required: Need[] }>} */ ({
  install: { needs: ["jupyter", "chromium"], required: ["jupyter"] },
  test: { needs: ["jupyter", "chromium", "kernel-test"], required: [] },
  bench: { needs: ["torch", "openblas"], required: ["torch", "openblas"] },
});

/**
 * The Debian packages of the given needs.
 * @param {Need[]} needs
 */
function debianPackages(needs) {
  return needs.flatMap((n) => NEEDS[n].debian);
}

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
 * How to get the missing needs on this kind of machine: attempts (each a list of commands that
 * must all succeed; the next attempt runs when one fails) and the command (one line per step)
 * a person must run should they fail or be impossible.
 * @param {Machine & { missing?: Need[] }} machine `missing` defaults to Jupyter alone
 * @returns {{ attempts: Command[][], manual: string }}
 */
function installPlan({ debian, root, pipPython, missing = ["jupyter"] }) {
  if (missing.length === 0) return { attempts: [], manual: "" };
  if (debian) {
    const packages = debianPackages(missing);
    const sudo = root ? "" : "sudo ";
    const manual = `${sudo}apt-get update && ${sudo}apt-get install -y ${packages.join(" ")}`;
    if (!root) return { attempts: [], manual };
    const install = { cmd: "apt-get", args: ["install", "-y", "-q", "--no-install-recommends", ...packages] };
    return { attempts: [[install], [{ cmd: "apt-get", args: ["update", "-q"] }, install]], manual };
  }
  const pip = missing.flatMap((n) => NEEDS[n].pip ?? []);
  const byHand = missing.filter((n) => !NEEDS[n].pip).map((n) => NEEDS[n].elsewhere ?? `install ${NEEDS[n].what}`);
  const args = ["-m", "pip", "install", "--user", ...pip];
  const lines = [...(pip.length ? [`${pipPython ?? "python3"} ${args.join(" ")}`] : []), ...byHand];
  const attempts = pip.length && pipPython ? [[{ cmd: pipPython, args }]] : [];
  return { attempts, manual: lines.join("\n") };
}

/** This machine, as installPlan needs it. @returns {Machine} */
function thisMachine() {
  const debian = Boolean(which("apt-get")) && fs.existsSync("/etc/debian_version");
  const pipPython = debian
    ? null // never pip into Debian's Python (PEP 668); apt-get has every package
    : ["python3", "python"].find((p) => which(p) && spawnSync(p, ["-m", "pip", "--version"]).status === 0);
  return {
    debian,
    root: typeof process.getuid === "function" && process.getuid() === 0,
    pipPython: pipPython ?? null,
  };
}

/** @param {string} pkg */
function debianInstalled(pkg) {
  const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf-8" });
  return r.status === 0 && r.stdout.trim() === "install ok installed";
}

/**
 * Whether a need is met here, by asking for the thing itself (a Python module that imports,
 * an executable) rather than for a package — except OpenBLAS, a package on Debian.
 * @param {Need} need
 * @returns {boolean}
 */
function present(need) {
  switch (need) {
    case "jupyter":
      return findJupyter({ need: ["jupyter_client", "nbconvert", "nbclient"] }) !== null;
    case "kernel-test":
      return findJupyter({ need: ["jupyter_client", "jupyter_kernel_test"] }) !== null;
    case "chromium": {
      const fromEnv = process.env.SEQLAB_CHROMIUM;
      return fromEnv ? fs.existsSync(fromEnv) : CHROMIUM_PATHS.some((p) => fs.existsSync(p));
    }
    case "torch":
      return spawnSync(TORCH_PYTHON, ["-c", "import torch"]).status === 0;
    case "openblas":
      // Which BLAS PyTorch really runs on is checked by the benchmark itself (test/bench/blas.ts);
      // here only whether the package is there. Elsewhere there is nothing to install it with.
      return !fs.existsSync("/etc/debian_version") || NEEDS.openblas.debian.every(debianInstalled);
  }
}

/** The needs SEQLAB_PRETEND_MISSING names. @returns {Set<string>} */
function pretendMissing() {
  return new Set(
    (process.env.SEQLAB_PRETEND_MISSING ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/** @param {Command} c */
function runCommand({ cmd, args }) {
  const dry = process.env.SEQLAB_NO_INSTALL === "1";
  if (dry && !(cmd === "apt-get" && args[0] === "install")) {
    say(`SEQLAB_NO_INSTALL=1: would run: ${cmd} ${args.join(" ")}`);
    return true;
  }
  const argv = dry ? ["install", "-s", ...args.slice(1)] : args;
  say(`running: ${cmd} ${argv.join(" ")}`);
  const r = spawnSync(cmd, argv, {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (r.error) say(`${cmd} could not be started: ${r.error.message}`);
  else if (r.status !== 0) say(`${cmd} ${argv[0]} failed (exit status ${r.status}).`);
  return r.status === 0;
}

/**
 * Makes sure what `purpose` needs is here: installs what is missing where it can, and
 * otherwise prints what is missing and the command that installs it.
 * @param {Purpose} purpose
 * @param {{ skip?: Need[] }} [opts]
 * @returns {{ missing: Need[], manual: string }} what is still missing, and how to get it
 */
function ensure(purpose, opts = {}) {
  const pretend = pretendMissing();
  const wanted = PURPOSES[purpose].needs.filter((n) => !opts.skip?.includes(n));
  const missing = wanted.filter((n) => pretend.has(n) || !present(n));
  if (missing.length === 0) return { missing: [], manual: "" };
  const machine = thisMachine();
  const plan = installPlan({ ...machine, missing });
  const names = missing.map((n) => NEEDS[n].what).join(", ");
  const dry = process.env.SEQLAB_NO_INSTALL === "1";
  let installed = false;
  for (const [i, attempt] of plan.attempts.entries()) {
    const steps = attempt.map((c) => `${c.cmd} ${c.args[0]}`).join(", then ");
    if (i === 0) say(`not installed: ${names}. ${dry ? "Would install" : "Installing"} (${steps}).`);
    else say(`trying again (${steps}).`);
    if (attempt.every(runCommand)) {
      installed = !dry;
      break;
    }
  }
  // a need only pretended missing stays missing unless something was really installed
  const still = missing.filter((n) => (pretend.has(n) && !installed) || !present(n));
  const manual = installPlan({ ...machine, missing: still }).manual;
  if (still.length > 0) {
    const why = dry
      ? "SEQLAB_NO_INSTALL=1"
      : plan.attempts.length
        ? "could not be installed"
        : machine.debian && !machine.root
          ? "installing needs root"
          : "seqlab cannot install it here";
    const lines = manual
      .split("\n")
      .map((l) => `    ${l}`)
      .join("\n");
    console.error(`\nseqlab: not installed: ${still.map((n) => NEEDS[n].what).join(", ")} (${why}). Run:\n\n${lines}\n`);
  }
  return { missing: still, manual };
}

function main() {
  const kernelOnly = process.argv.includes("--kernel-only");
  const purposeArg = process.argv.find((a) => a.startsWith("--for="))?.slice("--for=".length) ?? "install";
  if (!(purposeArg in PURPOSES)) {
    console.error(`seqlab: unknown --for=${purposeArg} (one of ${Object.keys(PURPOSES).join(", ")})`);
    process.exit(2);
  }
  const purpose = /** @type {Purpose} */ (purposeArg);

  if (purpose === "test") {
    const { missing } = ensure("test");
    if (missing.length) say("the tests that need these will fail, saying so; the others run.");
    return;
  }
  if (purpose === "bench") {
    const { missing } = ensure("bench");
    if (missing.length) {
      console.error("seqlab: the benchmark compares against PyTorch on OpenBLAS and does not run without both.");
      process.exit(1);
    }
    return;
  }

  if (!kernelOnly) announceBackend();
  const skipJupyter = process.env.SEQLAB_SKIP_JUPYTER === "1";
  if (!kernelOnly) {
    const { missing } = ensure("install", { skip: skipJupyter ? ["jupyter"] : [] });
    if (missing.includes("jupyter")) {
      console.error("seqlab: Jupyter is required for the notebooks and the kernel; after installing it: npm run kernel:install");
      process.exit(1);
    }
    if (missing.includes("chromium")) say("PNG/SVG export needs Chromium (the command above); everything else works.");
  }
  if (skipJupyter) {
    say("SEQLAB_SKIP_JUPYTER=1: Jupyter and the kernel were not set up.");
    return;
  }
  const jupyter = findJupyter();
  if (!jupyter) {
    console.error("seqlab: no Python here has Jupyter (jupyter_client with notebook or jupyterlab); run `npm install` first.");
    process.exit(1);
  }
  const where = installKernelSpec(jupyter.python);
  say(`registered the Jupyter kernel "${DISPLAY_NAME}" with ${jupyter.python} in ${where}`);
}

if (require.main === module) main();

module.exports = { installPlan, ensure, present, thisMachine, debianPackages, NEEDS, PURPOSES, TORCH_PYTHON };
