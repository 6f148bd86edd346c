/**
 * Every private tfjs internal seqlab reads, in one module. tfjs's public API has no way to
 * ask "is a gradient tape recording?", "is this tensor on it?", to run ops off the tape
 * while it records, or to make an op whose gradient map computes each input's gradient only
 * when backprop asks for it; the engine has all four:
 *
 * | internal                          | used for                                            |
 * |-----------------------------------|-----------------------------------------------------|
 * | `engine().state.gradientDepth`    | {@link isRecording}: > 0 inside tf.grads, minimize… |
 * | `engine().state.kernelDepth`      | {@link isRecording}: > 0 inside a kernel (no tape); {@link offTape} |
 * | `engine().state.activeTape`       | {@link isOnTape}: the nodes recorded, with outputs  |
 * | `engine().runKernelFunc`          | {@link lazyGradientOp}: tf.customGrad's own route   |
 *
 * Each accessor falls back to safe behaviour if its internal is gone (keep the forward's
 * block, compute ∂L/∂x, use tf.customGrad), and the fused path warns once
 * ({@link warnIfInternalsMissing}); {@link checkTfjsInternals} throws an error naming what
 * is missing and the tfjs version, and a test calls it, so a tfjs upgrade that removes one
 * fails loudly there instead of slowing training down quietly.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "@tensorflow/tfjs";

/** The engine as far as seqlab reads it (every field may be missing in another tfjs). */
interface EngineInternals {
  state?: {
    gradientDepth?: unknown;
    kernelDepth?: unknown;
    activeTape?: unknown;
  };
  runKernelFunc?: unknown;
}

/** The private tfjs internals the fused path uses, as {@link checkTfjsInternals} names them. */
export const TFJS_INTERNALS = [
  "engine().state.gradientDepth",
  "engine().state.kernelDepth",
  "engine().state.activeTape",
  "engine().runKernelFunc",
] as const;

/** One of {@link TFJS_INTERNALS}. */
export type TfjsInternal = (typeof TFJS_INTERNALS)[number];

/** tfjs lacks an internal the fused path reads (see {@link checkTfjsInternals}). */
export class TfjsInternalsError extends Error {
  override name = "TfjsInternalsError";

  constructor(
    /** The internals that are missing or no longer behave as expected. */
    readonly missing: readonly TfjsInternal[],
    /** The version of @tensorflow/tfjs-core in use. */
    readonly tfjsVersion: string,
  ) {
    super(
      `seqlab's fused kernels read private tfjs internals that @tensorflow/tfjs-core ${tfjsVersion} ` +
        `lacks or changed: ${missing.join(", ")} (see src/fused/tfjs-internals.ts)`,
    );
  }
}

function internals(engine: object = tf.engine()): EngineInternals {
  return engine as EngineInternals;
}

/** Whether tfjs is recording a gradient tape right now (inside tf.grads, minimize, …). */
export function isRecording(): boolean {
  const state = internals().state;
  if (typeof state?.gradientDepth !== "number") return true; // unknown: keep the block, eviction bounds it
  return state.gradientDepth > 0 && (typeof state.kernelDepth === "number" ? state.kernelDepth : 0) === 0;
}

/**
 * Runs `fn` off the gradient tape, as tfjs runs the ops inside a kernel (kernelDepth > 0):
 * its ops are not recorded, so no gradient flows through what it returns and tfjs keeps no
 * copies of their tensors for a backward. For values only read, such as the argmax of a
 * prediction fed back as the next input. Where the internal is not as expected, `fn` runs
 * on the tape (the same results, recorded).
 */
export function offTape<T>(fn: () => T): T {
  const state = internals().state;
  if (typeof state?.kernelDepth !== "number") return fn();
  state.kernelDepth++;
  try {
    return fn();
  } finally {
    (state.kernelDepth as number)--;
  }
}

/**
 * Whether `t` is on the gradient tape being recorded: a trainable variable, or the output
 * of an op recorded on the tape. (True when tfjs's internals are not as expected.)
 */
export function isOnTape(t: Tensor): boolean {
  if (t instanceof tf.Variable) return t.trainable;
  const tape = internals().state?.activeTape;
  if (!Array.isArray(tape)) return true;
  return tape.some((node: { outputs?: Tensor[] }) => !Array.isArray(node.outputs) || node.outputs.some((o) => o.id === t.id));
}

/** The invocation {@link lazyGradientOp} takes. */
export type LazyGradientOp = (invocation: {
  inputs: Record<string, Tensor>;
  forwardFunc: (backend: unknown, save: (ts: Tensor[]) => void) => Tensor;
  backwardsFunc: (dy: Tensor, saved: Tensor[]) => Record<string, () => Tensor>;
}) => Tensor;

/**
 * tfjs's Engine.runKernelFunc, the op that tf.customGrad builds on, whose gradient map
 * computes each input's gradient only when backprop needs it; null if this tfjs has none
 * (then the caller uses tf.customGrad, which computes every gradient).
 */
export function lazyGradientOp(): LazyGradientOp | null {
  const engine = internals();
  return typeof engine.runKernelFunc === "function" ? (engine.runKernelFunc as LazyGradientOp).bind(engine) : null;
}

/** Runs `look` while tfjs records a tape that holds the op producing `y`. */
function recordOneOp(look: (y: Tensor) => void): void {
  tf.tidy(() => {
    tf.grad((x: Tensor) => {
      const y = tf.square(x);
      look(y);
      return y;
    })(tf.scalar(1));
  });
}

/**
 * The internals of {@link TFJS_INTERNALS} that `engine` lacks, or that do not behave as
 * the fused path expects while `whileRecording` records a tape holding the op that made
 * `y` (gradientDepth > 0, kernelDepth 0, activeTape an array with a node whose outputs
 * include y). Defaults: tfjs's engine, recording one tf.square under tf.grad.
 */
export function missingTfjsInternals(
  engine: object = tf.engine(),
  whileRecording: (look: (y: Tensor | null) => void) => void = recordOneOp,
): TfjsInternal[] {
  const e = internals(engine);
  const missing = new Set<TfjsInternal>();
  if (typeof e.runKernelFunc !== "function") missing.add("engine().runKernelFunc");
  if (typeof e.state?.gradientDepth !== "number") missing.add("engine().state.gradientDepth");
  if (typeof e.state?.kernelDepth !== "number") missing.add("engine().state.kernelDepth");
  let looked = false;
  whileRecording((y) => {
    looked = true;
    const state = e.state;
    if (!(typeof state?.gradientDepth === "number" && state.gradientDepth > 0)) missing.add("engine().state.gradientDepth");
    if (state?.kernelDepth !== 0) missing.add("engine().state.kernelDepth");
    const tape = state?.activeTape;
    const holdsY = (node: unknown) => {
      const outputs = (node as { outputs?: unknown } | null)?.outputs;
      return Array.isArray(outputs) && (y === null || outputs.some((o: { id?: number }) => o?.id === y.id));
    };
    if (!Array.isArray(tape) || !tape.some(holdsY)) missing.add("engine().state.activeTape");
  });
  if (!looked) missing.add("engine().state.activeTape");
  return TFJS_INTERNALS.filter((k) => missing.has(k));
}

/**
 * Throws a {@link TfjsInternalsError} naming every internal of {@link TFJS_INTERNALS} that
 * tfjs lacks (see {@link missingTfjsInternals}) and the tfjs version; returns quietly
 * when all are there.
 */
export function checkTfjsInternals(engine: object = tf.engine(), whileRecording?: (look: (y: Tensor | null) => void) => void): void {
  const missing = missingTfjsInternals(engine, whileRecording);
  if (missing.length > 0) throw new TfjsInternalsError(missing, tf.version_core);
}

let warned = false;

/**
 * Once per process, before the first fused call: warns (console.warn) if tfjs lacks an
 * internal that can be checked without recording a tape (runKernelFunc, gradientDepth,
 * kernelDepth); the fused path then runs on its fallbacks, slower but correct.
 */
export function warnIfInternalsMissing(): void {
  if (warned) return;
  warned = true;
  const e = internals();
  const missing = TFJS_INTERNALS.filter(
    (k) =>
      (k === "engine().runKernelFunc" && typeof e.runKernelFunc !== "function") ||
      (k === "engine().state.gradientDepth" && typeof e.state?.gradientDepth !== "number") ||
      (k === "engine().state.kernelDepth" && typeof e.state?.kernelDepth !== "number"),
  );
  if (missing.length > 0) console.warn(`${new TfjsInternalsError(missing, tf.version_core).message}; running on fallbacks`);
}

/** tfjs-backend-wasm as far as {@link wasmTensorView} reads it. */
interface WasmBackendInternals {
  dataIdMap?: { get(dataId: object): { memoryOffset?: number | null; dtype?: string; shape?: number[]; refCount?: number } | undefined };
  wasm?: { HEAPU8?: Uint8Array };
}

/**
 * A float32 tensor's values in place, when tfjs runs on its wasm backend: a view into the
 * backend's wasm memory, valid only until tfjs next allocates (its memory may grow and move),
 * so read it at once. Null when the backend is another, the tensor is not float32 or not held
 * by the backend, or tfjs-backend-wasm's internals are not as expected; then use dataSync(),
 * which copies.
 */
export function wasmTensorView(t: Tensor): Float32Array | null {
  if (t.dtype !== "float32" || tf.getBackend() !== "wasm") return null;
  const backend = tf.backend() as unknown as WasmBackendInternals;
  const data = backend.dataIdMap?.get?.(t.dataId as object);
  const heap = backend.wasm?.HEAPU8;
  if (!data || typeof data.memoryOffset !== "number" || data.dtype !== "float32" || !(heap instanceof Uint8Array)) return null;
  if (data.memoryOffset % 4 !== 0 || data.memoryOffset + 4 * t.size > heap.byteLength) return null;
  return new Float32Array(heap.buffer, heap.byteOffset + data.memoryOffset, t.size);
}

/**
 * {@link wasmTensorView} of a variable that may be written in place: the view when no other
 * tensor shares the variable's memory (tfjs-wasm's reference count is 1; a reshape of it, for
 * one, shares it), else null, and then the variable takes new values by `assign`. Writing
 * through the view changes the variable's values and nothing else; like the view, it is valid
 * only until tfjs next allocates.
 */
export function ownedWasmView(v: tf.Variable): Float32Array | null {
  const view = wasmTensorView(v); // null off the wasm backend or for other dtypes
  const backend = tf.backend() as unknown as WasmBackendInternals;
  return view && backend.dataIdMap?.get?.(v.dataId as object)?.refCount === 1 ? view : null;
}
