/**
 * The master format and the versions made from it (coursework/notebook.js), without a kernel:
 * what the release hides, what the solution shows, what the grader runs, and how a
 * submission's cells are put back into the grading version.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as nbf from "../../coursework/notebook";

const TINY = path.join(__dirname, "..", "fixtures", "coursework", "masters", "tiny.ipynb");
const ASSIGNMENTS = path.join(__dirname, "..", "..", "coursework", "assignments");
type Nb = ReturnType<typeof nbf.readNotebook>;

function cellById(nb: Nb, id: string) {
  const cell = nb.cells.find((c) => nbf.gradeIdOf(c) === id);
  assert.ok(cell, `no cell ${id}`);
  return cell;
}

describe("coursework: the master format", () => {
  const master = nbf.readNotebook(TINY);
  const v = nbf.versionsOf(master, "tiny", "v1");

  it("the release stubs every solution, hides every hidden test and keeps the public checks", () => {
    const text = nbf.sourceOf(cellById(v.release, "double"));
    assert.equal(text, 'function double(x: tf.Tensor1D): tf.Tensor1D {\n  // YOUR CODE HERE\n  throw new Error("not implemented yet");\n}');
    const test = nbf.sourceOf(cellById(v.release, "test-double"));
    assert.match(test, /tensor1d\(\[1, 2, 3\]\)/);
    assert.doesNotMatch(test, /HIDDEN|-1\.5/);
    assert.equal(nbf.sourceOf(cellById(v.release, "q-why")), "YOUR ANSWER HERE");
    const all = JSON.stringify(v.release);
    assert.doesNotMatch(all, /tf\.mul\(x, 2\)|tf\.square|2\(x \+ y\)|BEGIN|END/);
  });

  it("the release marks test and setup cells read-only for Jupyter, and stamps the assignment", () => {
    for (const id of ["setup", "test-double", "test-square"]) {
      assert.equal(cellById(v.release, id).metadata.editable, false, id);
      assert.equal(cellById(v.release, id).metadata.deletable, false, id);
    }
    assert.equal(cellById(v.release, "double").metadata.editable, undefined);
    assert.deepEqual(v.release.metadata.seqlab, { assignment: "tiny", version: "v1" });
    assert.deepEqual(cellById(v.release, "test-double").metadata.nbgrader, cellById(master, "test-double").metadata.nbgrader);
  });

  it("the solution shows the answers without markers or hidden tests", () => {
    assert.equal(
      nbf.sourceOf(cellById(v.solution, "double")),
      "function double(x: tf.Tensor1D): tf.Tensor1D {\n  return tf.mul(x, 2) as tf.Tensor1D;\n}",
    );
    assert.equal(nbf.sourceOf(cellById(v.solution, "q-why")), "Because 2(x + y) = 2x + 2y.");
    assert.doesNotMatch(JSON.stringify(v.solution), /-1\.5|HIDDEN/);
  });

  it("the grading version runs the hidden tests and no solution", () => {
    const test = nbf.sourceOf(cellById(v.grading, "test-double"));
    assert.match(test, /\/\/ BEGIN HIDDEN TESTS\n.*tensor1d\(\[-1\.5, 0\]\)/);
    assert.doesNotMatch(JSON.stringify(v.grading), /tf\.mul\(x, 2\)|2\(x \+ y\)/);
  });

  it("a submission's answers are taken by grade_id; its test cells are not", () => {
    const submission: Nb = JSON.parse(JSON.stringify(v.release));
    cellById(submission, "double").source = ["function double(x: tf.Tensor1D): tf.Tensor1D { return x; }"];
    cellById(submission, "test-double").source = ['console.log("all good")'];
    submission.cells = submission.cells.filter((c) => nbf.gradeIdOf(c) !== "test-square");
    submission.cells.splice(3, 0, { cell_type: "code", source: "const helper = 1;", metadata: {}, outputs: [], execution_count: null });
    const { notebook, missing, extraCells } = nbf.merge(v.grading, submission);
    assert.deepEqual(missing, []);
    assert.equal(extraCells, 1);
    assert.equal(nbf.sourceOf(cellById(notebook, "double")), "function double(x: tf.Tensor1D): tf.Tensor1D { return x; }");
    assert.equal(nbf.sourceOf(cellById(notebook, "test-double")), nbf.sourceOf(cellById(v.grading, "test-double")));
    assert.equal(nbf.sourceOf(cellById(notebook, "test-square")), nbf.sourceOf(cellById(v.grading, "test-square")));
    const ids = notebook.cells.map((c) => nbf.gradeIdOf(c) ?? nbf.sourceOf(c).slice(0, 12));
    assert.ok(ids.indexOf("const helper") === ids.indexOf("double") + 1, `the extra cell stays after the answer it followed: ${ids}`);
  });

  it("a deleted answer is reported and graded as the stub", () => {
    const submission: Nb = JSON.parse(JSON.stringify(v.release));
    submission.cells = submission.cells.filter((c) => nbf.gradeIdOf(c) !== "square");
    const { notebook, missing } = nbf.merge(v.grading, submission);
    assert.deepEqual(missing, ["square"]);
    assert.match(nbf.sourceOf(cellById(notebook, "square")), /not implemented yet/);
  });

  it("a broken master is refused with the cell and the reason", () => {
    const broken = (edit: (nb: Nb) => void) => {
      const nb: Nb = JSON.parse(JSON.stringify(master));
      edit(nb);
      return () => nbf.versionsOf(nb, "tiny", "v1");
    };
    assert.throws(
      broken((nb) => (cellById(nb, "double").source = ["// BEGIN SOLUTION\nreturn 1;\n"])),
      /tiny: cell 3 \(double\): BEGIN without END/,
    );
    assert.throws(
      broken((nb) => (cellById(nb, "square").metadata.nbgrader.grade_id = "double")),
      /grade_id double is used twice/,
    );
    assert.throws(
      broken((nb) => (cellById(nb, "test-square").metadata.nbgrader.points = 0)),
      /test-square\): a graded cell needs points > 0, got 0/,
    );
    assert.throws(
      broken((nb) => (cellById(nb, "square").source = ["function square() {}"])),
      /square\) is a solution cell without a BEGIN SOLUTION/,
    );
    assert.throws(
      broken((nb) => (cellById(nb, "setup").source = ["// BEGIN HIDDEN TESTS\n// END HIDDEN TESTS"])),
      /setup\) has hidden tests but is not a test cell/,
    );
  });

  it("a file that is not a notebook says what it is", () => {
    assert.throws(() => nbf.parseNotebook("{ not json", "alice.ipynb"), /alice\.ipynb is not valid JSON .*is it a saved \.ipynb\?/);
    assert.throws(() => nbf.parseNotebook('{"a": 1}', "bob.ipynb"), /bob\.ipynb is JSON but not a notebook/);
    assert.throws(() => nbf.parseNotebook('{"cells": [], "nbformat": 3}', "c.ipynb"), /nbformat 3, expected 4/);
  });

  describe("the assignments' masters", () => {
    const files = fs
      .readdirSync(ASSIGNMENTS)
      .filter((f) => f.endsWith(".ipynb"))
      .sort();
    it("are four, numbered in order", () => {
      assert.deepEqual(
        files.map((f) => f.slice(0, 3)),
        ["01-", "02-", "03-", "04-"],
      );
    });
    for (const file of files) {
      it(`${file}: a valid master, committed without outputs, in the course's form`, () => {
        const nb = nbf.readNotebook(path.join(ASSIGNMENTS, file));
        const { tests, written } = nbf.validateMaster(nb, file);
        assert.ok(tests.length >= 3 && written.length >= 2, `${tests.length} tests, ${written.length} written`);
        assert.equal(nb.metadata.kernelspec?.name, "seqlab");
        assert.match(nbf.sourceOf(nb.cells[0]), new RegExp(`^# Assignment ${Number(file.slice(0, 2))} · `));
        assert.equal(nbf.gradeIdOf(nb.cells[1]), "setup");
        assert.match(nbf.sourceOf(nb.cells[1]), /await initBackend\(\)/);
        nb.cells.forEach((c, i) => {
          const text = nbf.sourceOf(c);
          assert.deepEqual(c.outputs ?? [], [], `cell ${i + 1} has outputs`);
          // eslint-disable-next-line no-control-regex
          assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f]/, `cell ${i + 1}: a control character`);
          if (c.cell_type === "markdown") {
            assert.doesNotMatch(
              text,
              /^\s*\|.*\|\s*$\n^\s*\|[-: |]+\|\s*$/m,
              `cell ${i + 1}: a markdown table (the classic Notebook renders them badly)`,
            );
          }
          if (c.cell_type === "code") assert.doesNotMatch(text, /seqlab\/internal/, `cell ${i + 1} imports seqlab/internal`);
        });
        assert.match(nbf.sourceOf(nb.cells[nb.cells.length - 1]), /^## Submitting/);
      });
    }
  });
});
