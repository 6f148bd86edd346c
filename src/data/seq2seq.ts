/**
 * Encoder–decoder batches from (source, target) pairs of symbol sequences — the layout the
 * reversal, sorting and date tasks share:
 *
 * | field | shape | meaning |
 * |---|---|---|
 * | x | [B, Tx] int32 | source ids, PAD after each source's end |
 * | xMask | [B, Tx] | 1 for real source steps |
 * | yIn | [B, Ty] int32 | decoder input: START, then the target (PAD after) |
 * | y | [B, Ty] int32 | decoder output: the target, then END (PAD after) |
 * | mask | [B, Ty] | 1 for real target steps (END included) |
 *
 * Ty = the longest target + 1. The target vocabulary needs PAD, START and END.
 */
import type { Tensor2D } from "@tensorflow/tfjs";
import { Vocab } from "./vocab";
import { padSequences } from "./padding";

/** An encoder–decoder batch. */
export interface Seq2SeqBatch {
  x: Tensor2D;
  xMask: Tensor2D;
  yIn: Tensor2D;
  y: Tensor2D;
  mask: Tensor2D;
}

/** A (source, target) pair: strings are split into characters, arrays are tokens. */
export interface Seq2SeqPair {
  source: string | readonly string[];
  target: string | readonly string[];
}

/**
 * Encodes pairs into a {@link Seq2SeqBatch}.
 * @throws on an empty batch, an unknown symbol (naming it, its position and its pair), a
 *   source longer than `maxSourceLength`
 */
export function seq2seqBatchOf(
  pairs: readonly Seq2SeqPair[],
  source: Vocab,
  target: Vocab,
  options: { maxSourceLength?: number } = {},
): Seq2SeqBatch {
  if (pairs.length === 0) throw new Error("seq2seqBatchOf: empty batch (no pairs)");
  const src = padSequences(
    pairs.map((p, i) => source.encode(p.source, i)),
    {
      padId: source.pad,
      where: "seq2seqBatchOf (source)",
      ...(options.maxSourceLength !== undefined ? { maxLength: options.maxSourceLength } : {}),
    },
  );
  const tgt = pairs.map((p, i) => target.encode(p.target, i));
  const yIn = padSequences(
    tgt.map((t) => [target.start, ...t]),
    { padId: target.pad, where: "seq2seqBatchOf (target)" },
  );
  const y = padSequences(
    tgt.map((t) => [...t, target.end]),
    { padId: target.pad, where: "seq2seqBatchOf (target)" },
  );
  yIn.mask.dispose();
  return { x: src.ids, xMask: src.mask, yIn: yIn.ids, y: y.ids, mask: y.mask };
}
