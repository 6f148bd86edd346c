/**
 * The "auto" thread setting's tuner: per kernel call of one kind (cell, direction, sizes),
 * whether one or two threads is faster right now. Results are bit-identical either way
 * (threads.ts), so the choice only moves time.
 *
 * It alternates 2 and 1 threads for the first six calls (the first call on each only warms
 * up: the engine compiles hot wasm code in tiers, and the worker's copy starts cold), then
 * runs whichever has the lower best time among its last {@link WINDOW} calls (a spike from
 * the OS or the garbage collector never makes a setting look faster), and the other one
 * once every {@link PROBE_EVERY} calls, so that the choice follows the load; each probe
 * that loses again doubles that interval, up to {@link PROBE_EVERY_MAX} calls.
 */

/** Kernel calls per thread count whose times the tuner compares (the best of them). */
export const WINDOW = 4;
/** Calls between probes of the slower setting, after a probe that won. */
export const PROBE_EVERY = 16;
/** The longest interval between probes. */
export const PROBE_EVERY_MAX = 256;

/** One kind of kernel call: the last times on 1 and 2 threads, calls on each, and the probing state. */
interface KernelTiming {
  ms: [number[], number[]];
  runs: [number, number];
  calls: number;
  every: number;
  probing: boolean;
}

function best(times: number[]): number {
  return times.length ? Math.min(...times) : Infinity;
}

/** The thread count with the lower best recent time (one on a tie). */
function faster(t: KernelTiming): 1 | 2 {
  return best(t.ms[0]) <= best(t.ms[1]) ? 1 : 2;
}

/** Chooses 1 or 2 threads per kind of kernel call, by timing. */
export class ThreadTuner {
  private readonly kinds = new Map<string, KernelTiming>();

  /** The thread count for the next call of kind `key`. */
  choose(key: string): 1 | 2 {
    let t = this.kinds.get(key);
    if (!t) this.kinds.set(key, (t = { ms: [[], []], runs: [0, 0], calls: 0, every: PROBE_EVERY, probing: false }));
    t.probing = false;
    if (t.runs[0] < 3 || t.runs[1] < 3) return t.runs[1] <= t.runs[0] ? 2 : 1;
    let n = faster(t);
    if (++t.calls >= t.every) {
      t.calls = 0;
      t.probing = true;
      n = n === 1 ? 2 : 1;
    }
    return n;
  }

  /**
   * What the tuner knows per kind of call: calls run on 1 and 2 threads, the best time of
   * each among the last {@link WINDOW}, and the count it would choose now (for the bench,
   * and for anyone asking why "auto" runs one thread).
   */
  report(): { key: string; runs: [number, number]; bestMs: [number, number]; choice: 1 | 2 }[] {
    return [...this.kinds].map(([key, t]) => ({
      key,
      runs: [t.runs[0], t.runs[1]],
      bestMs: [best(t.ms[0]), best(t.ms[1])],
      choice: faster(t),
    }));
  }

  /** Records that the call of kind `key` chosen by {@link choose} took `ms` on `n` threads. */
  record(key: string, n: 1 | 2, ms: number): void {
    const t = this.kinds.get(key);
    if (!t) return;
    if (++t.runs[n - 1] === 1) return; // the warm-up call
    const times = t.ms[n - 1];
    times.push(ms);
    if (times.length > WINDOW) times.shift();
    if (t.probing) t.every = ms < best(t.ms[2 - n]) ? PROBE_EVERY : Math.min(2 * t.every, PROBE_EVERY_MAX);
  }
}
