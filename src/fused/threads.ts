/**
 * The second thread of the fused kernels: a worker_threads Worker running the threads
 * variant of the kernel module (seqlab-relaxed-threads.wasm, or seqlab-simd-threads.wasm
 * where relaxed SIMD is not available) over the same shared WebAssembly.Memory as the main
 * thread. The worker only ever runs `workerLoop` (src/fused/assembly/parallel.ts): the
 * main thread's kernels post each timestep (its batch rows in chunks of 4) and each large
 * product over all steps to a 128-byte control block in the shared memory, and both
 * threads claim chunks until none is left (results are bit-identical to one thread). No
 * JavaScript runs per timestep and no message is posted per job.
 *
 * How many threads: {@link setFusedThreads} (1, 2 or "auto"), else the environment
 * variable SEQLAB_THREADS ("1" one thread, "2" two, "auto"), else "auto". With "auto", a problem
 * whose per-step product has at least {@link AUTO_MIN_STEP_WORK} multiply-adds (B·G·H;
 * e.g. the LSTM at B = 32, H = 128) runs on an engine with a worker that times each
 * kernel (per cell, sizes and direction) on one and on two threads and keeps the faster,
 * trying the other once every 16 to 256 calls (tuning.ts): the results are bit-identical either way,
 * and on a shared 2-core machine whose other core is busy one thread can win. Smaller
 * problems stay on one thread without a worker. On two threads, jobs with fewer than
 * {@link MIN_PARALLEL_WORK} multiply-adds stay on the main thread (the barrier costs a
 * few µs).
 */
import * as os from "os";
import { Worker } from "worker_threads";
import { threadsSetting } from "./options";

/** M·N·K of a product below which the second thread is not used. */
export const MIN_PARALLEL_WORK = 1 << 16;

let override: 1 | 2 | "auto" | undefined;
let minWork = MIN_PARALLEL_WORK;

/**
 * Forces the fused kernels to 1 or 2 threads, or back to "auto" / SEQLAB_THREADS
 * (undefined); `minParallelWork` is the M·N·K from which a product is split (tests use 0
 * to split every product). Takes effect for new engines: call releaseFusedMemory() after.
 */
export function setFusedThreads(n: 1 | 2 | "auto" | undefined, minParallelWork = MIN_PARALLEL_WORK): void {
  override = n;
  minWork = minParallelWork;
}

/** The M·N·K from which a product runs on both threads. */
export function parallelMinWork(): number {
  return minWork;
}

/** Per-step multiply-adds (B · G · H) from which "auto" considers two threads. */
export const AUTO_MIN_STEP_WORK = 1 << 18;

/**
 * The thread setting asked for: {@link setFusedThreads}, else SEQLAB_THREADS (1, 2 or
 * auto; options.ts), else "auto". 2 and "auto" need ≥ 2 CPUs, else 1.
 *
 * @throws {FusedOptionError} if SEQLAB_THREADS holds another value.
 */
export function requestedThreads(): 1 | 2 | "auto" {
  const want = override ?? threadsSetting();
  if (want === 1) return 1;
  return cpuCount() >= 2 ? want : 1;
}

/** The CPUs this process may run on, asked once: each call is a system call (~10 µs), and every fused call asks. */
let cpus: number | undefined;
function cpuCount(): number {
  cpus ??= typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  return cpus;
}

const WORKER_SOURCE = `
const { workerData: d } = require("worker_threads");
const instance = new WebAssembly.Instance(d.module, {
  env: { memory: d.memory, abort() { throw new Error("seqlab wasm kernel aborted (worker)"); } },
});
instance.exports.workerLoop(d.ctrl);
`;

/** The worker and its control block. */
export class SecondThread {
  private readonly worker: Worker;
  private stopped = false;

  /**
   * Starts the worker and waits (blocking, at most `timeoutMs`) until it runs workerLoop.
   * Check {@link ready} afterwards.
   */
  constructor(
    module: object,
    readonly memory: { buffer: ArrayBufferLike },
    readonly ctrl: number,
    timeoutMs = 5000,
  ) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, ctrl } });
    this.worker.unref(); // never keeps the process alive
    this.worker.on("error", () => {
      this.stopped = true;
    });
    const i32 = new Int32Array(memory.buffer as SharedArrayBuffer);
    const at = (ctrl + 8) >> 2; // READY
    const t0 = Date.now();
    while (Atomics.load(i32, at) !== 1 && Date.now() - t0 < timeoutMs) Atomics.wait(i32, at, 0, 50);
  }

  /** Whether the worker is in workerLoop. */
  get ready(): boolean {
    if (this.stopped) return false;
    return Atomics.load(new Int32Array(this.memory.buffer as SharedArrayBuffer), (this.ctrl + 8) >> 2) === 1;
  }

  /** Chunks of products the worker has computed so far. */
  get chunks(): number {
    return Atomics.load(new Int32Array(this.memory.buffer as SharedArrayBuffer), (this.ctrl + 12) >> 2);
  }

  /** Ends the worker (stopWorker makes workerLoop return; terminate ends the thread). */
  stop(stopWorker: (ctrl: number) => void): void {
    if (this.stopped) return;
    this.stopped = true;
    stopWorker(this.ctrl);
    void this.worker.terminate().catch(() => undefined);
  }
}
