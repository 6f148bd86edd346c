/**
 * Saving and loading a model's weights with its training history, so that a notebook can
 * stop, restart its kernel and carry on (`fit(model, {history: loaded.history, …})`).
 *
 * The file is JSON (readable, diff-able, no extra package):
 * ```
 * { "format": "seqlab-checkpoint", "version": 1, "savedAt": "…",
 *   "weights": { "<name>": { "shape": [..], "values": [..] }, … },   // names from model.variables
 *   "history": { … } }                                              // see history.ts
 * ```
 * Values are float32 written as JSON numbers; they read back bit for bit. The optimizer's
 * state (momenta, Adam's moments) is not saved: a resumed run starts it from zero.
 */
import * as fs from "fs";
import * as tf from "@tensorflow/tfjs";
import * as path from "path";
import type { Trainable } from "./model";
import { checkHistory, copyHistory, type History } from "./history";
import { checkSameWeights } from "./weights";

const FORMAT = "seqlab-checkpoint";
const VERSION = 1;

/** What {@link loadCheckpoint} gives back. */
export interface Checkpoint {
  /** The training history saved with the weights (an empty-run history if none was). */
  history?: History;
  /** When the file was written (ISO time). */
  savedAt: string;
}

/** Writes the model's weights (and a history) to a JSON file; creates the folder if needed. */
export async function saveCheckpoint(file: string, model: Pick<Trainable, "variables">, history?: History): Promise<void> {
  const weights: Record<string, { shape: number[]; values: number[] }> = {};
  for (const [name, v] of Object.entries(model.variables)) {
    if (v.dtype !== "float32") throw new Error(`saveCheckpoint: weight "${name}" is ${v.dtype}; only float32 weights are saved`);
    weights[name] = { shape: [...v.shape], values: Array.from(await v.data()) };
  }
  const doc = { format: FORMAT, version: VERSION, savedAt: new Date().toISOString(), weights, ...(history ? { history: copyHistory(history) } : {}) };
  await fs.promises.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await fs.promises.writeFile(file, JSON.stringify(doc));
}

/**
 * Reads a file written by {@link saveCheckpoint} into the model's variables.
 * @throws if the file is not a seqlab checkpoint, or its weight names/shapes differ from the
 *   model's (one message listing every mismatch); the model is left unchanged then
 */
export async function loadCheckpoint(file: string, model: Pick<Trainable, "variables">): Promise<Checkpoint> {
  let doc: unknown;
  try {
    doc = JSON.parse(await fs.promises.readFile(file, "utf8"));
  } catch (e) {
    throw new Error(`loadCheckpoint: cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  const d = doc as { format?: unknown; version?: unknown; weights?: unknown; history?: unknown; savedAt?: unknown };
  if (d === null || typeof d !== "object" || d.format !== FORMAT) throw new Error(`loadCheckpoint: ${file} is not a seqlab checkpoint (no "format": "${FORMAT}")`);
  if (d.version !== VERSION) throw new Error(`loadCheckpoint: ${file} has version ${String(d.version)}; this seqlab reads version ${VERSION}`);
  const weights = d.weights as Record<string, { shape: number[]; values: number[] }>;
  if (weights === null || typeof weights !== "object") throw new Error(`loadCheckpoint: ${file} has no weights`);
  const where = `loadCheckpoint(${path.basename(file)})`;
  checkSameWeights(where, model.variables, Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, w.shape])));
  for (const [name, w] of Object.entries(weights)) {
    const size = w.shape.reduce((a, b) => a * b, 1);
    if (!Array.isArray(w.values) || w.values.length !== size) {
      throw new Error(`${where}: weight "${name}" has ${Array.isArray(w.values) ? w.values.length : "no"} values for shape [${w.shape.join(", ")}] (${size})`);
    }
  }
  for (const [name, v] of Object.entries(model.variables)) {
    const t = tf.tensor(Float32Array.from(weights[name].values), weights[name].shape, "float32");
    v.assign(t);
    t.dispose();
  }
  const out: Checkpoint = { savedAt: String(d.savedAt ?? "") };
  if (d.history !== undefined) out.history = checkHistory(d.history, `${where}: history`);
  return out;
}
