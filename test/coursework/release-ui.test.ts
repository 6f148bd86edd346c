/**
 * What a student sees: each assignment's release opened in the classic Notebook (a real
 * `jupyter notebook` server and headless Chromium) with the seqlab kernel. Run All runs up
 * to the first check, which fails (Jupyter stops there); every check, run on its own, says
 * its function is not implemented yet; the test cells cannot be edited; and in the first
 * assignment, once the student writes the first function and runs it and its check, the
 * check passes.
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
import { packageRoot } from "../../kernel/resolve";

type Nb = ReturnType<typeof nbf.readNotebook>;

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

const ASSIGNMENTS = fs
  .readdirSync(path.join(packageRoot, "coursework", "assignments"))
  .filter((f) => f.endsWith(".ipynb"))
  .sort()
  .map((f) => f.slice(0, -6));

describe("coursework: the releases in the Notebook UI", function () {
  this.timeout(1_800_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-release-ui-"));
  let server: NotebookServer;
  const releases = new Map<string, Nb>();
  const solutions = new Map<string, Nb>();

  before(async () => {
    for (const a of await assign({ names: ASSIGNMENTS, out: tmp, prove: false, gradescope: false, log: () => {} })) {
      releases.set(a.name, nbf.readNotebook(a.release));
      solutions.set(a.name, nbf.readNotebook(a.solution));
    }
    server = await startNotebookServer(Object.fromEntries([...releases].map(([name, nb]) => [`${name}.ipynb`, nb])));
  });
  after(async () => {
    await server?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /**
   * Opens a release and runs it as a student first would: Run All, which stops at the first
   * check (Jupyter stops at a failing cell), then every later cell one by one. Every check
   * must say what is not implemented yet, and every test cell must be read-only.
   */
  async function runRelease(name: string): Promise<Page> {
    const release = releases.get(name) as Nb;
    const page = await server.open(`${name}.ipynb`);
    const tests = release.cells.map((c, i) => [i, c] as const).filter(([, c]) => nbf.kindOf(c) === "test");
    assert.ok(tests.length >= 3, `${name}: ${tests.length} test cells`);
    await page.evaluate("Jupyter.notebook.execute_all_cells()");
    const first = tests[0][0];
    await page.waitForFunction(
      `Jupyter.notebook.get_cell(${first}).output_area.outputs.length > 0 && Jupyter.notebook.kernel_busy === false`,
      undefined,
      { timeout: 300_000, polling: 250 },
    );
    const shots = process.env.SEQLAB_SCREENSHOTS;
    if (shots) {
      await page.evaluate(`Jupyter.notebook.scroll_to_cell(${first})`);
      await page.screenshot({ path: path.join(shots, `release-${name}.png`) });
    }
    for (let i = first + 1; i < release.cells.length; i++) {
      if (release.cells[i].cell_type === "code") await runCell(page, i, 300_000);
    }
    for (const [i, c] of tests) {
      const text = await outputText(page, i);
      assert.match(text, /CheckFailure: .*not implemented yet/, `${name}: ${nbf.gradeIdOf(c)}: ${text}`);
      assert.doesNotMatch(text, /^\s+at /m, `${name}: ${nbf.gradeIdOf(c)}: a check's failure is its message alone`);
      assert.equal(await page.evaluate(`Jupyter.notebook.get_cell(${i}).is_editable()`), false, `${nbf.gradeIdOf(c)} is read-only`);
    }
    const setup = release.cells.findIndex((c) => nbf.gradeIdOf(c) === "setup");
    assert.match(await outputText(page, setup), /tfjs backend: (wasm|cpu|tensorflow)/);
    return page;
  }

  for (const name of ASSIGNMENTS.slice(1)) {
    it(`${name}: every public check runs and says what is not implemented yet; test cells are read-only`, async () => {
      await (await runRelease(name)).close();
    });
  }

  it(`${ASSIGNMENTS[0]}: the same, and a function the student writes passes its check`, async () => {
    const name = ASSIGNMENTS[0];
    const release = releases.get(name) as Nb;
    const solution = solutions.get(name) as Nb;
    const page = await runRelease(name);
    const at = release.cells.findIndex((c) => nbf.kindOf(c) === "solution");
    const test = release.cells.findIndex((c, i) => i > at && nbf.kindOf(c) === "test");
    assert.equal(await page.evaluate(`Jupyter.notebook.get_cell(${at}).is_editable()`), true);
    await page.evaluate(`Jupyter.notebook.get_cell(${at}).set_text(${JSON.stringify(nbf.sourceOf(solution.cells[at]))})`);
    await runCell(page, at, 120_000);
    await runCell(page, test, 120_000);
    const passed = await outputText(page, test);
    assert.match(passed, /^✓ /);
    assert.doesNotMatch(passed, /HIDDEN|CheckFailure/);
    const shots = process.env.SEQLAB_SCREENSHOTS;
    if (shots) {
      await page.evaluate(`Jupyter.notebook.scroll_to_cell(${test})`);
      await page.screenshot({ path: path.join(shots, "release-first-check.png") });
    }
  });
});
