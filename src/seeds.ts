/**
 * How one seed initialises a whole model: every part of the model gets its own seed,
 * derived from the model's seed by a fixed rule, and draws its weights from its own
 * {@link Rng} stream started at that seed.
 *
 * Why parts must not share a random stream: if two parts drew from one stream, adding a
 * part or changing one part's size would shift the numbers of every part drawn after it;
 * and if two parts used the same seed they would start from the same numbers (an output
 * head equal to a layer's first rows, a reversed layer equal to its forward twin — weights
 * that start equal get equal gradients and stay equal). With one seed per part, each
 * part's weights depend only on the model's seed and on that part's own sizes.
 *
 * | part | its seed | used by |
 * |---|---|---|
 * | recurrent layer ℓ (ℓ = 0, 1, …) | seed + 101ℓ | RecurrentEncoder; the one layer of VectorToSequence and TeacherForcingRnn (ℓ = 0: the seed itself) |
 * | the reversed half of layer ℓ | seed + 101ℓ + 53 | bidirectional RecurrentEncoder |
 * | output head V, c (`"head"`) | seed + 3 | SequenceToVector, SequenceToSequence, VectorToSequence, TeacherForcingRnn |
 * | vector → initial-state bridge A, a (`"bridge"`) | seed + 5 | VectorToSequence (feed "initial-state") |
 * | input embedding E (`"input"`) | seed + 7 | SequenceToVector, SequenceToSequence |
 * | source input of an encoder–decoder (`"source"`) | seed + 11 | EncoderDecoderBase (decoder.ts) |
 * | target embedding (`"targetEmbedding"`) | seed + 13 | EncoderDecoderBase (decoder.ts) |
 * | decoder layer (`"decoderLayer"`) | seed + 17 | EncoderDecoderBase (decoder.ts) |
 * | teacher-forcing coins (`"teacherForcing"`) | seed + 19 | TeacherForcingRnn, EncoderDecoderBase (decoder.ts) |
 * | attention model's output head (`"attentionHead"`) | seed + 23 | AttentionEncoderDecoder |
 * | attention weights W_c, b_c and the score's (`"attention"`) | seed + 29 | AttentionEncoderDecoder |
 * | PyTorch-GRU recurrent bias b_h | cell seed XOR 0x5bd1e995 | initGruPytorch (U, W, b use the cell seed itself, as initGru) |
 * | a task's batches | the seed itself: one stream, read by batch 1, 2, … in order | every `*Batches` in src/data ({@link seededBatches}) |
 *
 * The part offsets are distinct primes below 53, and layers step by 101, so within one
 * model no two parts share a seed however many layers it has. The GRU bias is derived
 * from the *cell's* seed (the initialiser sees nothing else), by an XOR with a large
 * constant rather than a small offset, which keeps it far from every seed + k above.
 * Nearby seeds are safe: mulberry32 adds 0x6d2b79f5 to its state at every draw, so the
 * streams of seeds s and s + d coincide only shifted by d / 0x6d2b79f5 (mod 2³²) draws —
 * for the seeds of a model with up to 8 layers, more than 5 million draws apart.
 *
 * The values are fixed: changing one changes every model's initial weights (and the
 * numbers the tests and notebooks print).
 */

/** The seed of a model, a task's batches or an initialiser when none is given. */
export const DEFAULT_SEED = 0;

/** Each named part's offset from the model's seed (see the file comment's table). */
export const SEED_OFFSETS = {
  /** The output head V, c. */
  head: 3,
  /** VectorToSequence's vector → initial-state map A, a. */
  bridge: 5,
  /** The input embedding E (token inputs). */
  input: 7,
  /** An encoder–decoder's source input (its embedding). */
  source: 11,
  /** An encoder–decoder's target embedding. */
  targetEmbedding: 13,
  /** An encoder–decoder's decoder layer. */
  decoderLayer: 17,
  /** The stream of teacher-forcing coins (feed the truth or the prediction). */
  teacherForcing: 19,
  /** The attention encoder–decoder's output head. */
  attentionHead: 23,
  /** The attention weights (W_c, b_c and the score's parameters). */
  attention: 29,
} as const;

/** The name of a part with its own seed: "head", "input", … */
export type SeedPart = keyof typeof SEED_OFFSETS;

/** The seed of one part of a model: `seed + SEED_OFFSETS[part]`, e.g. `partSeed(7, "head")` is 10. */
export function partSeed(seed: number, part: SeedPart): number {
  return seed + SEED_OFFSETS[part];
}

/** How far apart the seeds of stacked recurrent layers are: layer ℓ uses seed + 101ℓ. */
export const LAYER_SEED_STRIDE = 101;

/** The reversed half of a bidirectional layer uses its forward half's seed + 53. */
export const REVERSED_LAYER_SEED_OFFSET = 53;

/**
 * The seed of recurrent layer ℓ (0 = the bottom, whose forward half uses the model's seed
 * itself): seed + 101ℓ, plus 53 for the reversed half of a bidirectional layer.
 */
export function layerSeed(seed: number, layer: number, direction: "forward" | "reversed" = "forward"): number {
  const forward = seed + LAYER_SEED_STRIDE * layer;
  return direction === "reversed" ? forward + REVERSED_LAYER_SEED_OFFSET : forward;
}

/** What {@link gruPytorchBiasSeed} XORs the cell's seed with. */
export const GRU_PYTORCH_BIAS_SEED_MASK = 0x5bd1e995;

/** The seed of the PyTorch-convention GRU's recurrent bias b_h: the cell's seed XOR 0x5bd1e995. */
export function gruPytorchBiasSeed(cellSeed: number): number {
  return cellSeed ^ GRU_PYTORCH_BIAS_SEED_MASK;
}
