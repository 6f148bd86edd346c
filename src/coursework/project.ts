/**
 * Assignment 4 · the project: a date translator of the student's own design.
 *
 * The task is seqlab's date task (src/data/dates.ts) with the years widened to
 * {@link DATES_TASK} (1000 … 9999): read a date written one of seven ways, write it in ISO
 * 8601 ("Thursday, 26 November 2026" → "2026-11-26"). The student builds a model that the
 * trainer can train ({@link Trainable}: `forward`, `variables`) and that can be decoded one
 * symbol at a time ({@link StepDecoder}: `begin`, `step`), trains it, and it is judged by
 * the share of held-out dates it writes exactly right with greedy decoding:
 * ```
 * y(0) = START,   y(t) = argmax_k o_k(t)   until END       (o(t): the decoder's logits at step t)
 * exact match = (1/n) Σ_i 1[ y_i = the ISO date of source i ]   (every character and the END)
 * ```
 * Held-out means dates the training split never contains (about 10 % of calendar days, in
 * every format; src/data/dates.ts), drawn with a seed the release does not show.
 *
 * Checks, one per autograded cell:
 * - {@link checkBuildModel}: a fresh model has the interface, gives logits [B, K] with
 *   K = 14 target symbols, and decoding it step by step with the true previous symbols
 *   gives the loss `forward` computes (so that what training improves is what decoding uses);
 * - {@link checkDatesModel}: the trained model's exact match on n held-out dates is at least
 *   {@link DATES_MIN_EXACT_MATCH}; when it is not, the message says by format and by field
 *   (year, month, day) what goes wrong and what usually helps (attention, a larger state,
 *   the learning rate, more steps, the training years);
 * - {@link checkTrainingTime}: training took at most {@link DATES_MAX_TRAIN_SECONDS}.
 *
 * {@link evaluateDates} is the measurement the quality check makes, for the student's own
 * ablations and figures.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D } from "@tensorflow/tfjs";
import { Rng } from "../init";
import { scaledError } from "../grad/gradcheck";
import { DATE_TARGET_VOCAB, dateBatchOf, dateExamples, type DateExample, type DateFormat, type DateOptions } from "../data/dates";
import { greedyDecode, stateParts, type AnyDecoderState, type StepDecoder } from "../sequence/decoding";
import type { Trainable } from "../train/model";
import { CheckFailure, callStudent, fmtError, passed } from "./compare";

/**
 * The assignment's task: seqlab's date task with years 1000 … 9999, so that a year is four
 * arbitrary digits to carry over, not 19xx or 20xx. Train on it with
 * `dateBatches({ ...DATES_TASK, batchSize, batches, seed })`; the checks test on its
 * held-out dates (`split: "test"`).
 */
export const DATES_TASK: Readonly<DateOptions> = Object.freeze({ years: [1000, 9999] as [number, number] });

/** The exact match a model must reach on held-out dates (90 %). */
export const DATES_MIN_EXACT_MATCH = 0.9;

/** The most seconds `train(model)` may take (measured by the notebook; the grader's machine has 2 cores). */
export const DATES_MAX_TRAIN_SECONDS = 60;

/** Default size of the held-out set of {@link checkDatesModel} and {@link evaluateDates}. */
const DEFAULT_N = 300;
/** Default seed of the held-out set. */
const DEFAULT_SEED = 1;
/** The decoder writes 10 characters, then END: one more step than that and the output is too long. */
const MAX_OUTPUT_STEPS = 11;

/**
 * What the student's model must be: trainable by `fit` (its `forward` takes a date batch:
 * x, xMask, yIn, y, mask) and decodable by `greedyDecode` (`begin(x, xMask)`, then
 * `step(y(t−1), state)` → logits o(t) [B, K]). seqlab's `EncoderDecoder` and
 * `AttentionEncoderDecoder` are both; so can a model of the student's own be.
 */
export type DatesModel = Trainable & StepDecoder<AnyDecoderState>;

/** The student's model builder: a new, untrained model each call. */
export type BuildModel = () => DatesModel;

/** The student's training: trains `model` in place and returns the loss of every step (fit's `history.stepLoss`). */
export type TrainModel = (model: DatesModel) => Promise<number[]>;

// Measuring ---------------------------------------------------------------------------------

/** Exact match of one group of held-out dates. */
export interface ExactMatch {
  /** Dates in the group. */
  n: number;
  /** Share written exactly right (0 … 1). */
  exactMatch: number;
}

/** One held-out date and what the model wrote. */
export interface DatesOutput {
  source: string;
  format: DateFormat;
  /** The right ISO date. */
  target: string;
  /** What greedy decoding wrote (END not included; other special symbols shown as <s>, <pad>, …). */
  output: string;
  /** Whether greedy decoding emitted END within 11 steps. */
  ended: boolean;
  right: boolean;
}

/** What {@link evaluateDates} measures. */
export interface DatesEvaluation extends ExactMatch {
  /** The seed the held-out dates were drawn with. */
  seed: number;
  /** Exact match per input format (the formats that were drawn), e.g. `byFormat["MM/dd/yyyy"]`. */
  byFormat: Record<string, ExactMatch>;
  /** Among the wrong outputs: the share whose year, month, day is wrong (0 when all are right). */
  wrongFields: { year: number; month: number; day: number };
  /** Every date, in the order drawn. */
  outputs: DatesOutput[];
  /** Whether the model's steps return attention weights. */
  hasAttention: boolean;
  /** The width of the decoder's recurrent state (the largest last dimension of the state `step` changes). */
  stateSize: number;
}

/** Options of {@link evaluateDates} and {@link checkDatesModel}. */
export interface DatesEvaluationOptions {
  /** Seed of the held-out dates; default 1. */
  seed?: number;
  /** How many held-out dates; default 300. */
  n?: number;
}

function checkModelObject(where: string, model: unknown): asserts model is DatesModel {
  if (typeof model !== "object" || model === null) {
    throw new CheckFailure(
      `${where} must be a model object (e.g. new AttentionEncoderDecoder({…})), got ${model === null ? "null" : typeof model}.`,
      where,
      NaN,
      "not-a-model",
    );
  }
  const m = model as Record<string, unknown>;
  const missing = ["begin", "step", "forward", "dispose"].filter((k) => typeof m[k] !== "function");
  if (typeof m.outputSize !== "number") missing.push("outputSize");
  if (typeof m.variables !== "object" || m.variables === null) missing.push("variables");
  if (missing.length > 0) {
    throw new CheckFailure(
      `${where} has no ${missing.join(", ")}: the model must be trainable by fit (variables, forward, dispose) and ` +
        "decodable by greedyDecode (outputSize, begin, step), as seqlab's EncoderDecoder and AttentionEncoderDecoder are.",
      where,
      NaN,
      "not-a-model",
    );
  }
}

/** The largest last dimension among the tensors a step changes (h, and s for an LSTM). */
function stateSizeOf(state: AnyDecoderState): number {
  const changing = Object.values(stateParts(state).changing).filter((t): t is tf.Tensor => t instanceof tf.Tensor);
  return Math.max(0, ...changing.map((t) => t.shape[t.shape.length - 1] ?? 0));
}

/**
 * The exact match of `model` on `n` held-out dates of {@link DATES_TASK} drawn with `seed`,
 * decoded greedily (at most 11 steps: 10 characters and END), overall, by format and by
 * field. Leaves `tf.memory().numTensors` as it was (unless the model's own steps leak).
 * For instance `evaluateDates(model, { seed: 3, n: 500 }).exactMatch` is the fraction of 500
 * dates the model writes exactly right.
 */
export function evaluateDates(model: DatesModel, options: DatesEvaluationOptions = {}): DatesEvaluation {
  const seed = options.seed ?? DEFAULT_SEED;
  const n = options.n ?? DEFAULT_N;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`evaluateDates: n must be a positive integer, got ${n}`);
  checkModelObject("the model", model);
  const V = DATE_TARGET_VOCAB;
  const examples = dateExamples(n, { ...DATES_TASK, split: "test" }, new Rng(seed));
  const outputs: DatesOutput[] = [];
  let hasAttention = false;
  let stateSize = 0;
  const CHUNK = 250; // dates decoded at once
  for (let i = 0; i < n; i += CHUNK) {
    const part: DateExample[] = examples.slice(i, i + CHUNK);
    const batch = dateBatchOf(part);
    try {
      if (i === 0) stateSize = tf.tidy(() => stateSizeOf(callStudent("the model's begin", () => model.begin(batch.x, batch.xMask))));
      const decoded = callStudent("greedy decoding of the model", () =>
        greedyDecode(model, batch.x, { startToken: V.start, endToken: V.end, maxLength: MAX_OUTPUT_STEPS, sourceMask: batch.xMask }),
      );
      hasAttention ||= decoded.attention !== undefined;
      part.forEach((e, b) => {
        const output = V.decodeText(decoded.tokens[b], { keepSpecials: true });
        outputs.push({
          source: e.source,
          format: e.format,
          target: e.target,
          output,
          ended: decoded.ended[b],
          right: decoded.ended[b] && output === e.target,
        });
      });
    } finally {
      tf.dispose([batch.x, batch.xMask, batch.yIn, batch.y, batch.mask]);
    }
  }
  const share = (rows: DatesOutput[]) => ({ n: rows.length, exactMatch: rows.filter((r) => r.right).length / Math.max(1, rows.length) });
  const byFormat: Record<string, ExactMatch> = {};
  for (const f of [...new Set(outputs.map((o) => o.format))]) byFormat[f] = share(outputs.filter((o) => o.format === f));
  const wrong = outputs.filter((o) => !o.right);
  const fieldWrong = (from: number, to: number) =>
    wrong.length === 0 ? 0 : wrong.filter((o) => o.output.slice(from, to) !== o.target.slice(from, to)).length / wrong.length;
  return {
    seed,
    ...share(outputs),
    byFormat,
    wrongFields: { year: fieldWrong(0, 4), month: fieldWrong(5, 7), day: fieldWrong(8, 10) },
    outputs,
    hasAttention,
    stateSize,
  };
}

// The checks ------------------------------------------------------------------------------------

/** Options of {@link checkBuildModel}. */
export interface CheckBuildModelOptions {
  /** Seed of the dates the fresh model reads; default 0. */
  seed?: number;
  /** B: how many dates; default 3. */
  B?: number;
}

/**
 * Checks `buildModel()`: a new model that `fit` can train and `greedyDecode` can decode.
 *
 * On B held-out dates it calls `begin(x, xMask)` and then `step(y(t−1), state)` for
 * t = 1 … 11 with the TRUE previous symbols (teacher forcing), and checks that every step
 * gives logits o(t) [B, K] (K = 14 target symbols) and that the mean of
 * −log softmax(o(t))_{y(t)} over the B·11 target steps equals the loss that
 * `forward(batch, { training: true, teacherForcingRatio: 1 })` computes:
 * ```
 * L = −(1 / (B·T_out)) Σ_b Σ_t log ŷ_{y(t)}(t),   ŷ(t) = softmax(o(t))
 * ```
 * The two paths must agree, or the model that training improves (forward) is not the one
 * decoding uses (step). The model is disposed afterwards.
 */
export function checkBuildModel(buildModel: BuildModel, options: CheckBuildModelOptions = {}): void {
  const where = "buildModel";
  const seed = options.seed ?? 0;
  const B = options.B ?? 3;
  const K = DATE_TARGET_VOCAB.size;
  const before = tf.memory().numTensors;
  const model = callStudent(where, () => buildModel());
  let agreement: number;
  try {
    checkModelObject(`${where}()`, model);
    if (model.outputSize !== K) {
      throw new CheckFailure(
        `${where}(): the model's outputSize is ${model.outputSize}, expected ${K}: the decoder scores the ${K} target symbols ` +
          `(DATE_TARGET_VOCAB.size: PAD, START, END, the ten digits and "-"). Is targetVocabSize DATE_TARGET_VOCAB.size, ` +
          `and sourceVocabSize DATE_SOURCE_VOCAB.size?`,
        "outputSize",
        NaN,
        "output-size",
      );
    }
    const variables = Object.values(model.variables);
    if (variables.length === 0 || !variables.every((v) => v instanceof tf.Variable)) {
      throw new CheckFailure(
        `${where}(): model.variables must name the model's tf.Variables (fit trains those), got ${variables.length} entries.`,
        "variables",
        NaN,
        "variables",
      );
    }
    const batch = dateBatchOf(dateExamples(B, { ...DATES_TASK, split: "test" }, new Rng(seed)));
    try {
      const { stepLoss, forwardLoss } = tf.tidy(() => {
        const Tout = batch.yIn.shape[1];
        const yIn = batch.yIn.arraySync() as number[][];
        const y = batch.y.arraySync() as number[][];
        let state = callStudent(`${where}().begin`, () => model.begin(batch.x, batch.xMask));
        let nll = 0;
        for (let t = 0; t < Tout; t++) {
          const prev = tf.tensor1d(
            yIn.map((row) => row[t]),
            "int32",
          ) as Tensor1D;
          const out = callStudent(`${where}().step`, () => model.step(prev, state));
          const o = out?.logits;
          if (!(o instanceof tf.Tensor) || o.rank !== 2 || o.shape[0] !== B || o.shape[1] !== K) {
            throw new CheckFailure(
              `${where}(): step ${t + 1} returned logits of shape ${o instanceof tf.Tensor ? `[${o.shape.join(", ")}]` : typeof o}, ` +
                `expected [B, K] = [${B}, ${K}]: one score per target symbol for each of the B dates.`,
              "o(t)",
              NaN,
              "step-shape",
            );
          }
          const logp = tf.logSoftmax(o as Tensor2D).arraySync();
          for (let b = 0; b < B; b++) nll -= logp[b][y[b][t]];
          state = out.state;
        }
        const r = callStudent(`${where}().forward`, () => model.forward(batch, { training: true, teacherForcingRatio: 1 }));
        const loss = r?.loss;
        if (!(loss instanceof tf.Tensor) || loss.size !== 1) {
          throw new CheckFailure(
            `${where}(): forward(batch) must return { loss, count } with a scalar loss, got ${typeof loss}.`,
            "forward",
            NaN,
            "forward-shape",
          );
        }
        return { stepLoss: nll / (B * Tout), forwardLoss: loss.dataSync()[0] };
      });
      if (!Number.isFinite(stepLoss) || !Number.isFinite(forwardLoss)) {
        throw new CheckFailure(
          `${where}(): the untrained model's loss is not finite (step by step ${stepLoss}, forward ${forwardLoss}): look for a log of 0 or an overflowing exp.`,
          "loss",
          NaN,
          "non-finite",
        );
      }
      agreement = scaledError([stepLoss], [forwardLoss]);
      if (!(agreement <= 1e-4)) {
        throw new CheckFailure(
          `${where}(): step and forward disagree: decoding step by step with the true previous symbols gives a mean loss of ` +
            `${stepLoss.toFixed(4)}, forward gives ${forwardLoss.toFixed(4)} (error ${fmtError(agreement)}, must be below 1e-4).\n` +
            "  Training improves what forward computes; greedy decoding uses step. They must be the same model: " +
            "same inputs at each step (START, then the true previous symbol), same state, same output layer.",
          "loss",
          agreement,
          "step-forward-mismatch",
        );
      }
    } finally {
      tf.dispose([batch.x, batch.xMask, batch.yIn, batch.y, batch.mask]);
    }
  } finally {
    if (typeof (model as Partial<DatesModel> | undefined)?.dispose === "function") callStudent(`${where}().dispose`, () => model.dispose());
  }
  const left = tf.memory().numTensors - before;
  passed(
    where,
    `a fresh model reads ${B} date${B === 1 ? "" : "s"}, each step gives logits [${B}, ${K}], and stepping it with the true previous symbols gives forward's loss`,
    agreement,
  );
  if (left > 0)
    console.log(
      `  note: ${left} tensor${left === 1 ? "" : "s"} stayed in memory after model.dispose() (a leak in the model, not a failure).`,
    );
}

/** Options of {@link checkDatesModel}. */
export interface CheckDatesModelOptions extends DatesEvaluationOptions {
  /** The exact match required; default {@link DATES_MIN_EXACT_MATCH} (0.9). */
  minExactMatch?: number;
  /**
   * The training loss of every step, as `train` returned it. Used only to say what went
   * wrong. Passing the key with the value undefined means "training did not finish".
   */
  losses?: readonly number[];
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** The mean of the last tenth of the losses (at least one). */
function finalLoss(losses: readonly number[]): number {
  const k = Math.max(1, Math.floor(losses.length / 10));
  const tail = losses.slice(-k);
  return tail.reduce((a, b) => a + b, 0) / tail.length;
}

/** What is probably wrong, most specific first, as [mistake name, hint]. */
function diagnose(e: DatesEvaluation, losses: readonly number[] | undefined): [string, string][] {
  const found: [string, string][] = [];
  const fin = losses && losses.length > 0 ? finalLoss(losses) : undefined;
  if (losses && losses.some((l) => !Number.isFinite(l))) {
    found.push([
      "non-finite-loss",
      "The training loss became NaN or Infinity: clip the gradients (fit's clip: { globalNorm: 1 }) and lower the learning rate.",
    ]);
  }
  if (e.stateSize > 0 && e.stateSize < 16) {
    found.push([
      "too-small",
      `The decoder's state holds only ${e.stateSize} numbers: too small a model to carry which character comes next. ` +
        "A hiddenSize of 32 is enough for this task.",
    ]);
  }
  if (!e.hasAttention) {
    found.push([
      "no-attention",
      "Your decoder has no attention: everything it writes must pass through one fixed context vector, and the four digits " +
        "of the year, the month and the day all have to be squeezed into it. An AttentionEncoderDecoder can look back at " +
        "the characters it is copying at every step.",
    ]);
  }
  if (losses && losses.length > 1 && fin !== undefined && Number.isFinite(fin)) {
    const first = losses[0];
    if (fin > 0.5 * first) {
      found.push([
        "learning-rate",
        `The training loss hardly fell (${first.toFixed(2)} at the first step, ${fin.toFixed(2)} at the end): ` +
          "the learning rate is probably far too small (Adam: try 0.01), or the steps too few to start learning.",
      ]);
    } else if (fin > 0.05) {
      found.push([
        "undertrained",
        `The training loss was still ${fin.toFixed(3)} at the end (a model that passes gets to about 0.01): it stopped ` +
          "before it had learned the task. Train for more steps, or with a larger learning rate (Adam: 0.005 – 0.02).",
      ]);
    }
  }
  const { year, month, day } = e.wrongFields;
  if (year >= 0.8 && month < 0.3 && day < 0.3) {
    found.push([
      "wrong-years",
      `${pct(year)} of the wrong outputs have the year wrong, but month and day are mostly right` +
        (fin !== undefined && fin <= 0.05 ? `, although the training loss is low (${fin.toFixed(3)})` : "") +
        ": were you training on other years than the test's? Draw training dates with " +
        "dateBatches({ ...DATES_TASK, batchSize, batches, seed }) (years 1000 – 9999).",
    ]);
  }
  return found;
}

/**
 * Checks the trained model: greedy decoding must write at least `minExactMatch` (90 %) of
 * `n` held-out dates of {@link DATES_TASK} (drawn with `seed`) exactly right. See
 * {@link evaluateDates} for what is measured:
 * ```
 * exact match = (1/n) Σ_i 1[ greedy(x_i) = y_i ]
 * ```
 * When it falls short, the message gives the exact match by format, which fields are
 * wrong, a few wrong outputs, and what usually helps, most specific first: attention, a
 * larger state, the learning rate, more steps, the training years.
 * @param model the trained model (undefined when the training cell did not finish)
 */
export function checkDatesModel(model: DatesModel | undefined, options: CheckDatesModelOptions = {}): void {
  const where = "checkDatesModel";
  const min = options.minExactMatch ?? DATES_MIN_EXACT_MATCH;
  if (model === undefined || model === null) {
    throw new CheckFailure(
      `${where}: there is no model yet: the training cell stopped before buildModel() returned one. ` +
        "Is buildModel not implemented yet, or did it throw? Run the cells above in order, then this one.",
      "model",
      NaN,
      "no-model",
    );
  }
  if ("losses" in options && options.losses === undefined) {
    throw new CheckFailure(
      `${where}: the model was built but train(model) did not finish, so it is untrained. ` +
        "Is train not implemented yet, or did it throw? Run the training cell again, then this one.",
      "model",
      NaN,
      "not-trained",
    );
  }
  const e = evaluateDates(model, options);
  const formats = Object.entries(e.byFormat);
  const [worstFormat, worst] = formats.reduce((a, b) => (b[1].exactMatch < a[1].exactMatch ? b : a));
  if (e.exactMatch >= min) {
    console.log(
      `✓ ${where}: ${pct(e.exactMatch)} of ${e.n} held-out dates (seed ${e.seed}) written exactly right, at least ${pct(min)} required ` +
        `(hardest format "${worstFormat}": ${pct(worst.exactMatch)})`,
    );
    return;
  }
  const found = diagnose(e, options.losses);
  const byFormat = formats
    .sort((a, b) => a[1].exactMatch - b[1].exactMatch)
    .map(([f, m]) => `"${f}" ${pct(m.exactMatch)}`)
    .join(", ");
  const examples = e.outputs
    .filter((o) => !o.right)
    .slice(0, 3)
    .map((o) => `"${o.source}" → "${o.output}"${o.ended ? "" : " (no END)"}, want "${o.target}"`)
    .join("; ");
  const { year, month, day } = e.wrongFields;
  const hints = found.map(([, hint]) => `  ${hint}`).join("\n");
  throw new CheckFailure(
    `${where}: exact match ${pct(e.exactMatch)} on ${e.n} held-out dates (seed ${e.seed}), below the ${pct(min)} required.\n` +
      `  By format, worst first: ${byFormat}.\n` +
      `  Of the wrong outputs, ${pct(year)} have the year wrong, ${pct(month)} the month, ${pct(day)} the day. For example: ${examples}.\n` +
      (hints ? `${hints}\n` : "") +
      "  What usually helps: attention (AttentionEncoderDecoder), a hidden size of 32 or more, Adam with a learning rate " +
      "near 0.01, clipping (clip: { globalNorm: 1 }), and enough steps (a few hundred batches of 64).",
    "exact match",
    1 - e.exactMatch,
    found[0]?.[0] ?? "short",
  );
}

/** Options of {@link checkTrainingTime}. */
export interface CheckTrainingTimeOptions {
  /** The most seconds allowed; default {@link DATES_MAX_TRAIN_SECONDS} (60). */
  maxSeconds?: number;
}

/**
 * Checks that `train(model)` took at most `maxSeconds` (60 s), as the training cell measured it.
 * @param seconds the measured time (NaN or undefined when training did not finish)
 */
export function checkTrainingTime(seconds: number | undefined, options: CheckTrainingTimeOptions = {}): void {
  const where = "checkTrainingTime";
  const max = options.maxSeconds ?? DATES_MAX_TRAIN_SECONDS;
  if (seconds === undefined || !Number.isFinite(seconds)) {
    throw new CheckFailure(
      `${where}: there is no training time: the training cell did not finish. Is buildModel or train not implemented yet, ` +
        "or did one of them throw? Run the training cell, then this one.",
      "seconds",
      NaN,
      "not-trained",
    );
  }
  if (seconds > max) {
    throw new CheckFailure(
      `${where}: training took ${seconds.toFixed(1)} s, more than the ${max} s allowed.\n` +
        "  Fewer steps (a model with attention needs a few hundred batches of 64), a smaller hidden size, or a GRU/LSTM " +
        "rather than a deep stack; check that nothing slow (printing, plotting every step) runs inside the loop.",
      "seconds",
      seconds / max - 1,
      "too-slow",
    );
  }
  console.log(`✓ ${where}: training took ${seconds.toFixed(1)} s, within the ${max} s allowed`);
}
