/**
 * A recurrent layer that can be trained: a cell (src/cells) with its parameters held as
 * `tf.Variable`s, so that tfjs optimizers update them. Every architecture in
 * src/sequence is assembled from these layers; time is always owned by
 * {@link unroll} (src/sequence/unroll.ts), so a faster unroll makes every model faster.
 *
 * ```
 * h(t) = cell(h(t−1), x(t); θ),   t = 1 … T
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x | [B, T, I] | inputs |
 * | h(t) | [B, H] | the layer's output (and state; the LSTM also carries s(t)) |
 * | θ | per cell | U, W, b (+ peepholes for the LSTM, + bh for gru-pytorch) |
 *
 * Like PyTorch's `nn.RNN/LSTM/GRU` with `num_layers=1, batch_first=True`, and a tfjs
 * `tf.layers.rnn` with `returnSequences: true`.
 */
import { DEFAULT_SEED } from "../seeds";
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Tensor3D, Variable } from "@tensorflow/tfjs";
import type { AnyCell, CellChoice } from "../cells/cell";
import { resolveCell } from "../cells/registry";
import { unroll, type UnrollOptions } from "./unroll";
import { fusedVariant } from "../fused/fused";
import { isRecording } from "../fused/tfjs-internals";
import type { AnyState } from "./stacked";
import { checkKeys, keysOf } from "../options";
import { checkNotDisposed } from "../train/model";

/** The keys of {@link RecurrentLayerConfig}. */
const LAYER_KEYS = keysOf<RecurrentLayerConfig>({ cell: true, inputSize: true, hiddenSize: true, peepholes: true, seed: true });

/** How to build a {@link RecurrentLayer}. */
export interface RecurrentLayerConfig {
  /** Which cell: "rnn" (Elman), "lstm" (peephole LSTM), "gru" (lecture), "gru-pytorch", or a Cell object with `init`. */
  cell: CellChoice;
  /** I: the size of x(t). */
  inputSize: number;
  /** H: the size of h(t). */
  hiddenSize: number;
  /** LSTM only: peephole weights (the lecture's LSTM); default true. */
  peepholes?: boolean;
  /** Seed of the initialiser; default 0. */
  seed?: number;
}

/** The cell a config names and fresh (plain tensor) parameters from its `init`. */
export function makeCell(config: RecurrentLayerConfig): { cell: AnyCell; params: Record<string, Tensor> } {
  checkKeys("RecurrentLayer", config, LAYER_KEYS);
  checkPositive("RecurrentLayer", "inputSize", config.inputSize);
  checkPositive("RecurrentLayer", "hiddenSize", config.hiddenSize);
  const cell = resolveCell("RecurrentLayer", config.cell);
  if (!cell.init)
    throw new Error(
      `RecurrentLayer: cell "${cell.name}" has no init, so a layer cannot make its parameters (give the cell an init(config))`,
    );
  const init = {
    inputSize: config.inputSize,
    hiddenSize: config.hiddenSize,
    seed: config.seed ?? DEFAULT_SEED,
    peepholes: config.peepholes ?? true,
  };
  return { cell, params: { ...cell.init(init) } };
}

/** Throws unless n is a positive integer (the argument is named in the message). */
export function checkPositive(where: string, argument: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${where}: ${argument} must be a positive integer, got ${n}`);
}

/** Turns every tensor of `params` into a trainable `tf.Variable` (and disposes the originals). */
export function toVariables(params: Record<string, Tensor | undefined>): Record<string, Variable> {
  const out: Record<string, Variable> = {};
  for (const [name, t] of Object.entries(params)) {
    if (!t) continue;
    out[name] = tf.variable(t, true);
    t.dispose();
  }
  return out;
}

/** `{a: v}` → `{"prefix.a": v}`: the stable names optimizers and save/load see. */
export function prefixed(prefix: string, variables: Record<string, Variable>): Record<string, Variable> {
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [`${prefix}.${k}`, v]));
}

/** One recurrent layer: a cell plus its variables. Dispose it when done. */
export class RecurrentLayer {
  /** The cell (one step forward/backward). */
  readonly cell: AnyCell;
  /** θ as variables, by the cell's parameter names (U, W, b, …). */
  readonly params: Record<string, Variable>;
  /** I. */
  readonly inputSize: number;
  /** H. */
  readonly hiddenSize: number;

  constructor(config: RecurrentLayerConfig) {
    const { cell, params } = makeCell(config);
    this.cell = cell;
    this.params = toVariables(params);
    this.inputSize = config.inputSize;
    this.hiddenSize = config.hiddenSize;
  }

  /** The names of the state's tensors: ["h"], or ["h", "s"] for the LSTM. */
  get stateKeys(): readonly string[] {
    return this.cell.stateKeys;
  }

  /** h(t) for every t, [B, T, H], and the final state: `unroll(cell, θ, x, options)`. */
  run(x: Tensor3D, options: UnrollOptions<AnyState> = {}): { outputs: Tensor3D; state: AnyState } {
    checkNotDisposed("RecurrentLayer.run", { variables: this.params }, "the RecurrentLayer");
    return unroll(this.cell, this.params, x, options);
  }

  /**
   * One step, h(t) = cell(h(t−1), x(t)) — for decoders whose next input is their own
   * previous output, which no whole-sequence unroll can know in advance.
   *
   * When no gradient is being recorded (greedy, sampling and beam decoding) and the cell has
   * fused kernels, the step is an {@link unroll} of one timestep: one fused op in place of
   * the cell's dozen or more tfjs ops (the GRU's 18), whose dispatch is most of a decoding
   * step's time. Training keeps the cell's own step (a gradient through each op, as before).
   */
  step(x: Tensor2D, prev: AnyState): AnyState {
    checkNotDisposed("RecurrentLayer.step", { variables: this.params }, "the RecurrentLayer");
    const missing = this.cell.stateKeys.filter((key) => !prev[key]);
    if (missing.length)
      throw new Error(
        `RecurrentLayer.step: prev has no ${missing.join(", ")}; the ${this.cell.name} state is {${this.cell.stateKeys.join(", ")}}`,
      );
    if (!isRecording() && fusedVariant(this.cell, undefined)) {
      const [B, I] = x.shape;
      const xs = tf.reshape(x, [B, 1, I]) as Tensor3D; // [B, 1, I]
      const initialState = Object.fromEntries(this.cell.stateKeys.map((key) => [key, prev[key]])); // the state only (unroll refuses other keys)
      const { state } = unroll(this.cell, this.params, xs, { initialState, returnSequences: false });
      xs.dispose();
      return state;
    }
    const out = this.cell.step(this.params, x, prev) as AnyState;
    const next = {} as AnyState;
    for (const key of this.cell.stateKeys) next[key] = out[key]; // gates are left to the caller's tidy
    return next;
  }

  /** A zero state for a batch of B: {h} or {h, s}, [B, H] each. */
  zeroState(B: number): AnyState {
    return Object.fromEntries(this.cell.stateKeys.map((k) => [k, tf.zeros([B, this.hiddenSize])])) as AnyState;
  }

  /** Frees the variables. */
  dispose(): void {
    for (const v of Object.values(this.params)) v.dispose();
  }
}
