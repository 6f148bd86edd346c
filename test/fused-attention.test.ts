/**
 * The fused attention op (src/fused/attention.ts) against three independent sources: the
 * reference functions of src/sequence/attention.ts (values, and gradients by tfjs autodiff
 * through them), a float64 re-implementation of the forward here (finite differences), and
 * the whole AttentionEncoderDecoder on its reference path (SEQLAB_FUSED=0): loss, every
 * variable's gradient, greedy decoding. Also: memory flat over many steps, errors.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks } from "./recurrent-helpers";
import {
  ids,
  maxDiff,
  normal,
  num,
  PADDED_AND_EMPTY_MASK,
  relDiff,
  sameOnOneAndTwoThreads,
  tensorCountsOverSteps,
  throwsWith,
} from "./sequence-helpers";

const { tf } = seqlab;
type Tensor = seqlab.tf.Tensor;
type Tensor1D = seqlab.tf.Tensor1D;
type Tensor2D = seqlab.tf.Tensor2D;
type Tensor3D = seqlab.tf.Tensor3D;
type Score = seqlab.AttentionScore;

const SCORES: readonly Score[] = ["additive", "dot", "general", "scaled-dot"];
const BUILDS = ["relaxed", "simd", "scalar"] as const;

/** Runs fn with SEQLAB_FUSED set to `value` (restored afterwards). */
function withFused<T>(value: string, fn: () => T): T {
  const old = process.env.SEQLAB_FUSED;
  process.env.SEQLAB_FUSED = value;
  try {
    return fn();
  } finally {
    if (old === undefined) delete process.env.SEQLAB_FUSED;
    else process.env.SEQLAB_FUSED = old;
  }
}

describe("fused attention", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  // B = 3, T_out = 4, T_in = 5; D = 6 and A = 7 are not multiples of 4 (SIMD tails run too).
  const [B, Tout, Tin, D, A] = [3, 4, 5, 6, 7];
  const maskValues = PADDED_AND_EMPTY_MASK;

  /** The inputs of one check: queries h, keys k, values v (distinct from k), parameters, loss weights. */
  const make = () => ({
    h: normal<Tensor3D>([B, Tout, D], 1),
    k: normal<Tensor3D>([B, Tin, D], 2),
    v: normal<Tensor3D>([B, Tin, D + 1], 3),
    Wa: normal<Tensor2D>([D, D], 4, 0.5),
    Wq: normal<Tensor2D>([A, D], 5, 0.5),
    Wk: normal<Tensor2D>([A, D], 6, 0.5),
    w: normal<Tensor1D>([A], 7),
    R: normal<Tensor3D>([B, Tout, D + 1], 8), // ∂L/∂c
    S: normal<Tensor3D>([B, Tout, Tin], 9), // ∂L/∂α
    mask: tf.tensor2d(maskValues) as Tensor2D,
  });
  type Inputs = ReturnType<typeof make>;
  /** The tensors each score's gradient is checked for. */
  const paramsOf = (score: Score): ("Wa" | "Wq" | "Wk" | "w")[] =>
    score === "additive" ? ["Wq", "Wk", "w"] : score === "general" ? ["Wa"] : [];

  /** α and c by the reference functions, for queries h, keys k, values v. */
  function reference(score: Score, h: Tensor3D, k: Tensor3D, v: Tensor3D, p: Record<string, Tensor>, mask?: Tensor2D) {
    const e =
      score === "additive"
        ? seqlab.additiveScore(h, k, { Wq: p.Wq as Tensor2D, Wk: p.Wk as Tensor2D, w: p.w as Tensor1D })
        : score === "dot"
          ? seqlab.dotScore(h, k)
          : score === "general"
            ? seqlab.generalScore(h, k, p.Wa as Tensor2D)
            : seqlab.scaledDotScore(h, k);
    const alpha = seqlab.attentionSoftmax(e, mask);
    return { alpha, context: seqlab.attentionContext(alpha, v) };
  }

  /** α and c by the fused op (the products around it as tfjs ops, as the model does). */
  function fused(
    score: Score,
    h: Tensor3D,
    k: Tensor3D,
    v: Tensor3D,
    p: Record<string, Tensor>,
    mask: Tensor2D | undefined,
    variant: internal.FusedVariant,
  ) {
    const h2 = tf.reshape(h, [B * Tout, D]) as Tensor2D;
    switch (score) {
      case "additive": {
        const Pq = tf.reshape(tf.matMul(h2, p.Wq as Tensor2D, false, true), [B, Tout, A]) as Tensor3D;
        const Pk = internal.projectKeys({ Wq: p.Wq as Tensor2D, Wk: p.Wk as Tensor2D, w: p.w as Tensor1D }, k);
        return internal.fusedAttention({ score: "additive", q: Pq, k: Pk, v, w: p.w as Tensor1D, mask, variant });
      }
      case "general": {
        const q = tf.reshape(tf.matMul(h2, p.Wa as Tensor2D), [B, Tout, D]) as Tensor3D;
        return internal.fusedAttention({ score: "dot", q, k, v, mask, variant });
      }
      case "dot":
        return internal.fusedAttention({ score: "dot", q: h, k, v, mask, variant });
      case "scaled-dot":
        return internal.fusedAttention({ score: "dot", q: h, k, v, mask, scale: 1 / Math.sqrt(D), variant });
    }
  }

  /** L = Σ c ⊙ R (+ Σ α ⊙ S) and its gradients with respect to h, k, v and the score's parameters. */
  function lossAndGrads(attend: typeof reference, score: Score, x: Inputs, mask: Tensor2D | undefined, withAlpha: boolean) {
    const names = paramsOf(score);
    return tf.tidy(() => {
      const f = (h: Tensor, k: Tensor, v: Tensor, ...ps: Tensor[]) => {
        const p = Object.fromEntries(names.map((n, i) => [n, ps[i]]));
        const r = attend(score, h as Tensor3D, k as Tensor3D, v as Tensor3D, p, mask);
        const L = tf.sum(tf.mul(r.context, x.R));
        return withAlpha ? tf.add(L, tf.sum(tf.mul(r.alpha, x.S))) : L;
      };
      const { value, grads } = tf.valueAndGrads(f)([x.h, x.k, x.v, ...names.map((n) => x[n])]);
      return { value, grads: Object.fromEntries(["h", "k", "v", ...names].map((n, i) => [n, grads[i]])) };
    });
  }

  for (const variant of BUILDS)
    for (const score of SCORES)
      for (const masked of [true, false])
        it(`${variant}, "${score}", ${masked ? "with a source mask (one row fully masked)" : "no mask"}: α, c and every gradient equal the reference's`, () => {
          const x = make();
          const mask = masked ? x.mask : undefined;
          const p = { Wa: x.Wa, Wq: x.Wq, Wk: x.Wk, w: x.w };
          const want = tf.tidy(() => reference(score, x.h, x.k, x.v, p, mask));
          const got = tf.tidy(() => fused(score, x.h, x.k, x.v, p, mask, variant));
          assert.ok(maxDiff(got.alpha, want.alpha) < 1e-6, `α differs by ${maxDiff(got.alpha, want.alpha)}`);
          assert.ok(maxDiff(got.context, want.context) < 1e-5, `c differs by ${maxDiff(got.context, want.context)}`);
          if (masked) {
            const a = got.alpha.arraySync();
            for (let t = 0; t < Tout; t++) {
              assert.deepEqual(a[1][t].slice(3), [0, 0]);
              assert.deepEqual(a[2][t], [0, 0, 0, 0, 0]);
            }
            assert.ok(got.context.arraySync()[2].every((row) => row.every((c) => c === 0)));
          }
          for (const withAlpha of [true, false]) {
            const r = lossAndGrads(reference, score, x, mask, withAlpha);
            const f = lossAndGrads((...a) => fused(...a, variant), score, x, mask, withAlpha);
            assert.ok(Math.abs(num(f.value) - num(r.value)) < 1e-4);
            for (const n of Object.keys(r.grads)) {
              const d = relDiff(f.grads[n], r.grads[n]);
              assert.ok(d < 1e-5, `∂L/∂${n} (∂α ${withAlpha ? "given" : "zero"}) differs by ${d}`);
            }
            seqlab.disposeAll(r, f);
          }
          seqlab.disposeAll(x, want, got);
        });

  describe("on two threads", () => {
    // 16 examples, so that each thread takes 8; masks of every kind among them
    const [B2, To2, Ti2, D2] = [16, 4, 9, 12];
    const inputs = () => {
      const rng = new seqlab.Rng(11);
      const lengths = Array.from({ length: B2 }, (_, b) => (b === 5 ? 0 : 1 + ((b * 7) % Ti2)));
      return {
        q: internal.normalTensor([B2, To2, D2], 1, rng) as Tensor3D,
        k: internal.normalTensor([B2, Ti2, D2], 1, rng) as Tensor3D,
        v: internal.normalTensor([B2, Ti2, D2 + 3], 1, rng) as Tensor3D,
        w: internal.normalTensor([D2], 1, rng) as Tensor1D,
        R: internal.normalTensor([B2, To2, D2 + 3], 1, rng) as Tensor3D,
        S: internal.normalTensor([B2, To2, Ti2], 1, rng) as Tensor3D,
        mask: tf.tensor2d(lengths.map((n) => Array.from({ length: Ti2 }, (_, j) => (j < n ? 1 : 0)))) as Tensor2D,
      };
    };
    /** α, c and the gradients of Σ c ⊙ R + Σ α ⊙ S, as flat arrays. */
    const run = (score: "dot" | "additive", x: ReturnType<typeof inputs>, sharedKV: boolean) =>
      tf.tidy(() => {
        const R = sharedKV ? tf.slice(x.R, [0, 0, 0], [B2, To2, D2]) : x.R;
        // the tensors the call differentiates: q, k, then v unless V = K, then w (additive)
        const given = [x.q, x.k, ...(sharedKV ? [] : [x.v]), ...(score === "additive" ? [x.w] : [])];
        const call = (ts: Tensor[]) => {
          const [q, k] = ts;
          const vv = sharedKV ? k : ts[2];
          return internal.fusedAttention({
            score,
            q: q as Tensor3D,
            k: k as Tensor3D,
            v: vv as Tensor3D,
            w: score === "additive" ? (ts[ts.length - 1] as Tensor1D) : undefined,
            mask: x.mask,
          });
        };
        const { alpha, context } = call(given);
        const grads = tf.grads((...ts: Tensor[]) => {
          const r = call(ts);
          return tf.add(tf.sum(tf.mul(r.context, R)), tf.sum(tf.mul(r.alpha, x.S)));
        })(given);
        const named = { alpha, context, ...Object.fromEntries(grads.map((g, i) => [`d${i}`, g])) };
        return Object.fromEntries(Object.entries(named).map(([n, t]) => [n, Array.from(t.dataSync())]));
      });

    for (const [score, sharedKV] of [
      ["additive", false],
      ["dot", false],
      ["dot", true],
    ] as const)
      it(`"${score}"${sharedKV ? " with V = K" : ""}: α, c and every gradient bit-identical to one thread, the examples split between the threads`, () => {
        const x = inputs();
        try {
          const one = sameOnOneAndTwoThreads(() => run(score, x, sharedKV));
          // and the values are the attention's: against the reference functions, masks included
          const want = tf.tidy(() => {
            const e =
              score === "additive"
                ? tf.sum(tf.mul(tf.tanh(tf.add(tf.expandDims(x.q, 2), tf.expandDims(x.k, 1))), x.w), 3)
                : tf.matMul(x.q, x.k, false, true);
            return Array.from(seqlab.attentionSoftmax(e as Tensor3D, x.mask).dataSync());
          });
          const worst = Math.max(...want.map((a, i) => Math.abs(a - one.alpha[i])));
          assert.ok(worst < 1e-6, `α differs from the reference's by ${worst}`);
        } finally {
          seqlab.disposeAll(x);
        }
      });
  });

  describe("finite differences in float64", () => {
    /** The op's forward in float64: L = Σ c ⊙ R + Σ α ⊙ S for row-major Q, K (or Pq, Pk), V, w. */
    function loss64(
      score: "dot" | "additive",
      s: number,
      q: Float64Array,
      k: Float64Array,
      v: Float64Array,
      w: Float64Array,
      R: Float64Array,
      S: Float64Array,
      Dq: number,
      Dv: number,
    ): number {
      let L = 0;
      for (let b = 0; b < B; b++)
        for (let t = 0; t < Tout; t++) {
          const e = new Float64Array(Tin);
          for (let j = 0; j < Tin; j++) {
            for (let a = 0; a < Dq; a++) {
              const qa = q[(b * Tout + t) * Dq + a];
              const ka = k[(b * Tin + j) * Dq + a];
              e[j] += score === "dot" ? s * qa * ka : w[a] * Math.tanh(qa + ka);
            }
          }
          const real = maskValues[b].map((m) => m !== 0);
          const top = Math.max(...e.filter((_, j) => real[j]));
          const ex = Array.from(e, (ej, j) => (real[j] ? Math.exp(ej - top) : 0));
          const sum = ex.reduce((x, y) => x + y, 0);
          for (let j = 0; j < Tin; j++) {
            const alpha = sum > 0 ? ex[j] / sum : 0;
            L += alpha * S[(b * Tout + t) * Tin + j];
            for (let d = 0; d < Dv; d++) L += alpha * v[(b * Tin + j) * Dv + d] * R[(b * Tout + t) * Dv + d];
          }
        }
      return L;
    }

    for (const score of ["dot", "additive"] as const)
      it(`"${score}": the fused gradients of Q (Pq), K (Pk), V${score === "additive" ? ", w" : ""} equal centred differences of a float64 forward`, () => {
        const Dq = score === "dot" ? D : A;
        const Dv = D + 1;
        const s = score === "dot" ? 0.7 : 1;
        const ts = {
          q: normal<Tensor3D>([B, Tout, Dq], 11),
          k: normal<Tensor3D>([B, Tin, Dq], 12),
          v: normal<Tensor3D>([B, Tin, Dv], 13),
          w: normal<Tensor1D>([Dq], 14),
          R: normal<Tensor3D>([B, Tout, Dv], 15),
          S: normal<Tensor3D>([B, Tout, Tin], 16),
          mask: tf.tensor2d(maskValues) as Tensor2D,
        };
        const grads = tf.tidy(() =>
          tf.grads((q: Tensor, k: Tensor, v: Tensor, w: Tensor) => {
            const r = internal.fusedAttention({
              score,
              q: q as Tensor3D,
              k: k as Tensor3D,
              v: v as Tensor3D,
              mask: ts.mask,
              ...(score === "additive" ? { w: w as Tensor1D } : { scale: s }),
            });
            const L = tf.add(tf.sum(tf.mul(r.context, ts.R)), tf.sum(tf.mul(r.alpha, ts.S)));
            return score === "additive" ? L : tf.add(L, tf.mul(0, tf.sum(w))); // w unused by the dot score
          })([ts.q, ts.k, ts.v, ts.w]),
        );
        const x64 = [ts.q, ts.k, ts.v, ts.w].map((t) => Float64Array.from(t.dataSync()));
        const [R, S] = [ts.R, ts.S].map((t) => Float64Array.from(t.dataSync()));
        const names = score === "additive" ? ["q", "k", "v", "w"] : ["q", "k", "v"];
        names.forEach((name, i) => {
          const f = (xi: Float64Array) => {
            const args = x64.map((x, j) => (j === i ? xi : x));
            return loss64(score, s, args[0], args[1], args[2], args[3], R, S, Dq, Dv);
          };
          const numeric = seqlab.numericalGradient(f, x64[i]);
          const analytic = grads[i].dataSync();
          const scale = Math.max(1, ...numeric.map(Math.abs));
          const err = numeric.reduce((m, g, j) => Math.max(m, Math.abs(g - analytic[j])), 0) / scale;
          assert.ok(err < 1e-4, `∂L/∂${name}: ${err}`);
          assert.ok(
            numeric.some((g) => Math.abs(g) > 1e-3),
            `∂L/∂${name} is not all 0`,
          );
        });
        seqlab.disposeAll(ts, grads);
      });
  });

  describe("the encoder–decoder with attention, fused vs the reference path (SEQLAB_FUSED=0)", () => {
    const [Vx, K, H] = [9, 7, 8];
    const batch = () => {
      const x = ids(4, 6, Vx, 1);
      const xMask = internal.maskFromLengths([6, 3, 5, 1], 6);
      const y = ids(4, 5, K, 2);
      const yIn = tf.tidy(() => tf.concat([tf.fill([4, 1], 0, "int32"), tf.slice(y, [0, 0], [4, 4])], 1) as Tensor2D);
      return { x, xMask, y, yIn, mask: tf.ones([4, 5]) as Tensor2D };
    };
    const model = (score: Score) =>
      new seqlab.AttentionEncoderDecoder({
        sourceVocabSize: Vx,
        targetVocabSize: K,
        cell: "gru",
        hiddenSize: H,
        score,
        attentionSize: 5,
        seed: 3,
      });

    for (const score of SCORES)
      it(`"${score}": loss and every variable's gradient agree (teacher forced, with xMask)`, () => {
        const m = model(score);
        const b = batch();
        const vars = Object.values(m.variables);
        const run = (fusedSetting: string) =>
          withFused(fusedSetting, () => tf.variableGrads(() => m.forward(b, { training: true }).loss, vars));
        const ref = run("0");
        const fast = run("1");
        assert.ok(Math.abs(num(fast.value) - num(ref.value)) < 1e-5 * Math.max(1, Math.abs(num(ref.value))));
        for (const [name, g] of Object.entries(ref.grads)) {
          const d = relDiff(fast.grads[name], g);
          assert.ok(d < 1e-4, `∂L/∂${name} differs by ${d}`);
        }
        assert.ok(Object.keys(ref.grads).length === vars.length);
        seqlab.disposeAll(ref, fast, b);
        m.dispose();
      });

    for (const score of SCORES)
      it(`"${score}": greedy decoding gives the same tokens and weights`, () => {
        const m = model(score);
        const b = batch();
        const decode = (fusedSetting: string) =>
          withFused(fusedSetting, () => seqlab.greedyDecode(m, b.x, { startToken: 0, endToken: 1, maxLength: 6, sourceMask: b.xMask }));
        const ref = decode("0");
        const fast = decode("1");
        assert.deepEqual(fast.tokens, ref.tokens);
        assert.deepEqual(fast.ended, ref.ended);
        assert.ok(ref.attention && fast.attention);
        assert.ok(maxDiff(fast.attention.flat(2), ref.attention.flat(2)) < 1e-5);
        assert.ok(maxDiff(fast.logProb, ref.logProb) < 1e-4);
        seqlab.disposeAll(b);
        m.dispose();
      });

    it("memory: tensors and the fused engine's wasm memory flat over 1,000 training steps (250 per score)", function () {
      this.timeout(60_000);
      const b = batch();
      for (const score of SCORES) {
        const m = model(score);
        const counts = tensorCountsOverSteps(m, b, 250);
        assert.equal(counts[counts.length - 1], counts[1], `"${score}": ${counts[1]} → ${counts[counts.length - 1]} tensors`);
        const mem = internal.fusedMemory();
        assert.equal(mem.usedBytes, 0, `"${score}": blocks left in wasm memory`);
        const bytes = mem.bytes;
        tensorCountsOverSteps(m, b, 20);
        assert.equal(internal.fusedMemory().bytes, bytes, `"${score}": the wasm memory grew`);
        m.dispose();
      }
      seqlab.disposeAll(b);
    });
  });

  it("errors: mismatched sizes name the argument, what was expected and what came", () => {
    const q = tf.zeros([2, 3, 4]) as Tensor3D;
    const k = tf.zeros([2, 5, 4]) as Tensor3D;
    const v = tf.zeros([2, 5, 6]) as Tensor3D;
    const bad = {
      k: tf.zeros([2, 5, 3]) as Tensor3D,
      kB: tf.zeros([1, 5, 4]) as Tensor3D,
      v: tf.zeros([2, 4, 6]) as Tensor3D,
      mask: tf.ones([2, 4]) as Tensor2D,
      w: tf.zeros([3]) as Tensor1D,
      q2: tf.zeros([2, 4]) as Tensor2D,
      e: tf.zeros([2, 3, 5]) as Tensor3D,
    };
    throwsWith(
      () => internal.fusedAttention({ score: "dot", q, k: bad.k, v }),
      ["fusedAttention", "k must have shape [B, T_in, D] = [2, 5, 4]", "got [2, 5, 3]"],
    );
    throwsWith(() => internal.fusedAttention({ score: "dot", q, k: bad.kB, v }), ["k must have shape", "got [1, 5, 4]"]);
    throwsWith(
      () => internal.fusedAttention({ score: "dot", q, k, v: bad.v }),
      ["v must have shape [B, T_in, D_v] = [2, 5, 6]", "got [2, 4, 6]"],
    );
    throwsWith(
      () => internal.fusedAttention({ score: "dot", q, k, v, mask: bad.mask }),
      ["mask must have shape [B, T_in] = [2, 5]", "got [2, 4]"],
    );
    throwsWith(() => internal.fusedAttention({ score: "additive", q, k, v }), ["the additive score needs w"]);
    throwsWith(() => internal.fusedAttention({ score: "additive", q, k, v, w: bad.w }), ["w must have shape [A] = [4]", "got [3]"]);
    throwsWith(
      () => internal.fusedAttention({ score: "dot", q: bad.q2 as unknown as Tensor3D, k, v }),
      ["q must have shape [B, T_out, D]", "rank 2"],
    );
    // the reference functions keep their own checks
    throwsWith(() => seqlab.dotScore(q, bad.k), ["dotScore", "k must have shape"]);
    throwsWith(() => seqlab.attentionSoftmax(bad.e, bad.mask), ["attentionSoftmax", "mask must have shape"]);
    assert.equal(internal.fusedMemory().usedBytes, 0);
    seqlab.disposeAll(q, k, v, bad);
  });
});
