// The entry of the fused kernels' WebAssembly module: everything exported here is
// callable from src/fused/wasm.ts.
export { gemm, gemmTN, gemmTNInOrder, gemmPanels, packPanels, heapBase, simd } from "./gemm";
export { sigmoidArray, tanhArray, tanhBackwardArray, addArray } from "./activations";
export { packGates, columnSums, broadcastRows } from "./layout";
export { rnnForward, rnnBackward } from "./rnn";
export { lstmForward, lstmBackward } from "./lstm";
export { gruForward, gruBackward } from "./gru";
export { gruPytorchForward, gruPytorchBackward } from "./gru-pytorch";
export { setThreads, workerLoop, stopWorker, pgemm, pgemmTN } from "./parallel";
export { adamUpdate } from "./adam";
export { dotAttentionForward, dotAttentionBackward, additiveAttentionForward, additiveAttentionBackward } from "./attention";
export { fmaPeak, fmaPeakFlops } from "./peak";
