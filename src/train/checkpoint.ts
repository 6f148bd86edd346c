/**
 * Saving and loading a model's weights with its training history, so that a notebook can
 * stop, restart its kernel and carry on (`fit(model, {history: loaded.history, …})`).
 *
 * The file is JSON (readable, no extra package):
 * ```
 * { "format": "seqlab-checkpoint", "version": 2, "savedAt": "…",
 *   "weights": { "<name>": { "shape": [..], "dtype": "float32",   // names from model.variables
 *                            "base64": "…" }, … },             // the float32 values, little-endian bytes, base64
 *   "history": { … } }                                           // see history.ts
 * ```
 * Values are stored as their float32 bytes, so every value reads back bit for bit: NaN,
 * +Infinity, −Infinity and −0 included (JSON numbers cannot hold the first three, and lose
 * the sign of −0). Version 1 files, whose values are a JSON array of numbers, still load;
 * a `null` in them (what JSON.stringify made of NaN or ±Inf) loads as NaN, since which of
 * the three it was is lost. The optimizer's state (momenta, Adam's moments) is not saved:
 * a resumed run starts it from zero.
 *
 * Saving is atomic: the file is written to a temporary file in the same folder, flushed to
 * disk (fsync) and renamed over the old one, so a failed save (full disk, no permission,
 * a crash) leaves the previous checkpoint as it was, and no temporary file behind.
 */
import * as fs from "fs";
import * as tf from "@tensorflow/tfjs";
import * as path from "path";
import type { Trainable } from "./model";
import { checkHistory, copyHistory, type History } from "./history";
import { checkSameWeights } from "./weights";

const FORMAT = "seqlab-checkpoint";
/** The version this seqlab writes. */
const VERSION = 2;
/** The versions it reads. */
const READS = [1, 2];

/** What {@link loadCheckpoint} gives back. */
export interface Checkpoint {
  /** The training history saved with the weights (an empty-run history if none was). */
  history?: History;
  /** When the file was written (ISO time). */
  savedAt: string;
}

/** One weight in a version 2 file. */
interface SavedWeight {
  shape: number[];
  dtype: "float32";
  /** The values' float32 bytes, little-endian, in base64. */
  base64: string;
}

/**
 * Writes the model's weights (and a history) to a JSON file; creates the folder if needed.
 * Atomic (see the file comment): on failure the previous file is unchanged.
 * @throws an Error naming the file and why (the system's message), with the cause attached
 */
export async function saveCheckpoint(file: string, model: Pick<Trainable, "variables">, history?: History): Promise<void> {
  const weights: Record<string, SavedWeight> = {};
  for (const [name, v] of Object.entries(model.variables)) {
    if (v.dtype !== "float32") throw new Error(`saveCheckpoint: weight "${name}" is ${v.dtype}; only float32 weights are saved`);
    if (v.isDisposed) throw new Error(`saveCheckpoint: weight "${name}" has been disposed (was the model disposed?); nothing was written`);
    weights[name] = { shape: [...v.shape], dtype: "float32", base64: encodeFloat32((await v.data()) as Float32Array) };
  }
  const doc = {
    format: FORMAT,
    version: VERSION,
    savedAt: new Date().toISOString(),
    weights,
    ...(history ? { history: copyHistory(history) } : {}),
  };
  await writeAtomically(file, JSON.stringify(doc), "saveCheckpoint");
}

/**
 * Writes `text` to `file` through a temporary file in the same folder: write, fsync, rename
 * (then fsync the folder, where the system allows). On failure the temporary file is
 * removed and `file` is as it was.
 */
async function writeAtomically(file: string, text: string, where: string): Promise<void> {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  const fail = (e: unknown, what: string): Error =>
    new Error(`${where}: cannot write ${file}: ${what}: ${(e as Error).message}; the previous checkpoint (if any) is unchanged`, {
      cause: e,
    });
  try {
    await fs.promises.mkdir(dir, { recursive: true });
  } catch (e) {
    throw fail(e, `cannot create its folder ${dir}`);
  }
  const temp = path.join(
    dir,
    `.${path.basename(target)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`,
  );
  let step = "cannot create a temporary file in its folder";
  try {
    const handle = await fs.promises.open(temp, "wx");
    try {
      step = "writing failed";
      await handle.writeFile(text, "utf8");
      step = "flushing to disk (fsync) failed";
      await handle.sync();
    } finally {
      await handle.close();
    }
    step = "replacing the file (rename) failed";
    await fs.promises.rename(temp, target);
  } catch (e) {
    await fs.promises.rm(temp, { force: true }).catch(() => undefined);
    throw fail(e, step);
  }
  await syncFolder(dir);
}

/** fsync a folder, so that a rename in it survives a crash; not possible everywhere (Windows), so best effort. */
async function syncFolder(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, "r");
    await handle.sync();
  } catch {
    // The file is in place; only its durability across a power cut is less certain.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** float32 values → their little-endian bytes in base64 (read as 32-bit patterns, so NaN payloads stay as they are). */
function encodeFloat32(values: Float32Array): string {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length); // the host's order, like `values`
  const bytes = Buffer.alloc(values.length * 4);
  for (let i = 0; i < bits.length; i++) bytes.writeUInt32LE(bits[i], i * 4);
  return bytes.toString("base64");
}

/** base64 little-endian float32 bytes → the values, bit for bit. */
function decodeFloat32(base64: string): Float32Array | undefined {
  const bytes = Buffer.from(base64, "base64");
  if (bytes.length % 4 !== 0) return undefined;
  const bits = new Uint32Array(bytes.length / 4);
  for (let i = 0; i < bits.length; i++) bits[i] = bytes.readUInt32LE(i * 4);
  return new Float32Array(bits.buffer);
}

/**
 * Reads a file written by {@link saveCheckpoint} (version 2, or version 1 of earlier
 * seqlab) into the model's variables.
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
  if (d === null || typeof d !== "object" || d.format !== FORMAT)
    throw new Error(`loadCheckpoint: ${file} is not a seqlab checkpoint (no "format": "${FORMAT}")`);
  if (!READS.includes(d.version as number))
    throw new Error(`loadCheckpoint: ${file} has version ${String(d.version)}; this seqlab reads versions ${READS.join(" and ")}`);
  const weights = d.weights as Record<string, { shape: number[]; values?: unknown; base64?: unknown }>;
  if (weights === null || typeof weights !== "object") throw new Error(`loadCheckpoint: ${file} has no weights`);
  const where = `loadCheckpoint(${path.basename(file)})`;
  checkSameWeights(where, model.variables, Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, w.shape])));
  const values: Record<string, Float32Array> = {};
  for (const [name, w] of Object.entries(weights)) {
    const size = w.shape.reduce((a, b) => a * b, 1);
    const v = d.version === 1 ? fromNumbers(w.values) : typeof w.base64 === "string" ? decodeFloat32(w.base64) : undefined;
    if (!v || v.length !== size) {
      throw new Error(`${where}: weight "${name}" has ${v ? v.length : "no"} values for shape [${w.shape.join(", ")}] (${size})`);
    }
    values[name] = v;
  }
  for (const [name, v] of Object.entries(model.variables)) {
    const t = tf.tensor(values[name], weights[name].shape, "float32");
    v.assign(t);
    t.dispose();
  }
  const out: Checkpoint = { savedAt: String(d.savedAt ?? "") };
  if (d.history !== undefined) out.history = checkHistory(d.history, `${where}: history`);
  return out;
}

/** A version 1 weight's values: JSON numbers, `null` where a non-finite value was (loaded as NaN). */
function fromNumbers(values: unknown): Float32Array | undefined {
  if (!Array.isArray(values)) return undefined;
  return Float32Array.from(values, (x) => (typeof x === "number" ? x : NaN));
}
