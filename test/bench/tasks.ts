/**
 * "How good, measured" (issue 5): trains with fixed seeds and writes out/bench-tasks.json.
 *
 * - adding problem, T = 50: LSTM and GRU vs the vanilla RNN (MSE vs the 1/6 of always answering 1);
 * - date translation: encoder–decoder with attention vs with a fixed context, exact match on
 *   held-out dates, overall and by input length;
 * - "worse as inputs grow longer": digit-string reversal at lengths 5, 10, 20, with and
 *   without attention, same budget (exact match on fresh strings);
 * - character-level language model: validation perplexity after a fixed budget, and a sample.
 *
 * Run: `npx tsx test/bench/tasks.ts [adding|dates|reversal|lm …]` (after `npm run build`); no
 * arguments runs all three. Every run reports its wall time.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { cpus } from "node:os";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";

const { tf } = seqlab;
type Json = Record<string, unknown>;

const OUT = "out/bench-tasks.json";

async function main(): Promise<void> {
  const info = await seqlab.initBackend();
  const which = process.argv.slice(2);
  const want = (name: string) => which.length === 0 || which.includes(name);
  const results: Json = existsSync(OUT) ? (JSON.parse(readFileSync(OUT, "utf8")) as Json) : {};
  results.backend = seqlab.describeBackend(info);
  results.fused = process.env.SEQLAB_FUSED ?? "default (on)";
  results.machine = `${cpus().length} cores, Node ${process.version}`;
  const save = () => {
    mkdirSync("out", { recursive: true });
    writeFileSync(OUT, JSON.stringify(results, null, 2));
  };
  const tasks: [string, string, () => Promise<Json[string]>][] = [
    ["adding", "adding", adding],
    ["dates", "dates", dates],
    ["reversal", "reversalByLength", reversalByLength],
    ["lm", "lm", languageModel],
  ];
  for (const [name, key, run] of tasks) {
    if (!want(name)) continue;
    results[key] = await run();
    save();
  }
  console.log(`wrote ${OUT}`);
}

/** Seconds since t0. */
const since = (t0: number) => Math.round((Date.now() - t0) / 100) / 10;

async function adding(): Promise<Json> {
  const T = 50,
    steps = 1500,
    perEpoch = 50;
  const validation = [...seqlab.addingBatches({ length: T, batchSize: 1000, batches: 1, seed: 12345 })];
  const out: Json = {
    T,
    steps,
    batchSize: 32,
    hiddenSize: 32,
    optimizer: "adam 0.01, clip global norm 1",
    baselineMse: seqlab.ADDING_BASELINE_MSE,
    models: {},
  };
  for (const cell of ["lstm", "gru", "rnn"] as const) {
    const model = new seqlab.SequenceToVector({ inputSize: 2, cell, hiddenSize: 32, output: { values: 1 }, seed: 1 });
    const t0 = Date.now();
    const history = await seqlab.fit(model, {
      data: (_epoch, rng) => seqlab.addingBatches({ length: T, batchSize: 32, batches: perEpoch, seed: rng.int(1e9) }),
      validation,
      epochs: steps / perEpoch,
      optimizer: { name: "adam", learningRate: 0.01 },
      clip: { globalNorm: 1 },
      seed: 1,
      progress: false,
    });
    const seconds = since(t0);
    const mse = history.valLoss[history.valLoss.length - 1];
    const firstSolved = history.valLoss.findIndex((l) => l < 0.01);
    (out.models as Json)[cell] = {
      validationMse: mse,
      solved: mse < 0.01,
      stepsToMseBelow0_01: firstSolved < 0 ? null : (firstSolved + 1) * perEpoch,
      validationMsePerEpoch: history.valLoss.map((l) => +l.toFixed(5)),
      seconds,
      msPerStep: Math.round((seconds * 1000) / steps),
    };
    console.log(`adding T=${T} ${cell}: validation MSE ${mse.toFixed(4)} (baseline 0.167) in ${seconds} s`);
    model.dispose();
  }
  seqlab.disposeAll(validation);
  return out;
}

/** Exact match (and per-length exact match) of greedy decoding on held-out dates. */
function dateAccuracy(
  model: seqlab.StepDecoder<seqlab.EncoderDecoderState>,
  examples: seqlab.DateExample[],
): { exact: number; byLength: Json } {
  const V = seqlab.DATE_TARGET_VOCAB;
  const buckets = new Map<string, { n: number; right: number }>();
  let right = 0;
  for (let k = 0; k < examples.length; k += 250) {
    const chunk = examples.slice(k, k + 250);
    const batch = seqlab.dateBatchOf(chunk);
    const d = seqlab.greedyDecode(model, batch.x, { startToken: V.start, endToken: V.end, maxLength: 12, sourceMask: batch.xMask });
    chunk.forEach((e, i) => {
      const ok = V.decodeText(d.tokens[i]) === e.target;
      right += ok ? 1 : 0;
      const n = e.source.length;
      const key = n <= 11 ? "10-11 chars" : n <= 17 ? "12-17 chars" : "18-29 chars";
      const b = buckets.get(key) ?? { n: 0, right: 0 };
      b.n++;
      b.right += ok ? 1 : 0;
      buckets.set(key, b);
    });
    seqlab.disposeAll(batch);
  }
  const byLength: Json = {};
  for (const [key, b] of [...buckets].sort()) byLength[key] = { n: b.n, exactMatch: +(b.right / b.n).toFixed(4) };
  return { exact: right / examples.length, byLength };
}

async function dates(): Promise<Json> {
  // Held-out exact match is measured every 50 steps on 500 test dates (greedy decoding), so
  // the curves show how fast each model gets there; the final figure uses 2,000 test dates.
  const steps = 600,
    perEpoch = 50,
    batchSize = 64,
    H = 64,
    budget = 200;
  const test = seqlab.dateExamples(2000, { split: "test" }, new seqlab.Rng(777));
  const probe = test.slice(0, 500);
  const out: Json = {
    steps,
    batchSize,
    hiddenSize: H,
    cell: "gru",
    embeddingSize: 16,
    optimizer: "adam 0.005, clip global norm 1",
    heldOutDates: test.length,
    notebookBudgetSteps: budget,
    models: {},
  };
  const V = seqlab.DATE_TARGET_VOCAB;
  const sizes = { sourceVocabSize: seqlab.DATE_SOURCE_VOCAB.size, targetVocabSize: V.size, cell: "gru" as const, hiddenSize: H, seed: 1 };
  const makers: [string, () => internal.EncoderDecoderBase][] = [
    ["attention (general)", () => new seqlab.AttentionEncoderDecoder({ ...sizes, score: "general" })],
    ["attention (additive)", () => new seqlab.AttentionEncoderDecoder({ ...sizes, score: "additive" })],
    ["fixed context", () => new seqlab.EncoderDecoder(sizes)],
  ];
  for (const [name, make] of makers) {
    const model = make();
    const curve: { step: number; exactMatch: number; byInputLength: Json; seconds: number }[] = [];
    let evalMs = 0;
    const t0 = Date.now();
    await seqlab.fit(model, {
      data: (_epoch, rng) => seqlab.dateBatches({ batchSize, batches: perEpoch, seed: rng.int(1e9) }),
      epochs: steps / perEpoch,
      optimizer: { name: "adam", learningRate: 0.005 },
      clip: { globalNorm: 1 },
      seed: 1,
      progress: false,
      callbacks: [
        {
          onEpoch: (log) => {
            const t = Date.now();
            const acc = dateAccuracy(model, probe);
            evalMs += Date.now() - t;
            curve.push({
              step: log.epoch * perEpoch,
              exactMatch: +acc.exact.toFixed(4),
              byInputLength: acc.byLength,
              seconds: since(t0 + evalMs),
            });
          },
        },
      ],
    });
    const trainSeconds = Math.round((Date.now() - t0 - evalMs) / 100) / 10;
    const t1 = Date.now();
    const acc = dateAccuracy(model, test);
    const sample = seqlab.dateBatchOf(test.slice(0, 3));
    const d = seqlab.greedyDecode(model, sample.x, { startToken: V.start, endToken: V.end, maxLength: 12, sourceMask: sample.xMask });
    seqlab.disposeAll(sample);
    const at = curve.find((c) => c.step === budget)!;
    const reached = curve.find((c) => c.exactMatch >= 0.95);
    (out.models as Json)[name] = {
      heldOutExactMatch: +acc.exact.toFixed(4),
      heldOutExactMatchByInputLength: acc.byLength,
      atNotebookBudget: { steps: budget, exactMatch: at.exactMatch, byInputLength: at.byInputLength, trainSeconds: at.seconds },
      stepsTo95: reached ? reached.step : null,
      secondsTo95: reached ? reached.seconds : null,
      curve: curve.map((c) => ({ step: c.step, exactMatch: c.exactMatch, byInputLength: c.byInputLength })),
      examples: test.slice(0, 3).map((e, i) => ({ source: e.source, target: e.target, output: V.decodeText(d.tokens[i]) })),
      trainSeconds,
      msPerStep: Math.round((trainSeconds * 1000) / steps),
      evalSecondsFor2000: since(t1),
    };
    console.log(
      `dates ${name}: after ${budget} steps ${(at.exactMatch * 100).toFixed(1)} % ${JSON.stringify(at.byInputLength)}; ` +
        `after ${steps}: ${(acc.exact * 100).toFixed(1)} %; ≥ 95 % at step ${reached?.step ?? "never"} (train ${trainSeconds} s)`,
    );
    model.dispose();
  }
  return out;
}

async function reversalByLength(): Promise<Json> {
  // Reversal puts the first output at the far end of the input: a fixed context must carry
  // the whole string; attention can look each digit up. Same model sizes and budget per length.
  const steps = 600,
    perEpoch = 50,
    batchSize = 64,
    H = 64;
  const V = seqlab.DIGITS_TARGET_VOCAB;
  const out: Json = { steps, batchSize, hiddenSize: H, cell: "gru", optimizer: "adam 0.005, clip global norm 1", byLength: {} };
  for (const length of [5, 10, 20]) {
    const test = internal.reversalPairs(500, { length }, new seqlab.Rng(4242));
    const row: Json = {};
    for (const attention of [true, false]) {
      const sizes = {
        sourceVocabSize: seqlab.DIGITS_SOURCE_VOCAB.size,
        targetVocabSize: V.size,
        cell: "gru" as const,
        hiddenSize: H,
        seed: 1,
      };
      const model: internal.EncoderDecoderBase = attention
        ? new seqlab.AttentionEncoderDecoder({ ...sizes, score: "general" })
        : new seqlab.EncoderDecoder(sizes);
      const t0 = Date.now();
      await seqlab.fit(model, {
        data: (_epoch, rng) => seqlab.reversalBatches({ length, batchSize, batches: perEpoch, seed: rng.int(1e9) }),
        epochs: steps / perEpoch,
        optimizer: { name: "adam", learningRate: 0.005 },
        clip: { globalNorm: 1 },
        seed: 1,
        progress: false,
      });
      const seconds = since(t0);
      const batch = internal.seq2seqBatchOf(test, seqlab.DIGITS_SOURCE_VOCAB, V);
      const d = seqlab.greedyDecode(model, batch.x, {
        startToken: V.start,
        endToken: V.end,
        maxLength: length + 2,
        sourceMask: batch.xMask,
      });
      const exact = test.filter((p, i) => V.decodeText(d.tokens[i]) === p.target).length / test.length;
      seqlab.disposeAll(batch);
      row[attention ? "attention (general)" : "fixed context"] = { exactMatch: +exact.toFixed(4), trainSeconds: seconds };
      console.log(
        `reversal length ${length}, ${attention ? "attention" : "fixed context"}: exact match ${(exact * 100).toFixed(1)} % (${seconds} s)`,
      );
      model.dispose();
    }
    (out.byLength as Json)[String(length)] = row;
  }
  return out;
}

async function languageModel(): Promise<Json> {
  const text = seqlab.loadCorpus();
  const vocab = seqlab.corpusVocab(text);
  const { train, validation } = seqlab.splitText(text, 0.1);
  const epochs = 25,
    B = 16,
    T = 64,
    chunk = 32,
    H = 128;
  const model = new seqlab.SequenceToSequence({
    vocabSize: vocab.size,
    embeddingSize: 32,
    cell: "lstm",
    hiddenSize: H,
    output: { classes: vocab.size },
    seed: 1,
  });
  const val = [...seqlab.textStreams(validation, { batchSize: 4, seqLength: Math.floor((validation.length - 1) / 4) - 1, vocab })];
  const t0 = Date.now();
  const history = await seqlab.fit(model, {
    data: () => seqlab.textStreams(train, { batchSize: B, seqLength: T, vocab }),
    validation: val,
    epochs,
    optimizer: { name: "adam", learningRate: 0.005 },
    clip: { globalNorm: 1 },
    tbptt: { chunk, acrossBatches: true },
    shuffle: false,
    seed: 1,
    progress: false,
  });
  const seconds = since(t0);
  const prompt = "The ";
  const sample = model.generate([vocab.encode(prompt)], { length: 200, temperature: 0.8, seed: 1 });
  const out = {
    corpusChars: text.length,
    vocabSize: vocab.size,
    cell: "lstm",
    hiddenSize: H,
    epochs,
    steps: history.steps,
    batchSize: B,
    tbpttChunk: chunk,
    validationPerplexity: +history.valPerplexity[history.valPerplexity.length - 1].toFixed(3),
    bestValidationPerplexity: +Math.min(...history.valPerplexity).toFixed(3),
    unigramPerplexity: +seqlab.unigramPerplexity(train, validation).toFixed(3),
    validationPerplexityPerEpoch: history.valPerplexity.map((p) => +p.toFixed(3)),
    sample: prompt + vocab.decodeText(sample.tokens[0]),
    sampleTemperature: 0.8,
    seconds,
  };
  console.log(
    `char LM: validation perplexity ${out.validationPerplexity} (best ${out.bestValidationPerplexity}, unigram ${out.unigramPerplexity}) in ${seconds} s`,
  );
  console.log(out.sample);
  model.dispose();
  seqlab.disposeAll(val);
  void tf;
  return out;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
