/**
 * The encoder–decoder with attention (lecture: "Encoder - Decoder Networks with
 * Attention"): instead of one fixed context, the decoder looks back at every encoder
 * output at every step, through weights it computes itself.
 *
 * ```
 * h(0)  = the encoder's final state
 * h(t)  = cell(h(t−1), E_y[u(t)])                         decoder state
 * e(t)  = score(h(t), h_enc(1 … T_in))                    [B, T_in]   (src/sequence/attention.ts)
 * α(t)  = softmax(e(t))  (padded source positions: 0)     attention weights
 * c(t)  = Σ_j α_j(t) h_enc(j)                             context for this step
 * h̃(t) = tanh(W_c [c(t); h(t)] + b_c)                    attentional state
 * o(t)  = c_o + V h̃(t),   ŷ(t) = softmax(o(t))
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | h_enc(j) | [B, T_in, H_enc] | encoder outputs (keys and values) |
 * | h(t), h̃(t) | [B, H] | decoder state, attentional state |
 * | α(t) | [B, T_in] | weights; `run(batch).attention` gives all of them, [B, T_out, T_in] |
 * | W_c, b_c | [H, H_enc + H], [H] | combine context and state |
 * | V, c_o | [K, H], [K] | output layer |
 *
 * This is Luong et al.'s (2015) "global attention" without input feeding: the query is the
 * current decoder state h(t), so with teacher forcing the whole decoder is one unroll and
 * the attention for all T_out steps is a few batched matrix products. Bahdanau et al. (2015)
 * query with h(t−1) and feed c(t) into the cell; their additive score is available here as
 * `score: "additive"`. Dot and scaled-dot need H = H_enc.
 *
 * The readout computes e, α, c and h̃ with the functions of src/sequence/attention.ts and
 * tfjs ops (the reference, `attend`) or, by default, in one fused WebAssembly kernel call
 * each way (src/fused/attention-readout.ts; SEQLAB_FUSED=0 selects the reference). Both
 * give the same results within float32 rounding; test/fused-attention.test.ts checks it.
 *
 * Decoding step by step carries h(t) and the memory (h_enc, the source mask, and for the
 * additive score W_k h_enc, computed once per source) in an EncoderDecoderState
 * (src/sequence/decoder.ts).
 *
 * Explained in notebooks/11-attention.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Tensor3D, Variable } from "@tensorflow/tfjs";
import { Rng, uniformTensor } from "../init";
import { DEFAULT_SEED, partSeed } from "../seeds";
import { ENCODER_DECODER_KEYS, EncoderDecoderBase, type EncoderDecoderConfig, type Memory, type Readout } from "./decoder";
import { checkKeys } from "../options";
import { OutputHead } from "./output-head";
import { flattenTime } from "./loss";
import { prefixed, toVariables } from "./recurrent-layer";
import {
  additiveScore,
  attentionContext,
  attentionSoftmax,
  dotScore,
  generalScore,
  projectKeys,
  scaledDotScore,
  ATTENTION_SCORES,
  type AdditiveAttentionParams,
  type AttentionScore,
} from "./attention";
import { attentionVariant } from "../fused/attention";
import { fusedAttentionReadout } from "../fused/attention-readout";

/** How to build an {@link AttentionEncoderDecoder}. */
export interface AttentionEncoderDecoderConfig extends EncoderDecoderConfig {
  /** The score: "additive" (Bahdanau), "dot", "general" (Luong), "scaled-dot"; default "general". */
  score?: AttentionScore;
  /** A: the additive score's hidden size; default H. */
  attentionSize?: number;
}

/** seq2seq with attention; `run(batch, r).attention` and decoding return the weights for plotting. */
export class AttentionEncoderDecoder extends EncoderDecoderBase {
  readonly score: AttentionScore;
  readonly head: OutputHead;
  /** W_c [H, H_enc + H], b_c [H], and the score's parameters (Wq, Wk, w or Wa). */
  readonly params: Record<string, Variable>;

  constructor(config: AttentionEncoderDecoderConfig) {
    // Checked before any variable exists, so that a bad config leaks nothing.
    checkKeys("AttentionEncoderDecoder", config, [...ENCODER_DECODER_KEYS, "score", "attentionSize"]);
    const score = config.score ?? "general";
    if (!ATTENTION_SCORES.includes(score)) {
      throw new Error(
        `AttentionEncoderDecoder: score must be one of ${ATTENTION_SCORES.map((s) => `"${s}"`).join(", ")}, got ${JSON.stringify(score)}`,
      );
    }
    const H = config.hiddenSize;
    const Henc = config.bidirectional === "concat" ? 2 * H : H;
    if ((score === "dot" || score === "scaled-dot") && Henc !== H) {
      throw new Error(
        `AttentionEncoderDecoder: score "${score}" needs the encoder's output size H_enc = the decoder's H, ` +
          `got H_enc = ${Henc} and H = ${H} (a concat-bidirectional encoder doubles H_enc: use "general" or "additive", or merge "sum")`,
      );
    }
    super(config, "AttentionEncoderDecoder", () => 0);
    this.score = score;
    const seed = config.seed ?? DEFAULT_SEED;
    const rng = new Rng(partSeed(seed, "attention"));
    const k = 1 / Math.sqrt(H);
    const A = config.attentionSize ?? H;
    const p: Record<string, Tensor> = {
      Wc: uniformTensor([H, Henc + H], 1 / Math.sqrt(Henc + H), rng),
      bc: uniformTensor([H], k, rng),
    };
    if (this.score === "additive") {
      p.Wq = uniformTensor([A, H], k, rng);
      p.Wk = uniformTensor([A, Henc], 1 / Math.sqrt(Henc), rng);
      p.w = uniformTensor([A], 1 / Math.sqrt(A), rng);
    }
    if (this.score === "general") p.Wa = uniformTensor([H, Henc], k, rng);
    this.params = toVariables(p);
    this.head = new OutputHead({ classes: config.targetVocabSize }, H, partSeed(seed, "attentionHead"), "AttentionEncoderDecoder");
  }

  protected ownVariables(): Record<string, Variable> {
    return { ...prefixed("attention", this.params), ...prefixed("head", this.head.variables) };
  }

  protected extra(): undefined {
    return undefined;
  }

  protected override prepare(memory: Memory, stepwise: boolean): Record<string, Tensor> {
    // W_k h_enc once per source for a decoder that steps; a teacher-forced run projects the keys in its readout
    return this.score === "additive" && stepwise ? { projected: projectKeys(this.additive(), memory.keys) } : {};
  }

  private additive(): AdditiveAttentionParams {
    return { Wq: this.params.Wq as Tensor2D, Wk: this.params.Wk as Tensor2D, w: this.params.w as unknown as tf.Tensor1D };
  }

  /** e(t) for decoder states h [B, T_out, H]: [B, T_out, T_in]. */
  private scores(memory: Memory, h: Tensor3D): Tensor3D {
    switch (this.score) {
      case "additive":
        return additiveScore(h, memory.keys, this.additive(), memory.projected as Tensor3D | undefined);
      case "dot":
        return dotScore(h, memory.keys);
      case "general":
        return generalScore(h, memory.keys, this.params.Wa as Tensor2D);
      case "scaled-dot":
        return scaledDotScore(h, memory.keys);
    }
  }

  /** α(t) and c(t) for decoder states h [B, T_out, H]: the reference functions of attention.ts. */
  private attend(memory: Memory, h: Tensor3D): { alpha: Tensor3D; c: Tensor3D } {
    const e = this.scores(memory, h); // [B, T_out, T_in]
    const alpha = attentionSoftmax(e, memory.mask); // [B, T_out, T_in]
    const c = attentionContext(alpha, memory.keys); // [B, T_out, H_enc]
    return { alpha, c };
  }

  protected readout(memory: Memory, h: Tensor3D): Readout {
    const [B, Tout] = h.shape;
    const variant = attentionVariant();
    let hTilde: Tensor2D, alpha: Tensor3D;
    if (variant) {
      // the same in one fused kernel call each way (src/fused/attention-readout.ts)
      const p = this.params;
      const scoreParams =
        this.score === "additive"
          ? {
              Wq: p.Wq as Tensor2D,
              w: p.w as unknown as tf.Tensor1D,
              ...(memory.projected ? { projected: memory.projected as Tensor3D } : { Wk: p.Wk as Tensor2D }),
            }
          : this.score === "general"
            ? { Wa: p.Wa as Tensor2D }
            : {};
      const r = fusedAttentionReadout({
        score: this.score,
        h,
        keys: memory.keys,
        mask: memory.mask,
        Wc: p.Wc as Tensor2D,
        bc: p.bc as unknown as tf.Tensor1D,
        ...scoreParams,
        variant,
      });
      hTilde = flattenTime<Tensor2D>(r.hTilde); // [B·T_out, H]
      alpha = r.alpha; // [B, T_out, T_in]
    } else {
      const a = this.attend(memory, h); // [B, T_out, T_in], [B, T_out, H_enc]
      alpha = a.alpha;
      const ch = flattenTime<Tensor2D>(tf.concat([a.c, h], 2)); // [B·T_out, H_enc + H]
      hTilde = tf.tanh(tf.add(tf.matMul(ch, this.params.Wc, false, true), this.params.bc)) as Tensor2D; // [B·T_out, H]
    }
    const o = this.head.apply(hTilde); // [B·T_out, K]
    return { logits: tf.reshape(o, [B, Tout, this.head.size]) as Tensor3D, attention: alpha };
  }
}
