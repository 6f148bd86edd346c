/**
 * Character-level language modelling on a small text that ships with seqlab
 * (src/data/corpus.txt, "The Listening Station", ~5.5 KB written for the project, free to use).
 *
 * The model reads the text one character at a time and predicts the next:
 * ```
 * x(t) = c(t),   y(t) = c(t + 1),   L = −(1/N) Σ_t log ŷ_{c(t+1)}(t),   perplexity = exp(L)
 * ```
 * For truncated BPTT the text is cut into B parallel streams (row b is the b-th slice of
 * the text); batch k holds characters kT … (k+1)T−1 of every stream, so row b of batch k+1
 * continues row b of batch k and the state can be carried across batches
 * (`fit(…, { tbptt: { chunk, acrossBatches: true } })`, batches not shuffled).
 *
 * | field | shape | meaning |
 * |---|---|---|
 * | x | [B, T] int32 | character ids ({@link corpusVocab}) |
 * | y | [B, T] int32 | the next character's id |
 *
 * A model that knows only character frequencies has perplexity ≈ exp(entropy), returned by
 * {@link unigramPerplexity}: a baseline to beat.
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D } from "@tensorflow/tfjs";
import { Vocab } from "./vocab";

const CORPUS = "corpus.txt";

/**
 * The bundled text. Found next to this file when run from src/ (tsx), and in
 * ../../src/data/ when run from dist/ (the package ships src/, and tsc does not copy .txt).
 */
export function loadCorpus(): string {
  const candidates = [path.join(__dirname, CORPUS), path.join(__dirname, "..", "..", "src", "data", CORPUS)];
  for (const file of candidates) if (fs.existsSync(file)) return fs.readFileSync(file, "utf8");
  throw new Error(`loadCorpus: ${CORPUS} not found (looked in ${candidates.join(", ")}); is the package's src/data folder installed?`);
}

/** A character vocabulary of `text` (no specials: every id is a character). */
export function corpusVocab(text: string = loadCorpus()): Vocab {
  return Vocab.ofChars(text, { specials: [], name: "corpus vocab" });
}

/** Default fraction of the text {@link splitText} keeps for validation: the last 10 %. */
export const DEFAULT_VALIDATION_FRACTION = 0.1;

/**
 * The first (1 − valFraction) of the text for training, the rest for validation (cut at a
 * line break); valFraction defaults to {@link DEFAULT_VALIDATION_FRACTION} (0.1).
 */
export function splitText(text: string, valFraction = DEFAULT_VALIDATION_FRACTION): { train: string; validation: string } {
  if (!(valFraction > 0 && valFraction < 1)) throw new Error(`splitText: valFraction must be in (0, 1), got ${valFraction}`);
  let cut = Math.floor(text.length * (1 - valFraction));
  const nl = text.lastIndexOf("\n", cut);
  if (nl > text.length / 2) cut = nl + 1;
  return { train: text.slice(0, cut), validation: text.slice(cut) };
}

/** How to cut a text into stream batches. */
export interface TextStreamOptions {
  /** B: parallel streams. */
  batchSize: number;
  /** T: characters per batch and stream. */
  seqLength: number;
  /** The vocabulary. Default: {@link corpusVocab} of the text. */
  vocab?: Vocab;
}

/**
 * Consecutive batches of B parallel streams over `text` (a generator; see the file
 * comment). The tail that does not fill a whole batch is dropped.
 * @throws if the text is too short for one batch, or has a character outside the vocabulary
 */
export function* textStreams(text: string, options: TextStreamOptions): Generator<{ x: Tensor2D; y: Tensor2D }> {
  const { batchSize: B, seqLength: T } = options;
  if (!(Number.isInteger(B) && B >= 1)) throw new Error(`textStreams: batchSize must be an integer ≥ 1, got ${B}`);
  if (!(Number.isInteger(T) && T >= 1)) throw new Error(`textStreams: seqLength must be an integer ≥ 1, got ${T}`);
  const vocab = options.vocab ?? corpusVocab(text);
  const ids = vocab.encode(text);
  const streamLength = Math.floor((ids.length - 1) / B); // each stream needs one more id for y
  const batches = Math.floor(streamLength / T);
  if (batches < 1)
    throw new Error(`textStreams: a text of ${text.length} characters is too short for one batch of ${B} streams × ${T + 1} characters`);
  for (let k = 0; k < batches; k++) {
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const start = b * streamLength + k * T;
      for (let t = 0; t < T; t++) {
        x[b * T + t] = ids[start + t];
        y[b * T + t] = ids[start + t + 1];
      }
    }
    yield { x: tf.tensor2d(x, [B, T], "int32"), y: tf.tensor2d(y, [B, T], "int32") };
  }
}

/** exp(entropy of the character frequencies of `train`, measured on `evalText`): the perplexity of a unigram model. */
export function unigramPerplexity(train: string, evalText: string = train): number {
  const counts = new Map<string, number>();
  const chars = Array.from(train);
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1);
  let nll = 0;
  const evalChars = Array.from(evalText);
  for (const c of evalChars) nll -= Math.log(((counts.get(c) ?? 0) + 1) / (chars.length + counts.size + 1)); // add-one smoothing
  return Math.exp(nll / evalChars.length);
}
