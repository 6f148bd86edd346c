/**
 * `npm run bench`: speed, measured as ratios within one run (these machines are
 * noisy, so the implementations are interleaved A B A B … after a warm-up and
 * medians are reported). Writes out/bench.json.
 *
 * - gemm: the wasm kernel's gemm (fastest build) against tfjs's matMul on the same backend,
 *   for the LSTM's main product [B, H]·[H, 4H] at B = 32, H = 128;
 * - the kernels' multiply-add ceiling on one thread and on two at once, and what it allows
 *   each training step against PyTorch (ceiling.ts);
 * - training steps (forward + BPTT + Adam, 10-class softmax on the last state):
 *   tf.layers on this tfjs backend, and PyTorch on the CPU with one thread when
 *   /usr/bin/python3 has torch (Debian python3-torch); seqlab's `unroll` on the
 *   fused wasm kernels (the default) and on the tfjs-op reference path
 *   (`fused: false`, tfjs autodiff), the same model: LSTM without peepholes, GRU
 *   in PyTorch's convention, tanh RNN; the fused path with the default thread
 *   setting ("auto" unless SEQLAB_THREADS is set), forced to one thread and forced to
 *   two (src/fused/threads.ts). These three, the reference, tf.layers and PyTorch on one
 *   thread (the targets' reference: a long-lived process running a burst of steps each
 *   round, torch_step.py --serve) run interleaved, each round starting one further along
 *   (A B C D E F, B C D E F A, …); PyTorch on two
 *   threads, for comparison with seqlab's two, runs in its own process afterwards;
 * - the matrix products of gradients, a decoder step and attention: seqlab's wasm
 *   BatchMatMul against tfjs-wasm's own kernel (src/fused/matmul.ts);
 * - the attention encoder–decoder (attention.ts): training steps against the fixed-context
 *   model, teacher forcing 0.5, greedy and beam decoding, 1,000 steps of memory;
 * - the kernel's latency through jupyter_client (kernel_latency.py): start, the import +
 *   initBackend cell, a trivial cell before and after.
 *
 * PyTorch must run on a real BLAS (test/bench/blas.ts): the bench first asks a PyTorch
 * process which library gives it sgemm_, and refuses the reference BLAS or no PyTorch at all
 * with the command that fixes it (SEQLAB_BENCH_ANY_BLAS=1 runs anyway, flagged in the table
 * and in out/bench.json). Where PyTorch's OpenBLAS would run kernels narrower than the CPU
 * runs (an OPENBLAS_CORETYPE in the environment, or a CPU OpenBLAS 0.3.21 does not know), the
 * bench sets OPENBLAS_CORETYPE to the widest (fairOpenblasCore). The BLAS, OpenBLAS's kernels
 * and threads, and the CPU's AVX2 / AVX-512 flags head the output and go into out/bench.json.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn, spawnSync } from "child_process";
import * as readline from "readline";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { tf, initBackend, describeBackend } from "seqlab";
import { loadKernels, WasmArena } from "seqlab/internal";
import { blasVerdict, cpuFeatures, describeSetup, fairOpenblasCore, torchFacts } from "./blas";
import { attentionBench, attentionLines } from "./attention";
import { ceilingBench, ceilingLines, stepGflop } from "./ceiling";
import { jupyterEnv } from "../helpers/jupyter";
import { TORCH_PYTHON } from "../../kernel/setup";

const OUT = path.join(__dirname, "..", "..", "out", "bench.json");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Runs each function `reps` times, interleaved, after `warmup` rounds; returns median ms of each.
 * Round r starts at the r-th function (A B C, B C A, C A B, …): whatever a function leaves
 * behind (garbage to collect, a process still busy) falls on each of the others in turn, not
 * always on the one after it. Without the rotation the default thread setting, which ran right
 * after PyTorch and tf.layers, measured up to 19% slower than the same kernels forced to two
 * threads in the next slot.
 */
async function interleaved(fns: Record<string, () => void | Promise<void>>, reps: number, warmup = 2): Promise<Record<string, number>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  const entries = Object.entries(fns);
  for (let r = 0; r < warmup + reps; r++) {
    for (let i = 0; i < entries.length; i++) {
      const [name, fn] = entries[(i + r) % entries.length];
      const t0 = performance.now();
      await fn();
      if (r >= warmup) times[name].push(performance.now() - t0);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

async function gemmBench() {
  const [M, K, N] = [32, 128, 512];
  const kernels = loadKernels();
  const arena = new WasmArena(kernels);
  const pa = arena.alloc(M * K);
  const pb = arena.alloc(K * N);
  const pc = arena.alloc(M * N);
  arena.f32(pa, M * K).fill(0.5);
  arena.f32(pb, K * N).fill(0.25);
  const a = tf.randomNormal([M, K]);
  const b = tf.randomNormal([K, N]);
  const inner = 50;
  const ms = await interleaved(
    {
      seqlab: () => {
        for (let i = 0; i < inner; i++) kernels.exports.gemm(M, N, K, pa, K, pb, N, pc, N, 0);
      },
      tfjs: () =>
        tf.tidy(() => {
          let c = tf.matMul(a, b);
          for (let i = 1; i < inner; i++) c = tf.matMul(a, b);
          c.dataSync();
        }),
    },
    15,
  );
  tf.dispose([a, b]);
  const gflops = (t: number) => (2 * M * N * K * inner) / (t * 1e6);
  return { shape: [M, K, N], seqlab: gflops(ms.seqlab), tfjs: gflops(ms.tfjs) };
}

/**
 * The products a training step's gradients make (transposed operands), a decoder step's, and
 * attention's batched products: seqlab's BatchMatMul for the wasm backend (src/fused/matmul.ts)
 * against tfjs-wasm's own kernel, interleaved. For an unbatched product with a transpose also
 * what seqlab did before it ran them itself: tfjs's Transpose, then XNNPACK (tfjs's own kernel
 * of the transposed tensor).
 */
async function matmulBench() {
  const shapes: { case: string; a: number[]; b: number[]; tA: boolean; tB: boolean }[] = [
    { case: "A·B (tfjs: XNNPACK)", a: [704, 128], b: [128, 64], tA: false, tB: false },
    { case: "∂A = ∂C·Bᵀ", a: [704, 64], b: [128, 64], tA: false, tB: true },
    { case: "∂B = Aᵀ·∂C", a: [704, 128], b: [704, 64], tA: true, tB: false },
    { case: "∂W of the additive score's W_k", a: [1728, 64], b: [1728, 64], tA: true, tB: false },
    { case: "a decoder step's x·Wᵀ", a: [64, 16], b: [192, 16], tA: false, tB: true },
    { case: "batched α·V", a: [64, 11, 27], b: [64, 27, 64], tA: false, tB: false },
    { case: "batched Q·Kᵀ", a: [64, 11, 64], b: [64, 27, 64], tA: false, tB: true },
  ];
  const out = [];
  for (const c of shapes) {
    const a = tf.randomNormal(c.a);
    const b = tf.randomNormal(c.b);
    const run = () => tf.tidy(() => void tf.matMul(a, b, c.tA, c.tB).dataSync());
    const viaTranspose = () => tf.tidy(() => void tf.matMul(c.tA ? tf.transpose(a) : a, c.tB ? tf.transpose(b) : b).dataSync());
    const unbatchedTransposed = c.a.length === 2 && c.b.length === 2 && (c.tA || c.tB);
    const ms = await interleaved(
      {
        seqlab: () => {
          internal.installWasmMatMul();
          for (let i = 0; i < 10; i++) run();
        },
        tfjs: () => {
          internal.uninstallWasmMatMul();
          for (let i = 0; i < 10; i++) run();
        },
        ...(unbatchedTransposed
          ? {
              transposeXnnpack: () => {
                internal.uninstallWasmMatMul();
                for (let i = 0; i < 10; i++) viaTranspose();
              },
            }
          : {}),
      },
      9,
    );
    internal.installWasmMatMul();
    tf.dispose([a, b]);
    out.push({
      case: c.case,
      shape: `[${c.a}]${c.tA ? "ᵀ" : ""}·[${c.b}]${c.tB ? "ᵀ" : ""}`,
      seqlab_ms: ms.seqlab / 10,
      tfjs_ms: ms.tfjs / 10,
      ...(unbatchedTransposed ? { transpose_then_xnnpack_ms: ms.transposeXnnpack / 10 } : {}),
    });
  }
  return out;
}

/** What kernel_latency.py prints (ms). */
interface KernelLatency {
  start_ms: number;
  trivial_before_ms: number;
  import_init_ms: number;
  trivial_after_ms: { median: number; max: number; all: number[] };
}

/**
 * The seqlab kernel's latency through jupyter_client: the cells run at once after the kernel
 * is ready (the worst case), and after a pause of 5 s (a student reading the notebook's first
 * lines before running its first cell).
 */
function kernelLatency(): Record<string, KernelLatency | { failed: string }> {
  const out: Record<string, KernelLatency | { failed: string }> = {};
  // this checkout's kernel, registered in a private Jupyter folder (not the user's kernelspec)
  const jupyter = jupyterEnv();
  for (const [name, pause] of [
    ["at_once", 0],
    ["after_5s", 5000],
  ] as const) {
    const r = spawnSync(jupyter.python, [path.join(__dirname, "kernel_latency.py"), "--reps", "20", "--pause-ms", String(pause)], {
      encoding: "utf-8",
      env: jupyter.env,
    });
    out[name] =
      r.status === 0
        ? (JSON.parse(r.stdout.trim().split("\n").pop()!) as KernelLatency)
        : { failed: (r.stderr || String(r.error)).trim().split("\n").pop()! };
  }
  jupyter.dispose();
  return out;
}

function kernelLines(k: ReturnType<typeof kernelLatency>): string[] {
  const lines = [
    "kernel latency (jupyter_client; ms): | cells run | start → ready | trivial cell before import | import + initBackend | trivial cell after (median of 20, max) |",
    "|---|---|---|---|---|",
  ];
  for (const [name, v] of Object.entries(k)) {
    const when = name === "at_once" ? "at once" : "after 5 s";
    lines.push(
      "failed" in v
        ? `| ${when} | failed: ${v.failed} |`
        : `| ${when} | ${v.start_ms.toFixed(0)} | ${v.trivial_before_ms.toFixed(0)} | ${v.import_init_ms.toFixed(0)} | ${v.trivial_after_ms.median.toFixed(0)} (${v.trivial_after_ms.max.toFixed(0)}) |`,
    );
  }
  return lines;
}

type Model = "rnn" | "lstm" | "gru";

/** One training step of tf.layers' recurrent layer, as a user of tfjs would write it. */
function tfLayersStep(model: Model, T: number, B: number, I: number, H: number) {
  const K = 10;
  const args = { units: H, inputShape: [T, I] };
  const rnn =
    model === "lstm"
      ? tf.layers.lstm({ ...args, recurrentActivation: "sigmoid" })
      : model === "gru"
        ? tf.layers.gru({ ...args, recurrentActivation: "sigmoid" })
        : tf.layers.simpleRNN(args);
  const net = tf.sequential({ layers: [rnn, tf.layers.dense({ units: K })] });
  const x = tf.randomNormal([B, T, I]);
  const y = tf.oneHot(tf.randomUniform([B], 0, K, "int32"), K);
  const opt = tf.train.adam(1e-3);
  return {
    step: () => {
      const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, net.apply(x) as tf.Tensor) as tf.Scalar, true);
      loss?.dataSync();
      loss?.dispose();
    },
    dispose: () => {
      net.dispose();
      opt.dispose();
      tf.dispose([x, y]);
    },
  };
}

/** The cell each model of the bench runs (PyTorch's conventions: no peepholes, PyTorch's GRU). */
const CELLS = { rnn: seqlab.rnnCell, lstm: seqlab.lstmCell, gru: seqlab.gruPytorchCell } as const;

/**
 * One training step of seqlab's cell through `unroll` (fused kernels, or the tfjs-op
 * reference with `fused: false`), a dense readout of the last state and Adam.
 */
function seqlabStep(model: Model, T: number, B: number, I: number, H: number, fused: boolean) {
  const K = 10;
  const config = { inputSize: I, hiddenSize: H, seed: 1 };
  const made = {
    cell: CELLS[model],
    params:
      model === "lstm"
        ? seqlab.initLstm({ ...config, peepholes: false })
        : model === "gru"
          ? seqlab.initGruPytorch(config)
          : seqlab.initRnn(config),
  };
  const vars = Object.fromEntries(Object.entries(made.params).map(([k, v]) => [k, tf.variable(v as tf.Tensor)]));
  tf.dispose(Object.values(made.params) as tf.Tensor[]);
  const { V, c, x, y } = tf.tidy(() => ({
    V: tf.variable(tf.randomNormal([H, K], 0, 1 / Math.sqrt(H))),
    c: tf.variable(tf.zeros([K])),
    x: tf.randomNormal([B, T, I]),
    y: tf.oneHot(tf.randomUniform([B], 0, K, "int32"), K),
  }));
  const opt = internal.makeOptimizer({ name: "adam", learningRate: 1e-3 }); // what fit trains with: tfjs's Adam, the update in one pass
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const cell = made.cell as any;
  return {
    step: () => {
      const loss = opt.minimize(() => {
        const r = seqlab.unroll(cell, vars, x as tf.Tensor3D, { returnSequences: false, fused });
        return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(r.state.h as tf.Tensor2D, V), c)) as tf.Scalar;
      }, true);
      loss?.dataSync();
      loss?.dispose();
    },
    dispose: () => {
      opt.dispose();
      tf.dispose([V, c, x, y, ...Object.values(vars)]);
    },
  };
}

interface TorchStep {
  ms: number;
  torch: string;
  blas: { sgemm: string | null; openblas: { core: string; threads: number } | null };
}

function torchStep(
  env: NodeJS.ProcessEnv,
  model: Model,
  T: number,
  B: number,
  I: number,
  H: number,
  reps: number,
  threads = 1,
): TorchStep | { skipped: string } {
  const python = TORCH_PYTHON;
  const r = spawnSync(python, [path.join(__dirname, "torch_step.py"), model, ...[T, B, I, H, reps, threads].map(String)], {
    encoding: "utf-8",
    env: { ...env, OMP_NUM_THREADS: String(threads) },
  });
  if (r.error || r.status !== 0) {
    const why = r.error
      ? String(r.error)
      : r.stderr.includes("No module named 'torch'")
        ? "PyTorch is not installed (apt-get install python3-torch)"
        : r.stderr.trim().split("\n").pop();
    return { skipped: String(why) };
  }
  return JSON.parse(r.stdout.trim());
}

/**
 * PyTorch's step in a long-lived process (torch_step.py --serve), run in bursts between
 * seqlab's, so that both see the same load; null (with why) if it cannot start.
 */
interface TorchServer {
  facts: TorchStep;
  run(n: number): Promise<number[]>;
  close(): void;
}

async function torchServer(
  env: NodeJS.ProcessEnv,
  model: Model,
  T: number,
  B: number,
  I: number,
  H: number,
  threads = 1,
): Promise<TorchServer | { skipped: string }> {
  const py = spawn(TORCH_PYTHON, [path.join(__dirname, "torch_step.py"), "--serve", model, ...[T, B, I, H, threads].map(String)], {
    env: { ...env, OMP_NUM_THREADS: String(threads) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  py.stderr.on("data", (d) => (stderr += d));
  const lines = readline.createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<unknown> => {
    const line = await lines.next();
    if (line.done) throw new Error(stderr.trim().split("\n").pop() || "PyTorch exited");
    return JSON.parse(line.value);
  };
  try {
    const facts = (await next()) as TorchStep;
    const server: TorchServer = {
      facts,
      run: async (n: number) => {
        py.stdin.write(`run ${n}\n`);
        return (await next()) as number[];
      },
      close: () => py.stdin.end(),
    };
    return server;
  } catch (e) {
    py.kill();
    const why = String((e as Error).message);
    return { skipped: why.includes("No module named 'torch'") ? "PyTorch is not installed (apt-get install python3-torch)" : why };
  }
}

async function main() {
  // What PyTorch runs on, first: no minutes of timing before a refusal.
  const cpu = cpuFeatures();
  const detected = torchFacts();
  // OpenBLAS's kernels: the widest this CPU runs, when OpenBLAS picked narrower ones
  const kernels = "error" in detected || !detected.openblas ? null : fairOpenblasCore(detected.openblas.core, cpu);
  const torchEnv = kernels?.coretype ? { ...process.env, OPENBLAS_CORETYPE: kernels.coretype } : process.env;
  const facts = kernels?.coretype ? torchFacts(TORCH_PYTHON, torchEnv) : detected;
  if (kernels?.coretype && !("error" in facts) && facts.openblas?.core.toLowerCase() !== kernels.coretype.toLowerCase()) {
    console.error(`⚠ bench: OPENBLAS_CORETYPE=${kernels.coretype} was not taken: OpenBLAS runs ${facts.openblas?.core ?? "?"} kernels`);
  }
  const verdict = blasVerdict(facts);
  const setup = describeSetup(facts, verdict.blas, cpu, kernels?.note);
  const warning = verdict.ok ? null : `${verdict.problem}. Run:\n\n    ${verdict.remedy}\n`;
  if (warning) {
    if (process.env.SEQLAB_BENCH_ANY_BLAS !== "1") {
      console.error(
        `bench: refusing to compare against PyTorch here: ${warning}\n(SEQLAB_BENCH_ANY_BLAS=1 runs the bench anyway, flagged.)`,
      );
      process.exit(1);
    }
    console.error(`⚠ bench: ${warning}\n⚠ SEQLAB_BENCH_ANY_BLAS=1: running anyway; the PyTorch columns are flagged.\n`);
  }
  console.log(setup);
  const flag = warning ? " ⚠" : "";
  const backend = await initBackend();
  console.log(describeBackend(backend));
  const gemm = await gemmBench();
  console.log(
    `gemm [${gemm.shape.join("×")}]: seqlab wasm ${gemm.seqlab.toFixed(1)} GFLOP/s, tfjs ${backend.name} matMul ${gemm.tfjs.toFixed(1)} GFLOP/s`,
  );

  const ceiling = await ceilingBench();
  console.log(ceilingLines(ceiling, [])[0]);

  const matmul = backend.name === "wasm" ? await matmulBench() : [];
  for (const m of matmul) {
    console.log(
      `matMul ${m.case} ${m.shape}: seqlab's wasm kernel ${m.seqlab_ms.toFixed(2)} ms, tfjs-wasm's own ${m.tfjs_ms.toFixed(2)} ms (${(m.tfjs_ms / m.seqlab_ms).toFixed(1)}×)` +
        (m.transpose_then_xnnpack_ms === undefined
          ? ""
          : `, tfjs's Transpose then XNNPACK ${m.transpose_then_xnnpack_ms.toFixed(2)} ms (${(m.transpose_then_xnnpack_ms / m.seqlab_ms).toFixed(1)}×)`),
    );
  }

  const sizes = [
    [50, 32, 64, 128],
    [100, 64, 128, 256],
  ];
  const cases = [];
  const table: string[] = [];
  for (const [T, B, I, H] of sizes) {
    for (const model of ["rnn", "lstm", "gru"] as const) {
      const fusedImpl = seqlabStep(model, T, B, I, H, true);
      const reference = seqlabStep(model, T, B, I, H, false);
      const layers = tfLayersStep(model, T, B, I, H);
      const reps = 6; // a whole rotation of the six (see interleaved)
      // the fused step is ~20× faster: run it 5 times per round so that it gets a fair median
      const inner = 5;
      // the fused kernels' counters, for the runs with the default thread setting only
      const fusedCounters = { msKernel: 0, msCopy: 0, bytes: 0 };
      // warm-up of the fused path on each thread setting: the engine tiers up hot wasm code
      // (the worker's copy too), and "auto" alternates 1 and 2 threads on its first six calls
      // of each kind and then compares the best of four each: it gets twice the calls, so
      // that the timed rounds see its steady state (as a training run of more than a dozen
      // steps does), not its first probes
      for (const threads of [undefined, 1, 2] as const) {
        internal.setFusedThreads(threads);
        const warm = H > 128 ? 5 : 12;
        for (let i = 0; i < (threads === undefined ? 2 * warm : warm); i++) fusedImpl.step();
      }
      // PyTorch on one thread, the targets' reference, in bursts of `inner` steps between seqlab's
      const server = await torchServer(torchEnv, model, T, B, I, H);
      const torchTimes: number[] = [];
      let torchRounds = 0;
      const torchBurst: Record<string, () => Promise<void>> = {};
      if ("run" in server) {
        torchBurst.torch = async () => {
          const times = await server.run(inner);
          if (torchRounds++ > 0) torchTimes.push(...times); // the first round warms up
        };
      }
      const ms = await interleaved(
        {
          ...torchBurst,
          seqlab: () => {
            internal.setFusedThreads(undefined); // the default: SEQLAB_THREADS, else "auto"
            const p0 = internal.fusedProfile();
            for (let i = 0; i < inner; i++) fusedImpl.step();
            const p1 = internal.fusedProfile();
            fusedCounters.msKernel += p1.msKernel - p0.msKernel;
            fusedCounters.msCopy += p1.msCopy - p0.msCopy;
            fusedCounters.bytes += p1.bytesIn + p1.bytesOut - p0.bytesIn - p0.bytesOut;
          },
          seqlab_1thread: () => {
            internal.setFusedThreads(1);
            for (let i = 0; i < inner; i++) fusedImpl.step();
          },
          seqlab_2threads: () => {
            internal.setFusedThreads(2);
            for (let i = 0; i < inner; i++) fusedImpl.step();
          },
          seqlab_reference: reference.step,
          tf_layers: layers.step,
        },
        reps,
        1,
      );
      ms.seqlab /= inner;
      ms.seqlab_1thread /= inner;
      ms.seqlab_2threads /= inner;
      internal.setFusedThreads(2);
      const threads2 = internal.fusedMemory().threads; // 1 if the runtime could not start the worker
      internal.setFusedThreads(undefined);
      const steps = (reps + 1) * inner;
      fusedImpl.dispose();
      reference.dispose();
      layers.dispose();
      if ("facts" in server) server.close();
      const torch: TorchStep | { skipped: string } = "facts" in server ? { ...server.facts, ms: median(torchTimes) } : server;
      const torchMs = "ms" in torch ? torch.ms : null;
      // PyTorch on both cores too, for comparison with seqlab's two threads (the targets are against one)
      const torch2 = torchMs === null ? null : torchStep(torchEnv, model, T, B, I, H, 20, 2);
      const torch2Ms = torch2 && "ms" in torch2 ? torch2.ms : null;
      const row = {
        model,
        T,
        B,
        I,
        H,
        ms: {
          seqlab: ms.seqlab,
          seqlab_1thread: ms.seqlab_1thread,
          seqlab_2threads: ms.seqlab_2threads,
          seqlab_reference: ms.seqlab_reference,
          tf_layers: ms.tf_layers,
          torch: torchMs,
          torch_2threads: torch2Ms,
        },
        // the matrix products' operations (ceiling.ts) per second on each side
        gflop_per_step: stepGflop(model, T, B, I, H),
        gflops: {
          seqlab: stepGflop(model, T, B, I, H) / (ms.seqlab / 1e3),
          torch: torchMs ? stepGflop(model, T, B, I, H) / (torchMs / 1e3) : null,
        },
        ratio_vs_torch: torchMs ? ms.seqlab / torchMs : null,
        ratio_1thread_vs_torch: torchMs ? ms.seqlab_1thread / torchMs : null,
        ratio_2threads_vs_torch: torchMs ? ms.seqlab_2threads / torchMs : null,
        ratio_vs_torch_2threads: torch2Ms ? ms.seqlab / torch2Ms : null,
        threads_2_ran_on: threads2,
        speedup_vs_tf_layers: ms.tf_layers / ms.seqlab,
        speedup_vs_reference: ms.seqlab_reference / ms.seqlab,
        fused_ms_per_step: { kernels: fusedCounters.msKernel / steps, copies: fusedCounters.msCopy / steps },
        fused_mb_copied_per_step: fusedCounters.bytes / steps / 1e6,
        // what "auto" knew and chose for this case's kernel calls at the end of the rounds
        auto_threads: internal
          .fusedThreadChoices()
          .filter((c) => c.key.startsWith(`${CELLS[model].name} `) && c.key.endsWith(` ${B} ${T} ${I} ${H}`)),
        ...("skipped" in torch ? { torch_skipped: torch.skipped } : {}),
        // what each PyTorch process ran on, as it said itself (1 and 2 threads)
        torch_blas: [torch, torch2].map((t) =>
          t && "blas" in t ? { sgemm: t.blas.sgemm, core: t.blas.openblas?.core ?? null, threads: t.blas.openblas?.threads ?? null } : null,
        ),
      };
      cases.push(row);
      const f = (v: number | null, digits: number) => (v === null ? "—" : v.toFixed(digits));
      const line =
        `| ${model} | ${T} | ${B} | ${I} | ${H} | ${f(ms.seqlab, 1)} | ${f(ms.seqlab_1thread, 1)} | ${f(ms.seqlab_2threads, 1)} | ` +
        `${f(ms.seqlab_reference, 0)} | ${f(ms.tf_layers, 0)} | ${f(torchMs, 1)} | ${f(torch2Ms, 1)} | ` +
        `**${f(row.ratio_vs_torch, 2)}** | **${f(row.speedup_vs_tf_layers, 1)}×** |`;
      table.push(line);
      const elsewhere = row.torch_blas.filter((b) => b && b.sgemm !== verdict.blas?.library).map((b) => b!.sgemm);
      const auto = row.auto_threads
        .map((c) => `${c.key.split(" ").slice(0, 2).join(" ")}: ${c.choice} (best ${c.bestMs.map((m) => m.toFixed(1)).join(" / ")} ms)`)
        .join(", ");
      console.log(
        line +
          (auto ? ` (auto: ${auto})` : "") +
          ("skipped" in torch ? ` (torch skipped: ${torch.skipped})` : "") +
          (elsewhere.length ? ` (⚠ PyTorch's sgemm_ came from ${elsewhere.join(", ")})` : ""),
      );
    }
  }
  const kernel = kernelLatency();
  console.log("");
  for (const line of kernelLines(kernel)) console.log(line);

  const attention = await attentionBench(interleaved);
  console.log("");
  for (const line of attentionLines(attention)) console.log(line);

  console.log("\nms per training step (median; forward + BPTT + Adam):");
  console.log(setup);
  console.log(
    "| model | T | B | I | H | seqlab | fused, 1 thread | fused, 2 threads | seqlab reference (tfjs ops) | tf.layers | " +
      `PyTorch, 1 thread${flag} | PyTorch, 2 threads${flag} | seqlab / PyTorch 1 thread${flag} | tf.layers / seqlab |`,
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const line of table) console.log(line);
  console.log("");
  for (const line of ceilingLines(ceiling, cases)) console.log(line);
  const result = {
    machine: `${os.cpus()[0]?.model ?? cpu.model}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, tfjs ${backend.name}`,
    date: new Date().toISOString(),
    cpu,
    // the BLAS PyTorch's sgemm_ came from; fair: false when SEQLAB_BENCH_ANY_BLAS=1 let the
    // bench compare against the reference BLAS or without PyTorch
    torch: {
      ...facts,
      blas: verdict.blas,
      // the kernels OpenBLAS picked itself, and OPENBLAS_CORETYPE if the bench set it
      openblas_detected: "error" in detected ? null : (detected.openblas?.core ?? null),
      openblas_coretype: kernels?.coretype ?? null,
      fair: verdict.ok,
      ...(verdict.ok ? {} : { warning: `${verdict.problem}; run: ${verdict.remedy}` }),
    },
    setup,
    gemm_gflops: gemm.seqlab,
    ceiling,
    tfjs_matmul_gflops: gemm.tfjs,
    matmul,
    cases,
    attention,
    kernel_latency: kernel,
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), OUT)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
