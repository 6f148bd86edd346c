/**
 * A fake seqlab kernel bridge (what kernel/launch.js puts on globalThis), for testing
 * display, live figures, progress and Interrupt without Jupyter.
 */
import type { DisplayContent } from "seqlab/internal";

const BRIDGE = Symbol.for("seqlab.kernel");

/** One display message the library sent. */
export interface Sent {
  content: DisplayContent;
  update: boolean;
}

export interface FakeKernel {
  /** The object the library finds; bump `interrupts` to press Interrupt. */
  bridge: { version: number; interrupts: number; cooperative: number };
  /** Every display_data (update: false) and update_display_data (update: true), in order. */
  sent: Sent[];
  /** How many times the library waited for output to flush. */
  flushes: number;
  /** Work the library asked the cell to wait for (still pictures of figures). */
  held: Promise<unknown>[];
  /** Removes the bridge (back to "not in a kernel"). */
  remove(): void;
}

/**
 * Installs a fresh fake bridge (a new kernel session) and returns what it records.
 * Still pictures of figures (which need Chromium) are off unless `pictures` is set.
 */
export function fakeKernel(options: { pictures?: boolean } = {}): FakeKernel {
  process.env.SEQLAB_PICTURES = options.pictures ? "1" : "0";
  const k: FakeKernel = {
    bridge: {
      version: 1,
      interrupts: 0,
      cooperative: 0,
      display(content: DisplayContent, update = false) {
        k.sent.push({ content: JSON.parse(JSON.stringify(content)), update });
      },
      flushed: async () => {
        k.flushes++;
      },
      hold(work: Promise<unknown>) {
        k.held.push(work);
      },
    } as FakeKernel["bridge"],
    sent: [],
    flushes: 0,
    held: [],
    remove: () => removeFakeKernel(),
  };
  (globalThis as Record<symbol, unknown>)[BRIDGE] = k.bridge;
  return k;
}

/** Removes any (fake) bridge. */
export function removeFakeKernel(): void {
  delete (globalThis as Record<symbol, unknown>)[BRIDGE];
  delete process.env.SEQLAB_PICTURES;
}
