/**
 * `npm run pdf`: a notebook with math, code and a written answer becomes a PDF whose math
 * KaTeX typeset without error.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { notebookToPdf } from "../../coursework/pdf";

describe("coursework: a notebook as PDF", function () {
  this.timeout(120_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-pdf-test-"));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("prints the notebook with its math typeset", async () => {
    const nb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: "seqlab", display_name: "TypeScript (seqlab)", language: "typescript" } },
      cells: [
        {
          cell_type: "markdown",
          id: "a",
          metadata: {},
          source:
            "# Answers\n\nThe step is $h^{(t)} = \\tanh(a^{(t)})$ and\n\n$$\\nabla_W L = \\sum_t \\operatorname{diag}(1 - h^{(t)2}) \\nabla_{h^{(t)}} L \\, h^{(t-1)\\top}$$",
        },
        {
          cell_type: "code",
          id: "b",
          metadata: {},
          execution_count: 1,
          source: "console.log(1 + 1)",
          outputs: [{ output_type: "stream", name: "stdout", text: "2\n" }],
        },
        { cell_type: "markdown", id: "c", metadata: {}, source: "Because the Jacobian's norm is below 1, the gradient shrinks." },
      ],
    };
    const file = path.join(tmp, "answers.ipynb");
    fs.writeFileSync(file, JSON.stringify(nb));
    const r = await notebookToPdf(file);
    assert.equal(r.pdf, path.join(tmp, "answers.pdf"));
    const bytes = fs.readFileSync(r.pdf);
    assert.equal(bytes.subarray(0, 5).toString("latin1"), "%PDF-");
    assert.equal(r.pages, 1);
    assert.equal(r.math, 2, "both formulas typeset");
    assert.equal(r.mathErrors, 0);
  });

  it("says what is wrong with a path that is not a notebook", async () => {
    await assert.rejects(notebookToPdf(path.join(tmp, "missing.ipynb")), /notebook: no such file .*missing\.ipynb/);
    fs.writeFileSync(path.join(tmp, "notes.txt"), "hi");
    await assert.rejects(notebookToPdf(path.join(tmp, "notes.txt")), /expected a \.ipynb file, got notes\.txt/);
  });
});
