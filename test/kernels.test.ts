/**
 * The WebAssembly kernels: the SIMD gemm (4 × 8 register tile) and its scalar
 * fallback agree with tf.matMul on every shape, including the edges that do not
 * fill a tile; the arena grows memory safely.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { tf, initBackend } from "seqlab";
import { loadKernels, WasmArena, wasmMatMul } from "seqlab/internal";

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

  it("loads the relaxed-SIMD build here (Node 20: by setting V8's flag), and the SIMD and scalar builds on request", () => {
    assert.equal(loadKernels().build, "relaxed");
    assert.equal(loadKernels().simd, true);
    assert.equal(loadKernels().exports.simd(), 1);
    assert.equal(loadKernels("simd").build, "simd");
    assert.equal(loadKernels("simd").exports.simd(), 1);
    assert.equal(loadKernels("scalar").simd, false);
    assert.equal(loadKernels("scalar").exports.simd(), 0);
  });

  it("SEQLAB_RELAXED_SIMD=0 keeps V8's flags as they are: the SIMD build where relaxed SIMD is not on by default", () => {
    const script = `
      const fs = require("fs");
      const path = require("path");
      const wasm = require("seqlab/internal");
      const bytes = fs.readFileSync(path.join(path.dirname(require.resolve("seqlab/internal")), "fused", "seqlab-relaxed.wasm"));
      const native = WebAssembly.validate(bytes);
      console.log(JSON.stringify({ native, build: wasm.kernelBuild(), after: WebAssembly.validate(bytes) }));`;
    for (const env of ["0", ""]) {
      const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf-8", env: { ...process.env, SEQLAB_RELAXED_SIMD: env } });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout.trim());
      if (env === "0") assert.deepEqual(got, { native: got.native, build: got.native ? "relaxed" : "simd", after: got.native });
      else assert.deepEqual(got, { native: got.native, build: "relaxed", after: true });
    }
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
  for (const variant of ["relaxed", "simd", "scalar"] as const) {
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

  for (const variant of ["relaxed", "simd", "scalar"] as const) {
    for (const [M, K, N] of [[1, 1, 8], [4, 5, 16], [7, 33, 24], [13, 64, 40]]) {
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
          tf.matMul(tf.slice(tf.tensor2d(a, [M, K]), [0, k0], [M, K - k0]), tf.slice(tf.tensor2d(b, [K, N]), [k0, N - 8], [K - k0, 8])).dataSync(),
        );
        const gotSub = arena.f32(sub, M * 8);
        for (let i = 0; i < M * 8; i++) assert.ok(Math.abs(gotSub[i] - want[i]) < 1e-5 * (1 + Math.abs(want[i])), `sub-block entry ${i}: ${gotSub[i]} vs ${want[i]}`);
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
});
