/**
 * Nothing lost, and clear errors early, in training: checkpoints are written atomically
 * and keep NaN/±Inf/−0 bit for bit (and version 1 files still load); a second fit on a
 * model in training is refused; a data function's own array is not disposed; a generator
 * object is refused; validation batches are checked before the first step; NaN in the data
 * names the batch and the index; unknown option keys suggest the right name; a disposed
 * model is named.
 */
import { strict as assert } from "node:assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks } from "./helpers/memory";
import { linearModel } from "./train-helpers";

const { tf } = seqlab;
type Batch = seqlab.Batch;

/** n batches of y = x·[1, −2, 0.5] for the linear model (I = 3). */
function linearData(n: number, B = 4, seed = 1): Batch[] {
  const rng = new seqlab.Rng(seed);
  return Array.from({ length: n }, () => {
    const x = Array.from({ length: B }, () => [rng.normal(), rng.normal(), rng.normal()]);
    return { x: tf.tensor2d(x), y: tf.tensor2d(x.map((r) => [r[0] - 2 * r[1] + 0.5 * r[2]])) };
  });
}

function disposeBatches(batches: Batch[]): void {
  batches.forEach(internal.disposeBatch);
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-rel-"));
}

function weightBits(model: seqlab.Trainable): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(model.variables).map(([k, v]) => [k, Array.from(new Uint32Array(Float32Array.from(v.dataSync()).buffer))]),
  );
}

const quiet = { progress: false } as const;

describe("training: nothing lost, clear errors early", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  describe("checkpoints", () => {
    it("NaN, +Inf, −Inf, −0 and ordinary values survive a save/load round trip bit for bit", async () => {
      const dir = tempDir();
      const file = path.join(dir, "ck.json");
      const model = linearModel(3, 0);
      const special = [NaN, Infinity, -Infinity];
      const W = tf.tensor2d([[special[0]], [special[1]], [special[2]]]);
      const b = tf.tensor1d([-0]);
      model.variables.W.assign(W);
      model.variables.b.assign(b);
      tf.dispose([W, b]);
      await seqlab.saveCheckpoint(file, model);
      const saved = weightBits(model);
      const other = linearModel(3, 5);
      await seqlab.loadCheckpoint(file, other);
      assert.deepEqual(weightBits(other), saved);
      assert.ok(Object.is(other.variables.b.dataSync()[0], -0), "−0 keeps its sign");
      // and ordinary values, from a trained-looking model
      const plain = linearModel(3, 7);
      await seqlab.saveCheckpoint(file, plain);
      await seqlab.loadCheckpoint(file, other);
      assert.deepEqual(weightBits(other), weightBits(plain));
      const doc = JSON.parse(fs.readFileSync(file, "utf8"));
      assert.equal(doc.version, 2);
      assert.equal(typeof doc.weights.W.base64, "string");
      [model, other, plain].forEach((m) => m.dispose());
      fs.rmSync(dir, { recursive: true });
    });

    it("a version 1 checkpoint (values as JSON numbers) still loads; its nulls load as NaN", async () => {
      const dir = tempDir();
      const file = path.join(dir, "v1.json");
      const v1 = {
        format: "seqlab-checkpoint",
        version: 1,
        savedAt: "2024-01-01T00:00:00.000Z",
        weights: { W: { shape: [3, 1], values: [0.5, null, -1.25] }, b: { shape: [1], values: [0.125] } },
      };
      fs.writeFileSync(file, JSON.stringify(v1));
      const model = linearModel(3, 0);
      const loaded = await seqlab.loadCheckpoint(file, model);
      assert.equal(loaded.savedAt, v1.savedAt);
      const W = Array.from(model.variables.W.dataSync());
      assert.equal(W[0], 0.5);
      assert.ok(Number.isNaN(W[1]));
      assert.equal(W[2], -1.25);
      assert.deepEqual(Array.from(model.variables.b.dataSync()), [0.125]);
      model.dispose();
      fs.rmSync(dir, { recursive: true });
    });

    it("a failed save (rename, write or fsync throws) leaves the previous checkpoint intact, says why, and leaves no temporary file", async () => {
      const dir = tempDir();
      const file = path.join(dir, "ck.json");
      const model = linearModel(3, 0);
      await seqlab.saveCheckpoint(file, model);
      const before = fs.readFileSync(file, "utf8");
      const other = linearModel(3, 9); // different weights: a successful save would change the file
      const promises = fs.promises as unknown as Record<string, unknown>;
      const fail = (code: string) => async () => {
        throw Object.assign(new Error(`${code}: simulated`), { code });
      };
      // rename fails (e.g. the target is busy)
      const rename = promises.rename;
      promises.rename = fail("EBUSY");
      try {
        await assert.rejects(
          seqlab.saveCheckpoint(file, other),
          /saveCheckpoint: cannot write .*ck\.json: replacing the file \(rename\) failed: EBUSY: simulated; the previous checkpoint \(if any\) is unchanged/,
        );
      } finally {
        promises.rename = rename;
      }
      assert.equal(fs.readFileSync(file, "utf8"), before);
      assert.deepEqual(fs.readdirSync(dir), ["ck.json"]);
      // the write fails half-way (a full disk): stub open to hand out a handle whose writeFile throws
      const open = promises.open as (...a: unknown[]) => Promise<fs.promises.FileHandle>;
      promises.open = async (...args: unknown[]) => {
        const h = await open(...args);
        if (String(args[0]).endsWith(".tmp")) {
          h.writeFile = (async (data: string) => {
            await fs.promises.appendFile(String(args[0]), data.slice(0, 10)); // a partial write, then
            throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
          }) as never;
        }
        return h;
      };
      try {
        await assert.rejects(seqlab.saveCheckpoint(file, other), /writing failed: ENOSPC: no space left on device/);
      } finally {
        promises.open = open;
      }
      assert.equal(fs.readFileSync(file, "utf8"), before);
      assert.deepEqual(fs.readdirSync(dir), ["ck.json"]);
      // fsync fails
      promises.open = async (...args: unknown[]) => {
        const h = await open(...args);
        if (String(args[0]).endsWith(".tmp")) h.sync = fail("EIO") as never;
        return h;
      };
      try {
        await assert.rejects(seqlab.saveCheckpoint(file, other), /flushing to disk \(fsync\) failed: EIO/);
      } finally {
        promises.open = open;
      }
      assert.equal(fs.readFileSync(file, "utf8"), before);
      assert.deepEqual(fs.readdirSync(dir), ["ck.json"]);
      // and the previous checkpoint still loads
      await seqlab.loadCheckpoint(file, other);
      assert.deepEqual(weightBits(other), weightBits(model));
      model.dispose();
      other.dispose();
      fs.rmSync(dir, { recursive: true });
    });

    it("a path whose parent is a file fails with the reason, and writes nothing", async () => {
      const dir = tempDir();
      const blocker = path.join(dir, "not-a-folder");
      fs.writeFileSync(blocker, "x");
      const model = linearModel(3, 0);
      await assert.rejects(
        seqlab.saveCheckpoint(path.join(blocker, "ck.json"), model),
        /saveCheckpoint: cannot write .*ck\.json: cannot create its folder .*not-a-folder: .*(EEXIST|ENOTDIR)/,
      );
      assert.deepEqual(fs.readdirSync(dir), ["not-a-folder"]);
      model.dispose();
      fs.rmSync(dir, { recursive: true });
    });

    it("a read-only folder fails with the reason (skipped as root, who may write anyway)", async function () {
      if (process.getuid?.() === 0) this.skip();
      const dir = tempDir();
      const file = path.join(dir, "ck.json");
      const model = linearModel(3, 0);
      await seqlab.saveCheckpoint(file, model);
      const before = fs.readFileSync(file, "utf8");
      fs.chmodSync(dir, 0o500);
      try {
        await assert.rejects(seqlab.saveCheckpoint(file, linearModel(3, 1)), /cannot create a temporary file in its folder: EACCES/);
      } finally {
        fs.chmodSync(dir, 0o700);
      }
      assert.equal(fs.readFileSync(file, "utf8"), before);
      model.dispose();
      fs.rmSync(dir, { recursive: true });
    });
  });

  describe("fit", () => {
    it("a second fit on a model in training is refused at once; the first finishes unharmed; fit works again after it ends normally, by error or by interrupt", async () => {
      const data = linearData(5);
      const model = linearModel(3, 0);
      const reference = linearModel(3, 0);
      const first = seqlab.fit(model, { data, epochs: 3, seed: 1, ...quiet });
      await assert.rejects(
        seqlab.fit(model, { data, epochs: 1, ...quiet }),
        /fit: the model is already being trained by another fit call that has not finished; await it first/,
      );
      const h = await first;
      const alone = await seqlab.fit(reference, { data, epochs: 3, seed: 1, ...quiet });
      assert.deepEqual(h.stepLoss, alone.stepLoss, "the refused call did not disturb the first");
      assert.deepEqual(weightBits(model), weightBits(reference));
      // after a normal end
      assert.equal((await seqlab.fit(model, { data, epochs: 1, ...quiet })).epochs, 1);
      // after an error (a callback throws)
      await assert.rejects(
        seqlab.fit(model, {
          data,
          epochs: 1,
          callbacks: [
            {
              onStep: () => {
                throw new Error("boom");
              },
            },
          ],
          ...quiet,
        }),
        /boom/,
      );
      assert.equal((await seqlab.fit(model, { data, epochs: 1, ...quiet })).epochs, 1);
      // after a stop (as the Interrupt button does: the run ends early and fit returns)
      const stopped = await seqlab.fit(model, { data, epochs: 5, callbacks: [{ onStep: (_l, ctx) => ctx.stop("interrupted") }], ...quiet });
      assert.equal(stopped.stopped?.reason, "callback");
      assert.equal((await seqlab.fit(model, { data, epochs: 1, ...quiet })).epochs, 1);
      model.dispose();
      reference.dispose();
      disposeBatches(data);
    });

    it("data: () => batches (the same array every epoch) trains every epoch and leaves the caller's batches alive", async () => {
      const batches = linearData(4);
      const model = linearModel(3, 0);
      const h = await seqlab.fit(model, { data: () => batches, epochs: 3, ...quiet });
      assert.equal(h.steps, 12);
      assert.ok(batches.every((b) => !b.x.isDisposed && !b.y.isDisposed));
      // and a function that makes fresh batches still has them disposed (no leak: checked by the suite's hook)
      const fresh = await seqlab.fit(model, { data: (_e, rng) => linearData(3, 4, rng.int(1000)), epochs: 2, ...quiet });
      assert.equal(fresh.steps, 6);
      // and a generator function's batches too
      const gen = await seqlab.fit(model, {
        data: function* () {
          yield* linearData(2);
        },
        epochs: 2,
        ...quiet,
      });
      assert.equal(gen.steps, 4);
      // a mix: the caller's x, a fresh y — only y is disposed
      const x = batches[0].x;
      await seqlab.fit(model, { data: () => [{ x, y: tf.zeros([4, 1]) }], epochs: 2, ...quiet });
      assert.ok(!x.isDisposed);
      model.dispose();
      disposeBatches(batches);
    });

    it("a generator object as data is refused at once, with the fix", async () => {
      const model = linearModel(3, 0);
      function* gen() {
        yield* [] as Batch[];
      }
      await assert.rejects(
        seqlab.fit(model, { data: gen() as unknown as Batch[], ...quiet }),
        /fit: data is a generator \(or another iterator\), which can be read only once, but fit reads the data every epoch; pass a function that makes a fresh one each epoch, data: \(epoch, rng\) => myBatches\(…\), or an array/,
      );
      await assert.rejects(
        seqlab.fit(model, { data: 3 as unknown as Batch[], ...quiet }),
        /fit: data must be an array of batches or a function \(epoch, rng\) => batches, got number 3/,
      );
      model.dispose();
    });

    it("validation batches are checked before the first training step; the errors name the validation batch", async () => {
      const data = linearData(3);
      const model = linearModel(3, 0);
      let steps = 0;
      const count = { onStep: () => void steps++ };
      const nan = {
        x: tf.tensor2d([
          [1, 2, 3],
          [4, NaN, 6],
        ]),
        y: tf.zeros([2, 1]),
      };
      await assert.rejects(
        seqlab.fit(model, { data, validation: [data[0], nan], callbacks: [count], ...quiet }),
        /fit: validation batch 2: x\[1, 1\] is NaN/,
      );
      const mismatched = { x: tf.zeros([2, 3]), y: tf.zeros([3, 1]) };
      await assert.rejects(
        seqlab.fit(model, { data, validation: [mismatched], callbacks: [count], ...quiet }),
        /fit: validation batch 1: x has 2 sequences but y has 3/,
      );
      await assert.rejects(
        seqlab.fit(model, { data, validation: [{ x: [1, 2] } as unknown as Batch], callbacks: [count], ...quiet }),
        /fit: validation batch 1 is not a batch/,
      );
      // a function's first batch is checked too, and its fresh tensors disposed
      await assert.rejects(
        seqlab.fit(model, {
          data,
          validation: () => [{ x: tf.tensor2d([[Infinity, 0, 0]]), y: tf.zeros([1, 1]) }],
          callbacks: [count],
          ...quiet,
        }),
        /fit: validation batch 1: x\[0, 0\] is Infinity/,
      );
      function* once() {
        yield* [] as Batch[];
      }
      await assert.rejects(
        seqlab.fit(model, { data, validation: once() as unknown as Batch[], ...quiet }),
        /a generator can be read only once/,
      );
      assert.equal(steps, 0, "no training step was taken");
      model.dispose();
      disposeBatches(data);
      internal.disposeBatch(nan);
      internal.disposeBatch(mismatched);
    });

    it("NaN/Inf in the training data is the data's fault: the error names the batch and the index, before that batch's step", async () => {
      const data = linearData(4);
      const bad = {
        x: tf.tensor2d([
          [0, 0, 0],
          [0, 0, 0],
          [0, 0, NaN],
          [0, 0, 0],
        ]),
        y: tf.zeros([4, 1]),
      };
      const model = linearModel(3, 0);
      const err = await seqlab.fit(model, { data: [...data.slice(0, 2), bad, data[3]], shuffle: false, epochs: 1, ...quiet }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof internal.NonFiniteInputError, String(err));
      assert.match(
        err.message,
        /^fit: data: batch 3 of epoch 1: x\[2, 2\] is NaN; the data itself holds a non-finite value \(not a learning-rate problem\)/,
      );
      assert.doesNotMatch(err.message, /learning rate or gradient clipping/);
      assert.deepEqual(err.index, [2, 2]);
      const infY = { x: tf.zeros([2, 3]), y: tf.tensor2d([[1], [-Infinity]]) };
      await assert.rejects(seqlab.fit(model, { data: [infY], ...quiet }), /fit: data: batch 1 of epoch 1: y\[1, 0\] is -Infinity/);
      model.dispose();
      disposeBatches(data);
      internal.disposeBatch(bad);
      internal.disposeBatch(infY);
    });

    it("a diverging model still ends in the NaN guard (NonFiniteLossError), not in an input error from inside forward", async () => {
      // A user's two-layer model through seqlab.unroll: layer 2 reads layer 1's outputs, which NaN
      // weights make NaN. Inside fit the input checks are off, so this is a NaN loss, not "unroll: x is NaN".
      const I = 2;
      const H = 3;
      const p1 = seqlab.initRnn({ inputSize: I, hiddenSize: H, seed: 1 });
      const p2 = seqlab.initRnn({ inputSize: H, hiddenSize: 1, seed: 2 });
      const vars = Object.fromEntries(
        [...Object.entries(p1).map(([k, t]) => [`a${k}`, t]), ...Object.entries(p2).map(([k, t]) => [`b${k}`, t])].map(([k, t]) => [
          k,
          tf.variable(t as seqlab.tf.Tensor),
        ]),
      );
      tf.dispose([...Object.values(p1), ...Object.values(p2)] as seqlab.tf.Tensor[]);
      const model: seqlab.Trainable = {
        variables: vars,
        forward: (batch) =>
          tf.tidy(() => {
            const r1 = seqlab.unroll(
              seqlab.rnnCell,
              { U: vars.aU, W: vars.aW, b: vars.ab } as seqlab.RnnParams,
              batch.x as seqlab.tf.Tensor3D,
            );
            const r2 = seqlab.unroll(seqlab.rnnCell, { U: vars.bU, W: vars.bW, b: vars.bb } as seqlab.RnnParams, r1.outputs, {
              returnSequences: false,
            });
            return { loss: tf.mean(tf.square(tf.sub(r2.state.h, batch.y))) as seqlab.tf.Scalar, count: tf.scalar(batch.x.shape[0]) };
          }),
        dispose: () => tf.dispose(Object.values(vars)),
      };
      const batches = Array.from(seqlab.addingBatches({ length: 5, batchSize: 4, batches: 2, seed: 1 }));
      const nan = tf.fill(vars.aW.shape, NaN);
      vars.aW.assign(nan);
      nan.dispose();
      await assert.rejects(
        seqlab.fit(model, { data: batches, epochs: 1, ...quiet }),
        (e: unknown) => e instanceof seqlab.NonFiniteLossError,
      );
      model.dispose();
      disposeBatches(batches);
    });

    it("unknown option keys in fit suggest the right name", async () => {
      const data = linearData(1);
      const model = linearModel(3, 0);
      const bad = (extra: object) => seqlab.fit(model, { data, ...quiet, ...extra } as seqlab.FitOptions);
      await assert.rejects(
        bad({ epoch: 3 }),
        /fit: unknown option "epoch"; did you mean "epochs"\? Known options: data, validation, epochs/,
      );
      await assert.rejects(bad({ lr: 0.1 }), /fit: unknown option "lr"; did you mean optimizer: \{ learningRate \}\?/);
      await assert.rejects(bad({ global_norm: 1 }), /fit: unknown option "global_norm"; did you mean clip: \{ globalNorm \}\?/);
      await assert.rejects(bad({ shufle: false }), /did you mean "shuffle"\?/);
      await assert.rejects(bad({ zzz: 1 }), /fit: unknown option "zzz"\. Known options: /);
      await assert.rejects(
        bad({ optimizer: { name: "sgd", lr: 0.1 } }),
        /fit: unknown option "optimizer\.lr"; did you mean "learningRate"\? Known options of optimizer: name, learningRate/,
      );
      await assert.rejects(bad({ clip: { global_norm: 1 } }), /fit: unknown option "clip\.global_norm"; did you mean "globalNorm"\?/);
      await assert.rejects(bad({ earlyStopping: { patients: 3 } }), /unknown option "earlyStopping\.patients"; did you mean "patience"\?/);
      const err = await bad({ epoch: 3 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof internal.OptionError);
      assert.equal(err.option, "epoch");
      assert.equal(err.suggestion, "epochs");
      model.dispose();
      disposeBatches(data);
    });

    it("a disposed model: fit, evaluate and saveCheckpoint name it instead of failing deep inside tfjs", async () => {
      const data = linearData(1);
      const model = new seqlab.SequenceToVector({ cell: "gru", inputSize: 3, hiddenSize: 4, output: { values: 1 } });
      model.dispose();
      await assert.rejects(
        seqlab.fit(model, { data, ...quiet }),
        /fit: the SequenceToVector model has been disposed \(dispose\(\) freed its weights: input\.|fit: the SequenceToVector model has been disposed \(dispose\(\) freed its weights: encoder\./,
      );
      await assert.rejects(seqlab.evaluate(model, data), /evaluate: the SequenceToVector model has been disposed/);
      await assert.rejects(
        seqlab.saveCheckpoint(path.join(os.tmpdir(), "never.json"), model),
        /saveCheckpoint: weight "encoder\.layer0\.U" has been disposed \(was the model disposed\?\); nothing was written/,
      );
      const plain = linearModel(3, 0);
      plain.dispose();
      await assert.rejects(
        seqlab.fit(plain, { data, ...quiet }),
        (e: unknown) => e instanceof internal.DisposedModelError && /fit: the model has been disposed/.test(e.message),
      );
      disposeBatches(data);
    });
  });

  describe("checkKeys", () => {
    it("suggests by alias, then by edit distance ignoring case and underscores; stays quiet when nothing is close", () => {
      const known = ["cell", "inputSize", "hiddenSize", "layers", "bidirectional", "seed", "output"];
      assert.equal(internal.suggest("hidden_size", known), "hiddenSize");
      assert.equal(internal.suggest("num_layers", known), "layers");
      assert.equal(internal.suggest("HiddenSize", known), "hiddenSize");
      assert.equal(internal.suggest("hiddenSzie", known), "hiddenSize");
      assert.equal(internal.suggest("num_classes", known), "output.classes");
      assert.equal(internal.suggest("dropout", known), undefined);
      assert.equal(internal.editDistance("kitten", "sitting"), 3);
      assert.doesNotThrow(() => internal.checkKeys("X", { cell: "rnn", seed: undefined }, known));
      assert.throws(
        () => internal.checkKeys("X", { hidden_size: 4 }, known),
        /X: unknown option "hidden_size"; did you mean "hiddenSize"\?/,
      );
    });
  });
});
