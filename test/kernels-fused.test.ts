/**
 * The fused recurrent kernels (src/fused/fused.ts, src/fused/assembly): `unroll` on
 * the fused path computes the same outputs, final states and gradients (∂L/∂x, ∂L/∂every
 * parameter, ∂L/∂initial state, through the custom-gradient op) as the tfjs-op reference path
 * (`fused: false`, tfjs autodiff), for every cell, with masks, reverse and initial
 * states, at sizes that do not fill the SIMD tiles; finite differences agree; the scalar
 * and the relaxed-SIMD (fused multiply-add) builds agree with the SIMD build; ∂L/∂x is
 * computed only when backprop needs it; neither tensors nor wasm memory grow over training;
 * the environment variables are validated; the private tfjs internals the op reads are there.
 */
import { strict as assert } from "node:assert";
import * as os from "node:os";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { spawnSync } from "node:child_process";
import { CELLS, assertNoTensorLeaks } from "./recurrent-helpers";

const { tf } = seqlab;
type Tensor = seqlab.tf.Tensor;
type T2 = seqlab.tf.Tensor2D;
type T3 = seqlab.tf.Tensor3D;
type AnyParams = Record<string, Tensor>;

interface Case {
  B: number;
  T: number;
  I: number;
  H: number;
  reverse?: boolean;
  mask?: boolean;
  initial?: boolean;
  returnSequences?: boolean;
}

/** Sizes chosen to hit every edge of the tiles: H = 5 (< 8), 12 (4 but not 8), 16 (exact); B = 1; T = 1. */
const CASES: Case[] = [
  { B: 3, T: 4, I: 3, H: 5 },
  { B: 2, T: 5, I: 4, H: 12, mask: true, initial: true },
  { B: 4, T: 3, I: 8, H: 16, reverse: true, mask: true, initial: true },
  { B: 1, T: 1, I: 2, H: 3, initial: true },
  { B: 5, T: 2, I: 1, H: 9, reverse: true, returnSequences: false, initial: true },
];

function label(c: Case): string {
  const flags = [c.reverse && "reverse", c.mask && "mask", c.initial && "h0/s0", c.returnSequences === false && "last state only"].filter(
    Boolean,
  );
  return `B=${c.B} T=${c.T} I=${c.I} H=${c.H}${flags.length ? ` (${flags.join(", ")})` : ""}`;
}

/** Deterministic inputs for one case: x, h0, s0, a mask with padding, weights for a loss on every output and state. */
function inputs(c: Case, seed: number) {
  const rng = new seqlab.Rng(seed);
  const x = internal.normalTensor<seqlab.tf.Rank.R3>([c.B, c.T, c.I], 1, rng) as T3;
  const h0 = internal.normalTensor<seqlab.tf.Rank.R2>([c.B, c.H], 0.5, rng) as T2;
  const s0 = internal.normalTensor<seqlab.tf.Rank.R2>([c.B, c.H], 0.5, rng) as T2;
  // sequence b has length T − (b mod 3), padded at the end; and one hole in the middle for b = 1
  const m = Array.from({ length: c.B * c.T }, (_, k) => {
    const b = Math.floor(k / c.T);
    const t = k % c.T;
    return t < c.T - (b % 3) && !(b === 1 && t === 1) ? 1 : 0;
  });
  const mask = c.mask ? tf.tensor2d(m, [c.B, c.T]) : undefined;
  const wOut = internal.normalTensor<seqlab.tf.Rank.R3>([c.B, c.T, c.H], 1, rng) as T3;
  const wh = internal.normalTensor<seqlab.tf.Rank.R2>([c.B, c.H], 1, rng) as T2;
  const ws = internal.normalTensor<seqlab.tf.Rank.R2>([c.B, c.H], 1, rng) as T2;
  return { x, h0, s0, mask, wOut, wh, ws, dispose: () => tf.dispose([x, h0, s0, wOut, wh, ws, ...(mask ? [mask] : [])]) };
}

type Fused = boolean | internal.FusedVariant;

/**
 * L = Σ wOut ⊙ outputs + Σ wh ⊙ h(T) [+ Σ ws ⊙ s(T)], its value, the outputs, the final
 * state, and the gradients with respect to every parameter, x and the initial state.
 */
function run(cellIndex: number, params: AnyParams, c: Case, data: ReturnType<typeof inputs>, fused: Fused) {
  const { cell } = CELLS[cellIndex];
  const lstm = (cell.stateKeys as readonly string[]).includes("s");
  const names = Object.keys(params).filter((k) => params[k] !== undefined);
  const stateNames = c.initial ? (lstm ? ["h", "s"] : ["h"]) : [];
  const given: Tensor[] = stateNames.map((k) => (k === "h" ? data.h0 : data.s0));
  const forward = (ts: Tensor[]) => {
    const p = Object.fromEntries(names.map((k, j) => [k, ts[j]]));
    const x = ts[names.length] as T3;
    const initialState = Object.fromEntries(stateNames.map((k, j) => [k, ts[names.length + 1 + j]]));
    const options = { fused, reverse: c.reverse, mask: data.mask, initialState };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const anyCell = cell as any;
    if (c.returnSequences === false) {
      const r = seqlab.unroll(anyCell, p, x, { ...options, returnSequences: false });
      return { outputs: undefined, state: r.state as unknown as Record<string, T2> };
    }
    const r = seqlab.unroll(anyCell, p, x, options);
    return { outputs: r.outputs as T3, state: r.state as unknown as Record<string, T2> };
  };
  const loss = (...ts: Tensor[]) => {
    const r = forward(ts);
    let L = tf.sum(tf.mul(data.wh, r.state.h));
    if (r.outputs) L = tf.add(L, tf.sum(tf.mul(data.wOut, r.outputs)));
    if (lstm) L = tf.add(L, tf.sum(tf.mul(data.ws, r.state.s)));
    return L as seqlab.tf.Scalar;
  };
  const all = [...names.map((k) => params[k]), data.x, ...given];
  const { value, grads } = tf.valueAndGrads(loss)(all);
  const fwd = tf.tidy(() => {
    const r = forward(all);
    return { ...(r.outputs ? { outputs: r.outputs } : {}), ...r.state };
  });
  const result = {
    loss: value.dataSync()[0],
    forward: Object.fromEntries(Object.entries(fwd).map(([k, t]) => [k, t.dataSync().slice()])),
    grads: Object.fromEntries([...names, "x", ...stateNames.map((k) => `${k}0`)].map((k, j) => [k, grads[j].dataSync().slice()])),
  };
  tf.dispose([value, ...grads, ...Object.values(fwd)]);
  return result;
}

/** Asserts that two runs agree entry by entry to float32 rounding (relative to each tensor's scale). */
function assertSame(got: ReturnType<typeof run>, want: ReturnType<typeof run>, tol: number, what: string): void {
  // L sums B·T·H terms of order 1 that partly cancel: float32 summation alone moves it by ~1e−6
  assert.ok(Math.abs(got.loss - want.loss) <= 1e-5 * (1 + Math.abs(want.loss)), `${what}: loss ${got.loss} vs ${want.loss}`);
  assert.deepEqual(Object.keys(got.forward).sort(), Object.keys(want.forward).sort());
  assert.deepEqual(Object.keys(got.grads).sort(), Object.keys(want.grads).sort());
  for (const part of ["forward", "grads"] as const) {
    for (const [k, v] of Object.entries(want[part])) {
      const e = seqlab.scaledError(got[part][k], v);
      assert.ok(e < tol, `${what}: ${part} ${k} differs, scaled error ${e.toExponential(2)}`);
    }
  }
}

/**
 * Minimizes `loss` with `opt` for 10 warm-up steps, then `steps` more, asserting every
 * `every` steps and at the end that tf.memory().numTensors and the fused path's wasm
 * memory stay flat and that no block outlives its step; `afterWarmUp` runs in between.
 * Returns the first and the last loss.
 */
function trainFlat(
  opt: seqlab.tf.Optimizer,
  loss: () => seqlab.tf.Scalar,
  steps: number,
  every: number,
  afterWarmUp = () => {},
): { first: number; last: number } {
  const step = () => {
    const L = opt.minimize(loss, true)!;
    const v = L.dataSync()[0];
    L.dispose();
    return v;
  };
  const first = step();
  for (let i = 0; i < 9; i++) step();
  afterWarmUp();
  const tensors = tf.memory().numTensors;
  const bytes = internal.fusedMemory().bytes;
  assert.ok(bytes > 0);
  let last = first;
  for (let i = 0; i < steps; i++) {
    last = step();
    if (i % every === 0) {
      assert.equal(tf.memory().numTensors, tensors, `tensors grew by step ${i}`);
      assert.equal(internal.fusedMemory().bytes, bytes, `wasm memory grew by step ${i}`);
      assert.equal(internal.fusedMemory().liveBlocks, 0);
      assert.equal(internal.fusedMemory().usedBytes, 0);
    }
  }
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(internal.fusedMemory().bytes, bytes);
  return { first, last };
}

describe("fused recurrent kernels (wasm)", function () {
  this.timeout(60_000);
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  CELLS.forEach((entry, ci) => {
    describe(entry.label, () => {
      CASES.forEach((c, k) => {
        it(`fused = reference (tf autodiff): outputs, final state, ∂x, ∂params, ∂initial state — ${label(c)}`, () => {
          const params = entry.init(c.I, c.H, 10 + k) as unknown as AnyParams;
          const data = inputs(c, 100 + 7 * ci + k);
          try {
            const reference = run(ci, params, c, data, false);
            const relaxed = run(ci, params, c, data, "relaxed");
            const simd = run(ci, params, c, data, "simd");
            const scalar = run(ci, params, c, data, "scalar");
            assertSame(relaxed, reference, 2e-6, "relaxed vs reference");
            assertSame(simd, reference, 2e-6, "simd vs reference");
            assertSame(scalar, reference, 2e-6, "scalar vs reference");
            assertSame(relaxed, simd, 1e-6, "relaxed (FMA) vs simd");
            assertSame(scalar, simd, 1e-6, "scalar vs simd");
            // every gradient is really there (not all zeros), except peepholes/h0 that the case cannot reach
            for (const [name, g] of Object.entries(simd.grads)) {
              if (name === "wci" || name === "wcf" || name === "s0" || name === "h0") continue;
              assert.ok(
                g.some((v) => v !== 0),
                `∂L/∂${name} is all zeros`,
              );
            }
          } finally {
            data.dispose();
            tf.dispose(Object.values(params));
          }
        });
      });
    });
  });

  it("passes a finite-difference check through the fused path (every cell, tiny case, h0 and s0 given)", () => {
    const c: Case = { B: 2, T: 3, I: 2, H: 3, mask: true, initial: true };
    CELLS.forEach((entry, ci) => {
      const params = entry.init(c.I, c.H, 3) as unknown as AnyParams;
      const data = inputs(c, 77);
      try {
        const analytic = run(ci, params, c, data, "simd");
        for (const name of Object.keys(params)) {
          const p = params[name];
          // L as a function of this parameter's entries, evaluated by the fused forward (float32)
          const f = (v: Float64Array): number => {
            const t = tf.tensor(Float32Array.from(v), p.shape);
            try {
              return run(ci, { ...params, [name]: t }, c, data, "simd").loss;
            } finally {
              t.dispose();
            }
          };
          const checks = internal.sparseGradCheck(f, Float64Array.from(p.dataSync()), analytic.grads[name], 4, { h: 1e-2, seed: ci });
          for (const chk of checks) {
            const tol = 2e-3 * (1 + Math.abs(chk.analytic));
            assert.ok(
              Math.abs(chk.numeric - chk.analytic) < tol,
              `${entry.label} ∂L/∂${name}[${chk.index}]: numeric ${chk.numeric}, fused ${chk.analytic}`,
            );
          }
        }
      } finally {
        data.dispose();
        tf.dispose(Object.values(params));
      }
    });
  });

  it("is the default for seqlab's cells; fused: false, SEQLAB_FUSED=0 and checkFinite take the reference path", () => {
    const p = seqlab.initLstm({ inputSize: 2, hiddenSize: 3, seed: 1 });
    const x = tf.ones([2, 3, 2]) as T3;
    const calls = (f: () => void) => {
      const before = internal.fusedProfile().forwardCalls;
      f();
      return internal.fusedProfile().forwardCalls - before;
    };
    const once = (options: seqlab.UnrollOptions<seqlab.LstmState>) => () =>
      seqlab.disposeAll(seqlab.unroll(seqlab.lstmCell, p, x, options));
    try {
      assert.equal(calls(once({})), 1, "default");
      assert.equal(calls(once({ fused: false })), 0, "fused: false");
      assert.equal(calls(once({ checkFinite: true })), 0, "checkFinite");
      const old = process.env.SEQLAB_FUSED;
      process.env.SEQLAB_FUSED = "0";
      try {
        assert.equal(calls(once({})), 0, "SEQLAB_FUSED=0");
        assert.equal(calls(once({ fused: true })), 1, "fused: true overrides SEQLAB_FUSED=0");
      } finally {
        if (old === undefined) delete process.env.SEQLAB_FUSED;
        else process.env.SEQLAB_FUSED = old;
      }
      // the kernel is declared on the cell: a copy keeps it, a cell without one runs the reference path
      const copy = { ...seqlab.lstmCell };
      assert.equal(
        calls(() => seqlab.disposeAll(seqlab.unroll(copy, p, x))),
        1,
        "a copy of lstmCell",
      );
      const { fused: _fused, ...undeclared } = seqlab.lstmCell;
      assert.equal(
        calls(() => seqlab.disposeAll(seqlab.unroll(undeclared, p, x))),
        0,
        "a cell without a fused description",
      );
      // the fused path validates shapes like the reference path
      const wrong = tf.ones([2, 3, 4]) as T3;
      assert.throws(
        () => seqlab.unroll(seqlab.lstmCell, p, wrong),
        /unroll\(lstm\): x must have shape \[B, T, I\] = \[2, 3, 2\], got \[2, 3, 4\]/,
      );
      wrong.dispose();
    } finally {
      tf.dispose([x, ...Object.values(p)]);
    }
  });

  it("recomputes a forward whose block was evicted (more pending forwards than MAX_LIVE) and still gets the gradient right", () => {
    const p = seqlab.initGru({ inputSize: 2, hiddenSize: 4, seed: 2 });
    const rng = new seqlab.Rng(4);
    const xs = Array.from({ length: internal.MAX_LIVE + 8 }, () => internal.normalTensor<seqlab.tf.Rank.R3>([2, 3, 2], 1, rng) as T3);
    const loss = (fused: boolean) => (W: Tensor) =>
      tf.addN(
        xs.map((x) => tf.sum(tf.square(seqlab.unroll(seqlab.gruCell, { ...p, W: W as T2 }, x, { fused }).state.h))),
      ) as seqlab.tf.Scalar;
    try {
      const before = internal.fusedProfile().recomputes;
      const g = tf.grad(loss(true))(p.W);
      assert.ok(internal.fusedProfile().recomputes - before >= 8, "no forward was recomputed");
      const want = tf.grad(loss(false))(p.W);
      assert.ok(seqlab.scaledError(g.dataSync(), want.dataSync()) < 2e-6);
      assert.equal(internal.fusedMemory().liveBlocks, 0);
      tf.dispose([g, want]);
    } finally {
      tf.dispose([...xs, ...Object.values(p)]);
    }
  });

  it("computes ∂L/∂x only when backprop needs it: skipped for data, computed for an embedding's output, recomputed for tf.grads over x", () => {
    const [B, T, V, I, H] = [3, 5, 7, 4, 8];
    const p = seqlab.initLstm({ inputSize: I, hiddenSize: H, seed: 3 });
    const vars = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, tf.variable(v as Tensor)])) as unknown as seqlab.LstmParams;
    const E0 = internal.normalTensor<seqlab.tf.Rank.R2>([V, I], 1, new seqlab.Rng(8));
    const E = tf.variable(E0);
    const ids = tf.tensor2d(
      [
        [1, 2, 3, 4, 5],
        [6, 0, 1, 2, 3],
        [4, 4, 5, 6, 0],
      ],
      [B, T],
      "int32",
    );
    const data = internal.normalTensor<seqlab.tf.Rank.R3>([B, T, I], 1, new seqlab.Rng(9)) as T3;
    const loss = (x: T3, fused: boolean) =>
      tf.sum(tf.square(seqlab.unroll(seqlab.lstmCell, vars, x, { fused }).outputs)) as seqlab.tf.Scalar;
    // an embedding as one-hot rows times E (tfjs-wasm has no gradient for tf.gather)
    const embedded = (fused: boolean) => () => loss(tf.reshape(tf.matMul(tf.oneHot(tf.reshape(ids, [-1]), V), E), [B, T, I]) as T3, fused);
    try {
      // data: the backward skips ∂x, nothing is recomputed, the parameter gradients are right
      let before = internal.fusedProfile();
      const fromData = tf.variableGrads(() => loss(data, true));
      let after = internal.fusedProfile();
      assert.equal(after.dxSkipped - before.dxSkipped, 1);
      assert.equal(after.recomputes - before.recomputes, 0);
      const wantData = tf.variableGrads(() => loss(data, false));
      for (const k of Object.keys(wantData.grads)) {
        assert.ok(seqlab.scaledError(fromData.grads[k].dataSync(), wantData.grads[k].dataSync()) < 2e-6, `∂${k}`);
      }
      // an embedding: x is an op's output on the tape, so ∂x is computed and reaches E
      before = internal.fusedProfile();
      const fromEmbedding = tf.variableGrads(embedded(true));
      after = internal.fusedProfile();
      assert.equal(after.dxSkipped - before.dxSkipped, 0);
      const wantEmbedding = tf.variableGrads(embedded(false));
      const dE = fromEmbedding.grads[E.name].dataSync();
      assert.ok(dE.some((v) => v !== 0));
      assert.ok(seqlab.scaledError(dE, wantEmbedding.grads[E.name].dataSync()) < 2e-6, "∂E");
      // tf.grads with x among its inputs: x is a leaf, so ∂x comes from a recompute
      before = internal.fusedProfile();
      const [dx] = tf.grads((x: Tensor) => loss(x as T3, true))([data]);
      after = internal.fusedProfile();
      assert.equal(after.recomputes - before.recomputes, 1);
      const [wantDx] = tf.grads((x: Tensor) => loss(x as T3, false))([data]);
      assert.ok(seqlab.scaledError(dx.dataSync(), wantDx.dataSync()) < 2e-6, "∂x");
      assert.equal(internal.fusedMemory().liveBlocks, 0);
      tf.dispose([dx, wantDx, fromData.value, wantData.value, fromEmbedding.value, wantEmbedding.value]);
      tf.dispose([
        ...Object.values(fromData.grads),
        ...Object.values(wantData.grads),
        ...Object.values(fromEmbedding.grads),
        ...Object.values(wantEmbedding.grads),
      ]);
    } finally {
      tf.dispose([E0, E, ids, data, ...Object.values(vars), ...Object.values(p)]);
    }
  });

  it("trains 1,000 Adam steps with flat tf.memory().numTensors and flat wasm memory; no block outlives its step", () => {
    const [B, T, I, H, K] = [4, 6, 3, 10, 3];
    const params = seqlab.initLstm({ inputSize: I, hiddenSize: H, seed: 5 });
    const vars = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, tf.variable(v as Tensor)])) as unknown as seqlab.LstmParams;
    const V = tf.tidy(() => tf.variable(tf.randomNormal([H, K], 0, 0.3, "float32", 1)));
    const rng = new seqlab.Rng(6);
    const x = internal.normalTensor<seqlab.tf.Rank.R3>([B, T, I], 1, rng) as T3;
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 1], "int32"), K));
    const mask = tf.tensor2d([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0], [B, T]);
    const opt = tf.train.adam(1e-2);
    const loss = () => {
      const r = seqlab.unroll(seqlab.lstmCell, vars, x, { mask, returnSequences: false });
      return tf.losses.softmaxCrossEntropy(y, tf.matMul(r.state.h, V)) as seqlab.tf.Scalar;
    };
    try {
      const { first, last } = trainFlat(opt, loss, 1000, 100);
      assert.ok(last < first * 0.5, `the loss did not fall: ${first} → ${last}`);
    } finally {
      opt.dispose();
      tf.dispose([x, y, mask, V, ...Object.values(vars), ...Object.values(params)]);
    }
  });

  it("releaseFusedMemory drops the kernel instances; the next call starts afresh", () => {
    const p = seqlab.initRnn({ inputSize: 2, hiddenSize: 3, seed: 1 });
    const x = tf.ones([1, 2, 2]) as T3;
    try {
      const a = seqlab.unroll(seqlab.rnnCell, p, x);
      internal.releaseFusedMemory();
      assert.equal(internal.fusedMemory().bytes, 0);
      const b = seqlab.unroll(seqlab.rnnCell, p, x);
      assert.ok(internal.fusedMemory().bytes > 0);
      assert.deepEqual(Array.from(a.outputs.dataSync()), Array.from(b.outputs.dataSync()));
      seqlab.disposeAll(a, b);
    } finally {
      tf.dispose([x, ...Object.values(p)]);
    }
  });
  it("a call too big for the kernels' memory says what it needs and the limit, leaves the heap as it was, and a smaller call then works", () => {
    // LSTM, B = 512, T = 1000, H = 1024: the gates alone are 512·1000·4096 floats = 8 GB > wasm32's 4 GB.
    const p = seqlab.initLstm({ inputSize: 1, hiddenSize: 1024, seed: 1, peepholes: false });
    const big = tf.zeros([512, 1000, 1]) as T3;
    const small = tf.ones([2, 3, 1]) as T3;
    try {
      const before = internal.fusedMemory();
      assert.throws(
        () => seqlab.unroll(seqlab.lstmCell, p, big, { fused: "scalar" }),
        (e: Error) =>
          e instanceof RangeError &&
          /unroll\(lstm\): the forward of B=512, T=1000, I=1, H=1024 needs \d+ MB of the fused kernels' memory/.test(e.message) &&
          /wasm32 limit 4096 MB/.test(e.message) &&
          /Smaller calls still work/.test(e.message),
      );
      assert.equal(internal.fusedMemory().usedBytes, before.usedBytes, "the failed call holds no memory");
      const r = seqlab.unroll(seqlab.lstmCell, p, small, { fused: "scalar" });
      const ref = seqlab.unroll(seqlab.lstmCell, p, small, { fused: false });
      assert.ok(internal.maxAbsError(Array.from(r.outputs.dataSync()), Array.from(ref.outputs.dataSync())) < 1e-5);
      seqlab.disposeAll(r, ref);
    } finally {
      tf.dispose([big, small, ...Object.values(p)]);
    }
  });
});

describe("fused path: configuration and tfjs internals", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  /** Runs `f` with the environment variable `name` set to `value`, then restores it. */
  function withEnv(name: string, value: string, f: () => void): void {
    const old = process.env[name];
    process.env[name] = value;
    try {
      f();
    } finally {
      if (old === undefined) delete process.env[name];
      else process.env[name] = old;
    }
  }

  it("SEQLAB_FUSED and SEQLAB_THREADS accept their documented values and reject others, naming the variable, the values and what came", () => {
    const p = seqlab.initRnn({ inputSize: 2, hiddenSize: 3, seed: 1 });
    const x = tf.ones([1, 2, 2]) as T3;
    const calls = (value: string) => {
      const before = internal.fusedProfile().forwardCalls;
      withEnv("SEQLAB_FUSED", value, () => seqlab.disposeAll(seqlab.unroll(seqlab.rnnCell, p, x)));
      return internal.fusedProfile().forwardCalls - before;
    };
    try {
      for (const v of ["0", "off", "FALSE"]) assert.equal(calls(v), 0, `SEQLAB_FUSED=${v}`);
      for (const v of ["", "1", "on", "true", "auto", "relaxed", " SIMD ", "scalar"]) assert.equal(calls(v), 1, `SEQLAB_FUSED=${v}`);
      const expected = (name: string, got: string) => (e: unknown) =>
        e instanceof internal.FusedOptionError &&
        e.variable === name &&
        e.got === got &&
        e.message.startsWith(`${name}: expected one of "`) &&
        e.message.endsWith(`got "${got}"`);
      assert.throws(() => calls("fast"), expected("SEQLAB_FUSED", "fast"));
      assert.match(
        String(tryCatch(() => calls("fast"))),
        /SEQLAB_FUSED: expected one of "0", "off", "false", "1", "on", "true", "auto", "relaxed", "simd", "scalar", got "fast"/,
      );
      withEnv("SEQLAB_THREADS", "3", () => assert.throws(() => internal.requestedThreads(), expected("SEQLAB_THREADS", "3")));
      withEnv("SEQLAB_THREADS", "auto", () => assert.doesNotThrow(() => internal.requestedThreads()));
      withEnv("SEQLAB_THREADS", "1", () => assert.equal(internal.requestedThreads(), 1));
    } finally {
      tf.dispose([x, ...Object.values(p)]);
    }
  });

  it("every private tfjs internal the fused op reads is there in this tfjs (checkTfjsInternals passes)", () => {
    assert.deepEqual(internal.missingTfjsInternals(), []);
    assert.doesNotThrow(() => internal.checkTfjsInternals());
  });

  it("offTape runs ops off the gradient tape: what it returns is a constant to tf.grads, and tfjs records none of its ops", () => {
    const init = tf.tensor1d([1, -2, 3]);
    const v = tf.variable(init);
    const twice = () => tf.mul(v, 2);
    const grad = (f: () => Tensor) =>
      tf.tidy(() =>
        Array.from(
          tf
            .grad((x: Tensor) => tf.sum(tf.mul(x, f())))(v)
            .dataSync(),
        ),
      );
    const gradV = (run: (fn: () => Tensor) => Tensor) => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(v, run(twice))) as seqlab.tf.Scalar, [v]);
      const g = Array.from(grads[v.name].dataSync());
      tf.dispose([value, ...Object.values(grads)]);
      return g;
    };
    assert.deepEqual(
      gradV((fn) => fn()),
      [4, -8, 12],
    ); // Σ 2v²: ∂ = 4v
    assert.deepEqual(gradV(internal.offTape), [2, -4, 6]); // Σ v · const(2v): ∂ = 2v
    assert.deepEqual(
      grad(() => internal.offTape(twice)),
      [2, -4, 6],
    );
    assert.equal(
      tf.tidy(() => internal.offTape(() => tf.sum(v).dataSync()[0])),
      2,
    ); // outside a tape it is plain
    assert.throws(() => internal.offTape(() => assert.fail("inner")), /inner/);
    assert.deepEqual(
      gradV((fn) => fn()),
      [4, -8, 12],
    ); // the tape records again after a throw
    tf.dispose([init, v]);
  });

  it("reads a float32 tensor in place from tfjs-wasm's memory (wasmTensorView = dataSync, no copy); null for int32", () => {
    assert.equal(tf.getBackend(), "wasm", "the tests run on tfjs-backend-wasm here");
    tf.tidy(() => {
      const t = tf.randomNormal([3, 5]);
      const view = internal.wasmTensorView(t);
      assert.ok(view, "tfjs-backend-wasm's dataIdMap and HEAPU8 are where the fused path reads them");
      assert.deepEqual(Array.from(view), Array.from(t.dataSync()));
      // in place: tfjs's own memory, not a copy
      const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8;
      assert.equal(view.buffer, heap.buffer);
      assert.equal(internal.wasmTensorView(tf.tensor1d([1, 2], "int32")), null);
    });
  });

  it("a tfjs without one of them fails the check with an error naming it and the tfjs version", () => {
    const real = tf.engine() as unknown as { state: object };
    const version = tf.version_core;
    const names = (missing: string[]) => (e: unknown) =>
      e instanceof internal.TfjsInternalsError &&
      e.tfjsVersion === version &&
      e.message.includes(`@tensorflow/tfjs-core ${version}`) &&
      assert.deepEqual(e.missing, missing) === undefined &&
      missing.every((m) => e.message.includes(m));
    // the real engine's state (recorded by a real tf.grad) without runKernelFunc
    assert.throws(() => internal.checkTfjsInternals({ state: real.state }), names(["engine().runKernelFunc"]));
    // an engine whose tape is not kept where the op looks for it
    const noTape = { runKernelFunc() {}, state: { gradientDepth: 1, kernelDepth: 0 } };
    assert.throws(() => internal.checkTfjsInternals(noTape, (look) => look(null)), names(["engine().state.activeTape"]));
    // an engine without a state: everything the op reads from it
    assert.throws(
      () => internal.checkTfjsInternals({ runKernelFunc() {} }, (look) => look(null)),
      names([...internal.TFJS_INTERNALS].filter((k) => k !== "engine().runKernelFunc")),
    );
    // a fake engine that has them all passes
    const fake = { runKernelFunc() {}, state: { gradientDepth: 1, kernelDepth: 0, activeTape: [{ outputs: [] }] } };
    assert.deepEqual(
      internal.missingTfjsInternals(fake, (look) => look(null)),
      [],
    );
  });
});

function tryCatch(f: () => void): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("wasm kernel pieces: gemmTN, σ/tanh, the block heap", () => {
  before(async () => {
    await seqlab.initBackend();
  });

  for (const variant of ["relaxed", "simd", "scalar"] as const) {
    // K = 600 and 300: more than one block of K rows (and of the packed panels), with a ragged
    // last block; [22, 270, 300]: two blocks of B's columns (256 + 8, then 6 ragged ones) and
    // a last group of packed rows of C that is not full (8 + 8 + 4, then 2 ragged rows)
    for (const [M, N, K] of [
      [1, 1, 1],
      [4, 8, 3],
      [5, 9, 7],
      [12, 20, 33],
      [3, 2, 1],
      [13, 19, 600],
      [22, 270, 300],
    ]) {
      it(`${variant} gemmTN = tf.matMul(a, b, transposeA) for A [${K}, ${M}], B [${K}, ${N}], accumulating`, () => {
        const k = internal.loadKernels(variant);
        const arena = new internal.WasmArena(k);
        const rng = new seqlab.Rng(M * 100 + N * 10 + K);
        const a = Float32Array.from({ length: K * M }, () => rng.uniform(-1, 1));
        const b = Float32Array.from({ length: K * N }, () => rng.uniform(-1, 1));
        const c0 = Float32Array.from({ length: M * N }, () => rng.uniform(-1, 1));
        const pa = arena.put(a);
        const pb = arena.put(b);
        const pc = arena.put(c0);
        k.exports.gemmTN(M, N, K, pa, M, pb, N, pc, N, 1);
        const got = arena.f32(pc, M * N);
        const want = tf.tidy(() =>
          tf.add(tf.tensor2d(c0, [M, N]), tf.matMul(tf.tensor2d(a, [K, M]), tf.tensor2d(b, [K, N]), true, false)).dataSync(),
        );
        assert.ok(internal.maxAbsError(got, want) < 1e-5 * Math.sqrt(K), `max error ${internal.maxAbsError(got, want)}`);
      });
    }

    it(`${variant} sigmoid and tanh agree with float64 to ~2e−7 (relative to max(|f|, 1e−3)) on [−100, 100], never NaN/Inf`, () => {
      const k = internal.loadKernels(variant);
      const arena = new internal.WasmArena(k);
      const n = 20001;
      const xs = Float32Array.from({ length: n }, (_, i) => (i < 20000 ? -20 + (40 * i) / 20000 : 0));
      xs.set([-100, 100, -88.7, 88.7, 1e-6, -1e-6, 0.6249, 0.6251], 0);
      const ps = arena.put(xs);
      const pt = arena.put(xs);
      k.exports.sigmoidArray(ps, n);
      k.exports.tanhArray(pt, n);
      const s = arena.f32(ps, n);
      const t = arena.f32(pt, n);
      let es = 0;
      let et = 0;
      for (let i = 0; i < n; i++) {
        const x = xs[i];
        assert.ok(Number.isFinite(s[i]) && Number.isFinite(t[i]), `non-finite at x = ${x}`);
        es = Math.max(es, Math.abs(s[i] - 1 / (1 + Math.exp(-x))) / Math.max(1e-3, 1 / (1 + Math.exp(-x))));
        et = Math.max(et, Math.abs(t[i] - Math.tanh(x)) / Math.max(1e-3, Math.abs(Math.tanh(x))));
      }
      assert.ok(es < 5e-7, `sigmoid error ${es}`);
      assert.ok(et < 5e-7, `tanh error ${et}`);
    });
  }

  it("WasmHeap reuses freed blocks in any order, merges neighbours, and grows only when nothing fits", () => {
    const k = internal.instantiateKernels("simd");
    const heap = new internal.WasmHeap(k.exports.memory, k.exports.heapBase());
    const a = heap.alloc(1000);
    const b = heap.alloc(3 << 20);
    const c = heap.alloc(10);
    assert.equal(a % 64, 0);
    assert.ok(b >= a + 1000 && c >= b + (3 << 20));
    const size = k.exports.memory.buffer.byteLength;
    assert.ok(size >= c + 10);
    heap.release(a);
    heap.release(b); // a and b merge into one free block
    const d = heap.alloc((3 << 20) + 1000); // fits in the merged block
    assert.equal(d, a);
    assert.equal(k.exports.memory.buffer.byteLength, size);
    heap.release(heap.alloc(1 << 20)); // nothing free fits: grows once
    const grown = k.exports.memory.buffer.byteLength;
    assert.ok(grown > size);
    for (let i = 0; i < 100; i++) heap.release(heap.alloc(1 << 20));
    assert.equal(k.exports.memory.buffer.byteLength, grown, "memory grew although blocks were reused");
    heap.release(c);
    heap.release(d);
    assert.equal(heap.usedBytes, 0);
    assert.equal(heap.blocks, 0);
    assert.throws(() => heap.release(d), /WasmHeap.release: no block at/);
  });
});

/** Odd sizes for the threaded products: columns split in multiples of 8 with a ragged last chunk, B·T ≥ 64 split by rows, B = 1, T = 1. */
const THREAD_CASES: Case[] = [
  { B: 9, T: 7, I: 5, H: 13, mask: true, initial: true },
  { B: 33, T: 3, I: 17, H: 21, reverse: true },
  { B: 1, T: 1, I: 3, H: 24, initial: true },
  { B: 4, T: 20, I: 6, H: 40, returnSequences: false, mask: true },
];

const twoThreadCache = new Map<internal.FusedVariant, boolean>();

/**
 * Whether this machine runs the fused kernels of `build` on two threads when asked: at
 * least 2 CPUs and a runtime with shared wasm memory for the build's threads variant.
 * Elsewhere the engine runs on one thread, and the results are the same.
 */
function twoThreadsPossible(build: internal.FusedVariant): boolean {
  let yes = twoThreadCache.get(build);
  if (yes === undefined) {
    const cpus = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
    yes = cpus >= 2 && internal.instantiateSharedKernels(build) !== null;
    twoThreadCache.set(build, yes);
  }
  return yes;
}

describe("fused kernels on two threads (worker_threads + shared wasm memory)", function () {
  this.timeout(120_000);
  before(async () => {
    await seqlab.initBackend();
  });
  after(() => {
    internal.setFusedThreads(undefined);
    internal.releaseFusedMemory();
  });
  assertNoTensorLeaks();

  /** `run` with a SIMD build (args[4]) on n threads, every product split (minParallelWork 0) when n = 2. */
  function onThreads(n: 1 | 2, ...args: Parameters<typeof run>) {
    internal.setFusedThreads(n, 0);
    internal.releaseFusedMemory();
    try {
      const r = run(...args);
      const build = args[4] as internal.FusedVariant;
      const want = n === 2 && twoThreadsPossible(build) ? 2 : 1;
      assert.equal(internal.fusedMemory(build).threads, want, `the engine runs on ${want} thread(s)`);
      return r;
    } finally {
      internal.setFusedThreads(undefined);
      internal.releaseFusedMemory();
    }
  }

  CELLS.forEach((entry, ci) => {
    THREAD_CASES.forEach((c, k) => {
      it(`${entry.label}: 2 threads = 1 thread bit for bit (relaxed and simd builds), and = reference — ${label(c)}`, () => {
        const params = entry.init(c.I, c.H, 40 + k) as unknown as AnyParams;
        const data = inputs(c, 300 + 7 * ci + k);
        try {
          for (const build of ["relaxed", "simd"] as const) {
            const one = onThreads(1, ci, params, c, data, build);
            const two = onThreads(2, ci, params, c, data, build);
            assert.equal(two.loss, one.loss);
            for (const part of ["forward", "grads"] as const) {
              for (const [key, v] of Object.entries(one[part])) {
                assert.deepEqual(Array.from(two[part][key]), Array.from(v), `${part} ${key}: 2 threads ≠ 1 thread`);
              }
            }
            const reference = run(ci, params, c, data, false);
            assertSame(two, reference, 2e-6, `2 threads (${build}) vs reference`);
          }
        } finally {
          data.dispose();
          tf.dispose(Object.values(params));
        }
      });
    });
  });

  it("trains 300 Adam steps on 2 threads with flat tensors and flat wasm memory; releaseFusedMemory stops the worker", () => {
    const [B, T, I, H, K] = [8, 12, 5, 24, 3];
    internal.setFusedThreads(2, 0);
    internal.releaseFusedMemory();
    const params = seqlab.initGruPytorch({ inputSize: I, hiddenSize: H, seed: 5 });
    const vars = Object.fromEntries(
      Object.entries(params).map(([k, v]) => [k, tf.variable(v as Tensor)]),
    ) as unknown as seqlab.GruPytorchParams;
    const V = tf.tidy(() => tf.variable(tf.randomNormal([H, K], 0, 0.3, "float32", 1)));
    const x = internal.normalTensor<seqlab.tf.Rank.R3>([B, T, I], 1, new seqlab.Rng(6)) as T3;
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 1, 0, 1, 2, 1], "int32"), K));
    const opt = tf.train.adam(1e-2);
    const loss = () => {
      const r = seqlab.unroll(seqlab.gruPytorchCell, vars, x, { returnSequences: false });
      return tf.losses.softmaxCrossEntropy(y, tf.matMul(r.state.h, V)) as seqlab.tf.Scalar;
    };
    try {
      const two = twoThreadsPossible(internal.kernelBuild());
      const { first, last } = trainFlat(opt, loss, 300, 50, () => assert.equal(internal.fusedMemory().threads, two ? 2 : 1));
      assert.ok(last < first * 0.5, `the loss did not fall: ${first} → ${last}`);
      // 300 steps with every product split: the worker claims chunks (unless the machine has one thread)
      assert.equal(internal.fusedMemory().workerChunks > 0, two, "chunks computed by the worker");
      internal.releaseFusedMemory();
      assert.equal(internal.fusedMemory().threads, 0);
    } finally {
      internal.setFusedThreads(undefined);
      internal.releaseFusedMemory();
      opt.dispose();
      tf.dispose([x, y, V, ...Object.values(vars), ...Object.values(params)]);
    }
  });

  it('"auto" starts a worker only for large problems and, switching between 1 and 2 threads by timing, gives the 1-thread results bit for bit', () => {
    const small: Case = { B: 2, T: 3, I: 4, H: 8 };
    const large: Case = { B: 16, T: 6, I: 8, H: 64, mask: true }; // B·4H·H = 262,144 multiply-adds per step
    const entry = CELLS.find((e) => e.label.startsWith("lstm"))!;
    const ci = CELLS.indexOf(entry);
    for (const c of [small, large]) {
      const params = entry.init(c.I, c.H, 7) as unknown as AnyParams;
      const data = inputs(c, 77);
      try {
        const one = onThreads(1, ci, params, c, data, "relaxed");
        internal.setFusedThreads("auto");
        internal.releaseFusedMemory();
        internal.resetFusedProfile();
        for (let i = 0; i < 20; i++) {
          const auto = run(ci, params, c, data, "relaxed"); // each run: 2 forwards and a backward, on 1 or 2 threads
          assert.equal(auto.loss, one.loss);
          for (const [key, v] of Object.entries(one.grads)) assert.deepEqual(Array.from(auto.grads[key]), Array.from(v), `∂${key}`);
        }
        assert.equal(internal.fusedMemory().threads, c === large && twoThreadsPossible("relaxed") ? 2 : 1);
        // what "auto" reports: nothing for the small problem (no worker); for the large, each
        // kind of call tried on both counts (it alternates at first), every call counted
        const choices = internal.fusedThreadChoices("relaxed");
        if (c === small || !twoThreadsPossible("relaxed")) assert.deepEqual(choices, []);
        else {
          const bwd = choices.filter((k) => k.key.includes(" bwd "));
          assert.equal(bwd.length, 1, JSON.stringify(choices));
          assert.equal(bwd[0].runs[0] + bwd[0].runs[1], internal.fusedProfile().backwardCalls);
          for (const k of choices) {
            assert.ok(k.runs[0] >= 3 && k.runs[1] >= 3, JSON.stringify(k));
            assert.ok(
              k.bestMs.every((ms) => ms > 0 && Number.isFinite(ms)),
              JSON.stringify(k),
            );
            assert.equal(k.choice, k.bestMs[0] <= k.bestMs[1] ? 1 : 2);
          }
        }
      } finally {
        internal.setFusedThreads(undefined);
        internal.releaseFusedMemory();
        data.dispose();
        tf.dispose(Object.values(params));
      }
    }
  });

  it("SEQLAB_THREADS=2 runs on two threads, and the worker does not keep the process alive", () => {
    // on two threads, runs until the worker has taken a chunk (at most 30 s: it takes one only when the OS runs it in time)
    const script = `
      const seqlab = require("seqlab");
      const internal = require("seqlab/internal");
      seqlab.initBackend().then(() => {
        const p = seqlab.initLstm({ inputSize: 16, hiddenSize: 64, seed: 1 });
        const x = seqlab.tf.ones([16, 10, 16]);
        const t0 = Date.now();
        do {
          const r = seqlab.unroll(seqlab.lstmCell, p, x);
          r.outputs.dataSync();
          seqlab.disposeAll(r);
        } while (internal.fusedMemory().threads === 2 && internal.fusedMemory().workerChunks === 0 && Date.now() - t0 < 30000);
        console.log(JSON.stringify({ threads: internal.fusedMemory().threads, worked: internal.fusedMemory().workerChunks > 0 }));
      });`;
    const r = spawnSync(process.execPath, ["-e", script], {
      encoding: "utf-8",
      timeout: 90_000,
      env: { ...process.env, SEQLAB_THREADS: "2" },
    });
    assert.equal(r.error, undefined, `the process did not exit: ${r.error}`);
    assert.equal(r.status, 0, r.stderr);
    const two = twoThreadsPossible(internal.kernelBuild());
    assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").pop()!), { threads: two ? 2 : 1, worked: two });
  });
});
