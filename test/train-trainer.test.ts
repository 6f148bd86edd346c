/**
 * The trainer on small models written against the Trainable contract: loss falls by a
 * stated factor, seeded runs repeat exactly, tf.memory().numTensors stays flat over 200
 * steps, optimizers and clipping give hand-computed numbers, early stopping puts back the
 * best epoch's weights, truncated BPTT hands each chunk the previous chunk's final state,
 * a NaN loss stops at a named step with the last good weights, Interrupt (a fake kernel
 * bridge) stops at the end of a step, and checkpoints round-trip.
 */
import { strict as assert } from "node:assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks } from "./helpers/memory";
import { fakeKernel, linearModel, rnnTagger, sequenceRegressor } from "./train-helpers";

const { tf } = seqlab;
type Batch = seqlab.Batch;

/** Linear-regression batches: y = x·w* + 0.5, x ~ N(0, 1), I = 3. */
function linearData(n: number, B: number, seed: number): Batch[] {
  const rng = new seqlab.Rng(seed);
  const wStar = [1.5, -2, 0.5];
  return Array.from({ length: n }, () => {
    const x = Array.from({ length: B }, () => wStar.map(() => rng.normal()));
    const y = x.map((r) => [r.reduce((s, v, i) => s + v * wStar[i], 0.5)]);
    return { x: tf.tensor2d(x), y: tf.tensor2d(y) };
  });
}

function disposeBatches(batches: Batch[]): void {
  batches.forEach(internal.disposeBatch);
}

function weights(model: seqlab.Trainable): Record<string, number[]> {
  return Object.fromEntries(Object.entries(model.variables).map(([k, v]) => [k, Array.from(v.dataSync())]));
}

describe("trainer", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  it("linear regression: the loss falls by more than 1000× in 20 epochs of SGD", async () => {
    const data = linearData(10, 16, 1);
    const model = linearModel(3, 1);
    const h = await seqlab.fit(model, { data, epochs: 20, optimizer: { name: "sgd", learningRate: 0.1 }, progress: false });
    assert.equal(h.epochs, 20);
    assert.equal(h.steps, 200);
    assert.equal(h.stepLoss.length, 200);
    assert.ok(h.loss[0] / h.loss[19] > 1000, `loss ${h.loss[0]} → ${h.loss[19]}`);
    assert.equal(h.stopped?.reason, "completed");
    const w = weights(model);
    assert.ok(Math.abs(w.W[0] - 1.5) < 1e-2 && Math.abs(w.W[1] + 2) < 1e-2 && Math.abs(w.b[0] - 0.5) < 1e-2, JSON.stringify(w));
    model.dispose();
    disposeBatches(data);
  });

  it("adding problem, T = 10: a small LSTM's validation MSE falls below a third of the 0.167 baseline", async function () {
    this.timeout(60_000);
    const model = sequenceRegressor("lstm", 2, 16, 3);
    const validation = Array.from(seqlab.addingBatches({ length: 10, batchSize: 256, batches: 1, seed: 99 }));
    const h = await seqlab.fit(model, {
      data: (_epoch, rng) => seqlab.addingBatches({ length: 10, batchSize: 32, batches: 50, seed: rng.int(2 ** 31) }),
      validation,
      epochs: 8,
      optimizer: { name: "adam", learningRate: 0.01 },
      clip: { globalNorm: 1 },
      progress: false,
    });
    const last = h.valLoss[h.valLoss.length - 1];
    assert.ok(h.valLoss[0] > 0.05, `first epoch already ${h.valLoss[0]}`);
    assert.ok(last < seqlab.ADDING_BASELINE_MSE / 3, `validation MSE ${h.valLoss.map((v) => v.toFixed(4)).join(" ")}`);
    model.dispose();
    disposeBatches(validation);
  });

  it("the same seed gives the same history; another seed a different one", async () => {
    const run = async (seed: number) => {
      const data = linearData(6, 8, 2);
      const model = linearModel(3, 5);
      const h = await seqlab.fit(model, { data, epochs: 3, seed, optimizer: "adam", progress: false });
      model.dispose();
      disposeBatches(data);
      return h;
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    assert.deepEqual(a.stepLoss, b.stepLoss);
    assert.deepEqual(a.loss, b.loss);
    assert.notDeepEqual(a.stepLoss, c.stepLoss, "a different seed shuffles the batches differently");
  });

  it("tf.memory().numTensors is the same after 200 steps as after 20 (RNN tagger, TBPTT, clipping, validation, early stopping)", async function () {
    this.timeout(60_000);
    const rng = new seqlab.Rng(4);
    const mk = () => ({
      x: internal.normalTensor<seqlab.tf.Rank.R3>([4, 8, 3], 1, rng),
      y: tf.tensor2d(
        Array.from({ length: 32 }, () => rng.int(2)),
        [4, 8],
        "int32",
      ),
    });
    const data = [mk(), mk()];
    const validation = [mk()];
    const model = rnnTagger(3, 6, 2, 1);
    const counts: number[] = [];
    await seqlab.fit(model, {
      data,
      validation,
      epochs: 50,
      tbptt: { chunk: 4, acrossBatches: true },
      clip: { globalNorm: 1, value: 0.5 },
      earlyStopping: { patience: 100 },
      teacherForcing: seqlab.linearSchedule({ steps: 100 }),
      callbacks: [{ onStep: (log) => void (log.step % 20 === 0 && counts.push(tf.memory().numTensors)) }],
      progress: false,
    });
    assert.equal(counts.length, 10, "200 steps");
    assert.ok(
      counts.every((n) => n === counts[0]),
      `numTensors at steps 20, 40, …, 200: ${counts.join(" ")}`,
    );
    model.dispose();
    disposeBatches([...data, ...validation]);
  });

  it("adam: seqlab's one-pass update gives tfjs's Adam bit for bit (weights, moments, β₁ᵗ) over 30 steps, in a dozen fewer kernels per weight", async () => {
    const rng = new seqlab.Rng(4);
    const shapes = [[7, 5], [5], [1]];
    // values over many magnitudes, zeros and a tiny gradient: every rounding shows
    const draw = (shape: number[], step: number, j: number) =>
      tf.tensor(
        Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, k) =>
          k % 11 === 0 ? 0 : rng.normal() * 10 ** (((k + step + j) % 7) - 4),
        ),
        shape,
      );
    const tensorsBefore = tf.memory().numTensors;
    let tensorsAfterFirstStep = 0; // the moments are made on the first step
    const ours = tf.tidy(() => shapes.map((shape, j) => tf.variable(draw(shape, -1, j), true, `adam_seqlab_${j}`)));
    const theirs = tf.tidy(() => ours.map((v, j) => tf.variable(v.clone(), true, `adam_tfjs_${j}`)));
    const config = { name: "adam" as const, learningRate: 0.01, beta1: 0.8, beta2: 0.99, epsilon: 1e-6 };
    const mine = internal.makeOptimizer(config);
    const reference = tf.train.adam(config.learningRate, config.beta1, config.beta2, config.epsilon);
    assert.ok(mine instanceof tf.AdamOptimizer);
    let kernels: number[] = [];
    for (let step = 0; step < 30; step++) {
      const grads = shapes.map((shape, j) => draw(shape, step, j));
      // a map on odd steps, a list on even ones; the last weight's gradient missing on step 3
      const skip = (j: number) => step === 3 && j === 2;
      const apply = (opt: seqlab.tf.Optimizer, vars: seqlab.tf.Variable[]) =>
        step % 2
          ? opt.applyGradients(Object.fromEntries(vars.flatMap((v, j) => (skip(j) ? [] : [[v.name, grads[j]]]))))
          : opt.applyGradients(vars.map((v, j) => ({ name: v.name, tensor: grads[j] })));
      // On step 5 a reshape shares weight 0's memory: it must keep its values, so weight 0 takes
      // new memory (as tfjs's assign gives it); the others are written in place.
      const alias = step === 5 ? tf.reshape(ours[0], [35]) : null;
      const aliasBefore = alias ? Array.from(alias.dataSync()) : [];
      const dataIds = ours.map((v) => v.dataId);
      // (tf.profile returns the same object each time: read each count before the next profile)
      const ka = (await tf.profile(() => apply(mine, ours))).kernels.length;
      const kb = (await tf.profile(() => apply(reference, theirs))).kernels.length;
      kernels = [ka, kb];
      ours.forEach((v, j) => assert.deepEqual(Array.from(v.dataSync()), Array.from(theirs[j].dataSync()), `step ${step}, weight ${j}`));
      ours.forEach((v, j) => assert.equal(v.dataId === dataIds[j], !(alias && j === 0), `step ${step}, weight ${j}: in place?`));
      if (alias) {
        assert.deepEqual(Array.from(alias.dataSync()), aliasBefore, "a reshape of a weight changed with it");
        alias.dispose();
      }
      tf.dispose(grads);
      if (step === 0) tensorsAfterFirstStep = tf.memory().numTensors;
      assert.equal(tf.memory().numTensors, tensorsAfterFirstStep, `tensors after step ${step}`);
    }
    const wrong = tf.zeros([5, 7]);
    assert.throws(
      () => mine.applyGradients([{ name: ours[0].name, tensor: wrong }]),
      /Adam\.applyGradients: the gradient of "adam_seqlab_0" has shape \[5, 7\], the weight \[7, 5\]/,
    );
    wrong.dispose();
    const [mw, rw] = [await mine.getWeights(), await reference.getWeights()];
    assert.deepEqual(
      mw.map((w) => Array.from(w.tensor.dataSync())),
      rw.map((w) => Array.from(w.tensor.dataSync())),
    ); // iterations, then every m and v
    const acc = (o: seqlab.tf.Optimizer) => (o as unknown as { accBeta1: seqlab.tf.Tensor }).accBeta1.dataSync()[0];
    assert.equal(acc(mine), acc(reference));
    assert.ok(kernels[0] <= 2 && kernels[1] >= 12 * shapes.length, `kernels per step: ${kernels}`);
    tf.dispose(mw.slice(0, 1).map((w) => w.tensor));
    tf.dispose(rw.slice(0, 1).map((w) => w.tensor));
    mine.dispose();
    reference.dispose();
    tf.dispose([...ours, ...theirs]);
    assert.equal(tf.memory().numTensors, tensorsBefore, "tensors left behind");
  });

  it("optimizers: two steps on a constant gradient g give the hand-computed weights", async () => {
    const g = [0.5, -1, 2];
    const w0 = [1, -2, 3];
    const gradModel = (): seqlab.Trainable => {
      const init = tf.tensor1d(w0);
      const w = tf.variable(init, true);
      init.dispose();
      return {
        variables: { w },
        forward: () => tf.tidy(() => ({ loss: tf.sum(tf.mul(w, tf.tensor1d(g))) as seqlab.tf.Scalar, count: tf.scalar(1) })), // ∂L/∂w = g
        dispose: () => w.dispose(),
      };
    };
    const after2 = async (optimizer: seqlab.OptimizerConfig) => {
      const model = gradModel();
      const data = [{ x: tf.zeros([1, 1]), y: tf.zeros([1, 1]) }];
      await seqlab.fit(model, { data, epochs: 2, optimizer, progress: false });
      const w = Array.from(model.variables.w.dataSync());
      model.dispose();
      disposeBatches(data);
      return w;
    };
    const close = (got: number[], want: number[], what: string) =>
      got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `${what}: got [${got}], want [${want}]`));
    const eps = 1e-7;
    close(
      await after2({ name: "sgd", learningRate: 0.1 }),
      w0.map((w, i) => w - 2 * 0.1 * g[i]),
      "sgd",
    );
    // v1 = g, v2 = 0.9 g + g;  w2 = w0 − η (v1 + v2) = w0 − 0.29 g
    close(
      await after2({ name: "momentum", learningRate: 0.1, momentum: 0.9 }),
      w0.map((w, i) => w - 0.29 * g[i]),
      "momentum",
    );
    // constant g: m̂ = g, v̂ = g² at every step → w2 = w0 − 2η g/(|g| + ε)
    close(
      await after2({ name: "adam", learningRate: 0.1 }),
      w0.map((w, i) => w - (2 * 0.1 * g[i]) / (Math.abs(g[i]) + eps)),
      "adam",
    );
    // s1 = 0.1 g², s2 = 0.19 g²;  w2 = w0 − η g/√(s1 + ε) − η g/√(s2 + ε)
    close(
      await after2({ name: "rmsprop", learningRate: 0.1, decay: 0.9 }),
      w0.map((w, i) => w - (0.1 * g[i]) / Math.sqrt(0.1 * g[i] ** 2 + eps) - (0.1 * g[i]) / Math.sqrt(0.19 * g[i] ** 2 + eps)),
      "rmsprop",
    );
    assert.equal(internal.describeOptimizer("adam"), "adam(η=0.001, β₁=0.9, β₂=0.999, ε=1e-7)");
    assert.throws(
      () => internal.makeOptimizer({ name: "adagrad" } as unknown as seqlab.OptimizerConfig),
      /unknown name "adagrad".*sgd, momentum, adam, rmsprop/,
    );
    assert.throws(() => internal.makeOptimizer({ name: "sgd", learningRate: -1 }), /learningRate must be a number > 0, got -1/);
  });

  it("clipping: global norm vs per tensor vs by value, on gradients with norms 5 and 12 (global 13)", () => {
    const grads = { a: tf.tensor1d([3, 4]), b: tf.tensor1d([12]) };
    const arr = (gs: internal.Gradients) =>
      Object.fromEntries(Object.entries(gs).map(([k, t]) => [k, Array.from(t.dataSync()).map((v) => +v.toFixed(5))]));
    const n = seqlab.globalNorm(grads);
    assert.ok(Math.abs(n.dataSync()[0] - 13) < 1e-5);
    n.dispose();
    const global = seqlab.clipByGlobalNorm(grads, 6.5); // one factor 0.5: direction kept
    assert.equal(global.norm, 13);
    assert.deepEqual(arr(global.grads), { a: [1.5, 2], b: [6] });
    const perTensor = internal.clipByNorm(grads, 2.5); // a × 0.5, b × 2.5/12: direction turned
    assert.deepEqual(arr(perTensor), { a: [1.5, 2], b: [2.5] });
    const byValue = seqlab.clipByValue(grads, 3.5);
    assert.deepEqual(arr(byValue), { a: [3, 3.5], b: [3.5] });
    const under = seqlab.clipByGlobalNorm(grads, 100); // below the threshold: unchanged
    assert.deepEqual(arr(under.grads), { a: [3, 4], b: [12] });
    const both = internal.clipGradients(grads, { value: 3.5, globalNorm: 1 });
    assert.equal(both.norm, 13, "the norm reported is before clipping");
    const bn = seqlab.globalNorm(both.grads);
    assert.ok(Math.abs(bn.dataSync()[0] - 1) < 1e-5);
    assert.throws(() => seqlab.clipByGlobalNorm(grads, 0), /threshold must be a number > 0, got 0/);
    tf.dispose([
      ...Object.values(grads),
      ...Object.values(global.grads),
      ...Object.values(perTensor),
      ...Object.values(byValue),
      ...Object.values(under.grads),
      ...Object.values(both.grads),
      bn,
    ]);
  });

  it("teacher forcing: the schedule's ratio reaches forward at every step; evaluation gets training: false", async () => {
    const seen: { training: boolean; ratio?: number }[] = [];
    const inner = linearModel(3, 0);
    const model: seqlab.Trainable = {
      variables: inner.variables,
      forward(batch, options) {
        seen.push({
          training: options.training,
          ...(options.teacherForcingRatio !== undefined ? { ratio: options.teacherForcingRatio } : {}),
        });
        return inner.forward(batch, options);
      },
      dispose: () => inner.dispose(),
    };
    const data = linearData(3, 4, 3);
    const h = await seqlab.fit(model, {
      data,
      validation: data.slice(0, 1),
      epochs: 2,
      teacherForcing: seqlab.linearSchedule({ from: 1, to: 0, steps: 4 }),
      progress: false,
    });
    assert.deepEqual(
      seen.map((s) => (s.training ? s.ratio : "eval")),
      [1, 0.75, 0.5, "eval", 0.25, 0, 0, "eval"],
    );
    assert.deepEqual(h.teacherForcing, [1, 0.25]);
    assert.ok(Math.abs(seqlab.inverseSigmoidSchedule(10)(0) - 10 / 11) < 1e-12);
    assert.equal(seqlab.exponentialSchedule(0.5)(3), 0.125);
    model.dispose();
    disposeBatches(data);
  });

  it("truncated BPTT: each chunk starts from the previous chunk's final state (zeros at each batch unless acrossBatches)", async () => {
    const rng = new seqlab.Rng(5);
    const x = internal.normalTensor<seqlab.tf.Rank.R3>([2, 12, 3], 1, rng);
    const y = tf.tensor2d(
      Array.from({ length: 24 }, () => rng.int(2)),
      [2, 12],
      "int32",
    );
    const data = [
      { x, y },
      { x, y },
    ];
    const model = rnnTagger(3, 4, 2, 2);
    // The state chunk 1 hands on: h after x[:, 0:4] with the initial weights.
    const before = internal.snapshotWeights(model);
    const x1 = tf.slice(x, [0, 0, 0], [2, 4, 3]) as seqlab.tf.Tensor3D;
    const h1 = seqlab.unroll(seqlab.rnnCell, { U: before.U, W: before.W, b: before.b } as unknown as seqlab.RnnParams, x1, {
      returnSequences: false,
    });
    const want = Array.from(h1.state.h.dataSync());
    seqlab.disposeAll(h1, x1);
    const h = await seqlab.fit(model, {
      data,
      epochs: 1,
      shuffle: false,
      tbptt: { chunk: 4 },
      optimizer: { name: "sgd", learningRate: 0.1 },
      progress: false,
    });
    assert.equal(h.steps, 6, "2 batches × 3 chunks");
    const s = model.seenStates;
    assert.equal(s.length, 6);
    assert.equal(s[0], undefined);
    assert.deepEqual(
      s[1],
      want.map((v) => Math.fround(v)),
    );
    assert.ok(s[2] !== undefined && s[3] === undefined && s[4] !== undefined, "reset at the next batch");
    const carried = rnnTagger(3, 4, 2, 2);
    await seqlab.fit(carried, { data, epochs: 1, shuffle: false, tbptt: { chunk: 4, acrossBatches: true }, progress: false });
    assert.ok(
      carried.seenStates.slice(1).every((st) => st !== undefined),
      "acrossBatches carries into batch 2",
    );
    assert.equal(carried.seenStates[0], undefined);
    // a target without a time axis cannot be truncated
    const bad = [{ x, y: tf.zeros([2, 1]) }];
    const lin = linearModel(3);
    await assert.rejects(
      seqlab.fit(lin, { data: bad, tbptt: { chunk: 4 }, progress: false }),
      /tbptt: y has shape \[2, 1\] but x has T = 12 steps/,
    );
    lin.dispose();
    internal.disposeSnapshot(before);
    model.dispose();
    carried.dispose();
    tf.dispose([x, y, bad[0].y]);
  });

  it("a NaN loss stops training, names the step, and puts back the last good weights", async () => {
    const inner = linearModel(3, 0);
    let calls = 0;
    const model: seqlab.Trainable = {
      variables: inner.variables,
      forward(batch, options) {
        calls++;
        const r = inner.forward(batch, options);
        if (calls < 5) return r;
        const loss = tf.mul(r.loss, NaN) as seqlab.tf.Scalar; // step 5 goes wrong
        r.loss.dispose();
        return { ...r, loss };
      },
      dispose: () => inner.dispose(),
    };
    const data = linearData(10, 4, 6);
    const after: Record<number, Record<string, number[]>> = {};
    const err = await seqlab
      .fit(model, {
        data,
        epochs: 3,
        optimizer: { name: "sgd", learningRate: 0.05 },
        callbacks: [{ onStep: (log) => void (after[log.step] = weights(model)) }],
        progress: false,
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof seqlab.NonFiniteLossError, String(err));
    assert.equal(err.step, 5);
    assert.equal(err.epoch, 1);
    assert.match(
      err.message,
      /the loss is NaN at step 5 \(epoch 1, step 5 of the epoch\); training stopped; the weights were put back to those of step 4/,
    );
    assert.equal(err.history.steps, 4);
    // the weights that gave step 4's (finite) loss are those after step 3's update
    assert.deepEqual(weights(model), after[3]);
    // "stop" instead of throwing
    calls = 0;
    const h = await seqlab.fit(model, { data, epochs: 3, onNonFinite: "stop", progress: false });
    assert.equal(h.stopped?.reason, "non-finite");
    assert.equal(h.stopped?.step, 5);
    model.dispose();
    disposeBatches(data);
  });

  it("early stopping: stops after `patience` epochs without improvement and restores the best epoch's weights", async () => {
    // Train towards w = 2 (y = 2x); validate against y = x: the validation loss falls while
    // w approaches 1, then rises.
    const rng = new seqlab.Rng(8);
    const xs = Array.from({ length: 16 }, () => [rng.normal()]);
    const train = [{ x: tf.tensor2d(xs), y: tf.tensor2d(xs.map(([v]) => [2 * v])) }];
    const val = [{ x: tf.tensor2d(xs), y: tf.tensor2d(xs) }];
    const model = linearModel(1, 0);
    const zero = tf.zeros([1, 1]);
    model.variables.W.assign(zero);
    zero.dispose();
    const byEpoch: Record<number, Record<string, number[]>> = {};
    const h = await seqlab.fit(model, {
      data: train,
      validation: val,
      epochs: 100,
      optimizer: { name: "sgd", learningRate: 0.05 },
      earlyStopping: { patience: 3 },
      callbacks: [{ onEpoch: (log) => void (byEpoch[log.epoch] = weights(model)) }],
      progress: false,
    });
    const best = h.valLoss.indexOf(Math.min(...h.valLoss)) + 1;
    assert.equal(h.bestEpoch, best);
    assert.ok(best > 3, `best epoch ${best}`);
    assert.equal(h.epochs, best + 3, "stopped 3 epochs after the best");
    assert.equal(h.stopped?.reason, "early-stopping");
    assert.match(h.stopped!.message, new RegExp(`the weights of epoch ${best} were restored`));
    assert.deepEqual(weights(model), byEpoch[best]);
    assert.notDeepEqual(weights(model), byEpoch[h.epochs]);
    model.dispose();
    disposeBatches([...train, ...val]);
  });

  it("Interrupt (fake kernel bridge) stops at the end of the current step, keeping weights and history", async () => {
    const k = fakeKernel();
    try {
      const data = linearData(10, 4, 9);
      const model = linearModel(3, 0);
      let atStop: Record<string, number[]> = {};
      const h = await seqlab.fit(model, {
        data,
        epochs: 5,
        optimizer: { name: "sgd", learningRate: 0.05 },
        progress: false,
        callbacks: [
          {
            onStep: (log) => {
              if (log.step === 7) {
                k.bridge.interrupts++;
                atStop = weights(model);
              }
            },
          },
        ],
      });
      assert.equal(h.steps, 7);
      assert.equal(h.stepLoss.length, 7);
      assert.equal(h.epochs, 0, "the partial epoch is not counted");
      assert.equal(h.stopped?.reason, "interrupted");
      assert.match(h.stopped!.message, /interrupted at step 7 \(epoch 1\)/);
      assert.deepEqual(weights(model), atStop);
      assert.equal(k.bridge.cooperative, 0, "the run closed its interruptible token");
      // resume from the history: steps go on from 7
      const h2 = await seqlab.fit(model, { data, epochs: 1, history: h, progress: false });
      assert.equal(h2.steps, 17);
      assert.equal(h2.epochs, 1);
      model.dispose();
      disposeBatches(data);
    } finally {
      k.remove();
    }
  });

  it("save and load: weights and history round-trip exactly; wrong names or shapes throw, listing each", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-ckpt-"));
    try {
      const data = linearData(4, 8, 10);
      const model = linearModel(3, 1);
      const h = await seqlab.fit(model, { data, epochs: 2, progress: false });
      const file = path.join(dir, "sub", "model.json");
      await seqlab.saveCheckpoint(file, model, h);
      const other = linearModel(3, 99);
      assert.notDeepEqual(weights(other), weights(model));
      const loaded = await seqlab.loadCheckpoint(file, other);
      assert.deepEqual(weights(other), weights(model));
      assert.deepEqual(loaded.history, h);
      // resume
      const h2 = await seqlab.fit(other, { data, epochs: 1, history: loaded.history, progress: false });
      assert.equal(h2.epochs, 3);
      assert.deepEqual(h2.loss.slice(0, 2), h.loss);
      // mismatches
      const wide = linearModel(4, 0);
      await assert.rejects(seqlab.loadCheckpoint(file, wide), /"W" has shape \[3, 1\] saved but \[4, 1\] in the model/);
      const renamed: seqlab.Trainable = {
        variables: { W: wide.variables.W, bias: wide.variables.b },
        forward: wide.forward,
        dispose: () => {},
      };
      await assert.rejects(seqlab.loadCheckpoint(file, renamed), /missing "bias".*unexpected "b"/);
      const junk = path.join(dir, "junk.json");
      fs.writeFileSync(junk, "{}");
      await assert.rejects(seqlab.loadCheckpoint(junk, model), /is not a seqlab checkpoint/);
      for (const m of [model, other, wide]) m.dispose();
      disposeBatches(data);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("bad input: an empty batch, no data, no batches in an epoch → clear errors", async () => {
    const model = linearModel(3, 0);
    const empty = [{ x: tf.zeros([0, 3]), y: tf.zeros([0, 1]) }];
    await assert.rejects(seqlab.fit(model, { data: empty, progress: false }), /batch 1 of epoch 1 is empty \(x has shape \[0, 3\]\)/);
    await assert.rejects(seqlab.fit(model, { data: () => [], progress: false }), /epoch 1 had no batches/);
    await assert.rejects(seqlab.fit(model, { data: [], epochs: 1, progress: false }), /epoch 1 had no batches/);
    model.dispose();
    disposeBatches(empty);
  });
});
