/**
 * Adam, tfjs's update bit for bit, in one pass over each weight instead of a dozen ops.
 *
 * ```
 * m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ);  w ← w + (−η)·m̂/(√v̂ + ε)
 * ```
 *
 * tfjs's `AdamOptimizer.applyGradients` runs 12 tfjs ops per weight (mul, add, square, div,
 * sqrt, …, each a kernel dispatch): 74 for an LSTM with its readout, about 250 for the
 * attention encoder–decoder, a few milliseconds of a training step spent dispatching. Here
 * each weight's update is one call of a WebAssembly loop (src/fused/assembly/adam.ts) that
 * does tfjs's float32 operations in tfjs's order, each rounded as tfjs's kernel rounds it
 * (no fused multiply-add), so the weights, the moments and β₁ᵗ, β₂ᵗ are the same bits as
 * tfjs's (test/train-trainer.test.ts compares them step by step). The state lives where tfjs
 * keeps it (the moment variables, accBeta1/2): `getWeights` and `setWeights` are tfjs's own.
 * The values are read in place from tfjs's memory, and the new ones written back in place into
 * a variable whose memory no other tensor shares; a shared one (a reshape of a weight shares its
 * memory) gets a new tensor, as tfjs's assign does, so the other tensor keeps its values.
 * On the other backends (tfjs-node, cpu) it is tfjs's update unchanged.
 */
import * as tf from "@tensorflow/tfjs";
import { instantiateKernels, WasmArena, type WasmKernels } from "../fused/wasm";
import { f32Now } from "../fused/op";
import { ownedWasmView } from "../fused/tfjs-internals";

/** The fields of tfjs's AdamOptimizer this update reads and writes (private there). */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

/** An instance of the kernels of its own (the shared one is anyone's) and its memory. */
let wasm: { kernels: WasmKernels; arena: WasmArena } | undefined;

/** tfjs's Adam with the update in one pass per weight (see the file's comment). */
export class OnePassAdam extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer["applyGradients"]>[0]): void {
    if (tf.getBackend() !== "wasm") return super.applyGradients(variableGradients);
    if (!wasm) {
      const kernels = instantiateKernels("simd"); // the update uses no relaxed instruction
      wasm = { kernels, arena: new WasmArena(kernels) };
    }
    const { kernels, arena } = wasm;
    const s = this as unknown as AdamState;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const f = Math.fround;
    // The scalars as tfjs makes them: float32 tensors of the JavaScript numbers.
    const accBeta1 = s.accBeta1.dataSync()[0];
    const accBeta2 = s.accBeta2.dataSync()[0];
    const scalars = [
      f(s.beta1),
      f(s.beta2),
      f(1 - s.beta1),
      f(1 - s.beta2),
      f(1 - accBeta1), // sub(1, accBeta1), in float32
      f(1 - accBeta2),
      f(s.epsilon),
      f(-s.learningRate),
    ] as const;
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        s.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        s.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
        if (gradient == null) return;
        const firstMoment = s.accumulatedFirstMoment[i].variable;
        const secondMoment = s.accumulatedSecondMoment[i].variable;
        const n = value.size;
        if (!tf.util.arraysEqual(gradient.shape, value.shape))
          throw new Error(
            `Adam.applyGradients: the gradient of "${name}" has shape [${gradient.shape.join(", ")}], the weight [${value.shape.join(", ")}]`,
          );
        arena.reset();
        const [pg, pm, pv, pw] = [gradient, firstMoment, secondMoment, value].map((t) => arena.put(f32Now(t)));
        kernels.exports.adamUpdate(pg, pm, pv, pw, n, ...scalars);
        for (const [variable, at] of [
          [firstMoment, pm],
          [secondMoment, pv],
          [value, pw],
        ] as const) {
          const updated = arena.f32(at, n);
          const own = ownedWasmView(variable);
          if (own) own.set(updated);
          else variable.assign(tf.tensor(updated.slice(), variable.shape));
        }
      });
      s.accBeta1.assign(tf.scalar(f(accBeta1 * f(s.beta1))));
      s.accBeta2.assign(tf.scalar(f(accBeta2 * f(s.beta2))));
    });
    s.incrementIterations();
  }
}
