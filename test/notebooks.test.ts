/**
 * Every notebook in notebooks/ is committed without outputs and runs, through
 * the seqlab kernel, without an error (the same runner as `npm run notebooks`).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runNotebooks } from "../kernel/run-notebooks";
import { version as seqlabVersion } from "../package.json";
import { renderedPlots, closeBrowser } from "seqlab/internal";
import { jupyterEnv, run, JupyterEnv } from "./helpers/jupyter";

const dir = path.join(__dirname, "..", "notebooks");
const notebooks = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith(".ipynb"))
  .sort();

interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: { output_type: string; text?: string | string[]; data?: Record<string, unknown> }[];
  execution_count?: number | null;
}
const read = (file: string): { cells: Cell[]; metadata: { kernelspec?: { name: string } } } => JSON.parse(fs.readFileSync(file, "utf-8"));
const text = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join("") : (t ?? ""));

describe("notebooks", function () {
  it("there is at least one, numbered like 01-…", () => {
    assert.ok(notebooks.length >= 1);
    for (const nb of notebooks) assert.match(nb, /^\d\d-[a-z0-9-]+\.ipynb$/);
  });

  for (const nb of notebooks) {
    it(`${nb} is committed without outputs and uses the seqlab kernel`, () => {
      const { cells, metadata } = read(path.join(dir, nb));
      assert.equal(metadata.kernelspec?.name, "seqlab");
      for (const [i, cell] of cells.entries()) {
        if (cell.cell_type !== "code") continue;
        assert.deepEqual(cell.outputs, [], `cell ${i + 1} of ${nb} has outputs`);
        assert.equal(cell.execution_count, null, `cell ${i + 1} of ${nb} has an execution count`);
      }
    });
  }

  it("every notebook that library doc comments point to exists", () => {
    const src = path.join(__dirname, "..", "src");
    const files = (fs.readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith(".ts"));
    const cited = new Set<string>();
    for (const f of files) {
      for (const m of fs.readFileSync(path.join(src, f), "utf-8").matchAll(/notebooks\/([\w-]+\.ipynb)/g)) cited.add(m[1]);
    }
    assert.ok(cited.size >= 5, `only ${cited.size} notebooks cited`);
    for (const nb of cited) assert.ok(notebooks.includes(nb), `a doc comment points to notebooks/${nb}, which does not exist`);
  });

  describe("executed through the seqlab kernel", function () {
    this.timeout(900_000);
    let jupyter: JupyterEnv;
    let out: string;
    let results: Awaited<ReturnType<typeof runNotebooks>>;
    before(async () => {
      jupyter = jupyterEnv(["nbconvert", "nbclient"]);
      out = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-notebooks-"));
      results = await runNotebooks({ outDir: out, env: jupyter.env, log: () => {} });
    });
    after(async () => {
      await closeBrowser();
      jupyter?.dispose();
      if (out) fs.rmSync(out, { recursive: true, force: true });
    });

    it("every notebook runs without an error output and is written as .ipynb and .html", () => {
      assert.equal(results.length, notebooks.length);
      for (const r of results) {
        assert.deepEqual(r.errors, [], `${path.basename(r.notebook)} raised errors`);
        assert.ok(fs.statSync(r.executed).size > 0);
        assert.match(fs.readFileSync(r.html, "utf-8"), /<html/i);
      }
    });

    it("a notebook outside the repository imports seqlab with types; cell errors are reported and fail the run", async () => {
      // The temporary folder has no node_modules: seqlab must resolve through the kernel.
      const bad = path.join(out, "99-elsewhere.ipynb");
      const nb = read(path.join(dir, notebooks[0]));
      nb.cells = [
        'import { version, tf, initBackend } from "seqlab";\nawait initBackend();\n' +
          "console.log(`outside: seqlab ${version}, ${tf.tensor1d([1, 2, 3]).sum().dataSync()[0]}`);",
        // The second entry resolves too, with its types: MAX_LIVE is a number, so the
        // assignment to a string must fail to compile (the error is reported, not run).
        'import { MAX_LIVE, fusedMemory } from "seqlab/internal";\n' +
          "console.log(`internal: ${MAX_LIVE > 0} ${typeof fusedMemory().bytes}`);",
        "const notAString: string = MAX_LIVE;",
        "const n: number = version;",
        'throw new TypeError("broken on purpose");',
      ].map((source) => ({ cell_type: "code", source, outputs: [], execution_count: null, metadata: {} }));
      fs.writeFileSync(bad, JSON.stringify({ ...nb, nbformat: 4, nbformat_minor: 4 }));
      const script = path.join(__dirname, "..", "kernel", "run-notebooks.js");
      const r = await run(process.execPath, [script, bad, "--out", path.join(out, "elsewhere")], { env: jupyter.env });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /FAIL .*99-elsewhere\.ipynb/, r.stderr);
      assert.match(r.stdout, /cell 3: TypeScriptError: .*Type 'number' is not assignable to type 'string'/);
      assert.match(r.stdout, /cell 4: TypeScriptError: .*Type 'string' is not assignable to type 'number'/);
      assert.match(r.stdout, /cell 5: TypeError: broken on purpose/);
      assert.match(r.stdout, /0 of 1 notebooks ran without error/);
      const executed = read(path.join(out, "elsewhere", "99-elsewhere.ipynb"));
      assert.equal(text(executed.cells[0].outputs?.[0]?.text), `outside: seqlab ${seqlabVersion}, 6\n`);
      assert.equal(text(executed.cells[1].outputs?.[0]?.text), "internal: true number\n");
      assert.ok(fs.existsSync(path.join(out, "elsewhere", "99-elsewhere.html")), "the failing notebook's HTML is still written");
    });

    it("01's nbconvert HTML draws its live loss plot and its prediction plot offline, and both are saved under out/", async () => {
      const r = results.find((x) => path.basename(x.notebook).startsWith("01-"))!;
      const page = await renderedPlots(r.html);
      assert.deepEqual(page.blockedRequests, [], "the page asked the network for something");
      assert.deepEqual(page.pageErrors, []);
      assert.ok(page.plots.length >= 2, `found ${page.plots.length} plots`);
      for (const p of page.plots) assert.equal(p.drawn, p.traces, `plot "${p.title}" drew ${p.drawn} of ${p.traces} traces`);
      assert.ok(
        page.plots.some((p) => /training loss \(MSE\), step \d+/.test(p.title)),
        "the live figure's last state is missing",
      );
      assert.equal(r.plots.length, 2, `saved plots: ${r.plots}`);
      for (const file of r.plots) {
        const saved = await renderedPlots(file);
        assert.equal(saved.plots.length, 1);
        assert.equal(saved.plots[0].drawn, saved.plots[0].traces);
      }
    });

    it("02 trains with hand-written BPTT, and shows gradients vanishing for ρ(W) < 1 and exploding for ρ(W) > 1", () => {
      const r = results.find((x) => path.basename(x.notebook).startsWith("02-"));
      assert.ok(r, "notebook 02 is missing");
      const output = read(r.executed)
        .cells.flatMap((c) => c.outputs ?? [])
        .map((o) => text(o.text))
        .join("");
      const m = /trained (\d+) steps: loss per character ([\d.]+) → ([\d.]+)/.exec(output);
      assert.ok(m, `no training summary in:\n${output}`);
      assert.ok(Number(m[2]) / Number(m[3]) >= 5, `loss fell only from ${m[2]} to ${m[3]}`);
      const ratio = (rho: string) => Number(new RegExp(`ρ = ${rho}: ‖∇h\\(1\\) L‖ / ‖∇h\\(τ\\) L‖ = (\\S+)`).exec(output)?.[1]);
      assert.ok(ratio("0.5") < 1e-6, `ρ = 0.5 kept ${ratio("0.5")}`);
      assert.ok(ratio("4") > 1e3, `ρ = 4 grew only ${ratio("4")}`);
      assert.match(output, /hand~auto +hand~num +auto~num +f64hand~num/);
    });

    it("03: LSTM and GRU with open gates remember the first of 30 symbols; the vanilla RNN and the b_f ≈ 0 LSTM do not", () => {
      const r = results.find((x) => path.basename(x.notebook).startsWith("03-"));
      assert.ok(r, "notebook 03 is missing");
      const output = read(r.executed)
        .cells.flatMap((c) => c.outputs ?? [])
        .map((o) => text(o.text))
        .join("");
      const accuracy = (name: string) => {
        const m = new RegExp(`^${name} +test accuracy ([\\d.]+)%`, "m").exec(output);
        assert.ok(m, `no accuracy for ${name} in:\n${output}`);
        return Number(m[1]);
      };
      assert.ok(accuracy("LSTM, b_f = 3") >= 90);
      assert.ok(accuracy("GRU, b_z = −3") >= 90);
      assert.ok(accuracy("vanilla RNN") < 90);
      assert.ok(accuracy("LSTM, b_f ≈ 0") < 50);
      assert.match(output, /units whose forget gate stays most open: unit \d+ \(mean f = (0\.9\d|1\.00)\)/);
    });

    it("04: with attention the encoder–decoder gets ≥ 90% of held-out dates right in 200 steps, far more than with a fixed context", () => {
      const r = results.find((x) => path.basename(x.notebook).startsWith("04-"));
      assert.ok(r, "notebook 04 is missing");
      const output = read(r.executed)
        .cells.flatMap((c) => c.outputs ?? [])
        .map((o) => text(o.text))
        .join("");
      const withAttention = Number(/with attention: ([\d.]+)% of held-out dates exactly right/.exec(output)?.[1]);
      const fixed = Number(/fixed context: +([\d.]+)%/.exec(output)?.[1]);
      assert.ok(withAttention >= 90, `with attention: ${withAttention}%\n${output}`);
      assert.ok(withAttention - fixed >= 30, `fixed context ${fixed}% vs attention ${withAttention}%`);
      assert.match(output, /greedy \d{4}-\d\d-\d\d +\(log p -?[\d.]+\) +beam \d{4}-\d\d-\d\d/);
    });

    it("05: teacher forcing leaves a train/test gap that scheduled sampling narrows; only the bidirectional GRU sees ahead; the LM beats a unigram model", () => {
      const r = results.find((x) => path.basename(x.notebook).startsWith("05-"));
      assert.ok(r, "notebook 05 is missing");
      const output = read(r.executed)
        .cells.flatMap((c) => c.outputs ?? [])
        .map((o) => text(o.text))
        .join("");
      const gap = (name: string) => Number(new RegExp(`^${name}.*: gap (-?[\\d.]+)$`, "m").exec(output)?.[1]);
      assert.ok(gap("trained with teacher forcing") > 0.3, `teacher-forcing gap ${gap("trained with teacher forcing")}\n${output}`);
      assert.ok(gap("scheduled sampling") < gap("trained with teacher forcing") / 2, `scheduled sampling gap ${gap("scheduled sampling")}`);
      const accuracy = (name: string) => Number(new RegExp(`^${name} +accuracy ([\\d.]+)%`, "m").exec(output)?.[1]);
      assert.ok(accuracy("forward GRU") < 40, `forward ${accuracy("forward GRU")}`);
      assert.ok(accuracy("bidirectional GRU") >= 80, `bidirectional ${accuracy("bidirectional GRU")}`);
      const m = /validation perplexity ([\d.]+) \(a unigram model: ([\d.]+)\)/.exec(output);
      assert.ok(m && Number(m[1]) < Number(m[2]) / 2, `perplexity ${m?.[1]} vs unigram ${m?.[2]}`);
      assert.equal((output.match(/^τ = [\d.]+: "The /gm) ?? []).length, 3);
    });

    it("01 trains its RNN: the loss falls at least 5-fold and no tensor leaks", () => {
      const r = results.find((x) => path.basename(x.notebook).startsWith("01-"));
      assert.ok(r, "notebook 01 is missing");
      const output = read(r.executed)
        .cells.flatMap((c) => c.outputs ?? [])
        .map((o) => text(o.text))
        .join("");
      const m = /trained (\d+) steps: loss ([\d.]+) → ([\d.]+)/.exec(output);
      assert.ok(m, `no training summary in:\n${output}`);
      assert.ok(Number(m[2]) / Number(m[3]) >= 5, `loss fell only from ${m[2]} to ${m[3]}`);
      assert.match(output, /tensors leaked by training: 0\n/);
      assert.match(output, /tfjs backend: (tensorflow|wasm|cpu)/);
    });
  });
});
