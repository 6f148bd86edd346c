/**
 * Assignment 3 · Attention, and decoding: greedy and beam search
 * (coursework/assignments/03-attention-and-decoding.ipynb) — the checks of its questions.
 *
 * ```
 * e_j = score(q, k_j)                          j = 1 … T_in
 *   additive:   e_j = wᵀ tanh(W_q q + W_k k_j)
 *   dot:        e_j = qᵀ k_j
 *   general:    e_j = qᵀ W_a k_j
 *   scaled dot: e_j = qᵀ k_j / √H
 * α_j = m_j exp(e_j) / Σ_{j'} m_{j'} exp(e_{j'})     (masked positions, m_j = 0: α_j = 0 exactly)
 * c   = Σ_j α_j v_j
 *
 * greedy:   y(t) = argmax_y log p(y | y(<t)), until END or maxLength tokens
 * beam (k): keep the k likeliest live prefixes by log p(y(≤t)) = Σ_{u≤t} log p(y(u) | y(<u));
 *           stop when the best finished sequence is at least as likely as every live prefix
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | q | [B, H] | the query: the decoder's state h(t) |
 * | k_j, v_j | [B, T_in, H_k] | keys and values: the encoder's states h_enc(j) (here k = v) |
 * | W_q, W_k, w | [A, H], [A, H_k], [A] | additive attention's parameters (A: attention size) |
 * | W_a | [H, H_k] | general attention's matrix |
 * | e, α, m | [B, T_in] | scores, weights, source mask (1 = real position, 0 = padding) |
 * | c | [B, H_k] | the context |
 * | log p | [K] | the decoder's log-probabilities of the K output tokens after a prefix |
 *
 * The attention checks compare the student's tensors with a float64 computation of the same
 * equations (a few lines of plain arithmetic below, on the very float32 numbers the student's
 * function receives). The decoding checks need no tensors and no training: each decoder is a
 * table, a plain function from a prefix [START, y(1), …, y(t−1)] to log-probabilities, and
 * the right answers come from a float64 greedy decoder, a float64 beam search written as
 * seqlab's (src/sequence/beam-search.ts, length penalty 0) and an exhaustive search over
 * every sequence. The library's own versions of all eight functions are in
 * src/sequence/attention.ts, decoding.ts and beam-search.ts.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import { Rng } from "../init";
import { CheckFailure, callStudent, expectClose, fmtError, numbersOf, passed, type Mistake } from "./compare";

// ---------------------------------------------------------------------------------------------
// The students' functions
// ---------------------------------------------------------------------------------------------

/** Additive attention's parameters: W_q [A, H], W_k [A, H_k], w [A]. */
export interface AdditiveParams {
  /** W_q: query → attention space, [A, H]. */
  Wq: Tensor2D;
  /** W_k: key → attention space, [A, H_k]. */
  Wk: Tensor2D;
  /** w: attention space → score, [A]. */
  w: Tensor1D;
}

/** Additive (Bahdanau) scores e_j = wᵀ tanh(W_q q + W_k k_j): q [B, H], k [B, T_in, H_k] → e [B, T_in]. */
export type AdditiveScore = (q: Tensor2D, k: Tensor3D, p: AdditiveParams) => Tensor2D;
/** Dot (Luong) scores e_j = qᵀ k_j: q [B, H], k [B, T_in, H] → e [B, T_in]. */
export type DotScore = (q: Tensor2D, k: Tensor3D) => Tensor2D;
/** General (Luong) scores e_j = qᵀ W_a k_j: q [B, H], k [B, T_in, H_k], W_a [H, H_k] → e [B, T_in]. */
export type GeneralScore = (q: Tensor2D, k: Tensor3D, Wa: Tensor2D) => Tensor2D;
/** Scaled dot (Vaswani) scores e_j = qᵀ k_j / √H: q [B, H], k [B, T_in, H] → e [B, T_in]. */
export type ScaledDotScore = (q: Tensor2D, k: Tensor3D) => Tensor2D;
/** α = softmax over the source positions with masked positions at exactly 0: e [B, T_in], m [B, T_in] → α [B, T_in]. */
export type MaskedSoftmax = (e: Tensor2D, mask: Tensor2D) => Tensor2D;
/** c = Σ_j α_j v_j: α [B, T_in], v [B, T_in, H_k] → c [B, H_k]. */
export type AttentionContext = (alpha: Tensor2D, v: Tensor3D) => Tensor2D;

/**
 * A decoder, one step at a time: the prefix [START, y(1), …, y(t−1)] → log p(y(t) = y | prefix)
 * for each of the K output tokens y = 0 … K−1.
 */
export type StepLogProbs = (prefix: readonly number[]) => ArrayLike<number>;
/**
 * Greedy decoding: the tokens y(1), y(2), … chosen one at a time (START not included; END
 * included as the last token if it was chosen), at most maxLength of them.
 */
export type GreedyDecode = (step: StepLogProbs, start: number, end: number, maxLength: number) => number[];
/** A decoded sequence: its tokens (END last if it finished) and log p(tokens) = Σ_t log p(y(t) | y(<t)). */
export interface BeamHypothesis {
  tokens: number[];
  logProb: number;
}
/** Beam search of width k: the best sequence it finds (at most maxLength tokens, END included) and its log-probability. */
export type BeamSearch = (step: StepLogProbs, k: number, start: number, end: number, maxLength: number) => BeamHypothesis;

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/** Sizes and seed of the attention checks. */
export interface AttentionCheckOptions {
  /** Seed of the inputs; default 3. */
  seed?: number;
  /** B: batch size; default 3. */
  B?: number;
  /** T: the source length T_in; default 6. */
  T?: number;
  /** H: the query's size (and the keys' for dot and scaled dot); default 5. */
  H?: number;
  /** H_k: the keys' size for the additive and general scores and the values' for the context; default H. */
  Hk?: number;
  /** A: additive attention's hidden size; default 4. */
  A?: number;
  /**
   * How large the inputs are: the standard deviation of q and k (scores), or of the scores e
   * (maskedSoftmax); default 1 (2 for maskedSoftmax). Large values saturate tanh and overflow exp.
   */
  scale?: number;
}

/** Sizes and seed of the decoding checks. */
export interface DecodeCheckOptions {
  /** Seed of the table decoders; default 3. */
  seed?: number;
  /** K: the number of output tokens (END is one of them); default 5. */
  K?: number;
  /** The most tokens a sequence may have (END included); default 6. */
  maxLength?: number;
  /** Beam width k of the random decoders (beamSearch only); default 3. */
  k?: number;
}

const DEFAULTS = { seed: 3, B: 3, T: 6, H: 5, A: 4, scale: 1 };
const DECODE_DEFAULTS = { seed: 3, K: 5, maxLength: 6, k: 3 };

// ---------------------------------------------------------------------------------------------
// Plumbing: seeded inputs, tensors made and disposed, the student's call
// ---------------------------------------------------------------------------------------------

/** n normal numbers times scale, rounded to float32 (the reference computes with what the student gets). */
function normals(rng: Rng, n: number, scale: number): Float64Array {
  return Float64Array.from({ length: n }, () => Math.fround(scale * rng.normal()));
}

function resolve(where: string, options: AttentionCheckOptions) {
  const o = { ...DEFAULTS, ...options };
  const Hk = options.Hk ?? o.H;
  for (const [name, v] of Object.entries({ B: o.B, T: o.T, H: o.H, Hk, A: o.A })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${where}: option ${name} must be a positive integer, got ${v}`);
  }
  return { ...o, Hk };
}

/**
 * Calls the student's function with tensors made by the check, inside a tidy: whatever it
 * leaves behind besides its result is counted (a note is printed) and disposed, also when it
 * throws. The caller disposes the result.
 */
function callTensors<R>(where: string, inputs: readonly Tensor[], run: () => R): R {
  let leaked = 0;
  const result = tf.tidy(() => {
    const before = tf.memory().numTensors;
    const r = callStudent(where, run);
    const own = r instanceof tf.Tensor && !inputs.includes(r) ? 1 : 0;
    leaked = tf.memory().numTensors - before - own;
    return r as unknown as tf.TensorContainer;
  }) as unknown as R;
  if (leaked > 0) {
    console.log(
      `note: ${where} left ${leaked} tensor${leaked === 1 ? "" : "s"} undisposed besides its result ` +
        `(not an error here; wrap the body in tf.tidy to free them).`,
    );
  }
  return result;
}

/** Makes the inputs, calls `body`, and disposes every tensor whatever happens. */
function withTensors<T>(make: () => Tensor[], body: (inputs: Tensor[]) => T): T {
  const inputs: Tensor[] = [];
  try {
    inputs.push(...make());
    return body(inputs);
  } finally {
    tf.dispose(inputs);
  }
}

const sizes = (o: Record<string, number>) =>
  Object.entries(o)
    .map(([k, v]) => `${k} = ${v}`)
    .join(", ");

// ---------------------------------------------------------------------------------------------
// Scores: float64 references
// ---------------------------------------------------------------------------------------------

/** M [R, C] (row-major) times x [C] → [R]. */
function matVec(M: Float64Array, x: Float64Array, R: number, C: number, xOffset = 0): Float64Array {
  const y = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += M[r * C + c] * x[xOffset + c];
    y[r] = s;
  }
  return y;
}

interface ScoreInputs {
  B: number;
  T: number;
  H: number;
  Hk: number;
  q: Float64Array; // [B, H]
  k: Float64Array; // [B, T, Hk]
}

/** Σ_h a[b, h] k[b, j, h] for every b, j: a [B, Hk] → [B, T]. */
function dotWith(a: Float64Array, s: ScoreInputs): Float64Array {
  const e = new Float64Array(s.B * s.T);
  for (let b = 0; b < s.B; b++)
    for (let j = 0; j < s.T; j++) {
      let sum = 0;
      for (let h = 0; h < s.Hk; h++) sum += a[b * s.Hk + h] * s.k[(b * s.T + j) * s.Hk + h];
      e[b * s.T + j] = sum;
    }
  return e;
}

/** qᵀ W_a for every row: q [B, H], W_a [H, Hk] → [B, Hk] (transposed: W_a read as [Hk, H]ᵀ). */
function qTimes(s: ScoreInputs, Wa: Float64Array, transposed = false): Float64Array {
  const out = new Float64Array(s.B * s.Hk);
  for (let b = 0; b < s.B; b++)
    for (let c = 0; c < s.Hk; c++) {
      let sum = 0;
      for (let h = 0; h < s.H; h++) sum += s.q[b * s.H + h] * (transposed ? Wa[c * s.H + h] : Wa[h * s.Hk + c]);
      out[b * s.Hk + c] = sum;
    }
  return out;
}

/** wᵀ f(W_q q_b, W_k k_bj) for every b, j, with f chosen by the variant. */
function additiveRef(
  s: ScoreInputs,
  Wq: Float64Array,
  Wk: Float64Array,
  w: Float64Array,
  A: number,
  variant: "right" | "no-tanh" | "tanh-separately" | "q-k-swapped" = "right",
): Float64Array {
  const e = new Float64Array(s.B * s.T);
  for (let b = 0; b < s.B; b++) {
    const qa = variant === "q-k-swapped" ? matVec(Wk, s.q, A, s.Hk, b * s.H) : matVec(Wq, s.q, A, s.H, b * s.H); // W_q q  [A]
    for (let j = 0; j < s.T; j++) {
      const off = (b * s.T + j) * s.Hk;
      const ka = variant === "q-k-swapped" ? matVec(Wq, s.k, A, s.H, off) : matVec(Wk, s.k, A, s.Hk, off); // W_k k_j  [A]
      let sum = 0;
      for (let a = 0; a < A; a++) {
        const u =
          variant === "no-tanh"
            ? qa[a] + ka[a]
            : variant === "tanh-separately"
              ? Math.tanh(qa[a]) + Math.tanh(ka[a])
              : Math.tanh(qa[a] + ka[a]);
        sum += w[a] * u;
      }
      e[b * s.T + j] = sum;
    }
  }
  return e;
}

const scaledBy = (e: Float64Array, f: number) => e.map((v) => v * f);

/** Seeded q [B, H] and k [B, T, Hk] as numbers and as tensors. */
function scoreInputs(o: ReturnType<typeof resolve>, Hk: number, rng: Rng): ScoreInputs {
  return { B: o.B, T: o.T, H: o.H, Hk, q: normals(rng, o.B * o.H, o.scale), k: normals(rng, o.B * o.T * Hk, o.scale) };
}

function qkTensors(s: ScoreInputs): [Tensor2D, Tensor3D] {
  return [tf.tensor2d(Float32Array.from(s.q), [s.B, s.H]), tf.tensor3d(Float32Array.from(s.k), [s.B, s.T, s.Hk])];
}

// ---------------------------------------------------------------------------------------------
// Scores: checks
// ---------------------------------------------------------------------------------------------

/**
 * Checks `additiveScore(q, k, p)` = e with e_bj = wᵀ tanh(W_q q_b + W_k k_bj), [B, T_in],
 * against the float64 reference (Bahdanau et al. 2015; the lecture's "Attention Models").
 */
export function checkAdditiveScore(fn: AdditiveScore, options: AttentionCheckOptions = {}): void {
  const where = "additiveScore";
  const o = resolve(where, options);
  const rng = new Rng(o.seed);
  const s = scoreInputs(o, o.Hk, rng);
  // Weights of the size the library initialises with, times 1.5 so that tanh bends: pre-activations around ±1.
  const Wq = normals(rng, o.A * o.H, 1.5 / Math.sqrt(o.H));
  const Wk = normals(rng, o.A * o.Hk, 1.5 / Math.sqrt(o.Hk));
  const w = normals(rng, o.A, 1);
  const want = additiveRef(s, Wq, Wk, w, o.A);
  const mistakes: Mistake[] = [
    { name: "no-tanh", value: additiveRef(s, Wq, Wk, w, o.A, "no-tanh"), hint: "It is wᵀ(W_q q + W_k k_j): did you forget the tanh?" },
    {
      name: "tanh-separately",
      value: additiveRef(s, Wq, Wk, w, o.A, "tanh-separately"),
      hint: "It is wᵀ(tanh(W_q q) + tanh(W_k k_j)): add W_q q and W_k k_j first, then take one tanh of the sum.",
    },
  ];
  if (o.H === o.Hk) {
    mistakes.push({
      name: "q-k-swapped",
      value: additiveRef(s, Wq, Wk, w, o.A, "q-k-swapped"),
      hint: "It is wᵀ tanh(W_k q + W_q k_j): W_q multiplies the query q, W_k the keys k_j.",
    });
  }
  const worst = withTensors(
    () => [
      ...qkTensors(s),
      tf.tensor2d(Float32Array.from(Wq), [o.A, o.H]),
      tf.tensor2d(Float32Array.from(Wk), [o.A, o.Hk]),
      tf.tensor1d(Float32Array.from(w)),
    ],
    (t) => {
      const p: AdditiveParams = { Wq: t[2] as Tensor2D, Wk: t[3] as Tensor2D, w: t[4] as Tensor1D };
      const e = callTensors(where, t, () => fn(t[0] as Tensor2D, t[1] as Tensor3D, p));
      try {
        return expectClose(where, "e", e, want, { shape: [o.B, o.T], mistakes });
      } finally {
        tf.dispose(e);
      }
    },
  );
  passed(
    where,
    `e = wᵀ tanh(W_q q + W_k k_j) matches the float64 reference (${sizes({ B: o.B, T_in: o.T, H: o.H, H_k: o.Hk, A: o.A })})`,
    worst,
  );
}

/** Checks `dotScore(q, k)` = e with e_bj = qᵀ_b k_bj, [B, T_in], against the float64 reference (Luong et al. 2015). */
export function checkDotScore(fn: DotScore, options: AttentionCheckOptions = {}): void {
  const where = "dotScore";
  const o = resolve(where, { ...options, Hk: undefined });
  const s = scoreInputs(o, o.H, new Rng(o.seed));
  const want = dotWith(s.q, s);
  const mistakes: Mistake[] = [
    {
      name: "scaled",
      value: scaledBy(want, 1 / Math.sqrt(o.H)),
      hint: "It is qᵀk_j / √H, the scaled dot score: the dot score is qᵀk_j alone.",
    },
  ];
  const worst = withTensors(
    () => qkTensors(s),
    (t) => {
      const e = callTensors(where, t, () => fn(t[0] as Tensor2D, t[1] as Tensor3D));
      try {
        return expectClose(where, "e", e, want, { shape: [o.B, o.T], mistakes });
      } finally {
        tf.dispose(e);
      }
    },
  );
  passed(where, `e = qᵀ k_j matches the float64 reference (${sizes({ B: o.B, T_in: o.T, H: o.H })})`, worst);
}

/** Checks `generalScore(q, k, Wa)` = e with e_bj = qᵀ_b W_a k_bj, [B, T_in], against the float64 reference (Luong et al. 2015). */
export function checkGeneralScore(fn: GeneralScore, options: AttentionCheckOptions = {}): void {
  const where = "generalScore";
  const o = resolve(where, options);
  const rng = new Rng(o.seed);
  const s = scoreInputs(o, o.Hk, rng);
  const Wa = normals(rng, o.H * o.Hk, 1 / Math.sqrt(o.H));
  const want = dotWith(qTimes(s, Wa), s);
  const mistakes: Mistake[] = [];
  if (o.H === o.Hk) {
    mistakes.push(
      {
        name: "Wa-transposed",
        value: dotWith(qTimes(s, Wa, true), s),
        hint: "It is qᵀ W_aᵀ k_j: W_a is [H, H_k], and qᵀ W_a (a row [H_k]) meets k_j.",
      },
      { name: "missing-Wa", value: dotWith(s.q, s), hint: "It is qᵀ k_j, the dot score: the general score puts W_a between q and k_j." },
    );
  }
  const worst = withTensors(
    () => [...qkTensors(s), tf.tensor2d(Float32Array.from(Wa), [o.H, o.Hk])],
    (t) => {
      const e = callTensors(where, t, () => fn(t[0] as Tensor2D, t[1] as Tensor3D, t[2] as Tensor2D));
      try {
        return expectClose(where, "e", e, want, { shape: [o.B, o.T], mistakes });
      } finally {
        tf.dispose(e);
      }
    },
  );
  passed(where, `e = qᵀ W_a k_j matches the float64 reference (${sizes({ B: o.B, T_in: o.T, H: o.H, H_k: o.Hk })})`, worst);
}

/** Checks `scaledDotScore(q, k)` = e with e_bj = qᵀ_b k_bj / √H, [B, T_in], against the float64 reference (Vaswani et al. 2017). */
export function checkScaledDotScore(fn: ScaledDotScore, options: AttentionCheckOptions = {}): void {
  const where = "scaledDotScore";
  const o = resolve(where, { ...options, Hk: undefined });
  const s = scoreInputs(o, o.H, new Rng(o.seed));
  const dot = dotWith(s.q, s);
  const want = scaledBy(dot, 1 / Math.sqrt(o.H));
  const mistakes: Mistake[] = [
    { name: "missing-scale", value: dot, hint: "It is qᵀk_j: did you forget to divide by √H? (H: the size of q and k_j)" },
    { name: "divided-by-H", value: scaledBy(dot, 1 / o.H), hint: "It is qᵀk_j / H: divide by the square root √H, not by H." },
    { name: "times-sqrt-H", value: scaledBy(dot, Math.sqrt(o.H)), hint: "It is qᵀk_j · √H: divide by √H, do not multiply." },
  ];
  if (o.T !== o.H) {
    mistakes.push({
      name: "sqrt-of-T",
      value: scaledBy(dot, 1 / Math.sqrt(o.T)),
      hint: `It is qᵀk_j / √T_in: divide by the square root of the vectors' size H = ${o.H} (the last axis), not of the source length T_in = ${o.T}.`,
    });
  }
  const worst = withTensors(
    () => qkTensors(s),
    (t) => {
      const e = callTensors(where, t, () => fn(t[0] as Tensor2D, t[1] as Tensor3D));
      try {
        return expectClose(where, "e", e, want, { shape: [o.B, o.T], mistakes });
      } finally {
        tf.dispose(e);
      }
    },
  );
  passed(where, `e = qᵀ k_j / √H matches the float64 reference (${sizes({ B: o.B, T_in: o.T, H: o.H })})`, worst);
}

// ---------------------------------------------------------------------------------------------
// Weights and context
// ---------------------------------------------------------------------------------------------

/** A random 0/1 mask [B, T]: every row and every column keeps at least one position. */
function randomMask(B: number, T: number, rng: Rng): Float64Array {
  const m = Float64Array.from({ length: B * T }, () => (rng.next() < 0.65 ? 1 : 0));
  for (let b = 0; b < B; b++) if (m.subarray(b * T, (b + 1) * T).every((v) => v === 0)) m[b * T + rng.int(T)] = 1;
  for (let j = 0; j < T; j++) {
    let any = false;
    for (let b = 0; b < B; b++) any ||= m[b * T + j] === 1;
    if (!any && B > 1) m[rng.int(B) * T + j] = 1;
  }
  return m;
}

/**
 * Softmax of e [B, T] along one axis over the positions where `keep` is 1 (others get 0),
 * computed stably (the largest kept score subtracted); a line with nothing kept is all 0.
 */
function softmaxRef(e: Float64Array, keep: Float64Array, B: number, T: number, axis: 0 | 1 = 1): Float64Array {
  const out = new Float64Array(B * T);
  const [lines, len] = axis === 1 ? [B, T] : [T, B];
  const at = (line: number, i: number) => (axis === 1 ? line * T + i : i * T + line);
  for (let l = 0; l < lines; l++) {
    let max = -Infinity;
    for (let i = 0; i < len; i++) if (keep[at(l, i)] === 1) max = Math.max(max, e[at(l, i)]);
    if (max === -Infinity) continue;
    let sum = 0;
    for (let i = 0; i < len; i++) if (keep[at(l, i)] === 1) sum += Math.exp(e[at(l, i)] - max);
    for (let i = 0; i < len; i++) out[at(l, i)] = keep[at(l, i)] === 1 ? Math.exp(e[at(l, i)] - max) / sum : 0;
  }
  return out;
}

/**
 * Checks `maskedSoftmax(e, mask)` = α with α_bj = m_bj exp(e_bj) / Σ_j' m_bj' exp(e_bj'):
 * each row sums to 1 over its real positions, and masked positions get exactly 0. With
 * `scale: 1000` the scores are around ±1000, where exp overflows float32 unless the largest
 * (unmasked) score of each row is subtracted first.
 */
export function checkMaskedSoftmax(fn: MaskedSoftmax, options: AttentionCheckOptions = {}): void {
  const where = "maskedSoftmax";
  const o = resolve(where, options);
  const rng = new Rng(o.seed);
  const scale = options.scale ?? 2;
  const e = normals(rng, o.B * o.T, scale);
  const m = randomMask(o.B, o.T, rng);
  const all = new Float64Array(o.B * o.T).fill(1);
  const want = softmaxRef(e, m, o.B, o.T);
  const plain = softmaxRef(e, all, o.B, o.T);
  const mistakes: Mistake[] = [
    {
      name: "mask-not-applied",
      value: plain,
      hint: "It is softmax(e) of every position: the masked (padding) positions must get weight 0.",
    },
    {
      name: "mask-after-softmax",
      value: plain.map((v, i) => v * m[i]),
      hint: "It is softmax(e) · m: the masked positions are 0, but the rest no longer sum to 1. Apply the mask before the softmax (or renormalise).",
    },
    {
      name: "mask-times-scores",
      value: softmaxRef(
        e.map((v, i) => v * m[i]),
        all,
        o.B,
        o.T,
      ),
      hint: "It is softmax(e · m): a masked score becomes 0, and exp(0) = 1 still gives it weight. Send masked scores to −∞ (or −1e9) instead.",
    },
    {
      name: "mask-inverted",
      value: softmaxRef(
        e,
        m.map((v) => 1 - v),
        o.B,
        o.T,
      ),
      hint: "The weights are on the masked positions: m = 1 marks a real position, m = 0 padding.",
    },
    {
      name: "wrong-axis",
      value: softmaxRef(e, m, o.B, o.T, 0),
      hint: "Each column sums to 1: the softmax ran over the batch (axis 0). It must run over the source positions, the last axis.",
    },
  ];
  const worst = withTensors(
    () => [tf.tensor2d(Float32Array.from(e), [o.B, o.T]), tf.tensor2d(Float32Array.from(m), [o.B, o.T])],
    (t) => {
      const alpha = callTensors(where, t, () => fn(t[0] as Tensor2D, t[1] as Tensor2D));
      try {
        if (alpha instanceof tf.Tensor && !alpha.isDisposed) {
          const got = numbersOf(alpha);
          const largest = e.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
          if (got.some((v) => !Number.isFinite(v)) && largest > 80) {
            throw new CheckFailure(
              `${where}: α holds NaN or Infinity for scores as large as ${largest.toFixed(0)}.\n` +
                "  exp(e) overflows float32 above e ≈ 88 (and 0/0 appears when every kept position underflows): " +
                "subtract each row's largest unmasked score before exp, softmax(e) = softmax(e − max e), or send the " +
                "masked scores to −1e9 first and then take a stable softmax.",
              "α",
              NaN,
              "max-not-subtracted",
            );
          }
        }
        const err = expectClose(where, "α", alpha, want, { shape: [o.B, o.T], mistakes });
        const got = numbersOf(alpha);
        const leak = got.reduce((a, v, i) => (m[i] === 0 ? Math.max(a, Math.abs(v)) : a), 0);
        if (leak !== 0) {
          throw new CheckFailure(
            `${where}: α is not exactly 0 at the masked positions (up to ${fmtError(leak)}).\n` +
              "  Padding must get no weight at all: multiply by the mask at the end, or push masked scores to −1e9 (or −∞), " +
              "not to a small negative number.",
            "α",
            leak,
            "mask-not-exact",
          );
        }
        return err;
      } finally {
        tf.dispose(alpha);
      }
    },
  );
  passed(
    where,
    `α matches the float64 masked softmax, rows sum to 1, masked positions are exactly 0 ` +
      `(${sizes({ B: o.B, T_in: o.T })}, scores up to ±${e.reduce((a, v) => Math.max(a, Math.abs(v)), 0).toFixed(0)})`,
    worst,
  );
}

/** Checks `attentionContext(alpha, v)` = c with c_b = Σ_j α_bj v_bj, [B, H_k], against the float64 reference. */
export function checkAttentionContext(fn: AttentionContext, options: AttentionCheckOptions = {}): void {
  const where = "attentionContext";
  const o = resolve(where, options);
  const rng = new Rng(o.seed);
  const Hv = o.Hk;
  const alpha = softmaxRef(normals(rng, o.B * o.T, 1.5), randomMask(o.B, o.T, rng), o.B, o.T).map(Math.fround);
  const v = normals(rng, o.B * o.T * Hv, o.scale);
  const sum = (weight: (b: number, j: number) => number) => {
    const c = new Float64Array(o.B * Hv);
    for (let b = 0; b < o.B; b++)
      for (let j = 0; j < o.T; j++) for (let h = 0; h < Hv; h++) c[b * Hv + h] += weight(b, j) * v[(b * o.T + j) * Hv + h];
    return c;
  };
  const want = sum((b, j) => alpha[b * o.T + j]);
  const mistakes: Mistake[] = [
    { name: "unweighted-sum", value: sum(() => 1), hint: "It is Σ_j v_j: every value counted once. Weight each v_j by its α_j." },
    {
      name: "unweighted-mean",
      value: sum(() => 1 / o.T),
      hint: "It is the plain mean of the v_j: weight each v_j by its α_j instead of 1/T_in.",
    },
  ];
  const worst = withTensors(
    () => [tf.tensor2d(Float32Array.from(alpha), [o.B, o.T]), tf.tensor3d(Float32Array.from(v), [o.B, o.T, Hv])],
    (t) => {
      const c = callTensors(where, t, () => fn(t[0] as Tensor2D, t[1] as Tensor3D));
      try {
        return expectClose(where, "c", c, want, { shape: [o.B, Hv], mistakes });
      } finally {
        tf.dispose(c);
      }
    },
  );
  passed(where, `c = Σ_j α_j v_j matches the float64 reference (${sizes({ B: o.B, T_in: o.T, H_k: Hv })})`, worst);
}

// ---------------------------------------------------------------------------------------------
// Decoding: table decoders and float64 references
// ---------------------------------------------------------------------------------------------

/** log-softmax of logits, in float64. */
function logSoftmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const lse = max + Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0));
  return logits.map((v) => v - lse);
}

/** A 32-bit hash of a seed and a prefix (FNV-1a), so that a prefix's table row does not depend on the order of the calls. */
function hashPrefix(seed: number, prefix: readonly number[]): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const v of [prefix.length, ...prefix]) {
    h = Math.imul(h ^ (v & 0xffff), 0x01000193);
    h = Math.imul(h ^ (v >>> 16), 0x01000193);
  }
  return h >>> 0;
}

/** A seeded table decoder over K tokens: each prefix gets its own random log-probabilities; END grows likelier with length. */
function randomTable(seed: number, K: number, end: number, endBias: number, sharpness = 1.6): StepLogProbs {
  return (prefix) => {
    const rng = new Rng(hashPrefix(seed, prefix));
    const logits = Array.from({ length: K }, () => sharpness * rng.normal());
    logits[end] += endBias * (prefix.length - 1) - 1;
    return logSoftmax(logits);
  };
}

/**
 * A table decoder written out (tokens 0 = END, 1 = a, 2 = b; START = 3, which is no output):
 * `rows` maps a prefix after START ("" for START alone, "a", "ab", …) to the probabilities
 * of [END, a, b]; any other prefix gets `rest`.
 */
function handTable(rows: Record<string, [number, number, number]>, rest: [number, number, number]): StepLogProbs {
  const names = ["END", "a", "b"];
  return (prefix) => {
    const key = prefix
      .slice(1)
      .map((y) => names[y] ?? "?")
      .join("");
    return (rows[key] ?? rest).map(Math.log);
  };
}

/** A wrong greedy decoder, for recognising mistakes. */
type GreedyVariant = "right" | "no-stop-at-end" | "end-dropped" | "start-included" | "last-token-only" | "one-too-many";

function greedyRef(step: StepLogProbs, start: number, end: number, maxLength: number, variant: GreedyVariant = "right"): number[] {
  const tokens: number[] = [];
  const steps = variant === "one-too-many" ? maxLength + 1 : maxLength;
  for (let t = 0; t < steps; t++) {
    const prefix = variant === "last-token-only" ? [tokens.length ? tokens[tokens.length - 1] : start] : [start, ...tokens];
    const logp = Array.from(step(prefix));
    const y = logp.indexOf(Math.max(...logp));
    tokens.push(y);
    if (y === end && variant !== "no-stop-at-end") break;
  }
  if (variant === "end-dropped" && tokens[tokens.length - 1] === end) tokens.pop();
  if (variant === "start-included") tokens.unshift(start);
  return tokens;
}

/** log p of a token sequence under a decoder: Σ_t log p(y(t) | START, y(<t)). */
function logProbOf(step: StepLogProbs, start: number, tokens: readonly number[]): number {
  let lp = 0;
  for (let t = 0; t < tokens.length; t++) lp += step([start, ...tokens.slice(0, t)])[tokens[t]];
  return lp;
}

/** A wrong beam search, for recognising mistakes. */
type BeamVariant =
  "right" | "stop-at-k-finished" | "stop-at-first-finished" | "finished-dropped" | "unfinished-dropped-at-max" | "end-not-finishing";

/**
 * Beam search as seqlab's (src/sequence/beam-search.ts with length penalty 0), in float64:
 * extend every live prefix by every token; take candidates, likeliest first, until k are
 * alive, setting those that end in END aside as finished; stop when the best finished is at
 * least as likely as the best live prefix (or none is alive); at maxLength the live
 * prefixes count as finished. Returns the likeliest finished sequence (undefined if none).
 */
function beamRef(
  step: StepLogProbs,
  k: number,
  start: number,
  end: number,
  maxLength: number,
  variant: BeamVariant = "right",
): BeamHypothesis | undefined {
  let alive: BeamHypothesis[] = [{ tokens: [], logProb: 0 }];
  const finished: BeamHypothesis[] = [];
  let stopped = false;
  for (let t = 0; t < maxLength && alive.length > 0 && !stopped; t++) {
    const candidates: BeamHypothesis[] = [];
    for (const h of alive) {
      const logp = Array.from(step([start, ...h.tokens]));
      logp.forEach((v, y) => candidates.push({ tokens: [...h.tokens, y], logProb: h.logProb + v }));
    }
    candidates.sort((a, c) => c.logProb - a.logProb);
    const next: BeamHypothesis[] = [];
    for (const c of candidates) {
      if (next.length >= k) break;
      if (variant === "stop-at-k-finished" && finished.length >= k) break;
      if (c.tokens[c.tokens.length - 1] === end && variant !== "end-not-finishing") {
        if (variant === "stop-at-first-finished") return c;
        if (variant !== "finished-dropped") finished.push(c);
      } else next.push(c);
    }
    alive = next;
    const bestFinished = Math.max(-Infinity, ...finished.map((f) => f.logProb));
    if (variant === "stop-at-k-finished") stopped = finished.length >= k;
    else stopped = alive.length > 0 && bestFinished >= alive[0].logProb;
    if (stopped) alive = [];
  }
  if (variant !== "unfinished-dropped-at-max") finished.push(...alive);
  return finished.sort((a, c) => c.logProb - a.logProb)[0];
}

/** Every sequence of at most maxLength tokens (ending in END, or maxLength long without it): the likeliest. */
function exhaustive(step: StepLogProbs, K: number, start: number, end: number, maxLength: number): { best: BeamHypothesis; count: number } {
  let best: BeamHypothesis = { tokens: [], logProb: -Infinity };
  let count = 0;
  const visit = (tokens: number[], logProb: number) => {
    const logp = step([start, ...tokens]);
    for (let y = 0; y < K; y++) {
      const next = [...tokens, y];
      const lp = logProb + logp[y];
      if (y === end || next.length === maxLength) {
        count++;
        if (lp > best.logProb) best = { tokens: next, logProb: lp };
      } else visit(next, lp);
    }
  };
  visit([], 0);
  return { best, count };
}

/** A decoding case: a decoder and how to decode it. */
interface DecodeCase {
  name: string;
  /** A few words for the ✓ line. */
  label: string;
  step: StepLogProbs;
  K: number;
  start: number;
  end: number;
  maxLength: number;
  k: number;
}

function resolveDecode(where: string, options: DecodeCheckOptions) {
  const o = { ...DECODE_DEFAULTS, ...options };
  if (!Number.isInteger(o.K) || o.K < 2) throw new Error(`${where}: option K must be an integer ≥ 2, got ${o.K}`);
  if (!Number.isInteger(o.maxLength) || o.maxLength < 1)
    throw new Error(`${where}: option maxLength must be a positive integer, got ${o.maxLength}`);
  if (!Number.isInteger(o.k) || o.k < 1) throw new Error(`${where}: option k must be a positive integer, got ${o.k}`);
  return o;
}

/**
 * Random table decoders for a seed: the first whose greedy output ends with END before
 * maxLength (at least two tokens), and the first that runs into maxLength without END.
 */
function randomCases(seed: number, K: number, maxLength: number, k: number): DecodeCase[] {
  const found: DecodeCase[] = [];
  const wanted = new Set(["ends", "runs out"]);
  for (let i = 0; i < 400 && wanted.size > 0; i++) {
    const s = (seed * 7919 + i * 104729) >>> 0;
    const end = (s >>> 3) % K;
    const step = randomTable(s, K, end, i % 2 === 0 ? 1 : 0.3);
    const g = greedyRef(step, K, end, maxLength);
    const kind = g[g.length - 1] === end ? (g.length >= 2 ? "ends" : "") : "runs out";
    if (!wanted.has(kind)) continue;
    wanted.delete(kind);
    found.push({
      name: `a random decoder whose greedy output ${kind === "ends" ? "ends with END" : "runs into maxLength"}`,
      label: kind === "ends" ? "one ending with END" : "one running into maxLength",
      step,
      K,
      start: K,
      end,
      maxLength,
      k,
    });
  }
  return found;
}

const show = (tokens: readonly number[], end: number) => `[${tokens.map((y) => (y === end ? "END" : String(y))).join(", ")}]`;

/** The student's tokens as numbers, or a CheckFailure saying what came back instead. */
function tokensOf(where: string, got: unknown): number[] {
  const list =
    got instanceof tf.Tensor ? undefined : Array.isArray(got) || ArrayBuffer.isView(got) ? Array.from(got as ArrayLike<number>) : undefined;
  if (!list || !list.every((y) => Number.isInteger(y))) {
    if (got instanceof tf.Tensor) got.dispose(); // made by the student's call, kept by its tidy
    const what =
      got instanceof tf.Tensor ? "a tensor" : Array.isArray(got) ? "an array of non-integers" : got === undefined ? "nothing" : typeof got;
    throw new CheckFailure(`${where}: the tokens must be an array of token ids (integers), got ${what}.`, "tokens", NaN, "shape");
  }
  return list;
}

/** The cases' labels for a ✓ line, repeated ones counted: "greedy ≠ beam; random, k = 3 (×2)". */
function labels(cases: readonly DecodeCase[]): string {
  const counts = new Map<string, number>();
  for (const c of cases) counts.set(c.label, (counts.get(c.label) ?? 0) + 1);
  return [...counts].map(([label, n]) => (n > 1 ? `${label} (×${n})` : label)).join("; ");
}

const sameTokens = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((y, i) => y === b[i]);

// ---------------------------------------------------------------------------------------------
// Decoding: checks
// ---------------------------------------------------------------------------------------------

/**
 * Checks `greedyDecode(step, start, end, maxLength)`: y(t) = argmax_y log p(y | START, y(<t)),
 * fed back as the next step's last token, stopping after END or after maxLength tokens,
 * on seeded table decoders (one whose greedy output ends with END, one that runs into
 * maxLength). The tokens must be exactly the float64 greedy decoder's.
 */
export function checkGreedyDecode(fn: GreedyDecode, options: DecodeCheckOptions = {}): void {
  const where = "greedyDecode";
  const o = resolveDecode(where, options);
  const cases = randomCases(o.seed, o.K, o.maxLength, 1);
  const hints: Record<Exclude<GreedyVariant, "right">, string> = {
    "no-stop-at-end": "It runs on after END: stop as soon as END is chosen (END is the last token).",
    "end-dropped": "It is the right sequence without END: END is part of the output, as its last token.",
    "start-included": "It starts with START: return only the chosen tokens y(1), y(2), …",
    "last-token-only": "It is what a decoder that sees only the last token gives: pass the whole prefix [START, y(1), …, y(t−1)] to step.",
    "one-too-many": "It has one token too many: at most maxLength tokens, END included.",
  };
  for (const c of cases) {
    const want = greedyRef(c.step, c.start, c.end, c.maxLength);
    const got = tokensOf(
      where,
      callTensors(where, [], () => fn(c.step, c.start, c.end, c.maxLength)),
    );
    if (sameTokens(got, want)) continue;
    const variant = (Object.keys(hints) as (keyof typeof hints)[]).find((v) =>
      sameTokens(got, greedyRef(c.step, c.start, c.end, c.maxLength, v)),
    );
    throw new CheckFailure(
      `${where}: the tokens are wrong on ${c.name} (K = ${c.K}, START = ${c.start}, END = ${c.end}, maxLength = ${c.maxLength}): ` +
        `got ${show(got, c.end)}, expected ${show(want, c.end)}.\n  ` +
        (variant
          ? hints[variant]
          : "At each step take the token with the largest log-probability, append it, and feed the longer prefix back."),
      "tokens",
      NaN,
      variant,
    );
  }
  passed(
    where,
    `the tokens equal the float64 greedy decoder's on ${cases.length} table decoders (K = ${o.K}, maxLength = ${o.maxLength}): ${labels(cases)}`,
    0,
  );
}

/** The cases of {@link checkBeamSearch} (in an order that tells the mistakes apart): three written out, one that runs into maxLength, the exhaustive one, random ones. */
function beamCases(o: ReturnType<typeof resolveDecode>): DecodeCase[] {
  const cases: DecodeCase[] = [
    {
      // Greedy: a (0.5), then END (0.5): p 0.25. Beam sets END (0.3) aside at step 1, and at step 2 no live prefix beats it: p 0.3.
      name: "a decoder where greedy and beam disagree and the answer finished first",
      label: "greedy ≠ beam",
      step: handTable({ "": [0.3, 0.5, 0.2], a: [0.5, 0.3, 0.2], b: [0.35, 0.45, 0.2] }, [0.6, 0.25, 0.15]),
      K: 3,
      start: 3,
      end: 0,
      maxLength: 5,
      k: 2,
    },
    {
      // END (0.3) finishes first; "a END" (0.405) finishes one step later and is the best.
      name: "a decoder where the first sequence to finish is not the best",
      label: "the first to finish is not the best",
      step: handTable({ "": [0.3, 0.45, 0.25], a: [0.9, 0.06, 0.04], b: [0.2, 0.5, 0.3] }, [0.6, 0.25, 0.15]),
      K: 3,
      start: 3,
      end: 0,
      maxLength: 5,
      k: 2,
    },
    {
      // seqlab's beam test: END (0.2) and "b END" (0.171) finish while "a a END" (0.516) is still alive.
      name: "a decoder where two sequences finish before the best one",
      label: "two finish before the best (stopping at k finished fails)",
      step: handTable({ "": [0.2, 0.61, 0.19], a: [0.1, 0.89, 0.01], aa: [0.95, 0.03, 0.02], b: [0.9, 0.06, 0.04] }, [0.9, 0.06, 0.04]),
      K: 3,
      start: 3,
      end: 0,
      maxLength: 6,
      k: 2,
    },
  ];
  // END unlikely: the best sequence is a live prefix at maxLength, and some sequence has finished before.
  const L = Math.min(o.maxLength, 3);
  for (let i = 0; i < 200; i++) {
    const s = (o.seed * 2654435761 + i * 40503) >>> 0;
    const end = s % o.K;
    const step = randomTable(s, o.K, end, -0.3, 1.2);
    const best = beamRef(step, 2, o.K, end, L)!;
    const finishedOnly = beamRef(step, 2, o.K, end, L, "unfinished-dropped-at-max");
    if (best.tokens[best.tokens.length - 1] !== end && finishedOnly !== undefined) {
      cases.push({
        name: "a decoder whose best sequence runs into maxLength",
        label: "the best running into maxLength",
        step,
        K: o.K,
        start: o.K,
        end,
        maxLength: L,
        k: 2,
      });
      break;
    }
  }
  // k larger than the number of live prefixes of length maxLength − 1: beam search is then the exhaustive search.
  let Lx = o.maxLength;
  while (Lx > 1 && Math.pow(o.K - 1, Lx - 1) > 256) Lx--;
  const wide = Math.pow(o.K - 1, Lx - 1) + 1;
  const wideStep = randomTable(o.seed + 31, o.K, 0, 0.6);
  const all = exhaustive(wideStep, o.K, o.K, 0, Lx);
  const byBeam = beamRef(wideStep, wide, o.K, 0, Lx)!;
  if (!sameTokens(byBeam.tokens, all.best.tokens)) throw new Error(`checkBeamSearch: internal error: the wide beam is not exhaustive`);
  cases.push({
    name: `a decoder searched with k = ${wide}, wide enough to keep every prefix`,
    label: `k = ${wide}, equal to the exhaustive search over ${all.count} sequences`,
    step: wideStep,
    K: o.K,
    start: o.K,
    end: 0,
    maxLength: Lx,
    k: wide,
  });
  // Random decoders of width k, those where beam and greedy differ first.
  for (let i = 0, n = 0; i < 60 && n < 2; i++) {
    const s = (o.seed * 31337 + i * 7877) >>> 0;
    const end = s % o.K;
    const step = randomTable(s, o.K, end, 0.7, 1.2);
    const beam = beamRef(step, o.k, o.K, end, o.maxLength)!;
    if (o.k > 1 && i < 50 && sameTokens(beam.tokens, greedyRef(step, o.K, end, o.maxLength))) continue;
    cases.push({
      name: `a random decoder (beam width k = ${o.k})`,
      label: `random, k = ${o.k}`,
      step,
      K: o.K,
      start: o.K,
      end,
      maxLength: o.maxLength,
      k: o.k,
    });
    n++;
  }
  return cases;
}

/**
 * Checks `beamSearch(step, k, start, end, maxLength)` against a float64 beam search of the
 * same rule (seqlab's, length penalty 0) and an exhaustive search over every sequence: on a
 * decoder where greedy and beam disagree, one where finished sequences must be kept while a
 * likelier prefix is still alive, one whose best sequence runs into maxLength, one searched
 * with k wide enough to be exhaustive, and random ones. Both the tokens and log p must match.
 */
export function checkBeamSearch(fn: BeamSearch, options: DecodeCheckOptions = {}): void {
  const where = "beamSearch";
  const o = resolveDecode(where, options);
  const cases = beamCases(o);
  const hints: Record<Exclude<BeamVariant, "right">, string> = {
    "stop-at-k-finished":
      "It stops once k sequences have finished. With log-probabilities that is too early: a live prefix may still be likelier " +
      "than every finished sequence. Stop only when the best finished one is at least as likely as every live prefix.",
    "unfinished-dropped-at-max": "At maxLength the live prefixes count as finished sequences (without END): return the likeliest of all.",
    "stop-at-first-finished": "It returns the first sequence to finish: keep it aside and go on while a live prefix is likelier.",
    "finished-dropped":
      "It loses the sequences that finished: a candidate ending in END must be kept aside as finished, and may be the answer.",
    "end-not-finishing": "Its sequences go on after END: a prefix that chooses END is finished and is not extended.",
  };
  let worst = 0;
  for (const c of cases) {
    const want = beamRef(c.step, c.k, c.start, c.end, c.maxLength)!;
    const got = callTensors(where, [], () => fn(c.step, c.k, c.start, c.end, c.maxLength));
    if (got === null || typeof got !== "object" || got instanceof tf.Tensor) {
      tf.dispose(got as unknown as tf.TensorContainer);
      throw new CheckFailure(
        `${where}: must return { tokens, logProb }, got ${got === undefined ? "nothing" : typeof got}.`,
        "tokens",
        NaN,
        "shape",
      );
    }
    const tokens = tokensOf(where, (got as Partial<BeamHypothesis>).tokens);
    const head = `on ${c.name} (K = ${c.K}, START = ${c.start}, END = ${c.end}, k = ${c.k}, maxLength = ${c.maxLength})`;
    if (!sameTokens(tokens, want.tokens)) {
      let variant = (Object.keys(hints) as (keyof typeof hints)[]).find((v) => {
        const wrong = beamRef(c.step, c.k, c.start, c.end, c.maxLength, v);
        return wrong !== undefined && sameTokens(tokens, wrong.tokens);
      });
      let hint = variant ? hints[variant] : undefined;
      if (!hint && c.k > 1 && sameTokens(tokens, greedyRef(c.step, c.start, c.end, c.maxLength))) {
        variant = undefined;
        hint = "It is greedy decoding's output: keep the k likeliest prefixes at every step, not only the best one.";
      }
      throw new CheckFailure(
        `${where}: the tokens are wrong ${head}: got ${show(tokens, c.end)} (log p ${logProbOf(c.step, c.start, tokens).toFixed(4)}), ` +
          `expected ${show(want.tokens, c.end)} (log p ${want.logProb.toFixed(4)}).\n  ` +
          (hint ??
            "Compare your loop with the rule step by step: extend, rank by the summed log p, keep k live, set END aside, stop rule."),
        "tokens",
        NaN,
        hint && variant === undefined ? "greedy" : variant,
      );
    }
    const ended = want.tokens[want.tokens.length - 1] === c.end;
    const mistakes: Mistake[] = [];
    if (ended) {
      mistakes.push({
        name: "end-logp-missing",
        value: logProbOf(c.step, c.start, want.tokens.slice(0, -1)),
        hint: "It leaves out END's log-probability: log p(y) includes the step that chose END.",
      });
    }
    mistakes.push({ name: "probability", value: Math.exp(want.logProb), hint: "It is p, not log p: return the summed log-probabilities." });
    const err = expectClose(`${where} ${head}`, "log p", (got as Partial<BeamHypothesis>).logProb as number, want.logProb, { mistakes });
    worst = Math.max(worst, err);
  }
  passed(where, `tokens and log p equal the float64 beam search's on ${cases.length} table decoders: ${labels(cases)}`, worst);
}
