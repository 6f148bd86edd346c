/**
 * Figures in a real browser: headless Chromium with the network off opens exported
 * HTML and a page assembled like nbconvert's export of a notebook (every output's
 * text/html, in order) and must find the drawn SVG of every trace. PNG and SVG export,
 * and the error when there is no browser.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  attentionWeights,
  gateActivations,
  gradientFlow,
  hiddenStates,
  liveFigure,
  savePlot,
  sequencePrediction,
  show,
  textActivation,
  trainingCurves,
  unfoldedGraph,
  type Figure,
} from "seqlab";
import { chromiumPath, closeBrowser, gradientFlowHeatmap, renderedPlots, resetPictures, type DisplayContent } from "seqlab/internal";
import { fakeKernel, removeFakeKernel } from "./helpers/fake-kernel";

const BRIDGE = Symbol.for("seqlab.kernel");

/** One figure of each builder, with a gap here and there. */
function allFigures(): Figure[] {
  const text = "the cat\nsat";
  return [
    trainingCurves(
      [
        { name: "RNN", loss: [2, 1, NaN, 0.4], valLoss: [2.2, 1.3, 0.9, 0.8], metric: [0.2, 0.5, 0.6, 0.7] },
        { name: "LSTM", loss: [2, 0.7, 0.3, 0.1] },
      ],
      { logY: true },
    ),
    hiddenStates([
      [0.1, -0.5, 0.9],
      [0.3, 0.2, -0.9],
      [0.4, 0.4, 0.4],
    ]),
    gateActivations({
      i: [
        [0.1, 0.5],
        [0.9, 0.2],
      ],
      f: [
        [0.3, 0.5],
        [0.6, 0.7],
      ],
      o: [
        [0.5, 0.5],
        [0.1, 0.2],
      ],
    }),
    attentionWeights(
      [
        [0.7, 0.2, 0.1],
        [0.1, 0.8, 0.1],
      ],
      ["le", "chat", "le"],
      ["the", "cat"],
    ),
    gradientFlow([
      [1e-6, 1e-4, 1e-2, 1],
      [1e-3, 1e-2, 1e-1, 1],
    ]),
    gradientFlowHeatmap([
      [1e-6, 1e-4, 1e-2, 1],
      [1e-3, 0, 1e-1, 1],
    ]),
    sequencePrediction([0, 1, 0, -1, 0, 1], [0.1, 0.9, 0.1, -0.8, 0.2, 0.6], { freeRunningFrom: 3 }),
    textActivation(
      text,
      Array.from(text, (_, i) => Math.sin(i)),
    ),
    unfoldedGraph({ steps: 3, inputSize: 2, hiddenSize: 4, outputSize: 2 }),
  ];
}

/** The display messages that `body` sends in a fresh fake kernel session. */
function captureDisplays(body: () => void | Promise<void>): Promise<DisplayContent[]> {
  const sent: DisplayContent[] = [];
  (globalThis as Record<symbol, unknown>)[BRIDGE] = {
    version: 1,
    interrupts: 0,
    cooperative: 0,
    display: (content: DisplayContent) => sent.push(content),
    flushed: async () => {},
  };
  return Promise.resolve(body())
    .then(() => sent)
    .finally(() => delete (globalThis as Record<symbol, unknown>)[BRIDGE]);
}

/** A page laid out like nbconvert's HTML export: the text/html of each output, in order. */
function notebookPage(file: string, outputs: DisplayContent[]): string {
  const cells = outputs
    .map((o) => `<div class="jp-OutputArea-output" data-mime-type="text/html">\n${String(o.data["text/html"])}\n</div>`)
    .join("\n");
  fs.writeFileSync(
    file,
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>notebook</title></head><body>\n${cells}\n</body></html>\n`,
  );
  return file;
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): { width: number; height: number } {
  const b = fs.readFileSync(file);
  assert.deepEqual([...b.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "PNG signature");
  assert.equal(b.toString("latin1", 12, 16), "IHDR");
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

describe("plots in a browser (headless Chromium, offline)", function () {
  this.timeout(60_000);
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-plot-browser-"));
  });
  after(async () => {
    await closeBrowser();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("an exported .html opens offline and draws every trace", async () => {
    const fig = allFigures()[0];
    const file = await savePlot(fig, path.join(dir, "curves.html"));
    const page = fs.readFileSync(file, "utf-8");
    assert.ok(!/<script[^>]+src=/.test(page), "plotly.js is inside the page");
    const r = await renderedPlots(file);
    assert.deepEqual(r.pageErrors, []);
    assert.deepEqual(r.blockedRequests, [], "the page asks nothing of the network");
    assert.deepEqual(r.notDrawn, []);
    assert.equal(r.plots.length, 1);
    assert.deepEqual(r.plots[0], { traces: 4, drawn: 4, title: "Training curves" });
  });

  it("a notebook's outputs on one page (as nbconvert exports them): plotly.js comes once, every figure draws", async () => {
    const figs = allFigures();
    const outputs = await captureDisplays(() => figs.forEach((f) => show(f)));
    assert.equal(outputs.length, figs.length);
    const file = notebookPage(path.join(dir, "notebook.html"), outputs);
    const size = fs.statSync(file).size;
    assert.ok(size < fs.statSync(require.resolve("plotly.js-dist-min")).size + 200_000, `plotly.js is on the page once (${size} bytes)`);
    const r = await renderedPlots(file);
    assert.deepEqual(r.pageErrors, []);
    assert.deepEqual(r.blockedRequests, []);
    assert.deepEqual(r.notDrawn, []);
    assert.equal(r.plots.length, figs.length);
    r.plots.forEach((p, i) => {
      assert.equal(p.traces, figs[i].data.length, `figure ${i} (${p.title}): traces`);
      assert.equal(p.drawn, p.traces, `figure ${i} (${p.title}): every trace has drawn SVG`);
    });
  });

  it("a figure rendered before the output that carries plotly.js draws once plotly.js arrives", async () => {
    const [a, b] = allFigures();
    const [carrier, other] = await captureDisplays(() => {
      show(a);
      show(b);
    });
    const r = await renderedPlots(notebookPage(path.join(dir, "out-of-order.html"), [other, carrier]));
    assert.deepEqual(r.notDrawn, []);
    assert.deepEqual(
      r.plots.map((p) => p.title),
      ["Hidden state h(t)", "Training curves"],
    );
    assert.ok(r.plots.every((p) => p.drawn === p.traces && p.traces > 0));
  });

  it("without plotly.js on the page, a figure says so (and shows its summary) instead of staying blank", async () => {
    const [a, b] = allFigures();
    const [, other] = await captureDisplays(() => {
      show(a);
      show(b);
    });
    const r = await renderedPlots(notebookPage(path.join(dir, "no-plotly.html"), [other]));
    assert.equal(r.plots.length, 0);
    assert.equal(r.notDrawn.length, 1);
    assert.match(r.notDrawn[0], /^no-plotly: plot "Hidden state h\(t\)": 1 trace/);
    assert.match(r.notDrawn[0], /plotly\.js is not on this page.*sendPlotlyJs\(\)/s);
  });

  it("a live figure's outputs (loader, then the latest update) draw", async () => {
    const outputs = await captureDisplays(async () => {
      const live = liveFigure(undefined, { interval: 0 });
      for (let n = 2; n <= 5; n++) live.update(trainingCurves({ loss: Array.from({ length: n }, (_, i) => 1 / (i + 1)) }));
      await live.close();
    });
    // The notebook keeps the loader and, in the live output, the last update.
    const page = notebookPage(path.join(dir, "live.html"), [outputs[0], outputs[outputs.length - 1]]);
    const r = await renderedPlots(page);
    assert.deepEqual(r.notDrawn, []);
    assert.equal(r.plots.length, 1);
    assert.equal(r.plots[0].drawn, 1);
  });

  it("PNG export has the requested pixel size: width·scale × height·scale", async () => {
    const fig = allFigures()[6];
    const file = await savePlot(fig, path.join(dir, "seq.png"), { width: 320, height: 200, scale: 2 });
    assert.deepEqual(pngSize(file), { width: 640, height: 400 });
    const graph = unfoldedGraph({ steps: 2, inputSize: 1, hiddenSize: 1, outputSize: 1 });
    const byLayout = await savePlot(graph, path.join(dir, "sub", "graph.png"));
    assert.deepEqual(pngSize(byLayout), { width: graph.layout.width, height: graph.layout.height }, "default: the layout's size");
  });

  it("SVG export is the figure's SVG with its traces", async () => {
    const file = await savePlot(allFigures()[4], path.join(dir, "flow.svg"), { width: 500, height: 300 });
    const svg = fs.readFileSync(file, "utf-8");
    assert.match(svg, /^<svg[^>]*class="main-svg"[^>]*width="500"[^>]*height="300"/);
    assert.equal((svg.match(/class="trace scatter/g) ?? []).length, 2);
    assert.match(svg, /class="js-line"[^>]*d="M/);
  });

  it("bad export arguments are clear errors", async () => {
    const fig = allFigures()[0];
    await assert.rejects(
      savePlot(fig, path.join(dir, "x.jpg")),
      /path: cannot tell the format of ".*x\.jpg": use one of \.html, \.png, \.svg/,
    );
    await assert.rejects(savePlot(fig, path.join(dir, "x.png"), { width: 0 }), /width: expected a number of pixels ≥ 10, got 0/);
    await assert.rejects(savePlot(fig, path.join(dir, "x.png"), { scale: -1 }), /scale: expected a positive number, got -1/);
    await assert.rejects(savePlot({ data: 1 } as unknown as Figure, path.join(dir, "x.html")), /fig: expected a plotly figure/);
  });

  it("a shown figure gets a still picture in place: image/png, and the same picture in the HTML for pages without scripts", async () => {
    const k = fakeKernel({ pictures: true });
    try {
      const fig = allFigures()[3];
      show(fig);
      assert.equal(k.sent.length, 1);
      assert.equal(k.sent[0].content.data["image/png"], undefined, "the cell's own output does not wait for the picture");
      assert.equal(k.held.length, 1, "the kernel is asked to hold the cell for it");
      await Promise.all(k.held);
      assert.equal(k.sent.length, 2);
      const [first, second] = k.sent;
      assert.equal(second.update, true);
      assert.equal(second.content.transient?.display_id, first.content.transient?.display_id);
      const png = Buffer.from(String(second.content.data["image/png"]), "base64");
      assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], "PNG signature");
      assert.deepEqual(second.content.metadata["image/png"], { width: 700, height: 450, title: "Attention weights" });
      // Without JavaScript the HTML shows that picture, titled, where the plot would be drawn.
      const file = notebookPage(path.join(dir, "pictures.html"), [second.content]);
      const { chromium } = await import("playwright-core");
      const browser = await chromium.launch({ executablePath: chromiumPath(), args: ["--no-sandbox"] });
      try {
        const page = await browser.newPage({ javaScriptEnabled: false });
        await page.goto(`file://${file}`);
        const imgs = (await page.evaluate(
          `Array.from(document.querySelectorAll(".seqlab-plot img")).map((i) => ({ alt: i.alt, w: i.naturalWidth, shown: i.getBoundingClientRect().height }))`,
        )) as { alt: string; w: number; shown: number }[];
        assert.deepEqual(
          imgs.map((i) => i.alt),
          ["Attention weights"],
        );
        assert.ok(imgs[0].w === 700 && imgs[0].shown > 100, JSON.stringify(imgs));
      } finally {
        await browser.close();
      }
      // With scripts, the interactive figure replaces the picture (this first figure of the session carries plotly.js).
      const r = await renderedPlots(notebookPage(path.join(dir, "pictures-js.html"), [second.content]));
      assert.deepEqual(r.notDrawn, []);
      assert.equal(r.plots.length, 1);
    } finally {
      removeFakeKernel();
    }
  });

  it("a live figure's frames stay interactive only; closing it adds one picture of the final state", async () => {
    const k = fakeKernel({ pictures: true });
    try {
      const live = liveFigure(undefined, { interval: 0 });
      for (let n = 2; n <= 5; n++)
        live.update(trainingCurves({ loss: Array.from({ length: n }, (_, i) => 1 / (i + 1)) }, { title: `step ${n}` }));
      await live.close();
      await Promise.all(k.held);
      const frames = k.sent.filter((m) => m.content.transient?.display_id === live.displayId);
      const withPicture = frames.filter((m) => m.content.data["image/png"] !== undefined);
      assert.equal(withPicture.length, 1, "one picture");
      assert.equal(frames.at(-1), withPicture[0], "…and it comes last");
      assert.equal((withPicture[0].content.metadata["image/png"] as { title: string }).title, "step 5");
    } finally {
      removeFakeKernel();
    }
  });

  it("without Chromium a figure is shown as before, with no picture and no error; SEQLAB_PICTURES=0 turns pictures off", async () => {
    await closeBrowser();
    const saved = process.env.SEQLAB_CHROMIUM;
    process.env.SEQLAB_CHROMIUM = path.join(dir, "no-such-chromium");
    try {
      resetPictures();
      const k = fakeKernel({ pictures: true });
      show(allFigures()[0]);
      await Promise.all(k.held);
      assert.equal(k.sent.length, 1);
      assert.ok(k.sent[0].content.data["application/vnd.plotly.v1+json"]);
      removeFakeKernel();
      const off = fakeKernel({ pictures: false });
      show(allFigures()[0]);
      assert.equal(off.held.length, 0);
    } finally {
      removeFakeKernel();
      if (saved === undefined) delete process.env.SEQLAB_CHROMIUM;
      else process.env.SEQLAB_CHROMIUM = saved;
      resetPictures();
    }
  });

  it("no browser: PNG/SVG export says how to get one; HTML export still works", async () => {
    await closeBrowser();
    const saved = process.env.SEQLAB_CHROMIUM;
    process.env.SEQLAB_CHROMIUM = path.join(dir, "no-such-chromium");
    try {
      const fig = allFigures()[1];
      await assert.rejects(savePlot(fig, path.join(dir, "nobrowser.png")), (e: Error) => {
        assert.match(e.message, /SEQLAB_CHROMIUM=.*no-such-chromium: no such file/);
        assert.match(e.message, /apt-get install chromium/);
        return true;
      });
      assert.ok(fs.existsSync(await savePlot(fig, path.join(dir, "nobrowser.html"))));
    } finally {
      if (saved === undefined) delete process.env.SEQLAB_CHROMIUM;
      else process.env.SEQLAB_CHROMIUM = saved;
    }
  });
});
