/**
 * The bench's arithmetic ceiling: the multiply-add kernel computes the chains it claims (against
 * their closed form) in every build, the operation counts of a training step are those of its
 * matrix products, and the table derives the lowest ratio from them.
 */
import { strict as assert } from "assert";
import { initBackend } from "seqlab";
import { kernelBuild, loadKernels } from "seqlab/internal";
import { ceilingBench, ceilingLines, stepGflop, type Ceiling } from "./ceiling";

describe("bench: the fused kernels' multiply-add ceiling", () => {
  before(async () => {
    await initBackend();
  });

  for (const build of ["relaxed", "simd", "scalar"] as const) {
    it(`fmaPeak (${build} build, or the fastest below it the runtime validates) runs twelve chains c ← 0.999·c + x, as their closed form says`, () => {
      const kernels = loadKernels(build);
      const [n, x, y] = [1000, 0.5, 0.999];
      // c_n = yⁿ c₀ + x (1 − yⁿ) / (1 − y), for c₀ = 0 … 11, in float64
      let expected = 0;
      for (let c0 = 0; c0 < 12; c0++) expected += y ** n * c0 + (x * (1 - y ** n)) / (1 - y);
      const lanes = kernels.simd ? 4 : 1;
      const got = kernels.exports.fmaPeak(n, x);
      assert.ok(Math.abs(got - lanes * expected) <= 1e-3 * lanes * expected, `got ${got}, expected ${lanes * expected}`);
      assert.equal(kernels.exports.fmaPeakFlops(), 12 * lanes * 2);
    });
  }

  it("measures one thread and two at once on the default build", async () => {
    const c = await ceilingBench();
    assert.equal(c.build, kernelBuild());
    for (const g of [c.one_thread_gflops, ...c.two_threads_gflops]) assert.ok(Number.isFinite(g) && g > 0, `GFLOP/s ${g}`);
    assert.equal(c.two_threads_total_gflops, c.two_threads_gflops[0] + c.two_threads_gflops[1]);
  });

  it("counts a training step's matrix products: forward x·W_x and h·W_h; backward ∂W_x, ∂W_h and ∂h (no ∂x: x is data)", () => {
    const [T, B, I, H] = [100, 64, 128, 256];
    const product = (m: number, k: number, n: number) => 2 * m * k * n;
    const step = (G: number) =>
      T * (product(B, I, G * H) + product(B, H, G * H)) + // forward
      T * (product(I, B, G * H) + product(H, B, G * H) + product(B, G * H, H)); // ∂W_x, ∂W_h, ∂h
    assert.equal(stepGflop("lstm", T, B, I, H), step(4) / 1e9);
    assert.equal(stepGflop("gru", T, B, I, H), step(3) / 1e9);
    assert.equal(stepGflop("rnn", T, B, I, H), step(1) / 1e9);
    assert.ok(Math.abs(stepGflop("lstm", T, B, I, H) - 13.42) < 0.01);
  });

  it("the table's lowest ratio is the step's operations at the two-thread ceiling over PyTorch's time", () => {
    const c: Ceiling = { build: "relaxed", one_thread_gflops: 50, two_threads_gflops: [50, 50], two_threads_total_gflops: 100 };
    // LSTM at T = 50, B = 32, I = 64, H = 128: 0.839 GFLOP; at 100 GFLOP/s 8.4 ms; PyTorch 18.9 ms → 0.44
    const lines = ceilingLines(c, [
      { model: "lstm", T: 50, B: 32, I: 64, H: 128, ms: { seqlab: 11.8, torch: 18.9 } },
      { model: "rnn", T: 50, B: 32, I: 64, H: 128, ms: { seqlab: 5, torch: null } },
    ]);
    assert.match(lines[0], /relaxed build\): 50\.0 GFLOP\/s on one thread; 50\.0 \+ 50\.0 = 100\.0 GFLOP\/s on two at once/);
    assert.equal(lines[3], "| lstm | 50 | 32 | 64 | 128 | 0.84 | 71 | 44 | 8.4 | 0.44 | 0.62 |");
    assert.equal(lines[4], "| rnn | 50 | 32 | 64 | 128 | 0.21 | 42 | — | 2.1 | — | — |");
  });
});
