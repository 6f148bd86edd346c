/**
 * The batch streams of the tasks (src/data/batches.ts): every task's `*Batches` yields what
 * its `*Batch` returns when called again and again on ONE `new Rng(seed)`, the seed
 * defaults to 0, and the first numbers of a few streams are pinned, so a change to a
 * task's stream (and so to the notebooks' numbers) fails here.
 */
import { strict as assert } from "node:assert";
import * as seqlab from "seqlab";
import * as internal from "seqlab/internal";
import { assertNoTensorLeaks } from "./helpers/memory";

const { tf } = seqlab;
type Tensor = seqlab.tf.Tensor;

/** A batch's fields as plain arrays (tensors read back, string lists kept), then its tensors disposed. */
function plain(batch: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(batch))
    out[k] = v instanceof tf.Tensor ? { shape: v.shape, values: Array.from((v as Tensor).dataSync()) } : v;
  seqlab.disposeAll(batch);
  return out;
}

/** Each task: its stream, and its one-batch function with the same options. */
interface TaskCase {
  name: string;
  stream: (seed: number | undefined, batches: number) => Iterable<object>;
  one: (rng: seqlab.Rng) => object;
}

const TASKS: TaskCase[] = [
  {
    name: "adding",
    stream: (seed, batches) => seqlab.addingBatches({ length: 6, batchSize: 3, batches, seed }),
    one: (rng) => internal.addingBatch({ length: 6, batchSize: 3 }, rng),
  },
  {
    name: "copy",
    stream: (seed, batches) => seqlab.copyBatches({ length: 3, delay: 4, batchSize: 2, oneHot: true, batches, seed }),
    one: (rng) => internal.copyBatch({ length: 3, delay: 4, batchSize: 2, oneHot: true }, rng),
  },
  {
    name: "dates",
    stream: (seed, batches) => seqlab.dateBatches({ batchSize: 3, batches, seed }),
    one: (rng) => internal.dateBatch({ batchSize: 3 }, rng),
  },
  {
    name: "parity",
    stream: (seed, batches) => seqlab.parityBatches({ length: [2, 6], batchSize: 3, target: "running", batches, seed }),
    one: (rng) => internal.parityBatch({ length: [2, 6], batchSize: 3, target: "running" }, rng),
  },
  {
    name: "reber",
    stream: (seed, batches) => seqlab.reberBatches({ batchSize: 3, batches, seed }),
    one: (rng) => internal.reberBatch({ batchSize: 3 }, rng),
  },
  {
    name: "reversal",
    stream: (seed, batches) => seqlab.reversalBatches({ length: [2, 5], batchSize: 3, batches, seed }),
    one: (rng) => internal.reversalBatch({ length: [2, 5], batchSize: 3 }, rng),
  },
  {
    name: "sine",
    stream: (seed, batches) => seqlab.sineBatches({ length: 8, batchSize: 2, batches, seed }),
    one: (rng) => internal.sineBatch({ length: 8, batchSize: 2 }, rng),
  },
  {
    name: "sorting",
    stream: (seed, batches) => seqlab.sortingBatches({ length: 4, digits: 5, batchSize: 3, batches, seed }),
    one: (rng) => internal.sortingBatch({ length: 4, digits: 5, batchSize: 3 }, rng),
  },
];

/** The first `n` values of a tensor, rounded to 6 decimals. */
const first = (t: Tensor, n: number) =>
  Array.from(t.dataSync())
    .slice(0, n)
    .map((v) => Math.round(v * 1e6) / 1e6);

describe("tasks: batch streams", () => {
  before(async () => {
    await seqlab.initBackend();
  });
  assertNoTensorLeaks();

  for (const task of TASKS) {
    it(`${task.name}: batch k of the stream from seed 5 is the k-th ${task.name} batch drawn from one new Rng(5)`, () => {
      const streamed = Array.from(task.stream(5, 3), plain);
      const rng = new seqlab.Rng(5);
      const direct = [0, 1, 2].map(() => plain(task.one(rng)));
      assert.equal(streamed.length, 3);
      assert.deepEqual(streamed, direct);
      assert.notDeepEqual(streamed[0], streamed[1], "consecutive batches continue the stream, they do not restart it");
    });
  }

  it("every task's stream without a seed is its stream from DEFAULT_SEED = 0", () => {
    assert.equal(internal.DEFAULT_SEED, 0);
    for (const task of TASKS)
      assert.deepEqual(Array.from(task.stream(undefined, 2), plain), Array.from(task.stream(0, 2), plain), task.name);
  });

  it("pinned numbers: the adding, sine, Reber and reversal streams start as they always have", () => {
    const adding = Array.from(seqlab.addingBatches({ length: 4, batchSize: 2, batches: 3, seed: 5 }));
    assert.deepEqual(
      adding.map((b) => first(b.y, 2)),
      [
        [1.312954, 0.687533],
        [0.479223, 0.977061],
        [0.742697, 1.256155],
      ],
    );
    const addingDefault = Array.from(seqlab.addingBatches({ length: 4, batchSize: 2, batches: 1 }));
    assert.deepEqual(first(addingDefault[0].y, 2), [0.412631, 1.071259]);
    const sine = Array.from(seqlab.sineBatches({ length: 5, batchSize: 1, batches: 2, seed: 7 }));
    assert.deepEqual(
      sine.map((b) => first(b.x, 5)),
      [
        [0.221592, 0.392165, 0.530124, 0.689979, 0.788851],
        [0.565257, 0.766014, 0.672986, 0.503639, 0.224903],
      ],
    );
    const reber = Array.from(seqlab.reberBatches({ batchSize: 2, batches: 3, seed: 6 }));
    assert.deepEqual(
      reber.map((b) => b.strings),
      [
        ["BPBPTVPXVVEPE", "BPBTSSXSEPE"],
        ["BTBPVPSETE", "BPBPVVEPE"],
        ["BPBTSXXVVEPE", "BPBPVPSEPE"],
      ],
    );
    const reversal = Array.from(seqlab.reversalBatches({ length: [2, 5], batchSize: 2, batches: 2, seed: 3 }));
    assert.deepEqual(
      reversal.map((b) => b.x.arraySync()),
      [
        [
          [1, 5, 1, 8],
          [5, 2, 3, 0],
        ],
        [
          [2, 1, 8, 5, 0],
          [9, 4, 7, 3, 7],
        ],
      ],
    );
    seqlab.disposeAll([adding, addingDefault, sine, reber, reversal]);
  });

  it("seededBatches: any one-batch function, one stream, lazily (nothing is made before a batch is read)", () => {
    const draws = Array.from(internal.seededBatches((o: { n: number }, rng) => rng.int(o.n), { n: 1000, batches: 4, seed: 9 }));
    const rng = new seqlab.Rng(9);
    assert.deepEqual(
      draws,
      [0, 1, 2, 3].map(() => rng.int(1000)),
    );
    assert.equal(Array.from(internal.seededBatches((_o: object, r) => r.next(), { batches: 0 })).length, 0);
    const before = tf.memory().numTensors;
    const stream = seqlab.addingBatches({ length: 5, batchSize: 2, batches: 2, seed: 1 });
    assert.equal(tf.memory().numTensors, before, "creating the stream made tensors");
    const b1 = stream.next().value!;
    assert.equal(tf.memory().numTensors, before + 2, "reading one batch makes its x and y");
    seqlab.disposeAll(b1, Array.from(stream));
  });
});
