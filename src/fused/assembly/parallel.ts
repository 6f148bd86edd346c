// AssemblyScript: the fused kernels on two threads. The module built with `--enable threads
// --importMemory --sharedMemory` is instantiated twice over one shared memory: on the main
// thread, which runs the kernels, and in a worker_threads Worker (src/fused/threads.ts),
// which runs workerLoop. The main thread posts jobs, cut into two chunks, through a
// control block in the shared memory; both threads claim chunks (compare-and-swap on one
// counter) until none is left, then the main thread waits for the chunk the worker still
// holds. A worker that the OS has not scheduled costs nothing but that wait.
//
// The jobs, each split so that every value is computed by exactly the same operations as
// on one thread (the results are bit-identical):
//   a timestep (forRows): its batch rows in chunks of whole 4-row tiles; a chunk runs the
//          step's products and gates for its rows back to back (rows of a batch are
//          independent within a step), so a step costs one barrier;
//   gemm   C[M, N] (+)= A·B over all B·T rows (x·Uᵀ with Uᵀ in panels, ∇x): by rows in multiples of 4 when
//          M ≥ 8, else by columns in multiples of 8, so each chunk keeps whole 4 × 8 SIMD
//          tiles. Rows first: a chunk of 4 rows runs at the full gemm speed, while a chunk
//          of 16 columns of B at K = 512 ran at half of it;
//   gemmTN C[M, N] (+)= Aᵀ·B (∇U, ∇W): by rows of C in multiples of 4.
// Builds without threads call the products directly.

import { gemm, gemmTN, gemmPanels, setThreadIndex } from "./gemm";

// Byte offsets in the control block (128 bytes, allocated by JavaScript).
const SEQ = 0; // number of the last job posted (the worker sleeps on it)
const FIN = 4; // chunks of the current job finished
const READY = 8; // 1 while the worker runs workerLoop
const WORKER_CHUNKS = 12; // chunks the worker has run (for tests and the bench)
const NEXT = 16; // i64: job number << 32 | chunk count << 16 | next unclaimed chunk
const KIND = 24; // what the job is, then its arguments from ARGS on
const ARGS = 28;
const JOB_GEMM_ROWS = 1;
const JOB_GEMM_COLS = 2;
const JOB_GEMM_TN = 3;
const JOB_ROWS = 4;
const JOB_PANELS_ROWS = 5;
/**
 * Chunks per job: one per thread. Both threads claim chunks until none is left, so a worker
 * that has not woken up costs nothing (the main thread runs both chunks), one that the OS
 * deschedules mid-chunk costs the rest of that chunk. Eight smaller chunks balanced better
 * under load but were slower on an idle machine, 5–13% per training step (LSTM and GRU at
 * H = 128 and 256, RNN at 256): every chunk of a step's rows reads all of Wᵀ, so eight chunks
 * read it four times per thread, and the 4Hp × Hp weights of H = 256 (1 MB) do not stay in L2.
 */
const CHUNKS = 2;
/** Iterations the worker spins on SEQ before it sleeps in atomic.wait (keeps per-step latency low). */
const SPIN = 200000;

/** This instance's control block (0: one thread). */
let ctrl: usize = 0;
/** M·N·K below which a product runs on the calling thread alone. */
let minWork: i64 = 1 << 16;

/**
 * Turns the second thread on (ctrl = the control block shared with a worker running
 * workerLoop) or off (ctrl = 0); products with M·N·K < work stay on one thread.
 */
export function setThreads(c: usize, work: i32): void {
  ctrl = c;
  minWork = <i64>work;
}

// @ts-ignore: decorator
@inline function workerReady(): bool {
  if (ASC_FEATURE_THREADS) return ctrl != 0 && atomic.load<i32>(ctrl + READY) == 1;
  return false;
}

/**
 * Chunk `k` of `n` of a job: C (+)= A·B over rows (JOB_GEMM_ROWS, multiples of 4) or
 * columns (JOB_GEMM_COLS, multiples of 8) of C, or C (+)= Aᵀ·B over rows of C (JOB_GEMM_TN,
 * multiples of 4). Only the last chunk holds the ragged edge, which therefore goes
 * through the same scalar code as on one thread.
 */
function runChunk(c: usize, kind: i32, k: i32, n: i32): void {
  if (kind == JOB_ROWS) {
    const fn = changetype<StepRows>(<usize>load<u32>(c + ARGS));
    const B = load<i32>(c + ARGS + 8);
    const size = load<i32>(c + ARGS + 40);
    const lo = k * size;
    fn(load<i32>(c + ARGS + 4), lo, k == n - 1 ? B : lo + size);
    return;
  }
  const M = load<i32>(c + ARGS), N = load<i32>(c + ARGS + 4), K = load<i32>(c + ARGS + 8);
  const a = <usize>load<u32>(c + ARGS + 12), lda = load<i32>(c + ARGS + 16);
  const b = <usize>load<u32>(c + ARGS + 20), ldb = load<i32>(c + ARGS + 24);
  const cc = <usize>load<u32>(c + ARGS + 28), ldc = load<i32>(c + ARGS + 32);
  const accumulate = load<i32>(c + ARGS + 36);
  const step = load<i32>(c + ARGS + 40); // rows or columns per chunk
  const lo = k * step;
  const len = k == n - 1 ? (kind == JOB_GEMM_COLS ? N : M) - lo : step;
  if (kind == JOB_GEMM_ROWS) {
    gemm(len, N, K, a + (<usize>(lo * lda) << 2), lda, b, ldb, cc + (<usize>(lo * ldc) << 2), ldc, accumulate);
  } else if (kind == JOB_PANELS_ROWS) {
    gemmPanels(len, N, K, a + (<usize>(lo * lda) << 2), lda, b, ldb, cc + (<usize>(lo * ldc) << 2), ldc, accumulate);
  } else if (kind == JOB_GEMM_COLS) {
    gemm(M, len, K, a, lda, b + (<usize>lo << 2), ldb, cc + (<usize>lo << 2), ldc, accumulate);
  } else {
    gemmTN(len, N, K, a + (<usize>lo << 2), lda, b, ldb, cc + (<usize>(lo * ldc) << 2), ldc, accumulate);
  }
}

/**
 * Claims and runs chunks of job `job` until none is left. The job number, chunk count and
 * next chunk share one 64-bit word, so a claim that succeeds is for job `job`, whose
 * arguments the main thread does not overwrite until every chunk of it is done.
 */
function work(c: usize, job: i32): i32 {
  if (!ASC_FEATURE_THREADS) return 0;
  let ran = 0;
  while (true) {
    const v = atomic.load<i64>(c + NEXT);
    if (<i32>(v >>> 32) != job) break; // another job
    const n = <i32>((v >>> 16) & 0xffff);
    const k = <i32>(v & 0xffff);
    if (k >= n) break;
    if (atomic.cmpxchg<i64>(c + NEXT, v, v + 1) != v) continue;
    runChunk(c, load<i32>(c + KIND), k, n);
    atomic.add<i32>(c + FIN, 1);
    ran++;
  }
  return ran;
}

/** Posts a product of n chunks, works on it with the worker, and returns when all chunks are done. */
function parallel(kind: i32, n: i32, step: i32, M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: i32): void {
  if (!ASC_FEATURE_THREADS) return;
  const w = ctrl;
  store<i32>(w + ARGS, M);
  store<i32>(w + ARGS + 4, N);
  store<i32>(w + ARGS + 8, K);
  store<u32>(w + ARGS + 12, <u32>a);
  store<i32>(w + ARGS + 16, lda);
  store<u32>(w + ARGS + 20, <u32>b);
  store<i32>(w + ARGS + 24, ldb);
  store<u32>(w + ARGS + 28, <u32>c);
  store<i32>(w + ARGS + 32, ldc);
  store<i32>(w + ARGS + 36, accumulate);
  store<i32>(w + ARGS + 40, step);
  run(w, kind, n);
}

/** Posts the job whose arguments are in the control block `w`, works on it, and waits for the worker's last chunk. */
function run(w: usize, kind: i32, n: i32): void {
  store<i32>(w + KIND, kind);
  const job = atomic.load<i32>(w + SEQ) + 1;
  atomic.store<i32>(w + FIN, 0);
  atomic.store<i64>(w + NEXT, (<i64>job << 32) | (<i64>n << 16));
  atomic.store<i32>(w + SEQ, job); // publishes the arguments above
  atomic.notify(w + SEQ, 1);
  work(w, job);
  while (atomic.load<i32>(w + FIN) < n) {} // the chunk the worker holds, if any
}

/** Chunks of `units` units (rows or columns in multiples of `unit`) out of `len`: [count, size]. */
// @ts-ignore: decorator
@inline function chunking(len: i32, unit: i32): i32 {
  const units = (len + unit - 1) / unit;
  return ((units + CHUNKS - 1) / CHUNKS) * unit; // size of a chunk; count = ceil(len / size)
}

/**
 * Rows [r0, r1) of step k of a fused kernel (its other arguments are in the kernel's
 * static block, which both threads read). Rows of a batch are independent within a step:
 * every product and gate of row b reads only row b and the weights.
 */
export type StepRows = (k: i32, r0: i32, r1: i32) => void;

/**
 * Runs rows 0 … B−1 of step k: on this thread, or on both in chunks of whole 4-row tiles
 * when the worker is there, B ≥ 8 and the step has at least minWork multiply-adds (`madds`).
 * The chunks start where the one-thread gemm's 4-row tiles start, and only the last holds
 * the ragged rows, so every row takes the same code path either way: the results are
 * bit-identical. One barrier per step: products and gates of a chunk run back to back.
 */
export function forRows(fn: StepRows, k: i32, B: i32, madds: i64): void {
  if (!workerReady() || B < 8 || madds < minWork) {
    fn(k, 0, B);
    return;
  }
  if (!ASC_FEATURE_THREADS) return;
  const size = chunking(B, 4);
  const w = ctrl;
  store<u32>(w + ARGS, <u32>changetype<usize>(fn));
  store<i32>(w + ARGS + 4, k);
  store<i32>(w + ARGS + 8, B);
  store<i32>(w + ARGS + 40, size);
  run(w, JOB_ROWS, (B + size - 1) / size);
}

/** A forward's steps 0 … T−1, each one job of rows (see {@link forRows}). */
export function forwardSteps(fn: StepRows, T: i32, B: i32, madds: i64): void {
  for (let k = 0; k < T; k++) forRows(fn, k, B, madds);
}

/**
 * ∇_h L as BPTT carries it between steps, for the step rows on either thread: dH holds
 * ∇_h(t) L of the step being run ([B, Hp]), dHn receives ∇_h(t−1) L.
 */
@unmanaged export class Carry {
  dH: usize;
  dHn: usize;
}
export const carry = changetype<Carry>(memory.data(offsetof<Carry>(), 16));

/**
 * BPTT's steps T−1 … 0, each one job of rows (see {@link forRows}), carrying ∇_h L in
 * the scratch buffers dH, dHn [B, Hp], which swap roles after every step (see
 * {@link carry}). Starts from dhT (∂L/∂h(T); 0: zeros) and writes ∇_h L before the
 * first step to dh0.
 */
export function backwardSteps(fn: StepRows, T: i32, B: i32, Hp: i32, madds: i64, dhT: usize, dH: usize, dHn: usize, dh0: usize): void {
  const bytes = <usize>(B * Hp) << 2;
  if (dhT) memory.copy(dH, dhT, bytes);
  else memory.fill(dH, 0, bytes);
  for (let k = T - 1; k >= 0; k--) {
    carry.dH = dH;
    carry.dHn = dHn;
    forRows(fn, k, B, madds);
    const swap = dH;
    dH = dHn;
    dHn = swap;
  }
  memory.copy(dh0, dH, bytes);
}

/** {@link gemm}, on two threads when the worker is there and the product is large enough. */
export function pgemm(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: i32): void {
  if (!workerReady() || <i64>M * <i64>N * <i64>K < minWork || (M < 8 && N < 16)) {
    gemm(M, N, K, a, lda, b, ldb, c, ldc, accumulate);
  } else if (M >= 8 || N < 16) {
    const step = chunking(M, 4);
    parallel(JOB_GEMM_ROWS, (M + step - 1) / step, step, M, N, K, a, lda, b, ldb, c, ldc, accumulate);
  } else {
    const step = chunking(N, 8);
    parallel(JOB_GEMM_COLS, (N + step - 1) / step, step, M, N, K, a, lda, b, ldb, c, ldc, accumulate);
  }
}

/** {@link gemmPanels} (B in panels, panel stride ldp), on two threads like {@link pgemm} (chunks of rows of C). */
export function pgemmPanels(M: i32, N: i32, K: i32, a: usize, lda: i32, bp: usize, ldp: i32, c: usize, ldc: i32, accumulate: i32): void {
  if (!workerReady() || M < 8 || <i64>M * <i64>N * <i64>K < minWork) {
    gemmPanels(M, N, K, a, lda, bp, ldp, c, ldc, accumulate);
    return;
  }
  const step = chunking(M, 4);
  parallel(JOB_PANELS_ROWS, (M + step - 1) / step, step, M, N, K, a, lda, bp, ldp, c, ldc, accumulate);
}

/** {@link gemmTN}, on two threads like {@link pgemm} (chunks of rows of C). */
export function pgemmTN(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: i32): void {
  if (!workerReady() || M < 8 || <i64>M * <i64>N * <i64>K < minWork) {
    gemmTN(M, N, K, a, lda, b, ldb, c, ldc, accumulate);
    return;
  }
  const step = chunking(M, 4);
  parallel(JOB_GEMM_TN, (M + step - 1) / step, step, M, N, K, a, lda, b, ldb, c, ldc, accumulate);
}

/**
 * The worker's side: waits for jobs in the control block `c` and claims chunks of them
 * until it is told to quit (stopWorker). Returns 0, or −1 in a build without threads.
 */
export function workerLoop(c: usize): i32 {
  if (!ASC_FEATURE_THREADS) return -1;
  setThreadIndex(1);
  let seen = atomic.load<i32>(c + SEQ);
  atomic.store<i32>(c + READY, 1);
  atomic.notify(c + READY, 1);
  while (true) {
    let s = atomic.load<i32>(c + SEQ);
    for (let k = 0; s == seen && k < SPIN; k++) s = atomic.load<i32>(c + SEQ);
    if (s == seen) {
      atomic.wait<i32>(c + SEQ, seen, -1);
      continue;
    }
    seen = s;
    if (atomic.load<i32>(c + READY) == 2) break; // stopWorker
    const ran = work(c, s);
    if (ran) atomic.add<i32>(c + WORKER_CHUNKS, ran);
  }
  atomic.store<i32>(c + READY, 0);
  return 0;
}

/** Tells the worker on control block `c` to leave workerLoop (from the main thread, between kernel calls). */
export function stopWorker(c: usize): void {
  if (!ASC_FEATURE_THREADS) return;
  if (ctrl == c) ctrl = 0;
  atomic.store<i32>(c + READY, 2);
  atomic.store<i32>(c + SEQ, atomic.load<i32>(c + SEQ) + 1);
  atomic.notify(c + SEQ, 1);
}
