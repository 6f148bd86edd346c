/**
 * The grader against what students hand in, through the real seqlab kernel: a right
 * answer, the untouched release, a tampered test cell, an infinite loop, process.exit(),
 * a kernel that stops answering, a notebook past its time limit, a 10 GB allocation, a file that is not a notebook, and code that tries to read the
 * master, the grading notebook and another student's submission. Each is graded, and
 * the run goes on.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as nbf from "../../coursework/notebook";
import { gradeAll, sandboxSupport, type Grade } from "../../coursework/grade";
import { assign } from "../../coursework/assign";

const MASTERS = path.join(__dirname, "..", "fixtures", "coursework", "masters");
type Nb = ReturnType<typeof nbf.readNotebook>;

/** The release with the source of some cells replaced (by grade_id), or cells removed (null). */
function submissionFrom(release: Nb, edits: Record<string, string | null>): Nb {
  const nb: Nb = JSON.parse(JSON.stringify(release));
  nb.cells = nb.cells.filter((c) => edits[nbf.gradeIdOf(c) ?? ""] !== null);
  for (const c of nb.cells) {
    const e = edits[nbf.gradeIdOf(c) ?? ""];
    if (typeof e === "string") c.source = nbf.toSource(e);
  }
  return nb;
}

const double = (body: string) => `function double(x: tf.Tensor1D): tf.Tensor1D {\n${body}\n}`;
const RIGHT_DOUBLE = double("  return tf.mul(x, 2) as tf.Tensor1D;");
const RIGHT_SQUARE = "function square(x: tf.Tensor1D): tf.Tensor1D {\n  return tf.square(x);\n}";

describe("coursework: grading what students hand in", function () {
  this.timeout(900_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-grader-test-"));
  const subs = path.join(tmp, "submissions");
  let grades: Map<string, Grade>;
  let outDir: string;
  let slowOut: string;
  let masterText: string;

  before(async () => {
    const [tiny] = await assign({
      names: ["tiny"],
      masters: MASTERS,
      out: path.join(tmp, "assigned"),
      prove: false,
      gradescope: false,
      log: () => {},
    });
    const release = nbf.readNotebook(tiny.release);
    masterText = fs.readFileSync(path.join(MASTERS, "tiny.ipynb"), "utf-8");
    const otherStudent = path.join(subs, "good", "tiny.ipynb");
    const snoop = [
      'import * as fs from "fs";',
      "for (const file of [",
      `  ${JSON.stringify(path.join(MASTERS, "tiny.ipynb"))},`,
      `  ${JSON.stringify(tiny.grading)},`,
      `  ${JSON.stringify(otherStudent)},`,
      "]) {",
      '  try { console.log(`READ ${file}: ${fs.readFileSync(file, "utf-8").slice(0, 2000)}`); }',
      "  catch (e) { console.log(`DENIED ${file}: ${(e as Error).message}`); }",
      "}",
      'console.log(`FOLDER ${fs.readdirSync(".").join(",")}`);',
      "console.log(`THREADS ${process.env.SEQLAB_THREADS}`);",
      RIGHT_DOUBLE,
    ].join("\n");
    const variants: Record<string, Record<string, string | null> | string> = {
      good: { double: RIGHT_DOUBLE, square: RIGHT_SQUARE, "q-why": "Because it distributes." },
      release: {},
      tampered: { double: double("  return x;"), "test-double": 'console.log("all good");', "test-square": null, square: RIGHT_SQUARE },
      loop: { double: double("  while (true) {}"), square: RIGHT_SQUARE },
      exit: { double: double("  process.exit(3);"), square: RIGHT_SQUARE },
      // The kernel stopped (alive, answering nothing), as a kernel that hangs would be.
      hang: { double: `process.kill(process.pid, "SIGSTOP");\n${RIGHT_DOUBLE}`, square: RIGHT_SQUARE },
      memory: { double: double("  const big = new Float64Array(1.25e9);\n  big.fill(1);\n  return x;"), square: RIGHT_SQUARE },
      corrupt: '{ "cells": [ {"cell_type": "code", "source": "function double(',
      snoop: { double: snoop, square: RIGHT_SQUARE },
    };
    for (const [who, v] of Object.entries(variants)) {
      fs.mkdirSync(path.join(subs, who), { recursive: true });
      const text = typeof v === "string" ? v : JSON.stringify(submissionFrom(release, v));
      fs.writeFileSync(path.join(subs, who, "tiny.ipynb"), text);
    }
    outDir = path.join(tmp, "grades");
    const result = await gradeAll({
      submissions: subs,
      masters: MASTERS,
      out: outDir,
      cellTimeout: 15,
      memoryMb: 2048,
      jobs: 2,
      log: () => {},
    });
    grades = new Map(result.grades.map((g) => [g.student, g]));
    // A notebook that reaches the time limit on the whole notebook (45 s) in a cell that
    // would run for longer than the cell's (120 s).
    const slowSubs = path.join(tmp, "slow-submissions");
    fs.mkdirSync(path.join(slowSubs, "slow"), { recursive: true });
    const slow = submissionFrom(release, { double: RIGHT_DOUBLE, square: `${RIGHT_SQUARE}\nwhile (true) {}` });
    fs.writeFileSync(path.join(slowSubs, "slow", "tiny.ipynb"), JSON.stringify(slow));
    slowOut = path.join(tmp, "slow-grades");
    const slowResult = await gradeAll({
      submissions: slowSubs,
      masters: MASTERS,
      out: slowOut,
      cellTimeout: 120,
      timeout: 45,
      log: () => {},
    });
    grades.set("slow", slowResult.grades[0]);
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const scores = (who: string) => Object.fromEntries((grades.get(who)?.tests ?? []).map((t) => [t.id, t.score]));
  const output = (who: string, id: string) => grades.get(who)?.tests.find((t) => t.id === id)?.output ?? "";
  const executedText = (who: string) => fs.readFileSync(path.join(outDir, who, "tiny.ipynb"), "utf-8");
  /** Everything the submission's cells printed. */
  const printedBy = (who: string) =>
    nbf
      .readNotebook(path.join(outDir, who, "tiny.ipynb"))
      .cells.flatMap((c) => c.outputs ?? [])
      .map((o) => (Array.isArray(o.text) ? o.text.join("") : (o.text ?? "")))
      .join("");

  it("runs submissions in a sandbox on this machine (root, Linux, mount namespaces)", function () {
    if (process.getuid?.() !== 0) this.skip(); // the sandbox needs root; the grader then says why it runs without
    assert.deepEqual(sandboxSupport(), { on: true, why: "" });
  });

  it("gives the right answer full marks and the release zero", () => {
    assert.deepEqual(scores("good"), { "test-double": 3, "test-square": 2 });
    assert.equal(grades.get("good")?.score, 5);
    assert.deepEqual(scores("release"), { "test-double": 0, "test-square": 0 });
    assert.match(output("release", "test-double"), /not implemented yet/);
    assert.deepEqual(grades.get("good")?.written, [{ id: "q-why", points: 1, answer: "Because it distributes." }]);
  });

  it("runs the instructor's tests whatever the student did to theirs", () => {
    assert.deepEqual(scores("tampered"), { "test-double": 0, "test-square": 2 });
    assert.match(output("tampered", "test-double"), /double: 2x is wrong: .*\n.*about 1\/2 of the right value/);
    assert.doesNotMatch(executedText("tampered"), /all good/);
  });

  it("stops an infinite loop at the cell's time limit and grades the rest", () => {
    assert.deepEqual(scores("loop"), { "test-double": 0, "test-square": 2 });
    assert.match(output("loop", "test-double"), /Timeout: the cell ran for more than 15 s/);
  });

  it("survives process.exit(): the kernel is restarted and later questions are graded", () => {
    assert.deepEqual(scores("exit"), { "test-double": 0, "test-square": 2 });
    assert.match(output("exit", "test-double"), /process\.exit|kernel died/);
  });

  it("restarts a kernel that answers nothing after a cell's time limit, and grades the rest", () => {
    assert.deepEqual(scores("hang"), { "test-double": 0, "test-square": 2 });
    assert.equal(grades.get("hang")?.status, "graded");
    const cell = nbf.readNotebook(path.join(outDir, "hang", "tiny.ipynb")).cells.find((c) => nbf.gradeIdOf(c) === "double");
    const err = cell?.outputs?.find((o) => o.output_type === "error");
    assert.equal(err?.ename, "KernelHung");
    assert.match(String(err?.evalue), /ran for more than 15 s, and after Interrupt the kernel did not answer for 30 s more/);
    // The run's log says so, for the instructor; a run where nothing went wrong leaves none.
    assert.match(fs.readFileSync(path.join(outDir, "hang", "run.log"), "utf-8"), /cell \d+ \(double\): the kernel hung/);
    assert.equal(fs.existsSync(path.join(outDir, "good", "run.log")), false);
  });

  it("grades the cells a notebook finished before its time limit, and says which it did not reach", () => {
    const g = grades.get("slow");
    assert.match(g?.status ?? "", /^stopped: the notebook ran for more than 45 s; the cells it finished are graded$/);
    // At the limit its kernel, still in the loop, is ended with it: the grader does not wait for it.
    assert.ok((g?.seconds ?? Infinity) < 45 + 30, `graded in ${g?.seconds} s`);
    assert.deepEqual(scores("slow"), { "test-double": 3, "test-square": 0 });
    assert.match(output("slow", "test-double"), /public check passed/);
    assert.equal(output("slow", "test-square"), "not run: the notebook's time limit (45 s) was reached before this cell");
    assert.ok(fs.existsSync(path.join(slowOut, "slow", "run.log")));
    const feedback = nbf.readNotebook(path.join(slowOut, "slow", "tiny.ipynb"));
    assert.ok(feedback.cells.some((c) => (c.outputs ?? []).some((o) => /public check passed/.test(String(o.text)))));
  });

  it("refuses a 10 GB allocation at the memory limit without losing the kernel", () => {
    assert.deepEqual(scores("memory"), { "test-double": 0, "test-square": 2 });
    assert.match(output("memory", "test-double"), /RangeError|allocation failed|kernel died/i);
  });

  it("grades a file that is not a notebook zero, says why, and goes on", () => {
    const g = grades.get("corrupt");
    assert.equal(g?.score, 0);
    assert.equal(g?.maxScore, 5);
    assert.match(g?.status ?? "", /invalid notebook: tiny\.ipynb is not valid JSON/);
    const results = JSON.parse(fs.readFileSync(path.join(outDir, "corrupt", "results.json"), "utf-8"));
    assert.equal(results.score, 0);
    assert.deepEqual(
      results.tests.map((t: { name: string; score: number; max_score: number }) => [t.name, t.score, t.max_score]),
      [
        ["test-double", 0, 3],
        ["test-square", 0, 2],
      ],
    );
  });

  it("lets a submission read nothing but its own folder: not the master, the grading notebook or another student's work", function () {
    if (process.getuid?.() !== 0) this.skip(); // without root there is no sandbox to test
    const text = printedBy("snoop");
    const denied = text.match(/DENIED [^\n]*/g) ?? [];
    assert.equal(denied.length, 3, `each read is refused: ${denied.join(" | ")}`);
    assert.doesNotMatch(text, /READ \//);
    assert.doesNotMatch(text, /BEGIN SOLUTION|-1\.5/);
    assert.match(text, /FOLDER [^\n]*tiny\.ipynb/);
    // Two notebooks at once on two workers: each kernel's fused kernels on one thread.
    assert.match(text, /THREADS 1\n/);
    assert.ok(!text.includes(masterText.slice(0, 200)));
    assert.deepEqual(scores("snoop"), { "test-double": 3, "test-square": 2 });
    assert.ok(grades.get("snoop")?.flags.includes("imports a Node module"), `flagged for review: ${grades.get("snoop")?.flags}`);
  });

  it("writes the class's grades as CSV and JSON, and per student results.json and feedback without the hidden tests", () => {
    const csv = fs.readFileSync(path.join(outDir, "grades.csv"), "utf-8").trim().split("\n");
    assert.equal(csv[0], "student,assignment,test-double,test-square,autograded,max,q-why (by hand),status,review");
    assert.ok(csv.includes("good,tiny,3,2,5,5,,graded,"), csv.join("\n"));
    assert.equal(csv.length, 1 + 9);
    const json = JSON.parse(fs.readFileSync(path.join(outDir, "grades.json"), "utf-8"));
    assert.equal(json.length, 9);
    const results = JSON.parse(fs.readFileSync(path.join(outDir, "good", "results.json"), "utf-8"));
    assert.equal(results.score, 5);
    assert.match(results.output, /5 of 5 autograded points\.\nWritten answers \(q-why: 1 point\) are graded by hand\./);
    const feedback = fs.readFileSync(path.join(outDir, "tampered", "feedback.html"), "utf-8");
    assert.match(feedback, /✗ failed: 0\/3 points/);
    assert.match(feedback, /✓ passed: 2\/2 points/);
    assert.match(feedback, /hidden tests ran here/);
    assert.doesNotMatch(feedback, /-1\.5/);
  });
});
