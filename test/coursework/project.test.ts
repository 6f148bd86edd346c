/**
 * Assignment 4's checks (src/coursework/project.ts): a right model passes on the wasm and the
 * cpu backend; every mistake the checks name is recognised (CheckFailure with that `.mistake`
 * and a message that says what was measured); the release's stubs and a training cell that
 * stopped early say "not implemented yet"; tf.memory().numTensors is left as it was, whether
 * the model passes, fails or throws.
 *
 * The quality check is tested with made-up decoders whose answers are known: an oracle that
 * reads the date and writes it in ISO, with a switch that spoils some answers the way a
 * weak model does (a wrong year, a wrong day, …). One real model is trained with the
 * notebook's recipe, and an untrained one must fail.
 */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D } from "@tensorflow/tfjs";
import {
  AttentionEncoderDecoder,
  EncoderDecoder,
  fit,
  initBackend,
  dateBatches,
  DATE_SOURCE_VOCAB,
  DATE_TARGET_VOCAB,
  type MemoryState,
} from "seqlab";
import { DATE_FORMAT_NAMES, formatDate, parseDate, type DecoderStep } from "seqlab/internal";
import {
  CheckFailure,
  checkBuildModel,
  checkDatesModel,
  checkTrainingTime,
  evaluateDates,
  DATES_TASK,
  type DatesModel,
  type BuildModel,
} from "seqlab/coursework";

const SIZES = { sourceVocabSize: DATE_SOURCE_VOCAB.size, targetVocabSize: DATE_TARGET_VOCAB.size, hiddenSize: 16, seed: 3 };
const attentionModel: BuildModel = () => new AttentionEncoderDecoder({ ...SIZES, cell: "lstm", score: "general" });
const fixedModel: BuildModel = () => new EncoderDecoder({ ...SIZES, cell: "gru" });

/** Runs `run`, expecting a CheckFailure with this mistake; returns its message. */
function failure(run: () => unknown, mistake: string, message?: RegExp): string {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof CheckFailure, `expected a CheckFailure, got ${String(e)}`);
    assert.equal(e.mistake, mistake, e.message);
    if (message) assert.match(e.message, message);
    return e.message;
  }
  assert.fail(`expected the check to fail with ${mistake}`);
}

/** Calls `run` with console.log captured; returns what it printed. */
function printed(run: () => void): string {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    run();
  } finally {
    console.log = log;
  }
  return lines.join("\n");
}

/** Expects `run` to leave tf.memory().numTensors as it found it. */
function noLeak(run: () => void): void {
  const before = tf.memory().numTensors;
  run();
  assert.equal(tf.memory().numTensors, before, "tensors left behind");
}

// A decoder whose answers are known ------------------------------------------------------------

/** How the oracle spoils an answer: the ISO target and the row in the decoded batch (≤ 250 rows) → what it writes. */
type Spoil = (target: string, row: number) => string;

type OracleState = MemoryState<{ h: Tensor2D; t: Tensor2D }, { answers: Tensor2D; alpha: Tensor2D }>;

/**
 * A model that reads each date and writes its ISO form (spoiled by `spoil`), then END: a
 * StepDecoder with a decoder state of width `stateSize`, and (uniform) attention weights unless told not to.
 */
function oracle(options: { spoil?: Spoil; stateSize?: number; attention?: boolean; throwAt?: number } = {}): DatesModel {
  const V = DATE_TARGET_VOCAB;
  const H = options.stateSize ?? 32;
  let steps = 0;
  return {
    outputSize: V.size,
    variables: {},
    forward: () => {
      throw new Error("the oracle is not trainable");
    },
    dispose: () => {},
    begin(source: Tensor, sourceMask?: Tensor2D): OracleState {
      const ids = source.arraySync() as number[][];
      const answers = ids.map((row, b) => {
        const text = DATE_SOURCE_VOCAB.decodeText(row);
        const format = DATE_FORMAT_NAMES.find((f) => {
          try {
            parseDate(text, f);
            return true;
          } catch {
            return false;
          }
        });
        assert.ok(format, `the oracle cannot read ${text}`);
        const target = formatDate(parseDate(text, format), "iso");
        const written = options.spoil ? options.spoil(target, b) : target;
        return [...V.encode(written), V.end].slice(0, 11).concat(new Array(11).fill(V.end)).slice(0, 11);
      });
      const [B, Tin] = source.shape as [number, number];
      return tf.tidy(() => ({
        decoder: { h: tf.zeros([B, H]) as Tensor2D, t: tf.zeros([B, 1]) as Tensor2D },
        memory: {
          answers: tf.tensor2d(answers, [B, 11], "int32"),
          alpha: (sourceMask ? tf.div(sourceMask, tf.sum(sourceMask, 1, true)) : tf.fill([B, Tin], 1 / Tin)) as Tensor2D, // uniform over the real characters
        },
      }));
    },
    step(_prev: Tensor1D, state: OracleState): DecoderStep<OracleState> {
      if (options.throwAt !== undefined && ++steps >= options.throwAt) throw new Error("the model broke");
      return tf.tidy(() => {
        const t = state.decoder.t.dataSync()[0];
        const next = tf.squeeze(tf.slice(state.memory.answers, [0, t], [-1, 1]), [1]) as Tensor1D; // [B]
        const logits = tf.mul(tf.oneHot(next, V.size), 10) as Tensor2D;
        const decoder = { h: tf.clone(state.decoder.h), t: tf.add(state.decoder.t, 1) as Tensor2D };
        return {
          logits,
          state: { decoder, memory: state.memory },
          ...(options.attention === false ? {} : { attention: tf.clone(state.memory.alpha) }),
        };
      });
    },
  } as DatesModel;
}

const everyOther =
  (wrong: (target: string) => string): Spoil =>
  (target, i) =>
    i % 2 === 0 ? wrong(target) : target;
const otherDigit = (c: string) => String((Number(c) + 1) % 10);
const wrongYear = (t: string) => otherDigit(t[0]) + t.slice(1);
const wrongDay = (t: string) => t.slice(0, 9) + otherDigit(t[9]);
const wrongEverything = (t: string) => [...t].map((c) => (c === "-" ? c : otherDigit(c))).join("");

const LOW = Array.from({ length: 300 }, (_, k) => 2.6 * Math.exp(-k / 30) + 0.005); // a run that learned
const FLAT = Array.from({ length: 300 }, (_, k) => 2.6 - 0.001 * k); // a run that hardly moved
const HIGH = Array.from({ length: 50 }, (_, k) => 2.6 * Math.exp(-k / 40)); // a run stopped too soon (0.8 at the end)

describe("coursework: assignment 4 (project)", function () {
  this.timeout(300_000);

  for (const backend of ["wasm", "cpu"] as const) {
    describe(`a right model passes on ${backend}`, () => {
      before(async () => {
        await initBackend(backend);
        assert.equal(tf.getBackend(), backend);
      });

      it("checkBuildModel: seqlab's encoder–decoders, with and without attention, any B", () => {
        for (const build of [attentionModel, fixedModel]) {
          for (const options of [{}, { seed: 5, B: 1 }, { seed: 9, B: 6 }]) {
            let out = "";
            noLeak(() => (out = printed(() => checkBuildModel(build, options))));
            assert.match(out, /^✓ buildModel: a fresh model reads \d+ dates?, each step gives logits \[\d+, 14\].*largest error/);
          }
        }
      });

      it("checkDatesModel: a model that writes every date right passes, on any seed and n", () => {
        for (const options of [{}, { seed: 2024, n: 1000 }, { n: 1, seed: 3 }]) {
          let out = "";
          noLeak(() => (out = printed(() => checkDatesModel(oracle(), { ...options, losses: LOW }))));
          assert.match(
            out,
            /^✓ checkDatesModel: 100\.0% of \d+ held-out dates \(seed \d+\) written exactly right, at least 90\.0% required/,
          );
        }
      });

      it("checkDatesModel: 90% is enough, 89.6% is not", () => {
        const spoilSome =
          (wrongOf250: number): Spoil =>
          (t, row) =>
            row < wrongOf250 ? wrongDay(t) : t;
        assert.match(
          printed(() => checkDatesModel(oracle({ spoil: spoilSome(25) }), { n: 1000 })),
          /^✓ checkDatesModel: 90\.0% of 1000/,
        );
        failure(() => checkDatesModel(oracle({ spoil: spoilSome(26) }), { n: 1000 }), "short", /exact match 89\.6% on 1000 held-out dates/);
      });
    });
  }

  describe("evaluateDates", () => {
    before(() => initBackend("wasm"));

    it("measures exact match overall, by format and by field, on held-out dates of DATES_TASK", () => {
      noLeak(() => {
        const e = evaluateDates(oracle({ spoil: everyOther(wrongYear) }), { seed: 7, n: 400 });
        assert.equal(e.n, 400);
        assert.equal(e.seed, 7);
        assert.equal(e.exactMatch, 0.5);
        assert.deepEqual(e.wrongFields, { year: 1, month: 0, day: 0 });
        assert.deepEqual(Object.keys(e.byFormat).sort(), DATE_FORMAT_NAMES.filter((f) => f !== "iso").sort());
        assert.equal(
          Object.values(e.byFormat).reduce((s, m) => s + m.n, 0),
          400,
        );
        assert.equal(e.hasAttention, true);
        assert.equal(e.stateSize, 32);
        for (const o of e.outputs) {
          const year = Number(o.target.slice(0, 4));
          assert.ok(year >= DATES_TASK.years![0] && year <= DATES_TASK.years![1], o.target);
          assert.equal(o.right, o.output === o.target && o.ended);
        }
      });
    });

    it("counts an output without END, or with an extra character, as wrong", () => {
      const e = evaluateDates(oracle({ spoil: (t) => `${t}5` }), { n: 20 });
      assert.equal(e.exactMatch, 0);
      assert.ok(e.outputs.every((o) => !o.ended && o.output.length === 11));
    });

    it("the same seed draws the same dates; another seed others", () => {
      const a = evaluateDates(oracle(), { seed: 1, n: 30 }).outputs.map((o) => o.source);
      const b = evaluateDates(oracle(), { seed: 1, n: 30 }).outputs.map((o) => o.source);
      const c = evaluateDates(oracle(), { seed: 2, n: 30 }).outputs.map((o) => o.source);
      assert.deepEqual(a, b);
      assert.notDeepEqual(a, c);
    });
  });

  describe("each mistake is recognised", () => {
    before(() => initBackend("wasm"));

    it("checkBuildModel: the wrong number of output symbols", () => {
      noLeak(() =>
        failure(
          () => checkBuildModel(() => new AttentionEncoderDecoder({ ...SIZES, targetVocabSize: DATE_SOURCE_VOCAB.size, cell: "gru" })),
          "output-size",
          /outputSize is 45, expected 14.*targetVocabSize DATE_TARGET_VOCAB\.size/s,
        ),
      );
    });

    it("checkBuildModel: step and forward computing different models", () => {
      const build: BuildModel = () => {
        const m = new AttentionEncoderDecoder({ ...SIZES, cell: "gru" });
        const step = m.step.bind(m);
        m.step = (prev, state) => {
          const out = step(prev, state);
          const logits = tf.tidy(() => tf.mul(out.logits, 2) as Tensor2D); // a different output layer when decoding
          out.logits.dispose();
          return { ...out, logits };
        };
        return m;
      };
      noLeak(() => failure(() => checkBuildModel(build), "step-forward-mismatch", /step and forward disagree: .* gives a mean loss of/));
    });

    it("checkBuildModel: logits of the wrong shape", () => {
      const build: BuildModel = () => {
        const m = new AttentionEncoderDecoder({ ...SIZES, cell: "gru" });
        const step = m.step.bind(m);
        m.step = (prev, state) => {
          const out = step(prev, state);
          const logits = tf.tidy(() => tf.transpose(out.logits) as Tensor2D);
          out.logits.dispose();
          return { ...out, logits };
        };
        return m;
      };
      noLeak(() =>
        failure(
          () => checkBuildModel(build, { B: 3 }),
          "step-shape",
          /step 1 returned logits of shape \[14, 3\], expected \[B, K\] = \[3, 14\]/,
        ),
      );
    });

    it("checkBuildModel: something that is not a model", () => {
      noLeak(() => failure(() => checkBuildModel((() => 42) as unknown as BuildModel), "not-a-model", /must be a model object/));
      const half = { outputSize: 14, begin: () => ({}), dispose: () => {} } as unknown as DatesModel;
      noLeak(() => failure(() => checkBuildModel(() => half), "not-a-model", /has no step, forward, variables/));
    });

    it("checkDatesModel: no attention", () => {
      const msg = failure(
        () => checkDatesModel(oracle({ spoil: everyOther(wrongEverything), attention: false }), { losses: LOW }),
        "no-attention",
      );
      assert.match(msg, /exact match 50\.0% on 300 held-out dates \(seed 1\), below the 90\.0% required/);
      assert.match(msg, /By format, worst first: "/);
      assert.match(msg, /have the year wrong/);
      assert.match(msg, /For example: ".*" → ".*", want ".*"/);
      assert.match(msg, /no attention: everything it writes must pass through one fixed context vector/);
    });

    it("checkDatesModel: a decoder state too small to be a useful model", () => {
      failure(
        () => checkDatesModel(oracle({ spoil: everyOther(wrongEverything), stateSize: 4 }), { losses: HIGH }),
        "too-small",
        /state holds only 4 numbers/,
      );
    });

    it("checkDatesModel: a loss that hardly fell (the learning rate)", () => {
      failure(
        () => checkDatesModel(oracle({ spoil: everyOther(wrongEverything) }), { losses: FLAT }),
        "learning-rate",
        /training loss hardly fell \(2\.60 at the first step, 2\.32 at the end\)/,
      );
    });

    it("checkDatesModel: a loss still high at the end (too few steps)", () => {
      failure(
        () => checkDatesModel(oracle({ spoil: everyOther(wrongEverything) }), { losses: HIGH }),
        "undertrained",
        /training loss was still 0\.\d+ at the end/,
      );
    });

    it("checkDatesModel: the year wrong and the rest right (trained on other years)", () => {
      const msg = failure(() => checkDatesModel(oracle({ spoil: everyOther(wrongYear) }), { losses: LOW }), "wrong-years");
      assert.match(
        msg,
        /100\.0% of the wrong outputs have the year wrong, .* although the training loss is low \(0\.005\): were you training on other years/,
      );
    });

    it("checkDatesModel: a loss that became NaN", () => {
      failure(
        () => checkDatesModel(oracle({ spoil: everyOther(wrongEverything) }), { losses: [2.6, 1.2, NaN] }),
        "non-finite-loss",
        /NaN or Infinity: clip/,
      );
    });

    it("checkDatesModel: short for no reason it can name", () => {
      noLeak(() => failure(() => checkDatesModel(oracle({ spoil: everyOther(wrongDay) })), "short", /What usually helps: attention/));
    });

    it("checkDatesModel: a stricter bar", () => {
      failure(
        () => checkDatesModel(oracle({ spoil: (t, i) => (i % 20 === 0 ? wrongDay(t) : t) }), { minExactMatch: 0.99 }),
        "short",
        /below the 99\.0% required/,
      );
    });

    it("checkDatesModel: an untrained encoder–decoder with attention writes no date right", () => {
      const model = attentionModel();
      try {
        noLeak(() => failure(() => checkDatesModel(model, { losses: [2.64] }), "short", /exact match 0\.0%/));
      } finally {
        model.dispose();
      }
    });

    it("checkTrainingTime: too slow", () => {
      failure(() => checkTrainingTime(75.3), "too-slow", /training took 75\.3 s, more than the 60 s allowed/);
      failure(() => checkTrainingTime(20, { maxSeconds: 10 }), "too-slow", /more than the 10 s allowed/);
      assert.match(
        printed(() => checkTrainingTime(12.34)),
        /^✓ checkTrainingTime: training took 12\.3 s, within the 60 s allowed$/,
      );
    });
  });

  describe("stubs, a training cell that stopped early, throws", () => {
    before(() => initBackend("wasm"));
    const stub = () => {
      throw new Error("not implemented yet");
    };

    it("the release's buildModel stub: not implemented yet", () => {
      noLeak(() => failure(() => checkBuildModel(stub), "stub", /^buildModel is not implemented yet/));
    });

    it("no model (buildModel threw), or no losses (train threw): not implemented yet", () => {
      failure(() => checkDatesModel(undefined, { losses: undefined }), "no-model", /no model yet.*Is buildModel not implemented yet/s);
      failure(
        () => checkDatesModel(oracle(), { losses: undefined }),
        "not-trained",
        /train\(model\) did not finish.*Is train not implemented yet/s,
      );
      failure(() => checkTrainingTime(NaN), "not-trained", /no training time.*not implemented yet/s);
      failure(() => checkTrainingTime(undefined), "not-trained");
    });

    it("a model whose step throws: says so, and leaves no tensors", () => {
      noLeak(() =>
        failure(() => checkDatesModel(oracle({ throwAt: 3 })), "threw", /greedy decoding of the model threw Error: the model broke/),
      );
      const build: BuildModel = () => {
        const m = new AttentionEncoderDecoder({ ...SIZES, cell: "gru" });
        m.step = () => {
          throw new Error("step broke");
        };
        return m;
      };
      noLeak(() => failure(() => checkBuildModel(build), "threw", /buildModel\(\)\.step threw Error: step broke/));
      noLeak(() =>
        failure(
          () =>
            checkBuildModel(() => {
              throw new RangeError("bad size");
            }),
          "threw",
          /^buildModel threw RangeError: bad size/,
        ),
      );
    });

    it("a model that leaks tensors: a note, not a failure", () => {
      const leaked: Tensor[] = [];
      const build: BuildModel = () => {
        const m = fixedModel();
        const dispose = m.dispose.bind(m);
        m.dispose = () => {
          dispose();
          leaked.push(tf.zeros([2])); // left behind
        };
        return m;
      };
      const before = tf.memory().numTensors;
      const out = printed(() => checkBuildModel(build));
      assert.match(out, /✓ buildModel: .*\n {2}note: 1 tensor stayed in memory after model\.dispose\(\)/);
      assert.equal(tf.memory().numTensors, before + 1);
      tf.dispose(leaked);
    });
  });

  describe("the notebook's recipe", () => {
    before(() => initBackend("wasm"));

    it("an LSTM encoder–decoder with general attention, 300 steps of 64, passes with a margin; without attention it fails", async () => {
      const before = tf.memory().numTensors;
      const run = async (model: DatesModel) =>
        (
          await fit(model, {
            data: (_epoch, rng) => dateBatches({ ...DATES_TASK, batchSize: 64, batches: 50, seed: rng.int(1e9) }),
            epochs: 6,
            optimizer: { name: "adam", learningRate: 0.01 },
            clip: { globalNorm: 1 },
            seed: 4,
          })
        ).stepLoss;
      const sizes = { ...SIZES, hiddenSize: 32, cell: "lstm" as const, seed: 4 };
      const good = new AttentionEncoderDecoder({ ...sizes, score: "general" });
      const losses = await run(good);
      const e = evaluateDates(good, { seed: 2024, n: 1000 });
      assert.ok(e.exactMatch >= 0.95, `exact match ${e.exactMatch}`);
      printed(() => checkDatesModel(good, { losses }));
      good.dispose();
      const fixed = new EncoderDecoder(sizes);
      const fixedLosses = await run(fixed);
      const msg = failure(() => checkDatesModel(fixed, { losses: fixedLosses }), "no-attention");
      assert.match(msg, /training loss was still/);
      fixed.dispose();
      assert.equal(tf.memory().numTensors, before);
    });
  });
});
