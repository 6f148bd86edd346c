/**
 * The Gradescope autograder bundle `npm run assign` writes: its zip holds what Gradescope
 * needs at the top (setup.sh, run_autograder), seqlab packed without the masters, and the
 * grading notebook; run_autograder grades a fake /autograder tree into results.json.
 * (setup.sh installs Node and Jupyter with apt on Gradescope's image; here only its syntax
 * is checked, and run_autograder uses this checkout's seqlab through SEQLAB_HOME.)
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import * as nbf from "../../coursework/notebook";
import { assign } from "../../coursework/assign";
import { packageRoot } from "../../kernel/resolve";

const MASTERS = path.join(__dirname, "..", "fixtures", "coursework", "masters");

describe("coursework: the Gradescope bundle", function () {
  this.timeout(600_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-gradescope-test-"));
  let bundle: Awaited<ReturnType<typeof assign>>[number];
  const root = path.join(tmp, "autograder");

  before(async () => {
    [bundle] = await assign({ names: ["tiny"], masters: MASTERS, out: path.join(tmp, "assigned"), prove: false, log: () => {} });
    fs.mkdirSync(path.join(root, "source"), { recursive: true });
    const unzip = spawnSync("/usr/bin/python3", ["-m", "zipfile", "-e", bundle.zip ?? "", path.join(root, "source")], {
      encoding: "utf-8",
    });
    assert.equal(unzip.status, 0, unzip.stderr);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("zips setup.sh, run_autograder, the grading notebook and seqlab at the top", () => {
    const list = spawnSync("/usr/bin/python3", ["-m", "zipfile", "-l", bundle.zip ?? ""], { encoding: "utf-8" }).stdout;
    for (const f of ["setup.sh", "run_autograder", "grading.ipynb", "seqlab.tgz"])
      assert.match(list, new RegExp(`^${f.replace(".", "\\.")}\\s`, "m"));
    const modes = spawnSync(
      "/usr/bin/python3",
      [
        "-c",
        "import sys, zipfile; print({i.filename: oct(i.external_attr >> 16) for i in zipfile.ZipFile(sys.argv[1]).infolist()})",
        bundle.zip ?? "",
      ],
      { encoding: "utf-8" },
    ).stdout;
    assert.match(modes, /'run_autograder': '0o755'/);
    assert.match(modes, /'setup.sh': '0o755'/);
    const syntax = spawnSync("bash", ["-n", path.join(root, "source", "setup.sh")], { encoding: "utf-8" });
    assert.equal(syntax.status, 0, syntax.stderr);
    assert.match(fs.readFileSync(path.join(root, "source", "run_autograder"), "utf-8"), /--assignment "tiny"/);
  });

  it("packs seqlab with the grader and without any master", () => {
    const files = spawnSync("tar", ["-tzf", path.join(root, "source", "seqlab.tgz")], { encoding: "utf-8" }).stdout.split("\n");
    for (const f of [
      "package/coursework/grade.js",
      "package/coursework/execute.py",
      "package/coursework/sandbox-kernel.sh",
      "package/dist/index.js",
    ]) {
      assert.ok(files.includes(f), `${f} is packed`);
    }
    assert.deepEqual(
      files.filter((f) => f.includes("assignments") || f.endsWith(".ipynb")),
      [],
    );
  });

  it("run_autograder grades /autograder/submission into /autograder/results/results.json", () => {
    const release = nbf.readNotebook(bundle.release);
    for (const c of release.cells) {
      if (nbf.gradeIdOf(c) === "double")
        c.source = nbf.toSource("function double(x: tf.Tensor1D): tf.Tensor1D {\n  return tf.add(x, x) as tf.Tensor1D;\n}");
    }
    fs.mkdirSync(path.join(root, "submission"), { recursive: true });
    fs.writeFileSync(path.join(root, "submission", "tiny.ipynb"), JSON.stringify(release));
    const run = spawnSync("bash", [path.join(root, "source", "run_autograder")], {
      encoding: "utf-8",
      env: { ...process.env, AUTOGRADER_ROOT: root, SEQLAB_HOME: packageRoot },
    });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const results = JSON.parse(fs.readFileSync(path.join(root, "results", "results.json"), "utf-8"));
    assert.equal(results.score, 3);
    assert.deepEqual(
      results.tests.map((t: { name: string; score: number; max_score: number }) => [t.name, t.score, t.max_score]),
      [
        ["test-double", 3, 3],
        ["test-square", 0, 2],
      ],
    );
    assert.match(results.tests[1].output, /not implemented yet/);
  });

  it("says so in results.json when no notebook was submitted", () => {
    fs.rmSync(path.join(root, "submission"), { recursive: true, force: true });
    fs.mkdirSync(path.join(root, "submission"));
    fs.writeFileSync(path.join(root, "submission", "answers.txt"), "hello");
    const run = spawnSync("bash", [path.join(root, "source", "run_autograder")], {
      encoding: "utf-8",
      env: { ...process.env, AUTOGRADER_ROOT: root, SEQLAB_HOME: packageRoot },
    });
    assert.equal(run.status, 0, run.stderr);
    const results = JSON.parse(fs.readFileSync(path.join(root, "results", "results.json"), "utf-8"));
    assert.deepEqual(results, { score: 0, output: "Not graded: no .ipynb notebook was submitted.", tests: [] });
  });
});
