/**
 * The output layer of the sequence models: the lecture's o = c + V h, read either as
 * class logits (ŷ = softmax(o), cross-entropy) or as predicted values (squared error).
 *
 * ```
 * o(n) = c + V h(n)                        (lecture: "Recurrent Networks")
 * classes: ŷ(n) = softmax(o(n)),  L = −(1/N) Σ_n log ŷ_{y(n)}(n)
 * values:  ŷ(n) = o(n),           L =  (1/N) Σ_n ‖o(n) − y(n)‖² / K
 * ```
 * | symbol | shape | meaning |
 * |---|---|---|
 * | h(n) | [N, H] | a hidden state (last state: N = B; every step: N = B·T) |
 * | V, c | [K, H], [K] | as src/cells/readout.ts |
 * | o(n) | [N, K] | logits or values |
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D, Variable } from "@tensorflow/tfjs";
import { ShapeError } from "../cells/checks";
import { initReadout } from "../cells/readout";
import { checkTokenIds } from "./embedding";
import { checkPositive, toVariables } from "./recurrent-layer";
import { crossEntropy, meanSquaredError, type LossResult } from "./loss";

/** What a model predicts: `{classes: K}` (ids, cross-entropy) or `{values: K}` (reals, squared error). */
export type OutputConfig = { classes: number; values?: undefined } | { values: number; classes?: undefined };

/** The keys of {@link OutputConfig}. */
export const OUTPUT_KEYS: readonly string[] = ["classes", "values"];

/** The output layer o = c + V h with its loss. */
export class OutputHead {
  /** V [K, H] and c [K]. */
  readonly params: { V: Variable; c: Variable };
  /** K. */
  readonly size: number;
  /** "classes" or "values". */
  readonly kind: "classes" | "values";

  constructor(
    output: OutputConfig,
    hiddenSize: number,
    seed: number,
    private readonly where: string,
  ) {
    if (!output || (output.classes === undefined) === (output.values === undefined)) {
      throw new Error(`${where}: output must be {classes: K} or {values: K}, got ${JSON.stringify(output)}`);
    }
    this.kind = output.classes !== undefined ? "classes" : "values";
    this.size = (output.classes ?? output.values)!;
    checkPositive(where, `output.${this.kind}`, this.size);
    this.params = toVariables({ ...initReadout({ hiddenSize, classes: this.size, seed }) }) as { V: Variable; c: Variable };
  }

  /** o = c + V h: [N, H] → [N, K]. */
  apply(h: Tensor2D): Tensor2D {
    return tf.add(tf.matMul(h, this.params.V, false, true), this.params.c) as Tensor2D; // [N, K]
  }

  /**
   * The loss of predictions o [N, K] against targets y ([N] ids or [N, K] values), over the
   * rows with m = 1.
   */
  loss(o: Tensor2D, y: Tensor, m?: Tensor1D): LossResult {
    return this.kind === "classes" ? crossEntropy(o, y as Tensor1D, m) : meanSquaredError(o, y as Tensor2D, m);
  }

  /**
   * Checks targets: ids in [0, K) of shape `idShape`, or values of shape [...idShape, K].
   * @param idShape the shape of one id per prediction, e.g. [B] or [B, T]
   */
  checkTargets(argument: string, y: Tensor, idShape: readonly number[], symbols: readonly string[]): void {
    const want = this.kind === "classes" ? [...idShape] : [...idShape, this.size];
    const letters = this.kind === "classes" ? [...symbols] : [...symbols, "K"];
    const ok = y.shape.length === want.length && y.shape.every((n, k) => n === want[k]);
    if (!ok) {
      const what = this.kind === "classes" ? "class ids" : `values (K = ${this.size})`;
      throw new ShapeError(
        `${this.where}: ${argument} (${what}) must have shape [${letters.join(", ")}] = [${want.join(", ")}], got [${y.shape.join(", ")}]`,
        argument,
        want,
        [...y.shape],
      );
    }
    if (this.kind === "classes") checkTokenIds(this.where, argument, y, this.size);
  }

  get variables(): Record<string, Variable> {
    return { V: this.params.V, c: this.params.c };
  }

  dispose(): void {
    this.params.V.dispose();
    this.params.c.dispose();
  }
}
