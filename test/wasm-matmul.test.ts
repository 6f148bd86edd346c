/**
 * seqlab's BatchMatMul for tfjs's wasm backend (src/fused/matmul.ts): every combination of
 * transposes and batch shapes equals a float64 product computed here in plain JavaScript, and
 * tfjs's own kernel; gradients (which are transposed products) equal the float64 ones; nothing
 * is left behind in tfjs or in the wasm heap.
 */
import { strict as assert } from "assert";
import { tf, initBackend } from "seqlab";
import { Rng } from "seqlab";
import { installWasmMatMul, uninstallWasmMatMul, wasmMatMulInstalled } from "seqlab/internal";

/** C = op(A)·op(B) in float64, with tfjs's broadcasting of the batch dimensions. */
function product64(a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], tA: boolean, tB: boolean) {
  const [ra, ca] = aShape.slice(-2);
  const [rb, cb] = bShape.slice(-2);
  const M = tA ? ca : ra;
  const K = tA ? ra : ca;
  const N = tB ? rb : cb;
  const outerA = aShape.slice(0, -2);
  const outerB = bShape.slice(0, -2);
  const rank = Math.max(outerA.length, outerB.length);
  const padA = [...Array(rank - outerA.length).fill(1), ...outerA];
  const padB = [...Array(rank - outerB.length).fill(1), ...outerB];
  const outer = padA.map((d, i) => Math.max(d, padB[i]));
  const batch = outer.reduce((p, d) => p * d, 1);
  const out = new Float64Array(batch * M * N);
  for (let n = 0; n < batch; n++) {
    // the batch index in A and in B (a dimension of 1 broadcasts)
    let ia = 0;
    let ib = 0;
    let rest = n;
    const idx = outer.map(() => 0);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = rest % outer[d];
      rest = Math.floor(rest / outer[d]);
    }
    for (let d = 0; d < rank; d++) {
      ia = ia * padA[d] + (padA[d] === 1 ? 0 : idx[d]);
      ib = ib * padB[d] + (padB[d] === 1 ? 0 : idx[d]);
    }
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a[ia * ra * ca + (tA ? k * ca + i : i * ca + k)];
          const bv = b[ib * rb * cb + (tB ? j * cb + k : k * cb + j)];
          s += av * bv;
        }
        out[(n * M + i) * N + j] = s;
      }
    }
  }
  return { values: out, shape: [...(rank ? outer : []), M, N] };
}

function random(shape: number[], rng: Rng): tf.Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.next() * 2 - 1),
    shape,
  );
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-5) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]));
    if (!(e <= worst)) worst = e;
  }
  assert.ok(worst < tol, `${what}: largest scaled error ${worst}`);
}

// [shape of A, shape of B] before the transposes are applied (so each is written as stored)
const CASES: { name: string; a: number[]; b: number[]; tA: boolean; tB: boolean }[] = [
  { name: "2-D, no transpose", a: [7, 5], b: [5, 9], tA: false, tB: false },
  { name: "2-D, B transposed (∂A = ∂C·Bᵀ)", a: [33, 17], b: [10, 17], tA: false, tB: true },
  { name: "2-D, A transposed (∂B = Aᵀ·∂C)", a: [17, 33], b: [17, 10], tA: true, tB: false },
  { name: "2-D, both transposed", a: [6, 13], b: [11, 6], tA: true, tB: true },
  { name: "batched A, 2-D B", a: [4, 5, 6], b: [6, 3], tA: false, tB: false },
  { name: "batched A transposed, 2-D B transposed", a: [3, 6, 5], b: [7, 6], tA: true, tB: true },
  { name: "batched A, B with a batch of 1", a: [2, 3, 4, 6], b: [1, 6, 5], tA: false, tB: false },
  { name: "same batch, no transpose (attention's α·V)", a: [9, 11, 27], b: [9, 27, 13], tA: false, tB: false },
  { name: "same batch, B transposed (attention's Q·Kᵀ)", a: [9, 11, 13], b: [9, 27, 13], tA: false, tB: true },
  { name: "same batch, A transposed", a: [5, 12, 7], b: [5, 12, 9], tA: true, tB: false },
  { name: "same batch, both transposed, two batch dimensions", a: [2, 3, 4, 5], b: [2, 3, 6, 4], tA: true, tB: true },
  { name: "2-D A against a batched B", a: [4, 5], b: [3, 5, 2], tA: false, tB: false },
  { name: "2-D A transposed against a batched B", a: [5, 4], b: [3, 5, 2], tA: true, tB: false },
  { name: "broadcast batch shapes (tfjs's own kernel returns half the values)", a: [2, 1, 3, 4], b: [1, 3, 4, 2], tA: false, tB: false },
  { name: "an empty inner dimension", a: [3, 4, 0], b: [3, 0, 5], tA: false, tB: false },
];

describe("wasm BatchMatMul (src/fused/matmul.ts)", function () {
  this.timeout(60_000);
  before(async () => {
    await initBackend("wasm");
  });
  after(() => installWasmMatMul());

  it("is registered for the wasm backend when seqlab chooses it", () => {
    assert.equal(tf.getBackend(), "wasm");
    assert.ok(wasmMatMulInstalled());
  });

  for (const c of CASES) {
    it(`${c.name}: equals a float64 product and tfjs's own kernel`, () => {
      const rng = new Rng(c.a.length * 100 + c.b[0]);
      const a = random(c.a, rng);
      const b = random(c.b, rng);
      const expected = product64(a.dataSync() as Float32Array, c.a, b.dataSync() as Float32Array, c.b, c.tA, c.tB);
      const before = tf.memory().numTensors;
      const ours = tf.matMul(a, b, c.tA, c.tB);
      assert.deepEqual(ours.shape, expected.shape);
      assertClose(ours.dataSync(), expected.values, c.name);
      uninstallWasmMatMul();
      try {
        if (c.name.startsWith("broadcast")) {
          // tfjs's own kernel: the right shape, but only the first 18 values
          const theirs = tf.matMul(a, b, c.tA, c.tB);
          const got = (tf.backend() as unknown as { readSync(id: object): Float32Array }).readSync(theirs.dataId);
          assert.notEqual(got.length, expected.values.length);
          theirs.dispose();
          return;
        }
        const theirs = tf.matMul(a, b, c.tA, c.tB);
        assert.deepEqual(theirs.shape, ours.shape);
        assertClose(ours.dataSync(), theirs.dataSync(), `${c.name} vs tfjs`);
        theirs.dispose();
      } finally {
        installWasmMatMul();
      }
      ours.dispose();
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([a, b]);
    });
  }

  it("an unbatched product gives the same bits as XNNPACK's (of the transposed tensors, for a transpose)", () => {
    // the dense layers' products and gradients and a decoder step's h·Wᵀ, at the sizes of the course's models
    const cases: [number[], number[], boolean, boolean][] = [
      [[64, 16], [192, 16], false, true],
      [[64, 64], [64, 64], false, true],
      [[704, 64], [704, 128], true, false],
      [[1728, 64], [1728, 64], true, false],
      [[13, 37], [29, 13], true, true],
      [[1, 5, 300], [7, 300], false, true],
      [[1728, 45], [45, 16], false, false],
      [[704, 64], [64, 128], false, false],
      [[3, 1000], [1000, 5], false, false],
    ];
    const rng = new Rng(11);
    for (const [sa, sb, tA, tB] of cases) {
      const a = random(sa, rng);
      const b = random(sb, rng);
      const ours = tf.matMul(a, b, tA, tB);
      // tfjs's own kernel without a transpose or a batch: XNNPACK
      const plainA = tA ? tf.transpose(a) : a.rank === 3 ? tf.reshape(a, sa.slice(1)) : a;
      const plainB = tB ? tf.transpose(b) : b;
      uninstallWasmMatMul();
      let theirs: tf.Tensor;
      try {
        theirs = tf.matMul(plainA as tf.Tensor2D, plainB as tf.Tensor2D);
      } finally {
        installWasmMatMul();
      }
      const x = ours.dataSync();
      const y = theirs.dataSync();
      assert.equal(x.length, y.length);
      const differ = x.filter((v, i) => v !== y[i]).length;
      assert.equal(differ, 0, `[${sa}]${tA ? "ᵀ" : ""}·[${sb}]${tB ? "ᵀ" : ""}: ${differ} of ${x.length} values differ from XNNPACK's`);
      assertClose(x, product64(a.dataSync() as Float32Array, sa, b.dataSync() as Float32Array, sb, tA, tB).values, "vs float64", 1e-4);
      tf.dispose([a, b, ours, theirs, plainA, plainB]);
    }
  });

  it("gradients of a product (transposed products) equal the float64 ones", () => {
    const rng = new Rng(5);
    const a = random([6, 8, 5], rng);
    const b = random([6, 5, 7], rng);
    const w = random([6, 8, 7], rng);
    const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), w)))([a, b]);
    // ∂a[n] = w[n]·b[n]ᵀ, ∂b[n] = a[n]ᵀ·w[n]: a batched product with each transpose
    const W = w.dataSync() as Float32Array;
    const A = a.dataSync() as Float32Array;
    const B = b.dataSync() as Float32Array;
    assertClose(da.dataSync(), product64(W, [6, 8, 7], B, [6, 5, 7], false, true).values, "∂a");
    assertClose(db.dataSync(), product64(A, [6, 8, 5], W, [6, 8, 7], true, false).values, "∂b");
    tf.dispose([a, b, w, da, db]);
  });

  it("leaves nothing behind: tensors, and tfjs's wasm heap, flat over 200 products of every case", () => {
    const rng = new Rng(9);
    const pairs = CASES.map((c) => [random(c.a, rng), random(c.b, rng), c] as const);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const run = () => {
      for (const [a, b, c] of pairs) tf.tidy(() => tf.matMul(a, b, c.tA, c.tB).dataSync());
    };
    run();
    const tensors = tf.memory().numTensors;
    const ids = backend.numDataIds();
    for (let i = 0; i < 200 / CASES.length; i++) run();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(backend.numDataIds(), ids);
    for (const [a, b] of pairs) tf.dispose([a, b]);
  });
});
