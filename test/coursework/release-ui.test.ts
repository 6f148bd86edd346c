/**
 * What a student sees: the first assignment's release opened in the classic Notebook (a real
 * `jupyter notebook` server and headless Chromium) with the seqlab kernel. Run All runs up
 * to the first check, which fails (Jupyter stops there); every check, run on its own, says
 * its function is not implemented yet; the test cells cannot be edited; once
 * the student writes the first function and runs its cell and the check, the check passes.
 * SEQLAB_SCREENSHOTS=<folder> saves what the page looked like.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Page } from "playwright-core";
import * as nbf from "../../coursework/notebook";
import { assign } from "../../coursework/assign";
import { startNotebookServer, type NotebookServer } from "../helpers/notebook-server";

const NAME = "01-rnn-step-and-bptt";

/** Runs cell `index` and waits until it has finished (its prompt shows a number again). */
async function runCell(page: Page, index: number, timeoutMs: number): Promise<void> {
  await page.evaluate(`(() => {
    const c = Jupyter.notebook.get_cell(${index});
    window.__seqlabDone = false;
    c.events.one("finished_execute.CodeCell", () => { window.__seqlabDone = true; });
    c.execute();
  })()`);
  await page.waitForFunction("window.__seqlabDone === true", undefined, { timeout: timeoutMs, polling: 250 });
}

/** The text of a cell's outputs: streams, errors and plain results. */
async function outputText(page: Page, index: number): Promise<string> {
  return String(
    await page.evaluate(`Jupyter.notebook.get_cell(${index}).output_area.outputs.map((o) =>
      o.output_type === "error" ? o.ename + ": " + o.evalue : o.output_type === "stream" ? o.text : "").join("\\n")`),
  );
}

describe("coursework: the release in the Notebook UI", function () {
  this.timeout(900_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-release-ui-"));
  let server: NotebookServer;
  let release: ReturnType<typeof nbf.readNotebook>;
  let solution: ReturnType<typeof nbf.readNotebook>;

  before(async () => {
    const [a] = await assign({ names: [NAME], out: tmp, prove: false, gradescope: false, log: () => {} });
    release = nbf.readNotebook(a.release);
    solution = nbf.readNotebook(a.solution);
    server = await startNotebookServer({ [`${NAME}.ipynb`]: release });
  });
  after(async () => {
    await server?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const indexOf = (id: string) => release.cells.findIndex((c) => nbf.gradeIdOf(c) === id);

  it("runs: every public check says which function is not implemented yet; test cells are read-only; a written function passes", async () => {
    const page = await server.open(`${NAME}.ipynb`);
    const tests = release.cells.map((c, i) => [i, c] as const).filter(([, c]) => nbf.kindOf(c) === "test");
    assert.ok(tests.length >= 4);
    // Run All stops at the first cell that fails, as Jupyter does: the first check.
    await page.evaluate("Jupyter.notebook.execute_all_cells()");
    const first = tests[0][0];
    await page.waitForFunction(
      `Jupyter.notebook.get_cell(${first}).output_area.outputs.length > 0 && Jupyter.notebook.kernel_busy === false`,
      undefined,
      {
        timeout: 300_000,
        polling: 250,
      },
    );
    const shots = process.env.SEQLAB_SCREENSHOTS;
    if (shots) {
      await page.evaluate(`Jupyter.notebook.scroll_to_cell(${first})`);
      await page.screenshot({ path: path.join(shots, "release-run-all.png") });
    }
    // The cells after it, run one by one as a student would, each check saying which function is missing.
    for (let i = first + 1; i < release.cells.length; i++) {
      if (release.cells[i].cell_type === "code") await runCell(page, i, 300_000);
    }
    for (const [i, c] of tests) {
      const text = await outputText(page, i);
      assert.match(text, /CheckFailure: \w+ is not implemented yet: write it in the cell above/, `${nbf.gradeIdOf(c)}: ${text}`);
      assert.equal(await page.evaluate(`Jupyter.notebook.get_cell(${i}).is_editable()`), false, `${nbf.gradeIdOf(c)} is read-only`);
    }
    assert.equal(await page.evaluate(`Jupyter.notebook.get_cell(${indexOf("rnn-step-forward")}).is_editable()`), true);
    const setup = await outputText(page, indexOf("setup"));
    assert.match(setup, /tfjs backend: (wasm|cpu|tensorflow)/);

    // The student writes rnnStepForward, runs it, then its check.
    const answer = nbf.sourceOf(solution.cells[indexOf("rnn-step-forward")]);
    const at = indexOf("rnn-step-forward");
    await page.evaluate(`Jupyter.notebook.get_cell(${at}).set_text(${JSON.stringify(answer)})`);
    await runCell(page, at, 120_000);
    const test = indexOf("test-rnn-step-forward");
    await runCell(page, test, 120_000);
    const passed = await outputText(page, test);
    assert.match(passed, /✓ rnnStepForward: /);
    assert.doesNotMatch(passed, /HIDDEN|CheckFailure/);
    if (shots) {
      await page.evaluate(`Jupyter.notebook.scroll_to_cell(${test})`);
      await page.screenshot({ path: path.join(shots, "release-first-check.png") });
    }
  });
});
