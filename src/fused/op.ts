/**
 * The fused kernels as one differentiable tfjs op: {@link fusedUnroll} runs a whole
 * sequence forward in one kernel call, and its gradient runs BPTT in one more; this is what
 * `unroll` calls for a cell that declares a fused description, with the build that
 * {@link fusedVariant} chooses.
 *
 * The op is tfjs's custom-gradient op (the engine's runKernelFunc, which tf.customGrad
 * builds on; see tfjs-internals.ts), so that ∂L/∂x is computed only when backprop asks for
 * it. Its output is one flat tensor (outputs, then the final state), sliced here.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import type { AnyCell } from "../cells/cell";
import type { FusedSizes, FusedVector } from "./spec";
import { kernelBuild, type KernelBuild } from "./wasm";
import { fusedSetting } from "./options";
import { engineFor } from "./engine";
import { Workspace, type ForwardInputs, type FusedGradients } from "./workspace";
import { profile, now } from "./profile";
import { isRecording, isOnTape, lazyGradientOp, warnIfInternalsMissing, wasmTensorView } from "./tfjs-internals";

/** Which build of the kernels: SIMD with relaxed-SIMD FMA, SIMD, or the scalar fallback (see wasm.ts). */
export type FusedVariant = KernelBuild;

/**
 * The kernel build {@link unroll} should use for `cell`, or null for the tfjs-op
 * reference path. `option` is UnrollOptions.fused: false → reference; "relaxed" /
 * "simd" / "scalar" → that build (or the next slower one the runtime validates); true or
 * undefined → SEQLAB_FUSED decides (options.ts: 0/off/false → reference; relaxed, simd,
 * scalar → that build; 1/on/true/auto or unset → the fastest build the runtime validates).
 * A cell runs fused when it declares a kernel description (`cell.fused`, see spec.ts);
 * any other cell runs the reference path.
 *
 * @throws {FusedOptionError} if SEQLAB_FUSED holds a value it does not accept (only read when `option` is undefined).
 */
export function fusedVariant(cell: AnyCell, option: boolean | FusedVariant | undefined): FusedVariant | null {
  if (!cell.fused || option === false) return null;
  if (option === "relaxed" || option === "simd" || option === "scalar") return kernelBuild(option);
  if (option === undefined) {
    const env = fusedSetting();
    if (env === false) return null;
    if (env !== "auto") return kernelBuild(env);
  }
  return kernelBuild();
}

/** What {@link fusedUnroll} needs besides the cell, parameters and x. */
export interface FusedUnrollOptions {
  /** The initial state's given tensors (absent ones start at zero). */
  initialState?: { readonly [key: string]: Tensor2D | undefined };
  /** Run from t = T−1 down to 0. */
  reverse?: boolean;
  /** [B, T], 1 where a step counts (a constant: no gradient). */
  mask?: Tensor2D;
  /** Whether to return the outputs [B, T, H] as well as the final state. */
  returnSequences: boolean;
  /** The kernel build (from {@link fusedVariant}). */
  variant: FusedVariant;
}

function f32Of(t: Tensor): Float32Array {
  const v = t.dataSync();
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

/**
 * {@link f32Of} without its copy where tfjs-wasm allows it (a view into tfjs's memory, see
 * wasmTensorView): for values copied into the kernels' memory before tfjs allocates again.
 * Reading every input with dataSync copied it twice (tfjs → JS → wasm): 1.7 of the 2.2 ms
 * of copies in an LSTM training step at H = 128, about a tenth of the step.
 */
export function f32Now(t: Tensor): Float32Array {
  return wasmTensorView(t) ?? f32Of(t);
}

/**
 * {@link unroll} on the fused kernels, differentiable (a custom-gradient op) with respect
 * to x, every parameter and every given initial state (the mask is a constant). The caller
 * (unroll) has checked the shapes: I, H come from the cell's `sizes`. Returns the outputs
 * [B, T, H] (if `returnSequences`) and the final state; call it inside `tf.tidy`.
 */
export function fusedUnroll(
  cell: AnyCell,
  params: { readonly [name: string]: Tensor | undefined },
  x: Tensor3D,
  H: number,
  options: FusedUnrollOptions,
): { outputs?: Tensor3D; state: Record<string, Tensor2D> } {
  const spec = cell.fused;
  if (!spec) throw new Error(`fusedUnroll: no fused kernels for the cell "${cell.name}"`);
  warnIfInternalsMissing();
  const [B, T, I] = x.shape;
  const Hp = Math.ceil(H / 8) * 8;
  const sz: FusedSizes = { B, T, I, H, Hp, nG: spec.nG, G: spec.nG * Hp, G0: spec.nG * H };
  const pNames = spec.params.filter((k) => params[k] !== undefined);
  const given = options.initialState ?? {};
  const sNames = spec.stateKeys.filter((k) => given[k] !== undefined);
  // a vector parameter (spec.ts) is there when all its parameters are given
  for (const v of Object.values(spec.vectors ?? {})) {
    const have = v.params.filter((k) => params[k] !== undefined).length;
    if (have === v.params.length || (have === 0 && v.optional)) continue;
    throw new Error(`fusedUnroll(${spec.name}): give ${have === 0 ? "" : "all of "}${v.params.join(", ")}${v.optional ? " or none" : ""}`);
  }
  const present = (v: FusedVector) => params[v.params[0]] !== undefined;
  const mask = options.mask ? f32Of(options.mask) : undefined;
  const { returnSequences, variant } = options;
  const reverse = options.reverse ?? false;
  const record = isRecording();
  const inputs: Tensor[] = [x, ...pNames.map((k) => params[k]!), ...sNames.map((k) => given[k]!)];
  const shapes = inputs.map((t) => t.shape);

  const readInputs = (ts: readonly Tensor[]): ForwardInputs => {
    const t0 = now();
    const values: ForwardInputs = {
      x: f32Now(ts[0]),
      params: Object.fromEntries(pNames.map((k, j) => [k, f32Now(ts[1 + j])])),
      state: Object.fromEntries(sNames.map((k, j) => [k, f32Now(ts[1 + pNames.length + j])])),
      mask,
    };
    profile.msCopy += now() - t0;
    return values;
  };
  const run = (values: ForwardInputs): Workspace => {
    const ws = new Workspace(engineFor(variant, sz), spec, sz, present, reverse, mask !== undefined);
    try {
      ws.forward(values);
    } catch (e) {
      ws.release();
      throw e;
    }
    return ws;
  };

  // Whether x needs ∂L/∂x: it does if it is a trainable variable or the output of an op
  // on the tape (an embedding, a layer below). Data fed from outside does not; then the
  // backward skips the ∂x product, and if a caller asks for ∂x anyway (tf.grads with x
  // among its xs), the lazy gradient below recomputes forward and backward with it.
  const wantDx = !record || isOnTape(x);
  /** The recorded forward's block, until its backward takes it. */
  let live: Workspace | null = null;
  const forward = (ts: readonly Tensor[]): Tensor => {
    const ws = run(readInputs(ts));
    const flat = ws.readOutputs(returnSequences);
    if (record) {
      ws.engine.keep(ws);
      live = ws;
    } else ws.release();
    return tf.tensor1d(flat);
  };
  const backward = (dy: Tensor, saved: Tensor[], withDx: boolean) => {
    let ws = live;
    live = null;
    if (!ws?.alive) {
      profile.recomputes++;
      ws = run(readInputs(saved));
    }
    let g: FusedGradients;
    try {
      g = ws.backward(f32Now(dy), returnSequences, withDx);
    } finally {
      ws.release();
    }
    const t0 = now();
    const grads = [
      g.dx ? tf.tensor(g.dx, shapes[0]) : null,
      ...pNames.map((k, j) => tf.tensor(g.params[k], shapes[1 + j])),
      ...sNames.map((k, j) => tf.tensor(g.state[k], shapes[1 + pNames.length + j])),
    ];
    profile.msCopy += now() - t0;
    return grads;
  };

  let flat: tf.Tensor1D;
  const runKernelFunc = lazyGradientOp();
  if (runKernelFunc) {
    // tfjs's own route for tf.customGrad, which asks for each input's gradient lazily
    flat = runKernelFunc({
      inputs: Object.fromEntries(inputs.map((t, i) => [String(i), t])),
      forwardFunc: (_backend: unknown, save: (ts: Tensor[]) => void) => {
        save(inputs); // kept by tfjs only while recording; used if the block was evicted
        return forward(inputs);
      },
      backwardsFunc: (dy: Tensor, kept: Tensor[]) => {
        const grads = backward(dy, kept, wantDx);
        const map: Record<string, () => Tensor> = {};
        grads.forEach((g, i) => {
          map[String(i)] = g ? () => g : () => backward(dy, kept, true)[0]!;
        });
        return map;
      },
    }) as tf.Tensor1D;
  } else {
    const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
      const save = args.pop() as tf.GradSaveFunc;
      const ts = args as Tensor[];
      save(ts);
      return { value: forward(ts), gradFunc: (dy: Tensor, kept: Tensor[]) => backward(dy, kept, true) as Tensor[] };
    });
    flat = op(...inputs) as tf.Tensor1D;
  }
  let k = 0;
  let outputs: Tensor3D | undefined;
  if (returnSequences) {
    outputs = tf.reshape(tf.slice(flat, 0, B * T * H), [B, T, H]) as Tensor3D; // [B, T, H]
    k = B * T * H;
  }
  const state: Record<string, Tensor2D> = {};
  for (const key of spec.stateKeys) {
    state[key] = tf.reshape(tf.slice(flat, k, B * H), [B, H]) as Tensor2D; // [B, H]
    k += B * H;
  }
  return { outputs, state };
}
