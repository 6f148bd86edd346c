#!/usr/bin/env node
// @ts-check
"use strict";
/**
 * `npm start`: Jupyter on notebooks/ with the seqlab kernel — JupyterLab when it
 * is installed, else the classic Notebook — and the URL to open.
 *
 *   npm start                       # as above
 *   npm start -- --no-browser --port 9999   # extra arguments go to Jupyter
 */
const path = require("path");
const { spawn, spawnSync } = require("child_process");
const { findJupyter, installKernelSpec, kernelSpec, KERNEL_NAME } = require("./jupyter");
const { packageRoot } = require("./resolve");

/**
 * Registers the kernel again if the registered one is missing or belongs to
 * another checkout (a moved or re-cloned repository).
 * @param {string} python
 */
function ensureKernel(python) {
  const code = [
    "from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel",
    "import json",
    "try:",
    `    print(json.dumps(KernelSpecManager().get_kernel_spec(${JSON.stringify(KERNEL_NAME)}).argv))`,
    "except NoSuchKernel:",
    "    print('null')",
  ].join("\n");
  const r = spawnSync(python, ["-c", code], { encoding: "utf-8" });
  const argv = r.status === 0 ? JSON.parse(r.stdout.trim() || "null") : null;
  if (JSON.stringify(argv) !== JSON.stringify(kernelSpec().argv)) {
    const where = installKernelSpec(python);
    console.log(`seqlab: registered the seqlab kernel for this checkout in ${where}`);
  }
}

function main() {
  const jupyter = findJupyter();
  if (!jupyter) {
    console.error("seqlab: Jupyter is not installed; `npm install` installs it (or says which command to run).");
    process.exit(1);
  }
  ensureKernel(jupyter.python);
  const app = jupyter.lab ? "jupyterlab" : "notebook";
  const label = jupyter.lab ? "JupyterLab" : "Jupyter Notebook";
  const args = ["-m", app, `--notebook-dir=${path.join(packageRoot, "notebooks")}`];
  if (typeof process.getuid === "function" && process.getuid() === 0) args.push("--allow-root");
  args.push(...process.argv.slice(2));
  console.log(`seqlab: starting ${label} on notebooks/ (${jupyter.python} ${args.join(" ")})`);

  const child = spawn(jupyter.python, args, { stdio: ["inherit", "pipe", "pipe"] });
  let announced = false;
  const watch = (/** @type {NodeJS.WriteStream} */ sink) => (/** @type {Buffer} */ chunk) => {
    sink.write(chunk);
    const url = /(https?:\/\/(?:localhost|127\.0\.0\.1)[^\s]*\?token=[0-9a-f]+)/.exec(chunk.toString());
    if (url && !announced) {
      announced = true;
      console.log(
        `\nseqlab: ${label} is running at ${url[1]}\nseqlab: open it, pick a notebook; its kernel is "TypeScript (seqlab)". Ctrl-C stops.\n`,
      );
    }
  };
  child.stdout.on("data", watch(process.stdout));
  child.stderr.on("data", watch(process.stderr));
  for (const sig of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.on(sig, () => child.kill(sig));
  child.on("close", (code) => process.exit(code ?? 1));
}

main();
