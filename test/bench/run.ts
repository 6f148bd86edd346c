/**
 * `npm run bench`: speed, measured as ratios within one run (these machines are
 * noisy, so the implementations are interleaved A B A B … after a warm-up and
 * medians are reported). Writes out/bench.json.
 *
 * - gemm: the wasm kernel's SIMD gemm against tfjs's matMul on the same backend,
 *   for the LSTM's main product [B, H]·[H, 4H] at B = 32, H = 128;
 * - training steps (forward + BPTT + Adam, 10-class softmax on the last state):
 *   tf.layers on this tfjs backend, and PyTorch on the CPU with one thread when
 *   /usr/bin/python3 has torch (Debian python3-torch). seqlab's fused kernels
 *   join this table when they land.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { tf, initBackend, describeBackend, loadKernels, WasmArena } from "seqlab";

const OUT = path.join(__dirname, "..", "..", "out", "bench.json");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Runs each function `reps` times, interleaved, after `warmup` rounds; returns median ms of each. */
async function interleaved(fns: Record<string, () => void | Promise<void>>, reps: number, warmup = 2): Promise<Record<string, number>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  for (let r = 0; r < warmup + reps; r++) {
    for (const [name, fn] of Object.entries(fns)) {
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

function torchStep(model: Model, T: number, B: number, I: number, H: number, reps: number): { ms: number; torch: string } | { skipped: string } {
  const python = "/usr/bin/python3";
  const r = spawnSync(python, [path.join(__dirname, "torch_step.py"), model, ...[T, B, I, H, reps].map(String)], {
    encoding: "utf-8",
    env: { ...process.env, OMP_NUM_THREADS: "1" },
  });
  if (r.error || r.status !== 0) {
    const why = r.error ? String(r.error) : r.stderr.includes("No module named 'torch'") ? "PyTorch is not installed (apt-get install python3-torch)" : r.stderr.trim().split("\n").pop();
    return { skipped: String(why) };
  }
  return JSON.parse(r.stdout.trim());
}

async function main() {
  const backend = await initBackend();
  console.log(describeBackend(backend));
  const gemm = await gemmBench();
  console.log(`gemm [${gemm.shape.join("×")}]: seqlab wasm ${gemm.seqlab.toFixed(1)} GFLOP/s, tfjs ${backend.name} matMul ${gemm.tfjs.toFixed(1)} GFLOP/s`);

  const sizes = [[50, 32, 64, 128], [100, 64, 128, 256]];
  const cases = [];
  for (const [T, B, I, H] of sizes) {
    for (const model of ["rnn", "lstm", "gru"] as const) {
      const layers = tfLayersStep(model, T, B, I, H);
      const reps = H > 128 ? 3 : 5;
      const ms = await interleaved({ tf_layers: layers.step }, reps, 1);
      layers.dispose();
      const torch = torchStep(model, T, B, I, H, 20);
      const row = {
        model, T, B, I, H,
        ms: { seqlab: null, seqlab_reference: null, tf_layers: ms.tf_layers, torch: "ms" in torch ? torch.ms : null },
        ratio_tf_layers_vs_torch: "ms" in torch ? ms.tf_layers / torch.ms : null,
        ...("skipped" in torch ? { torch_skipped: torch.skipped } : {}),
      };
      cases.push(row);
      console.log(
        `${model} T=${T} B=${B} I=${I} H=${H}: tf.layers ${ms.tf_layers.toFixed(1)} ms` +
          ("ms" in torch ? `, torch ${torch.ms.toFixed(1)} ms (×${(ms.tf_layers / torch.ms).toFixed(1)})` : `, torch skipped: ${torch.skipped}`),
      );
    }
  }
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const result = {
    machine: `${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, tfjs ${backend.name}`,
    date: new Date().toISOString(),
    gemm_gflops: gemm.seqlab,
    tfjs_matmul_gflops: gemm.tfjs,
    cases,
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), OUT)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
