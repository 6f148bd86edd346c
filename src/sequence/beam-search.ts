/**
 * Beam search (the equations are in decoding.ts):
 * ```
 * keep the k prefixes with the highest log p(y(≤t) | x) = Σ_{u≤t} log p(y(u) | y(<u), x);
 * a prefix that emits END is finished; return the finished sequence with the best
 * score log p(y | x) / |y|^α     (α = lengthPenalty; α = 0: plain log-probability)
 * ```
 * All sources are searched at once: the live prefixes of every source are the rows of one
 * batch, so a step is one decoder call (and a few dozen tfjs ops) however many sources there
 * are; each source keeps its own k prefixes, chosen among its own candidates. After a step
 * the surviving prefixes may come from any of their source's rows (two may extend the same
 * parent), so the decoder's recurrent state is reordered by parent: `tf.gather(h, parents)`.
 * The encoder's memory never changes, so it is gathered only when the rows' sources change
 * (after the first step, and when a source's search ends), not at every step.
 *
 * Explained in notebooks/10-sequence-to-sequence.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "@tensorflow/tfjs";
import { tidy } from "../init";
import {
  checkDecodeOptions,
  joinParts,
  logSoftmaxRows,
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
 * Beam search with width k (see the file's equations), each source on its own (all in one batch). At every
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
  for (const best of searchAll(decoder, source, starts, options, k, alphaLen)) {
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

/** One source's search: its live prefixes (in the order of their rows) and its finished sequences. */
interface Search {
  alive: Hypothesis[];
  finished: Hypothesis[];
}

/**
 * Every source's search at once: the live prefixes of all sources are the rows of one batch,
 * source by source, so that a step is one decoder call however many sources there are
 * (searching them one by one made a call per source and step, and tfjs's per-op cost then
 * dominated). Each source's prefixes are chosen among its own candidates only, exactly as
 * if it were searched alone. Returns each source's finished hypotheses, best first.
 */
function searchAll<S extends AnyDecoderState>(
  decoder: StepDecoder<S>,
  source: Tensor,
  starts: number[],
  options: BeamOptions,
  k: number,
  alphaLen: number,
): Hypothesis[][] {
  const score = (h: { logProb: number; tokens: number[]; ended: boolean }) =>
    h.logProb / Math.pow(Math.max(1, h.tokens.length + (h.ended ? 1 : 0)), alphaLen);
  // With α = 0 a score is a log-probability, which only falls as a prefix grows: a search
  // is over once its best finished sequence beats every live prefix, however many have
  // finished. (Stopping at k finished could return a sequence less likely than one a live
  // prefix was about to complete — even less likely than greedy decoding's.) With α > 0
  // longer sequences can overtake, so there is no such bound: stop at k finished.
  const stopAtK = alphaLen !== 0;
  const first = stateParts(tidy("beamSearch.begin", () => decoder.begin(source, options.sourceMask)));
  const memory = new BeamMemory(first.fixed, source.shape[0]);
  const searches: Search[] = starts.map(() => ({
    alive: [{ tokens: [], ended: false, logProb: 0, score: 0, attention: [] }],
    finished: [],
  }));
  let h: DecoderState = first.changing; // the recurrent state of every live prefix, one row each
  let rows = starts.map((_, b) => b); // the source of each row
  let prev = starts;
  let next: DecoderState = {}; // [rows, H] each, row i from prefix i: this step's states before reordering
  try {
    for (let t = 0; t < options.maxLength && rows.length > 0; t++) {
      const state = joinParts<S>({ changing: h, fixed: memory.rows(rows) });
      const r = tidy("beamSearch.step", () => decoder.step(tf.tensor1d(prev, "int32"), state));
      next = stateParts(r.state).changing;
      disposeStray(r.state, next, memory);
      let logp: number[][], alpha: number[][] | undefined;
      try {
        logp = logSoftmaxRows(r.logits, "beamSearch", "hypothesis"); // [rows][K]
        alpha = r.attention?.arraySync();
      } finally {
        tf.dispose([r.logits, r.attention ?? []]);
      }
      const nextRows: number[] = [];
      const parents: number[] = [];
      const nextPrev: number[] = [];
      let at = 0; // the first row of the current source
      for (const b of new Set(rows)) {
        const search = searches[b];
        const n = search.alive.length;
        const mine = (x: number[][] | undefined) => x?.slice(at, at + n);
        const { nextAlive, parents: from } = extend(
          search.alive,
          topCandidates(search.alive, mine(logp) as number[][], k),
          mine(alpha),
          options.endToken,
          k,
          search.finished,
          score,
          stopAtK,
        );
        const bestFinished = Math.max(-Infinity, ...search.finished.map((f) => f.score));
        const done = nextAlive.length === 0 || (stopAtK ? search.finished.length >= k : bestFinished >= nextAlive[0].logProb);
        search.alive = done ? [] : nextAlive;
        for (let i = 0; i < search.alive.length; i++) {
          nextRows.push(b);
          parents.push(at + from[i]);
          nextPrev.push(nextAlive[i].tokens[nextAlive[i].tokens.length - 1]);
        }
        at += n;
      }
      const reordered = parents.length > 0 ? tidy("beamSearch.reorder", () => gatherRows(next, parents)) : {};
      memory.disposeOthers([...Object.values(next), ...Object.values(h)]);
      next = {};
      h = reordered;
      rows = nextRows;
      prev = nextPrev;
    }
  } finally {
    memory.disposeOthers([...Object.values(next), ...Object.values(h)]);
    memory.dispose();
  }
  return searches.map((s) => {
    for (const p of s.alive) s.finished.push({ ...p, score: score(p) });
    return s.finished.sort((a, c) => c.score - a.score);
  });
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
 * The sources' memory laid out for the live prefixes: row i is source rows[i]'s. The
 * layout is gathered when the rows change (a source finished, or the first step's one
 * prefix per source became k) and kept while they do not, which is most steps.
 */
class BeamMemory {
  private readonly all: SourceMemory | undefined;
  private layout: { key: string; memory: SourceMemory } | undefined;
  private readonly identity: string;

  constructor(all: SourceMemory | undefined, sources: number) {
    this.all = all;
    this.identity = Array.from({ length: sources }, (_, b) => b).join(",");
  }

  /** The memory for these rows (undefined for a decoder without one). */
  rows(rows: number[]): SourceMemory | undefined {
    if (!this.all) return undefined;
    const key = rows.join(",");
    if (key === this.identity) return this.all;
    if (this.layout?.key === key) return this.layout.memory;
    this.dropLayout();
    const all = this.all;
    const memory = tf.tidy(() => {
      const idx = tf.tensor1d(rows, "int32");
      const laid: Record<string, Tensor> = {};
      for (const [name, v] of Object.entries(all)) if (v) laid[name] = tf.gather(v, idx); // [rows, …]
      return laid;
    });
    this.layout = { key, memory };
    return memory;
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
    this.layout = undefined;
  }

  private dropLayout(): void {
    if (!this.layout) return;
    const keep = new Set(present(this.all));
    tf.dispose(present(this.layout.memory).filter((t) => !keep.has(t)));
    this.layout = undefined;
  }

  private tensors(): Tensor[] {
    return [...present(this.all), ...present(this.layout?.memory)];
  }
}

function present(m: SourceMemory | undefined): Tensor[] {
  return Object.values(m ?? {}).filter((t): t is Tensor => t !== undefined);
}
