/**
 * Copies of a model's weights in memory: taken before a risky step (to undo a NaN) or at
 * the best validation epoch (early stopping), and written back later.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "@tensorflow/tfjs";
import type { Trainable } from "./model";

/** A copy of every weight, by the model's variable names. Dispose it with {@link disposeSnapshot}. */
export type WeightSnapshot = Record<string, Tensor>;

/** Copies every variable of `model` (new tensors, owned by the caller). */
export function snapshotWeights(model: Pick<Trainable, "variables">): WeightSnapshot {
  return tf.tidy(() => Object.fromEntries(Object.entries(model.variables).map(([name, v]) => [name, tf.clone(v)]))) as WeightSnapshot;
}

/**
 * Writes a snapshot back into the model's variables (the snapshot stays valid).
 * @throws if a name is missing on either side or a shape differs, listing every mismatch
 */
export function restoreWeights(model: Pick<Trainable, "variables">, snapshot: WeightSnapshot, where = "restoreWeights"): void {
  checkSameWeights(where, model.variables, Object.fromEntries(Object.entries(snapshot).map(([k, t]) => [k, t.shape])));
  for (const [name, v] of Object.entries(model.variables)) v.assign(snapshot[name]);
}

/** Frees a snapshot. */
export function disposeSnapshot(snapshot: WeightSnapshot | undefined): void {
  if (snapshot) tf.dispose(Object.values(snapshot));
}

/**
 * Checks that `saved` (name → shape) has exactly the model's variable names and shapes.
 * @throws one error listing every missing, unexpected and mis-shaped weight
 */
export function checkSameWeights(
  where: string,
  variables: Readonly<Record<string, Tensor>>,
  saved: Record<string, readonly number[]>,
): void {
  const problems: string[] = [];
  const modelNames = Object.keys(variables);
  const savedNames = Object.keys(saved);
  const missing = modelNames.filter((n) => !(n in saved));
  const extra = savedNames.filter((n) => !(n in variables));
  if (missing.length) problems.push(`missing ${missing.map((n) => `"${n}"`).join(", ")} (the model has it, the saved weights do not)`);
  if (extra.length) problems.push(`unexpected ${extra.map((n) => `"${n}"`).join(", ")} (saved, but the model has no such weight)`);
  for (const n of modelNames) {
    if (!(n in saved)) continue;
    const a = variables[n].shape;
    const b = saved[n];
    if (a.length !== b.length || a.some((d, i) => d !== b[i]))
      problems.push(`"${n}" has shape [${b.join(", ")}] saved but [${a.join(", ")}] in the model`);
  }
  if (problems.length) {
    throw new Error(`${where}: the weights do not match the model: ${problems.join("; ")}. Model weights: ${modelNames.join(", ")}`);
  }
}
