/**
 * Assignment 3's checks (src/coursework/attention.ts): each passes a right answer on the wasm
 * and the cpu backend, recognises every mistake it lists (CheckFailure with that `.mistake`
 * and a message naming the quantity), says "not implemented yet" for the release's stub, and
 * leaves tf.memory().numTensors as it found it, whether the student's function passes,
 * fails, leaks or throws.
 *
 * The right attention functions are the library's (src/sequence/attention.ts); the right
 * greedy decoder and beam search are written here as a student would, in plain TypeScript.
 */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { CheckFailure } from "../../src/coursework/compare";
import {
  checkAdditiveScore,
  checkAttentionContext,
  checkBeamSearch,
  checkDotScore,
  checkGeneralScore,
  checkGreedyDecode,
  checkMaskedSoftmax,
  checkScaledDotScore,
  type AdditiveScore,
  type AttentionContext,
  type BeamHypothesis,
  type BeamSearch,
  type DotScore,
  type GeneralScore,
  type GreedyDecode,
  type MaskedSoftmax,
  type ScaledDotScore,
  type StepLogProbs,
} from "../../src/coursework/attention";
import * as lib from "../../src/sequence/attention";

// ---------------------------------------------------------------------------------------------
// Right answers
// ---------------------------------------------------------------------------------------------

const additiveScore: AdditiveScore = (q, k, p) => lib.additiveScore(q, k, p);
const dotScore: DotScore = (q, k) => lib.dotScore(q, k);
const generalScore: GeneralScore = (q, k, Wa) => lib.generalScore(q, k, Wa);
const scaledDotScore: ScaledDotScore = (q, k) => lib.scaledDotScore(q, k);
const maskedSoftmax: MaskedSoftmax = (e, mask) => lib.attentionSoftmax(e, mask);
const attentionContext: AttentionContext = (alpha, v) => lib.attentionContext(alpha, v);

const argmax = (v: ArrayLike<number>) => Array.from(v).indexOf(Math.max(...Array.from(v)));

const greedyDecode: GreedyDecode = (step, start, end, maxLength) => {
  const tokens: number[] = [];
  while (tokens.length < maxLength) {
    const y = argmax(step([start, ...tokens]));
    tokens.push(y);
    if (y === end) break;
  }
  return tokens;
};

/** Beam search as the notebook states it, written independently of the check's reference. */
const beamSearch: BeamSearch = (step, k, start, end, maxLength) => {
  let alive: BeamHypothesis[] = [{ tokens: [], logProb: 0 }];
  const finished: BeamHypothesis[] = [];
  for (let t = 0; t < maxLength; t++) {
    const candidates = alive.flatMap((h) =>
      Array.from(step([start, ...h.tokens]), (lp, y) => ({ tokens: [...h.tokens, y], logProb: h.logProb + lp })),
    );
    candidates.sort((a, b) => b.logProb - a.logProb);
    alive = [];
    for (const c of candidates) {
      if (alive.length === k) break;
      (c.tokens[c.tokens.length - 1] === end ? finished : alive).push(c);
    }
    const best = Math.max(-Infinity, ...finished.map((f) => f.logProb));
    if (alive.length === 0 || best >= alive[0].logProb) {
      alive = [];
      break;
    }
  }
  return [...finished, ...alive].sort((a, b) => b.logProb - a.logProb)[0];
};

// ---------------------------------------------------------------------------------------------
// Mistakes, made on purpose
// ---------------------------------------------------------------------------------------------

/** W_q q [B, A] and W_k k [B, T, A]. */
const project = (q: Tensor2D, k: Tensor3D, Wq: Tensor2D, Wk: Tensor2D) => {
  const [B, T, Hk] = k.shape;
  const Wqq = tf.expandDims(tf.matMul(q, Wq, false, true), 1); // [B, 1, A]
  const Wkk = tf.reshape(tf.matMul(tf.reshape(k, [B * T, Hk]), Wk, false, true), [B, T, -1]); // [B, T, A]
  return { Wqq, Wkk };
};
const wSum = (u: tf.Tensor, w: Tensor1D) => tf.sum(tf.mul(u, w), 2) as Tensor2D;

const dot = (q: Tensor2D, k: Tensor3D) => tf.squeeze(tf.matMul(tf.expandDims(q, 1), k, false, true), [1]) as Tensor2D;

const wrongScores = {
  additive: {
    "no-tanh": ((q, k, p) =>
      tf.tidy(() => {
        const { Wqq, Wkk } = project(q, k, p.Wq, p.Wk);
        return wSum(tf.add(Wqq, Wkk), p.w);
      })) as AdditiveScore,
    "tanh-separately": ((q, k, p) =>
      tf.tidy(() => {
        const { Wqq, Wkk } = project(q, k, p.Wq, p.Wk);
        return wSum(tf.add(tf.tanh(Wqq), tf.tanh(Wkk)), p.w);
      })) as AdditiveScore,
    "q-k-swapped": ((q, k, p) =>
      tf.tidy(() => {
        const { Wqq, Wkk } = project(q, k, p.Wk, p.Wq);
        return wSum(tf.tanh(tf.add(Wqq, Wkk)), p.w);
      })) as AdditiveScore,
  },
  dot: { scaled: ((q, k) => tf.tidy(() => tf.div(dot(q, k), Math.sqrt(q.shape[1])))) as DotScore },
  general: {
    "Wa-transposed": ((q, k, Wa) => tf.tidy(() => dot(tf.matMul(q, Wa, false, true), k))) as GeneralScore,
    "missing-Wa": ((q, k) => dot(q, k)) as GeneralScore,
  },
  scaled: {
    "missing-scale": ((q, k) => dot(q, k)) as ScaledDotScore,
    "divided-by-H": ((q, k) => tf.tidy(() => tf.div(dot(q, k), q.shape[1]))) as ScaledDotScore,
    "times-sqrt-H": ((q, k) => tf.tidy(() => tf.mul(dot(q, k), Math.sqrt(q.shape[1])))) as ScaledDotScore,
    "sqrt-of-T": ((q, k) => tf.tidy(() => tf.div(dot(q, k), Math.sqrt(k.shape[1])))) as ScaledDotScore,
  },
};

const wrongSoftmax: Record<string, MaskedSoftmax> = {
  "mask-not-applied": (e) => tf.softmax(e),
  "mask-after-softmax": (e, m) => tf.tidy(() => tf.mul(tf.softmax(e), m)),
  "mask-times-scores": (e, m) => tf.tidy(() => tf.softmax(tf.mul(e, m)) as Tensor2D),
  "mask-inverted": (e, m) => tf.tidy(() => lib.attentionSoftmax(e, tf.sub(1, m) as Tensor2D)),
  "wrong-axis": (e, m) =>
    tf.tidy(() => {
      const z = tf.mul(tf.exp(tf.sub(e, tf.max(e))), m);
      return tf.div(z, tf.sum(z, 0, true));
    }),
  // exp without subtracting the maximum: overflows for scores around 1000.
  "max-not-subtracted": (e, m) =>
    tf.tidy(() => {
      const z = tf.mul(tf.exp(e), m);
      return tf.div(z, tf.sum(z, 1, true));
    }),
  // Masked scores pushed down by 30 only: tiny but nonzero weights on padding.
  "mask-not-exact": (e, m) => tf.tidy(() => tf.softmax(tf.add(e, tf.mul(tf.sub(1, m), -30))) as Tensor2D),
};

const wrongContext: Record<string, AttentionContext> = {
  "unweighted-sum": (_alpha, v) => tf.sum(v, 1),
  "unweighted-mean": (_alpha, v) => tf.mean(v, 1),
};

const wrongGreedy: Record<string, GreedyDecode> = {
  "no-stop-at-end": (step, start, _end, maxLength) => {
    const tokens: number[] = [];
    while (tokens.length < maxLength) tokens.push(argmax(step([start, ...tokens])));
    return tokens;
  },
  "end-dropped": (step, start, end, maxLength) => greedyDecode(step, start, end, maxLength).filter((y) => y !== end),
  "start-included": (step, start, end, maxLength) => [start, ...greedyDecode(step, start, end, maxLength)],
  "last-token-only": (step, start, end, maxLength) => {
    const tokens: number[] = [];
    let prev = start;
    while (tokens.length < maxLength) {
      prev = argmax(step([prev]));
      tokens.push(prev);
      if (prev === end) break;
    }
    return tokens;
  },
  "one-too-many": (step, start, end, maxLength) => greedyDecode(step, start, end, maxLength + 1),
};

/** The right beam search with one thing changed. */
function beamWith(
  change:
    | "stop-at-k"
    | "stop-at-first"
    | "drop-finished"
    | "shrink"
    | "drop-unfinished"
    | "end-goes-on"
    | "k-ignored"
    | "no-end-logp"
    | "no-early-stop",
): BeamSearch {
  return (step, k, start, end, maxLength) => {
    if (change === "k-ignored") k = 1;
    let alive: BeamHypothesis[] = [{ tokens: [], logProb: 0 }];
    const finished: BeamHypothesis[] = [];
    for (let t = 0; t < maxLength; t++) {
      const candidates = alive.flatMap((h) =>
        Array.from(step([start, ...h.tokens]), (lp, y) => ({ tokens: [...h.tokens, y], logProb: h.logProb + lp })),
      );
      candidates.sort((a, b) => b.logProb - a.logProb);
      alive = [];
      let taken = 0;
      for (const c of candidates) {
        if (alive.length === k || (change === "shrink" && taken === k) || (change === "stop-at-k" && finished.length >= k)) break;
        taken++;
        if (c.tokens[c.tokens.length - 1] === end && change !== "end-goes-on") {
          if (change === "stop-at-first") return c;
          if (change !== "drop-finished") finished.push(c);
        } else alive.push(c);
      }
      const best = Math.max(-Infinity, ...finished.map((f) => f.logProb));
      if (
        change === "no-early-stop"
          ? alive.length === 0
          : change === "stop-at-k"
            ? finished.length >= k
            : alive.length === 0 || best >= alive[0].logProb
      ) {
        alive = [];
        break;
      }
    }
    const all = change === "drop-unfinished" ? finished : [...finished, ...alive];
    const top = all.sort((a, b) => b.logProb - a.logProb)[0];
    if (change === "no-end-logp" && top.tokens[top.tokens.length - 1] === end) {
      return { tokens: top.tokens, logProb: top.logProb - step([start, ...top.tokens.slice(0, -1)])[end] };
    }
    return top;
  };
}

const wrongBeam: [string, BeamSearch][] = [
  ["stop-at-k-finished", beamWith("stop-at-k")],
  ["stop-at-first-finished", beamWith("stop-at-first")],
  ["finished-dropped", beamWith("drop-finished")],
  ["unfinished-dropped-at-max", beamWith("drop-unfinished")],
  ["end-not-finishing", beamWith("end-goes-on")],
  ["greedy", beamWith("k-ignored")],
  ["end-logp-missing", beamWith("no-end-logp")],
  [
    "probability",
    (step, k, start, end, maxLength) => ({
      ...beamSearch(step, k, start, end, maxLength),
      logProb: Math.exp(beamSearch(step, k, start, end, maxLength).logProb),
    }),
  ],
];

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Runs fn with console.log captured; returns what it printed. */
function quietly(fn: () => void): string[] {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.join(" "));
  try {
    fn();
  } finally {
    console.log = log;
  }
  return lines;
}

/** Asserts that fn throws a CheckFailure recognised as `mistake`, with a message naming `quantity`; leaves no tensor behind. */
function expectMistake(fn: () => void, mistake: string, quantity: string): CheckFailure {
  const before = tf.memory().numTensors;
  let caught: unknown;
  quietly(() => {
    try {
      fn();
    } catch (e) {
      caught = e;
    }
  });
  assert.equal(tf.memory().numTensors, before, "a failing check leaves no tensor behind");
  assert.ok(caught instanceof CheckFailure, `expected a CheckFailure, got ${String(caught)}`);
  assert.equal(caught.mistake, mistake, caught.message);
  assert.ok(caught.message.includes(quantity), `the message names ${quantity}: ${caught.message}`);
  return caught;
}

/** Asserts that fn passes, prints one ✓ line (and maybe notes), and leaves no tensor behind. */
function expectPass(fn: () => void): string {
  const before = tf.memory().numTensors;
  const lines = quietly(fn);
  assert.equal(tf.memory().numTensors, before, "a passing check leaves no tensor behind");
  const ticks = lines.filter((l) => l.startsWith("✓ "));
  assert.equal(ticks.length, 1, lines.join("\n"));
  return ticks[0];
}

const notImplemented = () => {
  tf.zeros([2, 2]); // a tensor made before the throw: the check must still clean up
  throw new Error("not implemented yet");
};

/** The options of the check calls in the master notebook's test cells, public ({}) and hidden. */
const NOTEBOOK = {
  additive: [{}, { seed: 2024, B: 1, T: 7, H: 3, Hk: 6, A: 2 }, { seed: 77, B: 5, T: 2, H: 8, A: 9, scale: 4 }],
  dot: [{}, { seed: 2024, B: 1, T: 7, H: 3 }, { seed: 77, B: 5, T: 2, H: 8, scale: 4 }],
  general: [{}, { seed: 2024, B: 1, T: 7, H: 3, Hk: 6 }, { seed: 77, B: 5, T: 2, H: 8 }],
  scaled: [{}, { seed: 2024, B: 1, T: 7, H: 3 }, { seed: 77, B: 5, T: 2, H: 16 }],
  softmax: [{}, { scale: 1000 }, { seed: 2024, B: 1, T: 9, scale: 1000 }, { seed: 77, B: 6, T: 2 }, { seed: 5, B: 2, T: 1 }],
  context: [{}, { seed: 2024, B: 1, T: 7, Hk: 2 }, { seed: 77, B: 6, T: 1, H: 3, scale: 10 }],
  greedy: [{}, { seed: 2024, K: 3, maxLength: 8 }, { seed: 77, K: 8, maxLength: 2 }],
  beam: [{}, { seed: 2024, K: 3, maxLength: 8, k: 4 }, { seed: 77, K: 8, maxLength: 2, k: 2 }, { seed: 9, K: 4, maxLength: 5, k: 1 }],
};

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe("coursework 03 · attention and decoding: checks", () => {
  let backend = "";
  before(async () => {
    await initBackend();
    backend = tf.getBackend();
  });
  after(async () => {
    await tf.setBackend(backend);
  });

  for (const name of ["wasm", "cpu"]) {
    describe(`right answers pass on the ${name} backend, with the notebook's public and hidden tests' options`, () => {
      before(async () => {
        assert.ok(await tf.setBackend(name), `backend ${name}`);
      });
      it("additiveScore, dotScore, generalScore, scaledDotScore", () => {
        for (const o of NOTEBOOK.additive)
          assert.match(
            expectPass(() => checkAdditiveScore(additiveScore, o)),
            /^✓ additiveScore: e = wᵀ tanh/,
          );
        for (const o of NOTEBOOK.dot)
          assert.match(
            expectPass(() => checkDotScore(dotScore, o)),
            /^✓ dotScore: e = qᵀ k_j/,
          );
        for (const o of NOTEBOOK.general)
          assert.match(
            expectPass(() => checkGeneralScore(generalScore, o)),
            /^✓ generalScore: e = qᵀ W_a k_j/,
          );
        for (const o of NOTEBOOK.scaled)
          assert.match(
            expectPass(() => checkScaledDotScore(scaledDotScore, o)),
            /^✓ scaledDotScore: e = qᵀ k_j \/ √H/,
          );
      });
      it("maskedSoftmax, with ordinary scores and with scores around ±1000", () => {
        for (const o of NOTEBOOK.softmax)
          assert.match(
            expectPass(() => checkMaskedSoftmax(maskedSoftmax, o)),
            /^✓ maskedSoftmax: α matches/,
          );
      });
      it("attentionContext", () => {
        for (const o of NOTEBOOK.context)
          assert.match(
            expectPass(() => checkAttentionContext(attentionContext, o)),
            /^✓ attentionContext: c = Σ_j α_j v_j/,
          );
      });
      it("the checks also pass other sizes (A ≠ H, H_k ≠ H, T_in = 1, large inputs)", () => {
        for (const o of [
          { seed: 11, B: 2, T: 1, H: 4, Hk: 3, A: 6, scale: 3 },
          { seed: 12, B: 4, T: 12, H: 2, A: 1 },
        ]) {
          expectPass(() => checkAdditiveScore(additiveScore, o));
          expectPass(() => checkGeneralScore(generalScore, o));
          expectPass(() => checkDotScore(dotScore, o));
          expectPass(() => checkScaledDotScore(scaledDotScore, o));
          expectPass(() => checkAttentionContext(attentionContext, o));
          expectPass(() => checkMaskedSoftmax(maskedSoftmax, o));
        }
      });
    });
  }

  it("greedyDecode and beamSearch pass with the notebook's public and hidden tests' options, and others", () => {
    for (const o of NOTEBOOK.greedy)
      assert.match(
        expectPass(() => checkGreedyDecode(greedyDecode, o)),
        /^✓ greedyDecode: the tokens equal/,
      );
    for (const o of NOTEBOOK.beam)
      assert.match(
        expectPass(() => checkBeamSearch(beamSearch, o)),
        /^✓ beamSearch: tokens and log p equal/,
      );
    for (const o of [
      { seed: 9, K: 2, maxLength: 5 },
      { seed: 10, K: 6, maxLength: 4, k: 6 },
      { seed: 11, K: 3, maxLength: 1, k: 2 },
    ]) {
      expectPass(() => checkGreedyDecode(greedyDecode, o));
      expectPass(() => checkBeamSearch(beamSearch, o));
    }
  });

  describe("mistakes are recognised", () => {
    for (const [name, fn] of Object.entries(wrongScores.additive)) {
      it(`additiveScore: ${name}`, () => void expectMistake(() => checkAdditiveScore(fn), name, "e is wrong"));
    }
    for (const [name, fn] of Object.entries(wrongScores.dot)) {
      it(`dotScore: ${name}`, () => void expectMistake(() => checkDotScore(fn), name, "e is wrong"));
    }
    for (const [name, fn] of Object.entries(wrongScores.general)) {
      it(`generalScore: ${name}`, () => void expectMistake(() => checkGeneralScore(fn), name, "e is wrong"));
    }
    for (const [name, fn] of Object.entries(wrongScores.scaled)) {
      it(`scaledDotScore: ${name}`, () => void expectMistake(() => checkScaledDotScore(fn), name, "e is wrong"));
    }
    for (const [name, fn] of Object.entries(wrongSoftmax)) {
      it(`maskedSoftmax: ${name}`, () => {
        const options = name === "max-not-subtracted" ? { scale: 1000 } : {};
        expectMistake(() => checkMaskedSoftmax(fn, options), name, "α");
      });
    }
    it("beamSearch: variants that find the same sequence pass (finished candidates taking places; no early stop)", () => {
      // With log-probabilities (no length penalty) both are harmless: a finished candidate outranks every live prefix
      // it pushes out, and a prefix's log p only falls, so neither can change the best sequence.
      for (const o of [{}, { seed: 2024, K: 3, maxLength: 8 }, { seed: 77, K: 8, maxLength: 2 }]) {
        expectPass(() => checkBeamSearch(beamWith("shrink"), o));
        expectPass(() => checkBeamSearch(beamWith("no-early-stop"), o));
      }
    });
    it("maskedSoftmax: max not subtracted passes ordinary scores (it is only unstable)", () => {
      expectPass(() => checkMaskedSoftmax(wrongSoftmax["max-not-subtracted"]));
    });
    for (const [name, fn] of Object.entries(wrongContext)) {
      it(`attentionContext: ${name}`, () => void expectMistake(() => checkAttentionContext(fn), name, "c is wrong"));
    }
    for (const [name, fn] of Object.entries(wrongGreedy)) {
      it(`greedyDecode: ${name}`, () => void expectMistake(() => checkGreedyDecode(fn), name, "tokens are wrong"));
    }
    for (const [name, fn] of wrongBeam) {
      it(`beamSearch: ${name}`, () =>
        void expectMistake(
          () => checkBeamSearch(fn),
          name,
          name.includes("logp") || name === "probability" ? "log p" : "tokens are wrong",
        ));
    }
    it("a transposed or wrongly shaped answer names the shape", () => {
      const e = expectMistake(
        () => checkScaledDotScore((q, k) => tf.tidy(() => tf.transpose(dot(q, k))) as Tensor2D),
        "transposed",
        "e has shape [6, 3]",
      );
      assert.match(e.message, /expected \[3, 6\]/);
    });
  });

  describe("stubs, throws, leaks", () => {
    const stubs: [string, () => void][] = [
      ["additiveScore", () => checkAdditiveScore(notImplemented)],
      ["dotScore", () => checkDotScore(notImplemented)],
      ["generalScore", () => checkGeneralScore(notImplemented)],
      ["scaledDotScore", () => checkScaledDotScore(notImplemented)],
      ["maskedSoftmax", () => checkMaskedSoftmax(notImplemented)],
      ["attentionContext", () => checkAttentionContext(notImplemented)],
      ["greedyDecode", () => checkGreedyDecode(notImplemented)],
      ["beamSearch", () => checkBeamSearch(notImplemented)],
    ];
    for (const [where, run] of stubs) {
      it(`${where}: the release's stub says "not implemented yet"`, () => {
        const e = expectMistake(run, "stub", where);
        assert.match(e.message, new RegExp(`^${where} is not implemented yet`));
      });
    }
    it("a function that throws something else is reported with what it threw", () => {
      const e = expectMistake(
        () =>
          checkDotScore((q, k) => {
            tf.ones([3]);
            return tf.matMul(q, k as unknown as Tensor2D);
          }),
        "threw",
        "dotScore threw",
      );
      assert.match(e.message, /inner shapes/);
    });
    it("a function that leaks tensors passes with a one-line note, and the check disposes them", () => {
      const leaky: DotScore = (q, k) => {
        tf.ones([4]);
        tf.zeros([2]);
        return tf.tidy(() => dot(q, k));
      };
      const before = tf.memory().numTensors;
      const lines = quietly(() => checkDotScore(leaky));
      assert.equal(tf.memory().numTensors, before);
      assert.equal(lines.length, 2, lines.join("\n"));
      assert.match(lines[0], /^note: dotScore left 2 tensors undisposed/);
      assert.match(lines[1], /^✓ dotScore/);
    });
    it("a function that returns an input unchanged fails without disposing it twice", () => {
      expectMistake(() => checkMaskedSoftmax((e) => e), undefined as unknown as string, "α is wrong");
    });
    it("a decoder that returns a tensor or nothing is told what it returned", () => {
      expectMistake(() => checkGreedyDecode((() => tf.tensor1d([1])) as unknown as GreedyDecode), "shape", "tokens must be an array");
      expectMistake(() => checkBeamSearch((() => undefined) as unknown as BeamSearch), "shape", "must return { tokens, logProb }");
    });
    it("the decoders are plain functions: the same prefix gives the same log-probabilities, which sum to 1", () => {
      let seen: StepLogProbs | undefined;
      quietly(() =>
        checkGreedyDecode((step, start, end, maxLength) => {
          seen ??= step;
          return greedyDecode(step, start, end, maxLength);
        }),
      );
      const a = Array.from(seen!([5, 1, 2]));
      assert.deepEqual(Array.from(seen!([5, 1, 2])), a);
      assert.ok(Math.abs(a.reduce((s, v) => s + Math.exp(v), 0) - 1) < 1e-12);
    });
  });
});
