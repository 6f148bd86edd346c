/**
 * The classic Jupyter Notebook in headless Chromium, driving the seqlab kernel: what a
 * student sees while a model trains. Progress and live plots must reach the page while the
 * cell runs (several distinct states before it ends, not one burst at the end); the first
 * live frame must be drawn early in the run (plotly.js is loaded by the first cell); the
 * final figure carries a still picture.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { Page } from "playwright-core";
import { notebookOf, startNotebookServer, type NotebookServer } from "./helpers/notebook-server";

/** Runs in the page: records what the output of cell `index` shows, over time. */
const RECORDER = `(index) => {
  const J = window.Jupyter;
  const cell = J.notebook.get_cell(index);
  const out = cell.output_area.element[0];
  const prompt = cell.element[0].querySelector(".input_prompt");
  const log = [];
  const t0 = performance.now();
  const snap = () => {
    const progress = out.querySelector(".seqlab-progress");
    const plot = out.querySelector(".seqlab-plot");
    log.push({
      t: performance.now() - t0,
      running: /\\*/.test(prompt.textContent),
      progress: progress ? progress.textContent.replace(/\\s+/g, " ").trim() : null,
      plotState: plot ? plot.getAttribute("data-state") : null,
      plotTitle: plot && plot.querySelector(".gtitle") ? plot.querySelector(".gtitle").textContent : null,
    });
  };
  new MutationObserver(snap).observe(cell.element[0], { subtree: true, childList: true, characterData: true, attributes: true });
  window.__seqlabLog = log;
  J.notebook.execute_cells([index]);
  snap();
}`;

interface Snap {
  t: number;
  running: boolean;
  progress: string | null;
  plotState: string | null;
  plotTitle: string | null;
}

async function runAndRecord(page: Page, index: number, timeoutMs: number): Promise<Snap[]> {
  await page.evaluate(`(${RECORDER})(${index})`);
  const done = `/\\[\\d+\\]/.test(Jupyter.notebook.get_cell(${index}).element[0].querySelector(".input_prompt").textContent)`;
  await page.waitForFunction(done, undefined, { timeout: timeoutMs, polling: 100 });
  return (await page.evaluate("window.__seqlabLog")) as Snap[];
}

describe("the classic Notebook in a real browser", function () {
  this.timeout(600_000);
  let server: NotebookServer;
  const shots = process.env.SEQLAB_SCREENSHOTS;

  before(async () => {
    server = await startNotebookServer({
      "training.ipynb": notebookOf([
        'import { initBackend, SequenceToVector, addingBatches, fit, liveCurves } from "seqlab";\nconst backend = await initBackend();',
        "md:Training",
        'const model = new SequenceToVector({ inputSize: 2, cell: "gru", hiddenSize: 16, output: { values: 1 }, seed: 1 });\n' +
          "await fit(model, {\n" +
          "  data: (epoch, rng) => addingBatches({ batches: 12, batchSize: 32, length: 20, seed: 100 + epoch }),\n" +
          '  epochs: 8, optimizer: { name: "adam", learningRate: 0.01 }, seed: 1,\n' +
          '  callbacks: [liveCurves({ title: "adding problem", every: "step" })],\n' +
          "});\nmodel.dispose();",
      ]),
    });
  });
  after(async () => {
    await server?.close();
  });

  it("progress and the live plot reach the page while training runs; the first frame early; the last with a picture", async () => {
    const page = await server.open("training.ipynb");
    const setup = await runAndRecord(page, 0, 120_000);
    assert.ok(setup.length > 0);
    const log = await runAndRecord(page, 2, 300_000);
    const end = log.find((s) => !s.running && s.t > 0)?.t ?? Infinity;
    const during = log.filter((s) => s.running && s.t < end);
    const states = [...new Set(during.map((s) => s.progress).filter((p): p is string => p !== null))];
    const firstDrawn = log.find((s) => s.plotState === "rendered");
    const frames = [...new Set(during.map((s) => s.plotTitle).filter((p): p is string => p !== null))];
    // When each distinct progress state first showed: training starts with the first.
    const shown = states.map((p) => during.find((s) => s.progress === p)!.t);
    const start = shown[0] ?? Infinity;
    const gaps = shown.slice(1).map((t, i) => t - shown[i]);
    const longestGap = Math.max(0, ...gaps);
    const trainingEnd = shown.at(-1) ?? end;
    const s = (ms: number) => (ms / 1000).toFixed(2);
    const report =
      `cell ran ${s(end)} s; training showed from ${s(start)} s; ${states.length} progress states and ${frames.length} plot titles ` +
      `before the cell ended, longest wait between two ${s(longestGap)} s; first frame drawn at ${firstDrawn ? s(firstDrawn.t) : "never"} s; ` +
      `the cell ended ${s(end - trainingEnd)} s after training (the final picture)`;
    console.log(`      ${report}`);
    if (process.env.SEQLAB_UI_DEBUG) console.log(shown.map((t, i) => `${s(t)} ${states[i].slice(0, 90)}`).join("\n"));
    assert.ok(states.length >= 4, `${report}\n${states.join("\n")}`);
    // Spread over the run, not a burst at its end: no wait longer than a third of the training time.
    assert.ok(longestGap < (trainingEnd - start) / 3, report);
    // The first frame shows within a second of training starting (plotly.js came with the first cell).
    assert.ok(firstDrawn && firstDrawn.t < start + 1000, `the first live frame came late: ${report}`);
    // The final figure gets a still picture (image/png in its bundle): with the cell, or,
    // on a machine too busy to draw it in time, in place soon after.
    const hasPicture =
      "Jupyter.notebook.get_cell(2).output_area.outputs.some((o) => o.data && o.data['image/png'] && o.data['application/vnd.plotly.v1+json'])";
    await page.waitForFunction(hasPicture, undefined, { timeout: 60_000 }).catch(async () => {
      const kinds = await page.evaluate("Jupyter.notebook.get_cell(2).output_area.outputs.map((o) => Object.keys(o.data || {}).join(','))");
      assert.fail(`no picture in the outputs: ${JSON.stringify(kinds)}`);
    });
    if (shots) {
      fs.mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: path.join(shots, "notebook-training.png"), fullPage: true });
    }
    // Saved, then opened by someone else (not trusted: no script in an output runs): the picture shows.
    await page.evaluate("Jupyter.notebook.save_notebook()");
    await page.waitForFunction("!Jupyter.notebook.dirty", undefined, { timeout: 30_000 });
    // Another person's copy: its content differs from what this server signed, so it is not trusted.
    const saved = JSON.parse(fs.readFileSync(path.join(server.dir, "training.ipynb"), "utf-8"));
    saved.metadata.author = "someone else";
    fs.writeFileSync(path.join(server.dir, "someone-else.ipynb"), JSON.stringify(saved));
    const other = await server.open("someone-else.ipynb");
    const seen = (await other.evaluate(`(() => {
      const out = Jupyter.notebook.get_cell(2).output_area.element[0];
      const imgs = Array.from(out.querySelectorAll("img")).filter((i) => i.naturalWidth > 0 && i.getBoundingClientRect().height > 100);
      return { trusted: Jupyter.notebook.trusted, pictures: imgs.length, alt: imgs.map((i) => i.alt),
               plots: out.querySelectorAll(".js-plotly-plot").length, text: out.textContent.slice(0, 200) };
    })()`)) as { trusted: boolean; pictures: number; alt: string[]; plots: number; text: string };
    if (shots) await other.screenshot({ path: path.join(shots, "notebook-untrusted.png"), fullPage: true });
    assert.equal(seen.trusted, false);
    assert.equal(seen.plots, 0, "a script ran in an untrusted notebook");
    assert.ok(seen.pictures >= 1, `no picture in the untrusted notebook: ${JSON.stringify(seen)}`);
  });
});
