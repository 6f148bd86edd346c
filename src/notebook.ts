/**
 * The bridge between library code and the seqlab Jupyter kernel.
 *
 * Code in node_modules cannot `require("tslab")` (tslab hooks that name only for
 * notebook cells), so the kernel's launcher (kernel/launch.js) puts a small handle
 * on `globalThis[Symbol.for("seqlab.kernel")]`. Outside the kernel — plain Node,
 * tests — there is no handle and every function here degrades to something useful.
 */

/** What kernel/launch.js provides. */
interface KernelBridge {
  version: number;
  /** Incremented by each Interrupt (SIGINT). */
  interrupts: number;
  /** Number of loops running now that poll {@link interruptRequested}. */
  cooperative: number;
  display(content: DisplayContent, update?: boolean): void;
  flushed(): Promise<void>;
  /** Holds the end of the running cell until `work` settles, at most `maxMs` (kernels from before this was added lack it). */
  hold?(work: Promise<unknown>, maxMs: number): void;
}

/** The content of a Jupyter display_data / update_display_data message. */
export interface DisplayContent {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  transient?: { display_id?: string };
}

function bridge(): KernelBridge | undefined {
  return (globalThis as Record<symbol, unknown>)[Symbol.for("seqlab.kernel")] as KernelBridge | undefined;
}

/** True inside the seqlab Jupyter kernel. */
export function inKernel(): boolean {
  return bridge() !== undefined;
}

/**
 * An object that stays the same for one kernel session, undefined outside the kernel.
 * Per-session state (e.g. whether plotly.js has been sent to the page) is keyed on it.
 */
export function kernelSession(): object | undefined {
  return bridge();
}

/**
 * Sends a mime bundle to the notebook (display_data, or update_display_data when
 * `update` and a display id are given). Returns false outside the kernel.
 */
export function sendDisplay(content: DisplayContent, update = false): boolean {
  const b = bridge();
  if (!b) return false;
  b.display(content, update);
  return true;
}

/**
 * A token for one interruptible run: `stop()` is true once the user has pressed
 * Interrupt (Jupyter sends SIGINT) after the run began. While a run is open, the
 * kernel does not abort the cell on Interrupt; it lets the loop stop itself at
 * the end of its current step (and aborts it only if that takes over 10 s).
 * Always `close()` the run (in `finally`).
 *
 * Outside the kernel, SIGINT is not intercepted and `stop()` stays false.
 *
 * @example
 * const step = async (t: number) => new Promise((resolve) => setTimeout(resolve, 10, t));
 * const run = interruptible();
 * try {
 *   for (let t = 0; t < 1000; t++) {
 *     if (run.stop()) break; // the user pressed ■: stop at the end of a step
 *     await step(t);
 *   }
 * } finally {
 *   run.close();
 * }
 */
export function interruptible(): { stop(): boolean; close(): void } {
  const b = bridge();
  if (!b) return { stop: () => false, close: () => {} };
  const start = b.interrupts;
  let open = true;
  b.cooperative++;
  return {
    stop: () => b.interrupts !== start,
    close: () => {
      if (open) b.cooperative--;
      open = false;
    },
  };
}

/**
 * Asks the kernel not to end the running cell before `work` settles (or `maxMs` passes):
 * output that `work` sends then still belongs to the cell, also when nbconvert executes
 * the notebook. Outside the kernel, nothing waits. `work` must not reject.
 */
export function holdCell(work: Promise<unknown>, maxMs: number): void {
  bridge()?.hold?.(work, maxMs);
}

/** Resolves when all output sent so far has left the kernel (immediately outside it). */
export function flushOutput(): Promise<void> {
  return bridge()?.flushed() ?? Promise.resolve();
}
