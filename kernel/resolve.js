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
 * the package's node_modules is added to Node's search path (NODE_PATH), and the
 * compiler sees them in a virtual node_modules; a folder with its own seqlab keeps using it.
 * The two halves run in different threads (the compiler has its own: compiler.js).
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

/**
 * Whether a node_modules folder at or above cwd holds seqlab. (Not `require.resolve`: this
 * file is inside the package, and Node resolves a package's own name from inside it through
 * its `exports`, wherever cwd is.)
 * @param {string} cwd
 */
function resolvesFrom(cwd) {
  const dirs = /** @type {any} */ (Module)._nodeModulePaths(cwd);
  return dirs.some((/** @type {string} */ d) => fs.existsSync(path.join(d, "seqlab", "package.json")));
}

/**
 * Run time: lets the notebook's `require` find seqlab and its dependencies.
 * @param {string} cwd the notebook's folder
 * @returns {boolean} whether anything had to be done (false when cwd finds seqlab by itself)
 */
function makeSeqlabRequirable(cwd) {
  if (resolvesFrom(cwd)) return false;
  process.env.NODE_PATH = [...moduleDirs(), ...(process.env.NODE_PATH ? process.env.NODE_PATH.split(path.delimiter) : [])].join(
    path.delimiter,
  );
  /** @type {any} */ (Module)._initPaths();
  return true;
}

/**
 * Type checking: lets tslab's compiler, in this thread, resolve seqlab from cwd.
 * @param {string} cwd the notebook's folder
 * @returns {boolean} whether anything had to be done
 */
function makeSeqlabTypesResolvable(cwd) {
  if (resolvesFrom(cwd)) return false;
  const dirs = moduleDirs();
  // tslab's compiler resolves through ts.sys (its host inherits from it), and
  // TypeScript's module object is read-only, so the notebook's folder is given a
  // virtual node_modules holding these packages, mapped to the real ones.
  const tslabDir = path.dirname(require.resolve("tslab/package.json"));
  const ts = require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] }));
  const nodeModules = path.join(cwd, "node_modules");
  /** @type {[string, string][]} virtual path → real path */
  const links = [];
  for (const name of ["seqlab", "tslab", "@tensorflow"]) {
    const real = dirs.map((d) => path.join(d, name)).find((p) => fs.existsSync(p));
    if (real) links.push([path.join(nodeModules, name), fs.realpathSync(real)]);
  }
  const toReal = (/** @type {string} */ p) => {
    for (const [v, r] of links) if (p === v || p.startsWith(v + "/")) return r + p.slice(v.length);
    return p;
  };
  const sys = ts.sys;
  const { fileExists, readFile, directoryExists, realpath, getDirectories } = sys;
  sys.fileExists = (/** @type {string} */ p) => fileExists.call(sys, toReal(p));
  sys.readFile = (/** @type {string} */ p, /** @type {string=} */ enc) => readFile.call(sys, toReal(p), enc);
  sys.directoryExists = (/** @type {string} */ p) => p === nodeModules || directoryExists.call(sys, toReal(p));
  sys.getDirectories = (/** @type {string} */ p) => getDirectories.call(sys, toReal(p));
  // The real path makes the packages' own imports resolve from where they really are.
  sys.realpath = (/** @type {string} */ p) => (realpath ? realpath.call(sys, toReal(p)) : toReal(p));
  return true;
}

module.exports = { makeSeqlabRequirable, makeSeqlabTypesResolvable, packageRoot };
