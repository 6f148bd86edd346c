// The entry of the fused kernels' WebAssembly module: everything exported here is
// callable from src/kernels/wasm.ts.
export { gemm, heapBase, simd } from "./gemm";
