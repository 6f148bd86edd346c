/**
 * The WebAssembly module of seqlab's fused kernels (sources: src/fused/assembly,
 * AssemblyScript), built by `npm run build` (scripts/build-wasm.js) into dist/fused/
 * in three builds, each also in a threads variant (see threads.ts):
 *
 * - "relaxed" (seqlab-relaxed.wasm): 128-bit SIMD, and the products' multiply-adds as
 *   relaxed-SIMD fused multiply-adds (1.4× the gemm throughput of "simd", measured);
 * - "simd" (seqlab-simd.wasm): 128-bit SIMD;
 * - "scalar" (seqlab-scalar.wasm): for runtimes without wasm SIMD.
 *
 * The default is the best build the runtime validates. Relaxed SIMD is standard and on by
 * default from V8 11.4 (Node 22); Node 20's V8 has it behind the flag
 * --experimental-wasm-relaxed-simd, which {@link relaxedSimd} sets at run time (only
 * the validation of wasm modules reads it) unless SEQLAB_RELAXED_SIMD=0.
 *
 * The exports' types ({@link KernelExports}) are generated from the AssemblyScript at build
 * time (wasm-exports.generated.ts): calling a kernel with a wrong name or number of
 * arguments fails to compile.
 *
 * The kernels address float32 arrays by byte offset in the module's memory; a
 * {@link WasmArena} hands out those offsets and grows the memory when needed.
 */
import * as fs from "fs";
import * as path from "path";
import { relaxedSimdSetting } from "./options";
import type { GeneratedKernelExports } from "./wasm-exports.generated";

/** A WebAssembly memory, as the kernels use it. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The part of the WebAssembly API used here (Node has it; its types live in lib.dom). */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WebAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/**
 * The module's exports: its memory and the functions of src/fused/assembly/index.ts, typed
 * from the AssemblyScript (see {@link GeneratedKernelExports}). The threads build's
 * functions setThreads, workerLoop and stopWorker are inert in the other builds.
 */
export interface KernelExports extends GeneratedKernelExports {
  /** The module's memory (the threads build imports a shared one). */
  memory: WasmMemory;
}

/** A build of the kernels, fastest first: relaxed-SIMD FMA, SIMD, scalar. */
export type KernelBuild = "relaxed" | "simd" | "scalar";

/** A loaded kernel module. */
export interface WasmKernels {
  exports: KernelExports;
  /** Which build this is. */
  build: KernelBuild;
  /** Whether the build uses SIMD ("relaxed" or "simd"). */
  simd: boolean;
}

const cache = new Map<KernelBuild, WasmKernels>();
const compiled = new Map<KernelBuild, object>();

/** Where the built modules are: dist/fused/ (this file is dist/fused/wasm.js). */
function modulePath(build: KernelBuild | "simd-threads" | "relaxed-threads"): string {
  return path.join(__dirname, `seqlab-${build}.wasm`);
}

let relaxed: boolean | undefined;

/**
 * Whether this runtime runs the relaxed-SIMD build. If it does not validate it as it is
 * (Node 20) and SEQLAB_RELAXED_SIMD is not "0", sets V8's --experimental-wasm-relaxed-simd
 * (v8.setFlagsFromString) and validates again. Only WebAssembly validation reads that flag.
 */
export function relaxedSimd(): boolean {
  if (relaxed !== undefined) return relaxed;
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(modulePath("relaxed"));
  } catch {
    return (relaxed = false);
  }
  relaxed = WebAssembly.validate(bytes);
  if (!relaxed && relaxedSimdSetting()) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require("v8") as typeof import("v8")).setFlagsFromString("--experimental-wasm-relaxed-simd");
      relaxed = WebAssembly.validate(bytes);
    } catch {
      relaxed = false;
    }
  }
  return relaxed;
}

let simd: boolean | undefined;

/**
 * The fastest build, no faster than `prefer`, that this runtime validates (checked once:
 * `unroll` asks on every call).
 */
export function kernelBuild(prefer: KernelBuild = "relaxed"): KernelBuild {
  if (prefer === "relaxed" && relaxedSimd()) return "relaxed";
  simd ??= WebAssembly.validate(read(modulePath("simd")));
  if (prefer !== "scalar" && simd) return "simd";
  return "scalar";
}

/**
 * Loads the kernel module: the fastest build, no faster than `prefer`, that the runtime
 * validates (see {@link kernelBuild}; all give the same results within float32 rounding).
 * One shared instance per build.
 *
 * @param prefer "relaxed" (default), or "simd" / "scalar" to force a slower build (tests, benchmarks).
 * @throws if the module file is missing (run `npm run build`).
 */
export function loadKernels(prefer: KernelBuild = "relaxed"): WasmKernels {
  const build = kernelBuild(prefer);
  const hit = cache.get(build);
  if (hit) return hit;
  const kernels = instantiateKernels(build);
  cache.set(build, kernels);
  return kernels;
}

/**
 * The compiled kernel module of the fastest build no faster than `prefer` (compiled once). A
 * WebAssembly.Module can be posted to a worker thread, which instantiates it with its own memory
 * (the bench's arithmetic ceiling of two threads does).
 */
export function kernelModule(prefer: KernelBuild = "relaxed"): object {
  const build = kernelBuild(prefer);
  let module = compiled.get(build);
  if (!module) {
    module = new WebAssembly.Module(read(modulePath(build)));
    compiled.set(build, module);
  }
  return module;
}

/**
 * A fresh instance of the kernel module (the fastest build no faster than `prefer`), with
 * its own memory (the module is compiled once). Dropping every reference to the instance
 * releases its memory, which a wasm memory cannot otherwise give back; the fused
 * recurrent kernels use this.
 */
export function instantiateKernels(prefer: KernelBuild = "relaxed"): WasmKernels {
  const build = kernelBuild(prefer);
  const module = kernelModule(build);
  const instance = new WebAssembly.Instance(module, {
    env: {
      abort(_msg: number, _file: number, line: number, column: number) {
        throw new Error(`seqlab wasm kernel aborted at ${line}:${column}`);
      },
    },
  });
  return { exports: instance.exports as unknown as KernelExports, build, simd: build !== "scalar" };
}

/** Memory pages (64 KiB) a shared memory may grow to: all of wasm32's 4 GiB (address space is only reserved). */
const SHARED_MAX_PAGES = 65536;

const sharedModules = new Map<KernelBuild, object | null>();

/**
 * A fresh instance of the threads variant (atomics, memory imported and shared) of the
 * fastest SIMD build no faster than `prefer`, with a new shared memory, and the compiled
 * module (for the worker that shares the memory); null if the runtime cannot (no shared
 * wasm memory, no SIMD, or the build is missing).
 */
export function instantiateSharedKernels(
  prefer: KernelBuild = "relaxed",
): { kernels: WasmKernels; module: object; memory: WasmMemory } | null {
  const build = kernelBuild(prefer);
  if (build === "scalar") return null;
  let sharedModule = sharedModules.get(build);
  if (sharedModule === undefined) {
    sharedModule = null;
    try {
      const bytes = fs.readFileSync(modulePath(build === "relaxed" ? "relaxed-threads" : "simd-threads"));
      if (WebAssembly.validate(bytes)) sharedModule = new WebAssembly.Module(bytes);
    } catch {
      sharedModule = null;
    }
    sharedModules.set(build, sharedModule);
  }
  if (!sharedModule) return null;
  try {
    const Memory = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => WasmMemory } }).WebAssembly.Memory;
    const memory = new Memory({ initial: 16, maximum: SHARED_MAX_PAGES, shared: true });
    const instance = new WebAssembly.Instance(sharedModule, {
      env: {
        memory,
        abort(_msg: number, _file: number, line: number, column: number) {
          throw new Error(`seqlab wasm kernel aborted at ${line}:${column}`);
        },
      },
    });
    const exports = { ...(instance.exports as object), memory } as unknown as KernelExports;
    return { kernels: { exports, build, simd: true }, module: sharedModule, memory };
  } catch {
    return null;
  }
}

function read(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch {
    throw new Error(`seqlab's wasm kernels are not built (${file} is missing): run \`npm run build\``);
  }
}

/**
 * Bump allocation of float32 arrays in a kernel module's memory. `alloc` returns
 * a byte offset (16-byte aligned, for SIMD loads); `reset` frees everything at once.
 * Memory grows as needed and is never shrunk (wasm cannot), so an arena reused
 * across training steps reaches its peak size once and stays there.
 */
export class WasmArena {
  private top: number;
  private readonly base: number;

  constructor(readonly kernels: WasmKernels) {
    this.base = this.top = kernels.exports.heapBase();
  }

  /** Reserves `length` float32s; returns their byte offset. */
  alloc(length: number): number {
    if (!Number.isInteger(length) || length < 0) {
      throw new Error(`WasmArena.alloc: length must be a non-negative integer, got ${length}`);
    }
    const at = this.top;
    this.top = at + ((length * 4 + 15) & ~15);
    const memory = this.kernels.exports.memory;
    if (this.top > memory.buffer.byteLength) {
      memory.grow(Math.ceil((this.top - memory.buffer.byteLength) / 65536));
    }
    return at;
  }

  /** Copies `values` into fresh memory; returns the byte offset. */
  put(values: ArrayLike<number>): number {
    const at = this.alloc(values.length);
    this.f32(at, values.length).set(values);
    return at;
  }

  /** A view of `length` float32s at byte offset `at` (invalid after the memory grows). */
  f32(at: number, length: number): Float32Array {
    return new Float32Array(this.kernels.exports.memory.buffer, at, length);
  }

  /** Frees every allocation. */
  reset(): void {
    this.top = this.base;
  }

  /** Bytes in use. */
  get used(): number {
    return this.top - this.base;
  }
}

/**
 * C = A·B for row-major float32 matrices, on the wasm kernel (a 4 × 8 SIMD
 * register tile). For tests and benchmarks; the recurrent kernels call the same
 * gemm inside wasm without copies.
 *
 * @param a A, M·K values, row-major
 * @param b B, K·N values, row-major
 */
export function wasmMatMul(a: Float32Array, b: Float32Array, M: number, K: number, N: number, kernels = loadKernels()): Float32Array {
  if (a.length !== M * K) throw new Error(`wasmMatMul: a must have M·K = ${M * K} values, got ${a.length}`);
  if (b.length !== K * N) throw new Error(`wasmMatMul: b must have K·N = ${K * N} values, got ${b.length}`);
  const arena = new WasmArena(kernels);
  const pa = arena.put(a);
  const pb = arena.put(b);
  const pc = arena.alloc(M * N);
  kernels.exports.gemm(M, N, K, pa, K, pb, N, pc, N, 0);
  return arena.f32(pc, M * N).slice();
}
