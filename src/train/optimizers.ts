/**
 * The four optimizers of the course, by name, with their defaults written down.
 *
 * They are tfjs's optimizers (`tf.train.*`; Adam's update runs in one pass per weight,
 * the same bits, see adam.ts); this file only names them, fixes the defaults and says where
 * they differ from PyTorch and Keras. For a gradient g of a
 * weight w, step t (η learning rate):
 *
 * | name | update | defaults here |
 * |---|---|---|
 * | sgd | w ← w − η g | η = 0.01 |
 * | momentum | v ← μ v + g;  w ← w − η v | η = 0.01, μ = 0.9 |
 * | adam | m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  w ← w − η m̂ / (√v̂ + ε), m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ) | η = 0.001, β₁ = 0.9, β₂ = 0.999, ε = 1e-7 |
 * | rmsprop | s ← ρ s + (1−ρ) g²;  v ← μ v + η g / √(s + ε);  w ← w − v | η = 0.001, ρ = 0.9, μ = 0, ε = 1e-7 |
 *
 * Differences from the frameworks, on purpose or inherited from tfjs:
 * - momentum is PyTorch's form (v accumulates g, the step is η v); Keras's SGD(momentum)
 *   accumulates η g instead — the same path while η is constant.
 * - Adam's ε: 1e-7 as in Keras/tfjs; PyTorch uses 1e-8.
 * - RMSprop: ρ = 0.9 as in Keras/tfjs (PyTorch's `alpha` defaults to 0.99), and tfjs puts ε
 *   inside the root, √(s + ε), where PyTorch writes √s + ε.
 *
 * Gradient clipping is not part of an optimizer here: see clipping.ts (the trainer clips
 * before it calls `applyGradients`).
 */
import * as tf from "@tensorflow/tfjs";
import { OnePassAdam } from "./adam";

/** The optimizers seqlab names. */
export type OptimizerName = "sgd" | "momentum" | "adam" | "rmsprop";

/** Settings shared by every optimizer. */
export interface OptimizerBaseConfig {
  /** η. Default: 0.01 for sgd and momentum, 0.001 for adam and rmsprop. */
  learningRate?: number;
}
/** Plain gradient descent: w ← w − η g. */
export interface SgdConfig extends OptimizerBaseConfig {
  name: "sgd";
}
/** Gradient descent with (heavy-ball) momentum: v ← μ v + g, w ← w − η v. */
export interface MomentumConfig extends OptimizerBaseConfig {
  name: "momentum";
  /** μ. Default: 0.9. */
  momentum?: number;
  /** Nesterov's variant (w ← w − η (g + μ v)). Default: false. */
  nesterov?: boolean;
}
/** Adam (Kingma & Ba, 2015). */
export interface AdamConfig extends OptimizerBaseConfig {
  name: "adam";
  /** β₁. Default: 0.9. */
  beta1?: number;
  /** β₂. Default: 0.999. */
  beta2?: number;
  /** ε. Default: 1e-7 (Keras/tfjs; PyTorch 1e-8). */
  epsilon?: number;
}
/** RMSprop (Hinton's lecture 6e), tfjs's form: ε inside the square root. */
export interface RmspropConfig extends OptimizerBaseConfig {
  name: "rmsprop";
  /** ρ, the decay of the running mean of g². Default: 0.9 (Keras/tfjs; PyTorch's alpha is 0.99). */
  decay?: number;
  /** μ. Default: 0. */
  momentum?: number;
  /** ε. Default: 1e-7. */
  epsilon?: number;
  /** Divide by the running variance instead of the running mean square. Default: false. */
  centered?: boolean;
}
/** Which optimizer and its settings; a bare name means all defaults. */
export type OptimizerConfig = SgdConfig | MomentumConfig | AdamConfig | RmspropConfig;

/** The defaults named in the table above. */
export const OPTIMIZER_DEFAULTS = {
  sgd: { learningRate: 0.01 },
  momentum: { learningRate: 0.01, momentum: 0.9, nesterov: false },
  adam: { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
  rmsprop: { learningRate: 0.001, decay: 0.9, momentum: 0, epsilon: 1e-7, centered: false },
} as const;

/**
 * A fresh tfjs optimizer for `config` (its state — momenta, Adam's moments — starts at zero).
 * The caller disposes it (`optimizer.dispose()`); the trainer does so itself.
 *
 * tfjs optimizers keep their per-weight state by the *position* of a gradient in the list
 * given to `applyGradients`, not by the weight's name: always pass every weight, in the
 * same order (the trainer does).
 *
 * @throws on an unknown name or a setting out of range, naming it
 */
export function makeOptimizer(config: OptimizerName | OptimizerConfig): tf.Optimizer {
  const c: OptimizerConfig = typeof config === "string" ? ({ name: config } as OptimizerConfig) : config;
  const positive = (what: string, v: number) => {
    if (!(typeof v === "number" && v > 0 && Number.isFinite(v)))
      throw new Error(`optimizer ${c.name}: ${what} must be a number > 0, got ${v}`);
    return v;
  };
  const fraction = (what: string, v: number) => {
    if (!(typeof v === "number" && v >= 0 && v < 1)) throw new Error(`optimizer ${c.name}: ${what} must be in [0, 1), got ${v}`);
    return v;
  };
  switch (c.name) {
    case "sgd": {
      const d = OPTIMIZER_DEFAULTS.sgd;
      return tf.train.sgd(positive("learningRate", c.learningRate ?? d.learningRate));
    }
    case "momentum": {
      const d = OPTIMIZER_DEFAULTS.momentum;
      const opt = tf.train.momentum(
        positive("learningRate", c.learningRate ?? d.learningRate),
        fraction("momentum", c.momentum ?? d.momentum),
        c.nesterov ?? d.nesterov,
      );
      // tfjs 4.22's MomentumOptimizer.dispose() frees μ but not the −η scalar it inherits
      // from SGD (one tensor leaked per optimizer): free it too.
      const dispose = opt.dispose.bind(opt);
      opt.dispose = () => {
        dispose();
        (opt as unknown as { c?: tf.Tensor }).c?.dispose();
      };
      return opt;
    }
    case "adam": {
      const d = OPTIMIZER_DEFAULTS.adam;
      return new OnePassAdam(
        positive("learningRate", c.learningRate ?? d.learningRate),
        fraction("beta1", c.beta1 ?? d.beta1),
        fraction("beta2", c.beta2 ?? d.beta2),
        positive("epsilon", c.epsilon ?? d.epsilon),
      );
    }
    case "rmsprop": {
      const d = OPTIMIZER_DEFAULTS.rmsprop;
      return tf.train.rmsprop(
        positive("learningRate", c.learningRate ?? d.learningRate),
        fraction("decay", c.decay ?? d.decay),
        fraction("momentum", c.momentum ?? d.momentum),
        positive("epsilon", c.epsilon ?? d.epsilon),
        c.centered ?? d.centered,
      );
    }
    default:
      throw new Error(
        `optimizer: unknown name "${(c as { name: unknown }).name}"; seqlab has ${Object.keys(OPTIMIZER_DEFAULTS).join(", ")}`,
      );
  }
}

/** A readable one-line description, e.g. "adam(η=0.001, β₁=0.9, β₂=0.999, ε=1e-7)". */
export function describeOptimizer(config: OptimizerName | OptimizerConfig): string {
  const c: OptimizerConfig = typeof config === "string" ? ({ name: config } as OptimizerConfig) : config;
  const d = OPTIMIZER_DEFAULTS[c.name] as Record<string, number | boolean>;
  if (!d) throw new Error(`optimizer: unknown name "${c.name}"`);
  const merged: Record<string, unknown> = { ...d, ...c };
  const label: Record<string, string> = { learningRate: "η", momentum: "μ", beta1: "β₁", beta2: "β₂", epsilon: "ε", decay: "ρ" };
  const parts = Object.keys(d)
    .filter((k) => typeof merged[k] === "number")
    .map((k) => `${label[k] ?? k}=${merged[k]}`);
  if (merged.nesterov) parts.push("nesterov");
  if (merged.centered) parts.push("centered");
  return `${c.name}(${parts.join(", ")})`;
}
