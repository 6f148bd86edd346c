/**
 * The whole readout of the encoder–decoder with attention, up to the output layer, as one
 * differentiable tfjs op on the fused WebAssembly kernels: the score's products, the
 * attention core of src/fused/attention.ts and the attentional state, forward in one call
 * and backward in one call. The readable reference is AttentionEncoderDecoder's `attend`
 * and `readout` (src/sequence/attention-encoder-decoder.ts) on the functions of
 * src/sequence/attention.ts; this is the fast path beside them.
 *
 * ```
 * q(t)   = h(t)                 (dot, scaled dot)     h(t) W_a        (general)
 *          Pq(t) = W_q h(t)     (additive; with Pk(j) = W_k h_enc(j), given or computed here)
 * α(t), c(t)   = the attention core over h_enc(1 … T_in)    (src/fused/attention.ts)
 * h̃(t)  = tanh(W_c [c(t); h(t)] + b_c)
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | h | [B, T_out, H] | decoder states (the queries) |
 * | h_enc | [B, T_in, H_enc] | encoder outputs (keys and values) |
 * | W_c, b_c | [H, H_enc + H], [H] | combine context and state |
 * | W_q, W_k, w | [A, H], [A, H_enc], [A] | additive score |
 * | W_a | [H, H_enc] | general score |
 * | Pk | [B, T_in, A] | additive: h_enc W_kᵀ when the caller projected the keys already (decoding) |
 * | m | [B, T_in] | source mask, 1 = real (a constant: no gradient) |
 * | h̃, α | [B, T_out, H], [B, T_out, T_in] | attentional states and weights |
 *
 * Why: as tfjs ops around the attention core, the readout of the date task's additive model
 * was 16 matrix products, a tanh and some thirty other kernels a training step, each
 * dispatched by tfjs, the products on one thread, tfjs-wasm's tanh one value at a time. Here
 * the products run on the fused kernels' gemm (on two threads when they are large enough)
 * and h̃'s tanh on their SIMD tanh: the bias is written into h̃'s rows, then one product
 * over [c; h] (copied side by side in the block) adds to it. Within float32 rounding the
 * results are the reference's; the two thread counts give the same bits.
 *
 * Memory: each call copies its inputs into a block of the engine's memory. A forward that
 * tfjs records for a backward keeps its block (inputs, Pq, Pk, c, α, h̃) for it, as the
 * fused unroll does (src/fused/op.ts): the engine frees the oldest such blocks beyond its
 * limits, and a backward whose block was freed computes the forward again from the saved
 * inputs. Other forwards free their block before returning.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import { checkRank, checkShape } from "../cells/checks";
import { kernelBuild, type KernelBuild } from "./wasm";
import { engineForWork, type Engine, type KeptBlock } from "./engine";
import { isRecording, warnIfInternalsMissing } from "./tfjs-internals";
import { f32Now } from "./op";
import { f32Of, layout, twoOutputOp, withBlock } from "./attention";
import type { AttentionScore } from "../sequence/attention";

/** What {@link fusedAttentionReadout} takes. */
export interface FusedReadoutInputs {
  score: AttentionScore;
  /** h [B, T_out, H]. */
  h: Tensor3D;
  /** h_enc [B, T_in, H_enc]: the keys and values. */
  keys: Tensor3D;
  /** W_c [H, H_enc + H]. */
  Wc: Tensor2D;
  /** b_c [H]. */
  bc: Tensor1D;
  /** additive: W_q [A, H]. */
  Wq?: Tensor2D;
  /** additive: W_k [A, H_enc] (unless `projected` is given). */
  Wk?: Tensor2D;
  /** additive: w [A]. */
  w?: Tensor1D;
  /** additive: Pk = h_enc W_kᵀ [B, T_in, A], computed once per source for decoding; then W_k is not used. */
  projected?: Tensor3D;
  /** general: W_a [H, H_enc]. */
  Wa?: Tensor2D;
  /** m [B, T_in], 1 = real source position; absent: all real. */
  mask?: Tensor2D;
  /** The kernel build; default the fastest the runtime validates. */
  variant?: KernelBuild;
}

/** The tensors the op differentiates, in this order (those the score uses). */
const INPUT_NAMES = ["h", "keys", "Wc", "bc", "Wq", "Wk", "projected", "w", "Wa"] as const;
type InputName = (typeof INPUT_NAMES)[number];

/** Checks every shape against h's and h_enc's; returns the sizes. */
function sizesOf(x: FusedReadoutInputs) {
  const where = "fusedAttentionReadout";
  checkRank(where, "h", x.h.shape, ["B", "T_out", "H"]);
  checkRank(where, "keys", x.keys.shape, ["B", "T_in", "H_enc"]);
  const [B, Tout, H] = x.h.shape;
  const [Tin, Henc] = [x.keys.shape[1], x.keys.shape[2]];
  checkShape(where, "keys", x.keys.shape, [
    ["B", B],
    ["T_in", Tin],
    ["H_enc", Henc],
  ]);
  checkShape(where, "Wc", x.Wc.shape, [
    ["H", H],
    ["H_enc + H", Henc + H],
  ]);
  checkShape(where, "bc", x.bc.shape, [["H", H]]);
  const needs: Record<AttentionScore, InputName[]> = {
    additive: ["Wq", "w", x.projected ? "projected" : "Wk"],
    general: ["Wa"],
    dot: [],
    "scaled-dot": [],
  };
  if (x.score === "additive" && x.Wk && x.projected)
    throw new Error(`${where}: the additive score takes Wk or its projection of the keys, projected = keys·Wkᵀ, not both`);
  for (const name of ["Wq", "Wk", "w", "projected", "Wa"] as const) {
    if (x[name] && !needs[x.score].includes(name))
      throw new Error(
        `${where}: ${name} is not used by the score "${x.score}"; pass only ${needs[x.score].join(", ") || "h, keys, Wc, bc"}`,
      );
    if (!x[name] && needs[x.score].includes(name)) throw new Error(`${where}: the score "${x.score}" needs ${name}, got none`);
  }
  let A = 0;
  if (x.score === "additive") {
    A = x.Wq!.shape[0];
    checkShape(where, "Wq", x.Wq!.shape, [
      ["A", A],
      ["H", H],
    ]);
    checkShape(where, "w", x.w!.shape, [["A", A]]);
    if (x.projected)
      checkShape(where, "projected", x.projected.shape, [
        ["B", B],
        ["T_in", Tin],
        ["A", A],
      ]);
    else
      checkShape(where, "Wk", x.Wk!.shape, [
        ["A", A],
        ["H_enc", Henc],
      ]);
  }
  if (x.score === "general")
    checkShape(where, "Wa", x.Wa!.shape, [
      ["H", H],
      ["H_enc", Henc],
    ]);
  if ((x.score === "dot" || x.score === "scaled-dot") && Henc !== H)
    throw new Error(`${where}: the score "${x.score}" needs H_enc = H, got H_enc = ${Henc} and H = ${H}`);
  if (x.mask)
    checkShape(where, "mask", x.mask.shape, [
      ["B", B],
      ["T_in", Tin],
    ]);
  return { B, Tout, Tin, H, Henc, A };
}

/** A readout's block in the engine's memory: its arrays' byte offsets, kept from forward to backward when recorded. */
class ReadoutBlock implements KeptBlock {
  alive = true;

  constructor(
    readonly engine: Engine,
    readonly base: number,
    readonly bytes: number,
    /** Byte offsets by name. */
    readonly p: Record<string, number>,
    readonly lengths: Record<string, number>,
  ) {}

  /** Fills the array `name`. */
  readonly put = (name: string, v: Float32Array) => this.engine.f32().set(v, this.p[name] >> 2);

  /** A copy of the array `name`. */
  read(name: string): Float32Array {
    return this.engine.f32().slice(this.p[name] >> 2, (this.p[name] >> 2) + this.lengths[name]);
  }

  release(): void {
    if (!this.alive) return;
    this.alive = false;
    this.engine.forget(this);
    this.engine.heap.release(this.base);
  }
}

/** dst (a view of rows·cols values) = srcᵀ, src [cols, rows] row-major. */
function transposeInto(src: Float32Array, cols: number, rows: number, dst: Float32Array): void {
  for (let i = 0; i < cols; i++) for (let j = 0; j < rows; j++) dst[j * cols + i] = src[i * rows + j];
}

/**
 * h̃ [B, T_out, H] and α [B, T_out, T_in] of AttentionEncoderDecoder's readout (see the file
 * comment), differentiable with respect to every tensor input but the mask. Call it inside
 * `tf.tidy`.
 *
 * @throws {ShapeError} naming the argument whose shape does not fit the others.
 */
export function fusedAttentionReadout(x: FusedReadoutInputs): { hTilde: Tensor3D; alpha: Tensor3D } {
  const { B, Tout, Tin, H, Henc, A } = sizesOf(x);
  warnIfInternalsMissing();
  const score = x.score;
  const additive = score === "additive";
  const projectHere = additive && !x.projected;
  const variant = x.variant ?? kernelBuild();
  const BT = B * Tout;
  const BTin = B * Tin;
  // D: the width of what the core compares (A, or H_enc for the dot scores)
  const D = additive ? A : Henc;
  const engine = engineForWork(variant, BT * (Tin * D + H * (Henc + H)));
  const mask = x.mask ? f32Of(x.mask) : undefined;
  const names = INPUT_NAMES.filter((n) => x[n] !== undefined && !(n === "Wk" && !projectHere));
  const inputs = names.map((n) => x[n]!);
  const at = (ts: readonly Tensor[], n: InputName) => f32Now(ts[names.indexOf(n)]);
  const scale = score === "scaled-dot" ? 1 / Math.sqrt(H) : 1;

  // The block's arrays: inputs (the weights the products take transposed: WcT, WqT, WkT, WaT),
  // then what the forward computes.
  const sizes = {
    h: BT * H,
    keys: BTin * Henc,
    Wc: H * (Henc + H),
    WcT: H * (Henc + H),
    bc: H,
    Wq: A * H,
    WqT: A * H,
    Wk: projectHere ? A * Henc : 0,
    WkT: projectHere ? A * Henc : 0,
    w: A,
    Wa: score === "general" ? H * Henc : 0,
    WaT: score === "general" ? H * Henc : 0,
    m: mask ? BTin : 0,
    q: score === "dot" || score === "scaled-dot" ? 0 : BT * D, // Pq or h W_a
    k: additive ? BTin * A : 0, // Pk
    c: BT * Henc,
    ch: BT * (Henc + H), // [c(t); h(t)] row by row
    alpha: BT * Tin,
    hT: BT * H, // h̃ (W_c [c; h] + b_c before the tanh)
  };

  /** The attention core's arrays in a block: queries (h, h W_a or Pq), keys (h_enc or Pk), the mask (0: none). */
  const core = (p: Record<string, number>) => ({
    q: score === "dot" || score === "scaled-dot" ? p.h : p.q,
    k: additive ? p.k : p.keys,
    m: mask ? p.m : 0,
  });

  /** Fills the block from the inputs' values and runs the forward in it (α, c, h̃ stay there). */
  const forwardIn = (ts: readonly Tensor[], p: Record<string, number>, put: (name: string, v: Float32Array) => void) => {
    const ex = engine.ex;
    const f32 = () => engine.f32();
    const view = (name: keyof typeof sizes) => f32().subarray(p[name] >> 2, (p[name] >> 2) + sizes[name]);
    put("h", at(ts, "h"));
    put("keys", at(ts, "keys"));
    put("Wc", at(ts, "Wc"));
    transposeInto(at(ts, "Wc"), H, Henc + H, view("WcT"));
    put("bc", at(ts, "bc"));
    if (mask) put("m", mask);
    if (additive) {
      put("Wq", at(ts, "Wq"));
      transposeInto(at(ts, "Wq"), A, H, view("WqT"));
      put("w", at(ts, "w"));
      ex.pgemm(BT, A, H, p.h, H, p.WqT, A, p.q, A, 0); // Pq = h W_qᵀ
      if (projectHere) {
        put("Wk", at(ts, "Wk"));
        transposeInto(at(ts, "Wk"), A, Henc, view("WkT"));
        ex.pgemm(BTin, A, Henc, p.keys, Henc, p.WkT, A, p.k, A, 0); // Pk = h_enc W_kᵀ
      } else put("k", at(ts, "projected"));
    } else if (score === "general") {
      put("Wa", at(ts, "Wa"));
      transposeInto(at(ts, "Wa"), H, Henc, view("WaT"));
      ex.pgemm(BT, Henc, H, p.h, H, p.Wa, Henc, p.q, Henc, 0); // h W_a
    }
    const { q, k, m } = core(p);
    if (additive) ex.additiveAttentionForward(B, Tout, Tin, A, Henc, q, k, p.w, p.keys, m, p.alpha, p.c);
    else ex.dotAttentionForward(B, Tout, Tin, Henc, Henc, q, k, p.keys, m, scale, p.alpha, p.c);
    // h̃ = tanh(W_c [c; h] + b_c)
    const v = f32();
    const [c, hh, ch, ldc] = [p.c >> 2, p.h >> 2, p.ch >> 2, Henc + H];
    for (let r = 0; r < BT; r++) {
      v.copyWithin(ch + r * ldc, c + r * Henc, c + (r + 1) * Henc);
      v.copyWithin(ch + r * ldc + Henc, hh + r * H, hh + (r + 1) * H);
    }
    ex.broadcastRows(p.hT, BT, H, p.bc);
    ex.pgemm(BT, H, ldc, p.ch, ldc, p.WcT, H, p.hT, H, 1);
    ex.tanhArray(p.hT, BT * H);
  };

  const shape = `${B} ${Tout} ${Tin} ${H} ${Henc} ${A}`;

  /** Allocates a block of `sizes` in the engine's memory. */
  const allocate = (): ReadoutBlock => {
    const { at: offsets, bytes } = layout(sizes);
    const base = engine.heap.alloc(bytes);
    const p = Object.fromEntries(Object.entries(offsets).map(([k, o]) => [k, base + o]));
    return new ReadoutBlock(engine, base, bytes, p, sizes);
  };
  const record = isRecording();
  /** The recorded forward's block (inputs, Pq, Pk, α, c, h̃), until its backward takes it. */
  let live: ReadoutBlock | null = null;

  const forward = (ts: readonly Tensor[]) => {
    const blk = allocate();
    try {
      engine.timed(`readout ${score} fwd ${shape}`, () => forwardIn(ts, blk.p, blk.put));
      const out = { hT: blk.read("hT"), alpha: blk.read("alpha") };
      if (record) {
        engine.keep(blk);
        live = blk;
      } else blk.release();
      return out;
    } catch (e) {
      blk.release();
      throw e;
    }
  };

  const backward = (dhT: Float32Array, dAlpha: Float32Array | null, saved: readonly Tensor[]): Tensor[] => {
    let blk = live;
    live = null;
    const grads = {
      dhT: BT * H,
      dpre: BT * H,
      dc: BT * Henc,
      dalpha: BT * Tin,
      dq: sizes.q || BT * H, // ∂ of the core's queries (for dot: ∂h's share from the score)
      dk: additive ? BTin * A : 0,
      dw: A,
      dh: BT * H,
      dkeys: BTin * Henc,
      dWc: H * (Henc + H),
      dbc: H,
      dWq: A * H,
      dWk: projectHere ? A * Henc : 0,
      dWa: score === "general" ? H * Henc : 0,
      scratch: 2 * (2 * Tin + (additive ? Tin * A : 0)) + (additive ? B * A : 0),
    };
    try {
      return withBlock(engine, grads, (g, put, read) => {
        const ex = engine.ex;
        engine.timed(`readout ${score} bwd ${shape}`, () => {
          if (!blk?.alive) {
            // evicted (or not recorded): the forward again, from the saved inputs
            blk = allocate();
            forwardIn(saved, blk.p, blk.put);
          }
          const p = blk.p;
          const { q, k, m } = core(p);
          put("dhT", dhT);
          ex.tanhBackwardArray(p.hT, g.dhT, g.dpre, BT * H); // ∂pre = ∂h̃ ⊙ (1 − h̃²)
          if (dAlpha) put("dalpha", dAlpha);
          const da = dAlpha ? g.dalpha : 0;
          ex.columnSums(g.dpre, BT, H, H, g.dbc); // ∂b_c
          const ldc = Henc + H;
          ex.pgemmTN(H, ldc, BT, g.dpre, H, p.ch, ldc, g.dWc, ldc, 0); // ∂W_c = ∂preᵀ [c; h]
          ex.pgemm(BT, Henc, H, g.dpre, H, p.Wc, ldc, g.dc, Henc, 0); // ∂c = ∂pre W_c,c
          ex.pgemm(BT, H, H, g.dpre, H, p.Wc + Henc * 4, ldc, g.dh, H, 0); // ∂h = ∂pre W_c,h (+ the score's share below)
          if (additive) {
            ex.additiveAttentionBackward(B, Tout, Tin, A, Henc, q, k, p.w, p.keys, m, g.dc, da, g.dq, g.dk, g.dw, g.dkeys, g.scratch);
            ex.pgemm(BT, H, A, g.dq, A, p.Wq, H, g.dh, H, 1); // ∂h += ∂Pq W_q
            ex.pgemmTN(A, H, BT, g.dq, A, p.h, H, g.dWq, H, 0); // ∂W_q = ∂Pqᵀ h
            if (projectHere) {
              ex.pgemm(BTin, Henc, A, g.dk, A, p.Wk, Henc, g.dkeys, Henc, 1); // ∂h_enc += ∂Pk W_k
              ex.pgemmTN(A, Henc, BTin, g.dk, A, p.keys, Henc, g.dWk, Henc, 0); // ∂W_k = ∂Pkᵀ h_enc
            }
          } else {
            // keys and values are both h_enc: the kernel adds both gradients into dkeys
            ex.dotAttentionBackward(B, Tout, Tin, Henc, Henc, q, p.keys, p.keys, m, scale, g.dc, da, g.dq, g.dkeys, g.dkeys, g.scratch);
            if (score === "general") {
              ex.pgemm(BT, H, Henc, g.dq, Henc, p.WaT, H, g.dh, H, 1); // ∂h += ∂q W_aᵀ
              ex.pgemmTN(H, Henc, BT, p.h, H, g.dq, Henc, g.dWa, Henc, 0); // ∂W_a = hᵀ ∂q
            } else ex.addArray(g.dh, g.dq, BT * H); // ∂h += ∂q
          }
        });
        const out: Record<InputName, () => Float32Array> = {
          h: () => read("dh"),
          keys: () => read("dkeys"),
          Wc: () => read("dWc"),
          bc: () => read("dbc"),
          Wq: () => read("dWq"),
          Wk: () => read("dWk"),
          projected: () => read("dk"),
          w: () => read("dw"),
          Wa: () => read("dWa"),
        };
        return names.map((n) => tf.tensor(out[n](), x[n]!.shape));
      });
    } finally {
      blk?.release();
    }
  };

  const [hTilde, alpha] = twoOutputOp(
    inputs,
    [
      [B, Tout, H],
      [B, Tout, Tin],
    ],
    (ts) => {
      const r = forward(ts);
      return [r.hT, r.alpha];
    },
    backward,
  ) as [Tensor3D, Tensor3D];
  return { hTilde, alpha };
}
