/**
 * A recurrent encoder: stacked layers, each one-directional or bidirectional — the part
 * of every sequence model here that reads the input.
 *
 * ```
 * h_1(t) = layer_1(h_1(t−1), x(t)),   h_ℓ(t) = layer_ℓ(h_ℓ(t−1), h_{ℓ−1}(t))   ℓ = 2 … L
 * ```
 * where with `bidirectional` every layer_ℓ is a forward and a reversed unroll merged at
 * each step (src/sequence/bidirectional.ts), and otherwise the stack is
 * {@link unrollStacked} (src/sequence/stacked.ts).
 *
 * | symbol | shape | meaning |
 * |---|---|---|
 * | x | [B, T, I] | inputs |
 * | h_ℓ(t) | [B, H] or [B, 2H] | layer ℓ's (merged) output |
 * | outputs | [B, T, H_out] | the top layer's h_L(t) for every t (H_out = 2H for concat) |
 * | final | [B, H_out] | the top layer's last state (bidirectional: both directions' last states merged) |
 *
 * PyTorch's `nn.LSTM(num_layers=L, bidirectional=True)` is the concat case (without
 * inter-layer dropout).
 */
import type { Tensor2D, Tensor3D, Variable } from "@tensorflow/tfjs";
import type { CellChoice } from "../cells/cell";
import { RecurrentLayer, checkPositive, prefixed } from "./recurrent-layer";
import { bidirectional, mergedSize, MERGES, type Merge } from "./bidirectional";
import { layer, unrollStacked, type AnyState } from "./stacked";
import { tidy } from "../init";
import { checkInputs, stateInputs, withCheckedInputs } from "./finite";
import { DEFAULT_SEED, layerSeed } from "../seeds";
import { checkKeys, keysOf } from "../options";
import { checkNotDisposed } from "../train/model";

/** How to build a {@link RecurrentEncoder}. */
export interface EncoderConfig {
  /** Which cell every layer uses: "rnn", "lstm", "gru", "gru-pytorch". */
  cell: CellChoice;
  /** I: the size of x(t). */
  inputSize: number;
  /** H: the size of each direction's h(t). */
  hiddenSize: number;
  /** L: the number of stacked layers; default 1. */
  layers?: number;
  /** Make every layer bidirectional, merged this way; default false (forward only). */
  bidirectional?: Merge | false;
  /** LSTM only: peepholes; default true. */
  peepholes?: boolean;
  /** Seed; default {@link DEFAULT_SEED} (0). Layer ℓ uses {@link layerSeed}: seed + 101ℓ, its reversed half seed + 101ℓ + 53. */
  seed?: number;
}

/** The keys of {@link EncoderConfig}. */
export const ENCODER_KEYS = keysOf<EncoderConfig>({
  cell: true,
  inputSize: true,
  hiddenSize: true,
  layers: true,
  bidirectional: true,
  peepholes: true,
  seed: true,
});

/** The encoder part of a model's config (a model's config has more keys than the encoder reads). */
export function encoderConfig(config: Omit<EncoderConfig, "inputSize">, inputSize: number, seed: number): EncoderConfig {
  const { cell, hiddenSize, layers, bidirectional, peepholes } = config;
  return { cell, inputSize, hiddenSize, layers, bidirectional, peepholes, seed };
}

/** What {@link RecurrentEncoder.run} returns; dispose it with `disposeAll(result)`. */
export interface EncoderResult {
  /** The top layer's output at every step, [B, T, H_out]. */
  outputs: Tensor3D;
  /** A summary of each sequence: the top layer's final h (merged for bidirectional), [B, H_out]. */
  final: Tensor2D;
  /** Each layer's final state, bottom first (forward direction for bidirectional layers). */
  states: AnyState[];
}

/** Stacked (optionally bidirectional) recurrent layers. Dispose it when done. */
export class RecurrentEncoder {
  /** The forward layers, bottom first. */
  readonly forwardLayers: RecurrentLayer[] = [];
  /** The reversed layers (bidirectional only), bottom first. */
  readonly backwardLayers: RecurrentLayer[] = [];
  /** The merge, or false. */
  readonly merge: Merge | false;
  /** H_out: the size of `outputs`' last axis and of `final`. */
  readonly outputSize: number;
  /** H. */
  readonly hiddenSize: number;

  constructor(readonly config: EncoderConfig) {
    checkKeys("RecurrentEncoder", config, ENCODER_KEYS);
    const L = config.layers ?? 1;
    checkPositive("RecurrentEncoder", "layers", L);
    this.merge = config.bidirectional ?? false;
    if (this.merge !== false && !MERGES.includes(this.merge)) {
      throw new Error(
        `RecurrentEncoder: bidirectional must be false or one of ${MERGES.map((m) => `"${m}"`).join(", ")}, got ${JSON.stringify(this.merge)}`,
      );
    }
    const H = config.hiddenSize;
    this.hiddenSize = H;
    this.outputSize = this.merge ? mergedSize(H, this.merge) : H;
    const seed = config.seed ?? DEFAULT_SEED;
    for (let l = 0; l < L; l++) {
      const inputSize = l === 0 ? config.inputSize : this.outputSize;
      const base = { cell: config.cell, inputSize, hiddenSize: H, peepholes: config.peepholes };
      this.forwardLayers.push(new RecurrentLayer({ ...base, seed: layerSeed(seed, l) }));
      if (this.merge) this.backwardLayers.push(new RecurrentLayer({ ...base, seed: layerSeed(seed, l, "reversed") }));
    }
  }

  /** The state's tensor names: ["h"] or ["h", "s"]. */
  get stateKeys(): readonly string[] {
    return this.forwardLayers[0].stateKeys;
  }

  /** Every variable: "layer0.U", …, and "layer0.reverse.U", … for bidirectional layers. */
  get variables(): Record<string, Variable> {
    const out: Record<string, Variable> = {};
    this.forwardLayers.forEach((l, k) => Object.assign(out, prefixed(`layer${k}`, l.params)));
    this.backwardLayers.forEach((l, k) => Object.assign(out, prefixed(`layer${k}.reverse`, l.params)));
    return out;
  }

  /**
   * Reads x [B, T, I] (with an optional mask [B, T]); `initialStates[ℓ]` starts layer ℓ's
   * forward direction (zeros where missing). NaN/±Inf in x, the mask or a state throws a
   * NonFiniteInputError naming it.
   */
  run(x: Tensor3D, options: { mask?: Tensor2D; initialStates?: (Partial<AnyState> | undefined)[] } = {}): EncoderResult {
    checkNotDisposed("RecurrentEncoder.run", this, "the RecurrentEncoder");
    checkInputs("RecurrentEncoder.run", {
      x,
      mask: options.mask,
      ...Object.assign({}, ...(options.initialStates ?? []).map((s, k) => stateInputs(s, `initialStates[${k}]`))),
    });
    return tidy("RecurrentEncoder.run", () =>
      withCheckedInputs(() => {
        if (!this.merge) {
          const stack = this.forwardLayers.map((l) => layer(l.cell, l.params));
          const r = unrollStacked(stack, x, { mask: options.mask, initialStates: options.initialStates });
          return { outputs: r.outputs, final: r.states[r.states.length - 1].h, states: r.states };
        }
        let input = x; // [B, T, I], then [B, T, H_out]
        let final: Tensor2D | undefined;
        const states: AnyState[] = [];
        this.forwardLayers.forEach((f, k) => {
          const b = this.backwardLayers[k];
          const r = bidirectional(layer(f.cell, f.params), layer(b.cell, b.params), input, {
            merge: this.merge as Merge,
            mask: options.mask,
            initialStates: { forward: options.initialStates?.[k] },
          });
          input = r.outputs;
          final = r.final;
          states.push(r.forward);
        });
        return { outputs: input, final: final!, states };
      }),
    );
  }

  /** Frees the variables. */
  dispose(): void {
    for (const l of [...this.forwardLayers, ...this.backwardLayers]) l.dispose();
  }
}
