// @ts-check
"use strict";
/**
 * tslab's TypeScript converter in a worker thread, warmed up while the user reads.
 *
 * tslab type-checks every cell by rebuilding a TypeScript program of about 900 files
 * (@types/node, and after `import … from "seqlab"` all of tfjs's declarations). Built on the
 * main thread, that work delayed the kernel's first reply by seconds and the import cell
 * by seconds more, most of it parsing declarations. Here the converter lives in a worker:
 * - the kernel answers at once: the main thread only binds its sockets;
 * - right after the converter, the worker loads seqlab's declarations into the program
 *   through a type-only module (WARMUP_MODULE), so the import cell finds them parsed, on
 *   the second core, while the main thread loads seqlab's JavaScript;
 * - the calls stay synchronous, as tslab's executor expects: the main thread posts a
 *   request and sleeps on shared memory (Atomics.wait) until the worker has answered.
 * What the converter checks and reports is unchanged: each cell is still type-checked
 * against everything before it, and seqlab's types are only pre-loaded, not imported.
 */
const path = require("path");
const { Worker, receiveMessageOnPort, isMainThread, parentPort, workerData } = require("worker_threads");

/**
 * The module that holds seqlab's declarations in the program. Type-only: it adds no names to
 * a cell (which must still import seqlab itself) and nothing runs. It is found only by this
 * name, which no notebook uses.
 */
const WARMUP_MODULE = "__seqlab_types_warmup__";
const WARMUP_SOURCE = 'import type * as seqlab from "seqlab";\n';
/** Compiled (never run) at the end of the warm-up; see serve(). */
const WARMUP_CELL = 'import * as seqlab from "seqlab";\nconst backend = await seqlab.initBackend();\nseqlab.describeBackend(backend);\n';

/** Logs the worker's stages with SEQLAB_KERNEL_TIMING=1, as launch.js does the kernel's. */
const timing =
  process.env.SEQLAB_KERNEL_TIMING === "1"
    ? (/** @type {string} */ what) => parentPort?.postMessage(`${performance.now().toFixed(0)} ms: compiler: ${what}`)
    : () => {};

/** Slot 0 of the shared Int32Array: 1 once the worker has posted the answer to a request. */
const ANSWERED = 0;

/**
 * @typedef {{ id: number, method: string, args: unknown[] }} Request
 * @typedef {{ id: number, value?: unknown, error?: { name: string, message: string, stack?: string } }} Answer
 */

/**
 * Starts the worker; returns the converter tslab's executor calls, with the same methods,
 * each synchronous: convert, addModule, inspect and complete.
 * @param {string} cwd the notebook's folder (tslab's rootDir)
 * @param {{ log(text: string): void }} options
 */
function startCompiler(cwd, { log }) {
  const shared = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const { port1: requests, port2: workerRequests } = new MessageChannel();
  const { port1: answers, port2: workerAnswers } = new MessageChannel();
  const worker = new Worker(__filename, {
    workerData: { cwd, shared: shared.buffer, requests: workerRequests, answers: workerAnswers },
    transferList: [workerRequests, workerAnswers],
  });
  worker.on("error", (e) => log(`the TypeScript compiler thread failed: ${e}`));
  worker.on("message", (text) => log(String(text)));
  worker.unref();
  let nextId = 0;

  /**
   * Calls the converter in the worker and waits for its answer.
   * @param {string} method
   * @param {unknown[]} args
   */
  function call(method, args) {
    const id = ++nextId;
    Atomics.store(shared, ANSWERED, 0);
    requests.postMessage(/** @type {Request} */ ({ id, method, args }));
    for (;;) {
      Atomics.wait(shared, ANSWERED, 0, 1_000);
      const received = receiveMessageOnPort(answers);
      if (!received) continue;
      const answer = /** @type {Answer} */ (received.message);
      if (answer.id !== id) continue;
      if (answer.error) {
        const e = new Error(answer.error.message);
        e.name = answer.error.name;
        if (answer.error.stack) e.stack = answer.error.stack;
        throw e;
      }
      return answer.value;
    }
  }

  return {
    /** @param {string} prevDecl @param {string} src */
    convert: (prevDecl, src) => call("convert", [prevDecl, src]),
    /** @param {string} name @param {string} content @param {unknown} meta */
    addModule: (name, content, meta) => call("addModule", [name, content, meta]),
    /** @param {string} prevDecl @param {string} src @param {number} position */
    inspect: (prevDecl, src, position) => call("inspect", [prevDecl, src, position]),
    /** @param {string} prevDecl @param {string} src @param {number} position */
    complete: (prevDecl, src, position) => call("complete", [prevDecl, src, position]),
    close: () => {
      requests.close();
      void worker.terminate();
    },
  };
}

/**
 * The worker thread's side: the converter, answering one request at a time. A request that
 * arrives while the converter starts is answered before each step of the warm-up.
 */
function serve() {
  const { cwd, requests, answers } = workerData;
  const shared = new Int32Array(workerData.shared);
  /** @type {any} */
  let converter = null;
  /** @type {unknown} why there is no converter: every request is answered with it */
  let failed = null;
  try {
    const tslabDir = path.dirname(require.resolve("tslab/package.json"));
    const { makeSeqlabTypesResolvable } = require("./resolve");
    const { createConverter } = require(path.join(tslabDir, "dist/converter"));
    makeSeqlabTypesResolvable(cwd);
    converter = createConverter({ isJS: false, isBrowser: false });
  } catch (e) {
    failed = e;
  }

  /** Set once a cell has imported seqlab: its declarations are in the program, no warm-up needed. */
  let seqlabCompiled = false;
  /** @type {Record<string, (...args: any[]) => unknown>} */
  const methods = {
    convert: (prevDecl, src) => {
      seqlabCompiled ||= /["']seqlab["']/.test(prevDecl) || /["']seqlab["']/.test(src);
      return converter.convert(prevDecl, src);
    },
    addModule: (name, content, meta) => converter.addModule(name, content, meta),
    // Plain data only: TypeScript's objects carry functions and cycles.
    inspect: (prevDecl, src, position) => plain(converter.inspect(prevDecl, src, position)),
    complete: (prevDecl, src, position) => {
      const { start, end, candidates } = converter.complete(prevDecl, src, position);
      return { start, end, candidates };
    },
  };
  /** @param {Request} request */
  const answer = ({ id, method, args }) => {
    /** @type {Answer} */
    let reply;
    try {
      if (failed) throw failed;
      reply = { id, value: methods[method](...args) };
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      reply = { id, error: { name: err.name, message: err.message, stack: err.stack } };
    }
    answers.postMessage(reply);
    Atomics.store(shared, ANSWERED, 1);
    Atomics.notify(shared, ANSWERED);
  };
  const answerWaiting = () => {
    for (let r = receiveMessageOnPort(requests); r; r = receiveMessageOnPort(requests)) answer(r.message);
  };
  // The warm-up: seqlab's declarations into the program, then a cell importing seqlab
  // compiled, so that the program every later cell starts from already holds them; not needed
  // once a cell has imported seqlab (Run All). Where seqlab does not resolve this adds
  // nothing, and says nothing (no cell asked for it).
  timing("converter made");
  answerWaiting();
  try {
    if (!failed && !seqlabCompiled) {
      converter.addModule(WARMUP_MODULE, WARMUP_SOURCE, {});
      timing("seqlab's declarations loaded");
      answerWaiting();
      // A cell like every notebook's first (it imports seqlab's values and calls two of them),
      // compiled and thrown away: the program a cell importing seqlab makes differs from one
      // that does not, and the first compile into that shape does most of the work. Compiled
      // last, it leaves the program in that shape for the notebook's import cell (326 → 126 ms
      // measured), and a trivial cell before the import still pays only the change back.
      if (!seqlabCompiled) converter.convert("", WARMUP_CELL);
      timing("warmed up");
    }
  } catch (e) {
    // Cells compile without the warm-up, as they did before it.
    parentPort?.postMessage(`the compiler's warm-up failed: ${e}`);
  }
  answerWaiting();
  requests.on("message", answer);
}

/** @param {unknown} value @returns {unknown} a copy that survives postMessage */
function plain(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

if (!isMainThread && workerData && workerData.answers) serve();

module.exports = { startCompiler };
