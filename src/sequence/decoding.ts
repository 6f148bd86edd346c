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
 * A decoder's state is either a {@link DecoderState} (every tensor changes at every step) or
 * a {@link MemoryState} (the recurrent state apart from the encoder's memory, which no step
 * changes: beam search, in beam-search.ts, reorders only the former).
 *
 * Any model implementing {@link StepDecoder} can be decoded: the encoder–decoders, the
 * encoder–decoder with attention, the character language model (SequenceToSequence) and
 * a user's own. Sampling draws from seqlab's seeded {@link Rng}, so a seed repeats a sample.
 * (PyTorch and tfjs have no built-in beam search; Hugging Face's `generate` has all three,
 * with `length_penalty` playing α's role.)
 *
 * Explained in notebooks/10-sequence-to-sequence.ipynb and notebooks/12-language-models-and-generation.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D } from "@tensorflow/tfjs";
import { Rng, tidy } from "../init";

// Beam search has its own file; it is re-exported here with the other decodings.
export { beamSearch, type BeamOptions, type BeamDecoded } from "./beam-search";

/**
 * The state of a decoder in which every tensor changes at every step (e.g. a language
 * model's h of each layer): batch-first tensors by name, row b belonging to sequence b.
 */
export type DecoderState = Record<string, Tensor>;

/** What a source leaves for a decoder: batch-first tensors by name (an entry may be absent). */
export type SourceMemory = Record<string, Tensor | undefined>;

/**
 * The state of a decoder that reads a source (the encoder–decoders), in two parts, both
 * batch-first (row b belongs to sequence b):
 * - `decoder`, the recurrent state h(t) (and s(t) for an LSTM): each step makes a new one;
 * - `memory`, what the encoder left (its outputs h_enc, its summary, the source mask): fixed
 *   for the whole decoding, so a step returns the very object it was given.
 *
 * Beam search reorders the rows of `decoder` at every step but lays `memory` out only once
 * per search (see beam-search.ts).
 */
export interface MemoryState<D extends DecoderState = DecoderState, M extends SourceMemory = SourceMemory> {
  decoder: D;
  memory: M;
}

/** Either kind of state. */
export type AnyDecoderState = DecoderState | MemoryState;

/** What one decoder step gives. */
export interface DecoderStep<S extends AnyDecoderState = DecoderState> {
  /** o(t): logits over the K output symbols, [B, K]. */
  logits: Tensor2D;
  /** The state after the step. */
  state: S;
  /** α(t): attention over the source positions, [B, T_in] (attention models only). */
  attention?: Tensor2D;
}

/** A model that can be decoded one step at a time; S is its state ({@link DecoderState} or {@link MemoryState}). */
export interface StepDecoder<S extends AnyDecoderState = DecoderState> {
  /** K: the number of output symbols. */
  readonly outputSize: number;
  /** Reads the source (e.g. token ids [B, T_in]) and returns the decoder's initial state. */
  begin(source: Tensor, sourceMask?: Tensor2D): S;
  /** One step: the previous tokens y(t−1) [B] (int32) and the state → logits and the next state. */
  step(prev: Tensor1D, state: S): DecoderStep<S>;
}

/** A state's two parts: what steps change, and what they leave as it is (a {@link MemoryState}'s memory; none for a {@link DecoderState}). */
export interface StateParts {
  changing: DecoderState;
  fixed?: SourceMemory;
}

/** Splits a state into its parts. */
export function stateParts(state: AnyDecoderState): StateParts {
  return isMemoryState(state) ? { changing: state.decoder, fixed: state.memory } : { changing: state };
}

/** Puts parts back together into a state of the decoder's kind. */
export function joinParts<S extends AnyDecoderState>(parts: StateParts): S {
  return (parts.fixed ? { decoder: parts.changing, memory: parts.fixed } : parts.changing) as S;
}

/** Every tensor of a state. */
export function stateTensors(state: AnyDecoderState): Tensor[] {
  const { changing, fixed } = stateParts(state);
  return [...Object.values(changing), ...Object.values(fixed ?? {}).filter((t): t is Tensor => t !== undefined)];
}

/** A {@link MemoryState} has two plain objects, `decoder` and `memory`; a {@link DecoderState} holds tensors only. */
function isMemoryState(state: AnyDecoderState): state is MemoryState {
  const { decoder, memory } = state as Partial<Record<string, unknown>>;
  return isPlainObject(decoder) && isPlainObject(memory);
}

function isPlainObject(v: unknown): boolean {
  return typeof v === "object" && v !== null && !(v instanceof tf.Tensor);
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
export function greedyDecode<S extends AnyDecoderState>(decoder: StepDecoder<S>, source: Tensor, options: DecodeOptions): Decoded {
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
export function sampleDecode<S extends AnyDecoderState>(decoder: StepDecoder<S>, source: Tensor, options: SampleOptions): Decoded {
  const tau = options.temperature ?? 1;
  if (!(tau >= 0) || !Number.isFinite(tau)) throw new Error(`sampleDecode: temperature must be a finite number ≥ 0, got ${tau}`);
  const rng = new Rng(options.seed ?? 0);
  return decodeBy(decoder, source, options, "sampleDecode", (logp) => {
    if (tau === 0) return argmaxRows(logp);
    // softmax(o / τ) = softmax(log p / τ): log p differs from o by one constant per row,
    // and its largest entry is the row's max, which the shift takes out before exp
    return logp.map((row) => {
      const top = row[argmax(row)];
      const w = row.map((v) => Math.exp((v - top) / tau));
      const total = w.reduce((x, y) => x + y, 0); // ≥ 1: the top token's weight is 1
      return drawIndex(
        w.map((v) => v / total),
        rng,
      );
    });
  });
}

/** argmax_k of values[start + k] for start ≤ start + k < end (the first of equal maxima, as tf.argMax). */
export function argmax(values: ArrayLike<number>, start = 0, end = values.length): number {
  let best = start;
  for (let i = start + 1; i < end; i++) if (values[i] > values[best]) best = i;
  return best - start;
}

/** argmax_k of every row. */
function argmaxRows(rows: readonly (readonly number[])[]): number[] {
  return rows.map((row) => argmax(row));
}

/**
 * log softmax o of every row of the logits o [B, K], read from the tensor once:
 * log p_k = o_k − max o − log Σ_j exp(o_j − max o), in float64 from the float32 logits.
 * A decoding step needs these numbers in JavaScript anyway; computed there, they cost no
 * tfjs kernels (tf.logSoftmax and tf.argMax dispatched seven a step).
 */
export function logSoftmaxRows(logits: Tensor2D, where: string, rowName = "sequence"): number[][] {
  const [B, K] = logits.shape;
  const o = logits.dataSync();
  const rows: number[][] = new Array(B);
  for (let b = 0; b < B; b++) {
    let top = -Infinity;
    for (let k = 0; k < K; k++) {
      const v = o[b * K + k];
      if (Number.isNaN(v) || v === Infinity)
        throw new Error(`${where}: the decoder's logits for ${rowName} ${b} are not finite numbers: token ${k} has ${v}`);
      top = Math.max(top, v);
    }
    if (top === -Infinity) throw new Error(`${where}: the decoder's logits for ${rowName} ${b} are not finite numbers: all are -Infinity`);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(o[b * K + k] - top);
    const logSum = Math.log(sum);
    const row = new Array<number>(K);
    for (let k = 0; k < K; k++) row[k] = o[b * K + k] - top - logSum; // (o − max) first: exact where |o| is huge
    rows[b] = row;
  }
  return rows;
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

/** The loop shared by greedy decoding and sampling (choose: log p [B][K] → a token per row). */
function decodeBy<S extends AnyDecoderState>(
  decoder: StepDecoder<S>,
  source: Tensor,
  options: DecodeOptions,
  where: string,
  choose: (logp: number[][]) => number[],
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
      const r = tidy(where, () => decoder.step(tf.tensor1d(prev, "int32"), state));
      state = replaceState(state, r.state);
      let logp: number[][], alpha: number[][] | undefined;
      try {
        logp = logSoftmaxRows(r.logits, where);
        alpha = r.attention?.arraySync();
      } finally {
        tf.dispose([r.logits, r.attention ?? []]);
      }
      const next = choose(logp);
      for (let b = 0; b < B; b++) {
        if (ended[b]) continue;
        logProb[b] += logp[b][next[b]];
        if (alpha) attention[b].push(alpha[b]);
        if (next[b] === options.endToken) ended[b] = true;
        else tokens[b].push(next[b]);
      }
      sawAttention ||= alpha !== undefined;
      prev = next;
    }
  } finally {
    tf.dispose(stateTensors(state));
  }
  return { tokens, ended, logProb, ...(sawAttention ? { attention } : {}) };
}

/** Disposes the tensors of `old` that `next` does not carry over; returns `next`. */
function replaceState<S extends AnyDecoderState>(old: S, next: S): S {
  const keep = new Set(stateTensors(next));
  for (const t of stateTensors(old)) if (!keep.has(t)) t.dispose();
  return next;
}

/** y(0) for each of the B sequences. */
export function startTokens(where: string, start: number | readonly number[], B: number): number[] {
  if (B === 0) throw new Error(`${where}: source is an empty batch: expected B ≥ 1 sequences, got B = 0`);
  if (typeof start === "number") return new Array<number>(B).fill(start);
  if (start.length !== B) throw new Error(`${where}: startToken must be one number or B = ${B} numbers, got ${start.length}`);
  return [...start];
}

/** Checks maxLength and the start and END tokens against the decoder's K symbols. */
export function checkDecodeOptions(where: string, decoder: { readonly outputSize: number }, options: DecodeOptions): void {
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
