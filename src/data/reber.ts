/**
 * The (embedded) Reber grammar (Reber, 1967; used by Hochreiter & Schmidhuber, 1997, for
 * the LSTM): strings from a small finite automaton. Predicting the next symbol tests memory:
 * in the embedded grammar the second symbol (T or P) must be recalled at the end, after an
 * inner Reber string of any length.
 *
 * The Reber automaton (states 0–6; each edge is equally likely):
 * ```
 * 0 —B→ 1     1 —T→ 2   1 —P→ 3     2 —S→ 2   2 —X→ 4     3 —T→ 3   3 —V→ 5
 * 4 —X→ 3     4 —S→ 6   5 —P→ 4     5 —V→ 6   6 —E→ end
 * ```
 * e.g. "BTXSE", "BPVVE", "BTSSXXTVVE". Embedded: "B" + ("T" r "T" | "P" r "P") + "E",
 * r a Reber string, e.g. "BTBTXSETE".
 *
 * | field | shape | meaning |
 * |---|---|---|
 * | x | [B, T] int32 | the string without its last symbol ({@link REBER_VOCAB} ids, PAD after the end) |
 * | y | [B, T] int32 | the next symbol at every step |
 * | mask | [B, T] | 1 for real steps |
 */
import type { Tensor2D } from "@tensorflow/tfjs";
import type { Rng } from "../init";
import { seededBatches, type BatchStreamOptions } from "./batches";
import { Vocab } from "./vocab";
import { padSequences } from "./padding";

/** The Reber automaton: state → [symbol, next state][] (next −1 = accept). */
const EDGES: Record<number, [string, number][]> = {
  0: [["B", 1]],
  1: [
    ["T", 2],
    ["P", 3],
  ],
  2: [
    ["S", 2],
    ["X", 4],
  ],
  3: [
    ["T", 3],
    ["V", 5],
  ],
  4: [
    ["X", 3],
    ["S", 6],
  ],
  5: [
    ["P", 4],
    ["V", 6],
  ],
  6: [["E", -1]],
};

/** The symbols, with PAD: ids 1 … 7 are B T P S X V E. */
export const REBER_VOCAB = new Vocab(["B", "T", "P", "S", "X", "V", "E"], { specials: ["pad"], name: "Reber vocab" });

/** A random Reber string (a walk through the automaton, each edge equally likely). */
export function reberString(rng: Rng): string {
  let state = 0;
  let s = "";
  while (state !== -1) {
    const edges = EDGES[state];
    const [sym, next] = edges[rng.int(edges.length)];
    s += sym;
    state = next;
  }
  return s;
}

/** A random embedded Reber string: B, T or P, a Reber string, the same T or P, E. */
export function embeddedReberString(rng: Rng): string {
  const c = rng.int(2) === 0 ? "T" : "P";
  return `B${c}${reberString(rng)}${c}E`;
}

/** The symbols that may follow `prefix` in a Reber string (empty if the prefix is not one). */
export function reberNext(prefix: string): string[] {
  let state = 0;
  for (const ch of prefix) {
    if (state === -1) return [];
    const edge = EDGES[state].find(([sym]) => sym === ch);
    if (!edge) return [];
    state = edge[1];
  }
  return state === -1 ? [] : EDGES[state].map(([sym]) => sym);
}

/** Whether `s` is a (complete) Reber string. */
export function isReber(s: string): boolean {
  let state = 0;
  for (const ch of s) {
    if (state === -1) return false;
    const edge = EDGES[state].find(([sym]) => sym === ch);
    if (!edge) return false;
    state = edge[1];
  }
  return state === -1;
}

/** Whether `s` is an embedded Reber string: "BT" r "TE" or "BP" r "PE" with r a Reber string. */
export function isEmbeddedReber(s: string): boolean {
  if (s.length < 4 || s[0] !== "B" || s[s.length - 1] !== "E") return false;
  const c = s[1];
  if ((c !== "T" && c !== "P") || s[s.length - 2] !== c) return false;
  return isReber(s.slice(2, -2));
}

/** The symbols that may follow `prefix` in an embedded Reber string (empty if the prefix is not one). */
export function embeddedReberNext(prefix: string): string[] {
  if (prefix.length === 0) return ["B"];
  if (prefix[0] !== "B") return [];
  if (prefix.length === 1) return ["T", "P"];
  const c = prefix[1];
  if (c !== "T" && c !== "P") return [];
  const inner = prefix.slice(2);
  if (isReber(inner)) return [c];
  if (inner.length > 0 && isReber(inner.slice(0, -1)) && inner[inner.length - 1] === c) return ["E"];
  return reberNext(inner);
}

/** Default of {@link ReberOptions.embedded}: the embedded grammar. */
export const DEFAULT_REBER_EMBEDDED = true;
/** Default of {@link ReberOptions.maxLength}: 50 symbols. */
export const DEFAULT_REBER_MAX_LENGTH = 50;

/** How to make Reber batches. */
export interface ReberOptions {
  /** B: strings per batch. */
  batchSize: number;
  /** The embedded grammar (long-range) or the plain one. Default: {@link DEFAULT_REBER_EMBEDDED} (true). */
  embedded?: boolean;
  /** Longest string allowed; longer draws are redrawn. Default: {@link DEFAULT_REBER_MAX_LENGTH} (50). */
  maxLength?: number;
}

/** One next-symbol batch drawn from `rng`, with the strings it encodes. */
export function reberBatch(options: ReberOptions, rng: Rng): { x: Tensor2D; y: Tensor2D; mask: Tensor2D; strings: string[] } {
  const B = options.batchSize;
  if (!(Number.isInteger(B) && B >= 1)) throw new Error(`reber: batchSize must be an integer ≥ 1, got ${B}`);
  const maxLength = options.maxLength ?? DEFAULT_REBER_MAX_LENGTH;
  const plain = (options.embedded ?? DEFAULT_REBER_EMBEDDED) === false;
  if (!(maxLength >= (plain ? 5 : 9))) throw new Error(`reber: maxLength ${maxLength} is shorter than the shortest string`);
  const strings: string[] = [];
  while (strings.length < B) {
    const s = plain ? reberString(rng) : embeddedReberString(rng);
    if (s.length <= maxLength) strings.push(s);
  }
  const xs = padSequences(
    strings.map((s, i) => REBER_VOCAB.encode(s.slice(0, -1), i)),
    { where: "reberBatch" },
  );
  const ys = padSequences(
    strings.map((s, i) => REBER_VOCAB.encode(s.slice(1), i)),
    { where: "reberBatch" },
  );
  ys.mask.dispose();
  return { x: xs.ids, y: ys.ids, mask: xs.mask, strings };
}

/** `batches` Reber batches from `seed` (a generator; see {@link seededBatches}). */
export function reberBatches(
  options: ReberOptions & BatchStreamOptions,
): Generator<{ x: Tensor2D; y: Tensor2D; mask: Tensor2D; strings: string[] }> {
  return seededBatches(reberBatch, options);
}
