/**
 * How the grader runs a notebook's process: in a group of its own, ended at its time limit,
 * and never waiting for a process it left behind holding its output (a kernel stuck in a loop).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runLimited, killInside } from "../../coursework/grade";

/** Whether a process is alive (and not a zombie). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, "utf-8"));
  } catch {
    return false;
  }
}

/** Whether a process is still alive 2 s on (a killed process closes its files a moment before it ends). */
async function survives(pid: number): Promise<boolean> {
  assert.ok(Number.isInteger(pid) && pid > 0, `pid ${pid}`);
  for (let i = 0; i < 40 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return alive(pid);
}

describe("coursework: the grader's process runner", function () {
  this.timeout(60_000);
  let box: string;
  beforeEach(() => {
    box = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-run-limited-"));
  });
  afterEach(() => {
    killInside(box);
    fs.rmSync(box, { recursive: true, force: true });
  });

  /** A shell that starts, in its own session and in `box`, a process holding its output, and prints that process's pid. */
  const leaver = (then: string) => `setsid sleep 300 & echo "left $!"; ${then}`;
  const leftPid = (output: string) => Number(/left (\d+)/.exec(output)?.[1]);

  it("returns the exit code and the output of a process that ends", async () => {
    const r = await runLimited("sh", ["-c", "echo out; echo err >&2; exit 3"], { env: process.env, timeoutMs: 10_000, cwd: box });
    assert.equal(r.code, 3);
    assert.equal(r.timedOut, false);
    assert.match(r.output, /out/);
    assert.match(r.output, /err/);
  });

  it("does not wait for a process it left behind with its output: that process is ended", async () => {
    const t0 = Date.now();
    const r = await runLimited("sh", ["-c", leaver("exit 0")], {
      env: process.env,
      timeoutMs: 30_000,
      cwd: box,
      leftBehind: () => killInside(box),
    });
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(r.code, 0);
    assert.equal(r.timedOut, false);
    assert.ok(seconds < 20, `returned after ${seconds} s`);
    assert.equal(await survives(leftPid(r.output)), false);
  });

  it("at its time limit ends the process and what it left behind", async () => {
    const r = await runLimited("sh", ["-c", leaver("sleep 300")], {
      env: process.env,
      timeoutMs: 2_000,
      cwd: box,
      leftBehind: () => killInside(box),
    });
    assert.equal(r.timedOut, true);
    assert.equal(await survives(leftPid(r.output)), false);
  });
});
