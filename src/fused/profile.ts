/**
 * The fused path's counters: calls, recomputed forwards, skipped ∂L/∂x, bytes copied in
 * and out of wasm memory, and the time in copies and in the kernels. The engine and the
 * op add to {@link profile}; {@link fusedProfile} hands out a copy.
 */

/** Time spent and bytes moved by the fused path since the last {@link resetFusedProfile}. */
export interface FusedProfile {
  /** Forward kernel calls. */
  forwardCalls: number;
  /** Backward kernel calls. */
  backwardCalls: number;
  /** Forwards run again in a backward because their block had been evicted, or for a late ∂L/∂x. */
  recomputes: number;
  /** Backwards that skipped ∂L/∂x because x was data, not on the gradient tape. */
  dxSkipped: number;
  /** Bytes copied from tfjs tensors into wasm memory. */
  bytesIn: number;
  /** Bytes copied out of wasm memory into tfjs tensors. */
  bytesOut: number;
  /** ms in copies (tfjs ↔ JS ↔ wasm, padding). */
  msCopy: number;
  /** ms in the wasm kernels. */
  msKernel: number;
}

function zeros(): FusedProfile {
  return { forwardCalls: 0, backwardCalls: 0, recomputes: 0, dxSkipped: 0, bytesIn: 0, bytesOut: 0, msCopy: 0, msKernel: 0 };
}

/** The live counters (the fused path's modules add to them). */
export const profile: FusedProfile = zeros();

/** A copy of the fused path's counters. */
export function fusedProfile(): FusedProfile {
  return { ...profile };
}

/** Zeroes the counters of {@link fusedProfile}. */
export function resetFusedProfile(): void {
  Object.assign(profile, zeros());
}

/** The clock of the counters, in ms. */
export const now = (): number => performance.now();
