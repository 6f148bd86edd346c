// @ts-check
"use strict";
/**
 * Makes `import … from "seqlab"` (and "@tensorflow/tfjs") work in a notebook in
 * any folder, at run time and for tslab's type checker.
 *
 * tslab compiles each cell with rootDir = the notebook's folder, Node10 module
 * resolution and no tsconfig, and runs it with a `require` rooted there. A
 * notebook inside this repository finds node_modules/seqlab (the package links
 * itself) by walking up; one anywhere else would not. For those folders only,
 * the package's node_modules is added to Node's search path (NODE_PATH) and to
 * the compiler's `paths`, so a folder with its own seqlab keeps using it.
 */
const fs = require("fs");
const path = require("path");
const Module = require("module");

const packageRoot = path.resolve(__dirname, "..");

/** Folders that hold `seqlab` and its dependencies, for this installation. */
function moduleDirs() {
  const dirs = [path.join(packageRoot, "node_modules")];
  // Installed as a dependency: <project>/node_modules/seqlab, dependencies beside it.
  if (path.basename(path.dirname(packageRoot)) === "node_modules") dirs.push(path.dirname(packageRoot));
  return dirs.filter((d) => fs.existsSync(path.join(d, "seqlab", "package.json")) || fs.existsSync(path.join(d, "@tensorflow")));
}

/** @param {string} cwd */
function resolvesFrom(cwd) {
  try {
    require.resolve("seqlab", { paths: [cwd] });
    return true;
  } catch {
    return false;
  }
}

/** @param {string} cwd the notebook's folder */
function makeSeqlabResolvable(cwd) {
  if (resolvesFrom(cwd)) return false;
  const dirs = moduleDirs();
  process.env.NODE_PATH = [...dirs, ...(process.env.NODE_PATH ? process.env.NODE_PATH.split(path.delimiter) : [])].join(path.delimiter);
  /** @type {any} */ (Module)._initPaths();

  const tslabDir = path.dirname(require.resolve("tslab/package.json"));
  const ts = require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] }));
  const create = ts.createWatchCompilerHost;
  ts.createWatchCompilerHost = function (/** @type {any[]} */ ...args) {
    const options = args[1];
    // Fallback lookups, tried after the mapping for the exact name fails;
    // absolute targets, so no baseUrl is needed.
    args[1] = { ...options, paths: { ...(options.paths || {}), "*": dirs.map((d) => path.join(d, "*")) } };
    return create.apply(this, args);
  };
  return true;
}

module.exports = { makeSeqlabResolvable, packageRoot };
