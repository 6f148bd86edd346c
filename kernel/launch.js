#!/usr/bin/env node
// @ts-check
"use strict";
/**
 * The seqlab Jupyter kernel: tslab's TypeScript compiler and executor behind a
 * message loop that fixes what tslab 1.0.22 gets wrong for long training cells.
 *
 *   node kernel/launch.js <connection_file>
 *
 * What differs from `tslab kernel`:
 * - every iopub message is queued (queue.js): no output or `idle` status is lost
 *   when a cell prints thousands of lines or updates a plot hundreds of times;
 * - errors are `error` messages and error replies (ename, evalue, traceback),
 *   compile errors included, not text on stderr;
 * - the value of a cell's last expression is an `execute_result`;
 * - kernel_info_reply is complete; comm_info, history, interrupt and shutdown
 *   requests get proper replies; `execute_input` is broadcast;
 * - `import … from "seqlab"` works and type-checks from a notebook in any folder;
 * - the kernel answers at once: TypeScript compiles in a thread of its own, which loads
 *   seqlab's declarations while the user reads, and this thread loads seqlab's JavaScript
 *   meanwhile (compiler.js, preload), so the notebook's first cell finds both ready;
 * - SIGINT (Interrupt) sets a flag that seqlab's training loops poll, so training
 *   stops at the end of a step and keeps its weights (see src/notebook.ts);
 * - Interrupt also stops synchronous code that runs after an `await`, which tslab
 *   cannot reach (watchdog.js), and keeps the kernel's variables; code stopped in a
 *   tf.tidy or tf.grad, before or after an await, leaves no scope open behind it;
 * - `process.exit()` and `process.abort()` in a cell say so in the cell before the
 *   kernel process ends, instead of the kernel vanishing silently.
 */
const fs = require("fs");
const path = require("path");
const util = require("util");
const { Message, PROTOCOL_VERSION } = require("./wire");
const { SendQueue } = require("./queue");
const { makeSeqlabRequirable } = require("./resolve");
const { startWatchdog } = require("./watchdog");
const { startCompiler } = require("./compiler");

const tslabDir = path.dirname(require.resolve("tslab/package.json"));
const seqlabPackage = require("../package.json");

/** The kernel's own diagnostics go to its real stderr (Jupyter's log), never into a cell. */
const kernelLog = (/** @type {string} */ text) => realStderrWrite(`seqlab kernel: ${text}\n`);
const realStderrWrite = process.stderr.write.bind(process.stderr);
/** The real exits, for the kernel's own use; cells get wrappers that report first (installExitReport). */
const realExit = process.exit.bind(process);
const realAbort = process.abort.bind(process);
/**
 * SEQLAB_KERNEL_TIMING=1 logs when the kernel reaches each stage of its start and of each
 * cell, in ms since the process started (test/bench/kernel_latency.py measures the totals).
 */
const timing =
  process.env.SEQLAB_KERNEL_TIMING === "1"
    ? (/** @type {string} */ what) => kernelLog(`${performance.now().toFixed(0)} ms: ${what}`)
    : () => {};
/** When the background loading of tslab and seqlab starts if no client asks for kernel_info. */
const PRELOAD_AFTER_MS = 500;
/** How often the background loading of seqlab looks again while a cell runs. */
const PRELOAD_RETRY_MS = 200;
/** How long an exiting kernel waits for its last messages to leave. */
const EXIT_FLUSH_MS = 2_000;

/** The handle that library code reaches through `globalThis` (src/notebook.ts reads it). */
const BRIDGE = Symbol.for("seqlab.kernel");

/**
 * Interrupt policy. SIGINT always bumps `interrupts`; when a seqlab training loop
 * is running (`cooperative > 0`) it stops itself at the end of the step and the
 * cell ends normally. Otherwise — or if the loop has not stopped after
 * COOPERATIVE_GRACE_MS — the cell is interrupted the way tslab does it.
 */
const COOPERATIVE_GRACE_MS = 10_000;
/** A SIGINT and the watchdog's report of it closer than this are one Interrupt. */
const SAME_INTERRUPT_MS = 3_000;
/** How long a cell stopped by SIGINT waits for the sentinel to count that SIGINT. */
const SENTINEL_WAIT_MS = 500;

class Kernel {
  /** @param {string} connectionFile */
  constructor(connectionFile) {
    this.conn = JSON.parse(fs.readFileSync(connectionFile, "utf-8"));
    this.key = this.conn.key || "";
    this.execCount = 0;
    /** @type {[number, number, string, string | null][]} session, line, input, output */
    this.history = [];
    /** Executions run one at a time, in order; an error aborts the ones queued behind it. */
    this.execChain = Promise.resolve();
    /** Counts failed cells (with stop_on_error); a request queued before a failure is aborted. */
    this.failures = 0;
    this.lastFailureAt = 0;
    /** @type {Message | null} the execute_request whose cell owns stdout/stderr now */
    this.current = null;
    /** Per-execution record of what tslab's executor reports through its console. */
    this.outcome = newOutcome();
    // Set by start():
    /** @type {any} tslab's executor */
    this.executor = null;
    /** @type {ReturnType<typeof startCompiler> | null} tslab's converter, in its own thread */
    this.compiler = null;
    /** @type {{ node: unknown, readonly browser: unknown, close(): void } | null} the converters tslab's executor calls */
    this.convs = null;
    /** @type {NodeJS.Timeout | null} pending until the background loading has started (preload) */
    this.preloadTimer = null;
    /** @type {any} tslab's jupyter module (its display API reads lastWriteDisplayData) */
    this.tslabJupyter = null;
    /** @type {SendQueue} */
    this.iopub = /** @type {any} */ (null);
    /** @type {SendQueue} */
    this.shell = /** @type {any} */ (null);
    /** @type {SendQueue} */
    this.control = /** @type {any} */ (null);
    /** @type {{ close(): void }[]} */
    this.sockets = [];
    /** True while a cell's code runs (between execute_input and its reply). */
    this.running = false;
    /** @type {ReturnType<typeof startWatchdog> | null} */
    this.watchdog = null;
    /** Forced stops (watchdog.js) already reported. */
    this.forcedSeen = 0;
    /** Set once user code has called process.exit() or process.abort(). */
    this.exiting = false;
    /** @type {{ source: string, at: number } | null} the last Interrupt counted */
    this.lastInterrupt = null;
    /** @type {{ work: Promise<unknown>, maxMs: number }[]} work the running cell must wait for before it ends (bridge.hold) */
    this.held = [];
    /** @type {(() => void)[]} called on the next Interrupt */
    this.onInterrupt = [];
  }

  async start() {
    timing("start");
    makeSeqlabRequirable(process.cwd());
    const zmq = require("zeromq");

    this.watchdog = startWatchdog({
      cooperative: () => this.bridge()?.cooperative ?? 0,
      cooperativeGraceMs: COOPERATIVE_GRACE_MS,
      onInterrupt: () => this.interrupt("watchdog"),
      onStopped: () => {
        if (this.takeForcedStop()) this.abortCell();
      },
      log: kernelLog,
    });
    // TypeScript starts and loads seqlab's declarations in its own thread (compiler.js)
    // while this one answers Jupyter; waiting for a compile can take seconds, and the
    // interrupt watchdog must not stop it.
    this.compiler = startCompiler(process.cwd(), { log: kernelLog });
    const nodeConverter = markKernelCode(this.compiler, this.watchdog.kernelCode);
    const { convert } = nodeConverter;
    const signals = this.watchdog.signals;
    // An Interrupt while the cell waits for its compile would be lost (the SIGINT comes before
    // tslab runs the cell with breakOnSigint): the cell does not run.
    nodeConverter.convert = (/** @type {string} */ prevDecl, /** @type {string} */ src) => {
      const before = signals();
      const converted = convert(prevDecl, src);
      timing("compiled");
      if (signals() !== before) throw new CompileInterrupted();
      return converted;
    };
    this.convs = {
      node: nodeConverter,
      get browser() {
        throw new Error("browser cells (//%browser) are not supported by the seqlab kernel");
      },
      close() {
        nodeConverter.close();
      },
    };

    const iopub = new zmq.Publisher({ sendHighWaterMark: 0 });
    const shell = new zmq.Router();
    const control = new zmq.Router();
    const stdin = new zmq.Router();
    const hb = new zmq.Reply();
    this.sockets = [iopub, shell, control, stdin, hb];
    this.iopub = new SendQueue(iopub, this.key);
    this.shell = new SendQueue(shell, this.key);
    this.control = new SendQueue(control, this.key);
    const c = this.conn;
    const addr = (/** @type {number} */ port) => `${c.transport}://${c.ip}:${port}`;
    await Promise.all([
      iopub.bind(addr(c.iopub_port)),
      shell.bind(addr(c.shell_port)),
      control.bind(addr(c.control_port)),
      stdin.bind(addr(c.stdin_port)),
      hb.bind(addr(c.hb_port)),
    ]);
    timing("sockets bound");
    this.installBridge();
    this.installSignals();
    this.installExitReport();
    void this.serve(shell, this.shell);
    void this.serve(control, this.control);
    void (async () => {
      for await (const frames of hb) await hb.send(frames);
    })();
    // Once Jupyter has had its kernel_info_reply (clients ask for it on connecting), or after
    // PRELOAD_AFTER_MS if none asks.
    this.preloadTimer = setTimeout(() => this.preload(), PRELOAD_AFTER_MS);
  }

  /**
   * tslab's executor, made at first use: loading it loads TypeScript on this thread too
   * (a few hundred ms), which the kernel's first reply need not wait for.
   */
  tslab() {
    if (!this.executor) {
      const { createExecutor } = require(path.join(tslabDir, "dist/executor"));
      this.tslabJupyter = require(path.join(tslabDir, "dist/jupyter"));
      this.executor = createExecutor(process.cwd(), this.convs, this.executorConsole());
    }
    return this.executor;
  }

  /**
   * Loads tslab's executor, then seqlab's JavaScript (and tfjs under it) while the user is
   * still reading, so the notebook's import cell finds it loaded. Loading runs nothing of seqlab's: the backend is
   * still chosen by the cell's initBackend(). Where seqlab does not load from this folder,
   * nothing is loaded (the import cell then says why).
   */
  preload() {
    if (this.preloadTimer === null) return;
    clearTimeout(this.preloadTimer);
    this.preloadTimer = null;
    // In steps, so that a request arriving meanwhile waits for one step at most.
    setImmediate(() => {
      this.tslab();
      timing("executor loaded");
      const loadSeqlab = () => {
        // Not in the middle of a cell: it would stall the cell's output. (After one, it costs
        // nothing if the cell has loaded seqlab itself.)
        if (this.running) {
          setTimeout(loadSeqlab, PRELOAD_RETRY_MS).unref();
          return;
        }
        try {
          // The `require` tslab gives cells, rooted at the notebook's folder.
          require("module").createRequire(path.join(process.cwd(), "src.js"))("seqlab");
          timing("seqlab preloaded");
        } catch (e) {
          kernelLog(`seqlab not preloaded: ${String(e instanceof Error ? e.message : e).split("\n")[0]}`);
        }
      };
      setImmediate(loadSeqlab);
    });
  }

  /**
   * @param {AsyncIterable<Buffer[]>} socket
   * @param {SendQueue} replies
   */
  async serve(socket, replies) {
    for await (const frames of socket) {
      let msg;
      try {
        msg = Message.parse(this.key, frames);
      } catch (e) {
        kernelLog(`dropped a message: ${e}`);
        continue;
      }
      void this.handle(msg, replies);
    }
  }

  /**
   * @param {Message} msg
   * @param {SendQueue} replies
   */
  async handle(msg, replies) {
    const type = msg.header.msg_type;
    if (type === "execute_request") {
      // Busy → outputs → reply → idle, one cell after another.
      const failuresSeen = this.failures;
      this.execChain = this.execChain.then(() => this.withStatus(msg, () => this.execute(msg, replies, failuresSeen)));
      return;
    }
    await this.withStatus(msg, async () => {
      const content = msg.content;
      switch (type) {
        case "kernel_info_request":
          replies.push(msg.reply("kernel_info_reply", this.kernelInfo()));
          return void replies.flushed().then(() => this.preload());
        case "is_complete_request":
          return replies.push(msg.reply("is_complete_reply", this.isComplete(content.code)));
        case "complete_request":
          return replies.push(msg.reply("complete_reply", this.complete(content.code, content.cursor_pos)));
        case "inspect_request":
          return replies.push(msg.reply("inspect_reply", this.inspect(content.code, content.cursor_pos)));
        case "history_request":
          return replies.push(msg.reply("history_reply", { status: "ok", history: this.historyFor(content) }));
        case "comm_info_request":
          return replies.push(msg.reply("comm_info_reply", { status: "ok", comms: {} }));
        case "interrupt_request":
          this.interrupt("request");
          return replies.push(msg.reply("interrupt_reply", { status: "ok" }));
        case "shutdown_request":
          replies.push(msg.reply("shutdown_reply", { status: "ok", restart: !!content.restart }));
          return this.shutdown();
        default:
          kernelLog(`unsupported message type ${type}`);
      }
    });
  }

  /**
   * @param {Message} msg
   * @param {() => Promise<void> | void} body
   */
  async withStatus(msg, body) {
    this.iopub.push(msg.reply("status", { execution_state: "busy" }));
    try {
      await body();
    } catch (e) {
      kernelLog(`internal error: ${util.inspect(e)}`);
    } finally {
      this.iopub.push(msg.reply("status", { execution_state: "idle" }));
    }
  }

  kernelInfo() {
    // The version from its package.json: TypeScript itself loads in the compiler's thread.
    const ts = require(require.resolve("@tslab/typescript-for-tslab/package.json", { paths: [tslabDir] }));
    return {
      status: "ok",
      protocol_version: PROTOCOL_VERSION,
      implementation: "seqlab",
      implementation_version: seqlabPackage.version,
      language_info: {
        name: "typescript",
        version: ts.version,
        mimetype: "text/typescript",
        file_extension: ".ts",
        pygments_lexer: "typescript",
        // As tslab: makes Notebook and JupyterLab highlight TypeScript.
        codemirror_mode: { mode: "typescript", name: "javascript", typescript: true },
      },
      banner:
        `seqlab ${seqlabPackage.version}: TypeScript on Node ${process.version}, ` +
        `built on tslab ${require(path.join(tslabDir, "package.json")).version}`,
      help_links: [{ text: "seqlab README", url: "https://www.npmjs.com/package/seqlab" }],
      debugger: false,
    };
  }

  /** @param {string} code */
  isComplete(code) {
    const { isCompleteCode } = require(path.join(tslabDir, "dist/converter"));
    const res = isCompleteCode(code);
    return res.completed ? { status: "complete" } : { status: "incomplete", indent: res.indent };
  }

  /** @param {string} code @param {number} cursor */
  complete(code, cursor) {
    const info = this.tslab().complete(code, cursor);
    return { status: "ok", matches: info.candidates, cursor_start: info.start, cursor_end: info.end, metadata: {} };
  }

  /** @param {string} code @param {number} cursor */
  inspect(code, cursor) {
    const { printQuickInfo } = require(path.join(tslabDir, "dist/inspect"));
    const info = this.tslab().inspect(code, cursor);
    if (!info) return { status: "ok", found: false, data: {}, metadata: {} };
    return { status: "ok", found: true, data: { "text/plain": printQuickInfo(info) }, metadata: {} };
  }

  /**
   * history_request: "tail" (last n), "range" (lines start ≤ line < stop of this
   * session) and "search" (glob pattern, optionally unique, last n).
   * @param {any} req
   */
  historyFor(req) {
    const rows = this.history.map(([s, line, input, output]) => (req.output ? [s, line, [input, output]] : [s, line, input]));
    if (req.hist_access_type === "tail") return req.n ? rows.slice(-req.n) : rows;
    if (req.hist_access_type === "range") {
      return rows.filter((r) => r[1] >= (req.start ?? 0) && (req.stop == null || r[1] < req.stop));
    }
    if (req.hist_access_type === "search") {
      const glob = String(req.pattern ?? "*").replace(/[.+^${}()|[\]\\]/g, "\\$&");
      const re = new RegExp(`^${glob.replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "s");
      let hits = this.history.filter((h) => re.test(h[2]));
      if (req.unique) hits = hits.filter((h, i) => hits.findIndex((g) => g[2] === h[2]) === i);
      const out = hits.map(([s, line, input, output]) => (req.output ? [s, line, [input, output]] : [s, line, input]));
      return req.n ? out.slice(-req.n) : out;
    }
    return [];
  }

  /**
   * Runs one cell. tslab's executor reports through the console we gave it:
   * diagnostics and thrown values on `error`, the last expression on `log`.
   * @param {Message} msg
   * @param {SendQueue} replies
   * @param {number} failuresSeen `failures` when the request arrived
   */
  async execute(msg, replies, failuresSeen) {
    const { code, silent = false, store_history = true, stop_on_error = true } = msg.content;
    if (this.failures !== failuresSeen || this.sentBeforeLastFailure(msg)) {
      // Like ipykernel: requests already queued behind a failed cell are aborted.
      replies.push(msg.reply("execute_reply", { status: "aborted", execution_count: this.execCount }));
      return;
    }
    timing("execute_request");
    const executor = this.tslab();
    const count = store_history && !silent ? ++this.execCount : this.execCount;
    if (!silent) this.iopub.push(msg.reply("execute_input", { code, execution_count: count }));

    this.current = msg;
    this.routeOutput(msg);
    this.outcome = newOutcome();
    const bridge = this.bridge();
    bridge.cellStartInterrupts = bridge.interrupts;
    const signalsAtStart = this.watchdog?.signals() ?? 0;
    this.running = true;
    this.watchdog?.cellRunning(true);
    let ok;
    try {
      // The synchronous part of execute — compiling, then the cell's code up to its
      // first await, which tslab runs with breakOnSigint — is not the watchdog's to stop.
      ok = await /** @type {NonNullable<Kernel["watchdog"]>} */ (this.watchdog).kernelCode(() => executor.execute(code));
    } catch (e) {
      if (!(e instanceof CompileInterrupted)) throw e;
      this.outcome.errors.push(e);
      ok = false;
    } finally {
      this.running = false;
      this.watchdog?.cellRunning(false);
    }
    timing("cell ran");
    if (isSigintBreak(this.outcome.errors[0])) await this.afterSigintBreak(signalsAtStart);
    await this.releaseHeld();
    const { result, errors, diagnostics } = this.outcome;
    let output = null;
    if (result.has && !silent) {
      output = util.inspect(result.value);
      this.iopub.push(msg.reply("execute_result", { execution_count: count, data: { "text/plain": output }, metadata: {} }));
    }
    if (store_history && !silent) this.history.push([1, count, code, output]);

    if (ok) {
      if (diagnostics.length > 0) this.writeStream(msg, "stderr", diagnostics.join("\n") + "\n");
      replies.push(msg.reply("execute_reply", { status: "ok", execution_count: count, payload: [], user_expressions: {} }));
      return;
    }
    const err = this.outcome.forcedStop ? forcedStopError() : describeError(errors[0], diagnostics);
    this.iopub.push(msg.reply("error", err));
    replies.push(msg.reply("execute_reply", { status: "error", execution_count: count, ...err }));
    if (stop_on_error) {
      this.failures++;
      this.lastFailureAt = Date.now();
    }
  }

  /**
   * Interrupt stopped the cell's synchronous code (vm's breakOnSigint) before any await.
   * The code stopped where it was, so a tf.tidy or tf.grad it was inside is still open:
   * close it. And the sentinel (watchdog.js) counts this SIGINT in its own time; the next
   * cell's compile would take a late count for an Interrupt of itself, so the reply waits
   * (at most SENTINEL_WAIT_MS, in case SIGINT went to this process alone) until it is in.
   * @param {number} signalsAtStart the sentinel's count when the cell started
   */
  async afterSigintBreak(signalsAtStart) {
    repairTfjsEngine();
    const watchdog = this.watchdog;
    const until = Date.now() + SENTINEL_WAIT_MS;
    while (watchdog && watchdog.signals() === signalsAtStart && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    this.outcome.errors[0] = new SigintBreak();
  }

  /**
   * Waits for the work library code asked the cell to wait for (the still pictures of its
   * figures: src/plot/picture.ts), each at most its own limit, and no longer once the user
   * presses Interrupt. Its output then reaches the client before the cell's reply.
   */
  async releaseHeld() {
    /** @type {Promise<void>} */
    const interrupted = new Promise((resolve) => this.onInterrupt.push(() => resolve()));
    while (this.held.length > 0) {
      const batch = this.held.splice(0);
      const timers = /** @type {NodeJS.Timeout[]} */ ([]);
      const all = Promise.all(
        batch.map(({ work, maxMs }) =>
          Promise.race([work.catch(() => {}), new Promise((resolve) => timers.push(setTimeout(resolve, maxMs)))]),
        ),
      );
      const stopped = await Promise.race([all.then(() => false), interrupted.then(() => true)]);
      for (const t of timers) clearTimeout(t);
      if (stopped) {
        this.held = [];
        break;
      }
    }
    this.onInterrupt = [];
  }

  /**
   * A request still waiting in zeromq when a cell failed is read only after the
   * failure (the cell blocked the event loop); its client timestamp tells that
   * it was sent before. Only trusted within a second, in case clocks differ.
   * @param {Message} msg
   */
  sentBeforeLastFailure(msg) {
    const sent = Date.parse(msg.header.date);
    const now = Date.now();
    return now - this.lastFailureAt < 1000 && Number.isFinite(sent) && sent < this.lastFailureAt;
  }

  /** The console handed to tslab's executor: it records instead of printing. */
  executorConsole() {
    return {
      /** @param {unknown[]} args */
      log: (...args) => {
        // The executor logs exactly one thing: the value of the last expression.
        this.outcome.result = { has: true, value: args[0] };
      },
      /** @param {unknown[]} args */
      error: (...args) => {
        if (typeof args[0] === "string" && args[0].startsWith("%s%d:%d")) {
          this.outcome.diagnostics.push(util.format(...args));
        } else {
          this.outcome.errors.push(args[0]);
        }
      },
    };
  }

  /**
   * Sends process.stdout/stderr and tslab's display API to this cell. As in
   * ipykernel, output written after the cell has finished (timers, promises)
   * still goes to the last cell that ran.
   * @param {Message} msg
   */
  routeOutput(msg) {
    const writer = (/** @type {"stdout" | "stderr"} */ name) =>
      /** @type {typeof process.stdout.write} */ (
        (chunk, encoding, cb) => {
          const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString(typeof encoding === "string" ? encoding : "utf-8");
          this.writeStream(this.current ?? msg, name, text);
          const done = typeof encoding === "function" ? encoding : cb;
          if (done) process.nextTick(done);
          return true;
        }
      );
    process.stdout.write = writer("stdout");
    process.stderr.write = writer("stderr");
    this.tslabJupyter.lastWriteDisplayData = (/** @type {any} */ data, /** @type {boolean} */ update) => {
      this.iopub.push((this.current ?? msg).reply(update ? "update_display_data" : "display_data", data));
    };
  }

  /**
   * @param {Message} parent
   * @param {"stdout" | "stderr"} name
   * @param {string} text
   */
  writeStream(parent, name, text) {
    this.iopub.push(parent.reply("stream", { name, text }));
  }

  /** The object src/notebook.ts finds on globalThis. */
  bridge() {
    return /** @type {any} */ (globalThis)[BRIDGE];
  }

  installBridge() {
    /** @type {any} */ (globalThis)[BRIDGE] = {
      version: 1,
      /** Incremented by every Interrupt; a loop stops when it changes. */
      interrupts: 0,
      cellStartInterrupts: 0,
      /** Number of seqlab loops running now that poll `interrupts`. */
      cooperative: 0,
      /** Sends a display_data (or update_display_data) to the current cell. */
      display: (/** @type {any} */ content, /** @type {boolean} */ update = false) => {
        this.tslabJupyter?.lastWriteDisplayData?.(content, update);
      },
      /** Resolves when everything sent so far has left the kernel. */
      flushed: () => this.iopub.flushed(),
      /** The running cell ends only once `work` settles (at most `maxMs`). */
      hold: (/** @type {Promise<unknown>} */ work, /** @type {number} */ maxMs) => {
        this.held.push({ work, maxMs });
      },
    };
  }

  installSignals() {
    process.on("SIGINT", () => this.interrupt("signal"));
    process.on("uncaughtException", (err) => {
      if (err instanceof ProcessExit) return; // already reported by the process.exit wrapper
      const parent = this.current;
      if (parent) this.iopub.push(parent.reply("error", describeError(err, [])));
      else kernelLog(`uncaught exception: ${util.inspect(err)}`);
    });
    process.on("unhandledRejection", (reason) => {
      if (this.current) this.writeStream(this.current, "stderr", `Unhandled promise rejection: ${util.inspect(reason)}\n`);
    });
  }

  /**
   * One Interrupt (■), reported by SIGINT and/or by the watchdog's sentinel
   * (watchdog.js): the two reports of one ■ count once.
   * @param {"signal" | "watchdog" | "request"} source
   */
  interrupt(source) {
    const now = Date.now();
    const last = this.lastInterrupt;
    if (last && last.source !== source && (source === "watchdog" || last.source === "watchdog") && now - last.at < SAME_INTERRUPT_MS) {
      this.lastInterrupt = null;
      if (this.takeForcedStop()) this.abortCell();
      return;
    }
    this.lastInterrupt = { source, at: now };
    const bridge = this.bridge();
    bridge.interrupts++;
    for (const f of this.onInterrupt.splice(0)) f();
    if (this.takeForcedStop()) {
      // The watchdog stopped synchronous code mid-way: no loop can poll any more.
      this.abortCell();
      return;
    }
    if (bridge.cooperative > 0) {
      const at = bridge.interrupts;
      setTimeout(() => {
        if (bridge.cooperative > 0 && bridge.interrupts === at) this.abortCell();
      }, COOPERATIVE_GRACE_MS).unref();
      return;
    }
    this.abortCell();
  }

  /** Ends the running cell with tslab's "Interrupted asynchronously" (or the watchdog's error). */
  abortCell() {
    // Outside a cell, tslab's interrupt would abort the next cell before it starts.
    if (this.running) this.executor?.interrupt();
  }

  /**
   * After the watchdog stopped the main thread (watchdog.js): repairs what the
   * stopped code could not finish, and tells the cell. True if there was such a stop.
   */
  takeForcedStop() {
    const forced = this.watchdog?.forcedStops() ?? 0;
    if (forced === this.forcedSeen) return false;
    this.forcedSeen = forced;
    repairTfjsEngine();
    // V8 drops the promise reactions queued behind the stopped code; a send queue
    // waiting on one would never send again.
    for (const queue of [this.iopub, this.shell, this.control]) queue.restart();
    if (this.running) {
      this.outcome.forcedStop = true;
    } else if (this.current) {
      // Code from a timer or promise of a cell that had already finished.
      this.iopub.push(this.current.reply("error", forcedStopError()));
    }
    return true;
  }

  /**
   * `process.exit()` / `process.abort()` from a cell (or a timer it started) would
   * end the kernel before anything reached the notebook, which then only sees a dead
   * kernel. The wrappers send the reason as an error, stop the calling code by
   * throwing, let the messages leave, then end the process with the same code.
   */
  installExitReport() {
    const ending = (/** @type {string} */ call, /** @type {() => void} */ end) => {
      const err = new ProcessExit(
        `${call} was called: the kernel process is ending (Jupyter starts a new one; variables and models are lost)`,
      );
      if (!this.exiting) {
        this.exiting = true;
        if (!this.running && this.current) {
          // No cell is running to turn the throw into an error reply: say it here.
          this.iopub.push(this.current.reply("error", describeError(err, [])));
        }
        setImmediate(() => {
          const timeout = new Promise((r) => setTimeout(r, EXIT_FLUSH_MS));
          const flushed = Promise.all([this.iopub.flushed(), this.shell.flushed(), this.control.flushed()]);
          void Promise.race([flushed, timeout]).then(() => {
            kernelLog(`${call} was called by user code`);
            end();
          });
        });
      }
      throw err;
    };
    process.exit = /** @type {typeof process.exit} */ (
      (code) => {
        const c = code ?? process.exitCode ?? 0;
        return ending(`process.exit(${code === undefined ? "" : code})`, () => realExit(c));
      }
    );
    process.abort = () => ending("process.abort()", realAbort);
  }

  async shutdown() {
    await Promise.all([this.iopub.flushed(), this.shell.flushed(), this.control.flushed()]);
    this.watchdog?.close();
    this.convs?.close();
    for (const s of this.sockets ?? []) s.close();
    realExit(0);
  }
}

/**
 * Wraps the converter's methods so that the interrupt watchdog knows they are the
 * kernel's work, not the user's.
 * @param {any} converter
 * @param {<T>(work: () => T) => T} kernelCode
 */
function markKernelCode(converter, kernelCode) {
  for (const name of ["convert", "addModule", "inspect", "complete"]) {
    const method = converter[name];
    if (typeof method === "function")
      converter[name] = (/** @type {unknown[]} */ ...args) => kernelCode(() => method.apply(converter, args));
  }
  return converter;
}

/** What a cell reports when Interrupt came while it was compiling: its code did not run. */
class CompileInterrupted extends Error {
  constructor() {
    super("Interrupted while the cell was being compiled: its code did not run.");
  }
  /** @override */
  name = "Interrupted";
  /** The message says it all: no stack (describeError). */
  hideStack = true;
}

/** @param {unknown} e  True for the error vm throws when SIGINT stopped a script run with breakOnSigint. */
function isSigintBreak(e) {
  return e instanceof Error && /** @type {{ code?: unknown }} */ (e).code === "ERR_SCRIPT_EXECUTION_INTERRUPTED";
}

/** What a cell reports when Interrupt stopped its code before any await. */
class SigintBreak extends Error {
  constructor() {
    super("the cell's code was stopped where it was (its finally blocks did not run). Variables from earlier cells are kept.");
  }
  /** @override */
  name = "Interrupted";
  /** The message says it all: no stack (describeError). */
  hideStack = true;
}

/** What stops a cell's code when it calls process.exit() or process.abort(). */
class ProcessExit extends Error {
  /** @override */
  name = "ProcessExit";
}

/** The error a cell reports when the watchdog had to stop its synchronous code. */
function forcedStopError() {
  const evalue =
    "Interrupted: the cell was running synchronous code after an await; it was stopped where it was " +
    "(its finally blocks did not run). Variables from earlier cells are kept.";
  return { ename: "Interrupted", evalue, traceback: [`Interrupted: ${evalue.slice("Interrupted: ".length)}`] };
}

/**
 * tfjs keeps its scopes (tf.tidy), gradient tape and kernel depth in one global
 * engine; code stopped inside tf.tidy or tf.grad leaves them open, and every later
 * tensor would be tracked by a scope that never ends. Nothing is on the stack when
 * this runs, so whatever is open belongs to the stopped code: close it.
 */
function repairTfjsEngine() {
  const engine = /** @type {any} */ (globalThis)._tfengine;
  const state = engine?.state;
  if (!state || !Array.isArray(state.scopeStack)) return;
  try {
    while (state.scopeStack.length > 0) engine.endScope(undefined);
    state.gradientDepth = 0;
    state.kernelDepth = 0;
    state.activeTape = null;
    if (Array.isArray(state.numDataMovesStack)) state.numDataMovesStack = [];
  } catch (e) {
    kernelLog(`could not repair the tfjs engine after a forced stop: ${e}`);
  }
}

function newOutcome() {
  return {
    /** True when the watchdog had to stop the cell's code (watchdog.js). */
    forcedStop: false,
    /** @type {{ has: boolean, value?: unknown }} */
    result: { has: false },
    /** @type {unknown[]} */
    errors: [],
    /** @type {string[]} */
    diagnostics: [],
  };
}

/**
 * The content of an `error` message for a thrown value or compile diagnostics.
 * @param {unknown} thrown
 * @param {string[]} diagnostics
 */
function describeError(thrown, diagnostics) {
  if (thrown === undefined && diagnostics.length > 0) {
    return { ename: "TypeScriptError", evalue: diagnostics[0], traceback: diagnostics };
  }
  if (thrown instanceof Error || (thrown && typeof thrown === "object" && "message" in thrown)) {
    const e = /** @type {Error} */ (thrown);
    const ename = e.name || e.constructor?.name || "Error";
    const evalue = String(e.message);
    // An error written for the reader (an assignment's check: hideStack) is its message alone.
    if (/** @type {{ hideStack?: unknown }} */ (e).hideStack === true) return { ename, evalue, traceback: [`${ename}: ${evalue}`] };
    let stack = typeof e.stack === "string" ? e.stack.split("\n") : [`${ename}: ${evalue}`];
    // vm's displayErrors puts the throwing line of source, with a ^, before "Name: message".
    const head = stack.findIndex((l) => l.startsWith(`${ename}:`) || l.startsWith(`${ename} [`));
    if (head > 0) stack = stack.slice(head);
    // Frames inside the kernel and tslab say nothing about the user's code.
    const traceback = stack.filter((l) => !/node_modules[\\/]tslab[\\/]|kernel[\\/]launch\.js|node:internal/.test(l));
    return { ename, evalue, traceback };
  }
  const evalue = util.inspect(thrown);
  return { ename: "Error", evalue, traceback: [`Uncaught ${evalue}`] };
}

/**
 * Ends the kernel once the client that started it is gone. jupyter_client puts its own pid in
 * JPY_PARENT_PID (ipykernel watches it the same way): a notebook server or grader that is
 * killed, and so never shuts its kernels down, would otherwise leave them running, holding
 * their memory, for good. Checked every second while the event loop turns.
 */
function exitWithParent() {
  const parent = Number(process.env.JPY_PARENT_PID);
  if (!Number.isInteger(parent) || parent <= 1) return;
  const timer = setInterval(() => {
    try {
      process.kill(parent, 0); // no signal: only "does it exist?" (EPERM: it does, as another user)
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code !== "ESRCH") return;
      process.stderr.write(`seqlab kernel: its client (pid ${parent}) is gone; exiting\n`);
      realExit(0);
    }
  }, 1000);
  timer.unref();
}

if (require.main === module) {
  const connectionFile = process.argv[2];
  if (!connectionFile) {
    process.stderr.write("usage: node kernel/launch.js <connection_file>\n");
    process.exit(2);
  }
  exitWithParent();
  new Kernel(connectionFile).start().catch((e) => {
    process.stderr.write(`seqlab kernel failed to start: ${util.inspect(e)}\n`);
    process.exit(1);
  });
}

module.exports = { Kernel, describeError };
