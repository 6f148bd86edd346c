/**
 * The fused recurrent kernels, seen from tfjs: one WebAssembly call runs a whole
 * sequence forward (src/fused/assembly/{rnn,lstm,gru,gru-pytorch}.ts), one call runs
 * BPTT over it, and a custom-gradient op makes the pair one differentiable tfjs op. This
 * is what {@link unroll} runs by default for a cell that declares a fused description
 * (`cell.fused`); the tfjs-op unroll stays the readable reference
 * (`unroll(…, {fused: false})`, or SEQLAB_FUSED=0).
 *
 * Why: tfjs dispatches every op on its own (tens of µs each), and a recurrent step is
 * dozens of small ops, so a training step is mostly dispatch. Here the per-step work
 * runs inside wasm: a 4 × 8 SIMD gemm for h(t−1)·Wᵀ, in-place SIMD σ/tanh, and the input
 * projection x·Uᵀ, ∇U, ∇W, ∇x as single gemms over all B·T rows. Large problems may run
 * the products on two threads (by default where timing shows that it pays; SEQLAB_THREADS
 * or setFusedThreads force 1 or 2).
 *
 * Data flow of one call, forward:
 *   x, U, W, b, (the cell's vectors: peepholes | bh), initial state, mask
 *     →  copied into a block of wasm memory (H padded to Hp, weights packed)
 *   kernel forward: gates, states (kept in the block for the backward)
 *   outputs [B, T, H] and the final state  →  one flat tfjs tensor, sliced by the caller
 * backward (the op's gradient): ∂L/∂(flat output) → kernel backward (same block)
 *   → ∂L/∂x, ∂L/∂(each parameter), ∂L/∂(each given initial state) as tfjs tensors.
 *
 * Where each part lives:
 *
 * | file                 | concern                                                        |
 * |----------------------|----------------------------------------------------------------|
 * | op.ts                | the tfjs op (fusedUnroll) and the build for a cell (fusedVariant) |
 * | spec.ts              | FusedCell: what a cell declares (src/cells/<name>/fused.ts)    |
 * | workspace.ts         | one call's block and kernel calls, generic over FusedCell      |
 * | padding.ts           | tfjs layout ↔ the kernels' padded, gate-stacked layout         |
 * | engine.ts            | kernel instances, their memory, MAX_LIVE, release              |
 * | tuning.ts            | "auto": 1 or 2 threads per kind of call, by timing             |
 * | threads.ts           | the second thread (worker + shared memory)                     |
 * | heap.ts              | the block allocator in wasm memory                             |
 * | wasm.ts              | loading the builds; typed exports (wasm-exports.generated.ts)  |
 * | options.ts           | SEQLAB_FUSED, SEQLAB_THREADS, SEQLAB_RELAXED_SIMD              |
 * | profile.ts           | fusedProfile counters                                          |
 * | tfjs-internals.ts    | every private tfjs internal used, and their check              |
 * | assembly/            | the AssemblyScript kernels                                     |
 */
export { fusedUnroll, fusedVariant } from "./op";
export type { FusedVariant, FusedUnrollOptions } from "./op";
export { fusedMemory, fusedThreadChoices, releaseFusedMemory, MAX_LIVE, MAX_LIVE_BYTES } from "./engine";
export type { FusedMemory } from "./engine";
export { fusedProfile, resetFusedProfile } from "./profile";
export type { FusedProfile } from "./profile";
