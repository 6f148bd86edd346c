/**
 * Decoding: turning a model that gives p(y(t) | y(<t), x) one step at a time into an
 * output sequence.
 *
 * ```
 * greedy:    y(t) = argmax_k p(k | y(<t), x)
 * sampling:  y(t) ~ softmax(o(t) / τ)                  (τ → 0: greedy; τ = 1: the model; τ > 1: flatter)
 * beam (k):  keep the k prefixes with the highest log p(y(≤t) | x) = Σ_{u≤t} log p(y(u) | y(<u), x);
 *            a prefix that emits END is finished; return the finished sequence with the best
 *            score log p(y | x) / |y|^α  (α = lengthPenalty; α = 0: plain log-probability)
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | o(t) | [B, K] | the decoder's logits at step t ({@link StepDecoder.step}) |
 * | y(t) | [B] | the token chosen at step t; y(0) = the start token |
 * | τ | scalar | temperature |
 * | k | scalar | beam width (k = 1 is greedy) |
 *
 * Any model implementing {@link StepDecoder} can be decoded: the encoder–decoders, the
 * encoder–decoder with attention, the character language model (SequenceToSequence) and
 * a user's own. Sampling draws from seqlab's seeded {@link Rng}, so a seed repeats a sample.
 * (PyTorch and tfjs have no built-in beam search; Hugging Face's `generate` has all three,
 * with `length_penalty` playing α's role.)
 *
 * Explained in notebooks/04-encoder-decoder-and-attention.ipynb and notebooks/05-teacher-forcing-bidirectional-generation.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D } from "@tensorflow/tfjs";
import { Rng, tidy } from "../init";

/** A decoder's state: batch-first tensors (row b belongs to sequence b), so rows can be reordered. */
export type DecoderState = Record<string, Tensor>;

/** What one decoder step gives. */
export interface DecoderStep {
  /** o(t): logits over the K output symbols, [B, K]. */
  logits: Tensor2D;
  /** The state after the step. */
  state: DecoderState;
  /** α(t): attention over the source positions, [B, T_in] (attention models only). */
  attention?: Tensor2D;
}

/** A model that can be decoded one step at a time. */
export interface StepDecoder {
  /** K: the number of output symbols. */
  readonly outputSize: number;
  /** Reads the source (e.g. token ids [B, T_in]) and returns the decoder's initial state. */
  begin(source: Tensor, sourceMask?: Tensor2D): DecoderState;
  /** One step: the previous tokens y(t−1) [B] (int32) and the state → logits and the next state. */
  step(prev: Tensor1D, state: DecoderState): DecoderStep;
}

/** Options shared by every decoding. */
export interface DecodeOptions {
  /** y(0), the token fed at the first step (one for all, or one per sequence). */
  startToken: number | readonly number[];
  /** END: a sequence stops when it emits this token (it is not included in `tokens`). */
  endToken?: number;
  /** The most steps to decode. */
  maxLength: number;
  /** [B, T_in]: 1 for real source steps, 0 for padding. */
  sourceMask?: Tensor2D;
}

/** What a decoding returns (plain numbers: ready for printing and plotting). */
export interface Decoded {
  /** The tokens of each sequence, without the start token and without END. */
  tokens: number[][];
  /** Whether each sequence emitted END (rather than running into maxLength). */
  ended: boolean[];
  /** log p(tokens (+ END) | source) of each sequence. */
  logProb: number[];
  /** Attention models: α for each sequence, [T_out][T_in] (rows are output steps, END's row included). */
  attention?: number[][][];
}

/** Greedy decoding: y(t) = argmax_k o_k(t). */
export function greedyDecode(decoder: StepDecoder, source: Tensor, options: DecodeOptions): Decoded {
  return decodeBy(decoder, source, options, "greedyDecode", argmaxRows);
}

/** Options of {@link sampleDecode}. */
export interface SampleOptions extends DecodeOptions {
  /** τ > 0 (τ = 0 means greedy); default 1. */
  temperature?: number;
  /** Seed of the draws; default 0. */
  seed?: number;
}

/** Sampling with temperature: y(t) ~ softmax(o(t) / τ), drawn from a seeded stream. */
export function sampleDecode(decoder: StepDecoder, source: Tensor, options: SampleOptions): Decoded {
  const tau = options.temperature ?? 1;
  if (!(tau >= 0) || !Number.isFinite(tau)) throw new Error(`sampleDecode: temperature must be a finite number ≥ 0, got ${tau}`);
  const rng = new Rng(options.seed ?? 0);
  return decodeBy(decoder, source, options, "sampleDecode", (logits) => {
    if (tau === 0) return argmaxRows(logits);
    const [B, K] = logits.shape;
    const probs = tf.tidy(() => tf.softmax(tf.div(logits, tau))); // [B, K]
    const p = probs.dataSync() as Float32Array;
    probs.dispose();
    return Array.from({ length: B }, (_, b) => drawIndex(p.subarray(b * K, (b + 1) * K), rng));
  });
}

/** argmax_k o_k for every row of o [B, K]. */
function argmaxRows(o: Tensor2D): number[] {
  const best = tf.argMax(o, 1);
  const ids = Array.from(best.dataSync());
  best.dispose();
  return ids;
}

/** One index drawn with probabilities p (inverse CDF). */
function drawIndex(p: ArrayLike<number>, rng: Rng): number {
  const u = rng.next();
  let cdf = 0;
  let last = 0;
  for (let k = 0; k < p.length; k++) {
    if (p[k] <= 0) continue;
    last = k;
    cdf += p[k];
    if (u < cdf) return k;
  }
  return last; // u beyond the rounded-off total
}

/** The loop shared by greedy decoding and sampling (choose: logits [B, K] → a token per row). */
function decodeBy(
  decoder: StepDecoder,
  source: Tensor,
  options: DecodeOptions,
  where: string,
  choose: (logits: Tensor2D) => number[],
): Decoded {
  checkDecodeOptions(where, decoder, options);
  const B = source.shape[0];
  const starts = startTokens(where, options.startToken, B);
  const tokens: number[][] = Array.from({ length: B }, () => []);
  const ended = new Array<boolean>(B).fill(false);
  const logProb = new Array<number>(B).fill(0);
  const attention: number[][][] = Array.from({ length: B }, () => []);
  let sawAttention = false;
  let state = decoder.begin(source, options.sourceMask);
  let prev = starts;
  try {
    for (let t = 0; t < options.maxLength && ended.some((e) => !e); t++) {
      const r = tidy(where, () => {
        const out = decoder.step(tf.tensor1d(prev, "int32"), state);
        return { ...out, logp: tf.logSoftmax(out.logits) as Tensor2D };
      });
      const next = choose(r.logits);
      const logp = r.logp.arraySync();
      const alpha = r.attention?.arraySync();
      for (let b = 0; b < B; b++) {
        if (ended[b]) continue;
        logProb[b] += logp[b][next[b]];
        if (alpha) attention[b].push(alpha[b]);
        if (next[b] === options.endToken) ended[b] = true;
        else tokens[b].push(next[b]);
      }
      sawAttention ||= alpha !== undefined;
      tf.dispose([r.logits, r.logp, r.attention ?? []]);
      state = replaceState(state, r.state);
      prev = next;
    }
  } finally {
    tf.dispose(Object.values(state));
  }
  return { tokens, ended, logProb, ...(sawAttention ? { attention } : {}) };
}

/** Options of {@link beamSearch}. */
export interface BeamOptions extends DecodeOptions {
  /** k: how many prefixes to keep; default 4 (k = 1 is greedy decoding). */
  beamWidth?: number;
  /** α: rank finished sequences by log p / |y|^α (|y| counts END); default 0. */
  lengthPenalty?: number;
}

/** The result of {@link beamSearch}: the best sequence per source, plus every finished hypothesis. */
export interface BeamDecoded extends Decoded {
  /** Per source: the finished hypotheses, best first, with their scores. */
  hypotheses: { tokens: number[]; ended: boolean; logProb: number; score: number }[][];
}

/**
 * Beam search with width k (see the file's equations), one source at a time. At every
 * step each of the k prefixes is extended by every symbol; of the k·K candidates the best
 * (by log-probability) are kept until k prefixes are alive, and candidates ending in END
 * among them are set aside as finished. It stops when k sequences have finished, or, with
 * α = 0, as soon as the best finished one beats every live prefix (whose log-probability can
 * only fall), or at maxLength (live prefixes then count as finished, `ended: false`).
 */
export function beamSearch(decoder: StepDecoder, source: Tensor, options: BeamOptions): BeamDecoded {
  const where = "beamSearch";
  checkDecodeOptions(where, decoder, options);
  const k = options.beamWidth ?? 4;
  if (!Number.isInteger(k) || k < 1) throw new Error(`${where}: beamWidth must be a positive integer, got ${k}`);
  const alphaLen = options.lengthPenalty ?? 0;
  const B = source.shape[0];
  const starts = startTokens(where, options.startToken, B);
  const out: BeamDecoded = { tokens: [], ended: [], logProb: [], hypotheses: [] };
  const attentions: number[][][] = [];
  for (let b = 0; b < B; b++) {
    const best = beamOne(decoder, source, b, starts[b], options, k, alphaLen);
    out.tokens.push(best[0].tokens);
    out.ended.push(best[0].ended);
    out.logProb.push(best[0].logProb);
    out.hypotheses.push(best.map(({ tokens, ended, logProb, score }) => ({ tokens, ended, logProb, score })));
    if (best[0].attention.length > 0) attentions.push(best[0].attention);
  }
  if (attentions.length === B) out.attention = attentions;
  return out;
}

interface Hypothesis {
  tokens: number[];
  ended: boolean;
  logProb: number;
  score: number;
  attention: number[][];
}

function beamOne(
  decoder: StepDecoder,
  source: Tensor,
  b: number,
  start: number,
  options: BeamOptions,
  k: number,
  alphaLen: number,
): Hypothesis[] {
  const score = (h: { logProb: number; tokens: number[]; ended: boolean }) =>
    h.logProb / Math.pow(Math.max(1, h.tokens.length + (h.ended ? 1 : 0)), alphaLen);
  let state = tidy("beamSearch.begin", () => {
    const row = tf.slice(source, [b], [1]); // [1, …]
    const mask = options.sourceMask ? (tf.slice(options.sourceMask, [b, 0], [1, -1]) as Tensor2D) : undefined;
    return decoder.begin(row, mask);
  });
  let alive: Hypothesis[] = [{ tokens: [], ended: false, logProb: 0, score: 0, attention: [] }];
  let prev = [start];
  const finished: Hypothesis[] = [];
  try {
    for (let t = 0; t < options.maxLength && alive.length > 0; t++) {
      const r = tidy("beamSearch.step", () => {
        const o = decoder.step(tf.tensor1d(prev, "int32"), state);
        return { state: o.state, logp: tf.logSoftmax(o.logits) as Tensor2D, attention: o.attention, logits: o.logits };
      });
      const logp = r.logp.arraySync(); // [n, K]
      const alpha = r.attention?.arraySync();
      tf.dispose([r.logp, r.logits, r.attention ?? []]);
      const candidates: { from: number; token: number; logProb: number }[] = [];
      alive.forEach((h, i) => {
        // Only the k best extensions of a prefix can make the top k.
        const order = logp[i].map((v, token) => ({ v, token })).sort((a, c) => c.v - a.v).slice(0, k + 1);
        for (const { v, token } of order) candidates.push({ from: i, token, logProb: h.logProb + v });
      });
      candidates.sort((a, c) => c.logProb - a.logProb);
      const nextAlive: Hypothesis[] = [];
      const rows: number[] = [];
      for (const c of candidates) {
        if (nextAlive.length >= k || finished.length >= k) break;
        const h = alive[c.from];
        const attention = alpha ? [...h.attention, alpha[c.from]] : h.attention;
        if (c.token === options.endToken) {
          const f = { tokens: h.tokens, ended: true, logProb: c.logProb, score: 0, attention };
          f.score = score(f);
          finished.push(f);
        } else {
          nextAlive.push({ tokens: [...h.tokens, c.token], ended: false, logProb: c.logProb, score: 0, attention });
          rows.push(c.from);
        }
      }
      if (nextAlive.length === 0 || finished.length >= k) {
        tf.dispose(Object.values(r.state));
        alive = [];
        break;
      }
      const bestFinished = Math.max(-Infinity, ...finished.map((f) => f.score));
      if (alphaLen === 0 && bestFinished >= nextAlive[0].logProb) {
        tf.dispose(Object.values(r.state));
        alive = [];
        break;
      }
      const reordered = tidy("beamSearch.reorder", () => {
        const idx = tf.tensor1d(rows, "int32");
        return Object.fromEntries(Object.entries(r.state).map(([name, v]) => [name, tf.gather(v, idx)])) as DecoderState;
      });
      tf.dispose(Object.values(r.state));
      tf.dispose(Object.values(state));
      state = reordered;
      alive = nextAlive;
      prev = nextAlive.map((h) => h.tokens[h.tokens.length - 1]);
    }
  } finally {
    tf.dispose(Object.values(state));
  }
  for (const h of alive) finished.push({ ...h, score: score(h) });
  return finished.sort((a, c) => c.score - a.score);
}

/** Disposes the tensors of `old` that `next` does not carry over; returns `next`. */
function replaceState(old: DecoderState, next: DecoderState): DecoderState {
  const keep = new Set(Object.values(next));
  for (const t of Object.values(old)) if (!keep.has(t)) t.dispose();
  return next;
}

function startTokens(where: string, start: number | readonly number[], B: number): number[] {
  if (B === 0) throw new Error(`${where}: source is an empty batch: expected B ≥ 1 sequences, got B = 0`);
  if (typeof start === "number") return new Array<number>(B).fill(start);
  if (start.length !== B) throw new Error(`${where}: startToken must be one number or B = ${B} numbers, got ${start.length}`);
  return [...start];
}

function checkDecodeOptions(where: string, decoder: StepDecoder, options: DecodeOptions): void {
  if (!Number.isInteger(options.maxLength) || options.maxLength < 1) {
    throw new Error(`${where}: maxLength must be a positive integer, got ${options.maxLength}`);
  }
  const K = decoder.outputSize;
  const check = (name: string, id: number | undefined) => {
    if (id !== undefined && !(Number.isInteger(id) && id >= 0 && id < K)) {
      throw new Error(`${where}: ${name} must be a token id in [0, ${K}) (the decoder's K = ${K} symbols), got ${id}`);
    }
  };
  check("endToken", options.endToken);
  for (const s of typeof options.startToken === "number" ? [options.startToken] : options.startToken) {
    if (!Number.isInteger(s) || s < 0) throw new Error(`${where}: startToken must be a token id ≥ 0, got ${s}`);
  }
}
