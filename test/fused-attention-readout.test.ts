/**
 * The fused attention readout (src/fused/attention-readout.ts: score, masked softmax,
 * context and h̃ = tanh(W_c [c; h] + b_c) as one op) against two independent sources: the
 * reference functions of src/sequence/attention.ts with tfjs ops for h̃, as
 * AttentionEncoderDecoder's reference readout computes it (values, and gradients by tfjs
 * autodiff through them), and a float64 re-implementation of the forward here (finite
 * differences). Also: one and two threads give the same bits, the engine's memory is given
 * back (including forwards evicted before their backward), errors.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks } from "./recurrent-helpers";
import { flat, maxDiff, normal, num, PADDED_AND_EMPTY_MASK, relDiff, sameOnOneAndTwoThreads, throwsWith } from "./sequence-helpers";

const { tf } = seqlab;
type Tensor = seqlab.tf.Tensor;
type Tensor1D = seqlab.tf.Tensor1D;
type Tensor2D = seqlab.tf.Tensor2D;
type Tensor3D = seqlab.tf.Tensor3D;
type Score = seqlab.AttentionScore;

/** The score configurations: the four scores, and additive with the keys projected by the caller. */
const CASES = ["additive", "additive (projected)", "dot", "general", "scaled-dot"] as const;
type Case = (typeof CASES)[number];
const BUILDS = ["relaxed", "simd", "scalar"] as const;
/** The tensors the op differentiates, by name. */
type Name = "h" | "keys" | "Wc" | "bc" | "Wq" | "Wk" | "projected" | "w" | "Wa";

const scoreOf = (c: Case): Score => (c === "additive (projected)" ? "additive" : c);
/** The inputs each case differentiates: h, keys, W_c, b_c, then the score's own. */
const namesOf = (c: Case): Name[] => [
  "h",
  "keys",
  "Wc",
  "bc",
  ...((c === "additive"
    ? ["Wq", "Wk", "w"]
    : c === "additive (projected)"
      ? ["Wq", "projected", "w"]
      : c === "general"
        ? ["Wa"]
        : []) as Name[]),
];

/** h̃ and α by the reference: the score functions, attentionSoftmax, attentionContext, concat, matMul, tanh. */
function reference(c: Case, p: Partial<Record<Name, Tensor>>, mask: Tensor2D | undefined) {
  const h = p.h as Tensor3D;
  const keys = p.keys as Tensor3D;
  const [B, Tout, H] = h.shape;
  const e =
    c === "additive" || c === "additive (projected)"
      ? seqlab.additiveScore(
          h,
          keys,
          // with `projected`, additiveScore does not read W_k
          { Wq: p.Wq as Tensor2D, Wk: (p.Wk ?? p.Wq) as Tensor2D, w: p.w as Tensor1D },
          p.projected as Tensor3D | undefined,
        )
      : c === "dot"
        ? seqlab.dotScore(h, keys)
        : c === "general"
          ? seqlab.generalScore(h, keys, p.Wa as Tensor2D)
          : seqlab.scaledDotScore(h, keys);
  const alpha = seqlab.attentionSoftmax(e, mask);
  const context = seqlab.attentionContext(alpha, keys);
  const ch = tf.reshape(tf.concat([context, h], 2), [B * Tout, -1]) as Tensor2D;
  const pre = tf.add(tf.matMul(ch, p.Wc as Tensor2D, false, true), p.bc as Tensor1D);
  return { hTilde: tf.reshape(tf.tanh(pre), [B, Tout, H]) as Tensor3D, alpha };
}

/** h̃ and α by the fused op. */
function fused(c: Case, p: Partial<Record<Name, Tensor>>, mask: Tensor2D | undefined, variant?: internal.FusedVariant) {
  return internal.fusedAttentionReadout({
    score: scoreOf(c),
    h: p.h as Tensor3D,
    keys: p.keys as Tensor3D,
    Wc: p.Wc as Tensor2D,
    bc: p.bc as Tensor1D,
    Wq: p.Wq as Tensor2D | undefined,
    Wk: p.Wk as Tensor2D | undefined,
    w: p.w as Tensor1D | undefined,
    projected: p.projected as Tensor3D | undefined,
    Wa: p.Wa as Tensor2D | undefined,
    mask,
    variant,
  });
}

type Readout = typeof reference;

/** The inputs of one case (only those it takes) and the loss weights R (on h̃) and S (on α). */
function make(c: Case, B: number, Tout: number, Tin: number, H: number, A: number, seed = 0) {
  // H_enc ≠ H where the score allows it
  const Henc = c === "dot" || c === "scaled-dot" ? H : H + 3;
  const all: Record<Name, Tensor> = {
    h: normal([B, Tout, H], seed + 1),
    keys: normal([B, Tin, Henc], seed + 2),
    Wc: normal([H, Henc + H], seed + 3, 0.4),
    bc: normal([H], seed + 4, 0.5),
    Wq: normal([A, H], seed + 5, 0.5),
    Wk: normal([A, Henc], seed + 6, 0.5),
    projected: normal([B, Tin, A], seed + 7),
    w: normal([A], seed + 8),
    Wa: normal([H, Henc], seed + 9, 0.5),
  };
  const names = namesOf(c);
  for (const n of Object.keys(all) as Name[]) if (!names.includes(n)) all[n].dispose();
  const p = Object.fromEntries(names.map((n) => [n, all[n]])) as Partial<Record<Name, Tensor>>;
  return { p, names, Henc, R: normal<Tensor3D>([B, Tout, H], seed + 10), S: normal<Tensor3D>([B, Tout, Tin], seed + 11) };
}
type Made = ReturnType<typeof make>;

/** L = Σ h̃ ⊙ R (+ Σ α ⊙ S) and its gradients with respect to every input the case takes. */
function lossAndGrads(readout: Readout, c: Case, x: Made, mask: Tensor2D | undefined, withAlpha: boolean) {
  return tf.tidy(() => {
    const f = (...ts: Tensor[]) => {
      const r = readout(c, Object.fromEntries(x.names.map((n, i) => [n, ts[i]])), mask);
      const L = tf.sum(tf.mul(r.hTilde, x.R));
      return withAlpha ? tf.add(L, tf.sum(tf.mul(r.alpha, x.S))) : L;
    };
    const { value, grads } = tf.valueAndGrads(f)(x.names.map((n) => x.p[n]!));
    return { value, grads: Object.fromEntries(x.names.map((n, i) => [n, grads[i]])) };
  });
}

describe("fused attention readout", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  // B = 3, T_out = 4, T_in = 5; H = 6, A = 7 and H_enc = 9 are not multiples of 4 (SIMD tails run too).
  const [B, Tout, Tin, H, A] = [3, 4, 5, 6, 7];
  const maskValues = PADDED_AND_EMPTY_MASK;

  for (const variant of BUILDS)
    for (const c of CASES)
      for (const masked of [true, false])
        it(`${variant}, "${c}", ${masked ? "with a source mask (one row fully masked)" : "no mask"}: h̃, α and every gradient equal the reference's`, () => {
          const x = make(c, B, Tout, Tin, H, A);
          const mask = masked ? (tf.tensor2d(maskValues) as Tensor2D) : undefined;
          const want = tf.tidy(() => reference(c, x.p, mask));
          const got = tf.tidy(() => fused(c, x.p, mask, variant));
          assert.deepEqual(got.hTilde.shape, [B, Tout, H]);
          assert.deepEqual(got.alpha.shape, [B, Tout, Tin]);
          const dh = relDiff(got.hTilde, want.hTilde);
          const da = relDiff(got.alpha, want.alpha);
          assert.ok(dh < 1e-5, `h̃ differs by ${dh}`);
          assert.ok(da < 1e-5, `α differs by ${da}`);
          if (masked) {
            const a = got.alpha.arraySync();
            for (let t = 0; t < Tout; t++) {
              assert.deepEqual(a[1][t].slice(3), [0, 0]);
              assert.deepEqual(a[2][t], [0, 0, 0, 0, 0]);
            }
          }
          for (const withAlpha of [true, false]) {
            const r = lossAndGrads(reference, c, x, mask, withAlpha);
            const f = lossAndGrads((...a) => fused(...a, variant), c, x, mask, withAlpha);
            const dL = Math.abs(num(f.value) - num(r.value));
            assert.ok(dL < 1e-5 * Math.max(1, Math.abs(num(r.value))), `L differs by ${dL}`);
            for (const n of x.names) {
              const d = relDiff(f.grads[n], r.grads[n]);
              assert.ok(d < 1e-4, `∂L/∂${n} (∂α ${withAlpha ? "given" : "zero"}) differs by ${d}`);
            }
            seqlab.disposeAll(r, f);
          }
          assert.equal(internal.fusedMemory(variant).usedBytes, 0, "blocks left in wasm memory");
          seqlab.disposeAll(x, mask, want, got);
        });

  describe("finite differences in float64", () => {
    /** The readout's forward in float64, L = Σ h̃ ⊙ R + Σ α ⊙ S, from row-major inputs. */
    function loss64(c: Case, v: Partial<Record<Name, Float64Array>>, R: Float64Array, S: Float64Array, Henc: number): number {
      const { h, keys, Wc, bc } = v as Record<Name, Float64Array>;
      let L = 0;
      for (let b = 0; b < B; b++) {
        // the keys' side of the score: W_k h_enc(j) (additive)
        const Pk = new Float64Array(Tin * A);
        if (c === "additive")
          for (let j = 0; j < Tin; j++)
            for (let a = 0; a < A; a++)
              for (let i = 0; i < Henc; i++) Pk[j * A + a] += v.Wk![a * Henc + i] * keys[(b * Tin + j) * Henc + i];
        if (c === "additive (projected)") Pk.set(v.projected!.subarray(b * Tin * A, (b + 1) * Tin * A));
        for (let t = 0; t < Tout; t++) {
          const ht = h.subarray((b * Tout + t) * H, (b * Tout + t + 1) * H);
          const e = new Float64Array(Tin);
          if (c === "general") {
            const q = new Float64Array(Henc); // h(t) W_a
            for (let d = 0; d < Henc; d++) for (let i = 0; i < H; i++) q[d] += ht[i] * v.Wa![i * Henc + d];
            for (let j = 0; j < Tin; j++) for (let d = 0; d < Henc; d++) e[j] += q[d] * keys[(b * Tin + j) * Henc + d];
          } else {
            const Pq = new Float64Array(A); // W_q h(t)
            for (let a = 0; a < A; a++) for (let i = 0; i < H; i++) Pq[a] += v.Wq![a * H + i] * ht[i];
            for (let j = 0; j < Tin; j++) for (let a = 0; a < A; a++) e[j] += v.w![a] * Math.tanh(Pq[a] + Pk[j * A + a]);
          }
          const real = maskValues[b].map((m) => m !== 0);
          const top = Math.max(...e.filter((_, j) => real[j]));
          const ex = Array.from(e, (ej, j) => (real[j] ? Math.exp(ej - top) : 0));
          const sum = ex.reduce((p, q) => p + q, 0);
          const alpha = ex.map((x) => (sum > 0 ? x / sum : 0));
          const ctx = new Float64Array(Henc);
          for (let j = 0; j < Tin; j++) {
            L += alpha[j] * S[(b * Tout + t) * Tin + j];
            for (let d = 0; d < Henc; d++) ctx[d] += alpha[j] * keys[(b * Tin + j) * Henc + d];
          }
          for (let o = 0; o < H; o++) {
            let pre = bc[o];
            for (let d = 0; d < Henc; d++) pre += Wc[o * (Henc + H) + d] * ctx[d];
            for (let i = 0; i < H; i++) pre += Wc[o * (Henc + H) + Henc + i] * ht[i];
            L += Math.tanh(pre) * R[(b * Tout + t) * H + o];
          }
        }
      }
      return L;
    }

    for (const c of ["additive", "additive (projected)", "general"] as const)
      it(`"${c}": the fused gradients of every input equal centred differences of a float64 forward`, () => {
        const x = make(c, B, Tout, Tin, H, A, 20);
        const mask = tf.tensor2d(maskValues) as Tensor2D;
        const grads = lossAndGrads(fused, c, x, mask, true);
        const x64 = Object.fromEntries(x.names.map((n) => [n, Float64Array.from(x.p[n]!.dataSync())])) as Partial<
          Record<Name, Float64Array>
        >;
        const [R, S] = [x.R, x.S].map((t) => Float64Array.from(t.dataSync()));
        assert.ok(Math.abs(loss64(c, x64, R, S, x.Henc) - num(grads.value)) < 1e-4, "the float64 forward is not the op's");
        for (const n of x.names) {
          const numeric = seqlab.numericalGradient((xi) => loss64(c, { ...x64, [n]: xi }, R, S, x.Henc), x64[n]!);
          const analytic = grads.grads[n].dataSync();
          const scale = Math.max(1, ...numeric.map(Math.abs));
          const err = numeric.reduce((m, g, j) => Math.max(m, Math.abs(g - analytic[j])), 0) / scale;
          assert.ok(err < 1e-4, `∂L/∂${n}: ${err}`);
          assert.ok(
            numeric.some((g) => Math.abs(g) > 1e-3),
            `∂L/∂${n} is not all 0`,
          );
        }
        seqlab.disposeAll(x, mask, grads);
      });
  });

  describe("on two threads", () => {
    // 16 examples, so that each thread takes 8; masks of every kind among them
    const [B2, To2, Ti2, H2, A2] = [16, 9, 12, 16, 16];
    const mask2 = () =>
      tf.tensor2d(
        Array.from({ length: B2 }, (_, b) => {
          const n = b === 5 ? 0 : 1 + ((b * 7) % Ti2);
          return Array.from({ length: Ti2 }, (_, j) => (j < n ? 1 : 0));
        }),
      ) as Tensor2D;
    /** h̃, α and the gradients of Σ h̃ ⊙ R + Σ α ⊙ S, as flat arrays. */
    const run = (c: Case, x: Made, mask: Tensor2D) =>
      tf.tidy(() => {
        const { hTilde, alpha } = fused(c, x.p, mask);
        const { grads } = lossAndGrads(fused, c, x, mask, true);
        const named: Record<string, Tensor> = { hTilde, alpha, ...grads };
        return Object.fromEntries(Object.entries(named).map(([n, t]) => [n, Array.from(t.dataSync())]));
      });

    for (const c of CASES)
      it(`"${c}": h̃, α and every gradient bit-identical to one thread, the work split between the threads`, () => {
        const x = make(c, B2, To2, Ti2, H2, A2, 30);
        const mask = mask2();
        try {
          const one = sameOnOneAndTwoThreads(() => run(c, x, mask));
          // and the values are the readout's: against the reference, masks included
          const want = tf.tidy(() => {
            const r = reference(c, x.p, mask);
            return { hTilde: flat(r.hTilde), alpha: flat(r.alpha) };
          });
          for (const n of ["hTilde", "alpha"] as const) {
            const worst = maxDiff(one[n], want[n]) / Math.max(1, ...want[n].map(Math.abs));
            assert.ok(worst < 1e-5, `${n} differs from the reference's by ${worst}`);
          }
        } finally {
          seqlab.disposeAll(x, mask);
        }
      });
  });

  describe("memory", () => {
    for (const c of CASES)
      it(`"${c}": 50 forwards and backwards under tf.variableGrads leave the tensor count flat and no block in wasm memory`, () => {
        const x = make(c, B, Tout, Tin, H, A, 40);
        const mask = tf.tensor2d(maskValues) as Tensor2D;
        const vars = Object.fromEntries(x.names.map((n) => [n, tf.variable(x.p[n]!, true, `readout_${n}_${Math.random()}`)]));
        const counts: number[] = [];
        for (let k = 0; k < 50; k++) {
          tf.tidy(() => {
            const { value, grads } = tf.variableGrads(() => {
              const r = fused(c, vars, mask);
              return tf.add(tf.sum(tf.mul(r.hTilde, x.R)), tf.sum(tf.mul(r.alpha, x.S))) as seqlab.tf.Scalar;
            }, Object.values(vars));
            assert.equal(Object.keys(grads).length, x.names.length);
            value.dispose();
          });
          counts.push(tf.memory().numTensors);
        }
        assert.equal(counts[counts.length - 1], counts[0], `${counts[0]} → ${counts[counts.length - 1]} tensors`);
        const mem = internal.fusedMemory();
        assert.equal(mem.usedBytes, 0, "blocks left in wasm memory");
        assert.equal(mem.liveBlocks, 0, "forwards still waiting for a backward");
        seqlab.disposeAll(x, mask, vars);
      });

    it("a forward off the gradient tape (in tf.tidy) keeps no block", () => {
      for (const c of CASES) {
        const x = make(c, B, Tout, Tin, H, A, 50);
        const before = tf.memory().numTensors;
        const hSum = tf.tidy(() => num(tf.sum(fused(c, x.p, undefined).hTilde)));
        assert.ok(Number.isFinite(hSum) && hSum !== 0);
        assert.equal(tf.memory().numTensors, before);
        const mem = internal.fusedMemory();
        assert.equal(mem.usedBytes, 0, `"${c}": the forward's block was kept`);
        assert.equal(mem.liveBlocks, 0);
        seqlab.disposeAll(x);
      }
    });

    it(`more recorded forwards than the engine keeps (MAX_LIVE): the evicted ones are recomputed, the gradients are right`, () => {
      const c: Case = "additive";
      const x = make(c, B, Tout, Tin, H, A, 60);
      const mask = tf.tensor2d(maskValues) as Tensor2D;
      const n = internal.MAX_LIVE + 8;
      let live = -1;
      const got = tf.tidy(() =>
        tf.grads((...ts: Tensor[]) => {
          const p = Object.fromEntries(x.names.map((name, i) => [name, ts[i]]));
          let L: Tensor = tf.scalar(0);
          for (let k = 0; k < n; k++) {
            const r = fused(c, p, mask);
            L = tf.add(L, tf.add(tf.sum(tf.mul(r.hTilde, x.R)), tf.sum(tf.mul(r.alpha, x.S))));
          }
          live = internal.fusedMemory().liveBlocks;
          return L;
        })(x.names.map((name) => x.p[name]!)),
      );
      assert.equal(live, internal.MAX_LIVE, "the engine did not evict the oldest forwards");
      const want = lossAndGrads(reference, c, x, mask, true);
      x.names.forEach((name, i) => {
        const d = tf.tidy(() => relDiff(got[i], tf.mul(want.grads[name], n)));
        assert.ok(d < 1e-4, `∂L/∂${name} differs by ${d}`);
      });
      const mem = internal.fusedMemory();
      assert.equal(mem.usedBytes, 0, "blocks left in wasm memory");
      assert.equal(mem.liveBlocks, 0);
      seqlab.disposeAll(x, mask, got, want);
    });
  });

  it("errors: mismatched sizes and inputs the score does not take name the argument, what was expected and what came", () => {
    const Henc = 9;
    const base = {
      h: tf.zeros([B, Tout, H]) as Tensor3D,
      keys: tf.zeros([B, Tin, Henc]) as Tensor3D,
      Wc: tf.zeros([H, Henc + H]) as Tensor2D,
      bc: tf.zeros([H]) as Tensor1D,
    };
    const additive = { Wq: tf.zeros([A, H]) as Tensor2D, Wk: tf.zeros([A, Henc]) as Tensor2D, w: tf.zeros([A]) as Tensor1D };
    const Wa = tf.zeros([H, Henc]) as Tensor2D;
    const bad = {
      Wc: tf.zeros([H, H]) as Tensor2D,
      bc: tf.zeros([H + 1]) as Tensor1D,
      keysB: tf.zeros([B - 1, Tin, Henc]) as Tensor3D,
      mask: tf.ones([B, Tin - 1]) as Tensor2D,
      h2: tf.zeros([B, H]) as Tensor2D,
      Wq: tf.zeros([A, H + 1]) as Tensor2D,
      Wk: tf.zeros([A, H]) as Tensor2D,
      w: tf.zeros([A + 1]) as Tensor1D,
      projected: tf.zeros([B, Tin, A + 1]) as Tensor3D,
      projectedOk: tf.zeros([B, Tin, A]) as Tensor3D,
      Wa: tf.zeros([H, H]) as Tensor2D,
    };
    const call = (x: Partial<internal.FusedReadoutInputs>) => () =>
      internal.fusedAttentionReadout({ score: "general", ...base, Wa, ...x } as internal.FusedReadoutInputs);
    throwsWith(call({ Wc: bad.Wc }), ["fusedAttentionReadout", "Wc must have shape [H, H_enc + H] = [6, 15]", "got [6, 6]"]);
    throwsWith(call({ bc: bad.bc }), ["bc must have shape [H] = [6]", "got [7]"]);
    throwsWith(call({ keys: bad.keysB }), ["keys must have shape [B, T_in, H_enc] = [3, 5, 9]", "got [2, 5, 9]"]);
    throwsWith(call({ mask: bad.mask }), ["mask must have shape [B, T_in] = [3, 5]", "got [3, 4]"]);
    throwsWith(call({ h: bad.h2 as unknown as Tensor3D }), ["h must have shape [B, T_out, H]", "got [3, 6] (rank 2)"]);
    throwsWith(call({ Wa: bad.Wa }), ["Wa must have shape [H, H_enc] = [6, 9]", "got [6, 6]"]);
    throwsWith(call({ Wa: undefined }), ['the score "general" needs Wa, got none']);
    throwsWith(call({ ...additive }), ['Wq is not used by the score "general"; pass only Wa']);
    // additive
    throwsWith(call({ score: "additive", Wa: undefined, Wq: additive.Wq, Wk: additive.Wk }), ['the score "additive" needs w, got none']);
    throwsWith(call({ score: "additive", Wa: undefined, Wq: additive.Wq, w: additive.w }), ['the score "additive" needs Wk, got none']);
    throwsWith(call({ score: "additive", Wa: undefined, ...additive, projected: bad.projectedOk }), [
      "the additive score takes Wk or its projection of the keys, projected = keys·Wkᵀ, not both",
    ]);
    throwsWith(call({ score: "additive", Wa: undefined, ...additive, Wq: bad.Wq }), ["Wq must have shape [A, H] = [7, 6]", "got [7, 7]"]);
    throwsWith(call({ score: "additive", Wa: undefined, ...additive, Wk: bad.Wk }), [
      "Wk must have shape [A, H_enc] = [7, 9]",
      "got [7, 6]",
    ]);
    throwsWith(call({ score: "additive", Wa: undefined, ...additive, w: bad.w }), ["w must have shape [A] = [7]", "got [8]"]);
    throwsWith(call({ score: "additive", Wa: undefined, ...additive, Wk: undefined, projected: bad.projected }), [
      "projected must have shape [B, T_in, A] = [3, 5, 7]",
      "got [3, 5, 8]",
    ]);
    // dot, scaled dot
    for (const score of ["dot", "scaled-dot"] as const) {
      throwsWith(call({ score, Wa: undefined }), [`the score "${score}" needs H_enc = H, got H_enc = 9 and H = 6`]);
      throwsWith(call({ score }), [`Wa is not used by the score "${score}"; pass only h, keys, Wc, bc`]);
    }
    assert.equal(internal.fusedMemory().usedBytes, 0);
    seqlab.disposeAll(base, additive, Wa, bad);
  });
});
