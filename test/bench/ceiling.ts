/**
 * The arithmetic ceiling of the fused kernels on the running machine (called by run.ts), and
 * what it allows against PyTorch:
 *
 * - the kernels' multiply-add peak (src/fused/assembly/peak.ts: twelve independent 4-lane
 *   multiply-add chains on registers, no memory traffic) on one thread, and on two threads at
 *   once (a worker thread runs the same module while this one does);
 * - for each training case, the floating-point operations of its matrix products,
 *   2·T·B·G·H·(2I + 3H) (G = 1, 4, 3 gates): the forward's x·W_xᵀ and h·W_hᵀ, the backward's
 *   ∂W_x, ∂W_h and ∂h (the data x needs no gradient, in seqlab's step and in PyTorch's), both
 *   sides' GFLOP/s, and the ratio to PyTorch seqlab would reach if its two threads did nothing
 *   but multiply-adds at the peak: no kernel can do better.
 */
import { Worker } from "worker_threads";
import * as internal from "seqlab/internal";

/** What {@link ceilingBench} measured. */
export interface Ceiling {
  /** The kernel build that ran (relaxed: fused multiply-add; simd: multiply and add). */
  build: string;
  /** GFLOP/s of one thread alone, median of 7. */
  one_thread_gflops: number;
  /** GFLOP/s of each of two threads running at once (medians of 7), and their sum. */
  two_threads_gflops: [number, number];
  two_threads_total_gflops: number;
}

const ROUNDS = 2_000_000; // ~3.5 ms of multiply-adds at 55 GFLOP/s
const REPS = 7;

/** The worker's side: instantiates the module it is sent, waits for "go" and times REPS calls. */
const WORKER = `
const { parentPort, workerData } = require("worker_threads");
const instance = new WebAssembly.Instance(workerData.module, { env: { abort() { throw new Error("abort"); } } });
const go = new Int32Array(workerData.go);
for (let i = 0; i < 3; i++) instance.exports.fmaPeak(workerData.rounds, 0.5); // tier-up, as on the main thread
parentPort.postMessage("ready");
Atomics.wait(go, 0, 0);
const ms = [];
for (let r = 0; r < workerData.reps; r++) {
  const t0 = performance.now();
  instance.exports.fmaPeak(workerData.rounds, 0.5);
  ms.push(performance.now() - t0);
}
parentPort.postMessage(ms);
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function ceilingBench(): Promise<Ceiling> {
  const build = internal.kernelBuild();
  const kernels = internal.loadKernels(build);
  const peak = kernels.exports.fmaPeak;
  const flops = kernels.exports.fmaPeakFlops() * ROUNDS;
  const gflops = (ms: number) => flops / (ms * 1e6);
  const timeOne = () => {
    const t0 = performance.now();
    peak(ROUNDS, 0.5);
    return performance.now() - t0;
  };
  for (let i = 0; i < 3; i++) timeOne(); // tier-up
  const alone = Array.from({ length: REPS }, timeOne);

  const go = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { module: internal.kernelModule(build), go: go.buffer, rounds: ROUNDS, reps: REPS },
  });
  let mine: number[] = [];
  const theirs = await new Promise<number[]>((resolve, reject) => {
    worker.on("message", (m) => {
      if (m === "ready") {
        Atomics.store(go, 0, 1);
        Atomics.notify(go, 0);
        // run this thread's share while the worker runs its own (both start on the same signal)
        mine = Array.from({ length: REPS }, timeOne);
      } else resolve(m as number[]);
    });
    worker.on("error", reject);
  });
  await worker.terminate();
  const two: [number, number] = [gflops(median(mine)), gflops(median(theirs))];
  return { build, one_thread_gflops: gflops(median(alone)), two_threads_gflops: two, two_threads_total_gflops: two[0] + two[1] };
}

/** Gates per cell: the matrix products of one step are G·H wide. */
const GATES = { rnn: 1, lstm: 4, gru: 3 } as const;

/** GFLOP of the matrix products of one training step (forward and backward, no ∂x). */
export function stepGflop(model: keyof typeof GATES, T: number, B: number, I: number, H: number): number {
  return (2 * T * B * GATES[model] * H * (2 * I + 3 * H)) / 1e9;
}

/** The ceiling line and the table of what it allows, for run.ts's output. */
export function ceilingLines(
  c: Ceiling,
  cases: { model: keyof typeof GATES; T: number; B: number; I: number; H: number; ms: { seqlab: number; torch: number | null } }[],
): string[] {
  const lines = [
    `multiply-add ceiling of the fused kernels (${c.build} build): ${c.one_thread_gflops.toFixed(1)} GFLOP/s on one thread; ` +
      `${c.two_threads_gflops.map((g) => g.toFixed(1)).join(" + ")} = ${c.two_threads_total_gflops.toFixed(1)} GFLOP/s on two at once`,
    "| model | T | B | I | H | GFLOP a step (products) | seqlab GFLOP/s | PyTorch GFLOP/s, 1 thread | seqlab at the two-thread ceiling, ms | lowest ratio it allows | seqlab / PyTorch |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of cases) {
    const g = stepGflop(r.model, r.T, r.B, r.I, r.H);
    const floor = (g / c.two_threads_total_gflops) * 1e3;
    const t = r.ms.torch;
    lines.push(
      `| ${r.model} | ${r.T} | ${r.B} | ${r.I} | ${r.H} | ${g.toFixed(2)} | ${(g / (r.ms.seqlab / 1e3)).toFixed(0)} | ` +
        `${t === null ? "—" : (g / (t / 1e3)).toFixed(0)} | ${floor.toFixed(1)} | ${t === null ? "—" : (floor / t).toFixed(2)} | ` +
        `${t === null ? "—" : (r.ms.seqlab / t).toFixed(2)} |`,
    );
  }
  return lines;
}
