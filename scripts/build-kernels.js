#!/usr/bin/env node
// @ts-check
/**
 * `npm run build:kernels`: compiles the fused kernels (src/fused/assembly, AssemblyScript)
 * into dist/fused/, one module per build, two compilers at a time:
 *
 *   seqlab-scalar.wasm          no SIMD (runtimes without wasm SIMD)
 *   seqlab-simd.wasm            128-bit SIMD
 *   seqlab-relaxed.wasm         SIMD + relaxed-SIMD fused multiply-add in the products
 *   seqlab-simd-threads.wasm    SIMD, atomics, imported shared memory (two threads)
 *   seqlab-relaxed-threads.wasm the same with relaxed SIMD
 *
 * src/fused/wasm.ts picks the best build the running engine validates.
 */
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const asc = require.resolve("assemblyscript/bin/asc.js", { paths: [root] });
const entry = path.join(root, "src", "fused", "assembly", "index.ts");
const out = path.join(root, "dist", "fused");
const common = ["-O3", "--runtime", "stub", "--noAssert"];
const threads = ["--enable", "threads", "--importMemory", "--sharedMemory", "--maximumMemory", "65536"];

/** @type {Record<string, string[]>} */
const BUILDS = {
  scalar: [],
  simd: ["--enable", "simd"],
  relaxed: ["--enable", "simd", "--enable", "relaxed-simd"],
  "simd-threads": ["--enable", "simd", ...threads],
  "relaxed-threads": ["--enable", "simd", "--enable", "relaxed-simd", ...threads],
};

/** @param {string} name */
function build(name) {
  const file = path.join(out, `seqlab-${name}.wasm`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [asc, entry, ...common, ...BUILDS[name], "-o", file], { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(file) : reject(new Error(`asc failed for the ${name} build (exit ${code})`))));
  });
}

async function main() {
  fs.mkdirSync(out, { recursive: true });
  const queue = Object.keys(BUILDS);
  const run = async () => {
    for (let name = queue.shift(); name; name = queue.shift()) await build(name);
  };
  await Promise.all([run(), run()]);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
