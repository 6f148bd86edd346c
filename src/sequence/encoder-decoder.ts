/**
 * The encoder–decoder (seq2seq) with a fixed context vector (lecture: "Encoder - Decoder
 * Networks"; Cho et al. 2014, Sutskever et al. 2014): the encoder squeezes the whole
 * source into one vector c, and the decoder writes the target from it.
 *
 * ```
 * c    = h_enc(T_in)                                   the encoder's final state (last real step)
 * h(0) = the encoder's final state
 * h(t) = cell(h(t−1), [E_y[u(t)]; c])                  c is fed at every step (as in Cho et al.)
 * o(t) = c_o + V h(t),   ŷ(t) = softmax(o(t))
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | c | [B, H_enc] | the context: everything the decoder knows about the source |
 * | u(t) | [B] ids | the previous token (true or predicted: src/sequence/decoder.ts) |
 * | h(t) | [B, H] | decoder state |
 * | V, c_o | [K, H], [K] | output layer |
 *
 * Every source, short or long, has to fit through the same H_enc numbers, which is why
 * this model falls behind the attention model as inputs grow longer.
 *
 * Decoding step by step carries h(t) and the memory (c among it) in an
 * EncoderDecoderState (src/sequence/decoder.ts).
 *
 * Explained in notebooks/10-sequence-to-sequence.ipynb.
 */
import type { Tensor2D, Tensor3D, Variable } from "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs";
import { ENCODER_DECODER_KEYS, EncoderDecoderBase, type EncoderDecoderConfig, type Memory, type Readout } from "./decoder";
import { checkKeys } from "../options";
import { OutputHead } from "./output-head";
import { flattenTime } from "./loss";
import { prefixed } from "./recurrent-layer";

/** seq2seq with a fixed context vector. */
export class EncoderDecoder extends EncoderDecoderBase {
  readonly head: OutputHead;

  constructor(config: EncoderDecoderConfig) {
    checkKeys("EncoderDecoder", config, ENCODER_DECODER_KEYS);
    super(config, "EncoderDecoder", (Henc) => Henc);
    this.head = new OutputHead({ classes: config.targetVocabSize }, config.hiddenSize, (config.seed ?? 0) + 23, "EncoderDecoder");
  }

  protected ownVariables(): Record<string, Variable> {
    return prefixed("head", this.head.variables);
  }

  protected extra(memory: Memory): Tensor2D {
    return memory.context; // c, [B, H_enc]
  }

  protected readout(_memory: Memory, h: Tensor3D): Readout {
    const [B, Tout] = h.shape;
    const o = this.head.apply(flattenTime<Tensor2D>(h)); // [B·T_out, K]
    return { logits: tf.reshape(o, [B, Tout, this.head.size]) as Tensor3D };
  }
}
