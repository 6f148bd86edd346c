/**
 * Assignment 2 · "Gated cells: the LSTM with peepholes and the GRU" — the checks the
 * student runs (coursework/assignments/02-lstm-and-gru.ipynb).
 *
 * The student writes four functions, one step each, in the lecture's conventions exactly as
 * seqlab's cells implement them (src/cells/lstm/lstm.ts, src/cells/gru/gru.ts):
 * ```
 * LSTM (Graves, peepholes)                                  GRU (the lecture's slide)
 * i = σ(U_ι x + W_ι h(t−1) + w_cι ⊙ s(t−1) + β_ι)           r = σ(U_r x + W_r h(t−1) + b_r)
 * f = σ(U_φ x + W_φ h(t−1) + w_cφ ⊙ s(t−1) + β_φ)           z = σ(U_z x + W_z h(t−1) + b_z)
 * g = tanh(U_c x + W_c h(t−1) + β_c)                        h̃ = tanh(U_n x + W_n (r ⊙ h(t−1)) + b_n)
 * s(t) = f ⊙ s(t−1) + i ⊙ g                                 h(t) = (1 − z) ⊙ h(t−1) + z ⊙ h̃
 * o = σ(U_ω x + W_ω h(t−1) + w_cω ⊙ s(t) + β_ω)
 * h(t) = o ⊙ tanh(s(t))
 * ```
 * and the backward step of each. Every check draws seeded inputs, calls the student's
 * function, and compares each quantity with the float64 reference (the cells' `reference`);
 * the backward checks also compare with centred finite differences of the float64 forward,
 * which share no code with any hand-derived backward. A wrong quantity throws a
 * {@link CheckFailure} naming it and, where it matches a known mistake (computed from the
 * reference with the mistake made on purpose), what that mistake is.
 *
 * Each check tests its function alone: the backward checks give the student's backward the
 * gates computed by the reference, never by the student's forward.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D } from "@tensorflow/tfjs";
import type { LstmParams, LstmState, LstmStepOutput } from "../cells/lstm/lstm";
import type { GruParams, GruStepOutput } from "../cells/gru/gru";
import { lstmRef } from "../cells/lstm/reference";
import { gruRef } from "../cells/gru/reference";
import type { RefParams, RefVectors } from "../grad/f64/cell";
import { addMatTVec, addOuter, addVec, map, matVec, sigmoid, zerosF64, type F64 } from "../grad/f64/linalg";
import { numericalGradientArray, scaledError } from "../grad/gradcheck";
import { Rng } from "../init";
import { CheckFailure, callStudent, expectClose, fmtError, numbersOf, passed, type Mistake } from "./compare";

// The student's functions ---------------------------------------------------------------------

/**
 * One LSTM step forward (lecture: "LSTM Cell"; seqlab's `lstmStep`), rows of a batch:
 * ```
 * i(t) = σ(x Uᵢᵀ + h(t−1) Wᵢᵀ + w_cι ⊙ s(t−1) + βᵢ)      b_ι, input gate
 * f(t) = σ(x U_fᵀ + h(t−1) W_fᵀ + w_cφ ⊙ s(t−1) + β_f)  b_φ, forget gate
 * g(t) = tanh(x U_gᵀ + h(t−1) W_gᵀ + β_g)               g(a_c), cell input
 * s(t) = f ⊙ s(t−1) + i ⊙ g                             cell state
 * o(t) = σ(x U_oᵀ + h(t−1) W_oᵀ + w_cω ⊙ s(t) + β_o)    b_ω, output gate (reads the new s(t))
 * h(t) = o ⊙ tanh(s(t))                                 cell output b_c
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x | [B, I] | x(t) |
 * | prev.h, prev.s | [B, H] | h(t−1), s(t−1) |
 * | p.U, p.W, p.b | [4H, I], [4H, H], [4H] | blocks stacked i, f, g, o (PyTorch's order) |
 * | p.wci, p.wcf, p.wco | [H] | peepholes w_cι, w_cφ, w_cω (always given here) |
 *
 * Returns `{ h, s, i, f, g, o }`, all [B, H] (seqlab's `LstmStepOutput`).
 */
export type LstmStepForward = (x: Tensor2D, prev: LstmState, p: LstmParams) => LstmStepOutput;

/** What the student's LSTM backward step returns: ∂L/∂ every input of the step. */
export interface LstmStepGradients {
  /** ∇_x(t) L, [B, I]. */
  dx: Tensor2D;
  /** ∇_h(t−1) L, [B, H]. */
  dhPrev: Tensor2D;
  /** ∇_s(t−1) L, [B, H]. */
  dsPrev: Tensor2D;
  /** ∇_U L, [4H, I] (summed over the batch). */
  dU: Tensor2D;
  /** ∇_W L, [4H, H]. */
  dW: Tensor2D;
  /** ∇_b L, [4H]. */
  db: Tensor1D;
  /** ∇_w_cι L, [H]. */
  dwci: Tensor1D;
  /** ∇_w_cφ L, [H]. */
  dwcf: Tensor1D;
  /** ∇_w_cω L, [H]. */
  dwco: Tensor1D;
}

/**
 * One LSTM step backward (Graves 2012, §4.6; seqlab's `lstmStepBackward`). Given
 * dNext = {h: ∇_h(t) L, s: ∇_s(t) L} and the step's inputs and gates (`out`, as the
 * forward returned them), with σ' = σ(1 − σ) and tanh' = 1 − tanh²:
 * ```
 * δ_ω = ∇_h L ⊙ tanh(s(t)) ⊙ o(1 − o)
 * ε_s = ∇_s L + ∇_h L ⊙ o ⊙ (1 − tanh²(s(t))) + w_cω ⊙ δ_ω
 * δ_ι = ε_s ⊙ g ⊙ i(1 − i),   δ_φ = ε_s ⊙ s(t−1) ⊙ f(1 − f),   δ_c = ε_s ⊙ i ⊙ (1 − g²)
 * ∇_s(t−1) L = ε_s ⊙ f + w_cι ⊙ δ_ι + w_cφ ⊙ δ_φ
 * δ = [δ_ι, δ_φ, δ_c, δ_ω]:  ∇_h(t−1) L = δ W,  ∇_x L = δ U,  ∇_U L = δᵀ x,  ∇_W L = δᵀ h(t−1),  ∇_b L = Σ δ
 * ∇_w_cι L = Σ δ_ι ⊙ s(t−1),  ∇_w_cφ L = Σ δ_φ ⊙ s(t−1),  ∇_w_cω L = Σ δ_ω ⊙ s(t)
 * ```
 * (Σ over the batch rows.)
 */
export type LstmStepBackward = (dNext: LstmState, x: Tensor2D, prev: LstmState, p: LstmParams, out: LstmStepOutput) => LstmStepGradients;

/**
 * One GRU step forward, the lecture's convention (seqlab's `gruStep`), rows of a batch:
 * ```
 * r(t) = σ(x U_rᵀ + h(t−1) W_rᵀ + b_r)
 * z(t) = σ(x U_zᵀ + h(t−1) W_zᵀ + b_z)
 * h̃(t) = tanh(x U_nᵀ + (r ⊙ h(t−1)) W_nᵀ + b_n)      reset BEFORE the product
 * h(t) = (1 − z) ⊙ h(t−1) + z ⊙ h̃                    z weighs the NEW candidate
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x | [B, I] | x(t) |
 * | hPrev | [B, H] | h(t−1) |
 * | p.U, p.W, p.b | [3H, I], [3H, H], [3H] | blocks stacked r, z, n (PyTorch's order) |
 *
 * Returns `{ h, r, z, n }` (n = h̃), all [B, H] (seqlab's `GruStepOutput`).
 */
export type GruStepForward = (x: Tensor2D, hPrev: Tensor2D, p: GruParams) => GruStepOutput;

/** What the student's GRU backward step returns. */
export interface GruStepGradients {
  /** ∇_x(t) L, [B, I]. */
  dx: Tensor2D;
  /** ∇_h(t−1) L, [B, H]. */
  dhPrev: Tensor2D;
  /** ∇_U L, [3H, I] (summed over the batch). */
  dU: Tensor2D;
  /** ∇_W L, [3H, H]. */
  dW: Tensor2D;
  /** ∇_b L, [3H]. */
  db: Tensor1D;
}

/**
 * One GRU step backward (seqlab's `gruStepBackward`). Given dh = ∇_h(t) L and the step's
 * inputs and gates (`out`):
 * ```
 * δ_z = dh ⊙ (h̃ − h(t−1)) ⊙ z(1 − z),    δ_n = dh ⊙ z ⊙ (1 − h̃²)
 * d(r⊙h) = δ_n W_n,                       δ_r = d(r⊙h) ⊙ h(t−1) ⊙ r(1 − r)
 * ∇_h(t−1) L = dh ⊙ (1 − z) + d(r⊙h) ⊙ r + δ_r W_r + δ_z W_z
 * δ = [δ_r, δ_z, δ_n]:  ∇_x L = δ U,  ∇_U L = δᵀ x,  ∇_b L = Σ δ
 * ∇_W L = [δ_rᵀ h(t−1); δ_zᵀ h(t−1); δ_nᵀ (r ⊙ h(t−1))]
 * ```
 */
export type GruStepBackward = (dh: Tensor2D, x: Tensor2D, hPrev: Tensor2D, p: GruParams, out: GruStepOutput) => GruStepGradients;

/** Options of every check in this module: the seed and sizes of the drawn inputs. */
export interface GatedCheckOptions {
  /** Seed of the inputs, parameters and upstream gradients (default 0). */
  seed?: number;
  /** B: rows in the batch (default 3). */
  B?: number;
  /** I: size of x(t) (default 4). */
  I?: number;
  /** H: hidden size (default 5). */
  H?: number;
  /** Parameters are drawn uniform in [−scale, scale) (default 1; 3 or more saturates many gates). */
  scale?: number;
}

// The checks ----------------------------------------------------------------------------------------

/**
 * Checks the student's {@link LstmStepForward}: the gates i, f, g, o, the cell state s(t)
 * and the output h(t), in the order they are computed, against seqlab's float64 LSTM
 * (`lstmCell.reference`). Prints one ✓ line; throws a {@link CheckFailure} at the first
 * wrong quantity.
 */
export function checkLstmStepForward(fn: LstmStepForward, options: GatedCheckOptions = {}): void {
  const where = "lstmStepForward";
  const c = lstmCase(where, options);
  const want = lstmForward64(c, "none");
  const variants = LSTM_FORWARD_MISTAKES.map((m) => ({ ...m, out: lstmForward64(c, m.name) }));
  inScope(where, () => {
    const t = lstmTensors(c);
    const got = runStudent(where, t.all, () => fn(t.x, { h: t.h, s: t.s }, t.p));
    expectObject(where, got, "{ h, s, i, f, g, o }");
    let worst = 0;
    for (const [key, label] of LSTM_FORWARD_QUANTITIES) {
      const mistakes = variants.map((v) => ({ name: v.name, hint: v.hint, value: v.out[key] }));
      worst = Math.max(
        worst,
        expectClose(where, label, got[key], want[key], { shape: [c.B, c.H], mistakes: relevant(mistakes, want[key]) }),
      );
    }
    passed(where, "the gates b_ι, b_φ, g, b_ω, the cell state s(t) and h(t) match the float64 reference", worst);
  });
}

/**
 * Checks the student's {@link LstmStepBackward}: every gradient it returns against the
 * float64 hand backward (`lstmCell.reference`) and against centred finite differences
 * (h = 1e−5) of the float64 forward, the independent check. The backward is given the
 * reference's gates, so a wrong forward cannot fail it. Prints one ✓ line; throws a
 * {@link CheckFailure} at the first wrong quantity.
 */
export function checkLstmStepBackward(fn: LstmStepBackward, options: GatedCheckOptions = {}): void {
  const where = "lstmStepBackward";
  const c = lstmCase(where, options);
  const out = lstmForward64(c, "none");
  const want = lstmBackward64Ref(c, out);
  const numeric = lstmNumeric(c);
  assertReferenceAgrees(where, want, numeric);
  const variants = LSTM_BACKWARD_MISTAKES.map((m) => ({ ...m, grads: lstmBackward64(c, out, m.name) }));
  const { B, I, H } = c;
  const shapes: Record<LstmGradKey, number[]> = {
    db: [4 * H],
    dsPrev: [B, H],
    dhPrev: [B, H],
    dx: [B, I],
    dU: [4 * H, I],
    dW: [4 * H, H],
    dwci: [H],
    dwcf: [H],
    dwco: [H],
  };
  inScope(where, () => {
    const t = lstmTensors(c);
    const outT = tensorsOf(out, [B, H]) as unknown as LstmStepOutput;
    const dNext = { h: tensor2d(c.dh, B, H), s: tensor2d(c.ds, B, H) };
    const got = runStudent(where, [...t.all, ...Object.values(outT), dNext.h, dNext.s], () =>
      fn(dNext, t.x, { h: t.h, s: t.s }, t.p, outT),
    );
    expectObject(where, got, "{ dx, dhPrev, dsPrev, dU, dW, db, dwci, dwcf, dwco }");
    let worst = 0;
    for (const [key, label] of LSTM_BACKWARD_QUANTITIES) {
      const mistakes = variants.map((v) => ({ name: v.name, hint: v.hint, value: v.grads[key] }));
      const blocks = LSTM_STACKED.includes(key) ? LSTM_BLOCKS : undefined;
      const close = { shape: shapes[key], mistakes: relevant(mistakes, want[key]), factorHints: batchFactorHints(key, B) };
      worst = Math.max(worst, expectStacked(where, label, got[key], want[key], blocks, close));
      worst = Math.max(worst, expectClose(where, `${label} against finite differences`, got[key], numeric[key]));
    }
    passed(
      where,
      "all 9 gradients (∂x, ∂h(t−1), ∂s(t−1), ∂U, ∂W, ∂b, ∂w_cι, ∂w_cφ, ∂w_cω) match the float64 backward and, independently, finite differences of the float64 forward",
      worst,
    );
  });
}

/**
 * Checks the student's {@link GruStepForward}: r, z, h̃ and h(t), in the order they are
 * computed, against seqlab's float64 lecture GRU (`gruCell.reference`). Prints one ✓ line;
 * throws a {@link CheckFailure} at the first wrong quantity.
 */
export function checkGruStepForward(fn: GruStepForward, options: GatedCheckOptions = {}): void {
  const where = "gruStepForward";
  const c = gruCase(where, options);
  const want = gruForward64(c, "none");
  const variants = GRU_FORWARD_MISTAKES.map((m) => ({ ...m, out: gruForward64(c, m.name) }));
  inScope(where, () => {
    const t = gruTensors(c);
    const got = runStudent(where, t.all, () => fn(t.x, t.h, t.p));
    expectObject(where, got, "{ h, r, z, n }");
    let worst = 0;
    for (const [key, label] of GRU_FORWARD_QUANTITIES) {
      const mistakes = variants.map((v) => ({ name: v.name, hint: v.hint, value: v.out[key] }));
      worst = Math.max(
        worst,
        expectClose(where, label, got[key], want[key], { shape: [c.B, c.H], mistakes: relevant(mistakes, want[key]) }),
      );
    }
    passed(where, "the gates r, z, the candidate h̃ and h(t) match the float64 reference", worst);
  });
}

/**
 * Checks the student's {@link GruStepBackward}: every gradient against the float64 hand
 * backward (`gruCell.reference`) and against centred finite differences (h = 1e−5) of the
 * float64 forward, the independent check. The backward is given the reference's gates.
 * Prints one ✓ line; throws a {@link CheckFailure} at the first wrong quantity.
 */
export function checkGruStepBackward(fn: GruStepBackward, options: GatedCheckOptions = {}): void {
  const where = "gruStepBackward";
  const c = gruCase(where, options);
  const out = gruForward64(c, "none");
  const want = gruBackward64Ref(c, out);
  const numeric = gruNumeric(c);
  assertReferenceAgrees(where, want, numeric);
  const variants = GRU_BACKWARD_MISTAKES.map((m) => ({ ...m, grads: gruBackward64(c, out, m.name) }));
  const { B, I, H } = c;
  const shapes: Record<GruGradKey, number[]> = { db: [3 * H], dhPrev: [B, H], dx: [B, I], dU: [3 * H, I], dW: [3 * H, H] };
  inScope(where, () => {
    const t = gruTensors(c);
    const outT = tensorsOf(out, [B, H]) as unknown as GruStepOutput;
    const dh = tensor2d(c.dh, B, H);
    const got = runStudent(where, [...t.all, ...Object.values(outT), dh], () => fn(dh, t.x, t.h, t.p, outT));
    expectObject(where, got, "{ dx, dhPrev, dU, dW, db }");
    let worst = 0;
    for (const [key, label] of GRU_BACKWARD_QUANTITIES) {
      const mistakes = variants.map((v) => ({ name: v.name, hint: v.hint, value: v.grads[key] }));
      const blocks = key === "db" || key === "dU" || key === "dW" ? GRU_BLOCKS : undefined;
      const close = { shape: shapes[key], mistakes: relevant(mistakes, want[key]), factorHints: batchFactorHints(key, B) };
      worst = Math.max(worst, expectStacked(where, label, got[key], want[key], blocks, close));
      worst = Math.max(worst, expectClose(where, `${label} against finite differences`, got[key], numeric[key]));
    }
    passed(
      where,
      "all 5 gradients (∂x, ∂h(t−1), ∂U, ∂W, ∂b) match the float64 backward and, independently, finite differences of the float64 forward",
      worst,
    );
  });
}

// What is compared, and the mistakes each quantity is tested for ------------------------------------

type LstmOutKey = "i" | "f" | "g" | "s" | "o" | "h";
type LstmGradKey = "db" | "dsPrev" | "dhPrev" | "dx" | "dU" | "dW" | "dwci" | "dwcf" | "dwco";
type GruOutKey = "r" | "z" | "n" | "h";
type GruGradKey = "db" | "dhPrev" | "dx" | "dU" | "dW";

/** The forward's quantities in the order the step computes them (the first wrong one is reported). */
const LSTM_FORWARD_QUANTITIES: readonly [LstmOutKey, string][] = [
  ["i", "the input gate b_ι (i)"],
  ["f", "the forget gate b_φ (f)"],
  ["g", "the cell input g(a_c) (g)"],
  ["s", "the cell state s(t) (s)"],
  ["o", "the output gate b_ω (o)"],
  ["h", "the output h(t) (h)"],
];

/** The backward's quantities: ∇_b L first (it is Σ δ, one block per gate), then the states, then the rest. */
const LSTM_BACKWARD_QUANTITIES: readonly [LstmGradKey, string][] = [
  ["db", "∂b (db)"],
  ["dsPrev", "∂s(t−1) (dsPrev)"],
  ["dhPrev", "∂h(t−1) (dhPrev)"],
  ["dx", "∂x(t) (dx)"],
  ["dU", "∂U (dU)"],
  ["dW", "∂W (dW)"],
  ["dwci", "∂w_cι (dwci)"],
  ["dwcf", "∂w_cφ (dwcf)"],
  ["dwco", "∂w_cω (dwco)"],
];
const LSTM_STACKED: readonly LstmGradKey[] = ["db", "dU", "dW"];
const LSTM_BLOCKS = ["input gate ι", "forget gate φ", "cell input c", "output gate ω"];

const GRU_FORWARD_QUANTITIES: readonly [GruOutKey, string][] = [
  ["r", "the reset gate r (r)"],
  ["z", "the update gate z (z)"],
  ["n", "the candidate h̃ (n)"],
  ["h", "the output h(t) (h)"],
];
const GRU_BACKWARD_QUANTITIES: readonly [GruGradKey, string][] = [
  ["db", "∂b (db)"],
  ["dhPrev", "∂h(t−1) (dhPrev)"],
  ["dx", "∂x(t) (dx)"],
  ["dU", "∂U (dU)"],
  ["dW", "∂W (dW)"],
];
const GRU_BLOCKS = ["reset gate r", "update gate z", "candidate n"];

const STACK_LSTM =
  "U, W and b are stacked i, f, g, o (PyTorch's order): rows 0…H−1 input gate, H…2H−1 forget gate, 2H…3H−1 cell input, 3H…4H−1 output gate.";

/** The LSTM forward's common mistakes (names as in {@link CheckFailure.mistake}). */
const LSTM_FORWARD_MISTAKES = [
  {
    name: "output-peephole-reads-s(t-1)",
    hint: "The output gate is computed after the cell: its peephole reads the NEW cell state, w_cω ⊙ s(t), not s(t−1).",
  },
  {
    name: "no-peepholes",
    hint: "The peephole terms are missing: add w_cι ⊙ s(t−1) to the input gate's, w_cφ ⊙ s(t−1) to the forget gate's and w_cω ⊙ s(t) to the output gate's pre-activation.",
  },
  { name: "peephole-reads-h", hint: "The peepholes read the cell state s(t−1) (prev.s), not the output h(t−1) (prev.h)." },
  { name: "peepholes-swapped", hint: "w_cι (p.wci) belongs to the input gate and w_cφ (p.wcf) to the forget gate: you have swapped them." },
  { name: "gate-order-i-f-o-g", hint: `You read the blocks in the order i, f, o, g (CS231n's). ${STACK_LSTM}` },
  { name: "gate-order-i-g-f-o", hint: `You read the blocks in the order i, g, f, o (TensorFlow 1's). ${STACK_LSTM}` },
  { name: "cell-input-sigmoid", hint: "The cell input is g(a_c) with g = tanh (the lecture's g), not a sigmoid." },
  {
    name: "gates-swapped-in-s",
    hint: "s(t) = b_φ ⊙ s(t−1) + b_ι ⊙ g: the forget gate multiplies the old state and the input gate the new input; you have them the other way round.",
  },
  { name: "h-without-tanh", hint: "h(t) = b_ω ⊙ tanh(s(t)): the tanh of the cell state (the lecture's h) is missing." },
] as const satisfies readonly { name: string; hint: string }[];
type LstmForwardMistake = (typeof LSTM_FORWARD_MISTAKES)[number]["name"] | "none";

/** The LSTM backward's common mistakes. */
const LSTM_BACKWARD_MISTAKES = [
  {
    name: "missing-sigmoid-derivative-output",
    hint: "δ_ω lacks σ'(a_ω) = b_ω ⊙ (1 − b_ω): δ_ω = ∇_h L ⊙ tanh(s(t)) ⊙ b_ω ⊙ (1 − b_ω).",
  },
  { name: "missing-sigmoid-derivative-input", hint: "δ_ι lacks σ'(a_ι) = b_ι ⊙ (1 − b_ι): δ_ι = ε_s ⊙ g ⊙ b_ι ⊙ (1 − b_ι)." },
  { name: "missing-sigmoid-derivative-forget", hint: "δ_φ lacks σ'(a_φ) = b_φ ⊙ (1 − b_φ): δ_φ = ε_s ⊙ s(t−1) ⊙ b_φ ⊙ (1 − b_φ)." },
  { name: "missing-tanh-derivative-cell-input", hint: "δ_c lacks tanh'(a_c) = 1 − g²: δ_c = ε_s ⊙ b_ι ⊙ (1 − g²)." },
  {
    name: "missing-tanh-derivative-cell-state",
    hint: "The path from s(t) through h(t) = b_ω ⊙ tanh(s(t)) lacks tanh' = 1 − tanh²(s(t)): it adds ∇_h L ⊙ b_ω ⊙ (1 − tanh²(s(t))) to ε_s.",
  },
  { name: "missing-ds", hint: "ε_s must include ∇_s(t) L (dNext.s), the gradient that reaches s(t) from step t+1." },
  { name: "missing-output-peephole-path", hint: "s(t) also feeds the output gate through its peephole: add w_cω ⊙ δ_ω to ε_s." },
  {
    name: "forget-delta-with-s(t)",
    hint: "The forget gate multiplies the OLD state (s(t) = b_φ ⊙ s(t−1) + …), so δ_φ = ε_s ⊙ s(t−1) ⊙ b_φ(1 − b_φ), with s(t−1), not s(t).",
  },
  { name: "dsprev-without-forget-gate", hint: "∇_s(t−1) L = ε_s ⊙ b_φ + …: the gradient reaches s(t−1) through the forget gate." },
  {
    name: "dsprev-missing-peepholes",
    hint: "s(t−1) also feeds the input and forget gates through their peepholes: add w_cι ⊙ δ_ι + w_cφ ⊙ δ_φ to ∇_s(t−1) L.",
  },
  {
    name: "delta-order-i-f-o-g",
    hint: "Stack δ in the order of the blocks of U, W, b, [δ_ι, δ_φ, δ_c, δ_ω] (i, f, g, o), not i, f, o, g.",
  },
  { name: "dW-with-h(t)", hint: "∇_W L = δᵀ h(t−1): use the state the step read, h(t−1) = prev.h, not its output h(t)." },
  {
    name: "peephole-gradients-with-s(t)",
    hint: "∇_w_cι L = Σ δ_ι ⊙ s(t−1) and ∇_w_cφ L = Σ δ_φ ⊙ s(t−1): these peepholes read s(t−1), not s(t).",
  },
  {
    name: "output-peephole-gradient-with-s(t-1)",
    hint: "∇_w_cω L = Σ δ_ω ⊙ s(t): the output gate's peephole reads the new s(t), not s(t−1).",
  },
] as const satisfies readonly { name: string; hint: string }[];
type LstmBackwardMistake = (typeof LSTM_BACKWARD_MISTAKES)[number]["name"] | "none";

const STACK_GRU = "U, W and b are stacked r, z, n (PyTorch's order): rows 0…H−1 reset gate, H…2H−1 update gate, 2H…3H−1 candidate.";

/** The GRU forward's common mistakes. */
const GRU_FORWARD_MISTAKES = [
  {
    name: "z-flipped",
    hint: "In the lecture's GRU z weighs the NEW candidate: h(t) = (1 − z) ⊙ h(t−1) + z ⊙ h̃. You computed z ⊙ h(t−1) + (1 − z) ⊙ h̃, PyTorch's convention.",
  },
  {
    name: "reset-after-matmul",
    hint: "The lecture resets before the product, W_n (r ⊙ h(t−1)), i.e. (r ⊙ hPrev) W_nᵀ; r ⊙ (W_n h(t−1)) is PyTorch's (and Keras's reset_after) GRU.",
  },
  { name: "no-reset", hint: "The candidate reads r ⊙ h(t−1), not h(t−1): the reset gate is missing." },
  { name: "gate-order-z-r-n", hint: `You took z from the first block and r from the second (tfjs/Keras stack z, r, h). ${STACK_GRU}` },
  { name: "candidate-sigmoid", hint: "The candidate is h̃ = tanh(…), not a sigmoid." },
] as const satisfies readonly { name: string; hint: string }[];
type GruForwardMistake = (typeof GRU_FORWARD_MISTAKES)[number]["name"] | "none";

/** The GRU backward's common mistakes. */
const GRU_BACKWARD_MISTAKES = [
  {
    name: "missing-sigmoid-derivative-update",
    hint: "δ_z lacks σ'(a_z) = z ⊙ (1 − z): δ_z = ∇_h L ⊙ (h̃ − h(t−1)) ⊙ z ⊙ (1 − z).",
  },
  {
    name: "missing-sigmoid-derivative-reset",
    hint: "δ_r lacks σ'(a_r) = r ⊙ (1 − r): δ_r = (δ_n W_n) ⊙ h(t−1) ⊙ r ⊙ (1 − r).",
  },
  { name: "missing-tanh-derivative-candidate", hint: "δ_n lacks tanh' = 1 − h̃²: δ_n = ∇_h L ⊙ z ⊙ (1 − h̃²)." },
  {
    name: "z-flipped",
    hint: "This is the backward of PyTorch's h = (1 − z) ⊙ h̃ + z ⊙ h(t−1). In the lecture's GRU ∂h/∂z = h̃ − h(t−1), ∂h/∂h̃ = z, and the direct path to h(t−1) carries 1 − z.",
  },
  { name: "dz-sign", hint: "∂h(t)/∂z = h̃ − h(t−1), not h(t−1) − h̃." },
  { name: "dar-without-hprev", hint: "r multiplies h(t−1), so δ_r = (δ_n W_n) ⊙ h(t−1) ⊙ r(1 − r): the factor h(t−1) is missing." },
  {
    name: "dhprev-missing-direct",
    hint: "h(t) = (1 − z) ⊙ h(t−1) + …: ∇_h(t−1) L needs the direct term ∇_h L ⊙ (1 − z).",
  },
  {
    name: "dhprev-missing-reset-path",
    hint: "h(t−1) also reaches h̃ through r ⊙ h(t−1): add (δ_n W_n) ⊙ r to ∇_h(t−1) L.",
  },
  {
    name: "dWn-with-hprev",
    hint: "The candidate's matrix multiplies r ⊙ h(t−1), so its block of ∇_W L is δ_nᵀ (r ⊙ h(t−1)), not δ_nᵀ h(t−1).",
  },
  { name: "dW-with-h(t)", hint: "∇_W L uses the state the step read, h(t−1) = hPrev, not its output h(t)." },
] as const satisfies readonly { name: string; hint: string }[];
type GruBackwardMistake = (typeof GRU_BACKWARD_MISTAKES)[number]["name"] | "none";

/**
 * The mistakes each check recognises, by the name a {@link CheckFailure} carries in
 * `.mistake` (besides the patterns every check knows: "shape", "transposed", "factor …",
 * "zeros", "non-finite", "stub", "threw").
 */
export const GATED_MISTAKES = {
  lstmStepForward: LSTM_FORWARD_MISTAKES.map((m) => m.name),
  lstmStepBackward: LSTM_BACKWARD_MISTAKES.map((m) => m.name),
  gruStepForward: GRU_FORWARD_MISTAKES.map((m) => m.name),
  gruStepBackward: GRU_BACKWARD_MISTAKES.map((m) => m.name),
} as const;

/** Mistake values that differ from the right value (one that equals it would only mislead). */
function relevant(mistakes: Mistake[], want: Float64Array): Mistake[] {
  return mistakes.filter((m) => scaledError(numbersOf(m.value), want) > 1e-3);
}

/** Hints for parameter gradients averaged over the batch instead of summed, and for doubled terms. */
function batchFactorHints(key: string, B: number): Record<number, string> {
  const hints: Record<number, string> = { 2: "is a term added twice?" };
  if (B > 1 && ["db", "dU", "dW", "dwci", "dwcf", "dwco"].includes(key)) {
    hints[1 / B] = `did you average over the batch (B = ${B}) instead of summing?`;
    if (B > 2) hints[B] = "is the batch summed twice?";
  }
  return hints;
}

/**
 * {@link expectClose} for a quantity stacked in gate blocks (∇_b, ∇_U, ∇_W): when the
 * answer matches no known mistake, the message also says which blocks are off.
 */
function expectStacked(
  where: string,
  label: string,
  got: unknown,
  want: Float64Array,
  blocks: readonly string[] | undefined,
  options: Parameters<typeof expectClose>[4],
): number {
  try {
    return expectClose(where, label, got as Tensor, want, options);
  } catch (e) {
    if (!(e instanceof CheckFailure) || e.mistake !== undefined || !Number.isFinite(e.error) || !blocks) throw e;
    const values = numbersOf(got as Tensor);
    const n = blocks.length;
    const size = want.length / n;
    const scale = Math.max(1e-8, maxAbs(values) + maxAbs(want));
    const off = blocks.filter((_, k) => {
      const a = values.subarray(k * size, (k + 1) * size);
      const b = want.subarray(k * size, (k + 1) * size);
      return maxAbsDiff(a, b) / scale > 1e-4;
    });
    if (off.length === 0 || off.length === n) throw e;
    const right = blocks.filter((b) => !off.includes(b));
    throw new CheckFailure(
      `${e.message}\n  The blocks of the ${list(off)} are off; those of the ${list(right)} are right.`,
      e.quantity,
      e.error,
      e.mistake,
    );
  }
}

function list(names: string[]): string {
  return names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k] - b[k]));
  return m;
}

/** The float64 hand backward must agree with finite differences; if not, the check itself is broken. */
function assertReferenceAgrees(where: string, hand: Record<string, Float64Array>, numeric: Record<string, Float64Array>): void {
  for (const key of Object.keys(numeric)) {
    const e = scaledError(hand[key], numeric[key]);
    if (!(e < 1e-6))
      throw new Error(
        `check${where[0].toUpperCase()}${where.slice(1)}: the reference's ${key} disagrees with finite differences (${fmtError(e)}); this is a bug in the check`,
      );
  }
}

// Running the student's function ---------------------------------------------------------------------

/**
 * Runs a check's `body` in a `tf.tidy`: every tensor it makes or receives (inputs, the
 * student's results and whatever the student left behind) is disposed when it returns or
 * throws. Notes in one line what survived even that (tf.keep, tf.variable).
 */
function inScope<R>(where: string, body: () => R): R {
  const before = tf.memory().numTensors;
  let result: R | undefined;
  try {
    tf.tidy(() => {
      result = body();
    });
  } finally {
    const left = tf.memory().numTensors - before;
    if (left > 0)
      console.log(`note: ${where} kept ${left} tensor${left === 1 ? "" : "s"} alive past the check (tf.keep or tf.variable in the step?).`);
  }
  return result as R;
}

function tensor2d(values: Float64Array, rows: number, cols: number): Tensor2D {
  return tf.tensor2d(Float32Array.from(values), [rows, cols]);
}

function tensor1d(values: Float64Array): Tensor1D {
  return tf.tensor1d(Float32Array.from(values));
}

function tensorOf(a: F64): Tensor {
  return a.shape.length === 1 ? tensor1d(a.data) : tensor2d(a.data, a.shape[0], a.shape[1]);
}

/** [B, H] tensors of named float64 arrays. */
function tensorsOf(values: Record<string, Float64Array>, shape: [number, number]): Record<string, Tensor2D> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, tensor2d(v, shape[0], shape[1])]));
}

/**
 * Calls the student's function inside a `tf.tidy` (what it leaks is disposed) and notes in
 * one line if it leaked; what it returns is disposed with the check's own tensors ({@link inScope}).
 */
function runStudent<R>(where: string, inputs: Tensor[], run: () => R): R {
  let leaked = 0;
  const result = callStudentWithHints(where, () =>
    tf.tidy(() => {
      const before = tf.memory().numTensors;
      const r = run();
      const fresh = tensorsIn(r).filter((t) => !t.isDisposed && !inputs.includes(t));
      leaked = tf.memory().numTensors - before - fresh.length;
      return r as unknown as tf.TensorContainer;
    }),
  ) as unknown as R;
  if (leaked > 0) {
    console.log(
      `note: ${where} left ${leaked} intermediate tensor${leaked === 1 ? "" : "s"} undisposed (the check disposed ${leaked === 1 ? "it" : "them"}); wrap its body in tf.tidy(() => …) before calling it in a loop.`,
    );
  }
  return result;
}

/** {@link callStudent}, plus a hint when a matMul's shapes do not fit (the usual missing transpose). */
function callStudentWithHints<R>(where: string, run: () => R): R {
  try {
    return callStudent(where, run);
  } catch (e) {
    if (e instanceof CheckFailure && e.mistake === "threw" && /matMul: inner shapes/.test(e.message)) {
      const hint =
        "Rows hold the batch, so U x(t) is x Uᵀ and W h(t−1) is h(t−1) Wᵀ: x.matMul(U, false, true), hPrev.matMul(W, false, true).";
      throw new CheckFailure(`${e.message}\n  ${hint}`, e.quantity, e.error, e.mistake);
    }
    throw e;
  }
}

/** The distinct tensors inside any object or array. */
function tensorsIn(x: unknown, seen = new Set<Tensor>()): Tensor[] {
  if (x instanceof tf.Tensor) seen.add(x);
  else if (Array.isArray(x)) x.forEach((v) => tensorsIn(v, seen));
  else if (x !== null && typeof x === "object") Object.values(x).forEach((v) => tensorsIn(v, seen));
  return [...seen];
}

function expectObject(where: string, got: unknown, what: string): asserts got is Record<string, Tensor> {
  if (got === null || typeof got !== "object" || got instanceof tf.Tensor) {
    const seen = got instanceof tf.Tensor ? "a single tensor" : String(got);
    throw new CheckFailure(`${where} must return an object ${what}, got ${seen}.`, where, NaN, "return");
  }
}

// Drawing a case ---------------------------------------------------------------------------------------

interface Sizes {
  B: number;
  I: number;
  H: number;
}

/** One LSTM check's inputs, float64 arrays holding float32 values (what the student's tensors hold). */
interface LstmCase extends Sizes {
  p: RefParams;
  x: Float64Array;
  h: Float64Array;
  s: Float64Array;
  dh: Float64Array;
  ds: Float64Array;
}

interface GruCase extends Sizes {
  p: RefParams;
  x: Float64Array;
  h: Float64Array;
  dh: Float64Array;
}

function sizesOf(where: string, options: GatedCheckOptions): Sizes & { rng: Rng; scale: number } {
  const { B = 3, I = 4, H = 5, seed = 0, scale = 1 } = options;
  for (const [name, v] of Object.entries({ B, I, H })) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`check of ${where}: ${name} must be an integer ≥ 1, got ${v}`);
  }
  if (!(scale > 0)) throw new Error(`check of ${where}: scale must be > 0, got ${scale}`);
  return { B, I, H, rng: new Rng(seed), scale };
}

/** n float32-exact values drawn by `draw`. */
function draw(n: number, value: () => number): Float64Array {
  return Float64Array.from({ length: n }, () => Math.fround(value()));
}

function f64(shape: number[], rng: Rng, scale: number): F64 {
  return {
    shape,
    data: draw(
      shape.reduce((a, b) => a * b, 1),
      () => rng.uniform(-scale, scale),
    ),
  };
}

function lstmCase(where: string, options: GatedCheckOptions): LstmCase {
  const { B, I, H, rng, scale } = sizesOf(where, options);
  const p: RefParams = {
    U: f64([4 * H, I], rng, scale),
    W: f64([4 * H, H], rng, scale),
    b: f64([4 * H], rng, scale),
    wci: f64([H], rng, scale),
    wcf: f64([H], rng, scale),
    wco: f64([H], rng, scale),
  };
  const normal = (n: number) => draw(n, () => rng.normal());
  return {
    B,
    I,
    H,
    p,
    x: normal(B * I),
    h: draw(B * H, () => Math.tanh(1.5 * rng.normal())),
    s: normal(B * H),
    dh: normal(B * H),
    ds: normal(B * H),
  };
}

function gruCase(where: string, options: GatedCheckOptions): GruCase {
  const { B, I, H, rng, scale } = sizesOf(where, options);
  const p: RefParams = { U: f64([3 * H, I], rng, scale), W: f64([3 * H, H], rng, scale), b: f64([3 * H], rng, scale) };
  return {
    B,
    I,
    H,
    p,
    x: draw(B * I, () => rng.normal()),
    h: draw(B * H, () => Math.tanh(1.5 * rng.normal())),
    dh: draw(B * H, () => rng.normal()),
  };
}

function lstmTensors(c: LstmCase) {
  const p = {
    U: tensorOf(c.p.U),
    W: tensorOf(c.p.W),
    b: tensorOf(c.p.b),
    wci: tensorOf(c.p.wci),
    wcf: tensorOf(c.p.wcf),
    wco: tensorOf(c.p.wco),
  } as LstmParams;
  const x = tensor2d(c.x, c.B, c.I);
  const h = tensor2d(c.h, c.B, c.H);
  const s = tensor2d(c.s, c.B, c.H);
  return { p, x, h, s, all: [x, h, s, ...(Object.values(p) as Tensor[])] };
}

function gruTensors(c: GruCase) {
  const p = { U: tensorOf(c.p.U), W: tensorOf(c.p.W), b: tensorOf(c.p.b) } as GruParams;
  const x = tensor2d(c.x, c.B, c.I);
  const h = tensor2d(c.h, c.B, c.H);
  return { p, x, h, all: [x, h, p.U, p.W, p.b] };
}

function row(a: Float64Array, b: number, n: number): Float64Array {
  return a.subarray(b * n, (b + 1) * n);
}

/** Runs `step` on every row b and stacks each named [n] result into [B·n]. */
function stackRows<K extends string>(B: number, step: (b: number) => Record<K, Float64Array>): Record<K, Float64Array> {
  const rows = Array.from({ length: B }, (_, b) => step(b));
  const out = {} as Record<K, Float64Array>;
  for (const key of Object.keys(rows[0]) as K[]) {
    const n = rows[0][key].length;
    out[key] = new Float64Array(B * n);
    rows.forEach((r, b) => out[key].set(r[key], b * n));
  }
  return out;
}

// The LSTM in float64, right and with each mistake --------------------------------------------------

/** The forward of every row: seqlab's reference for "none", else the step with the mistake made. */
function lstmForward64(c: LstmCase, mistake: LstmForwardMistake): Record<LstmOutKey, Float64Array> {
  return stackRows(c.B, (b) => {
    const [x, h, s] = [row(c.x, b, c.I), row(c.h, b, c.H), row(c.s, b, c.H)];
    const out = mistake === "none" ? lstmRef.step(c.p, x, { h, s }) : lstmStepVariant(c.p, x, h, s, mistake);
    return { i: out.i, f: out.f, g: out.g, s: out.s, o: out.o, h: out.h };
  });
}

/** One row of the LSTM step, with `mistake` made (for "none": the lecture's step). */
function lstmStepVariant(p: RefParams, x: Float64Array, hPrev: Float64Array, sPrev: Float64Array, mistake: LstmForwardMistake): RefVectors {
  const H = p.W.shape[1];
  // block[k]: the stored block read as gate k (0 i, 1 f, 2 g, 3 o).
  const block = mistake === "gate-order-i-f-o-g" ? [0, 1, 3, 2] : mistake === "gate-order-i-g-f-o" ? [0, 2, 1, 3] : [0, 1, 2, 3];
  const pre = (k: number) => {
    const r0 = block[k] * H;
    const Ux = matVec(p.U, x, r0, H);
    const Wh = matVec(p.W, hPrev, r0, H);
    return map(H, (j) => Ux[j] + Wh[j] + p.b.data[r0 + j]);
  };
  const on = mistake === "no-peepholes" ? 0 : 1;
  const swapped = mistake === "peepholes-swapped";
  const [wI, wF] = swapped ? [p.wcf.data, p.wci.data] : [p.wci.data, p.wcf.data];
  const seen = mistake === "peephole-reads-h" ? hPrev : sPrev;
  const [ai, af, ag, ao] = [pre(0), pre(1), pre(2), pre(3)];
  const i = map(H, (j) => sigmoid(ai[j] + on * wI[j] * seen[j]));
  const f = map(H, (j) => sigmoid(af[j] + on * wF[j] * seen[j]));
  const g = map(H, (j) => (mistake === "cell-input-sigmoid" ? sigmoid(ag[j]) : Math.tanh(ag[j])));
  const s = map(H, (j) => (mistake === "gates-swapped-in-s" ? f[j] * g[j] + i[j] * sPrev[j] : f[j] * sPrev[j] + i[j] * g[j]));
  const sOut = mistake === "output-peephole-reads-s(t-1)" ? sPrev : s;
  const o = map(H, (j) => sigmoid(ao[j] + on * p.wco.data[j] * sOut[j]));
  const h = map(H, (j) => o[j] * (mistake === "h-without-tanh" ? s[j] : Math.tanh(s[j])));
  return { i, f, g, s, o, h };
}

/** Zero gradients of every parameter. */
function zeroGrads(p: RefParams): RefParams {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, zerosF64(v.shape)]));
}

/** The right gradients: seqlab's float64 LSTM backward, row by row, summed over the batch. */
function lstmBackward64Ref(c: LstmCase, out: Record<LstmOutKey, Float64Array>): Record<LstmGradKey, Float64Array> {
  const grad = zeroGrads(c.p);
  const rows = stackRows(c.B, (b) => {
    const dx = new Float64Array(c.I);
    const outRow = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, row(v, b, c.H)]));
    const prev = { h: row(c.h, b, c.H), s: row(c.s, b, c.H) };
    const d = lstmRef.backward(c.p, row(c.x, b, c.I), prev, outRow, { h: row(c.dh, b, c.H), s: row(c.ds, b, c.H) }, grad, dx);
    return { dx, dhPrev: d.h, dsPrev: d.s };
  });
  return { ...rows, dU: grad.U.data, dW: grad.W.data, db: grad.b.data, dwci: grad.wci.data, dwcf: grad.wcf.data, dwco: grad.wco.data };
}

/** The gradients with `mistake` made (for "none": the lecture's backward, which the tests compare with seqlab's). */
function lstmBackward64(
  c: LstmCase,
  out: Record<LstmOutKey, Float64Array>,
  mistake: LstmBackwardMistake,
): Record<LstmGradKey, Float64Array> {
  const { I, H } = c;
  const p = c.p;
  const grad = zeroGrads(p);
  const m = (name: LstmBackwardMistake) => mistake === name;
  const rows = stackRows(c.B, (b) => {
    const [x, hPrev, sPrev, dh, ds] = [row(c.x, b, I), row(c.h, b, H), row(c.s, b, H), row(c.dh, b, H), row(c.ds, b, H)];
    const [i, f, g, o, s, h] = (["i", "f", "g", "o", "s", "h"] as const).map((k) => row(out[k], b, H));
    const tanhS = s.map(Math.tanh);
    const sig = (a: Float64Array, j: number, drop: boolean) => (drop ? 1 : a[j] * (1 - a[j]));
    const dao = map(H, (j) => dh[j] * tanhS[j] * sig(o, j, m("missing-sigmoid-derivative-output")));
    const es = map(
      H,
      (j) =>
        (m("missing-ds") ? 0 : ds[j]) +
        dh[j] * o[j] * (m("missing-tanh-derivative-cell-state") ? 1 : 1 - tanhS[j] * tanhS[j]) +
        (m("missing-output-peephole-path") ? 0 : p.wco.data[j] * dao[j]),
    );
    const dai = map(H, (j) => es[j] * g[j] * sig(i, j, m("missing-sigmoid-derivative-input")));
    const daf = map(H, (j) => es[j] * (m("forget-delta-with-s(t)") ? s[j] : sPrev[j]) * sig(f, j, m("missing-sigmoid-derivative-forget")));
    const dag = map(H, (j) => es[j] * i[j] * (m("missing-tanh-derivative-cell-input") ? 1 : 1 - g[j] * g[j]));
    const dsPrev = map(
      H,
      (j) =>
        es[j] * (m("dsprev-without-forget-gate") ? 1 : f[j]) +
        (m("dsprev-missing-peepholes") ? 0 : p.wci.data[j] * dai[j] + p.wcf.data[j] * daf[j]),
    );
    const deltas = m("delta-order-i-f-o-g") ? [dai, daf, dao, dag] : [dai, daf, dag, dao];
    const dx = new Float64Array(I);
    const dhPrev = new Float64Array(H);
    const hRead = m("dW-with-h(t)") ? h : hPrev;
    deltas.forEach((da, k) => {
      addOuter(grad.U, da, x, k * H);
      addOuter(grad.W, da, hRead, k * H);
      addVec(grad.b.data, da, k * H);
      addMatTVec(dx, p.U, da, k * H);
      addMatTVec(dhPrev, p.W, da, k * H);
    });
    const sIn = m("peephole-gradients-with-s(t)") ? s : sPrev;
    const sOut = m("output-peephole-gradient-with-s(t-1)") ? sPrev : s;
    addVec(
      grad.wci.data,
      map(H, (j) => dai[j] * sIn[j]),
    );
    addVec(
      grad.wcf.data,
      map(H, (j) => daf[j] * sIn[j]),
    );
    addVec(
      grad.wco.data,
      map(H, (j) => dao[j] * sOut[j]),
    );
    return { dx, dhPrev, dsPrev };
  });
  return { ...rows, dU: grad.U.data, dW: grad.W.data, db: grad.b.data, dwci: grad.wci.data, dwcf: grad.wcf.data, dwco: grad.wco.data };
}

/**
 * Centred finite differences (h = 1e−5) of L = Σ dh ⊙ h(t) + Σ ds ⊙ s(t) through the float64
 * forward, with respect to every input of the step: the gradient no hand derivation made.
 */
function lstmNumeric(c: LstmCase): Record<LstmGradKey, Float64Array> {
  const forward = () => {
    const out = lstmForward64(c, "none");
    return concat(out.h, out.s);
  };
  const df = concat(c.dh, c.ds);
  const fd = (v: Float64Array) => numericalGradientArray(forward, v, df);
  return {
    db: fd(c.p.b.data),
    dsPrev: fd(c.s),
    dhPrev: fd(c.h),
    dx: fd(c.x),
    dU: fd(c.p.U.data),
    dW: fd(c.p.W.data),
    dwci: fd(c.p.wci.data),
    dwcf: fd(c.p.wcf.data),
    dwco: fd(c.p.wco.data),
  };
}

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// The GRU in float64, right and with each mistake ---------------------------------------------------

function gruForward64(c: GruCase, mistake: GruForwardMistake): Record<GruOutKey, Float64Array> {
  return stackRows(c.B, (b) => {
    const [x, h] = [row(c.x, b, c.I), row(c.h, b, c.H)];
    const out = mistake === "none" ? gruRef.step(c.p, x, { h }) : gruStepVariant(c.p, x, h, mistake);
    return { r: out.r, z: out.z, n: out.n, h: out.h };
  });
}

/** One row of the lecture's GRU step, with `mistake` made (for "none": the lecture's step). */
function gruStepVariant(p: RefParams, x: Float64Array, hPrev: Float64Array, mistake: GruForwardMistake): RefVectors {
  const H = p.W.shape[1];
  const [rBlock, zBlock] = mistake === "gate-order-z-r-n" ? [1, 0] : [0, 1];
  const gate = (k: number) => {
    const Ux = matVec(p.U, x, k * H, H);
    const Wh = matVec(p.W, hPrev, k * H, H);
    return map(H, (j) => sigmoid(Ux[j] + Wh[j] + p.b.data[k * H + j]));
  };
  const r = gate(rBlock);
  const z = gate(zBlock);
  const Ux = matVec(p.U, x, 2 * H, H);
  let recurrent: Float64Array;
  if (mistake === "reset-after-matmul") {
    const Wh = matVec(p.W, hPrev, 2 * H, H);
    recurrent = map(H, (j) => r[j] * Wh[j]);
  } else {
    recurrent = matVec(
      p.W,
      map(H, (j) => (mistake === "no-reset" ? 1 : r[j]) * hPrev[j]),
      2 * H,
      H,
    );
  }
  const squash = mistake === "candidate-sigmoid" ? sigmoid : Math.tanh;
  const n = map(H, (j) => squash(Ux[j] + recurrent[j] + p.b.data[2 * H + j]));
  const h = map(H, (j) => (mistake === "z-flipped" ? z[j] * hPrev[j] + (1 - z[j]) * n[j] : (1 - z[j]) * hPrev[j] + z[j] * n[j]));
  return { r, z, n, h };
}

function gruBackward64Ref(c: GruCase, out: Record<GruOutKey, Float64Array>): Record<GruGradKey, Float64Array> {
  const grad = zeroGrads(c.p);
  const rows = stackRows(c.B, (b) => {
    const dx = new Float64Array(c.I);
    const outRow = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, row(v, b, c.H)]));
    const d = gruRef.backward(c.p, row(c.x, b, c.I), { h: row(c.h, b, c.H) }, outRow, { h: row(c.dh, b, c.H) }, grad, dx);
    return { dx, dhPrev: d.h };
  });
  return { ...rows, dU: grad.U.data, dW: grad.W.data, db: grad.b.data };
}

/** The GRU gradients with `mistake` made (for "none": the lecture's backward). */
function gruBackward64(c: GruCase, out: Record<GruOutKey, Float64Array>, mistake: GruBackwardMistake): Record<GruGradKey, Float64Array> {
  const { I, H } = c;
  const p = c.p;
  const grad = zeroGrads(p);
  const m = (name: GruBackwardMistake) => mistake === name;
  const rows = stackRows(c.B, (b) => {
    const [x, hPrev, dh] = [row(c.x, b, I), row(c.h, b, H), row(c.dh, b, H)];
    const [r, z, n, h] = (["r", "z", "n", "h"] as const).map((k) => row(out[k], b, H));
    const flipped = m("z-flipped");
    const dz = map(H, (j) => dh[j] * (flipped || m("dz-sign") ? hPrev[j] - n[j] : n[j] - hPrev[j]));
    const dan = map(H, (j) => dh[j] * (flipped ? 1 - z[j] : z[j]) * (m("missing-tanh-derivative-candidate") ? 1 : 1 - n[j] * n[j]));
    const drh = new Float64Array(H);
    addMatTVec(drh, p.W, dan, 2 * H);
    const dar = map(
      H,
      (j) => drh[j] * (m("dar-without-hprev") ? 1 : hPrev[j]) * (m("missing-sigmoid-derivative-reset") ? 1 : r[j] * (1 - r[j])),
    );
    const daz = map(H, (j) => dz[j] * (m("missing-sigmoid-derivative-update") ? 1 : z[j] * (1 - z[j])));
    const dhPrev = map(
      H,
      (j) => (m("dhprev-missing-direct") ? 0 : dh[j] * (flipped ? z[j] : 1 - z[j])) + (m("dhprev-missing-reset-path") ? 0 : drh[j] * r[j]),
    );
    addMatTVec(dhPrev, p.W, dar, 0);
    addMatTVec(dhPrev, p.W, daz, H);
    const hRead = m("dW-with-h(t)") ? h : hPrev;
    const rh = map(H, (j) => (m("dWn-with-hprev") ? 1 : r[j]) * hRead[j]);
    addOuter(grad.W, dar, hRead, 0);
    addOuter(grad.W, daz, hRead, H);
    addOuter(grad.W, dan, rh, 2 * H);
    const dx = new Float64Array(I);
    [dar, daz, dan].forEach((da, k) => {
      addOuter(grad.U, da, x, k * H);
      addVec(grad.b.data, da, k * H);
      addMatTVec(dx, p.U, da, k * H);
    });
    return { dx, dhPrev };
  });
  return { ...rows, dU: grad.U.data, dW: grad.W.data, db: grad.b.data };
}

/** Centred finite differences of L = Σ dh ⊙ h(t) through the float64 GRU forward. */
function gruNumeric(c: GruCase): Record<GruGradKey, Float64Array> {
  const forward = () => gruForward64(c, "none").h;
  const fd = (v: Float64Array) => numericalGradientArray(forward, v, c.dh);
  return { db: fd(c.p.b.data), dhPrev: fd(c.h), dx: fd(c.x), dU: fd(c.p.U.data), dW: fd(c.p.W.data) };
}
