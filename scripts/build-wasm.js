#!/usr/bin/env node
// @ts-check
/**
 * `npm run build:wasm`: compiles the fused WebAssembly kernels (src/fused/assembly,
 * AssemblyScript) into dist/fused/, one module per build, two compilers at a time:
 *
 *   seqlab-scalar.wasm          no SIMD (runtimes without wasm SIMD)
 *   seqlab-simd.wasm            128-bit SIMD
 *   seqlab-relaxed.wasm         SIMD + relaxed-SIMD fused multiply-add in the products
 *   seqlab-simd-threads.wasm    SIMD, atomics, imported shared memory (two threads)
 *   seqlab-relaxed-threads.wasm the same with relaxed SIMD
 *
 * src/fused/wasm.ts picks the best build the running engine validates.
 *
 * It also writes the TypeScript types of the module's exports,
 * src/fused/wasm-exports.generated.ts, from the bindings asc emits (`--bindings raw`: a .d.ts
 * with every export's name and parameter list) and the doc comments of the AssemblyScript
 * sources, so that a kernel called with a wrong name or argument count fails to compile.
 * The file is committed (tsc compiles src/ before this script runs, and readers find the
 * kernels' signatures in the source tree); when it changes, this script compiles src/ again
 * so that dist/ is built against the new types. `--check` compiles the bindings alone into
 * a temporary folder and exits with status 1 if the committed file is stale (a test runs it).
 */
const { spawn, spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const root = path.join(__dirname, "..");
const asc = require.resolve("assemblyscript/bin/asc.js", { paths: [root] });
const entry = path.join(root, "src", "fused", "assembly", "index.ts");
const out = path.join(root, "dist", "fused");
const generated = path.join(root, "src", "fused", "wasm-exports.generated.ts");
const common = ["--runtime", "stub", "--noAssert"];
const threads = ["--enable", "threads", "--importMemory", "--sharedMemory", "--maximumMemory", "65536"];

/** @type {Record<string, string[]>} */
const BUILDS = {
  // --bindings raw only adds seqlab-scalar.d.ts/.js next to the module (the wasm is the same)
  scalar: ["-O3", "--bindings", "raw"],
  simd: ["-O3", "--enable", "simd"],
  relaxed: ["-O3", "--enable", "simd", "--enable", "relaxed-simd"],
  "simd-threads": ["-O3", "--enable", "simd", ...threads],
  "relaxed-threads": ["-O3", "--enable", "simd", "--enable", "relaxed-simd", ...threads],
};

/**
 * Runs asc on the kernels' entry with `flags`, writing `file`.
 * @param {string} name @param {string[]} flags @param {string} file
 * @returns {Promise<string>}
 */
function compile(name, flags, file) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [asc, entry, ...common, ...flags, "-o", file], { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(file) : reject(new Error(`asc failed for the ${name} build (exit ${code})`))));
  });
}

/**
 * The doc comment right before `export function name` in an AssemblyScript file, as lines
 * without the comment markers (empty if there is none).
 * @param {string} source @param {string} name @returns {string[]}
 */
function sourceDoc(source, name) {
  const at = source.search(new RegExp(`^export function ${name}\\b`, "m"));
  if (at < 0) return [];
  const before = source.slice(0, at).trimEnd();
  if (!before.endsWith("*/")) return [];
  const start = before.lastIndexOf("/**");
  if (start < 0) return [];
  return before
    .slice(start + 3, -2)
    .split("\n")
    .map((l) => l.replace(/^\s*(\* ?)?/, "").trimEnd())
    .filter((l, i, all) => l !== "" || (i > 0 && i < all.length - 1));
}

/**
 * The TypeScript module of the exports' types, from asc's `--bindings raw` .d.ts: one
 * interface member per exported function (memory is left out: wasm.ts types it), with
 * the AssemblyScript's doc comment, file and parameter types.
 * @param {string} dts @returns {string}
 */
function render(dts) {
  const members = [];
  const re = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export function (\w+)\(([^)]*)\): (\w+);/g;
  for (let m = re.exec(dts); m; m = re.exec(dts)) {
    const [, comment, name, params, result] = m;
    const lines = comment
      .split("\n")
      .map((l) => l.replace(/^\s*\* ?/, "").trim())
      .filter(Boolean);
    // asc names the function by its internal path: src/fused/assembly/<file>/<name>
    const internal = lines[0];
    const file = `${internal.slice(0, internal.lastIndexOf("/"))}.ts`;
    const types = Object.fromEntries(
      lines.flatMap((l) => {
        const p = /^@param (\w+) `(\w+)`/.exec(l);
        return p ? [[p[1], p[2]]] : [];
      }),
    );
    const returns = /^@returns `(\w+)`/.exec(lines.find((l) => l.startsWith("@returns")) ?? "");
    const ascParams = params
      ? params.split(", ").map((p) => {
          const n = p.split(":")[0];
          return `${n}: ${types[n]}`;
        })
      : [];
    const signature = `${name}(${ascParams.join(", ")}): ${returns ? returns[1] : "void"}`;
    const doc = sourceDoc(fs.readFileSync(path.join(root, file), "utf-8"), name);
    const body = [...doc, ...(doc.length ? [""] : []), `AssemblyScript (${file}): \`${signature}\``];
    members.push(`  /**\n${body.map((l) => (l ? `   * ${l}` : "   *")).join("\n")}\n   */\n  ${name}(${params}): ${result};`);
  }
  if (members.length === 0) throw new Error("no exported function found in asc's bindings");
  return [
    "// GENERATED by scripts/build-wasm.js (`npm run build`) from asc's --bindings of",
    "// src/fused/assembly/index.ts: do not edit. test/kernels.test.ts fails when it is stale.",
    "/**",
    " * The functions the fused kernels' WebAssembly module exports, with the names and",
    " * parameter lists the AssemblyScript declares (every i32/usize argument is a JavaScript",
    " * number: a size, a flag or a byte offset in the module's memory). KernelExports in",
    " * src/fused/wasm.ts adds the memory.",
    " */",
    "",
    "/** The module's exported functions (generated from src/fused/assembly). */",
    "export interface GeneratedKernelExports {",
    members.join("\n"),
    "}",
    "",
  ].join("\n");
}

/** Writes the generated module if it differs; returns whether it did. @param {string} text */
function writeGenerated(text) {
  const old = fs.existsSync(generated) ? fs.readFileSync(generated, "utf-8") : "";
  if (old === text) return false;
  fs.writeFileSync(generated, text);
  return true;
}

async function build() {
  fs.mkdirSync(out, { recursive: true });
  const queue = Object.keys(BUILDS);
  const run = async () => {
    for (let name = queue.shift(); name; name = queue.shift()) await compile(name, BUILDS[name], path.join(out, `seqlab-${name}.wasm`));
  };
  await Promise.all([run(), run()]);
  const dts = path.join(out, "seqlab-scalar.d.ts");
  const text = render(fs.readFileSync(dts, "utf-8"));
  for (const f of [dts, path.join(out, "seqlab-scalar.js")]) fs.rmSync(f, { force: true });
  if (writeGenerated(text)) {
    console.log(`${path.relative(root, generated)} changed: compiling src/ again against the new kernel types`);
    // the TypeScript of devDependencies, as `npm run build` runs it (npm's `tsc` is tslab's)
    const tsc = require.resolve("typescript/bin/tsc", { paths: [root] });
    const r = spawnSync(process.execPath, [tsc, "-p", path.join(root, "src")], { stdio: "inherit" });
    if (r.status !== 0) throw new Error("tsc failed against the regenerated kernel types (src/fused/wasm-exports.generated.ts)");
  }
}

/** `--check`: whether the committed generated module matches the AssemblyScript sources. */
async function check() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-bindings-"));
  try {
    await compile("bindings", ["-O0", "--bindings", "raw"], path.join(dir, "seqlab.wasm"));
    const text = render(fs.readFileSync(path.join(dir, "seqlab.d.ts"), "utf-8"));
    const old = fs.existsSync(generated) ? fs.readFileSync(generated, "utf-8") : "";
    if (old !== text) {
      console.error(`${path.relative(root, generated)} is stale: run \`npm run build\` and commit it`);
      process.exit(1);
    }
    console.log(`${path.relative(root, generated)} is up to date`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

(process.argv.includes("--check") ? check() : build()).catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
