/**
 * The WebAssembly kernels: the default build is the fastest the runtime validates, and
 * every build computes the same products; the SIMD gemm (4 × 8 register tile) and its
 * scalar fallback agree with tf.matMul on every shape, including the edges that do not
 * fill a tile; the arena grows memory safely; the kernels' generated TypeScript types
 * match the AssemblyScript and the built module.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { tf, initBackend } from "seqlab";
import { loadKernels, WasmArena, wasmMatMul, FusedOptionError, fusedCell } from "seqlab/internal";
import type { KernelBuild } from "seqlab/internal";

const root = path.join(__dirname, "..");
const BUILDS = ["relaxed", "simd", "scalar"] as const;

/** The WebAssembly API's validate (Node has it; its types live in lib.dom). */
const validate = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly.validate;

/** Whether this runtime, with V8's flags as they are now, validates the module of `build`. */
function validates(build: KernelBuild): boolean {
  return validate(fs.readFileSync(path.join(root, "dist", "fused", `seqlab-${build}.wasm`)));
}

/** Seeded values in [−1, 1) (a linear congruential generator: enough for test data). */
class Lcg {
  constructor(private s: number) {}
  next(): number {
    this.s = (Math.imul(this.s, 1664525) + 1013904223) >>> 0;
    return this.s / 2 ** 31 - 1;
  }
}

function random(n: number, rng: Lcg): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.next();
  return out;
}

function reference(a: Float32Array, b: Float32Array, M: number, K: number, N: number): Float32Array {
  return tf.tidy(() => tf.matMul(tf.tensor2d(a, [M, K]), tf.tensor2d(b, [K, N])).dataSync() as Float32Array);
}

describe("wasm kernels", () => {
  before(async () => {
    await initBackend();
  });

  it("loads the fastest build the runtime validates, and with a slower build asked for, the fastest no faster than that", () => {
    const best = loadKernels().build; // may first set V8's relaxed-SIMD flag (see the next test)
    assert.equal(
      best,
      BUILDS.find((b) => b === "scalar" || validates(b)),
    );
    BUILDS.forEach((prefer, i) => {
      const k = loadKernels(prefer);
      const want = BUILDS.slice(i).find((b) => b === "scalar" || validates(b))!;
      assert.equal(k.build, want, `loadKernels("${prefer}")`);
      assert.equal(k.simd, want !== "scalar");
      assert.equal(k.exports.simd(), want === "scalar" ? 0 : 1);
    });
  });

  it("every build computes the same product (to float32 rounding: FMA rounds once)", () => {
    const [M, K, N] = [33, 17, 130];
    const rng = new Lcg(11);
    const a = random(M * K, rng);
    const b = random(K * N, rng);
    const [first, ...rest] = BUILDS.map((build) => wasmMatMul(a, b, M, K, N, loadKernels(build)));
    for (const got of rest)
      for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - first[i]) <= 1e-6 * (1 + Math.abs(first[i])), `entry ${i}`);
  });

  it("SEQLAB_RELAXED_SIMD=0 keeps V8's flags as they are; unset, seqlab sets the relaxed-SIMD flag if the runtime needs it", () => {
    const read = `
      const fs = require("fs");
      const path = require("path");
      const dir = path.join(path.dirname(require.resolve("seqlab/internal")), "fused");
      const bytes = (b) => fs.readFileSync(path.join(dir, "seqlab-" + b + ".wasm"));`;
    // what V8 validates as it starts, and with the flag set (no seqlab involved)
    const v8 = spawnSync(
      process.execPath,
      [
        "-e",
        `${read}
      const native = WebAssembly.validate(bytes("relaxed"));
      require("v8").setFlagsFromString("--experimental-wasm-relaxed-simd");
      console.log(JSON.stringify({ native, flagged: WebAssembly.validate(bytes("relaxed")), simd: WebAssembly.validate(bytes("simd")) }));`,
      ],
      { encoding: "utf-8" },
    );
    assert.equal(v8.status, 0, v8.stderr);
    const { native, flagged, simd } = JSON.parse(v8.stdout.trim());
    const script = `${read}
      const wasm = require("seqlab/internal");
      console.log(JSON.stringify({ build: wasm.kernelBuild(), after: WebAssembly.validate(bytes("relaxed")) }));`;
    for (const env of ["0", "off", "", "1"]) {
      const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf-8", env: { ...process.env, SEQLAB_RELAXED_SIMD: env } });
      assert.equal(r.status, 0, r.stderr);
      const relaxed = env === "0" || env === "off" ? native : flagged;
      assert.deepEqual(
        JSON.parse(r.stdout.trim()),
        { build: relaxed ? "relaxed" : simd ? "simd" : "scalar", after: relaxed },
        `SEQLAB_RELAXED_SIMD="${env}"`,
      );
    }
    const bad = spawnSync(process.execPath, ["-e", script], {
      encoding: "utf-8",
      env: { ...process.env, SEQLAB_RELAXED_SIMD: "yes please" },
    });
    assert.notEqual(bad.status, 0);
    assert.match(
      bad.stderr,
      /FusedOptionError: SEQLAB_RELAXED_SIMD: expected one of "0", "off", "false", "1", "on", "true", got "yes please"/,
    );
    assert.ok(FusedOptionError.prototype instanceof Error);
  });

  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [4, 3, 8],
    [5, 7, 9],
    [3, 2, 7],
    [32, 64, 128],
    [33, 17, 130],
    [8, 1, 16],
  ];
  for (const variant of BUILDS) {
    for (const [M, K, N] of shapes) {
      it(`${variant} gemm matches tf.matMul for [${M}, ${K}]·[${K}, ${N}]`, () => {
        const rng = new Lcg(M * 1000 + K * 10 + N);
        const a = random(M * K, rng);
        const b = random(K * N, rng);
        const got = wasmMatMul(a, b, M, K, N, loadKernels(variant));
        const want = reference(a, b, M, K, N);
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
        assert.ok(worst < 1e-5, `worst error ${worst}`);
      });
    }
  }

  for (const variant of BUILDS) {
    for (const [M, K, N] of [
      [1, 1, 8],
      [4, 5, 16],
      [7, 33, 24],
      [13, 64, 40],
    ]) {
      it(`${variant} gemmPanels (B packed in panels of 8 columns) = tf.matMul, accumulating, for [${M}, ${K}]·[${K}, ${N}] and its sub-blocks`, () => {
        const k = loadKernels(variant);
        const arena = new WasmArena(k);
        const rng = new Lcg(M * 7919 + K * 31 + N);
        const a = random(M * K, rng);
        const b = random(K * N, rng);
        const c0 = random(M * N, rng);
        const pa = arena.put(a);
        const pb = arena.put(b);
        const panels = arena.alloc(K * N);
        k.exports.packPanels(pb, K, N, N, panels);
        const pc = arena.put(c0);
        k.exports.gemmPanels(M, N, K, pa, K, panels, K * 8, pc, N, 1);
        const ab = reference(a, b, M, K, N);
        const got = arena.f32(pc, M * N);
        let worst = 0;
        for (let i = 0; i < M * N; i++) worst = Math.max(worst, Math.abs(got[i] - (c0[i] + ab[i])) / (1 + Math.abs(ab[i])));
        assert.ok(worst < 1e-5, `worst error ${worst}`);
        // the last 8 columns (a panel offset) times the last K − k0 rows of B (a row offset in every panel)
        const k0 = K >> 1;
        const sub = arena.alloc(M * 8);
        k.exports.gemmPanels(M, 8, K - k0, pa + 4 * k0, K, panels + 4 * ((N / 8 - 1) * K * 8 + k0 * 8), K * 8, sub, 8, 0);
        const want = tf.tidy(() =>
          tf
            .matMul(tf.slice(tf.tensor2d(a, [M, K]), [0, k0], [M, K - k0]), tf.slice(tf.tensor2d(b, [K, N]), [k0, N - 8], [K - k0, 8]))
            .dataSync(),
        );
        const gotSub = arena.f32(sub, M * 8);
        for (let i = 0; i < M * 8; i++)
          assert.ok(Math.abs(gotSub[i] - want[i]) < 1e-5 * (1 + Math.abs(want[i])), `sub-block entry ${i}: ${gotSub[i]} vs ${want[i]}`);
      });
    }
  }

  it("accumulates into C and respects strides (a sub-matrix of a wider array)", () => {
    const k = loadKernels();
    const arena = new WasmArena(k);
    const [M, K, N, ld] = [5, 6, 9, 12];
    const rng = new Lcg(7);
    const a = random(M * K, rng);
    const b = random(K * N, rng);
    const c0 = random(M * ld, rng);
    const pa = arena.put(a);
    const pb = arena.put(b);
    const pc = arena.put(c0);
    k.exports.gemm(M, N, K, pa, K, pb, N, pc, ld, 1);
    const got = arena.f32(pc, M * ld);
    const ab = reference(a, b, M, K, N);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < ld; j++) {
        const want = j < N ? c0[i * ld + j] + ab[i * N + j] : c0[i * ld + j];
        assert.ok(Math.abs(got[i * ld + j] - want) < 1e-5, `C[${i}, ${j}] = ${got[i * ld + j]}, want ${want}`);
      }
    }
  });

  it("the arena grows memory as needed, aligns to 16 bytes, and reuses it after reset", () => {
    const k = loadKernels();
    const arena = new WasmArena(k);
    const before = k.exports.memory.buffer.byteLength;
    const p1 = arena.alloc(3);
    const p2 = arena.alloc(1 << 20); // 4 MiB
    assert.equal(p1 % 16, 0);
    assert.equal(p2 % 16, 0);
    assert.equal(p2 - p1, 16);
    assert.ok(k.exports.memory.buffer.byteLength >= p2 + 4 * (1 << 20));
    assert.ok(k.exports.memory.buffer.byteLength > before);
    arena.reset();
    const size = k.exports.memory.buffer.byteLength;
    for (let i = 0; i < 100; i++) {
      arena.reset();
      arena.alloc(1 << 20);
    }
    assert.equal(k.exports.memory.buffer.byteLength, size, "memory grew although the arena was reset");
    assert.throws(() => arena.alloc(-1), /WasmArena.alloc: length must be a non-negative integer, got -1/);
  });

  it("rejects arrays of the wrong size, naming the argument", () => {
    assert.throws(() => wasmMatMul(new Float32Array(5), new Float32Array(6), 2, 3, 2), /wasmMatMul: a must have M·K = 6 values, got 5/);
    assert.throws(() => wasmMatMul(new Float32Array(6), new Float32Array(5), 2, 3, 2), /wasmMatMul: b must have K·N = 6 values, got 5/);
  });

  it("the generated kernel types list every function of the built module, with its number of parameters", () => {
    const source = fs.readFileSync(path.join(root, "src", "fused", "wasm-exports.generated.ts"), "utf-8");
    const typed = new Map([...source.matchAll(/^ {2}(\w+)\(([^)]*)\): \w+;$/gm)].map((m) => [m[1], m[2] ? m[2].split(",").length : 0]));
    for (const build of BUILDS) {
      const ex = loadKernels(build).exports as unknown as Record<string, unknown>;
      const functions = Object.keys(ex).filter((k) => typeof ex[k] === "function");
      assert.deepEqual(functions.sort(), [...typed.keys()].sort(), `the exports of the ${build} build`);
      for (const name of functions) assert.equal((ex[name] as () => void).length, typed.get(name), `${name}: parameters`);
    }
  });

  it("the generated kernel types are up to date with the AssemblyScript (scripts/build-wasm.js --check)", function () {
    this.timeout(180_000);
    const r = spawnSync(process.execPath, [path.join(root, "scripts", "build-wasm.js"), "--check"], { encoding: "utf-8" });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });
});

/** Type tests: a fused description that calls a kernel wrongly, or reads an array it did not declare, does not compile. */
export const typeTests = [
  fusedCell({
    name: "rnn",
    nG: 1,
    params: ["U", "W", "b"],
    stateKeys: ["h"],
    saved: ({ B, T, Hp }) => ({ RH: B * T * Hp }),
    forward(k, a) {
      // @ts-expect-error one argument (hT) missing
      k.rnnForward(a.B, a.T, a.I, a.Hp, a.reverse, a.x, a.UT, a.WT, a.bias, a.h0, a.mask, a.act, a.HP, a.out);
      // @ts-expect-error no such kernel
      k.rnnForwards(a.B);
      // @ts-expect-error no such array: the cell declared RH, and its state is h only
      void [a.RHH, a.s0];
      void a.RH;
    },
    backward(k, a) {
      // @ts-expect-error no vector was declared, so there is no gradient of one
      void a.dpeep;
      void [k, a.dh0, a.dhT, a.RH];
    },
  }),
];
