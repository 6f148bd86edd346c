/**
 * The attention part of `npm run bench` (called by run.ts): the date task's encoder–decoder
 * (GRU, H = 64, embeddings 16, batch 64, sources of 27 symbols, targets of 11) with a fixed
 * context and with each attention score, all interleaved in one process:
 *
 * - a training step (forward + backward + Adam) teacher forced (r = 1), each model's ms and
 *   its ratio to the fixed-context model's; the same with the attention on the tfjs-op
 *   reference path (SEQLAB_FUSED=0 for that call: the recurrent layers then run their
 *   reference too, so the reference ratio compares like with like);
 * - a training step with teacher-forcing ratio 0.5 (the decoder steps one token at a time);
 * - greedy decoding and beam search (k = 4) of the 64 sources, with the tfjs kernels each
 *   decoder step dispatches (tf.profile), which is what dominates step-by-step decoding;
 * - 1,000 training steps of the additive model: tf.memory().numTensors and the fused
 *   kernels' wasm memory after step 100 and after step 1,000.
 */
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";

const { tf } = seqlab;

type Median = (fns: Record<string, () => void | Promise<void>>, reps: number, warmup?: number) => Promise<Record<string, number>>;

const SCORES = ["additive", "dot", "general", "scaled-dot"] as const;

/** Runs `f` with SEQLAB_FUSED set to `value` (undefined: unset), then puts it back. */
function withFused<T>(value: string | undefined, f: () => T): T {
  const saved = process.env.SEQLAB_FUSED;
  if (value === undefined) delete process.env.SEQLAB_FUSED;
  else process.env.SEQLAB_FUSED = value;
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env.SEQLAB_FUSED;
    else process.env.SEQLAB_FUSED = saved;
  }
}

export async function attentionBench(interleaved: Median) {
  const V = seqlab.DATE_TARGET_VOCAB;
  const H = 64;
  const sizes = {
    sourceVocabSize: seqlab.DATE_SOURCE_VOCAB.size,
    targetVocabSize: V.size,
    cell: "gru" as const,
    hiddenSize: H,
    embeddingSize: 16,
    seed: 1,
  };
  const batch = [...seqlab.dateBatches({ batchSize: 64, batches: 1, seed: 3 })][0];
  const tensors0 = tf.memory().numTensors;
  const models: Record<string, internal.EncoderDecoderBase> = {
    fixed: new seqlab.EncoderDecoder(sizes),
    ...Object.fromEntries(SCORES.map((score) => [score, new seqlab.AttentionEncoderDecoder({ ...sizes, score })])),
  };
  const optimizers = Object.fromEntries(Object.keys(models).map((k) => [k, internal.makeOptimizer({ name: "adam", learningRate: 1e-3 })]));
  const rng = new seqlab.Rng(7);
  const step = (name: string, r: number) => {
    const model = models[name];
    const loss = optimizers[name].minimize(
      () => model.forward(batch, { training: true, teacherForcingRatio: r, rng }).loss,
      true,
      Object.values(model.variables),
    );
    loss?.dataSync();
    loss?.dispose();
  };

  const names = Object.keys(models);
  const forced = await interleaved(
    {
      ...Object.fromEntries(names.map((n) => [n, () => step(n, 1)])),
      ...Object.fromEntries(names.map((n) => [`${n}_reference`, () => withFused("0", () => step(n, 1))])),
    },
    7,
    2,
  );
  const scheduled = await interleaved(Object.fromEntries(["fixed", "additive", "general"].map((n) => [n, () => step(n, 0.5)])), 5, 1);

  const source = { x: batch.x, sourceMask: batch.xMask };
  const decodeOptions = { startToken: V.start, endToken: V.end, maxLength: 12, sourceMask: source.sourceMask };
  const decoders = ["fixed", "additive", "general"];
  const decode = await interleaved(
    {
      ...Object.fromEntries(decoders.map((n) => [`greedy_${n}`, () => void seqlab.greedyDecode(models[n], source.x, decodeOptions)])),
      ...Object.fromEntries(
        decoders.map((n) => [`beam4_${n}`, () => void seqlab.beamSearch(models[n], source.x, { ...decodeOptions, beamWidth: 4 })]),
      ),
    },
    3,
    1,
  );
  // tfjs kernels per decoder step: one greedy decoding of the batch, profiled
  const kernelsPerStep: Record<string, number> = {};
  for (const n of decoders) {
    let steps = 0;
    const profile = await tf.profile(() => {
      const d = seqlab.greedyDecode(models[n], source.x, decodeOptions);
      steps = Math.max(...d.tokens.map((t, i) => t.length + (d.ended[i] ? 1 : 0)));
    });
    kernelsPerStep[n] = Math.round(profile.kernels.length / Math.max(1, steps));
  }

  // 1,000 steps: tensors and the fused kernels' memory stay flat
  const memory = () => ({
    tensors: tf.memory().numTensors,
    fusedBytes: internal.fusedMemory().bytes,
    fusedLiveBlocks: internal.fusedMemory().liveBlocks,
  });
  let at100 = memory();
  const t0 = performance.now();
  for (let i = 1; i <= 1000; i++) {
    step("additive", 1);
    if (i === 100) at100 = memory();
  }
  const long = { steps: 1000, seconds: (performance.now() - t0) / 1000, after100: at100, after1000: memory() };

  for (const m of Object.values(models)) m.dispose();
  for (const o of Object.values(optimizers)) o.dispose();
  const leaked = tf.memory().numTensors - tensors0;

  const ratio = (a: number, b: number) => +(a / b).toFixed(3);
  return {
    model: "date task: GRU encoder–decoder, H = 64, embeddings 16, batch 64, source 27, target 11",
    teacher_forced_ms: Object.fromEntries(names.map((n) => [n, +forced[n].toFixed(2)])),
    teacher_forced_ratio_vs_fixed: Object.fromEntries(SCORES.map((s) => [s, ratio(forced[s], forced.fixed)])),
    reference_ms: Object.fromEntries(names.map((n) => [n, +forced[`${n}_reference`].toFixed(2)])),
    reference_ratio_vs_fixed: Object.fromEntries(SCORES.map((s) => [s, ratio(forced[`${s}_reference`], forced.fixed_reference)])),
    scheduled_r05_ms: Object.fromEntries(Object.entries(scheduled).map(([k, v]) => [k, +v.toFixed(2)])),
    decode_ms: Object.fromEntries(Object.entries(decode).map(([k, v]) => [k, +v.toFixed(1)])),
    decode_kernels_per_step: kernelsPerStep,
    memory_1000_steps: long,
    tensors_left_after_dispose: leaked,
  };
}

export type AttentionBench = Awaited<ReturnType<typeof attentionBench>>;

/** The lines run.ts prints. */
export function attentionLines(a: AttentionBench): string[] {
  const f = (v: number) => v.toFixed(1);
  const lines = [
    `attention (${a.model}), ms per training step, teacher forced; ratio to the fixed context:`,
    "| model | fused (default) | ratio | reference path | ratio |",
    "|---|---|---|---|---|",
    `| fixed context | ${f(a.teacher_forced_ms.fixed)} | 1 | ${f(a.reference_ms.fixed)} | 1 |`,
    ...SCORES.map(
      (s) =>
        `| ${s} | ${f(a.teacher_forced_ms[s])} | **${a.teacher_forced_ratio_vs_fixed[s].toFixed(2)}** | ` +
        `${f(a.reference_ms[s])} | ${a.reference_ratio_vs_fixed[s].toFixed(2)} |`,
    ),
    `teacher-forcing ratio 0.5: ${Object.entries(a.scheduled_r05_ms)
      .map(([k, v]) => `${k} ${f(v)} ms`)
      .join(", ")}`,
    `decoding 64 sources (ms): ${Object.entries(a.decode_ms)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(", ")}; tfjs kernels per greedy step: ${Object.entries(a.decode_kernels_per_step)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    `1,000 training steps (additive): tensors ${a.memory_1000_steps.after100.tensors} after 100, ` +
      `${a.memory_1000_steps.after1000.tensors} after 1,000; fused wasm memory ${a.memory_1000_steps.after100.fusedBytes} → ` +
      `${a.memory_1000_steps.after1000.fusedBytes} bytes (${a.memory_1000_steps.seconds.toFixed(0)} s)`,
  ];
  return lines;
}
