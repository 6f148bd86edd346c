/**
 * The checks of assignment 1, "The vanilla RNN: a step forward and back, and BPTT"
 * (coursework/assignments/01-rnn-step-and-bptt.ipynb), after CS231n's RNN assignment in the
 * lecture's notation (slides "Recurrent Networks" and "Back Propagation in RNNs"):
 *
 * ```
 * a(t) = b + W h(t−1) + U x(t)          h(t) = tanh(a(t))
 * o(t) = c + V h(t)                     ŷ(t) = softmax(o(t))        L = −Σ_t log ŷ_{y(t)}(t)
 * ∇_a(t) L = diag(1 − h(t)²) ∇_h(t) L
 * ∇_h(t) L = Vᵀ ∇_o(t) L + Wᵀ diag(1 − h(t+1)²) ∇_h(t+1) L
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x(t) | [B, I] | input at time t, one row per sequence; a whole sequence is x [B, T, I] |
 * | h(t) | [B, H] | hidden state; h(0) is `h0`, the states h(1) … h(T) are `hs` [B, T, H] |
 * | U, W, b | [H, I], [H, H], [H] | the cell's parameters (`RnnParams`) |
 * | V, c | [K, H], [K] | the readout's parameters (`ReadoutParams`) |
 *
 * Batches are rows, so `W h` is computed as `h Wᵀ` (`tf.matMul(h, W, false, true)`).
 *
 * Each check builds seeded inputs whose numbers are exact in float32, runs the student's
 * function on them (inside a `tf.tidy`, so nothing it makes outlives the check), computes
 * the right answer in float64, and compares every quantity with {@link expectClose}: with
 * the float64 reference and, for gradients, with centred finite differences of the float64
 * forward (h = 1e−5), the independent source. The wrong variants each quantity is tested
 * against are computed from the reference with the mistake made on purpose. The unrolls
 * (`rnnForward`, `rnnBackward`) are given the library's step as their `step` argument, so
 * their checks test the loop over time alone.
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import { Rng } from "../init";
import { checkSize } from "../cells/checks";
import { checkKeys } from "../options";
import { rnnStep, rnnStepBackward as libraryStepBackward, type RnnParams } from "../cells/rnn/rnn";
import type { ReadoutParams } from "../cells/readout";
import { numericalGradient } from "../grad/gradcheck";
import { callStudent, CheckFailure, expectClose, passed, type Mistake } from "./compare";

// The student's functions ----------------------------------------------------------------------

/**
 * One step forward: a(t) = b + W h(t−1) + U x(t), h(t) = tanh(a(t)).
 * x [B, I], hPrev = h(t−1) [B, H] → h(t) [B, H].
 */
export type RnnStepForward = (x: Tensor2D, hPrev: Tensor2D, p: RnnParams) => Tensor2D;

/** What {@link RnnStepBackward} returns: the gradients of one step, summed over the batch. */
export interface RnnStepGradients {
  /** ∇_x(t) L = Uᵀ ∇_a(t) L, [B, I]. */
  dx: Tensor2D;
  /** ∇_h(t−1) L = Wᵀ ∇_a(t) L, [B, H]: what this step sends back to the step before. */
  dhPrev: Tensor2D;
  /** ∇_U L = ∇_a(t) L x(t)ᵀ, summed over the batch, [H, I]. */
  dU: Tensor2D;
  /** ∇_W L = ∇_a(t) L h(t−1)ᵀ, summed over the batch, [H, H]. */
  dW: Tensor2D;
  /** ∇_b L = ∇_a(t) L, summed over the batch, [H]. */
  db: Tensor1D;
}

/**
 * One step back: given dh = ∇_h(t) L [B, H] (all of it), ∇_a(t) L = diag(1 − h(t)²) ∇_h(t) L,
 * then {@link RnnStepGradients}. x [B, I], hPrev = h(t−1) [B, H], h = h(t) [B, H].
 */
export type RnnStepBackward = (x: Tensor2D, hPrev: Tensor2D, h: Tensor2D, dh: Tensor2D, p: RnnParams) => RnnStepGradients;

/**
 * The forward over a whole sequence: h(t) = step(x(t), h(t−1), p) for t = 1 … T from h(0) = h0.
 * x [B, T, I], h0 [B, H] → hs = h(1) … h(T) as [B, T, H]. The unroll owns time; the cell
 * does one step, and is passed in (like tfjs's `rnn(stepFunction, inputs, initialStates)`).
 */
export type RnnForward = (x: Tensor3D, h0: Tensor2D, p: RnnParams, step: RnnStepForward) => Tensor3D;

/** What {@link RnnBackward} returns: the gradients of the whole sequence, summed over t and the batch. */
export interface RnnGradients {
  /** ∇_x(t) L for every t, [B, T, I]. */
  dx: Tensor3D;
  /** ∇_h(0) L, [B, H]: what the first step sends back. */
  dh0: Tensor2D;
  /** ∇_U L = Σ_t ∇_a(t) L x(t)ᵀ, [H, I]. */
  dU: Tensor2D;
  /** ∇_W L = Σ_t ∇_a(t) L h(t−1)ᵀ, [H, H]. */
  dW: Tensor2D;
  /** ∇_b L = Σ_t ∇_a(t) L, [H]. */
  db: Tensor1D;
}

/**
 * Back-propagation through time. dhs [B, T, H] holds what the readout sends to each h(t)
 * (Vᵀ ∇_o(t) L); the whole gradient is that plus what comes back from t+1:
 * ∇_h(t) L = dhs(t) + Wᵀ diag(1 − h(t+1)²) ∇_h(t+1) L, and `stepBackward` does one step of it.
 * x [B, T, I], h0 [B, H], hs = h(1) … h(T) [B, T, H] → {@link RnnGradients}.
 */
export type RnnBackward = (
  x: Tensor3D,
  h0: Tensor2D,
  hs: Tensor3D,
  dhs: Tensor3D,
  p: RnnParams,
  stepBackward: RnnStepBackward,
) => RnnGradients;

/** What {@link ReadoutLoss} returns. */
export interface ReadoutLossResult {
  /** L = −Σ_{b,t} log ŷ_{y(t)}(t), summed over the batch and time (not averaged). */
  loss: Scalar;
  /** Vᵀ ∇_o(t) L for every t, [B, T, H]: the `dhs` of {@link RnnBackward}. */
  dhs: Tensor3D;
  /** ∇_V L = Σ_t ∇_o(t) L h(t)ᵀ, [K, H]. */
  dV: Tensor2D;
  /** ∇_c L = Σ_t ∇_o(t) L, [K]. */
  dc: Tensor1D;
}

/**
 * The readout and the loss, with their gradients: o(t) = c + V h(t), ŷ(t) = softmax(o(t)),
 * L = −Σ_t log ŷ_{y(t)}(t), (∇_o(t) L)_i = ŷ_i(t) − 1_{i, y(t)}.
 * hs [B, T, H], y [B, T] (int32 classes in [0, K)) → {@link ReadoutLossResult}.
 */
export type ReadoutLoss = (hs: Tensor3D, y: Tensor2D, p: ReadoutParams) => ReadoutLossResult;

// Options ----------------------------------------------------------------------------------------

/** Options of {@link checkRnnStepForward} and {@link checkRnnStepBackward}. */
export interface RnnStepCheckOptions {
  /** Seed of the inputs and weights. Default 1. */
  seed?: number;
  /** B: batch size. Default 3. */
  B?: number;
  /** I: input size. Default 4. */
  I?: number;
  /** H: hidden size. Default 5. */
  H?: number;
  /** Multiplies U, W and b: 1 keeps most of tanh's inputs in (−2, 2); 2 or 3 saturates many units. Default 1. */
  scale?: number;
}

/** Options of {@link checkRnnForward} and {@link checkRnnBackward}. */
export interface RnnSequenceCheckOptions extends RnnStepCheckOptions {
  /** T: sequence length. Default 6. */
  T?: number;
}

/** Options of {@link checkReadoutLoss}. */
export interface ReadoutLossCheckOptions {
  /** Seed of the inputs and weights. Default 1. */
  seed?: number;
  /** B: batch size. Default 3. */
  B?: number;
  /** T: sequence length. Default 4. */
  T?: number;
  /** H: hidden size. Default 5. */
  H?: number;
  /** K: number of classes. Default 3. */
  K?: number;
  /** Multiplies V and c. Default 1. */
  scale?: number;
  /** Added to every entry of c, so every logit is about this large (100 overflows a softmax without its max subtracted). Default 0. */
  logitShift?: number;
}

const STEP_KEYS = ["seed", "B", "I", "H", "scale"] as const;
const SEQUENCE_KEYS = [...STEP_KEYS, "T"] as const;
const READOUT_KEYS = ["seed", "B", "T", "H", "K", "scale", "logitShift"] as const;

// The checks -------------------------------------------------------------------------------------

/**
 * Checks the student's one step forward, a(t) = b + W h(t−1) + U x(t), h(t) = tanh(a(t)),
 * against the float64 forward. Recognises W or U not transposed, a missing tanh or bias,
 * and sigmoid in place of tanh.
 *
 * @throws CheckFailure when h(t) is wrong or the function throws
 */
export function checkRnnStepForward(fn: RnnStepForward, options: RnnStepCheckOptions = {}): void {
  const where = "rnnStepForward";
  const s = stepProblem(where, options);
  const { B, H } = s;
  const want = stepForward64(s.x, s.hPrev, s.p, B);
  const mistakes: Mistake[] = [
    mistake(
      "w-not-transposed",
      stepForward64(s.x, s.hPrev, s.p, B, "w-not-transposed"),
      "W h(t−1) is `tf.matMul(hPrev, W, false, true)` (hPrev Wᵀ): with rows, W is used transposed.",
    ),
    mistake("missing-tanh", stepForward64(s.x, s.hPrev, s.p, B, "missing-tanh"), "This is a(t), the pre-activation: h(t) = tanh(a(t))."),
    mistake("missing-bias", stepForward64(s.x, s.hPrev, s.p, B, "missing-bias"), "The bias b is missing: a(t) = b + W h(t−1) + U x(t)."),
    mistake(
      "sigmoid-not-tanh",
      stepForward64(s.x, s.hPrev, s.p, B, "sigmoid-not-tanh"),
      "This is the logistic sigmoid of a(t); the vanilla RNN uses tanh.",
    ),
  ];
  if (s.I === s.H) {
    mistakes.push(
      mistake(
        "u-not-transposed",
        stepForward64(s.x, s.hPrev, s.p, B, "u-not-transposed"),
        "U x(t) is `tf.matMul(x, U, false, true)` (x Uᵀ): U is [H, I].",
      ),
    );
  }
  const tensors = stepTensors(s);
  let out: unknown;
  try {
    const r = runStudent(where, tensors.all, () => fn(tensors.x, tensors.hPrev, tensors.p));
    out = r.out;
    const worst = expectClose(where, "h(t)", r.out, want, { shape: [B, H], mistakes });
    passed(where, "h(t) matches the float64 forward", worst);
    leakNote(where, r.leaked);
  } finally {
    disposeTensorsIn(tensors.all, out);
  }
}

/**
 * Checks the student's one step back (lecture: "Back Propagation in RNNs"):
 * ```
 * ∇_a(t) L = diag(1 − h(t)²) ∇_h(t) L
 * ∇_x(t) L = Uᵀ ∇_a(t) L,   ∇_h(t−1) L = Wᵀ ∇_a(t) L
 * ∇_U L = ∇_a(t) L x(t)ᵀ,   ∇_W L = ∇_a(t) L h(t−1)ᵀ,   ∇_b L = ∇_a(t) L     (summed over the batch)
 * ```
 * every quantity against the float64 backward and against centred finite differences of
 * Σ dh ⊙ h(t) through the float64 forward. Recognises a missing (1 − h²), (1 − a²) with the
 * pre-activation, (1 − h(t−1)²), W not transposed, the diagonal applied after Wᵀ, h(t) in
 * place of h(t−1) in ∂W, and a mean over the batch.
 *
 * @throws CheckFailure when a gradient is wrong or the function throws
 */
export function checkRnnStepBackward(fn: RnnStepBackward, options: RnnStepCheckOptions = {}): void {
  const where = "rnnStepBackward";
  const s = stepProblem(where, options);
  const { B, I, H, p } = s;
  const g = stepBackward64(s.x, s.hPrev, s.h, s.dh, p, B);

  // The wrong variants, each made from the reference with one mistake.
  const a = preActivation64(s.x, s.hPrev, p, B);
  const noDerivative = gradsFromDa64(s.dh, s.x, s.hPrev, p, B);
  const withA = gradsFromDa64(
    s.dh.map((d, k) => d * (1 - a[k] * a[k])),
    s.x,
    s.hPrev,
    p,
    B,
  );
  const atPrev = gradsFromDa64(
    s.dh.map((d, k) => d * (1 - s.hPrev[k] * s.hPrev[k])),
    s.x,
    s.hPrev,
    p,
    B,
  );
  const common = (q: keyof StepGrads64): Mistake[] => [
    mistake(
      "missing-tanh-derivative",
      noDerivative[q],
      "The tanh derivative is missing: ∇_a(t) L = diag(1 − h(t)²) ∇_h(t) L, i.e. `dh.mul(tf.sub(1, h.square()))`.",
    ),
    mistake("derivative-of-pre-activation", withA[q], "You used 1 − a²; tanh′(a) = 1 − tanh²(a) = 1 − h(t)², with h(t), not a(t)."),
    mistake("derivative-at-h-prev", atPrev[q], "The tanh derivative belongs to this step's output: 1 − h(t)², not 1 − h(t−1)²."),
  ];
  const mean = (v: Float64Array) => v.map((e) => e / B);
  const meanHint = "This is the mean over the batch: the gradient of the summed loss is the sum over the batch (no division by B).";
  const factorHints = {
    2: "is the tanh derivative 2(1 − h²)? d tanh(a)/da = 1 − tanh²(a), with no factor 2.",
    [-1]: "d tanh(a)/da = 1 − h², not h² − 1.",
  };
  const quantities: Quantity[] = [
    { key: "dx", name: "∂x(t)", shape: [B, I], want: g.dx, mistakes: common("dx") },
    {
      key: "dhPrev",
      name: "∂h(t−1)",
      shape: [B, H],
      want: g.dhPrev,
      mistakes: [
        ...common("dhPrev"),
        mistake(
          "w-not-transposed",
          mulT(g.da, p.W, B, H, H),
          "∇_h(t−1) L = Wᵀ ∇_a(t) L; with rows that is `tf.matMul(da, W)`, without transposing W.",
        ),
        mistake(
          "diagonal-after-w",
          mul(s.dh, p.W, B, H, H).map((v, k) => v * (1 - s.h[k] * s.h[k])),
          "The diagonal acts first: Wᵀ diag(1 − h(t)²) ∇_h(t) L, i.e. (dh ⊙ (1 − h²)) W. You applied (1 − h²) after W (the slide's order read literally).",
        ),
      ],
    },
    { key: "dU", name: "∂U", shape: [H, I], want: g.dU, mistakes: [...common("dU"), mistake("mean-over-batch", mean(g.dU), meanHint)] },
    {
      key: "dW",
      name: "∂W",
      shape: [H, H],
      want: g.dW,
      mistakes: [
        ...common("dW"),
        mistake(
          "dw-with-h",
          tMul(g.da, s.h, B, H, H),
          "∇_W L = ∇_a(t) L h(t−1)ᵀ: W multiplies the previous state h(t−1) (hPrev), not h(t).",
        ),
        mistake("mean-over-batch", mean(g.dW), meanHint),
      ],
    },
    { key: "db", name: "∂b", shape: [H], want: g.db, mistakes: [...common("db"), mistake("mean-over-batch", mean(g.db), meanHint)] },
  ];

  // Finite differences of f = Σ dh ⊙ h(t) through the float64 forward: the independent source.
  const f = () => dot(s.dh, stepForward64(s.x, s.hPrev, p, B));
  const fd: Record<string, Float64Array> = {
    dx: numericalGradient(f, s.x),
    dhPrev: numericalGradient(f, s.hPrev),
    dU: numericalGradient(f, p.U),
    dW: numericalGradient(f, p.W),
    db: numericalGradient(f, p.b),
  };
  for (const q of quantities) q.fd = fd[q.key];

  const tensors = stepTensors(s);
  let out: unknown;
  try {
    const r = runStudent(where, tensors.all, () => fn(tensors.x, tensors.hPrev, tensors.h, tensors.dh, tensors.p));
    out = r.out;
    const worst = compareFields(where, "{ dx, dhPrev, dU, dW, db }", r.out, quantities, factorHints);
    passed(where, "∂x(t), ∂h(t−1), ∂U, ∂W, ∂b match the float64 backward and finite differences of the float64 forward", worst);
    leakNote(where, r.leaked);
  } finally {
    disposeTensorsIn(tensors.all, out);
  }
}

/**
 * Checks the student's forward over a sequence, h(t) = tanh(b + W h(t−1) + U x(t)) for
 * t = 1 … T from h(0) = h0, against the float64 forward. The function is given the
 * library's `rnnStep` as `step`, so this checks the loop alone. Recognises h0 ignored, the
 * state not carried from step to step, h(0) … h(T−1) returned instead of h(1) … h(T), time
 * run backwards, and time-major [T, B, H] output.
 *
 * @throws CheckFailure when hs is wrong, `step` was never called, or the function throws
 */
export function checkRnnForward(fn: RnnForward, options: RnnSequenceCheckOptions = {}): void {
  const where = "rnnForward";
  const s = sequenceProblem(where, options);
  const { B, T, H } = s;
  const want = forward64(s.x, s.h0, s.p, B, T);
  const mistakes: Mistake[] = [
    mistake(
      "h0-ignored",
      forward64(s.x, s.h0, s.p, B, T, "h0-ignored"),
      "The first step must start from h0, the given initial state, not from zeros.",
    ),
    mistake(
      "state-not-carried",
      forward64(s.x, s.h0, s.p, B, T, "state-not-carried"),
      "Every step starts from h0: carry the state, h(t) = step(x(t), h(t−1), p).",
    ),
    mistake(
      "off-by-one",
      forward64(s.x, s.h0, s.p, B, T, "off-by-one"),
      "These are h(0) … h(T−1): return the state after each step, h(1) … h(T).",
    ),
    mistake("reversed-time", forward64(s.x, s.h0, s.p, B, T, "reversed-time"), "Time runs backwards: read x(1) first and x(T) last."),
    mistake(
      "reversed-time",
      forward64(s.x, s.h0, s.p, B, T, "reversed-output"),
      "The states are in reverse order: hs[:, t] must be h(t+1).",
    ),
  ];
  const tensors = sequenceTensors(s);
  let calls = 0;
  const step: RnnStepForward = (x, hPrev, p) => {
    calls++;
    return rnnStep(p, x, { h: hPrev }).h;
  };
  let out: unknown;
  try {
    const r = runStudent(where, tensors.all, () => fn(tensors.x, tensors.h0, tensors.p, step));
    out = r.out;
    if (calls === 0) stepNotUsed(where, "step", "rnnStepForward");
    timeMajorCheck(where, "hs", r.out, [B, T, H]);
    const worst = expectClose(where, "hs", r.out, want, { shape: [B, T, H], mistakes });
    passed(where, `hs = ${T === 1 ? "h(1) matches" : `h(1) … h(${T}) match`} the float64 forward`, worst);
    leakNote(where, r.leaked);
  } finally {
    disposeTensorsIn(tensors.all, out);
  }
}

/**
 * Checks the student's back-propagation through time (lecture: "Back Propagation in RNNs"):
 * ```
 * ∇_h(t) L = dhs(t) + Wᵀ diag(1 − h(t+1)²) ∇_h(t+1) L      (the second term is 0 at t = T)
 * ∇_U L = Σ_t ∇_a(t) L x(t)ᵀ,  ∇_W L = Σ_t ∇_a(t) L h(t−1)ᵀ,  ∇_b L = Σ_t ∇_a(t) L
 * ```
 * with ∇_x(t) L for every t and ∇_h(0) L, against the float64 BPTT and centred finite
 * differences of Σ_t dhs(t) ⊙ h(t) through the float64 forward. The function is given the
 * reference states hs (not the student's forward) and the library's `rnnStepBackward` as
 * `stepBackward`, so this checks the loop alone. Recognises the carried gradient forgotten,
 * dhs used only at the last step, h(t) and h(t−1) swapped, h0 ignored, time run forwards,
 * and gradients overwritten instead of summed over time.
 *
 * @throws CheckFailure when a gradient is wrong, `stepBackward` was never called, or the function throws
 */
export function checkRnnBackward(fn: RnnBackward, options: RnnSequenceCheckOptions = {}): void {
  const where = "rnnBackward";
  const s = sequenceProblem(where, options);
  const { B, T, I, H, p } = s;
  const hs = forward64(s.x, s.h0, p, B, T).map(Math.fround);
  const right = bptt64(s.x, s.h0, hs, s.dhs, p, B, T);
  const hints: Record<BpttMistake, string> = {
    "no-carried-gradient": "The gradient carried back from t+1 is missing: ∇_h(t) L = dhs(t) + (the dhPrev of step t+1), not dhs(t) alone.",
    "upstream-only-at-last-step": "dhs(t) is used only at t = T: every step adds its own dhs(t) to what comes back from t+1.",
    "h-prev-is-h": "The step before t is h(t−1): pass hPrev = h(t−1) (h0 at t = 1), not h(t).",
    "h-is-h-prev": "Pass h = h(t), this step's output (for 1 − h(t)²), not h(t−1).",
    "h0-ignored": "At t = 1 the previous state is h0, not zeros.",
    "forward-in-time": "BPTT runs backwards: from t = T down to t = 1, carrying the gradient to the step before.",
    "not-summed-over-time": "W, U, b are shared by every step: add up the steps' gradients (Σ_t), do not overwrite them.",
  };
  const variants = (Object.keys(hints) as BpttMistake[]).map((m) => ({ m, g: bptt64(s.x, s.h0, hs, s.dhs, p, B, T, m) }));
  const mistakesOf = (q: keyof SequenceGrads64): Mistake[] => variants.map((v) => mistake(v.m, v.g[q], hints[v.m]));
  const factorHints = { 2: "is a gradient added twice? ∇_h(t) L = dhs(t) + what came back from t+1, each once." };
  const quantities: Quantity[] = [
    { key: "dx", name: "∂x", shape: [B, T, I], want: right.dx, mistakes: mistakesOf("dx") },
    { key: "dh0", name: "∂h(0)", shape: [B, H], want: right.dh0, mistakes: mistakesOf("dh0") },
    { key: "dU", name: "∂U", shape: [H, I], want: right.dU, mistakes: mistakesOf("dU") },
    { key: "dW", name: "∂W", shape: [H, H], want: right.dW, mistakes: mistakesOf("dW") },
    { key: "db", name: "∂b", shape: [H], want: right.db, mistakes: mistakesOf("db") },
  ];

  // Finite differences of f = Σ_t dhs(t) ⊙ h(t) through the float64 forward.
  const f = () => dot(s.dhs, forward64(s.x, s.h0, p, B, T));
  const fd: Record<string, Float64Array> = {
    dx: numericalGradient(f, s.x),
    dh0: numericalGradient(f, s.h0),
    dU: numericalGradient(f, p.U),
    dW: numericalGradient(f, p.W),
    db: numericalGradient(f, p.b),
  };
  for (const q of quantities) q.fd = fd[q.key];

  const tensors = sequenceTensors(s);
  const hsTensor = tf.tensor3d(Float32Array.from(hs), [B, T, H]);
  const dhsTensor = tf.tensor3d(Float32Array.from(s.dhs), [B, T, H]);
  const inputs = [...tensors.all, hsTensor, dhsTensor];
  let calls = 0;
  const stepBackward: RnnStepBackward = (x, hPrev, h, dh, p) => {
    calls++;
    const g = libraryStepBackward(p, x, { h: hPrev }, { h }, { h: dh });
    return { dx: g.dx, dhPrev: g.dPrev.h, dU: g.dParams.U, dW: g.dParams.W, db: g.dParams.b };
  };
  let out: unknown;
  try {
    const r = runStudent(where, inputs, () => fn(tensors.x, tensors.h0, hsTensor, dhsTensor, tensors.p, stepBackward));
    out = r.out;
    if (calls === 0) stepNotUsed(where, "stepBackward", "rnnStepBackward");
    if (isObject(r.out)) timeMajorCheck(where, "∂x", r.out.dx, [B, T, I]);
    const worst = compareFields(where, "{ dx, dh0, dU, dW, db }", r.out, quantities, factorHints);
    passed(
      where,
      `∂x, ∂h(0), ∂U, ∂W, ∂b over T = ${T} step${T === 1 ? "" : "s"} match the float64 BPTT and finite differences of the float64 forward`,
      worst,
    );
    leakNote(where, r.leaked);
  } finally {
    disposeTensorsIn(inputs, out);
  }
}

/**
 * Checks the student's readout and loss with their gradients (lecture: "Back Propagation in RNNs"):
 * ```
 * o(t) = c + V h(t),  ŷ(t) = softmax(o(t)),  L = −Σ_t log ŷ_{y(t)}(t)   (summed over the batch)
 * (∇_o(t) L)_i = ŷ_i(t) − 1_{i, y(t)}
 * dhs(t) = Vᵀ ∇_o(t) L,  ∇_V L = Σ_t ∇_o(t) L h(t)ᵀ,  ∇_c L = Σ_t ∇_o(t) L
 * ```
 * L against the float64 loss, the gradients against the float64 ones and against centred
 * finite differences of the float64 loss. Recognises a mean instead of a sum, ∇_o L = ŷ
 * without the one-hot, the softmax over time instead of the classes, and c left out.
 *
 * @throws CheckFailure when L or a gradient is wrong or the function throws
 */
export function checkReadoutLoss(fn: ReadoutLoss, options: ReadoutLossCheckOptions = {}): void {
  const where = "readoutLoss";
  checkKeys(`check${capitalised(where)}`, options, READOUT_KEYS);
  const { seed = 1, B = 3, T = 4, H = 5, K = 3, scale = 1, logitShift = 0 } = options;
  sizes(where, { B, T, H, K });
  const rng = new Rng(seed);
  const r: Readout64 = {
    B,
    T,
    H,
    K,
    hs: float32s(B * T * H, () => Math.tanh(1.5 * rng.normal())),
    V: float32s(K * H, () => scale * rng.normal()),
    c: float32s(K, () => logitShift + 0.5 * scale * rng.normal()),
    y: Int32Array.from({ length: B * T }, () => rng.int(K)),
  };
  const right = readout64(r);
  const hints: Record<ReadoutMistake, string> = {
    "mean-not-sum": "This is the mean over the batch and time: L is the sum, −Σ log ŷ_{y(t)}(t), with no division.",
    "mean-over-batch": "This is divided by B: L is summed over the batch, not averaged.",
    "missing-one-hot": "∇_o(t) L = ŷ(t) − 1_{y(t)}: subtract the one-hot of the target (`tf.oneHot(y, K)`).",
    "softmax-over-time": "The softmax must run over the K classes (the last axis), not over time.",
    "missing-bias-c": "The bias c is missing: o(t) = c + V h(t).",
  };
  const variants = (Object.keys(hints) as ReadoutMistake[]).map((m) => ({ m, g: readout64(r, m) }));
  const mistakesOf = (q: keyof ReadoutGrads64): Mistake[] =>
    variants.map((v) => {
      const value = v.g[q];
      return mistake(v.m, typeof value === "number" ? Float64Array.of(value) : value, hints[v.m]);
    });
  const factorHints = { [-1]: "L = −Σ log ŷ and ∇_o L = ŷ − 1_y: check the signs." };

  const f = () => readout64(r).loss;
  const quantities: Quantity[] = [
    { key: "loss", name: "L", shape: [], want: Float64Array.of(right.loss), mistakes: mistakesOf("loss") },
    { key: "dhs", name: "∂h (dhs)", shape: [B, T, H], want: right.dhs, mistakes: mistakesOf("dhs"), fd: numericalGradient(f, r.hs) },
    { key: "dV", name: "∂V", shape: [K, H], want: right.dV, mistakes: mistakesOf("dV"), fd: numericalGradient(f, r.V) },
    { key: "dc", name: "∂c", shape: [K], want: right.dc, mistakes: mistakesOf("dc"), fd: numericalGradient(f, r.c) },
  ];

  const hs = tf.tensor3d(Float32Array.from(r.hs), [B, T, H]);
  const y = tf.tensor2d(r.y, [B, T], "int32");
  const V = tf.tensor2d(Float32Array.from(r.V), [K, H]);
  const c = tf.tensor1d(Float32Array.from(r.c));
  const inputs = [hs, y, V, c];
  let out: unknown;
  try {
    const result = runStudent(where, inputs, () => fn(hs, y, { V, c }));
    out = result.out;
    const worst = compareFields(where, "{ loss, dhs, dV, dc }", result.out, quantities, factorHints);
    passed(where, "L, ∂h, ∂V, ∂c match the float64 loss, its gradients, and its finite differences", worst);
    leakNote(where, result.leaked);
  } finally {
    disposeTensorsIn(inputs, out);
  }
}

// Comparing --------------------------------------------------------------------------------------

/** One quantity a check compares: the student's field `key`, named `name` in messages. */
interface Quantity {
  key: string;
  name: string;
  shape: number[];
  want: Float64Array;
  mistakes: Mistake[];
  /** Centred finite differences of the float64 forward, when the quantity is a gradient. */
  fd?: Float64Array;
}

function mistake(name: string, value: Float64Array, hint: string): Mistake {
  return { name, value, hint };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !(v instanceof tf.Tensor);
}

/** Compares each field of the student's result with the reference and the finite differences; returns the worst error. */
function compareFields(where: string, form: string, out: unknown, quantities: Quantity[], factorHints: Record<number, string>): number {
  if (!isObject(out)) {
    const got = out instanceof tf.Tensor ? "a tensor" : out === undefined ? "nothing" : typeof out;
    throw new CheckFailure(`${where} must return an object ${form}, got ${got}.`, where, NaN, "shape");
  }
  let worst = 0;
  for (const q of quantities) {
    if (!(q.key in out) || out[q.key] === undefined) {
      const keys = Object.keys(out);
      throw new CheckFailure(
        `${where}: ${q.name} is missing: return it as \`${q.key}\` in ${form} (the function returned { ${keys.join(", ")} }).`,
        q.name,
        NaN,
        "missing",
      );
    }
    const got = out[q.key] as tf.Tensor | number;
    const options = { shape: q.shape, mistakes: q.mistakes, factorHints };
    worst = Math.max(worst, expectClose(where, q.name, got, q.want, options));
    if (q.fd) worst = Math.max(worst, expectClose(where, `${q.name} (against finite differences)`, got, q.fd, options));
  }
  return worst;
}

/** A [T, B, …] answer where [B, T, …] is expected: the steps were stacked on the wrong axis. */
function timeMajorCheck(where: string, quantity: string, got: unknown, shape: readonly [number, number, number]): void {
  if (!(got instanceof tf.Tensor)) return;
  const [B, T, n] = shape;
  if (B !== T && got.rank === 3 && got.shape[0] === T && got.shape[1] === B && got.shape[2] === n) {
    throw new CheckFailure(
      `${where}: ${quantity} has shape [${got.shape.join(", ")}], expected [${shape.join(", ")}]. ` +
        "It is time-major, [T, B, …]: stack the steps on axis 1 (`tf.stack(list, 1)`), the batch stays first.",
      quantity,
      NaN,
      "time-major",
    );
  }
}

function stepNotUsed(where: string, argument: string, own: string): never {
  throw new CheckFailure(
    `${where} never called \`${argument}\`, the step function it was given: call \`${argument}(…)\` inside the loop ` +
      `rather than ${own} directly (the check passes the library's step, to test your loop alone).`,
    argument,
    NaN,
    "step-not-used",
  );
}

// Running the student's function ----------------------------------------------------------------

/** The distinct tensors inside any value (arrays and plain objects are searched). */
function tensorsIn(x: unknown, found = new Set<tf.Tensor>()): Set<tf.Tensor> {
  if (x instanceof tf.Tensor) found.add(x);
  else if (Array.isArray(x)) for (const v of x) tensorsIn(v, found);
  else if (x !== null && typeof x === "object") for (const v of Object.values(x)) tensorsIn(v, found);
  return found;
}

function disposeTensorsIn(...things: unknown[]): void {
  for (const t of tensorsIn(things)) t.dispose();
}

/**
 * Runs the student's function inside a `tf.tidy` (so that nothing it makes outlives the
 * check, even when it throws) and counts the tensors it made but neither disposed nor returned.
 */
function runStudent<R>(where: string, inputs: readonly tf.Tensor[], run: () => R): { out: R; leaked: number } {
  let leaked = 0;
  const out = callStudent(where, () =>
    tf.tidy(() => {
      const before = tf.memory().numTensors;
      const result = run();
      const returned = [...tensorsIn(result)].filter((t) => !inputs.includes(t) && !t.isDisposed).length;
      leaked = Math.max(0, tf.memory().numTensors - before - returned);
      return result as unknown as tf.TensorContainer;
    }),
  ) as unknown as R;
  return { out, leaked };
}

function leakNote(where: string, leaked: number): void {
  if (leaked > 0) {
    console.log(
      `  note: ${where} left ${leaked} tensor${leaked === 1 ? "" : "s"} undisposed (wrap its body in tf.tidy); the check disposed them.`,
    );
  }
}

// Inputs -----------------------------------------------------------------------------------------

/** The parameters on the float64 path: U [H, I], W [H, H], b [H], row-major. */
interface Params64 {
  I: number;
  H: number;
  U: Float64Array;
  W: Float64Array;
  b: Float64Array;
}

/** n numbers from `draw`, each rounded to float32 so that the student's tensors hold exactly these numbers. */
function float32s(n: number, draw: () => number): Float64Array {
  return Float64Array.from({ length: n }, () => Math.fround(draw()));
}

function capitalised(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}

function sizes(where: string, given: Record<string, number>): void {
  for (const [k, v] of Object.entries(given)) checkSize(`check${capitalised(where)}`, k, v, `the size ${k}`);
}

function params64(rng: Rng, I: number, H: number, scale: number): Params64 {
  return {
    I,
    H,
    U: float32s(H * I, () => 0.5 * scale * rng.normal()),
    W: float32s(H * H, () => 0.5 * scale * rng.normal()),
    b: float32s(H, () => 0.3 * scale * rng.normal()),
  };
}

function paramTensors(p: Params64): RnnParams {
  return {
    U: tf.tensor2d(Float32Array.from(p.U), [p.H, p.I]),
    W: tf.tensor2d(Float32Array.from(p.W), [p.H, p.H]),
    b: tf.tensor1d(Float32Array.from(p.b)),
  };
}

/** One step's inputs: x(t), h(t−1), the parameters, h(t) (rounded to float32) and an upstream ∇_h(t) L. */
interface StepProblem {
  B: number;
  I: number;
  H: number;
  p: Params64;
  x: Float64Array;
  hPrev: Float64Array;
  h: Float64Array;
  dh: Float64Array;
}

function stepProblem(where: string, options: RnnStepCheckOptions): StepProblem {
  checkKeys(`check${capitalised(where)}`, options, STEP_KEYS);
  const { seed = 1, B = 3, I = 4, H = 5, scale = 1 } = options;
  sizes(where, { B, I, H });
  const rng = new Rng(seed);
  const p = params64(rng, I, H, scale);
  const x = float32s(B * I, () => rng.normal());
  const hPrev = float32s(B * H, () => Math.tanh(rng.normal()));
  const dh = float32s(B * H, () => rng.normal());
  const h = stepForward64(x, hPrev, p, B).map(Math.fround);
  return { B, I, H, p, x, hPrev, h, dh };
}

function stepTensors(s: StepProblem) {
  const p = paramTensors(s.p);
  const x = tf.tensor2d(Float32Array.from(s.x), [s.B, s.I]);
  const hPrev = tf.tensor2d(Float32Array.from(s.hPrev), [s.B, s.H]);
  const h = tf.tensor2d(Float32Array.from(s.h), [s.B, s.H]);
  const dh = tf.tensor2d(Float32Array.from(s.dh), [s.B, s.H]);
  return { p, x, hPrev, h, dh, all: [p.U, p.W, p.b, x, hPrev, h, dh] };
}

/** A sequence's inputs: x [B, T, I], h0 [B, H], the parameters, and an upstream dhs [B, T, H]. */
interface SequenceProblem {
  B: number;
  T: number;
  I: number;
  H: number;
  p: Params64;
  x: Float64Array;
  h0: Float64Array;
  dhs: Float64Array;
}

function sequenceProblem(where: string, options: RnnSequenceCheckOptions): SequenceProblem {
  checkKeys(`check${capitalised(where)}`, options, SEQUENCE_KEYS);
  const { seed = 1, B = 3, T = 6, I = 4, H = 5, scale = 1 } = options;
  sizes(where, { B, T, I, H });
  const rng = new Rng(seed);
  const p = params64(rng, I, H, scale);
  const x = float32s(B * T * I, () => rng.normal());
  const h0 = float32s(B * H, () => Math.tanh(rng.normal()));
  const dhs = float32s(B * T * H, () => rng.normal());
  return { B, T, I, H, p, x, h0, dhs };
}

function sequenceTensors(s: SequenceProblem) {
  const p = paramTensors(s.p);
  const x = tf.tensor3d(Float32Array.from(s.x), [s.B, s.T, s.I]);
  const h0 = tf.tensor2d(Float32Array.from(s.h0), [s.B, s.H]);
  return { p, x, h0, all: [p.U, p.W, p.b, x, h0] };
}

// The float64 reference --------------------------------------------------------------------------

/** A [n, k] times M [m, k] transposed: [n, m] (a batch of rows times a matrix stored [out, in]). */
function mulT(A: Float64Array, M: Float64Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < m; c++) {
      let acc = 0;
      for (let j = 0; j < k; j++) acc += A[r * k + j] * M[c * k + j];
      out[r * m + c] = acc;
    }
  return out;
}

/** A [n, k] times M [k, m]: [n, m]. */
function mul(A: Float64Array, M: Float64Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < k; j++) {
      const a = A[r * k + j];
      for (let c = 0; c < m; c++) out[r * m + c] += a * M[j * m + c];
    }
  return out;
}

/** A [n, k] transposed times M [n, m]: [k, m], the sum over the n rows of outer products. */
function tMul(A: Float64Array, M: Float64Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(k * m);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < k; j++) {
      const a = A[r * k + j];
      for (let c = 0; c < m; c++) out[j * m + c] += a * M[r * m + c];
    }
  return out;
}

/** The sum of the n rows of A [n, m]: [m]. */
function sumRows(A: Float64Array, n: number, m: number): Float64Array {
  const out = new Float64Array(m);
  for (let r = 0; r < n; r++) for (let c = 0; c < m; c++) out[c] += A[r * m + c];
  return out;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let acc = 0;
  for (let k = 0; k < a.length; k++) acc += a[k] * b[k];
  return acc;
}

/** a(t) = b + W h(t−1) + U x(t), [B, H]. */
function preActivation64(x: Float64Array, hPrev: Float64Array, p: Params64, B: number, wrong?: StepForwardMistake): Float64Array {
  const { I, H } = p;
  const Wh = wrong === "w-not-transposed" ? mul(hPrev, p.W, B, H, H) : mulT(hPrev, p.W, B, H, H);
  const Ux = wrong === "u-not-transposed" ? mul(x, p.U, B, I, H) : mulT(x, p.U, B, I, H);
  const withBias = wrong !== "missing-bias";
  return Wh.map((v, k) => v + Ux[k] + (withBias ? p.b[k % H] : 0));
}

type StepForwardMistake = "w-not-transposed" | "u-not-transposed" | "missing-bias" | "missing-tanh" | "sigmoid-not-tanh";

/** h(t) = tanh(a(t)), [B, H] (or a wrong variant). */
function stepForward64(x: Float64Array, hPrev: Float64Array, p: Params64, B: number, wrong?: StepForwardMistake): Float64Array {
  const a = preActivation64(x, hPrev, p, B, wrong);
  if (wrong === "missing-tanh") return a;
  if (wrong === "sigmoid-not-tanh") return a.map((v) => 1 / (1 + Math.exp(-v)));
  return a.map(Math.tanh);
}

interface StepGrads64 {
  dx: Float64Array;
  dhPrev: Float64Array;
  dU: Float64Array;
  dW: Float64Array;
  db: Float64Array;
}

/** The gradients of one step given ∇_a(t) L = da [B, H]. */
function gradsFromDa64(da: Float64Array, x: Float64Array, hPrev: Float64Array, p: Params64, B: number): StepGrads64 {
  const { I, H } = p;
  return {
    dx: mul(da, p.U, B, H, I), // Uᵀ ∇_a L, as rows
    dhPrev: mul(da, p.W, B, H, H), // Wᵀ ∇_a L, as rows
    dU: tMul(da, x, B, H, I), // Σ_batch ∇_a L x(t)ᵀ
    dW: tMul(da, hPrev, B, H, H), // Σ_batch ∇_a L h(t−1)ᵀ
    db: sumRows(da, B, H), // Σ_batch ∇_a L
  };
}

/** One step back: ∇_a(t) L = diag(1 − h(t)²) dh, then {@link gradsFromDa64}. */
function stepBackward64(
  x: Float64Array,
  hPrev: Float64Array,
  h: Float64Array,
  dh: Float64Array,
  p: Params64,
  B: number,
): StepGrads64 & { da: Float64Array } {
  const da = dh.map((d, k) => d * (1 - h[k] * h[k]));
  return { ...gradsFromDa64(da, x, hPrev, p, B), da };
}

/** Row block t of a [B, T, n] array: [B, n]. */
function atTime(a: Float64Array, B: number, T: number, n: number, t: number): Float64Array {
  const out = new Float64Array(B * n);
  for (let r = 0; r < B; r++) out.set(a.subarray((r * T + t) * n, (r * T + t + 1) * n), r * n);
  return out;
}

function putTime(a: Float64Array, B: number, T: number, n: number, t: number, v: Float64Array): void {
  for (let r = 0; r < B; r++) a.set(v.subarray(r * n, (r + 1) * n), (r * T + t) * n);
}

type ForwardMistake = "h0-ignored" | "state-not-carried" | "off-by-one" | "reversed-time" | "reversed-output";

/** hs = h(1) … h(T), [B, T, H] (or a wrong variant). */
function forward64(x: Float64Array, h0: Float64Array, p: Params64, B: number, T: number, wrong?: ForwardMistake): Float64Array {
  const { I, H } = p;
  const hs = new Float64Array(B * T * H);
  let h = wrong === "h0-ignored" ? new Float64Array(B * H) : h0;
  for (let k = 0; k < T; k++) {
    const t = wrong === "reversed-time" ? T - 1 - k : k;
    const next = stepForward64(atTime(x, B, T, I, t), wrong === "state-not-carried" ? h0 : h, p, B);
    if (wrong === "off-by-one") putTime(hs, B, T, H, t, h);
    else if (wrong === "reversed-output") putTime(hs, B, T, H, T - 1 - t, next);
    else putTime(hs, B, T, H, t, next);
    h = next;
  }
  return hs;
}

interface SequenceGrads64 {
  dx: Float64Array;
  dh0: Float64Array;
  dU: Float64Array;
  dW: Float64Array;
  db: Float64Array;
}

type BpttMistake =
  | "no-carried-gradient"
  | "upstream-only-at-last-step"
  | "h-prev-is-h"
  | "h-is-h-prev"
  | "h0-ignored"
  | "forward-in-time"
  | "not-summed-over-time";

/** BPTT from t = T down to 1: ∇_h(t) L = dhs(t) + what step t+1 sent back (or a wrong variant). */
function bptt64(
  x: Float64Array,
  h0: Float64Array,
  hs: Float64Array,
  dhs: Float64Array,
  p: Params64,
  B: number,
  T: number,
  wrong?: BpttMistake,
): SequenceGrads64 {
  const { I, H } = p;
  const g: SequenceGrads64 = {
    dx: new Float64Array(B * T * I),
    dh0: new Float64Array(B * H),
    dU: new Float64Array(H * I),
    dW: new Float64Array(H * H),
    db: new Float64Array(H),
  };
  let carried: Float64Array = new Float64Array(B * H);
  for (let k = 0; k < T; k++) {
    const t = wrong === "forward-in-time" ? k : T - 1 - k;
    const upstream = atTime(dhs, B, T, H, t);
    const dh =
      wrong === "no-carried-gradient"
        ? upstream
        : wrong === "upstream-only-at-last-step" && t < T - 1
          ? carried
          : upstream.map((v, j) => v + carried[j]);
    const h = atTime(hs, B, T, H, t);
    const hPrev = t > 0 ? atTime(hs, B, T, H, t - 1) : wrong === "h0-ignored" ? new Float64Array(B * H) : h0;
    const step = stepBackward64(atTime(x, B, T, I, t), wrong === "h-prev-is-h" ? h : hPrev, wrong === "h-is-h-prev" ? hPrev : h, dh, p, B);
    putTime(g.dx, B, T, I, t, step.dx);
    for (const q of ["dU", "dW", "db"] as const) {
      if (wrong === "not-summed-over-time") g[q] = step[q];
      else g[q] = g[q].map((v, j) => v + step[q][j]);
    }
    carried = step.dhPrev;
  }
  g.dh0 = carried;
  return g;
}

/** The readout's problem: hs [B, T, H], V [K, H], c [K], y [B, T]. */
interface Readout64 {
  B: number;
  T: number;
  H: number;
  K: number;
  hs: Float64Array;
  V: Float64Array;
  c: Float64Array;
  y: Int32Array;
}

interface ReadoutGrads64 {
  loss: number;
  dhs: Float64Array;
  dV: Float64Array;
  dc: Float64Array;
}

type ReadoutMistake = "mean-not-sum" | "mean-over-batch" | "missing-one-hot" | "softmax-over-time" | "missing-bias-c";

/** o = c + V h, ŷ = softmax(o) over the classes, L = −Σ log ŷ_y, and its gradients (or a wrong variant). */
function readout64(r: Readout64, wrong?: ReadoutMistake): ReadoutGrads64 {
  const { B, T, H, K } = r;
  const n = B * T;
  const o = mulT(r.hs, r.V, n, H, K); // [B·T, K]
  if (wrong !== "missing-bias-c") for (let k = 0; k < n * K; k++) o[k] += r.c[k % K];
  const logYhat = new Float64Array(n * K);
  if (wrong === "softmax-over-time") {
    for (let b = 0; b < B; b++)
      for (let k = 0; k < K; k++) {
        const at = (t: number) => (b * T + t) * K + k;
        let m = -Infinity;
        for (let t = 0; t < T; t++) m = Math.max(m, o[at(t)]);
        let z = 0;
        for (let t = 0; t < T; t++) z += Math.exp(o[at(t)] - m);
        for (let t = 0; t < T; t++) logYhat[at(t)] = o[at(t)] - m - Math.log(z);
      }
  } else {
    for (let row = 0; row < n; row++) {
      let m = -Infinity;
      for (let k = 0; k < K; k++) m = Math.max(m, o[row * K + k]);
      let z = 0;
      for (let k = 0; k < K; k++) z += Math.exp(o[row * K + k] - m);
      for (let k = 0; k < K; k++) logYhat[row * K + k] = o[row * K + k] - m - Math.log(z);
    }
  }
  let loss = 0;
  const dO = logYhat.map(Math.exp); // ŷ
  for (let row = 0; row < n; row++) {
    loss -= logYhat[row * K + r.y[row]];
    if (wrong !== "missing-one-hot") dO[row * K + r.y[row]] -= 1; // ŷ − 1_y
  }
  const divisor = wrong === "mean-not-sum" ? n : wrong === "mean-over-batch" ? B : 1;
  const scaled = (v: Float64Array) => v.map((e) => e / divisor);
  return {
    loss: loss / divisor,
    dhs: scaled(mul(dO, r.V, n, K, H)), // Vᵀ ∇_o L, as rows
    dV: scaled(tMul(dO, r.hs, n, K, H)), // Σ ∇_o L h(t)ᵀ
    dc: scaled(sumRows(dO, n, K)), // Σ ∇_o L
  };
}
