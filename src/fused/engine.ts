/**
 * The fused path's engines and their memory. An engine is one instance of the kernel
 * module with its own wasm memory, a {@link WasmHeap} of blocks in it, and, on the threads
 * build, the worker of the second thread; there is one engine per build and thread setting
 * ("relaxed/1", "relaxed/auto", "simd/2", "scalar/1", …), made on first use.
 *
 * A forward's block stays allocated only between a recorded forward and its backward
 * (workspace.ts); forwards outside tf.grads/minimize free it at once. At most
 * {@link MAX_LIVE} blocks (and {@link MAX_LIVE_BYTES}) wait for their backward; keeping
 * another evicts the oldest, whose backward then recomputes it from the saved inputs, so
 * results never depend on eviction. {@link fusedMemory} reports the memory,
 * {@link releaseFusedMemory} gives it back.
 */
import { instantiateKernels, instantiateSharedKernels, kernelBuild, type KernelBuild, type KernelExports, type WasmKernels } from "./wasm";
import { WasmHeap } from "./heap";
import { SecondThread, parallelMinWork, requestedThreads, AUTO_MIN_STEP_WORK } from "./threads";
import { ThreadTuner } from "./tuning";
import type { FusedSizes } from "./spec";
import { now } from "./profile";

/** Forward blocks that may wait for their backward at once (then the oldest is evicted). */
export const MAX_LIVE = 32;
/** Bytes of forward blocks that may wait for their backward at once. */
export const MAX_LIVE_BYTES = 512 * 2 ** 20;

/** A recorded forward's block in an engine's memory, kept for its backward (a Workspace, a readout's block). */
export interface KeptBlock {
  /** False once the block is freed. */
  readonly alive: boolean;
  readonly bytes: number;
  /** Frees the block (and tells the engine to forget it). */
  release(): void;
}

/** Bytes of the threads' control block in the shared memory. */
const CTRL_BYTES = 128;

/** One kernel instance with its own memory, and the blocks in it. */
export class Engine {
  readonly kernels: WasmKernels;
  readonly heap: WasmHeap;
  /** Forward blocks waiting for their backward, oldest first. */
  readonly live = new Set<KeptBlock>();
  /** Bytes of the blocks in {@link live}. */
  liveBytes = 0;

  /** The worker sharing this engine's memory, if it runs on two threads. */
  readonly second: SecondThread | null = null;
  /** Bytes of the heap held for the engine's lifetime (the threads' control block). */
  readonly reservedBytes: number = 0;

  /** The threads' control block in the shared memory (0: none). */
  private ctrl = 0;
  /** Per kind of kernel call, 1 or 2 threads (mode "auto"). */
  private readonly tuner = new ThreadTuner();

  /**
   * mode = 2 or "auto": the threads build with a worker, if the runtime can (else one
   * thread); "auto" chooses 1 or 2 threads per kernel call by timing (see tuning.ts).
   */
  constructor(
    variant: KernelBuild,
    readonly mode: 1 | 2 | "auto",
  ) {
    const shared = variant !== "scalar" && mode !== 1 ? instantiateSharedKernels(variant) : null;
    this.kernels = shared ? shared.kernels : instantiateKernels(variant);
    this.heap = new WasmHeap(this.kernels.exports.memory, this.kernels.exports.heapBase());
    if (shared) {
      const ctrl = this.heap.alloc(CTRL_BYTES);
      this.reservedBytes = CTRL_BYTES;
      new Int32Array(shared.memory.buffer).fill(0, ctrl >> 2, (ctrl + CTRL_BYTES) >> 2);
      try {
        const second = new SecondThread(shared.module, shared.memory, ctrl);
        if (second.ready) {
          this.kernels.exports.setThreads(ctrl, parallelMinWork());
          this.second = second;
          this.ctrl = ctrl;
        } else second.stop(this.kernels.exports.stopWorker);
      } catch {
        this.second = null; // no worker_threads: one thread on the threads build
      }
    }
  }

  /** 2 when a worker takes half of the large products, else 1. */
  get threads(): 1 | 2 {
    return this.second?.ready ? 2 : 1;
  }

  /** The module's exports. */
  get ex(): KernelExports {
    return this.kernels.exports;
  }

  /** Before a kernel call of kind `key`: the thread count to run it on (set in the module). */
  begin(key: string): 1 | 2 {
    if (!this.second?.ready) return 1;
    const n = this.mode === "auto" ? this.tuner.choose(key) : 2;
    this.ex.setThreads(n === 2 ? this.ctrl : 0, parallelMinWork());
    return n;
  }

  /** The "auto" tuner's account of each kind of call (empty unless the mode is "auto"). */
  threadChoices(): ReturnType<ThreadTuner["report"]> {
    return this.mode === "auto" ? this.tuner.report() : [];
  }

  /** After the kernel call of {@link begin}: its time on n threads. */
  end(key: string, n: 1 | 2, ms: number): void {
    if (this.mode === "auto") this.tuner.record(key, n, ms);
  }

  /** Runs `call`, a kernel call of kind `key`, between {@link begin} and {@link end}; returns its ms. */
  timed(key: string, call: () => void): number {
    const threads = this.begin(key);
    const t0 = now();
    call();
    const ms = now() - t0;
    this.end(key, threads, ms);
    return ms;
  }

  /** Stops the worker (the engine must not be used afterwards). */
  dispose(): void {
    this.second?.stop(this.kernels.exports.stopWorker);
  }

  /** A view of the whole memory (make a new one after every allocation: memory may grow). */
  f32(): Float32Array {
    return new Float32Array(this.kernels.exports.memory.buffer);
  }

  /** Keeps a recorded forward's block for its backward, evicting the oldest beyond the limits. */
  keep(ws: KeptBlock): void {
    this.live.add(ws);
    this.liveBytes += ws.bytes;
    for (const old of this.live) {
      if (this.live.size <= MAX_LIVE && this.liveBytes <= MAX_LIVE_BYTES) break;
      if (old !== ws) old.release();
    }
  }

  /** Forgets a block that {@link keep} kept (its owner frees it). */
  forget(ws: KeptBlock): void {
    if (this.live.delete(ws)) this.liveBytes -= ws.bytes;
  }
}

/** Engines by build and thread setting ("relaxed/1", "relaxed/auto", "simd/2", "scalar/1", …). */
const engines = new Map<string, Engine>();

/** The engine for a problem of sizes `sz`: "auto" uses the worker only for problems big enough to gain from it. */
export function engineFor(variant: KernelBuild, sz: FusedSizes): Engine {
  return engineForWork(variant, sz.B * sz.G * sz.Hp);
}

/**
 * The engine for a kernel call whose parallel part has `work` multiply-adds per job (a
 * recurrent step's B·G·H; an attention call's B·T_out·T_in·D): with threads "auto", the
 * one-thread engine below {@link AUTO_MIN_STEP_WORK}.
 */
export function engineForWork(variant: KernelBuild, work: number): Engine {
  let mode = variant !== "scalar" ? requestedThreads() : 1;
  if (mode === "auto" && work < AUTO_MIN_STEP_WORK) mode = 1;
  const key = `${variant}/${mode}`;
  let e = engines.get(key);
  if (!e) engines.set(key, (e = new Engine(variant, mode)));
  return e;
}

/**
 * What threads "auto" has chosen for each kind of fused kernel call so far, by build: calls
 * on 1 and 2 threads, the best recent time of each, and the count it runs now.
 */
export function fusedThreadChoices(variant: KernelBuild = kernelBuild()): ReturnType<ThreadTuner["report"]> {
  return [...engines].filter(([key]) => key.startsWith(`${variant}/`)).flatMap(([, e]) => e.threadChoices());
}

/** What {@link fusedMemory} reports. */
export interface FusedMemory {
  /** Bytes of wasm memory the runtime holds for the engines. */
  bytes: number;
  /** Bytes in blocks (forwards waiting for a backward, or a call running). */
  usedBytes: number;
  /** Forward blocks waiting for their backward. */
  liveBlocks: number;
  /** The most threads an engine runs on (0 before the first call). */
  threads: number;
  /** Chunks of products the second thread has computed. */
  workerChunks: number;
}

/**
 * The wasm memory of the fused path's engines of this build (one per thread setting
 * used): bytes reserved by the runtime, in blocks, the blocks waiting for a backward,
 * the most threads an engine runs on (0 before the first call) and the chunks of
 * products the second thread has computed.
 */
export function fusedMemory(variant: KernelBuild = kernelBuild()): FusedMemory {
  const r = { bytes: 0, usedBytes: 0, liveBlocks: 0, threads: 0, workerChunks: 0 };
  for (const [key, e] of engines) {
    if (!key.startsWith(`${variant}/`)) continue;
    r.bytes += e.ex.memory.buffer.byteLength;
    r.usedBytes += e.heap.usedBytes - e.reservedBytes;
    r.liveBlocks += e.live.size;
    r.threads = Math.max(r.threads, e.threads);
    r.workerChunks += e.second?.chunks ?? 0;
  }
  return r;
}

/**
 * Gives the fused path's wasm memory back: drops the kernel instances (a wasm memory
 * cannot shrink; an unreferenced instance is garbage-collected with its memory) and stops
 * the second thread's worker, if any. Forwards still waiting for their backward are
 * recomputed then. The next fused call starts a fresh instance. Call it when the models
 * that used the fused path are disposed.
 */
export function releaseFusedMemory(): void {
  for (const e of engines.values()) {
    for (const ws of [...e.live]) ws.release();
    e.dispose();
  }
  engines.clear();
}
