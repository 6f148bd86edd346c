/**
 * What a cell declares to run on the fused WebAssembly kernels: a {@link FusedCell}, the
 * cell's `fused` property, written in src/cells/<name>/fused.ts with {@link fusedCell}. A
 * cell without one runs `unroll`'s tfjs-op reference path.
 *
 * The engine (workspace.ts) is the same for every cell. It copies x, U, W, b and the
 * initial state into a block of wasm memory, pads H to Hp (a multiple of 8) and packs the
 * weights, allocates the arrays every kernel uses, and calls the description's
 * {@link FusedCellDefinition.forward} with their byte offsets by name; after the backward
 * it reads the gradients back. What differs between cells is declared here:
 *
 * - `nG`, `params`, `stateKeys`: the gates stacked in U, W, b; the parameter names; the
 *   state's tensors. Each state key k gets arrays `k0` and `kT` (before the first step,
 *   after the last), and `dk0`, `dkT` in the backward.
 * - `vectors`: gate-stacked vector parameters besides b (the LSTM's peepholes, the
 *   PyTorch GRU's bh), each packed into one array of `gates` blocks of Hp, and its
 *   gradient `d<name>`.
 * - `saved`, `scratch`: the cell's own arrays, in float32s: `saved` in the forward's block
 *   (kept for the backward), `scratch` in the backward's.
 * - `forward`, `backward`: the kernel calls, with the arguments in the order the
 *   AssemblyScript declares them (the kernels' types are generated from it, so a wrong
 *   name or argument count fails to compile, and so does an array the description did not
 *   declare).
 *
 * Adding a fused cell: an AssemblyScript kernel pair in src/fused/assembly (exported from
 * its index.ts) and one description file; the engine needs no edit.
 */
import type { KernelExports } from "./wasm";

/** Sizes of one fused call: T, B, I, H; Hp = H rounded up to 8; G = nG·Hp; G0 = nG·H. */
export interface FusedSizes {
  B: number;
  T: number;
  I: number;
  H: number;
  Hp: number;
  nG: number;
  G: number;
  G0: number;
}

/** A gate-stacked vector parameter besides b (stored [gates·H] by the cell, in `params`). */
export interface FusedVector {
  /** The cell's parameters stacked into it, in order, each [gates·H / params.length]. */
  readonly params: readonly string[];
  /** Blocks of H in the stacked vector, each padded to Hp. */
  readonly gates: number;
  /** Whether the cell may leave it out (then its offsets are 0). Default false. */
  readonly optional?: boolean;
}

/**
 * Byte offsets (0: absent) and sizes every forward kernel receives. Arrays are float32,
 * padded to Hp columns: x [B, T, I]; UT [I, G], WT [Hp, G] (Uᵀ, Wᵀ in panels of 8
 * columns); Up [G, I], Wp [G, Hp] (U, W padded); bias [G]; mask [B, T] or 0; act
 * [B, T, G] (the gates); HP [B, T, Hp] (h before each step); out [B, T, Hp].
 */
export interface FusedForwardArgs {
  B: number;
  T: number;
  I: number;
  Hp: number;
  /** 1: run from t = T−1 down to 0. */
  reverse: number;
  x: number;
  UT: number;
  WT: number;
  Up: number;
  Wp: number;
  bias: number;
  mask: number;
  act: number;
  HP: number;
  out: number;
}

/**
 * Byte offsets every backward kernel receives besides the forward's: dOut [B, T, Hp]
 * (∂L/∂outputs) or 0; dH, dHn [B, Hp] (the ∇_h carry); dx [B, T, I] or 0 (not wanted);
 * dU [G, I], dW [G, Hp], db [G].
 */
export interface FusedBackwardArgs {
  dOut: number;
  dH: number;
  dHn: number;
  dx: number;
  dU: number;
  dW: number;
  db: number;
}

/** The forward's arguments for states S, vectors V and saved arrays F. */
export type ForwardArgs<S extends string, V extends string, F extends string> = FusedForwardArgs &
  Record<`${S}0` | `${S}T` | V | F, number>;

/** The backward's arguments: the forward's, the common backward ones, the states', vectors' gradients and scratch W. */
export type BackwardArgs<S extends string, V extends string, F extends string, W extends string> = ForwardArgs<S, V, F> &
  FusedBackwardArgs &
  Record<`d${S}0` | `d${S}T` | `d${V}` | W, number>;

/**
 * A cell's fused kernel description, with the names of its states S, vectors V, saved
 * arrays F and backward scratch W (inferred by {@link fusedCell}).
 */
export interface FusedCellDefinition<S extends string, V extends string, F extends string, W extends string> {
  /** The kernel family in src/fused/assembly (names the kernel's timings and errors). */
  readonly name: string;
  /** Gates stacked in U, W, b: RNN 1, GRU 3, LSTM 4. */
  readonly nG: number;
  /** Parameter names of the cell: U, W, b, then those of `vectors` (optional ones may be absent). */
  readonly params: readonly string[];
  /** The state's tensors, in the order the op returns them (h first). */
  readonly stateKeys: readonly S[];
  /** Gate-stacked vector parameters besides b, by array name. */
  readonly vectors?: { readonly [v in V]: FusedVector };
  /** The cell's arrays in the forward's block (float32 counts), kept for the backward. */
  saved?(sz: FusedSizes): Record<F, number>;
  /** The cell's scratch arrays in the backward's block (float32 counts). */
  scratch?(sz: FusedSizes): Record<W, number>;
  /** Runs the forward kernel: gates, states, out and the final state. */
  forward(kernels: KernelExports, a: ForwardArgs<S, V, F>): void;
  /** Runs the backward kernel (BPTT); may overwrite act. */
  backward(kernels: KernelExports, a: BackwardArgs<S, V, F, W>): void;
}

/** A cell's fused kernel description, as the engine sees it (names erased). */
export type FusedCell = FusedCellDefinition<string, string, string, string>;

/**
 * Declares a cell's fused description; checks the names its kernel calls use against the
 * arrays it declares (at compile time), and returns it as a {@link FusedCell}.
 */
export function fusedCell<const S extends string, V extends string = never, F extends string = never, W extends string = never>(
  definition: FusedCellDefinition<S, V, F, W>,
): FusedCell {
  return definition as unknown as FusedCell;
}

/** The byte offsets of the `n` blocks of Hp float32s of a stacked vector at `at` (all 0 if at = 0). */
export function gateOffsets(at: number, n: number, Hp: number): number[] {
  return Array.from({ length: n }, (_, g) => (at ? at + 4 * g * Hp : 0));
}
