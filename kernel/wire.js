// @ts-check
"use strict";
/**
 * The Jupyter wire protocol (messaging spec 5.3): parse, sign and reply.
 *
 *   [identities…, "<IDS|MSG>", hmac, header, parent_header, metadata, content, buffers…]
 *
 * Messages are signed when they are sent, not when they are made, so that the
 * iopub queue can still merge consecutive stream messages (see queue.js).
 */
const { createHmac, randomBytes } = require("crypto");

const DELIM = Buffer.from("<IDS|MSG>");
const PROTOCOL_VERSION = "5.3";

/**
 * @typedef {{ msg_id: string, session: string, username: string, date: string,
 *             msg_type: string, version: string }} Header
 */

class Message {
  /**
   * @param {Buffer[]} identity
   * @param {Header} header
   * @param {Header | {}} parent
   * @param {Record<string, unknown>} metadata
   * @param {any} content
   */
  constructor(identity, header, parent, metadata, content) {
    this.identity = identity;
    this.header = header;
    this.parent = parent;
    this.metadata = metadata;
    this.content = content;
  }

  /**
   * Parses the frames of one incoming message and checks its signature.
   * @param {string} key the connection file's key ("" disables signing)
   * @param {Buffer[]} frames
   */
  static parse(key, frames) {
    const at = frames.findIndex((f) => f.equals(DELIM));
    if (at < 0) throw new Error("message has no <IDS|MSG> delimiter");
    const hmac = frames[at + 1].toString();
    const parts = frames.slice(at + 2, at + 6);
    if (key) {
      const want = sign(
        key,
        parts.map((p) => p.toString()),
      );
      if (hmac !== want) throw new Error("message has a bad signature");
    }
    const [header, parent, metadata, content] = parts.map((p) => JSON.parse(p.toString()));
    return new Message(frames.slice(0, at), header, parent, metadata, content);
  }

  /**
   * A message whose parent is this one, sent back to the same identities.
   * @param {string} msgType
   * @param {any} content
   */
  reply(msgType, content) {
    const h = /** @type {Header} */ (this.header);
    const header = {
      msg_id: randomBytes(16).toString("hex"),
      session: h.session,
      username: h.username,
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    };
    return new Message(this.identity, header, this.header, {}, content);
  }

  /** @param {string} key */
  frames(key) {
    const bodies = [this.header, this.parent, this.metadata, this.content].map((b) => JSON.stringify(b));
    return [...this.identity, DELIM, key ? sign(key, bodies) : "", ...bodies];
  }
}

/**
 * @param {string} key
 * @param {string[]} parts
 */
function sign(key, parts) {
  const h = createHmac("sha256", key);
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

module.exports = { Message, PROTOCOL_VERSION };
