/**
 * Unknown option keys: one check shared by `fit` and every model config, so that a
 * misspelt or foreign name (`epoch`, `lr`, `hidden_size`) fails at once with a suggestion
 * instead of being silently ignored while training runs with the default.
 *
 * The suggestion is, in order: a name from a small table of Keras/PyTorch spellings
 * ({@link ALIASES}, e.g. `lr` → `optimizer: { learningRate }`), else the known key closest
 * by edit distance (ignoring case, `_` and `-`), when it is close enough to be a typo.
 */

/** Thrown when an options object has a key its reader does not know. */
export class OptionError extends Error {
  override name = "OptionError";
  constructor(
    message: string,
    /** The unknown key, as given (nested keys with their path, e.g. "optimizer.lr"). */
    readonly option: string,
    /** What seqlab calls it, when a suggestion was found (e.g. "optimizer.learningRate"). */
    readonly suggestion?: string,
  ) {
    super(message);
  }
}

/**
 * Common names from Keras, PyTorch and scikit-learn, and seqlab's name for each. A target
 * with a dot ("optimizer.learningRate") is suggested where its first part is a known key;
 * a target without one where it is itself a known key.
 */
export const ALIASES: Readonly<Record<string, readonly string[]>> = {
  lr: ["optimizer.learningRate", "learningRate"],
  learning_rate: ["optimizer.learningRate", "learningRate"],
  learningrate: ["optimizer.learningRate", "learningRate"],
  epoch: ["epochs"],
  n_epochs: ["epochs"],
  num_epochs: ["epochs"],
  max_epochs: ["epochs"],
  global_norm: ["clip.globalNorm", "globalNorm"],
  globalnorm: ["clip.globalNorm", "globalNorm"],
  clipnorm: ["clip.norm", "norm"],
  clip_norm: ["clip.globalNorm", "globalNorm"],
  max_norm: ["clip.globalNorm", "globalNorm"],
  clipvalue: ["clip.value", "value"],
  clip_value: ["clip.value", "value"],
  validation_data: ["validation"],
  val_data: ["validation"],
  patience: ["earlyStopping.patience", "patience"],
  verbose: ["progress"],
  hidden_size: ["hiddenSize"],
  hidden: ["hiddenSize"],
  units: ["hiddenSize"],
  hidden_dim: ["hiddenSize"],
  input_size: ["inputSize"],
  input_dim: ["inputSize"],
  num_layers: ["layers", "encoderLayers"],
  n_layers: ["layers", "encoderLayers"],
  vocab_size: ["vocabSize", "sourceVocabSize"],
  embedding_dim: ["embeddingSize"],
  embedding_size: ["embeddingSize"],
  num_classes: ["output.classes", "classes"],
  n_classes: ["output.classes", "classes"],
  cell_type: ["cell"],
  rnn_type: ["cell"],
  mode: ["cell"],
  random_state: ["seed"],
  max_len: ["maxLength"],
  max_length: ["maxLength"],
  beta_1: ["beta1"],
  beta_2: ["beta2"],
  eps: ["epsilon"],
};

/**
 * Throws an {@link OptionError} if `given` has a key that is not in `known` (keys whose
 * value is `undefined` count too: they are usually typos of an optional field). The
 * message names where, the key, a suggestion when there is one, and the known keys, e.g.
 * `fit: unknown option "lr"; did you mean optimizer: { learningRate }? Known options: data, …`.
 *
 * @param where the function or class reporting ("fit", "SequenceToVector")
 * @param given the options object the caller passed (anything but a plain object is left to the caller's own checks)
 * @param known every key the reader understands
 * @param path the path of `given` inside the caller's options ("optimizer" for `fit`'s optimizer config), for nested objects
 */
export function checkKeys(where: string, given: unknown, known: readonly string[], path = ""): void {
  if (given === null || typeof given !== "object" || Array.isArray(given)) return;
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue;
    const full = path ? `${path}.${key}` : key;
    const suggestion = suggest(key, known);
    const hint = suggestion ? `; did you mean ${spell(suggestion)}?` : ".";
    const what = path ? `option "${full}"` : `option "${key}"`;
    throw new OptionError(
      `${where}: unknown ${what}${hint} Known options${path ? ` of ${path}` : ""}: ${known.join(", ")}`,
      full,
      suggestion ? (path ? `${path}.${suggestion}` : suggestion) : undefined,
    );
  }
}

/**
 * The known key (or "part.key" for a nested one) that `key` most likely means: an alias
 * whose target applies here, else the closest known key by edit distance when that
 * distance is at most a third of the key's length (and at least 1 … 2 edits).
 */
export function suggest(key: string, known: readonly string[]): string | undefined {
  const norm = normalise(key);
  for (const target of ALIASES[key] ?? ALIASES[key.toLowerCase()] ?? []) {
    const head = target.split(".")[0];
    if (known.includes(head) && target !== key) return target;
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(norm, normalise(k));
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  const allowed = Math.max(2, Math.floor(norm.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** "optimizer.learningRate" → `optimizer: { learningRate }`; a plain key → `"epochs"`. */
function spell(target: string): string {
  const [head, ...rest] = target.split(".");
  return rest.length ? `${head}: { ${rest.join(".")} }` : `"${head}"`;
}

function normalise(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, "");
}

/** Levenshtein distance: insertions, deletions and substitutions, each costing 1. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/**
 * The keys of an options type, checked by the compiler: pass `{ a: true, b: true, … }` with
 * every key of T (a missing or extra key fails to compile), get `["a", "b", …]`.
 */
export function keysOf<T>(all: { [K in keyof Required<T>]: true }): readonly string[] {
  return Object.keys(all);
}
