/**
 * Display in notebooks, seen from the kernel's side: the mime bundle show() sends,
 * the messages of a live figure (display id, update flag, throttling, final state),
 * and the fallbacks outside a kernel. The kernel's bridge is faked: the same object
 * kernel/launch.js puts on globalThis, recording what it is asked to send.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { liveFigure, show, trainingCurves, type Figure } from "seqlab";
import { sendPlotlyJs } from "seqlab/internal";
import { fakeKernel, removeFakeKernel, type Sent } from "./helpers/fake-kernel";

const PLOTLY_JSON = "application/vnd.plotly.v1+json";

function html(s: Sent): string {
  return String(s.content.data["text/html"]);
}

/** The plotly.js bundle is ~11 MB; a figure without it is a few KB. */
function carriesPlotly(s: Sent): boolean {
  return html(s).includes("window.Plotly = Plotly") && html(s).length > 1_000_000;
}

/** The figure JSON embedded in a bundle's HTML. */
function embeddedFigure(s: Sent): Figure {
  const m = /<script type="application\/json" class="seqlab-plot-figure">([\s\S]*?)<\/script>/.exec(html(s));
  assert.ok(m, "the HTML embeds the figure as JSON");
  return JSON.parse(m[1]);
}

/** Captures what is written to stdout while `fn` runs. */
async function stdoutOf(fn: () => void | Promise<void>): Promise<string> {
  const write = process.stdout.write;
  let out = "";
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (without a time limit of its own: mocha's applies) until `done()` holds. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await sleep(5);
}

/** Runs fn with Date.now() stopped, so that code timed by it sees no time pass. */
function withClockStopped<T>(fn: () => T): T {
  const now = Date.now;
  const frozen = now();
  Date.now = () => frozen;
  try {
    return fn();
  } finally {
    Date.now = now;
  }
}
const curves = (n: number) => trainingCurves({ loss: Array.from({ length: n }, (_, i) => 1 / (i + 1)) });

describe("plot display", () => {
  afterEach(() => {
    removeFakeKernel();
  });

  describe("show()", () => {
    it("sends one display_data with plotly JSON, HTML and text; plotly.js only in the session's first figure", () => {
      const k = fakeKernel();
      const a = curves(3),
        b = curves(5);
      show(a);
      assert.equal(k.sent.length, 1, "one message per figure");
      const [first] = k.sent;
      assert.equal(first.update, false);
      assert.deepEqual(Object.keys(first.content.data).sort(), [PLOTLY_JSON, "text/html", "text/plain"]);
      assert.deepEqual(first.content.data[PLOTLY_JSON], { data: a.data, layout: a.layout });
      assert.deepEqual(first.content.metadata, {});
      assert.match(String(first.content.transient?.display_id), /^seqlab-plot-/, "a display id, for the still picture that follows");
      assert.match(String(first.content.data["text/plain"]), /^plot "Training curves": 1 trace/);
      assert.ok(carriesPlotly(first), "the first figure carries plotly.js");
      assert.ok(!/<script[^>]+src=/.test(html(first)), "no script is loaded from anywhere (no CDN)");
      assert.deepEqual(embeddedFigure(first), { data: a.data, layout: a.layout });

      show(b);
      assert.equal(k.sent.length, 2);
      const second = k.sent[1];
      assert.ok(!carriesPlotly(second), "later figures reuse window.Plotly");
      assert.ok(html(second).length < 20_000, `second figure's HTML is small (${html(second).length} chars)`);
      assert.match(html(second), /if \(window\.Plotly\) return draw\(\);/);
      assert.match(html(second), /__seqlabPlotQueue/, "…and wait for it if it is missing");
      assert.match(html(second), /sendPlotlyJs\(\)/, "…and say how to get it if it never comes");
      assert.deepEqual(embeddedFigure(second), { data: b.data, layout: b.layout });
    });

    it("a new kernel session sends plotly.js again", async () => {
      await stdoutOf(() => show(curves(2))); // outside the kernel: nothing is sent
      const k1 = fakeKernel();
      show(curves(2));
      show(curves(2));
      const k2 = fakeKernel();
      show(curves(2));
      assert.deepEqual(k1.sent.map(carriesPlotly), [true, false]);
      assert.deepEqual(k2.sent.map(carriesPlotly), [true]);
    });

    it("HTML cannot be broken out of by the figure's text", () => {
      const k = fakeKernel();
      const fig = trainingCurves({ loss: [1, 2] }, { title: "</script><script>alert(1)</script>" });
      show(fig);
      const h = html(k.sent[0]);
      assert.ok(!h.includes("</script><script>alert(1)"), "the title is escaped");
      assert.deepEqual(embeddedFigure(k.sent[0]).layout.title, fig.layout.title);
    });

    it("sendPlotlyJs() sends plotly.js in an output of its own; figures after it do not repeat it", () => {
      const k = fakeKernel();
      assert.equal(sendPlotlyJs(), true);
      show(curves(2));
      assert.equal(k.sent.length, 2);
      assert.ok(carriesPlotly(k.sent[0]));
      assert.equal(k.sent[0].content.data[PLOTLY_JSON], undefined);
      assert.ok(!carriesPlotly(k.sent[1]));
    });

    it("outside a kernel: prints a text summary, sends nothing, does not throw", async () => {
      const out = await stdoutOf(() => show(trainingCurves({ loss: [3, 2, 1], valLoss: [3, NaN, 2] })));
      assert.match(out, /plot "Training curves": 2 traces/);
      assert.match(out, /train \(scatter\): 3 points, y 1 … 3, last 1/);
      assert.match(out, /run\.valLoss: 1 NaN/);
      assert.equal(sendPlotlyJs(), false);
    });

    it("with SEQLAB_PLOT_DIR, each figure shown is also saved as HTML (plotly.js once beside them)", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-plots-"));
      process.env.SEQLAB_PLOT_DIR = dir;
      try {
        const out = await stdoutOf(async () => {
          show(trainingCurves({ loss: [1, 2] }, { title: "Loss: RNN" }));
          await sleep(50);
        });
        const files = fs.readdirSync(dir).sort();
        assert.equal(files.length, 2, files.join(", "));
        assert.equal(files[1], "plotly.js");
        assert.match(files[0], /^\d\d-loss-rnn\.html$/);
        assert.match(out, /saved as .*loss-rnn\.html/);
        const page = fs.readFileSync(path.join(dir, files[0]), "utf-8");
        assert.match(page, /<script src="plotly\.js"><\/script>/);
        assert.ok(page.length < 50_000);
      } finally {
        delete process.env.SEQLAB_PLOT_DIR;
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("a non-figure is a clear error", () => {
      fakeKernel();
      assert.throws(() => show({} as Figure), /fig: expected a plotly figure/);
    });
  });

  describe("liveFigure()", () => {
    it("first display: plotly.js in an output of its own, then the figure with a display id", () => {
      const k = fakeKernel();
      const live = liveFigure(curves(1));
      assert.equal(k.sent.length, 2);
      assert.ok(carriesPlotly(k.sent[0]), "the loader");
      assert.equal(k.sent[0].content.transient, undefined);
      const first = k.sent[1];
      assert.equal(first.update, false);
      assert.ok(live.displayId);
      assert.deepEqual(first.content.transient, { display_id: live.displayId });
      assert.ok(!carriesPlotly(first), "the live output is replaced on every update, so it never carries plotly.js");
      assert.equal(live.redraws, 1);
    });

    it("no loader when the page already has plotly.js", () => {
      const k = fakeKernel();
      show(curves(1));
      liveFigure(curves(1));
      assert.deepEqual(k.sent.map(carriesPlotly), [true, false]);
    });

    it("a burst of updates becomes one redraw with the newest figure, same display id, update flag set", async () => {
      const k = fakeKernel();
      const live = liveFigure(curves(1), { interval: 150 });
      const before = k.sent.length;
      // The burst arrives within the interval however slowly this machine runs the loop.
      withClockStopped(() => {
        for (let n = 2; n <= 50; n++) live.update(curves(n));
      });
      assert.equal(k.sent.length, before, "within the interval of the first display: nothing yet");
      await until(() => k.sent.length > before); // the timer's redraw
      await sleep(20); // anything else due would come now, not later
      const updates = k.sent.slice(before);
      assert.equal(updates.length, 1, "one redraw after the interval");
      assert.equal(updates[0].update, true);
      assert.deepEqual(updates[0].content.transient, { display_id: live.displayId });
      assert.deepEqual(updates[0].content.data[PLOTLY_JSON], { data: curves(50).data, layout: curves(50).layout });
      assert.deepEqual(embeddedFigure(updates[0]), { data: curves(50).data, layout: curves(50).layout });
      assert.ok(!carriesPlotly(updates[0]));
      await live.close();
      assert.equal(k.sent.length, before + 1, "close() has nothing left to draw");
    });

    it("steady updates are drawn at most once per interval and close() draws the last state", async () => {
      const k = fakeKernel();
      const interval = 100;
      const start = Date.now();
      const live = liveFigure(curves(1), { interval });
      let n = 1;
      // 80 updates at least 5 ms apart: ≥ 400 ms of updates (more on a loaded machine, never less).
      for (let i = 0; i < 80; i++) {
        live.update(curves(++n));
        await sleep(5);
      }
      live.update(curves(++n));
      await live.close();
      const elapsed = Date.now() - start;
      const updates = k.sent.filter((s) => s.update);
      // Redraws are ≥ interval apart (1 ms less when a timer fires a rounding early), plus the one close() makes at once.
      const most = Math.floor(elapsed / (interval - 1)) + 1;
      assert.ok(updates.length <= most, `at most one redraw per ${interval} ms: ${updates.length} in ${elapsed} ms`);
      // Updates at most ~(interval + 5 ms) apart over ≥ 400 ms: a redraw at least every ~105 ms.
      assert.ok(updates.length >= 3, `some redraws (${updates.length})`);
      const last = updates[updates.length - 1];
      assert.deepEqual(last.content.data[PLOTLY_JSON], { data: curves(n).data, layout: curves(n).layout }, "the final state is shown");
      assert.ok(updates.every((u) => u.content.transient?.display_id === live.displayId));
      assert.equal(live.redraws, updates.length + 1);
      assert.ok(k.flushes >= 1, "close() waits for the output to leave the kernel");
    });

    it("a figure given as a function is built only when drawn", async () => {
      fakeKernel();
      const live = liveFigure(undefined, { interval: 1000 });
      let built = 0;
      for (let i = 0; i < 100; i++) live.update(() => (built++, curves(3)));
      assert.equal(built, 0);
      await live.close();
      assert.equal(built, 1);
      assert.deepEqual(live.figure, curves(3));
    });

    it("close() twice is fine; update() after close() is an error", async () => {
      fakeKernel();
      const live = liveFigure(curves(2));
      await live.close();
      await live.close();
      assert.throws(() => live.update(curves(3)), /update\(\) after close\(\)/);
      assert.throws(() => liveFigure(curves(2), { interval: -1 }), /interval: expected a number of milliseconds ≥ 0/);
    });

    it("outside a kernel: no display id, throttled one-line summaries, the final summary on close()", async () => {
      let live!: ReturnType<typeof liveFigure>;
      const out = await stdoutOf(async () => {
        live = liveFigure(curves(1), { interval: 10 });
        for (let n = 2; n < 30; n++) live.update(curves(n));
        await live.close();
      });
      assert.equal(live.displayId, undefined);
      const lines = out.trim().split("\n");
      assert.ok(lines.filter((l) => l.startsWith("live ")).length <= 1, "at most one summary line every 2 s");
      assert.match(out, /train \(scatter\): 29 points/, "the final state");
    });
  });
});
