/**
 * The lecture's whole model on the float64 reference path: a cell through time, the softmax
 * readout o(t) = c + V h(t) at every step, L = −Σ_t log ŷ_{y(t)}(t) (+ Σ w_final ⊙ state(T)),
 * its hand-written BPTT, and its finite-difference gradients. One example at a time, in
 * column vectors, exactly as the slides write it; the batch is summed. No masks, forward
 * direction only: those are unroll features, checked against tfjs autodiff instead.
 */
import type { CellName } from "../../cells/cell";
import { CELLS } from "../../cells/registry";
import { numericalGradient } from "../gradcheck";
import type { RefCell, RefParams, RefVectors } from "./cell";
import { addMatTVec, addOuter, addVec, cloneF64, matVec, rowOf, zerosF64, type F64 } from "./linalg";

/** The float64 reference a {@link RefModel} names: a seqlab cell's (by name) or one given directly. */
export function referenceCell(cell: CellName | RefCell): RefCell {
  if (typeof cell !== "string") return cell;
  const ref = CELLS[cell]?.reference;
  if (!ref) throw new Error(`reference model: no float64 reference for cell ${JSON.stringify(cell)}`);
  return ref;
}

/** Everything the reference model needs, in float64 (convert tensors with `toF64`/`paramsToF64`). */
export interface RefModel {
  /** The cell: a seqlab cell's name, or a float64 reference cell (`cell.reference`). */
  cell: CellName | RefCell;
  /** The cell's parameters (U, W, b, …). */
  params: RefParams;
  /** V [K, H] and c [K]. */
  readout: { V: F64; c: F64 };
  /** x: [B, T, I]. */
  x: F64;
  /** y: [B, T] classes, row-major. */
  y: ArrayLike<number>;
  /** h0 (and s0): [B, H] each; zeros if missing. */
  initialState?: Record<string, F64>;
  /** Adds Σ w ⊙ state(T) to L (as `finalStateWeights` in src/grad/gradients.ts). */
  finalStateWeights?: Record<string, F64>;
}

/** What {@link referenceGradients} returns (float64). */
export interface RefGradients {
  loss: number;
  grads: RefParams;
  readoutGrads: { V: F64; c: F64 };
  dx: F64;
  dInitial: Record<string, F64>;
  /** ‖∇_h(t) L‖ over the batch, per timestep. */
  dhNorms: number[];
  /** h(t): [B, T, H]. */
  outputs: F64;
  /** The final state, [B, H] each. */
  state: Record<string, F64>;
}

/** L of the reference model (float64). */
export function referenceLoss(m: RefModel): number {
  return run(m, false).loss;
}

/** L, the outputs, the final state and the hand-written BPTT gradients, all float64. */
export function referenceGradients(m: RefModel): RefGradients {
  return run(m, true);
}

/**
 * Centred finite differences of {@link referenceLoss} with respect to every parameter,
 * V, c, x and the initial state: 2 forward passes per entry, so keep the sizes tiny.
 */
export function numericGradients(m: RefModel, h = 1e-5): Omit<RefGradients, "loss" | "dhNorms" | "outputs" | "state"> {
  const cell = referenceCell(m.cell);
  const [B] = m.x.shape;
  const H = m.params.W.shape[1];
  // Work on copies, so the caller's arrays are never touched.
  const copy: RefModel = {
    ...m,
    params: mapValues(m.params, cloneF64),
    readout: { V: cloneF64(m.readout.V), c: cloneF64(m.readout.c) },
    x: cloneF64(m.x),
    initialState: Object.fromEntries(cell.stateKeys.map((k) => [k, m.initialState?.[k] ? cloneF64(m.initialState[k]) : zerosF64([B, H])])),
  };
  const f = () => referenceLoss(copy);
  const diff = (a: F64): F64 => ({ shape: [...a.shape], data: numericalGradient(f, a.data, h) });
  return {
    grads: mapValues(copy.params, diff),
    readoutGrads: { V: diff(copy.readout.V), c: diff(copy.readout.c) },
    dx: diff(copy.x),
    dInitial: mapValues(copy.initialState!, diff),
  };
}

function mapValues<A, B>(o: Record<string, A>, f: (a: A) => B): Record<string, B> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}

function run(m: RefModel, backward: boolean): RefGradients {
  const cell = referenceCell(m.cell);
  const [B, T, I] = m.x.shape;
  const H = m.params.W.shape[1];
  const K = m.readout.V.shape[0];
  const { V, c } = m.readout;
  const grads = mapValues(m.params, (p) => zerosF64(p.shape));
  const readoutGrads = { V: zerosF64(V.shape), c: zerosF64(c.shape) };
  const dx = zerosF64(m.x.shape);
  const outputs = zerosF64([B, T, H]);
  const dInitial = Object.fromEntries(cell.stateKeys.map((k) => [k, zerosF64([B, H])]));
  const state = Object.fromEntries(cell.stateKeys.map((k) => [k, zerosF64([B, H])]));
  const normSq = new Float64Array(T);
  let loss = 0;
  for (let b = 0; b < B; b++) {
    let st: RefVectors = Object.fromEntries(
      cell.stateKeys.map((k) => [k, m.initialState?.[k] ? Float64Array.from(rowOf(m.initialState[k], b)) : new Float64Array(H)]),
    );
    const prevs: RefVectors[] = [];
    const outs: RefVectors[] = [];
    const yhats: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const xt = m.x.data.subarray((b * T + t) * I, (b * T + t + 1) * I);
      const out = cell.step(m.params, xt, st);
      const o = matVec(V, out.h); // o(t) = c + V h(t)
      for (let k = 0; k < K; k++) o[k] += c.data[k];
      const max = Math.max(...o);
      const logZ = max + Math.log(o.reduce((acc, v) => acc + Math.exp(v - max), 0));
      const yt = m.y[b * T + t];
      loss += logZ - o[yt]; // −log ŷ_{y(t)}(t)
      yhats.push(o.map((v) => Math.exp(v - logZ)));
      outputs.data.set(out.h, (b * T + t) * H);
      prevs.push(st);
      outs.push(out);
      st = Object.fromEntries(cell.stateKeys.map((k) => [k, out[k]]));
    }
    for (const k of cell.stateKeys) {
      state[k].data.set(st[k], b * H);
      const w = m.finalStateWeights?.[k];
      if (w) for (let j = 0; j < H; j++) loss += w.data[b * H + j] * st[k][j];
    }
    if (!backward) continue;
    let d: RefVectors = Object.fromEntries(
      cell.stateKeys.map((k) => [k, m.finalStateWeights?.[k] ? Float64Array.from(rowOf(m.finalStateWeights[k], b)) : new Float64Array(H)]),
    );
    for (let t = T - 1; t >= 0; t--) {
      const dO = Float64Array.from(yhats[t]); // ∇_o(t) L = ŷ(t) − 1_{y(t)}
      dO[m.y[b * T + t]] -= 1;
      addOuter(readoutGrads.V, dO, outs[t].h);
      addVec(readoutGrads.c.data, dO);
      const dh = Float64Array.from(d.h);
      addMatTVec(dh, V, dO); // ∇_h(t) L = (from t+1) + Vᵀ ∇_o(t) L
      normSq[t] += dh.reduce((acc, v) => acc + v * v, 0);
      const xt = m.x.data.subarray((b * T + t) * I, (b * T + t + 1) * I);
      const dxt = dx.data.subarray((b * T + t) * I, (b * T + t + 1) * I);
      d = cell.backward(m.params, xt, prevs[t], outs[t], { ...d, h: dh }, grads, dxt);
    }
    for (const k of cell.stateKeys) dInitial[k].data.set(d[k], b * H);
  }
  return { loss, grads, readoutGrads, dx, dInitial, dhNorms: Array.from(normSq, Math.sqrt), outputs, state };
}
