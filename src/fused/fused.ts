/**
 * The fused recurrent kernels, seen from tfjs: one WebAssembly call runs a whole
 * sequence forward (src/fused/assembly/{rnn,lstm,gru,gru-pytorch}.ts), one call runs
 * BPTT over it, and tfjs's custom-gradient op makes the pair one differentiable tfjs op
 * (the engine's runKernelFunc, which tf.customGrad builds on, so that ∂L/∂x is computed
 * only when backprop asks for it). This is
 * what {@link unroll} runs by default for seqlab's four cells; the tfjs-op unroll stays
 * the readable reference (`unroll(…, {fused: false})`, or SEQLAB_FUSED=0).
 *
 * Why: tfjs dispatches every op on its own (tens of µs each), and a recurrent step is
 * dozens of small ops, so a training step is mostly dispatch. Here the per-step work
 * runs inside wasm: a 4 × 8 SIMD gemm for h(t−1)·Wᵀ, in-place SIMD σ/tanh, and the input
 * projection x·Uᵀ, ∇U, ∇W, ∇x as single gemms over all B·T rows. Large problems may run
 * the products on two threads (by default where timing shows that it pays; SEQLAB_THREADS
 * or setFusedThreads force 1 or 2; see src/fused/threads.ts).
 *
 * Data flow of one call, forward:
 *   x, U, W, b, (peepholes | bh), h0, (s0), mask  →  copied into a block of wasm memory
 *   kernel forward: gates, states (kept in the block for the backward)
 *   outputs [B, T, H] and the final state  →  one flat tfjs tensor, sliced by the caller
 * backward (the op's gradient): ∂L/∂(flat output) → kernel backward (same block)
 *   → ∂L/∂x, ∂L/∂(each parameter), ∂L/∂(each given initial state) as tfjs tensors.
 * The block stays allocated only between a recorded forward and its backward; forwards
 * outside tf.grads/minimize free it at once. At most {@link MAX_LIVE} blocks (and
 * {@link MAX_LIVE_BYTES}) wait for their backward; an evicted one is recomputed from the
 * saved inputs, so results never depend on it.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import type { AnyCell } from "../cells/cell";
import type { FusedCell } from "./spec";
import { instantiateKernels, instantiateSharedKernels, kernelBuild, type KernelBuild, type KernelExports, type WasmKernels } from "./wasm";
import { WasmHeap } from "./heap";
import { SecondThread, parallelMinWork, requestedThreads, AUTO_MIN_STEP_WORK } from "./threads";

/** Which build of the kernels: SIMD with relaxed-SIMD FMA, SIMD, or the scalar fallback (see wasm.ts). */
export type FusedVariant = KernelBuild;

/** Forward blocks that may wait for their backward at once (then the oldest is evicted). */
export const MAX_LIVE = 32;
/** Bytes of forward blocks that may wait for their backward at once. */
export const MAX_LIVE_BYTES = 512 * 2 ** 20;

/**
 * The kernel build {@link unroll} should use for `cell`, or null for the tfjs-op
 * reference path. `option` is UnrollOptions.fused: false → reference; "relaxed" /
 * "simd" / "scalar" → that build (or the next slower one the runtime validates); true or
 * undefined → SEQLAB_FUSED decides ("0", "false", "off": reference; "relaxed", "simd",
 * "scalar": that build; anything else or unset: the fastest build the runtime validates).
 * A cell runs fused when it declares a kernel description (`cell.fused`, see spec.ts);
 * any other cell runs the reference path.
 */
export function fusedVariant(cell: AnyCell, option: boolean | FusedVariant | undefined): FusedVariant | null {
  if (!cell.fused || option === false) return null;
  if (option === "relaxed" || option === "simd" || option === "scalar") return kernelBuild(option);
  if (option === undefined) {
    const env = (process.env.SEQLAB_FUSED ?? "").trim().toLowerCase();
    if (env === "0" || env === "false" || env === "off") return null;
    if (env === "relaxed" || env === "simd" || env === "scalar") return kernelBuild(env);
  }
  return kernelBuild();
}

/** Time spent and bytes moved by the fused path since the last {@link resetFusedProfile}. */
export interface FusedProfile {
  forwardCalls: number;
  backwardCalls: number;
  /** Forwards run again in a backward because their block had been evicted, or for a late ∂L/∂x. */
  recomputes: number;
  /** Backwards that skipped ∂L/∂x because x was data, not on the gradient tape. */
  dxSkipped: number;
  /** Bytes copied from tfjs tensors into wasm memory, and back out. */
  bytesIn: number;
  bytesOut: number;
  /** ms in copies (tfjs ↔ JS ↔ wasm, padding) and in the wasm kernels. */
  msCopy: number;
  msKernel: number;
}

const profile: FusedProfile = { forwardCalls: 0, backwardCalls: 0, recomputes: 0, dxSkipped: 0, bytesIn: 0, bytesOut: 0, msCopy: 0, msKernel: 0 };

/** A copy of the fused path's counters. */
export function fusedProfile(): FusedProfile {
  return { ...profile };
}

/** Zeroes the counters of {@link fusedProfile}. */
export function resetFusedProfile(): void {
  Object.assign(profile, { forwardCalls: 0, backwardCalls: 0, recomputes: 0, dxSkipped: 0, bytesIn: 0, bytesOut: 0, msCopy: 0, msKernel: 0 });
}

/** One kernel instance with its own memory, and the blocks in it. */
class Engine {
  readonly kernels: WasmKernels;
  readonly heap: WasmHeap;
  /** Forward blocks waiting for their backward, oldest first. */
  readonly live = new Set<Workspace>();
  liveBytes = 0;

  /** The worker sharing this engine's memory, if it runs on two threads. */
  readonly second: SecondThread | null = null;
  /** Bytes of the heap held for the engine's lifetime (the threads' control block). */
  readonly reservedBytes: number = 0;

  /** The threads' control block in the shared memory (0: none). */
  private ctrl = 0;
  /** Per kernel key ("auto"): the last kernel times on 1 and on 2 threads, the calls on each, and the probing state. */
  private readonly tuning = new Map<string, { ms: [number[], number[]]; runs: [number, number]; calls: number; every: number; probing: boolean }>();

  /**
   * threads = 2 or "auto": the threads build with a worker, if the runtime can (else one
   * thread); "auto" chooses 1 or 2 threads per kernel call by timing (see {@link begin}).
   */
  constructor(
    variant: FusedVariant,
    readonly mode: 1 | 2 | "auto",
  ) {
    const threads = mode;
    const shared = variant !== "scalar" && threads !== 1 ? instantiateSharedKernels(variant) : null;
    this.kernels = shared ? shared.kernels : instantiateKernels(variant);
    this.heap = new WasmHeap(this.kernels.exports.memory, this.kernels.exports.heapBase());
    if (shared) {
      const ctrl = this.heap.alloc(128);
      this.reservedBytes = 128;
      new Int32Array(shared.memory.buffer).fill(0, ctrl >> 2, (ctrl + 128) >> 2);
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

  /**
   * Before a kernel call of kind `key`: the thread count to run it on (set in the module).
   * "auto" alternates 2 and 1 threads for the first six calls (the first call on each only
   * warms up: the engine compiles hot wasm code in tiers, and the worker's copy starts
   * cold), then runs whichever has the lower best time among its last {@link WINDOW} calls
   * (a spike from the OS or the garbage collector never makes a setting look faster), and
   * the other one once every 16 calls, so that the choice follows the load; each probe that
   * loses again doubles that interval, up to 256 calls.
   */
  begin(key: string): 1 | 2 {
    if (!this.second?.ready) return 1;
    let n: 1 | 2 = 2;
    if (this.mode === "auto") {
      let t = this.tuning.get(key);
      if (!t) this.tuning.set(key, (t = { ms: [[], []], runs: [0, 0], calls: 0, every: 16, probing: false }));
      t.probing = false;
      if (t.runs[0] < 3 || t.runs[1] < 3) n = t.runs[1] <= t.runs[0] ? 2 : 1;
      else {
        n = best(t.ms[0]) <= best(t.ms[1]) ? 1 : 2;
        if (++t.calls >= t.every) {
          t.calls = 0;
          t.probing = true;
          n = n === 1 ? 2 : 1;
        }
      }
    }
    this.ex.setThreads(n === 2 ? this.ctrl : 0, parallelMinWork());
    return n;
  }

  /** After the kernel call of {@link begin}: its time on n threads. */
  end(key: string, n: 1 | 2, ms: number): void {
    const t = this.tuning.get(key);
    if (!t) return;
    if (++t.runs[n - 1] === 1) return; // the warm-up call
    const times = t.ms[n - 1];
    times.push(ms);
    if (times.length > WINDOW) times.shift();
    if (t.probing) t.every = ms < best(t.ms[2 - n]) ? 16 : Math.min(2 * t.every, 256);
  }

  /** Stops the worker (the engine must not be used afterwards). */
  dispose(): void {
    this.second?.stop(this.kernels.exports.stopWorker);
  }

  get ex(): KernelExports {
    return this.kernels.exports;
  }

  /** A view of the whole memory (make a new one after every allocation: memory may grow). */
  f32(): Float32Array {
    return new Float32Array(this.kernels.exports.memory.buffer);
  }

  keep(ws: Workspace): void {
    this.live.add(ws);
    this.liveBytes += ws.bytes;
    for (const old of this.live) {
      if (this.live.size <= MAX_LIVE && this.liveBytes <= MAX_LIVE_BYTES) break;
      if (old !== ws) old.release();
    }
  }
}

/** Kernel calls per thread count whose times "auto" compares (the best of them). */
const WINDOW = 4;

function best(times: number[]): number {
  return times.length ? Math.min(...times) : Infinity;
}

/** Engines by build and thread setting ("relaxed/1", "relaxed/auto", "simd/2", "scalar/1", …). */
const engines = new Map<string, Engine>();

/** The engine for a problem of sizes `sz`: "auto" uses the worker only for problems big enough to gain from it. */
function engine(variant: FusedVariant, sz: Sizes): Engine {
  let mode = variant !== "scalar" ? requestedThreads() : 1;
  if (mode === "auto" && sz.B * sz.G * sz.Hp < AUTO_MIN_STEP_WORK) mode = 1;
  const key = `${variant}/${mode}`;
  let e = engines.get(key);
  if (!e) engines.set(key, (e = new Engine(variant, mode)));
  return e;
}

/**
 * The wasm memory of the fused path's engines of this build (one per thread setting
 * used): bytes reserved by the runtime, in blocks, the blocks waiting for a backward,
 * the most threads an engine runs on (0 before the first call) and the chunks of
 * products the second thread has computed.
 */
export function fusedMemory(variant: FusedVariant = kernelBuild()): { bytes: number; usedBytes: number; liveBlocks: number; threads: number; workerChunks: number } {
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
 * the second thread's worker, if any. Forwards
 * still waiting for their backward are recomputed then. The next fused call starts a
 * fresh instance. Call it when the models that used the fused path are disposed.
 */
export function releaseFusedMemory(): void {
  for (const e of engines.values()) {
    for (const ws of [...e.live]) ws.release();
    e.dispose();
  }
  engines.clear();
}

/** Sizes of one fused call: T, B, I, H; Hp = H rounded up to 8; G = nG·Hp; G0 = nG·H. */
interface Sizes {
  B: number;
  T: number;
  I: number;
  H: number;
  Hp: number;
  nG: number;
  G: number;
  G0: number;
}

/** Float32 offsets inside one block, 64-byte aligned. */
class Layout {
  bytes = 0;
  take(n: number): number {
    const at = this.bytes;
    this.bytes += Math.ceil((n * 4) / 64) * 64;
    return at;
  }
}

/** The values a forward reads, as plain arrays. */
interface ForwardInputs {
  x: Float32Array;
  params: Record<string, Float32Array>;
  state: Record<string, Float32Array | undefined>;
  mask?: Float32Array;
}

const now = () => performance.now();

/** One forward's block: the inputs, gates and states the backward needs. */
class Workspace {
  alive = true;
  readonly block: number;
  readonly bytes: number;
  /** Byte offsets (absolute) of the arrays, by name. */
  readonly p: Record<string, number> = {};

  constructor(
    readonly engine: Engine,
    readonly spec: FusedCell,
    readonly sz: Sizes,
    readonly peep: boolean,
    readonly reverse: boolean,
    readonly hasMask: boolean,
  ) {
    const { B, T, I, H, Hp, G, G0 } = sz;
    const L = new Layout();
    const off: Record<string, number> = {};
    const name = spec.name;
    const arrays: [string, number][] = [
      ["x", B * T * I], ["Uraw", G0 * I], ["Wraw", G0 * H], ["braw", G0],
      ["UT", I * G], ["WT", Hp * G], ["Up", G * I], ["Wp", G * Hp], ["bias", G],
      ["h0", B * Hp], ["act", B * T * G], ["HP", B * T * Hp], ["out", B * T * Hp], ["hT", B * Hp],
    ];
    if (hasMask) arrays.push(["mask", B * T]);
    if (name === "lstm") {
      arrays.push(["s0", B * Hp], ["SP", B * T * Hp], ["SN", B * T * Hp], ["TS", B * T * Hp], ["sT", B * Hp]);
      if (peep) arrays.push(["peepRaw", 3 * H], ["peep", 3 * Hp]);
    }
    if (name === "gru") arrays.push(["RH", B * T * Hp]);
    if (name === "gru-pytorch") arrays.push(["bhRaw", G0], ["bh", G], ["HN", B * T * Hp], ["GH", B * G]);
    for (const [key, n] of arrays) off[key] = L.take(n);
    this.bytes = L.bytes;
    this.block = engine.heap.alloc(L.bytes);
    for (const key of Object.keys(off)) this.p[key] = this.block + off[key];
  }

  /** Copies the inputs in and runs the forward kernel. */
  forward(inputs: ForwardInputs): void {
    const { B, T, I, H, Hp, nG } = this.sz;
    const e = this.engine;
    const ex = e.ex;
    const p = this.p;
    const t0 = now();
    const mem = e.f32();
    mem.set(inputs.x, p.x >> 2);
    mem.set(inputs.params.U, p.Uraw >> 2);
    mem.set(inputs.params.W, p.Wraw >> 2);
    mem.set(inputs.params.b, p.braw >> 2);
    let bytes = 4 * (inputs.x.length + inputs.params.U.length + inputs.params.W.length + inputs.params.b.length);
    putPadded(mem, p.h0, inputs.state.h, B, H, Hp);
    if (this.spec.name === "lstm") putPadded(mem, p.s0, inputs.state.s, B, H, Hp);
    bytes += 4 * B * H * this.spec.stateKeys.length;
    if (this.hasMask) {
      mem.set(inputs.mask!, p.mask >> 2);
      bytes += 4 * B * T;
    }
    // Up row-major; UT, WT, Wp in panels of 8 columns for the products that read them
    ex.packGates(p.Uraw, nG, H, I, Hp, I, p.Up, 0, p.UT);
    ex.packGates(p.Wraw, nG, H, H, Hp, Hp, p.Wp, 1, p.WT);
    ex.packGates(p.braw, nG, H, 1, Hp, 1, p.bias, 0, 0);
    if (this.peep) {
      mem.set(inputs.params.wci, p.peepRaw >> 2);
      mem.set(inputs.params.wcf, (p.peepRaw >> 2) + H);
      mem.set(inputs.params.wco, (p.peepRaw >> 2) + 2 * H);
      ex.packGates(p.peepRaw, 3, H, 1, Hp, 1, p.peep, 0, 0);
      bytes += 12 * H;
    }
    if (this.spec.name === "gru-pytorch") {
      mem.set(inputs.params.bh, p.bhRaw >> 2);
      ex.packGates(p.bhRaw, nG, H, 1, Hp, 1, p.bh, 0, 0);
      bytes += 4 * inputs.params.bh.length;
    }
    const key = `${this.spec.name} fwd ${B} ${T} ${I} ${Hp}`;
    const threads = e.begin(key);
    const t1 = now();
    const rev = this.reverse ? 1 : 0;
    const mask = this.hasMask ? p.mask : 0;
    switch (this.spec.name) {
      case "rnn":
        ex.rnnForward(B, T, I, Hp, rev, p.x, p.UT, p.WT, p.bias, p.h0, mask, p.act, p.HP, p.out, p.hT);
        break;
      case "lstm": {
        const [wci, wcf, wco] = this.peep ? [p.peep, p.peep + 4 * Hp, p.peep + 8 * Hp] : [0, 0, 0];
        ex.lstmForward(B, T, I, Hp, rev, this.peep ? 1 : 0, p.x, p.UT, p.WT, p.bias, wci, wcf, wco, p.h0, p.s0, mask,
          p.act, p.HP, p.SP, p.SN, p.TS, p.out, p.hT, p.sT);
        break;
      }
      case "gru":
        ex.gruForward(B, T, I, Hp, rev, p.x, p.UT, p.WT, p.bias, p.h0, mask, p.act, p.HP, p.RH, p.out, p.hT);
        break;
      case "gru-pytorch":
        ex.gruPytorchForward(B, T, I, Hp, rev, p.x, p.UT, p.WT, p.bias, p.bh, p.h0, mask, p.act, p.HP, p.HN, p.GH, p.out, p.hT);
        break;
    }
    const t2 = now();
    e.end(key, threads, t2 - t1);
    profile.forwardCalls++;
    profile.bytesIn += bytes;
    profile.msCopy += t1 - t0;
    profile.msKernel += t2 - t1;
  }

  /** The outputs [B, T, H] (if wanted) then the final state (h, then s), flat. */
  readOutputs(returnSequences: boolean): Float32Array {
    const { B, T, H, Hp } = this.sz;
    const t0 = now();
    const mem = this.engine.f32();
    const n = (returnSequences ? B * T * H : 0) + this.spec.stateKeys.length * B * H;
    const flat = new Float32Array(n);
    let k = 0;
    if (returnSequences) k = getUnpadded(mem, this.p.out, B * T, H, Hp, flat, k);
    k = getUnpadded(mem, this.p.hT, B, H, Hp, flat, k);
    if (this.spec.name === "lstm") getUnpadded(mem, this.p.sT, B, H, Hp, flat, k);
    profile.bytesOut += 4 * n;
    profile.msCopy += now() - t0;
    return flat;
  }

  /**
   * BPTT from dy = ∂L/∂(flat output of {@link readOutputs}); returns ∂L/∂x (null unless
   * `wantDx`), ∂L/∂(each parameter, as the cell stores it), ∂L/∂(h0, s0). Overwrites the
   * gates (call once).
   */
  backward(dy: Float32Array, returnSequences: boolean, wantDx: boolean): { dx: Float32Array | null; params: Record<string, Float32Array>; state: Record<string, Float32Array> } {
    const { B, T, I, H, Hp, nG, G } = this.sz;
    const e = this.engine;
    const ex = e.ex;
    const p = this.p;
    const lstm = this.spec.name === "lstm";
    const t0 = now();
    const L = new Layout();
    const arrays: [string, number][] = [
      ["dhT", B * Hp], ["dH", B * Hp], ["dHn", B * Hp], ["dS", B * Hp], ["dx", B * T * I], ["dU", G * I], ["dW", G * Hp],
      ["db", G], ["dbh", G], ["dw", 3 * Hp], ["dh0", B * Hp], ["ds0", B * Hp], ["dsT", B * Hp],
    ];
    if (returnSequences) arrays.push(["dOut", B * T * Hp]);
    if (this.spec.name === "gru-pytorch") arrays.push(["DGH", B * T * G]);
    const off: Record<string, number> = {};
    for (const [key, n] of arrays) off[key] = L.take(n);
    const block = e.heap.alloc(L.bytes);
    try {
      const q: Record<string, number> = {};
      for (const key of Object.keys(off)) q[key] = block + off[key];
      const mem = e.f32();
      let k = 0;
      if (returnSequences) k = putPaddedFrom(mem, q.dOut, dy, k, B * T, H, Hp);
      k = putPaddedFrom(mem, q.dhT, dy, k, B, H, Hp);
      if (lstm) putPaddedFrom(mem, q.dsT, dy, k, B, H, Hp);
      profile.bytesIn += 4 * dy.length;
      const key = `${this.spec.name} bwd ${B} ${T} ${I} ${Hp}`;
      const threads = e.begin(key);
      const t1 = now();
      const rev = this.reverse ? 1 : 0;
      const mask = this.hasMask ? p.mask : 0;
      const dOut = returnSequences ? q.dOut : 0;
      const dx = wantDx ? q.dx : 0;
      switch (this.spec.name) {
        case "rnn":
          ex.rnnBackward(B, T, I, Hp, rev, p.x, p.Wp, p.Up, mask, p.act, p.HP, dOut, q.dhT, q.dH, q.dHn, dx, q.dU, q.dW, q.db, q.dh0);
          break;
        case "lstm": {
          const [wci, wcf, wco] = this.peep ? [p.peep, p.peep + 4 * Hp, p.peep + 8 * Hp] : [0, 0, 0];
          ex.lstmBackward(B, T, I, Hp, rev, this.peep ? 1 : 0, p.x, p.Wp, p.Up, wci, wcf, wco, mask,
            p.act, p.HP, p.SP, p.SN, p.TS, dOut, q.dhT, q.dsT, q.dH, q.dHn, q.dS,
            dx, q.dU, q.dW, q.db, q.dw, q.dw + 4 * Hp, q.dw + 8 * Hp, q.dh0, q.ds0);
          break;
        }
        case "gru":
          ex.gruBackward(B, T, I, Hp, rev, p.x, p.Wp, p.Up, mask, p.act, p.HP, p.RH, dOut, q.dhT, q.dH, q.dHn, q.dS, dx, q.dU, q.dW, q.db, q.dh0);
          break;
        case "gru-pytorch":
          ex.gruPytorchBackward(B, T, I, Hp, rev, p.x, p.Wp, p.Up, mask, p.act, p.HP, p.HN, q.DGH, dOut, q.dhT, q.dH, q.dHn,
            dx, q.dU, q.dW, q.db, q.dbh, q.dh0);
          break;
      }
      const t2 = now();
      e.end(key, threads, t2 - t1);
      const m = e.f32();
      const params: Record<string, Float32Array> = {
        U: gateRows(m, q.dU, nG, H, Hp, I, I),
        W: gateRows(m, q.dW, nG, H, Hp, H, Hp),
        b: gateRows(m, q.db, nG, H, Hp, 1, 1),
      };
      if (this.peep) {
        const dw = gateRows(m, q.dw, 3, H, Hp, 1, 1);
        params.wci = dw.slice(0, H);
        params.wcf = dw.slice(H, 2 * H);
        params.wco = dw.slice(2 * H);
      }
      if (this.spec.name === "gru-pytorch") params.bh = gateRows(m, q.dbh, nG, H, Hp, 1, 1);
      const dxOut = wantDx ? m.slice(q.dx >> 2, (q.dx >> 2) + B * T * I) : null;
      const state: Record<string, Float32Array> = { h: unpad(m, q.dh0, B, H, Hp) };
      if (lstm) state.s = unpad(m, q.ds0, B, H, Hp);
      let out = dxOut?.length ?? 0;
      for (const v of Object.values(params)) out += v.length;
      for (const v of Object.values(state)) out += v.length;
      profile.bytesOut += 4 * out;
      profile.backwardCalls++;
      if (!wantDx) profile.dxSkipped++;
      profile.msKernel += t2 - t1;
      profile.msCopy += t1 - t0 + (now() - t2);
      return { dx: dxOut, params, state };
    } finally {
      e.heap.release(block);
    }
  }

  /** Frees the block (the forward's gates are gone; a later backward recomputes them). */
  release(): void {
    if (!this.alive) return;
    this.alive = false;
    if (this.engine.live.delete(this)) this.engine.liveBytes -= this.bytes;
    this.engine.heap.release(this.block);
  }
}

/** Writes rows [rows, H] (zeros if absent) into [rows, Hp] at byte offset `at`. */
function putPadded(mem: Float32Array, at: number, src: Float32Array | undefined, rows: number, H: number, Hp: number): void {
  const base = at >> 2;
  if (!src) {
    mem.fill(0, base, base + rows * Hp);
    return;
  }
  if (H === Hp) {
    mem.set(src, base);
    return;
  }
  mem.fill(0, base, base + rows * Hp);
  for (let r = 0; r < rows; r++) mem.set(src.subarray(r * H, (r + 1) * H), base + r * Hp);
}

/** {@link putPadded} from src[k …]; returns the index after what it read. */
function putPaddedFrom(mem: Float32Array, at: number, src: Float32Array, k: number, rows: number, H: number, Hp: number): number {
  putPadded(mem, at, src.subarray(k, k + rows * H), rows, H, Hp);
  return k + rows * H;
}

/** Copies [rows, Hp] at byte offset `at` into dst[k …] as [rows, H]; returns the index after. */
function getUnpadded(mem: Float32Array, at: number, rows: number, H: number, Hp: number, dst: Float32Array, k: number): number {
  const base = at >> 2;
  if (H === Hp) dst.set(mem.subarray(base, base + rows * H), k);
  else for (let r = 0; r < rows; r++) dst.set(mem.subarray(base + r * Hp, base + r * Hp + H), k + r * H);
  return k + rows * H;
}

function unpad(mem: Float32Array, at: number, rows: number, H: number, Hp: number): Float32Array {
  const out = new Float32Array(rows * H);
  getUnpadded(mem, at, rows, H, Hp, out, 0);
  return out;
}

/** The gate-stacked [nG·Hp, colsP] array at `at` as the cell stores it, [nG·H, cols]. */
function gateRows(mem: Float32Array, at: number, nG: number, H: number, Hp: number, cols: number, colsP: number): Float32Array {
  const out = new Float32Array(nG * H * cols);
  const base = at >> 2;
  for (let g = 0; g < nG; g++) {
    if (cols === colsP) {
      const from = base + g * Hp * colsP;
      out.set(mem.subarray(from, from + H * cols), g * H * cols);
      continue;
    }
    for (let c = 0; c < H; c++) {
      const from = base + (g * Hp + c) * colsP;
      out.set(mem.subarray(from, from + cols), (g * H + c) * cols);
    }
  }
  return out;
}

/** Whether tfjs is recording a gradient tape right now (inside tf.grads, minimize, …). */
function recording(): boolean {
  const state = (tf.engine() as unknown as { state?: { gradientDepth?: number; kernelDepth?: number } }).state;
  if (state?.gradientDepth === undefined) return true; // unknown tfjs internals: keep the block, eviction bounds it
  return state.gradientDepth > 0 && (state.kernelDepth ?? 0) === 0;
}

/**
 * Whether `t` is on the gradient tape being recorded: a trainable variable, or the output
 * of an op recorded on the tape. (True when tfjs's internals are not as expected.)
 */
function onTape(t: Tensor): boolean {
  if (t instanceof tf.Variable) return t.trainable;
  const tape = (tf.engine() as unknown as { state?: { activeTape?: { outputs?: Tensor[] }[] } }).state?.activeTape;
  if (!Array.isArray(tape)) return true;
  return tape.some((node) => !Array.isArray(node.outputs) || node.outputs.some((o) => o.id === t.id));
}

type LazyGradientOp = (invocation: {
  inputs: Record<string, Tensor>;
  forwardFunc: (backend: unknown, save: (ts: Tensor[]) => void) => Tensor;
  backwardsFunc: (dy: Tensor, saved: Tensor[]) => Record<string, () => Tensor>;
}) => Tensor;

/**
 * tfjs's Engine.runKernelFunc, the op that tf.customGrad builds on, whose gradient map
 * computes each input's gradient only when backprop needs it; null if this tfjs has none
 * (then tf.customGrad, which computes every gradient).
 */
function lazyGradientOp(): LazyGradientOp | null {
  const engine = tf.engine() as unknown as { runKernelFunc?: LazyGradientOp };
  return typeof engine.runKernelFunc === "function" ? engine.runKernelFunc.bind(engine) : null;
}

/** What {@link fusedUnroll} needs besides the cell, parameters and x. */
export interface FusedUnrollOptions {
  initialState?: { readonly [key: string]: Tensor2D | undefined };
  reverse?: boolean;
  mask?: Tensor2D;
  returnSequences: boolean;
  variant: FusedVariant;
}

function f32Of(t: Tensor): Float32Array {
  const v = t.dataSync();
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

/**
 * {@link unroll} on the fused kernels, differentiable (a custom-gradient op) with respect
 * to x, every parameter and every given initial state (the mask is a constant). The caller
 * (unroll) has checked the shapes: I, H come from the cell's `sizes`. Returns the outputs
 * [B, T, H] (if `returnSequences`) and the final state; call it inside `tf.tidy`.
 */
export function fusedUnroll(
  cell: AnyCell,
  params: { readonly [name: string]: Tensor | undefined },
  x: Tensor3D,
  H: number,
  options: FusedUnrollOptions,
): { outputs?: Tensor3D; state: Record<string, Tensor2D> } {
  const spec = cell.fused;
  if (!spec) throw new Error(`fusedUnroll: no fused kernels for the cell "${cell.name}"`);
  const [B, T, I] = x.shape;
  const Hp = Math.ceil(H / 8) * 8;
  const sz: Sizes = { B, T, I, H, Hp, nG: spec.nG, G: spec.nG * Hp, G0: spec.nG * H };
  const pNames = spec.params.filter((k) => params[k] !== undefined);
  const given = options.initialState ?? {};
  const sNames = spec.stateKeys.filter((k) => given[k] !== undefined);
  const peep = spec.name === "lstm" && pNames.includes("wci");
  const mask = options.mask ? f32Of(options.mask) : undefined;
  const { returnSequences, variant } = options;
  const reverse = options.reverse ?? false;
  const record = recording();
  const inputs: Tensor[] = [x, ...pNames.map((k) => params[k]!), ...sNames.map((k) => given[k]!)];
  const shapes = inputs.map((t) => t.shape);

  const readInputs = (ts: readonly Tensor[]): ForwardInputs => {
    const t0 = now();
    const values: ForwardInputs = {
      x: f32Of(ts[0]),
      params: Object.fromEntries(pNames.map((k, j) => [k, f32Of(ts[1 + j])])),
      state: Object.fromEntries(sNames.map((k, j) => [k, f32Of(ts[1 + pNames.length + j])])),
      mask,
    };
    profile.msCopy += now() - t0;
    return values;
  };
  const run = (values: ForwardInputs): Workspace => {
    const ws = new Workspace(engine(variant, sz), spec, sz, peep, reverse, mask !== undefined);
    try {
      ws.forward(values);
    } catch (e) {
      ws.release();
      throw e;
    }
    return ws;
  };

  // Whether x needs ∂L/∂x: it does if it is a trainable variable or the output of an op
  // on the tape (an embedding, a layer below). Data fed from outside does not; then the
  // backward skips the ∂x product, and if a caller asks for ∂x anyway (tf.grads with x
  // among its xs), the lazy gradient below recomputes forward and backward with it.
  const wantDx = !record || onTape(x);
  /** The recorded forward's block, until its backward takes it. */
  let live: Workspace | null = null;
  const forward = (ts: readonly Tensor[]): Tensor => {
    const ws = run(readInputs(ts));
    const flat = ws.readOutputs(returnSequences);
    if (record) {
      ws.engine.keep(ws);
      live = ws;
    } else ws.release();
    return tf.tensor1d(flat);
  };
  const backward = (dy: Tensor, saved: Tensor[], withDx: boolean) => {
    let ws = live;
    live = null;
    if (!ws?.alive) {
      profile.recomputes++;
      ws = run(readInputs(saved));
    }
    let g: ReturnType<Workspace["backward"]>;
    try {
      g = ws.backward(f32Of(dy), returnSequences, withDx);
    } finally {
      ws.release();
    }
    const t0 = now();
    const grads = [
      g.dx ? tf.tensor(g.dx, shapes[0]) : null,
      ...pNames.map((k, j) => tf.tensor(g.params[k], shapes[1 + j])),
      ...sNames.map((k, j) => tf.tensor(g.state[k], shapes[1 + pNames.length + j])),
    ];
    profile.msCopy += now() - t0;
    return grads;
  };

  let flat: tf.Tensor1D;
  const runKernelFunc = lazyGradientOp();
  if (runKernelFunc) {
    // tfjs's own route for tf.customGrad, which asks for each input's gradient lazily
    flat = runKernelFunc({
      inputs: Object.fromEntries(inputs.map((t, i) => [String(i), t])),
      forwardFunc: (_backend: unknown, save: (ts: Tensor[]) => void) => {
        save(inputs); // kept by tfjs only while recording; used if the block was evicted
        return forward(inputs);
      },
      backwardsFunc: (dy: Tensor, kept: Tensor[]) => {
        const grads = backward(dy, kept, wantDx);
        const map: Record<string, () => Tensor> = {};
        grads.forEach((g, i) => {
          map[String(i)] = g ? () => g : () => backward(dy, kept, true)[0]!;
        });
        return map;
      },
    }) as tf.Tensor1D;
  } else {
    const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
      const save = args.pop() as tf.GradSaveFunc;
      const ts = args as Tensor[];
      save(ts);
      return { value: forward(ts), gradFunc: (dy: Tensor, kept: Tensor[]) => backward(dy, kept, true) as Tensor[] };
    });
    flat = op(...inputs) as tf.Tensor1D;
  }
  let k = 0;
  let outputs: Tensor3D | undefined;
  if (returnSequences) {
    outputs = tf.reshape(tf.slice(flat, 0, B * T * H), [B, T, H]) as Tensor3D; // [B, T, H]
    k = B * T * H;
  }
  const state: Record<string, Tensor2D> = {};
  for (const key of spec.stateKeys) {
    state[key] = tf.reshape(tf.slice(flat, k, B * H), [B, H]) as Tensor2D; // [B, H]
    k += B * H;
  }
  return { outputs, state };
}
