/**
 * Beam search (the equations are in decoding.ts):
 * ```
 * keep the k prefixes with the highest log p(y(≤t) | x) = Σ_{u≤t} log p(y(u) | y(<u), x);
 * a prefix that emits END is finished; return the finished sequence with the best
 * score log p(y | x) / |y|^α     (α = lengthPenalty; α = 0: plain log-probability)
 * ```
 * Each source is searched on its own, its k prefixes as the rows of a batch. After a step
 * the surviving prefixes may come from any row (two may extend the same parent), so the
 * decoder's recurrent state is reordered by parent: `tf.gather(h, parents)`. The encoder's
 * memory is the same for every prefix and never changes, so it is not gathered: it is laid
 * out once per search for each number of live prefixes (1 at the first step, then
 * usually k), by repeating the source's single row.
 *
 * Explained in notebooks/10-sequence-to-sequence.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D } from "@tensorflow/tfjs";
import { tidy } from "../init";
import {
  checkDecodeOptions,
  joinParts,
  startTokens,
  stateParts,
  stateTensors,
  type AnyDecoderState,
  type DecodeOptions,
  type Decoded,
  type DecoderState,
  type SourceMemory,
  type StepDecoder,
} from "./decoding";

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

/** Default of {@link BeamOptions.beamWidth}. */
const DEFAULT_BEAM_WIDTH = 4;

/**
 * Beam search with width k (see the file's equations), one source at a time. At every
 * step each of the k prefixes is extended by every symbol; of the k·K candidates the best
 * (by log-probability) are kept until k prefixes are alive, and candidates ending in END
 * among them are set aside as finished. With α = 0 it stops as soon as the best finished
 * sequence beats every live prefix (whose log-probability can only fall); with α > 0, when k
 * sequences have finished; in both cases at maxLength (live prefixes then count as finished,
 * `ended: false`).
 */
export function beamSearch<S extends AnyDecoderState>(decoder: StepDecoder<S>, source: Tensor, options: BeamOptions): BeamDecoded {
  const where = "beamSearch";
  checkDecodeOptions(where, decoder, options);
  const k = options.beamWidth ?? DEFAULT_BEAM_WIDTH;
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

/** A prefix (alive) or a finished sequence, with the attention of each of its steps. */
interface Hypothesis {
  tokens: number[];
  ended: boolean;
  logProb: number;
  score: number;
  attention: number[][];
}

/** A prefix extended by one token: the parent's row and the new log-probability. */
interface Candidate {
  from: number;
  token: number;
  logProb: number;
}

/** The search for source row b: its finished hypotheses, best first. */
function beamOne<S extends AnyDecoderState>(
  decoder: StepDecoder<S>,
  source: Tensor,
  b: number,
  start: number,
  options: BeamOptions,
  k: number,
  alphaLen: number,
): Hypothesis[] {
  const score = (h: { logProb: number; tokens: number[]; ended: boolean }) =>
    h.logProb / Math.pow(Math.max(1, h.tokens.length + (h.ended ? 1 : 0)), alphaLen);
  const first = stateParts(
    tidy("beamSearch.begin", () => {
      const row = tf.slice(source, [b], [1]); // [1, …]
      const mask = options.sourceMask ? (tf.slice(options.sourceMask, [b, 0], [1, -1]) as Tensor2D) : undefined;
      return decoder.begin(row, mask);
    }),
  );
  const memory = new BeamMemory(first.fixed);
  let h: DecoderState = first.changing; // the recurrent state of the live prefixes, one row each
  let alive: Hypothesis[] = [{ tokens: [], ended: false, logProb: 0, score: 0, attention: [] }];
  let prev = [start];
  const finished: Hypothesis[] = [];
  try {
    for (let t = 0; t < options.maxLength && alive.length > 0; t++) {
      const state = joinParts<S>({ changing: h, fixed: memory.rows(alive.length) });
      const r = tidy("beamSearch.step", () => {
        const o = decoder.step(tf.tensor1d(prev, "int32"), state);
        return { state: o.state, logp: tf.logSoftmax(o.logits) as Tensor2D, attention: o.attention, logits: o.logits };
      });
      const logp = r.logp.arraySync(); // [n, K]
      const alpha = r.attention?.arraySync();
      tf.dispose([r.logp, r.logits, r.attention ?? []]);
      const next = stateParts(r.state).changing; // [n, H] each, row i from prefix i
      disposeStray(r.state, next, memory);
      // With α = 0 a score is a log-probability, which only falls as a prefix grows: the search
      // is over once the best finished sequence beats every live prefix, however many have
      // finished. (Stopping at k finished could return a sequence less likely than one a live
      // prefix was about to complete — even less likely than greedy decoding's.) With α > 0
      // longer sequences can overtake, so there is no such bound: stop at k finished.
      const stopAtK = alphaLen !== 0;
      const { nextAlive, parents } = extend(alive, topCandidates(alive, logp, k), alpha, options.endToken, k, finished, score, stopAtK);
      const bestFinished = Math.max(-Infinity, ...finished.map((f) => f.score));
      const done = nextAlive.length === 0 || (stopAtK ? finished.length >= k : bestFinished >= nextAlive[0].logProb);
      if (done) {
        memory.disposeOthers(Object.values(next));
        alive = [];
        break;
      }
      const reordered = tidy("beamSearch.reorder", () => gatherRows(next, parents));
      memory.disposeOthers([...Object.values(next), ...Object.values(h)]);
      h = reordered;
      alive = nextAlive;
      prev = nextAlive.map((p) => p.tokens[p.tokens.length - 1]);
    }
  } finally {
    memory.disposeOthers(Object.values(h));
    memory.dispose();
  }
  for (const p of alive) finished.push({ ...p, score: score(p) });
  return finished.sort((a, c) => c.score - a.score);
}

/** Every prefix's k + 1 best extensions (only those can make the top k), best first over all prefixes. */
function topCandidates(alive: Hypothesis[], logp: number[][], k: number): Candidate[] {
  const candidates: Candidate[] = [];
  alive.forEach((h, i) => {
    const order = logp[i]
      .map((v, token) => ({ v, token }))
      .sort((a, c) => c.v - a.v)
      .slice(0, k + 1);
    for (const { v, token } of order) candidates.push({ from: i, token, logProb: h.logProb + v });
  });
  return candidates.sort((a, c) => c.logProb - a.logProb);
}

/**
 * Takes the best candidates until k prefixes are alive (or, with `stopAtK`, k have finished): one ending in
 * END is finished (pushed onto `finished`), any other is a live prefix whose parent row is
 * recorded in `parents`.
 */
function extend(
  alive: Hypothesis[],
  candidates: Candidate[],
  alpha: number[][] | undefined,
  endToken: number | undefined,
  k: number,
  finished: Hypothesis[],
  score: (h: Hypothesis) => number,
  stopAtK: boolean,
): { nextAlive: Hypothesis[]; parents: number[] } {
  const nextAlive: Hypothesis[] = [];
  const parents: number[] = [];
  for (const c of candidates) {
    if (nextAlive.length >= k || (stopAtK && finished.length >= k)) break;
    const h = alive[c.from];
    const attention = alpha ? [...h.attention, alpha[c.from]] : h.attention;
    if (c.token === endToken) {
      const f = { tokens: h.tokens, ended: true, logProb: c.logProb, score: 0, attention };
      f.score = score(f);
      finished.push(f);
    } else {
      nextAlive.push({ tokens: [...h.tokens, c.token], ended: false, logProb: c.logProb, score: 0, attention });
      parents.push(c.from);
    }
  }
  return { nextAlive, parents };
}

/** Disposes whatever a step's state holds besides the recurrent state and the memory it was given. */
function disposeStray(state: AnyDecoderState, next: DecoderState, memory: BeamMemory): void {
  const keep = new Set(Object.values(next));
  memory.disposeOthers(stateTensors(state).filter((t) => !keep.has(t)));
}

/** Row i of the result is row parents[i] of each tensor. */
function gatherRows(state: DecoderState, parents: number[]): DecoderState {
  const idx = tf.tensor1d(parents, "int32");
  return Object.fromEntries(Object.entries(state).map(([name, v]) => [name, tf.gather(v, idx)]));
}

/**
 * One source's memory (batch of 1) laid out for n live prefixes: its row repeated n times,
 * made the first time n is asked for and kept until the search ends.
 */
class BeamMemory {
  private readonly byRows = new Map<number, SourceMemory>();

  constructor(one: SourceMemory | undefined) {
    if (one) this.byRows.set(1, one);
  }

  /** The memory for n rows (undefined for a decoder without one). */
  rows(n: number): SourceMemory | undefined {
    const one = this.byRows.get(1);
    if (!one) return undefined;
    let m = this.byRows.get(n);
    if (!m) {
      m = tf.tidy(() => {
        const repeated: Record<string, Tensor> = {};
        for (const [name, v] of Object.entries(one)) if (v) repeated[name] = tf.tile(v, [n, ...v.shape.slice(1).map(() => 1)]); // [n, …]
        return repeated;
      });
      this.byRows.set(n, m);
    }
    return m;
  }

  /**
   * Disposes those of `tensors` that are not the memory's. (A decoder's first state may
   * share a tensor with its memory: an encoder–decoder's h(0) is also its context c.)
   */
  disposeOthers(tensors: Tensor[]): void {
    const mine = new Set(this.tensors());
    for (const t of tensors) if (!mine.has(t)) t.dispose();
  }

  dispose(): void {
    tf.dispose(this.tensors());
    this.byRows.clear();
  }

  private tensors(): Tensor[] {
    return [...this.byRows.values()].flatMap((m) => Object.values(m).filter((t): t is Tensor => t !== undefined));
  }
}
