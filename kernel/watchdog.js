// @ts-check
"use strict";
/**
 * Interrupt for synchronous code that runs after an `await`.
 *
 * tslab runs a cell with `vm` `breakOnSigint`, which stops synchronous code only
 * until the cell's first `await`; what runs after it (a promise continuation, a
 * timer) is plain JavaScript on a blocked event loop, and the kernel's SIGINT
 * handler cannot run until that code ends. So Interrupt (■) did nothing and only a
 * restart helped, losing every variable.
 *
 * The watchdog lives outside the main thread, in a worker thread:
 * - it learns of Interrupt from a tiny sentinel process in the kernel's process
 *   group (Jupyter sends SIGINT to the whole group; the main thread cannot read
 *   the signal while it is blocked, and worker threads are not sent signals);
 * - the main thread bumps a heartbeat in shared memory every HEARTBEAT_MS while its
 *   event loop turns;
 * - the main thread marks its own long synchronous work (compiling a cell,
 *   completions) so that only user code is ever stopped;
 * - if the heartbeat has not moved for STALL_MS of user code after the signal (COOPERATIVE_GRACE_MS
 *   while a seqlab training loop is running, which stops by itself at the end of a
 *   step), the main thread is stuck in synchronous code: the worker asks V8, through
 *   the inspector (`Runtime.terminateExecution`), to stop the JavaScript running on
 *   the main thread. V8 stops it where it is (its `finally` blocks do not run) and
 *   the process, its globals and the cell's earlier variables survive.
 * The kernel's SIGINT handler then ends the cell. The worker also passes every
 * Interrupt on to the main thread as a message, because Node drops a SIGINT that
 * arrives while the main thread is busy just before tslab runs a cell with
 * `breakOnSigint` (e.g. while the cell compiles); the kernel counts one Interrupt
 * when both the signal and the message arrive.
 *
 * Nothing happens while no one presses Interrupt; the inspector session is opened
 * only to stop code and closed again.
 */
const { Worker, isMainThread, parentPort, workerData } = require("worker_threads");

const HEARTBEAT_MS = 100;
const STALL_MS = 1_000;

/** Slots of the shared Int32Array. */
const BEAT = 0; // bumped by the main thread's event loop
const COOPERATIVE = 1; // seqlab loops running (copied from the bridge at each beat)
const FORCED = 2; // number of forced stops so far
const KERNEL_CODE = 3; // 1 while the main thread runs the kernel's own synchronous work
const CELL_RUNNING = 4; // 1 while a cell runs (set by the kernel)
const SIGNALS = 5; // Interrupts seen by the sentinel so far (read while the main thread waits)

/** The worker's message for "the sentinel got SIGINT". */
const INTERRUPT = "interrupt";
/** The worker's message for "I stopped the main thread's code". */
const STOPPED = "stopped";

/**
 * Starts the watchdog for this (main) thread.
 * @param {{ cooperative(): number, cooperativeGraceMs: number, onInterrupt(): void, onStopped(): void,
 *           log(text: string): void }} options
 * @returns {{ forcedStops(): number, kernelCode<T>(work: () => T): T, cellRunning(running: boolean): void, signals(): number,
 *             close(): void }}
 */
function startWatchdog({ cooperative, cooperativeGraceMs, onInterrupt, onStopped, log }) {
  const shared = new Int32Array(new SharedArrayBuffer(6 * Int32Array.BYTES_PER_ELEMENT));
  const beat = setInterval(() => {
    Atomics.add(shared, BEAT, 1);
    Atomics.store(shared, COOPERATIVE, cooperative());
  }, HEARTBEAT_MS);
  beat.unref();
  const worker = new Worker(__filename, {
    workerData: { shared: shared.buffer, cooperativeGraceMs },
    stdout: false,
    stderr: false,
  });
  worker.on("error", (e) => log(`interrupt watchdog failed: ${e}`));
  worker.on("message", (m) => {
    if (m === INTERRUPT) onInterrupt();
    else if (m === STOPPED) onStopped();
    else log(String(m));
  });
  worker.unref();
  return {
    forcedStops: () => Atomics.load(shared, FORCED),
    cellRunning: (running) => Atomics.store(shared, CELL_RUNNING, running ? 1 : 0),
    /** How many Interrupts the sentinel has seen: readable while this thread is blocked. */
    signals: () => Atomics.load(shared, SIGNALS),
    /** Runs the kernel's own synchronous `work`, which the watchdog never stops. */
    kernelCode: (work) => {
      const outer = Atomics.exchange(shared, KERNEL_CODE, 1);
      try {
        return work();
      } finally {
        Atomics.store(shared, KERNEL_CODE, outer);
      }
    },
    close: () => {
      clearInterval(beat);
      void worker.terminate();
    },
  };
}

/** The worker thread's side. */
function watch() {
  const { spawn } = require("child_process");
  const inspector = require("inspector");
  const shared = new Int32Array(workerData.shared);
  const say = (/** @type {string} */ text) => parentPort?.postMessage(text);

  // Stays in the kernel's process group (not detached) so that it gets Jupyter's
  // SIGINT; exits when its stdin closes, i.e. when the kernel is gone.
  const sentinel = spawn(
    process.execPath,
    ["-e", 'process.on("SIGINT", () => process.stdout.write("i")); process.stdin.on("end", () => process.exit(0)).resume();'],
    { stdio: ["pipe", "pipe", "ignore"] },
  );
  sentinel.on("error", (e) => say(`interrupt watchdog: no sentinel process (${e.message})`));
  sentinel.stdout?.on("data", onInterrupt);

  let watching = false;
  function onInterrupt() {
    Atomics.add(shared, SIGNALS, 1);
    parentPort?.postMessage(INTERRUPT);
    if (watching) return;
    watching = true;
    const beat = Atomics.load(shared, BEAT);
    let since = Date.now();
    const poll = setInterval(() => {
      if (Atomics.load(shared, BEAT) !== beat) {
        // The event loop turned: the kernel's own SIGINT handler takes it from here.
        clearInterval(poll);
        watching = false;
        return;
      }
      // The kernel's own work (say, compiling the cell) is waited out; user code that
      // follows it gets the whole grace period.
      if (Atomics.load(shared, KERNEL_CODE) === 1) since = Date.now();
      const grace = Atomics.load(shared, COOPERATIVE) > 0 ? workerData.cooperativeGraceMs : STALL_MS;
      if (Date.now() - since < grace) return;
      clearInterval(poll);
      watching = false;
      // Only a cell's own code after an await is stopped: stopping code that Node's own
      // JavaScript called (a timer's callback) can leave Node's bookkeeping corrupt.
      if (Atomics.load(shared, KERNEL_CODE) === 1 || Atomics.load(shared, CELL_RUNNING) === 0) return;
      Atomics.add(shared, FORCED, 1);
      stopMainThread();
    }, 50);
  }

  function stopMainThread() {
    const session = new inspector.Session();
    try {
      session.connectToMainThread();
      session.post("Runtime.terminateExecution", (err) => {
        if (err) say(`interrupt watchdog: Runtime.terminateExecution failed: ${err.message}`);
        session.disconnect();
        parentPort?.postMessage(STOPPED);
      });
    } catch (e) {
      say(`interrupt watchdog: could not stop the main thread: ${e}`);
    }
  }
}

if (!isMainThread && workerData && workerData.shared) watch();

module.exports = { startWatchdog, STALL_MS, HEARTBEAT_MS };
