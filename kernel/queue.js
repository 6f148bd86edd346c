// @ts-check
"use strict";
/**
 * A send queue for one zeromq socket.
 *
 * zeromq 6 allows one send in flight per socket; tslab calls `send` without
 * awaiting it, so a cell that prints more than ~512 lines in one synchronous
 * stretch gets "Socket is busy writing" and the rest of its output — and the
 * final `idle` status — is silently dropped. Here every message waits its turn,
 * in order, and consecutive stream messages of the same cell and stream are
 * merged while they wait (a front end renders them the same), so a cell that
 * prints 5,000 lines costs a few messages, not 5,000.
 */

/** @typedef {import("./wire").Message} Message */

/** Captured before the kernel routes process.stderr to the notebook: a failed send must not send. */
const realStderrWrite = process.stderr.write.bind(process.stderr);

class SendQueue {
  /**
   * @param {{ send(frames: (Buffer | string)[]): Promise<void> }} socket
   * @param {string} key
   */
  constructor(socket, key) {
    this.socket = socket;
    this.key = key;
    /** @type {Message[]} */
    this.pending = [];
    this.draining = false;
    /** Bumped by restart(): a drain loop of an older generation stops. */
    this.generation = 0;
    /** @type {(() => void)[]} */
    this.waiters = [];
  }

  /**
   * Starts a new drain loop. Used after the kernel's interrupt watchdog stopped code
   * on the main thread: V8 then drops queued promise reactions, and the running drain
   * loop may be waiting for one that will never come.
   */
  restart() {
    this.generation++;
    this.draining = false;
    if (this.pending.length > 0) void this.drain();
  }

  /** @param {Message} msg */
  push(msg) {
    const last = this.pending[this.pending.length - 1];
    if (last && isStream(last) && isStream(msg) && sameStream(last, msg)) {
      last.content.text += msg.content.text;
    } else {
      this.pending.push(msg);
    }
    if (!this.draining) void this.drain();
  }

  /** Resolves when everything queued so far has been handed to zeromq. */
  flushed() {
    if (!this.draining && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(() => resolve(undefined)));
  }

  async drain() {
    this.draining = true;
    const generation = this.generation;
    try {
      while (this.pending.length > 0 && generation === this.generation) {
        const msg = /** @type {Message} */ (this.pending.shift());
        try {
          await this.socket.send(msg.frames(this.key));
        } catch (e) {
          // A closed socket at shutdown: nothing left to deliver to.
          if (!String(e).includes("closed")) realStderrWrite(`seqlab kernel: send failed: ${e}\n`);
        }
      }
    } finally {
      if (generation === this.generation) {
        this.draining = false;
        for (const w of this.waiters.splice(0)) w();
      }
    }
  }
}

/** @param {Message} m */
function isStream(m) {
  return m.header.msg_type === "stream";
}

/** @param {Message} a @param {Message} b */
function sameStream(a, b) {
  return a.content.name === b.content.name && /** @type {any} */ (a.parent).msg_id === /** @type {any} */ (b.parent).msg_id;
}

module.exports = { SendQueue };
