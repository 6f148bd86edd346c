/**
 * A faster matrix product for tfjs's wasm backend, registered in place of its own
 * BatchMatMul kernel when seqlab chooses that backend (src/backend.ts).
 *
 * Why: tfjs-backend-wasm 4.x sends a product to XNNPACK only when neither side is transposed
 * and neither has a batch; every other product — which is every matMul a gradient makes
 * (∂A = ∂C·Bᵀ, ∂B = Aᵀ·∂C), and every batched product attention makes — runs a plain loop
 * at 1–2 GFLOP/s against 16–20 GFLOP/s (measured on a 2-core EPYC, `npm run bench`:
 * `matmul` rows). The product itself is unchanged; only where it runs:
 *
 * | case | how |
 * |---|---|
 * | no batch | one product in seqlab's kernels, plain SIMD build (below): Bᵀ transposed while it is copied in, Aᵀ read as stored |
 * | A batched, B without a batch (or a batch of 1) | Aᵀ and Bᵀ by tfjs's Transpose kernel if asked, A's batch folded into its rows, one XNNPACK product |
 * | any other batch shapes | Aᵀ, Bᵀ by tfjs's Transpose kernel if asked, then one SIMD gemm per output batch in seqlab's wasm kernels, with tfjs's broadcasting of the batch dimensions |
 *
 * Products without a batch are every dense layer's forward and gradients and every product
 * of a decoder's step. Sent to XNNPACK, a product with a transpose made a fresh transposed
 * tensor at every call, and XNNPACK created and packed an operator for it (its cache is keyed
 * by B's tensor): 0.1–0.2 ms for a [64, 64]·[64, 64]ᵀ that is 20 µs of arithmetic, 0.6 ms for
 * the GRU decoder's [64, 16]·[192, 16]ᵀ inside a decoding step, 2–2.5 ms for the weight
 * gradients [704, 64]ᵀ·[704, 128] and [1728, 64]ᵀ·[1728, 64] inside a training step
 * (tf.profile). Without a transpose seqlab's gemm is as fast or faster: the same at
 * [704, 128]·[128, 64], 1.5–3× for a decoder step's small products.
 * seqlab's plain SIMD gemm adds each C[i, j] up over k in order, a multiply then an add, as
 * XNNPACK's wasm SIMD kernels do, so it gives the same bits as tfjs's own product (of the
 * transposed tensors): no trained number moves.
 *
 * Results equal a float64 product to float32 rounding (test/wasm-matmul.test.ts, every case),
 * and the unbatched ones equal tfjs's own XNNPACK product bit for bit.
 * tfjs's own kernel gets broadcasting of two batch dimensions wrong ([2, 1, 3, 4]·[1, 3, 4, 2]
 * returns 18 of the 36 values); this one does not.
 */
import * as tf from "@tensorflow/tfjs";
import type { KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs";
import { instantiateKernels, kernelBuild, WasmArena, type WasmKernels } from "./wasm";

/** The parts of tfjs-backend-wasm's backend a kernel uses (public methods of BackendWasm). */
interface WasmBackend {
  incRef(dataId: object): void;
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

type Attrs = { transposeA: boolean; transposeB: boolean };

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** Whether seqlab's product is registered for the wasm backend. */
export function wasmMatMulInstalled(): boolean {
  return tf.getKernel("BatchMatMul", "wasm")?.kernelFunc === (batchMatMul as unknown as KernelFunc);
}

let original: KernelConfig | undefined;
let transposeKernel: KernelFunc | undefined;
let kernels: WasmKernels | undefined;
let arena: WasmArena | undefined;

/**
 * Registers seqlab's BatchMatMul for the wasm backend (once; later calls do nothing).
 * Returns false, changing nothing, when tfjs has no wasm BatchMatMul or Transpose kernel
 * to build on, or seqlab's wasm kernels cannot load.
 */
export function installWasmMatMul(): boolean {
  if (wasmMatMulInstalled()) return true;
  const own = tf.getKernel("BatchMatMul", "wasm");
  const transpose = tf.getKernel("Transpose", "wasm");
  if (!own || !transpose) return false;
  try {
    // an instance of its own (see unbatchedProduct)
    kernels ??= instantiateKernels();
  } catch {
    return false;
  }
  original = own;
  transposeKernel = transpose.kernelFunc;
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel({ ...own, kernelFunc: batchMatMul as unknown as KernelFunc });
  return true;
}

/** Puts tfjs's own kernel back (tests compare the two). */
export function uninstallWasmMatMul(): void {
  if (!original || !wasmMatMulInstalled()) return;
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel(original);
}

function batchMatMul(args: { inputs: { a: TensorInfo; b: TensorInfo }; backend: WasmBackend; attrs: Attrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { a, b } = inputs;
  const own = () => (original as KernelConfig).kernelFunc(args as never) as TensorInfo;
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) return own();
  const { transposeA, transposeB } = attrs;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = size(outerA);
  const batchB = size(outerB);
  const outer = broadcastShape(outerA, outerB);
  if (!outer) return own(); // tfjs's kernel says what is wrong

  const [ra, ca] = a.shape.slice(-2);
  const [rb, cb] = b.shape.slice(-2);
  const M = transposeA ? ca : ra;
  const K = transposeA ? ra : ca;
  const N = transposeB ? rb : cb;
  if ((transposeB ? cb : rb) !== K) return own(); // tfjs's kernel says what is wrong
  if (batchA <= 1 && batchB <= 1) {
    const c = unbatchedProduct(backend, a, b, attrs, M, K, N, [...outer, M, N]);
    if (c) return c;
    if (!transposeA && !transposeB) return own();
  }
  // A as [batchA, M, K] and B as [batchB, K, N], row-major (a transpose makes a new tensor)
  const made: TensorInfo[] = [];
  const plain = (t: TensorInfo, batch: number, transpose: boolean): TensorInfo => {
    const [r, c] = t.shape.slice(-2);
    const as3d = view(backend, t, [batch, r, c]);
    made.push(as3d);
    if (!transpose) return as3d;
    const swapped = (transposeKernel as KernelFunc)({ inputs: { x: as3d }, backend, attrs: { perm: [0, 2, 1] } } as never) as TensorInfo;
    made.push(swapped);
    return swapped;
  };
  try {
    const A = plain(a, batchA, transposeA);
    const B = plain(b, batchB, transposeB);
    const outShape = [...outer, M, N];
    if (batchB === 1) {
      // every batch of A against the one B: A's batches are more rows of one product
      const rows = view(backend, A, [batchA * M, K]);
      const cols = view(backend, B, [K, N]);
      made.push(rows, cols);
      const c = (original as KernelConfig).kernelFunc({
        inputs: { a: rows, b: cols },
        backend,
        attrs: { transposeA: false, transposeB: false },
      } as never) as TensorInfo;
      return { dataId: c.dataId, shape: outShape, dtype: "float32" };
    }
    return batched(backend, A, B, batchIndices(outer, outerA, outerB), M, K, N, outShape);
  } finally {
    for (const t of made) backend.disposeData(t.dataId);
  }
}

/** Another shape for the same data (tfjs's Reshape on wasm does the same: a new reference). */
function view(backend: WasmBackend, t: TensorInfo, shape: number[]): TensorInfo {
  backend.incRef(t.dataId);
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/**
 * tfjs's broadcasting of two batch shapes (aligned at the right; a dimension of 1 takes the
 * other's size), or null if they do not broadcast.
 */
function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** For each batch of the output (row-major over `outer`), the batch of A and of B it multiplies. */
function batchIndices(outer: readonly number[], outerA: readonly number[], outerB: readonly number[]): [number, number][] {
  const rank = outer.length;
  const padA = [...Array(rank - outerA.length).fill(1), ...outerA];
  const padB = [...Array(rank - outerB.length).fill(1), ...outerB];
  const pairs: [number, number][] = [];
  const index = outer.map(() => 0);
  for (let n = 0; n < size(outer); n++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < rank; d++) {
      ia = ia * padA[d] + (padA[d] === 1 ? 0 : index[d]);
      ib = ib * padB[d] + (padB[d] === 1 ? 0 : index[d]);
    }
    pairs.push([ia, ib]);
    for (let d = rank - 1; d >= 0 && ++index[d] === outer[d]; d--) index[d] = 0;
  }
  return pairs;
}

/** C[n] = A[ia]·B[ib] for each output batch n and its pair (ia, ib), with seqlab's SIMD gemm. */
function batched(
  backend: WasmBackend,
  A: TensorInfo,
  B: TensorInfo,
  pairs: [number, number][],
  M: number,
  K: number,
  N: number,
  outShape: number[],
): TensorInfo {
  const k = kernels as WasmKernels;
  const sizeA = size(A.shape);
  const sizeB = size(B.shape);
  arena ??= new WasmArena(k);
  arena.reset();
  const pa = arena.alloc(sizeA);
  const pb = arena.alloc(sizeB);
  const pc = arena.alloc(pairs.length * M * N);
  // views after the last alloc: a growing memory detaches earlier ones
  arena.f32(pa, sizeA).set(backend.typedArrayFromHeap(A));
  arena.f32(pb, sizeB).set(backend.typedArrayFromHeap(B));
  pairs.forEach(([ia, ib], n) => {
    k.exports.gemm(M, N, K, pa + 4 * ia * M * K, K, pb + 4 * ib * K * N, N, pc + 4 * n * M * N, N, 0);
  });
  const out = backend.makeOutput(outShape, "float32");
  backend.typedArrayFromHeap(out).set(arena.f32(pc, pairs.length * M * N));
  return out;
}

/** seqlab's kernels, plain SIMD build (bit-identical to XNNPACK's products), or null without SIMD. */
let plain: { kernels: WasmKernels; arena: WasmArena } | null | undefined;

/**
 * C = op(A)·op(B) for A and B without a batch (see the file comment), on the plain SIMD
 * build: Bᵀ is transposed on the way into seqlab's memory; Aᵀ is read as stored by
 * gemmTNInOrder, which packs it. Null where that build does not run (tfjs's path then).
 */
function unbatchedProduct(
  backend: WasmBackend,
  a: TensorInfo,
  b: TensorInfo,
  { transposeA, transposeB }: Attrs,
  M: number,
  K: number,
  N: number,
  outShape: number[],
): TensorInfo | null {
  if (plain === undefined) {
    // an instance of its own: the shared one (loadKernels) is anyone's, tests' arenas included
    const k = kernelBuild("simd") === "simd" ? instantiateKernels("simd") : null;
    plain = k && { kernels: k, arena: new WasmArena(k) };
  }
  if (!plain) return null;
  const { kernels: k, arena: ar } = plain;
  ar.reset();
  const pa = ar.alloc(M * K);
  const pb = ar.alloc(K * N);
  const pc = ar.alloc(M * N);
  // views after the last alloc: a growing memory detaches earlier ones
  const into = (t: TensorInfo, at: number, rows: number, cols: number, transpose: boolean) => {
    const src = backend.typedArrayFromHeap(t);
    const dst = ar.f32(at, rows * cols);
    if (!transpose) return dst.set(src);
    // src is [cols, rows]: dst[r, c] = src[c, r]
    for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) dst[r * cols + c] = src[c * rows + r];
  };
  into(b, pb, K, N, transposeB);
  if (transposeA) {
    // A as stored, [K, M]
    ar.f32(pa, M * K).set(backend.typedArrayFromHeap(a));
    k.exports.gemmTNInOrder(M, N, K, pa, M, pb, N, pc, N);
  } else {
    into(a, pa, M, K, false);
    k.exports.gemm(M, N, K, pa, K, pb, N, pc, N, 0);
  }
  const out = backend.makeOutput(outShape, "float32");
  backend.typedArrayFromHeap(out).set(ar.f32(pc, M * N));
  return out;
}
