/**
 * One fused call's memory and kernel calls, the same for every cell: a {@link Workspace}
 * is the block of wasm memory of one forward (the inputs, gates and states its backward
 * needs), laid out from the cell's {@link FusedCell} description (spec.ts).
 *
 * Forward: x, U, W, b, the cell's vectors and the initial state are copied into the block
 * (H padded to Hp), the weights packed (packGates), and the description's `forward` runs
 * the kernel; {@link Workspace.readOutputs} copies the outputs and final state out, flat.
 * Backward: ∂L/∂(that flat output) goes into a second, short-lived block, the
 * description's `backward` runs BPTT, and the gradients come back as the cell stores its
 * parameters.
 */
import type { Engine } from "./engine";
import type { FusedCell, FusedSizes, FusedVector } from "./spec";
import { Layout, putPadded, putPaddedFrom, getUnpadded, unpad, gateRows } from "./padding";
import { profile, now } from "./profile";
import { WasmMemoryError } from "./heap";

/** Rethrows a failed allocation with the call's sizes and what to do about it. */
function allocFor(engine: Engine, bytes: number, what: string, cell: string, sz: FusedSizes): number {
  try {
    return engine.heap.alloc(bytes);
  } catch (e) {
    if (!(e instanceof WasmMemoryError)) throw e;
    throw new RangeError(
      `unroll(${cell}): the ${what} of B=${sz.B}, T=${sz.T}, I=${sz.I}, H=${sz.H} needs ${(bytes / 2 ** 20).toFixed(0)} MB of the ` +
        `fused kernels' memory, more than it can hold — ${e.message}. Use a smaller batch (B) or shorter chunks ` +
        "(fit's tbptt), or the tfjs-op path (unroll(…, {fused: false})). Smaller calls still work.",
      { cause: e },
    );
  }
}

/** The values a forward reads, as plain arrays. */
export interface ForwardInputs {
  x: Float32Array;
  params: Record<string, Float32Array>;
  state: Record<string, Float32Array | undefined>;
  mask?: Float32Array;
}

/** What {@link Workspace.backward} returns: ∂L/∂x (or null), ∂L/∂(each parameter), ∂L/∂(each initial state). */
export interface FusedGradients {
  dx: Float32Array | null;
  params: Record<string, Float32Array>;
  state: Record<string, Float32Array>;
}

/**
 * The layout of one kind of block: array names, their byte offsets relative to the block
 * (64-byte aligned) and the names passed as 0 (absent). Computed once per cell, sizes
 * and flags (see {@link plans}), then filled in for each block.
 */
class BlockPlan {
  readonly names: string[] = [];
  readonly rel: number[] = [];
  readonly absent: string[] = [];
  private readonly layout = new Layout();

  constructor(private readonly cell: string) {}

  /** Adds an array of `floats` float32s. */
  add(name: string, floats: number): void {
    if (this.names.includes(name) || this.absent.includes(name))
      throw new Error(`fused ${this.cell}: the array "${name}" is declared twice`);
    this.names.push(name);
    this.rel.push(this.layout.take(floats));
  }

  /** Bytes of the block. */
  get bytes(): number {
    return this.layout.bytes;
  }

  /** Writes the absolute offsets of a block at `block` into `args` (absent names: 0). */
  fill(args: Record<string, number>, block: number): void {
    for (let i = 0; i < this.names.length; i++) args[this.names[i]] = block + this.rel[i];
    for (const name of this.absent) args[name] = 0;
  }
}

/** A cell's names derived from its description, computed once. */
interface CellNames {
  vectors: [string, FusedVector][];
  /** k0, kT, dk0, dkT for each state key k. */
  s0: string[];
  sT: string[];
  ds0: string[];
  dsT: string[];
}

const names = new WeakMap<FusedCell, CellNames>();
/** Block plans by cell and "direction sizes flags". */
const plans = new WeakMap<FusedCell, Map<string, BlockPlan>>();

function cellNames(spec: FusedCell): CellNames {
  let n = names.get(spec);
  if (!n) {
    const keys = spec.stateKeys;
    n = {
      vectors: Object.entries(spec.vectors ?? {}),
      s0: keys.map((k) => `${k}0`),
      sT: keys.map((k) => `${k}T`),
      ds0: keys.map((k) => `d${k}0`),
      dsT: keys.map((k) => `d${k}T`),
    };
    names.set(spec, n);
  }
  return n;
}

/** Block plans kept per cell (beyond that, e.g. with a new T every batch, the cache starts afresh). */
const MAX_PLANS = 64;

/** The plan of `key` for `spec`, made by `make` the first time. */
function plan(spec: FusedCell, key: string, make: (p: BlockPlan) => void): BlockPlan {
  let byKey = plans.get(spec);
  if (!byKey) plans.set(spec, (byKey = new Map()));
  let p = byKey.get(key);
  if (!p) {
    if (byKey.size >= MAX_PLANS) byKey.clear();
    p = new BlockPlan(spec.name);
    make(p);
    byKey.set(key, p);
  }
  return p;
}

/** One forward's block: the inputs, gates and states the backward needs. */
export class Workspace {
  /** False once the block is freed. */
  alive = true;
  /** The block's byte offset in the engine's memory. */
  readonly block: number;
  /** The block's size. */
  readonly bytes: number;
  /**
   * The kernels' arguments: sizes and absolute byte offsets by name (0: absent); the
   * backward adds its own block's.
   */
  private readonly args: Record<string, number>;
  /** The cell's derived names. */
  private readonly names: CellNames;
  /** Which of the cell's vectors (spec.ts) this call has. */
  private readonly present: boolean[];

  constructor(
    readonly engine: Engine,
    readonly spec: FusedCell,
    readonly sz: FusedSizes,
    present: (v: FusedVector) => boolean,
    readonly reverse: boolean,
    readonly hasMask: boolean,
  ) {
    const { B, T, I, H, Hp, G, G0 } = sz;
    const n = (this.names = cellNames(spec));
    this.present = n.vectors.map(([, v]) => present(v));
    const key = `fwd ${B} ${T} ${I} ${H} ${hasMask ? 1 : 0} ${this.present.map(Number).join("")}`;
    const p = plan(spec, key, (p) => {
      for (const [name, floats] of [
        ["x", B * T * I],
        ["Uraw", G0 * I],
        ["Wraw", G0 * H],
        ["braw", G0],
        ["UT", I * G],
        ["WT", Hp * G],
        ["Up", G * I],
        ["Wp", G * Hp],
        ["bias", G],
        ["act", B * T * G],
        ["HP", B * T * Hp],
        ["out", B * T * Hp],
      ] as const)
        p.add(name, floats);
      if (hasMask) p.add("mask", B * T);
      else p.absent.push("mask");
      spec.stateKeys.forEach((_, j) => {
        p.add(n.s0[j], B * Hp);
        p.add(n.sT[j], B * Hp);
      });
      n.vectors.forEach(([name, v], j) => {
        if (!this.present[j]) return void p.absent.push(name);
        p.add(`${name}Raw`, v.gates * H);
        p.add(name, v.gates * Hp);
      });
      for (const [name, floats] of Object.entries(spec.saved?.(sz) ?? {})) p.add(name, floats);
    });
    this.bytes = p.bytes;
    this.block = allocFor(engine, this.bytes, "forward", spec.name, sz);
    this.args = { B, T, I, Hp, reverse: reverse ? 1 : 0 };
    p.fill(this.args, this.block);
  }

  /** Copies the inputs in and runs the forward kernel. */
  forward(inputs: ForwardInputs): void {
    const { B, T, I, H, Hp, nG } = this.sz;
    const e = this.engine;
    const ex = e.ex;
    const p = this.args;
    const t0 = now();
    const mem = e.f32();
    mem.set(inputs.x, p.x >> 2);
    mem.set(inputs.params.U, p.Uraw >> 2);
    mem.set(inputs.params.W, p.Wraw >> 2);
    mem.set(inputs.params.b, p.braw >> 2);
    let bytes = 4 * (inputs.x.length + inputs.params.U.length + inputs.params.W.length + inputs.params.b.length);
    this.spec.stateKeys.forEach((k, j) => putPadded(mem, p[this.names.s0[j]], inputs.state[k], B, H, Hp));
    bytes += 4 * B * H * this.spec.stateKeys.length;
    if (this.hasMask) {
      mem.set(inputs.mask!, p.mask >> 2);
      bytes += 4 * B * T;
    }
    // Up row-major; UT, WT, Wp in panels of 8 columns for the products that read them
    ex.packGates(p.Uraw, nG, H, I, Hp, I, p.Up, 0, p.UT);
    ex.packGates(p.Wraw, nG, H, H, Hp, Hp, p.Wp, 1, p.WT);
    ex.packGates(p.braw, nG, H, 1, Hp, 1, p.bias, 0, 0);
    for (const [j, [name, v]] of this.names.vectors.entries()) {
      if (!this.present[j]) continue;
      const raw = p[`${name}Raw`];
      let k = raw >> 2;
      for (const param of v.params) {
        mem.set(inputs.params[param], k);
        k += inputs.params[param].length;
        bytes += 4 * inputs.params[param].length;
      }
      ex.packGates(raw, v.gates, H, 1, Hp, 1, p[name], 0, 0);
    }
    const t1 = now();
    const ms = e.timed(`${this.spec.name} fwd ${B} ${T} ${I} ${Hp}`, () => this.spec.forward(ex, p as Parameters<FusedCell["forward"]>[1]));
    profile.forwardCalls++;
    profile.bytesIn += bytes;
    profile.msCopy += t1 - t0;
    profile.msKernel += ms;
  }

  /** The outputs [B, T, H] (if wanted) then the final state (in stateKeys' order), flat. */
  readOutputs(returnSequences: boolean): Float32Array {
    const { B, T, H, Hp } = this.sz;
    const t0 = now();
    const mem = this.engine.f32();
    const n = (returnSequences ? B * T * H : 0) + this.spec.stateKeys.length * B * H;
    const flat = new Float32Array(n);
    let k = 0;
    if (returnSequences) k = getUnpadded(mem, this.args.out, B * T, H, Hp, flat, k);
    for (const name of this.names.sT) k = getUnpadded(mem, this.args[name], B, H, Hp, flat, k);
    profile.bytesOut += 4 * n;
    profile.msCopy += now() - t0;
    return flat;
  }

  /**
   * BPTT from dy = ∂L/∂(flat output of {@link readOutputs}); returns ∂L/∂x (null unless
   * `wantDx`), ∂L/∂(each parameter, as the cell stores it), ∂L/∂(each initial state).
   * Overwrites the gates (call once).
   */
  backward(dy: Float32Array, returnSequences: boolean, wantDx: boolean): FusedGradients {
    const { B, T, I, H, Hp, nG, G } = this.sz;
    const e = this.engine;
    const ex = e.ex;
    const t0 = now();
    const n = this.names;
    const key = `bwd ${B} ${T} ${I} ${H} ${returnSequences ? 1 : 0} ${wantDx ? 1 : 0} ${this.present.map(Number).join("")}`;
    const bp = plan(this.spec, key, (p) => {
      for (const [name, floats] of [
        ["dH", B * Hp],
        ["dHn", B * Hp],
        ["dU", G * I],
        ["dW", G * Hp],
        ["db", G],
      ] as const)
        p.add(name, floats);
      if (returnSequences) p.add("dOut", B * T * Hp);
      else p.absent.push("dOut");
      if (wantDx) p.add("dx", B * T * I);
      else p.absent.push("dx");
      this.spec.stateKeys.forEach((_, j) => {
        p.add(n.dsT[j], B * Hp);
        p.add(n.ds0[j], B * Hp);
      });
      n.vectors.forEach(([name, v], j) => (this.present[j] ? p.add(`d${name}`, v.gates * Hp) : p.absent.push(`d${name}`)));
      for (const [name, floats] of Object.entries(this.spec.scratch?.(this.sz) ?? {})) p.add(name, floats);
    });
    const block = allocFor(e, bp.bytes, "backward", this.spec.name, this.sz);
    try {
      const q = this.args; // the backward runs once: its offsets join the forward's
      bp.fill(q, block);
      const mem = e.f32();
      let k = 0;
      if (returnSequences) k = putPaddedFrom(mem, q.dOut, dy, k, B * T, H, Hp);
      for (const name of n.dsT) k = putPaddedFrom(mem, q[name], dy, k, B, H, Hp);
      profile.bytesIn += 4 * dy.length;
      const t1 = now();
      const ms = e.timed(`${this.spec.name} bwd ${B} ${T} ${I} ${Hp}`, () =>
        this.spec.backward(ex, q as Parameters<FusedCell["backward"]>[1]),
      );
      const t2 = now();
      const m = e.f32();
      const params: Record<string, Float32Array> = {
        U: gateRows(m, q.dU, nG, H, Hp, I, I),
        W: gateRows(m, q.dW, nG, H, Hp, H, Hp),
        b: gateRows(m, q.db, nG, H, Hp, 1, 1),
      };
      for (const [j, [name, v]] of n.vectors.entries()) {
        if (!this.present[j]) continue;
        const d = gateRows(m, q[`d${name}`], v.gates, H, Hp, 1, 1);
        const n = d.length / v.params.length;
        v.params.forEach((param, j) => (params[param] = v.params.length === 1 ? d : d.slice(j * n, (j + 1) * n)));
      }
      const dx = wantDx ? m.slice(q.dx >> 2, (q.dx >> 2) + B * T * I) : null;
      const state: Record<string, Float32Array> = {};
      this.spec.stateKeys.forEach((k, j) => (state[k] = unpad(m, q[n.ds0[j]], B, H, Hp)));
      let out = dx?.length ?? 0;
      for (const v of Object.values(params)) out += v.length;
      for (const v of Object.values(state)) out += v.length;
      profile.bytesOut += 4 * out;
      profile.backwardCalls++;
      if (!wantDx) profile.dxSkipped++;
      profile.msKernel += ms;
      profile.msCopy += t1 - t0 + (now() - t2);
      return { dx, params, state };
    } finally {
      e.heap.release(block);
    }
  }

  /** Frees the block (the forward's gates are gone; a later backward recomputes them). */
  release(): void {
    if (!this.alive) return;
    this.alive = false;
    this.engine.forget(this);
    this.engine.heap.release(this.block);
  }
}
