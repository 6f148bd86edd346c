/**
 * seqlab — recurrent neural networks you can see.
 *
 * The one public entry: notebooks, tests and users import only from "seqlab".
 */
import * as tf from "@tensorflow/tfjs";

/** The TensorFlow.js instance seqlab uses (import it from here to share the backend). */
export { tf };
export { BACKENDS, initBackend, backendInfo, describeBackend } from "./backend";
export type { BackendName, BackendInfo } from "./backend";
export { inKernel, sendDisplay, interruptible, flushOutput } from "./kernel";
export type { DisplayContent } from "./kernel";
export { version } from "./version";

// Fused kernels (WebAssembly)
export { loadKernels, WasmArena, wasmMatMul } from "./kernels/wasm";
export type { WasmKernels, KernelExports, WasmMemory } from "./kernels/wasm";
