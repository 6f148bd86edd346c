/**
 * The attention core of an encoder–decoder (scores → masked softmax → context) as one
 * differentiable tfjs op on the fused WebAssembly kernels (src/fused/assembly/attention.ts).
 * The readable reference is src/sequence/attention.ts; this is the fast path beside it.
 * AttentionEncoderDecoder runs these kernels inside its fused readout
 * (src/fused/attention-readout.ts, unless SEQLAB_FUSED=0), which adds the products around
 * them and the attentional state; this op is the core alone, for any Q, K, V.
 *
 * ```
 * dot:      e[t, j] = s · Q[t]·K[j]                       (s = 1, or 1/√D for scaled dot)
 * additive: e[t, j] = Σ_a w[a] tanh(Pq[t, a] + Pk[j, a])
 * α[t, ·]  = softmax of e[t, ·] over the real source positions (padding: exactly 0)
 * c[t]     = Σ_j α[t, j] V[j]
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | Q | [B, T_out, D] | queries: h (dot, scaled dot) or h W_a (general) |
 * | K, V | [B, T_in, D], [B, T_in, D_v] | keys and values (the encoder's outputs) |
 * | Pq, Pk, w | [B, T_out, A], [B, T_in, A], [A] | additive: h W_qᵀ, h_enc W_kᵀ and the score vector |
 * | m | [B, T_in] | source mask, 1 = real (a constant: no gradient) |
 * | α, c | [B, T_out, T_in], [B, T_out, D_v] | weights and contexts |
 *
 * Why: tfjs runs each of these as batched matrix products and broadcasts (a dozen ops,
 * several of them on tfjs-wasm's slow path for batched products), and the additive score
 * materialises [B, T_out, T_in, A]. Here one kernel call does the forward and one the
 * backward. The products around it (h W_a, h W_qᵀ, h_enc W_kᵀ) are the caller's.
 *
 * Threads: a call with enough work (B·T_out·T_in·D from AUTO_MIN_STEP_WORK) runs on the
 * engine that has the second thread, which takes half of the examples; "auto" times one and
 * two threads per kind of call as for the cells. The results are bit-identical either way.
 *
 * Memory: each call copies its inputs into a block of the fused engine's wasm memory (from
 * tfjs-wasm's memory directly where it can, see f32Now in op.ts), runs and frees the block
 * before returning; the backward copies the saved input tensors in again and recomputes α.
 * Nothing stays in wasm memory between forward and backward.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import { checkRank, checkShape } from "../cells/checks";
import { kernelBuild, type KernelBuild } from "./wasm";
import { fusedSetting } from "./options";
import { engineForWork, type Engine } from "./engine";
import { lazyGradientOp, warnIfInternalsMissing } from "./tfjs-internals";
import { f32Now } from "./op";

/** The kernels' two score families: dot products (dot, scaled dot, general) and additive. */
export type FusedAttentionScore = "dot" | "additive";

/** What {@link fusedAttention} takes. */
export interface FusedAttentionInputs {
  /** "dot": e = s·Q·K; "additive": e = wᵀ tanh(Pq + Pk). */
  score: FusedAttentionScore;
  /** Q [B, T_out, D] (dot) or Pq [B, T_out, A] (additive). */
  q: Tensor3D;
  /** K [B, T_in, D] (dot) or Pk [B, T_in, A] (additive). */
  k: Tensor3D;
  /** V [B, T_in, D_v]. */
  v: Tensor3D;
  /** w [A] (additive only). */
  w?: Tensor1D;
  /** s, the dot score's factor; default 1. */
  scale?: number;
  /** m [B, T_in], 1 = real source position, 0 = padding; absent: all real. */
  mask?: Tensor2D;
  /** The kernel build (from {@link attentionVariant}); default the fastest the runtime validates. */
  variant?: KernelBuild;
}

/**
 * The kernel build the attention readout should use, or null for the tfjs-op reference
 * path: `option` false → reference; a build → that build (or the next slower one the
 * runtime validates); true or undefined → SEQLAB_FUSED decides (see options.ts).
 *
 * @throws {FusedOptionError} if SEQLAB_FUSED holds a value it does not accept.
 */
export function attentionVariant(option?: boolean | KernelBuild): KernelBuild | null {
  if (option === false) return null;
  if (option === "relaxed" || option === "simd" || option === "scalar") return kernelBuild(option);
  const env = fusedSetting();
  if (env === false) return null;
  return kernelBuild(env === "auto" ? "relaxed" : env);
}

/** Float32 values of a tensor (a copy only if tfjs holds another type). */
export function f32Of(t: Tensor): Float32Array {
  const v = t.dataSync();
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

/** {@link lazyGradientOp} as called here: two outputs, so the gradient gets two dys. */
type TwoOutputOp = (invocation: {
  inputs: Record<string, Tensor>;
  forwardFunc: (backend: unknown, save: (ts: Tensor[]) => void) => Tensor[];
  backwardsFunc: (dys: Tensor[], saved: Tensor[]) => Record<string, () => Tensor>;
}) => Tensor[];

/**
 * A differentiable op with two float32 outputs of `shapes` (the first the op's result, the
 * second weights such as α that a loss may or may not use): `forward` computes both from the
 * inputs' tensors, `backward` every input's gradient from ∂L/∂(first) and ∂L/∂(second)
 * (null when all zero), in one call. Used by the fused attention core and readout.
 */
export function twoOutputOp(
  inputs: Tensor[],
  shapes: [number[], number[]],
  forward: (ts: readonly Tensor[]) => [Float32Array, Float32Array],
  backward: (d0: Float32Array, d1: Float32Array | null, saved: readonly Tensor[]) => Tensor[],
): [Tensor, Tensor] {
  const [n0, n1] = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const runKernelFunc = lazyGradientOp() as TwoOutputOp | null;
  if (runKernelFunc) {
    // tfjs's custom-gradient op with two outputs: the two dys come separately (zeros for an
    // output outside backprop), so no slices, and no pads in the backward
    return runKernelFunc({
      inputs: Object.fromEntries(inputs.map((t, i) => [String(i), t])),
      forwardFunc: (_backend: unknown, save: (ts: Tensor[]) => void) => {
        save(inputs);
        const [a, b] = forward(inputs);
        return [tf.tensor(a, shapes[0]), tf.tensor(b, shapes[1])];
      },
      backwardsFunc: (dys: Tensor[], saved: Tensor[]) => {
        // One call gives every gradient. Made here, not in the closures: tfjs runs each closure
        // in its own tidy, which would dispose the gradients the others return.
        const d1 = f32Now(dys[1]);
        const grads = backward(f32Now(dys[0]).slice(), d1.some((g) => g !== 0) ? d1.slice() : null, saved);
        return Object.fromEntries(grads.map((g, i) => [String(i), () => g]));
      },
    }) as [Tensor, Tensor];
  }
  // tf.customGrad has one output: both flat, sliced below
  const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const ts = args as Tensor[];
    save(ts);
    const [a, b] = forward(ts);
    const flat = new Float32Array(n0 + n1);
    flat.set(a);
    flat.set(b, n0);
    return {
      value: tf.tensor1d(flat),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const d = f32Of(dy);
        return backward(d.subarray(0, n0), d.subarray(n0).some((g) => g !== 0) ? d.subarray(n0) : null, saved);
      },
    };
  });
  const flat = op(...inputs) as Tensor1D;
  return [tf.reshape(tf.slice(flat, 0, n0), shapes[0]), tf.reshape(tf.slice(flat, n0, n1), shapes[1])];
}

/** Checks the inputs' shapes against each other; returns the sizes. */
function sizesOf(x: FusedAttentionInputs) {
  const where = "fusedAttention";
  checkRank(where, "q", x.q.shape, ["B", "T_out", x.score === "dot" ? "D" : "A"]);
  checkRank(where, "k", x.k.shape, ["B", "T_in", x.score === "dot" ? "D" : "A"]);
  checkRank(where, "v", x.v.shape, ["B", "T_in", "D_v"]);
  const [B, Tout, D] = x.q.shape;
  const [Tin, Dv] = [x.k.shape[1], x.v.shape[2]];
  const Dname = x.score === "dot" ? "D" : "A";
  checkShape(where, "k", x.k.shape, [
    ["B", B],
    ["T_in", Tin],
    [Dname, D],
  ]);
  checkShape(where, "v", x.v.shape, [
    ["B", B],
    ["T_in", Tin],
    ["D_v", Dv],
  ]);
  if (x.score === "additive") {
    if (!x.w) throw new Error(`${where}: the additive score needs w [A] = [${D}], got none`);
    checkShape(where, "w", x.w.shape, [["A", D]]);
  } else if (x.w) throw new Error(`${where}: w is the additive score's; the dot score takes none`);
  if (x.mask)
    checkShape(where, "mask", x.mask.shape, [
      ["B", B],
      ["T_in", Tin],
    ]);
  return { B, Tout, Tin, D, Dv };
}

/** Float32 arrays laid out one after another in one block (64-byte aligned each). */
export function layout(lengths: Record<string, number>): { at: Record<string, number>; bytes: number } {
  const at: Record<string, number> = {};
  let bytes = 0;
  for (const [name, n] of Object.entries(lengths)) {
    at[name] = bytes;
    bytes += Math.ceil((n * 4) / 64) * 64;
  }
  return { at, bytes };
}

/**
 * Runs `body` with a block of `lengths` float32 arrays in the engine's memory (their byte
 * offsets by name, `put` to fill one, `read` to copy one out); frees the block afterwards.
 */
export function withBlock<R>(
  engine: Engine,
  lengths: Record<string, number>,
  body: (p: Record<string, number>, put: (name: string, v: Float32Array) => void, read: (name: string) => Float32Array) => R,
): R {
  const { at, bytes } = layout(lengths);
  const base = engine.heap.alloc(bytes);
  try {
    const p = Object.fromEntries(Object.entries(at).map(([k, o]) => [k, base + o]));
    const put = (name: string, v: Float32Array) => engine.f32().set(v, p[name] >> 2);
    const read = (name: string) => engine.f32().slice(p[name] >> 2, (p[name] >> 2) + lengths[name]);
    return body(p, put, read);
  } finally {
    engine.heap.release(base);
  }
}

/**
 * Attention's scores, masked softmax and context in one differentiable op (see the file
 * comment): α [B, T_out, T_in] and c [B, T_out, D_v] from Q, K, V (dot; scale s) or Pq, Pk,
 * w, V (additive), with gradients for every tensor input but the mask. A fully masked row
 * gets α = 0 and c = 0, as attentionSoftmax (src/sequence/attention.ts) gives. Call it inside `tf.tidy`.
 *
 * @throws {ShapeError} naming the argument whose shape does not fit the others.
 */
export function fusedAttention(x: FusedAttentionInputs): { alpha: Tensor3D; context: Tensor3D } {
  const { B, Tout, Tin, D, Dv } = sizesOf(x);
  warnIfInternalsMissing();
  const additive = x.score === "additive";
  const scale = x.scale ?? 1;
  const variant = x.variant ?? kernelBuild();
  // Large calls split the examples between two threads (bit-identical to one); the decoders'
  // one-step calls stay on one.
  const engine = engineForWork(variant, B * Tout * Tin * D);
  const mask = x.mask ? f32Of(x.mask) : undefined;
  // The models' dot scores attend with V = K (the encoder's outputs): then it is copied in
  // once, and the kernel accumulates ∂K and ∂V into one array (it zeroes both first).
  const shared = !additive && x.v === x.k;
  const given = { q: x.q, k: x.k, v: x.v, w: x.w };
  const names = (["q", "k", "v", "w"] as const).filter((n) => !(n === "v" && shared) && !(n === "w" && !additive));
  const inputs: Tensor[] = names.map((n) => given[n]!);
  const nC = B * Tout * Dv;
  const nA = B * Tout * Tin;
  const sizes = { q: B * Tout * D, k: B * Tin * D, v: shared ? 0 : B * Tin * Dv, w: additive ? D : 0, m: mask ? B * Tin : 0 };

  /** The inputs' values in the block; the offsets of V and the mask (0: none). */
  const fill = (ts: readonly Tensor[], p: Record<string, number>, put: (name: string, v: Float32Array) => void) => {
    names.forEach((n, i) => put(n, f32Now(ts[i])));
    if (mask) put("m", mask);
    return { v: shared ? p.k : p.v, m: mask ? p.m : 0 };
  };

  /** c and α, computed from the inputs' values. */
  const forward = (ts: readonly Tensor[]): { c: Float32Array; alpha: Float32Array } =>
    withBlock(engine, { ...sizes, c: nC, alpha: nA }, (p, put, read) => {
      const { v, m } = fill(ts, p, put);
      const ex = engine.ex;
      engine.timed(`attention ${x.score} fwd ${B} ${Tout} ${Tin} ${D}`, () => {
        if (additive) ex.additiveAttentionForward(B, Tout, Tin, D, Dv, p.q, p.k, p.w, v, m, p.alpha, p.c);
        else ex.dotAttentionForward(B, Tout, Tin, D, Dv, p.q, p.k, v, m, scale, p.alpha, p.c);
      });
      return { c: read("c"), alpha: read("alpha") };
    });

  /** The inputs' gradients from ∂L/∂c and ∂L/∂α (null: zero). */
  const backward = (dc: Float32Array, dAlpha: Float32Array | null, saved: readonly Tensor[]): Tensor[] => {
    // per thread α, g (and the tanh values), then ∂e of every example (additive)
    const scratch = 2 * (2 * Tin + (additive ? Tin * D : 0)) + (additive ? B * D : 0);
    return withBlock(
      engine,
      { ...sizes, dc: nC, dalpha: nA, dq: sizes.q, dk: sizes.k, dv: sizes.v, dw: sizes.w, scratch },
      (p, put, read) => {
        const { v, m } = fill(saved, p, put);
        put("dc", dc);
        if (dAlpha) put("dalpha", dAlpha);
        const da = dAlpha ? p.dalpha : 0;
        const dv = shared ? p.dk : p.dv; // ∂K + ∂V when V = K
        const ex = engine.ex;
        engine.timed(`attention ${x.score} bwd ${B} ${Tout} ${Tin} ${D}`, () => {
          if (additive) ex.additiveAttentionBackward(B, Tout, Tin, D, Dv, p.q, p.k, p.w, v, m, p.dc, da, p.dq, p.dk, p.dw, dv, p.scratch);
          else ex.dotAttentionBackward(B, Tout, Tin, D, Dv, p.q, p.k, v, m, scale, p.dc, da, p.dq, p.dk, dv, p.scratch);
        });
        return names.map((n) => tf.tensor(read(`d${n}`), given[n]!.shape));
      },
    );
  };
  // ∂L/∂α is all zero when the loss does not use α (the models'): then the kernel skips it
  const [context, alpha] = twoOutputOp(
    inputs,
    [
      [B, Tout, Dv],
      [B, Tout, Tin],
    ],
    (ts) => {
      const r = forward(ts);
      return [r.c, r.alpha];
    },
    backward,
  ) as [Tensor3D, Tensor3D];
  return { alpha, context };
}
