#!/usr/bin/env node
// @ts-check
"use strict";
/**
 * `npm run grade -- <submissions> [options]`: grades students' notebooks.
 *
 * Every .ipynb under <submissions> is one submission. For each:
 * 1. the grading version of its assignment is found (the notebook's
 *    metadata.seqlab.assignment, or --assignment, or --grading FILE);
 * 2. its solution cells are put into the grading version by grade_id (merge() in
 *    notebook.js): the test cells that run are the instructor's, hidden tests included,
 *    whatever the student did to theirs;
 * 3. it runs through the seqlab kernel (execute.py) in a sandbox: a folder of its own
 *    holding only its notebook, an unprivileged uid per worker, a mount namespace in which
 *    the masters, the submissions and the grader's own files are empty, a memory limit
 *    and a time limit per cell and per notebook;
 * 4. each test cell scores its points if it ran without error; written answers are left
 *    for grading by hand.
 * Written to --out (default grades/<assignment> beside the current folder): grades.csv and
 * grades.json for the class, and per student results.json (Gradescope's format),
 * feedback.html (their notebook with each test's outcome) and the executed notebook.
 *
 * A submission that is not a notebook, loops, exits, crashes, hangs the kernel or exhausts
 * memory scores zero for what it broke; the run goes on. A notebook stopped at its time
 * limit is graded on the cells it finished.
 */
const fs = require("fs");
const os = require("os");
const path = require("path");
const { createHash } = require("crypto");
const { spawn, spawnSync } = require("child_process");
const { findJupyter } = require("../kernel/jupyter");
const { packageRoot } = require("../kernel/resolve");
const nbf = require("./notebook");

const ASSIGNMENTS = path.join(packageRoot, "coursework", "assignments");
const DEFAULTS = { cellTimeout: 120, timeout: 900, memoryMb: 4096, jobs: Math.max(1, os.cpus().length) };
/** The first uid of the sandbox's workers: worker k runs as BASE_UID + k (no passwd entry needed). */
const BASE_UID = 61000;

/**
 * @typedef {{ id: string, name: string, points: number, score: number, passed: boolean, output: string }} TestResult
 * @typedef {{ id: string, points: number, answer: string }} WrittenAnswer
 * @typedef {{ student: string, file: string, assignment: string | null, status: string, score: number,
 *   maxScore: number, tests: TestResult[], written: WrittenAnswer[], flags: string[], seconds: number,
 *   feedback?: string, results?: string, executed?: string, log?: string }} Grade
 */

/**
 * How the grader can isolate a submission on this machine.
 * @returns {{ on: boolean, why: string }}
 */
function sandboxSupport() {
  if (process.platform !== "linux") return { on: false, why: "not Linux" };
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    return { on: false, why: "the grader is not root, so it cannot run submissions as another user" };
  }
  for (const tool of ["unshare", "setpriv", "prlimit"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return { on: false, why: `${tool} (util-linux) is missing` };
  }
  const probe = spawnSync("unshare", ["--mount", "--propagation", "private", "true"]);
  if (probe.status !== 0) return { on: false, why: "this machine does not allow mount namespaces (unshare --mount failed)" };
  // seqlab loaded as the sandbox will load it: another user, in a mount namespace.
  const box = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-box-"));
  try {
    const read = spawnSync("/bin/sh", [path.join(__dirname, "sandbox-kernel.sh")], {
      env: {
        PATH: process.env.PATH ?? "",
        SEQLAB_BOX: box,
        SEQLAB_BOX_PROBE: "1",
        SEQLAB_BOX_UID: String(BASE_UID),
        SEQLAB_BOX_GID: String(BASE_UID),
        SEQLAB_BOX_NODE: process.execPath,
        SEQLAB_BOX_PACKAGE: packageRoot,
      },
      encoding: "utf-8",
    });
    if (read.status !== 0) {
      const why = (read.stderr || "").trim().split("\n").slice(-1)[0];
      return { on: false, why: `seqlab does not load as an unprivileged user in a mount namespace (${why})` };
    }
  } finally {
    fs.rmSync(box, { recursive: true, force: true });
  }
  return { on: true, why: "" };
}

/** How long the output pipes may stay open after the process ended (held by a kernel it left). */
const LEFT_BEHIND_MS = 5_000;

/**
 * Runs `cmd` in a process group of its own, killed with it after `timeoutMs`. A kernel it
 * started runs in a session of its own and holds the same output pipes: `leftBehind` kills it
 * at the time limit, and when it outlives the process by LEFT_BEHIND_MS (the run would
 * otherwise wait for it, and a kernel stuck in a loop never ends).
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ env: NodeJS.ProcessEnv, timeoutMs: number, cwd?: string, leftBehind?: () => void }} opts
 * @returns {Promise<{ code: number | null, output: string, timedOut: boolean }>}
 */
function runLimited(cmd, args, opts) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    const keep = (/** @type {Buffer} */ d) => {
      if (output.length < 200_000) output += d;
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    let timedOut = false;
    /** @type {NodeJS.Timeout | undefined} */
    let lingering;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-(child.pid ?? 0), "SIGKILL");
      } catch {
        /* already gone */
      }
      opts.leftBehind?.();
    }, opts.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("exit", () => {
      lingering = setTimeout(() => opts.leftBehind?.(), LEFT_BEHIND_MS);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      clearTimeout(lingering);
      resolve({ code, output, timedOut });
    });
  });
}

/**
 * Kills every process whose working folder is inside `box` (a kernel left behind).
 * @param {string} box
 */
function killInside(box) {
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      if (cwd === box || cwd.startsWith(box + path.sep)) process.kill(Number(pid), "SIGKILL");
    } catch {
      /* gone, or not ours to see */
    }
  }
}

/**
 * Student code that reaches for things a solution never needs.
 * @param {string} code
 * @returns {string[]}
 */
function flagsOf(code) {
  const patterns = [
    [/\brequire\s*\(/, "require()"],
    [/\bprocess\s*\.\s*(?!exit\b)\w+/, "process.*"],
    [/\bglobalThis\b|\bglobal\s*\./, "globalThis"],
    [/\bObject\s*\.\s*(defineProperty|assign|setPrototypeOf)\b|\.prototype\b|__proto__/, "patches objects"],
    [/seqlab\/(coursework|internal)|\bcheck[A-Z]\w*\s*=/, "touches the checks"],
    [/\bfrom\s+["'](fs|child_process|os|net|http|worker_threads|vm)["']/, "imports a Node module"],
  ];
  return patterns.filter(([re]) => /** @type {RegExp} */ (re).test(code)).map(([, name]) => /** @type {string} */ (name));
}

/**
 * The first lines of an error, for a report.
 * @param {any} out
 */
function errorText(out) {
  const text = `${out.ename}: ${out.evalue}`;
  return text.split("\n").slice(0, 12).join("\n");
}

/**
 * "1 point", "3 points".
 * @param {number} n
 * @param {string} word
 */
function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * CSV field.
 * @param {unknown} v
 */
function csv(v) {
  const s = String(v ?? "");
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The grading version of an assignment by name, from the masters.
 * @param {string} name
 * @param {string} [masters] the folder of masters
 */
function gradingFromMaster(name, masters = ASSIGNMENTS) {
  const file = path.join(masters, `${name}.ipynb`);
  if (!fs.existsSync(file)) {
    const known = fs.existsSync(masters) ? fs.readdirSync(masters).filter((f) => f.endsWith(".ipynb")) : [];
    throw new Error(`no assignment named ${JSON.stringify(name)}; the assignments are: ${known.map((f) => f.slice(0, -6)).join(", ")}`);
  }
  const text = fs.readFileSync(file, "utf-8");
  const version = createHash("sha256").update(text).digest("hex").slice(0, 12);
  return nbf.versionsOf(nbf.parseNotebook(text, file), name, version).grading;
}

/**
 * Grades submissions.
 * @param {{ submissions: string, out?: string, assignment?: string, grading?: string, masters?: string, jobs?: number,
 *   cellTimeout?: number, timeout?: number, memoryMb?: number, sandbox?: boolean, feedback?: boolean,
 *   hide?: string[], log?: (s: string) => void }} opts
 * @returns {Promise<{ grades: Grade[], out: string, sandbox: { on: boolean, why: string }, seconds: number }>}
 */
async function gradeAll(opts) {
  const log = opts.log ?? ((s) => console.log(s));
  const t0 = Date.now();
  const root = path.resolve(opts.submissions);
  if (!fs.existsSync(root)) throw new Error(`submissions: no such folder or file ${root}`);
  const files = fs.statSync(root).isDirectory() ? listNotebooks(root) : [root];
  if (files.length === 0) throw new Error(`submissions: no .ipynb files under ${root}`);
  const jupyter = findJupyter({ need: ["jupyter_client", "nbclient", "nbconvert"] });
  if (!jupyter) throw new Error("no Python here has Jupyter with nbclient and nbconvert: run `npm install` (it installs them)");

  /** @type {Map<string, nbf.Notebook>} */
  const gradings = new Map();
  const fixed = opts.grading
    ? nbf.readNotebook(path.resolve(opts.grading))
    : opts.assignment
      ? gradingFromMaster(opts.assignment, opts.masters)
      : null;
  /**
   * @param {nbf.Notebook | null} submission
   * @param {string} file
   */
  const gradingFor = (submission, file) => {
    if (fixed) return { name: fixed.metadata?.seqlab?.assignment ?? opts.assignment ?? "assignment", grading: fixed };
    const stamped = submission?.metadata?.seqlab?.assignment;
    const name = typeof stamped === "string" ? stamped : path.basename(file, ".ipynb");
    if (!gradings.has(name)) gradings.set(name, gradingFromMaster(name, opts.masters));
    return { name, grading: /** @type {nbf.Notebook} */ (gradings.get(name)) };
  };

  const sandbox = opts.sandbox === false ? { on: false, why: "turned off (--no-sandbox)" } : sandboxSupport();
  if (!sandbox.on) log(`grade: WARNING: submissions run without a sandbox (${sandbox.why}); they can read what you can`);
  const outDir = path.resolve(opts.out ?? path.join(process.cwd(), "grades"));
  fs.mkdirSync(outDir, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-grade-"));
  fs.chmodSync(work, 0o700);
  const prefix = path.join(work, "jupyter");
  writeKernelSpec(prefix);
  const hide = [
    ASSIGNMENTS,
    ...(opts.masters ? [path.resolve(opts.masters)] : []),
    path.join(packageRoot, "out"),
    root,
    work,
    outDir,
    ...(opts.grading ? [path.dirname(path.resolve(opts.grading))] : []),
  ]
    .concat(opts.hide ?? [])
    .filter((p, i, all) => all.indexOf(p) === i);
  const jobs = Math.max(1, opts.jobs ?? DEFAULTS.jobs);
  const settings = {
    cellTimeout: opts.cellTimeout ?? DEFAULTS.cellTimeout,
    timeout: opts.timeout ?? DEFAULTS.timeout,
    memoryMb: opts.memoryMb ?? DEFAULTS.memoryMb,
    jobs,
  };
  /** @type {Grade[]} */
  const grades = new Array(files.length);
  let next = 0;
  const usedNames = new Set();
  const worker = async (/** @type {number} */ k) => {
    while (next < files.length) {
      const i = next++;
      const file = files[i];
      let student = studentOf(root, file);
      while (usedNames.has(student)) student += "_";
      usedNames.add(student);
      grades[i] = await gradeOne({
        file,
        student,
        k,
        gradingFor,
        jupyter,
        prefix,
        work,
        outDir,
        hide,
        sandbox,
        settings,
        feedback: opts.feedback !== false,
      });
      const g = grades[i];
      log(
        `${g.status === "graded" ? "ok  " : "FAIL"} ${g.student}: ${g.score}/${g.maxScore}${g.status === "graded" ? "" : ` (${g.status})`} in ${g.seconds.toFixed(1)} s`,
      );
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, (_, k) => worker(k)));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  writeClassGrades(outDir, grades);
  const seconds = (Date.now() - t0) / 1000;
  log(
    `graded ${grades.length} submission${grades.length === 1 ? "" : "s"} in ${seconds.toFixed(1)} s with ${jobs} worker${jobs === 1 ? "" : "s"} → ${path.join(outDir, "grades.csv")}`,
  );
  return { grades, out: outDir, sandbox, seconds };
}

/**
 * @param {string} dir
 * @returns {string[]}
 */
function listNotebooks(dir) {
  /** @type {string[]} */
  const found = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith(".")) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) found.push(...listNotebooks(p));
    else if (e.name.endsWith(".ipynb")) found.push(p);
  }
  return found;
}

/**
 * A student's name from the submission's path: its folder, or the file name.
 * @param {string} root
 * @param {string} file
 */
function studentOf(root, file) {
  const rel = path.relative(root, file);
  const parts = rel.split(path.sep);
  const name = parts.length > 1 ? parts.slice(0, -1).join("-") : path.basename(rel, ".ipynb");
  return name.replace(/[^A-Za-z0-9._@-]+/g, "_") || "submission";
}

/**
 * The kernelspec that starts the seqlab kernel through sandbox-kernel.sh.
 * @param {string} prefix
 */
function writeKernelSpec(prefix) {
  const dir = path.join(prefix, "kernels", "seqlab-sandbox");
  fs.mkdirSync(dir, { recursive: true });
  const spec = {
    argv: ["/bin/sh", path.join(__dirname, "sandbox-kernel.sh"), "{connection_file}"],
    display_name: "TypeScript (seqlab, sandboxed)",
    language: "typescript",
    interrupt_mode: "signal",
    env: { SEQLAB_BOX_NODE: process.execPath, SEQLAB_BOX_PACKAGE: packageRoot },
  };
  fs.writeFileSync(path.join(dir, "kernel.json"), JSON.stringify(spec, null, 2));
}

/**
 * @param {{ file: string, student: string, k: number, gradingFor: (nb: nbf.Notebook | null, file: string) => { name: string, grading: nbf.Notebook },
 *   jupyter: { python: string }, prefix: string, work: string, outDir: string, hide: string[], sandbox: { on: boolean },
 *   settings: { cellTimeout: number, timeout: number, memoryMb: number, jobs: number }, feedback: boolean }} a
 * @returns {Promise<Grade>}
 */
async function gradeOne(a) {
  const t0 = Date.now();
  const studentDir = path.join(a.outDir, a.student);
  fs.rmSync(studentDir, { recursive: true, force: true });
  fs.mkdirSync(studentDir, { recursive: true });
  /** @type {Grade} */
  const grade = {
    student: a.student,
    file: a.file,
    assignment: null,
    status: "graded",
    score: 0,
    maxScore: 0,
    tests: [],
    written: [],
    flags: [],
    seconds: 0,
  };
  /** @type {nbf.Notebook | null} */
  let submission = null;
  let problem = "";
  try {
    submission = nbf.parseNotebook(fs.readFileSync(a.file, "utf-8"), path.basename(a.file));
  } catch (e) {
    problem = /** @type {Error} */ (e).message;
  }
  let found;
  try {
    found = a.gradingFor(submission, a.file);
  } catch (e) {
    grade.status = `not graded: ${/** @type {Error} */ (e).message}`;
    grade.seconds = (Date.now() - t0) / 1000;
    writeStudentResults(studentDir, grade);
    return grade;
  }
  const { name, grading } = found;
  grade.assignment = name;
  const testCells = grading.cells.filter((c) => nbf.kindOf(c) === "test");
  const writtenCells = grading.cells.filter((c) => nbf.kindOf(c) === "written");
  grade.maxScore = testCells.reduce((s, c) => s + Number(nbf.nbgraderOf(c).points), 0);
  const fail = (/** @type {string} */ why) => {
    grade.tests = testCells.map((c) => testResult(c, false, why));
    grade.written = writtenCells.map((c) => ({
      id: /** @type {string} */ (nbf.gradeIdOf(c)),
      points: nbf.nbgraderOf(c).points,
      answer: "",
    }));
  };
  if (!submission) {
    grade.status = `invalid notebook: ${problem}`;
    fail(`the submission could not be read: ${problem}`);
    grade.seconds = (Date.now() - t0) / 1000;
    writeStudentResults(studentDir, grade);
    return grade;
  }
  const merged = nbf.merge(grading, submission);
  const solutionCode = merged.notebook.cells
    .filter((c) => c.cell_type === "code" && (nbf.kindOf(c) === "solution" || !nbf.gradeIdOf(c)))
    .map(nbf.sourceOf)
    .join("\n");
  grade.flags = flagsOf(solutionCode);
  const private_ = fs.mkdtempSync(path.join(a.work, "sub-"));
  const input = path.join(private_, "merged.ipynb");
  const executed = path.join(private_, "executed.ipynb");
  const report = path.join(private_, "report.json");
  fs.writeFileSync(input, JSON.stringify(merged.notebook, null, 1));
  const uid = String(BASE_UID + a.k);
  /** @type {NodeJS.ProcessEnv} */
  const env = {
    ...process.env,
    JUPYTER_PATH: path.join(a.prefix),
    JUPYTER_RUNTIME_DIR: path.join(private_, "runtime"),
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
    SEQLAB_PICTURES: "0",
    // Notebooks already run side by side, one a core: each on one thread (unless set).
    ...(a.settings.jobs > 1 && !process.env.SEQLAB_THREADS ? { SEQLAB_THREADS: "1" } : {}),
    SEQLAB_BOX_HIDE: a.hide.join(":"),
    SEQLAB_BOX_MEMORY: String(a.settings.memoryMb * 1024 * 1024),
    ...(a.sandbox.on ? { SEQLAB_BOX_UID: uid, SEQLAB_BOX_GID: uid } : {}),
  };
  if (!a.sandbox.on) {
    delete env.SEQLAB_BOX_UID;
    delete env.SEQLAB_BOX_GID;
  }
  /** One execution in a fresh box; a run that fails for a reason of the machine's (not a
   * time limit: python or the kernel failing to start) is tried once more. */
  const execute = async () => {
    // What an earlier attempt saved is not this attempt's.
    for (const file of [executed, report]) fs.rmSync(file, { force: true });
    const box = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-box-"));
    fs.chmodSync(box, 0o700);
    fs.copyFileSync(a.file, path.join(box, path.basename(a.file)));
    try {
      return await runLimited(
        a.jupyter.python,
        [
          path.join(__dirname, "execute.py"),
          input,
          executed,
          report,
          "--kernel",
          "seqlab-sandbox",
          "--cell-timeout",
          String(a.settings.cellTimeout),
        ],
        { env: { ...env, SEQLAB_BOX: box }, timeoutMs: a.settings.timeout * 1000, cwd: private_, leftBehind: () => killInside(box) },
      );
    } finally {
      killInside(box);
      fs.rmSync(box, { recursive: true, force: true });
    }
  };
  let run = await execute();
  if (!run.timedOut && run.code !== 0) run = await execute();
  /** @type {nbf.Notebook | null} */
  let result = null;
  /** @type {{ index: number, grade_id: string | null, status: string }[]} */
  let statuses = [];
  // execute.py saves both files after every cell: a run stopped at the time limit leaves the
  // cells it finished, which are graded; the rest score zero, saying why.
  if ((run.code === 0 || run.timedOut) && fs.existsSync(report) && fs.existsSync(executed)) {
    result = nbf.readNotebook(executed);
    statuses = JSON.parse(fs.readFileSync(report, "utf-8"));
  }
  // What the run and its kernels said on stderr, kept where something went wrong.
  if (run.timedOut || run.code !== 0 || statuses.some((s) => s.status === "hung" || s.status === "died")) {
    grade.log = path.join(studentDir, "run.log");
    fs.writeFileSync(grade.log, run.output);
  }
  const limit = `the notebook's time limit (${a.settings.timeout} s)`;
  if (run.timedOut) {
    grade.status = `stopped: the notebook ran for more than ${a.settings.timeout} s${result ? "; the cells it finished are graded" : ""}`;
  } else if (!result) {
    grade.status = `the run failed (exit ${run.code}): ${run.output.trim().split("\n").slice(-3).join(" ")}`;
  }
  /** Why a test cell has no outcome, from its status in the report. */
  const notRun = (/** @type {string} */ status) =>
    status === "running"
      ? `stopped: ${limit} was reached while this cell ran`
      : run.timedOut
        ? `not run: ${limit} was reached before this cell`
        : `not run (${status})`;
  if (!result) {
    fail(grade.status);
  } else {
    for (const cell of testCells) {
      const id = nbf.gradeIdOf(cell);
      const at = result.cells.findIndex((c) => nbf.gradeIdOf(c) === id);
      const status = statuses[at]?.status ?? "not-run";
      const errors = (result.cells[at]?.outputs ?? []).filter((o) => o.output_type === "error");
      const err = errors.find((o) => ["Timeout", "KernelHung", "KernelDied"].includes(o.ename)) ?? errors[0];
      const passed = status === "ok" && !err;
      grade.tests.push(testResult(cell, passed, passed ? printed(result.cells[at]) : err ? errorText(err) : notRun(status)));
    }
    grade.written = writtenCells.map((c) => {
      const id = /** @type {string} */ (nbf.gradeIdOf(c));
      const answer = result?.cells.find((x) => nbf.gradeIdOf(x) === id);
      return { id, points: nbf.nbgraderOf(c).points, answer: answer ? nbf.sourceOf(answer) : "" };
    });
  }
  grade.score = grade.tests.reduce((s, t) => s + t.score, 0);
  if (merged.missing.length && grade.status === "graded") grade.flags.push(`cells deleted: ${merged.missing.join(", ")}`);
  if (result) {
    const feedbackNb = feedbackNotebook(result, grade, grading);
    const file = path.join(studentDir, `${name}.ipynb`);
    fs.writeFileSync(file, JSON.stringify(feedbackNb, null, 1));
    grade.executed = file;
    if (a.feedback) {
      const conv = spawnSync(
        a.jupyter.python,
        ["-m", "nbconvert", "--to", "html", "--output", "feedback", "--output-dir", studentDir, file],
        {
          encoding: "utf-8",
          env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: "1" },
        },
      );
      if (conv.status === 0) grade.feedback = path.join(studentDir, "feedback.html");
    }
  }
  fs.rmSync(private_, { recursive: true, force: true });
  grade.seconds = (Date.now() - t0) / 1000;
  writeStudentResults(studentDir, grade);
  return grade;
}

/**
 * What a passing test cell printed.
 * @param {any} cell
 */
function printed(cell) {
  return (cell?.outputs ?? [])
    .filter((/** @type {any} */ o) => o.output_type === "stream")
    .map((/** @type {any} */ o) => (Array.isArray(o.text) ? o.text.join("") : o.text))
    .join("")
    .trim();
}

/**
 * @param {nbf.Cell} cell
 * @param {boolean} passed
 * @param {string} output
 * @returns {TestResult}
 */
function testResult(cell, passed, output) {
  const m = nbf.nbgraderOf(cell);
  return { id: m.grade_id, name: m.grade_id, points: m.points, score: passed ? m.points : 0, passed, output };
}

/**
 * The student's executed notebook as feedback: a summary cell first, hidden tests replaced
 * by a line saying they ran, each test cell followed by its outcome.
 * @param {nbf.Notebook} result @param {Grade} grade @param {nbf.Notebook} grading
 */
function feedbackNotebook(result, grade, grading) {
  const byId = new Map(grade.tests.map((t) => [t.id, t]));
  const lines = [
    `# Feedback: ${grade.assignment}`,
    "",
    `**${grade.student}**: ${grade.score} of ${grade.maxScore} autograded points` +
      (grade.written.length
        ? `; written answers (${plural(
            grade.written.reduce((s, w) => s + w.points, 0),
            "point",
          )}) are graded by hand.`
        : "."),
    "",
    ...grade.tests.map((t) => `- ${t.passed ? "✓" : "✗"} \`${t.id}\`: ${t.score}/${t.points}`),
  ];
  /** @type {nbf.Cell[]} */
  const cells = [{ cell_type: "markdown", metadata: {}, source: nbf.toSource(lines.join("\n")) }];
  for (const cell of result.cells) {
    const id = nbf.gradeIdOf(cell);
    const t = id ? byId.get(id) : undefined;
    if (t) {
      const text = nbf.sourceOf(cell);
      const visible = nbf.removeHidden(nbf.sourceOf(grading.cells.find((c) => nbf.gradeIdOf(c) === id) ?? cell), id ?? "");
      const hidden = text.length > visible.length ? "\n// (hidden tests ran here)" : "";
      cells.push({ ...cell, source: nbf.toSource(visible + hidden) });
      cells.push({
        cell_type: "markdown",
        metadata: {},
        source: nbf.toSource(`**${t.passed ? "✓ passed" : "✗ failed"}: ${t.score}/${t.points} points** (\`${t.id}\`)`),
      });
    } else cells.push(cell);
  }
  return { ...result, cells };
}

/**
 * Gradescope's results.json and our per-student record.
 * @param {string} dir
 * @param {Grade} grade
 */
function writeStudentResults(dir, grade) {
  const manual = grade.written.length
    ? `\nWritten answers (${grade.written.map((w) => `${w.id}: ${plural(w.points, "point")}`).join(", ")}) are graded by hand.`
    : "";
  const results = {
    score: grade.score,
    output: `${grade.status === "graded" ? "" : `${grade.status}\n`}${grade.score} of ${grade.maxScore} autograded points.${manual}`,
    visibility: "visible",
    stdout_visibility: "hidden",
    tests: grade.tests.map((t) => ({ name: t.id, score: t.score, max_score: t.points, output: t.output, visibility: "visible" })),
  };
  grade.results = path.join(dir, "results.json");
  fs.writeFileSync(grade.results, JSON.stringify(results, null, 2) + "\n");
  fs.writeFileSync(path.join(dir, "grade.json"), JSON.stringify(grade, null, 2) + "\n");
}

/**
 * grades.csv and grades.json for the class.
 * @param {string} dir
 * @param {Grade[]} grades
 */
function writeClassGrades(dir, grades) {
  const ids = [...new Set(grades.flatMap((g) => g.tests.map((t) => t.id)))];
  const written = [...new Set(grades.flatMap((g) => g.written.map((w) => w.id)))];
  const rows = [["student", "assignment", ...ids, "autograded", "max", ...written.map((w) => `${w} (by hand)`), "status", "review"]];
  for (const g of grades) {
    rows.push(
      [
        g.student,
        g.assignment ?? "",
        ...ids.map((id) => g.tests.find((t) => t.id === id)?.score ?? ""),
        g.score,
        g.maxScore,
        ...written.map(() => ""),
        g.status,
        g.flags.join("; "),
      ].map(String),
    );
  }
  fs.writeFileSync(path.join(dir, "grades.csv"), rows.map((r) => r.map(csv).join(",")).join("\n") + "\n");
  fs.writeFileSync(path.join(dir, "grades.json"), JSON.stringify(grades, null, 2) + "\n");
}

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {Record<string, string | boolean>} */
  const o = {};
  const rest = [];
  const valued = new Set([
    "--out",
    "--assignment",
    "--grading",
    "--masters",
    "--jobs",
    "--cell-timeout",
    "--timeout",
    "--memory",
    "--gradescope",
  ]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (valued.has(a)) {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      o[a] = argv[++i];
    } else if (a === "--no-sandbox" || a === "--no-feedback") o[a] = true;
    else if (a.startsWith("--"))
      throw new Error(`unknown option ${a}; options: ${[...valued, "--no-sandbox", "--no-feedback"].join(", ")}`);
    else rest.push(a);
  }
  if (rest.length !== 1) throw new Error("usage: npm run grade -- <submissions folder> [--assignment NAME] [--out DIR] [--jobs N] …");
  const num = (/** @type {string} */ k, integer = false) => {
    if (o[k] === undefined) return undefined;
    const n = Number(o[k]);
    if (!(n > 0) || (integer && !Number.isInteger(n)))
      throw new Error(`${k} must be a positive ${integer ? "whole " : ""}number, got ${o[k]}`);
    return n;
  };

  const base = process.env.INIT_CWD ?? process.cwd();
  const at = (/** @type {unknown} */ p) => (typeof p === "string" ? path.resolve(base, p) : undefined);
  return {
    submissions: path.resolve(base, rest[0]),
    out: at(o["--out"]) ?? path.resolve(base, "grades", typeof o["--assignment"] === "string" ? o["--assignment"] : path.basename(rest[0])),
    assignment: typeof o["--assignment"] === "string" ? o["--assignment"] : undefined,
    grading: at(o["--grading"]),
    masters: at(o["--masters"]),
    gradescope: at(o["--gradescope"]),
    jobs: num("--jobs", true),
    cellTimeout: num("--cell-timeout"),
    timeout: num("--timeout"),
    memoryMb: num("--memory"),
    sandbox: !o["--no-sandbox"],
    feedback: !o["--no-feedback"],
  };
}

if (require.main === module) {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`grade: ${/** @type {Error} */ (e).message}`);
    process.exit(2);
  }
  (args.gradescope ? gradescope(args, args.gradescope) : gradeAll(args)).then(
    () => process.exit(0),
    (e) => {
      console.error(`grade: ${e.message}`);
      process.exit(1);
    },
  );
}

/**
 * Gradescope: grades the one notebook in the submission folder and writes its results.json
 * where Gradescope reads it; a folder without a notebook gets a result that says so.
 * @param {Parameters<typeof gradeAll>[0]} args @param {string} resultsFile
 */
async function gradescope(args, resultsFile) {
  const root = path.resolve(args.submissions);
  const all = fs.existsSync(root) ? listNotebooks(root) : [];
  const named = all.filter((f) => args.assignment && path.basename(f) === `${args.assignment}.ipynb`);
  const pick = named.length ? named : all;
  fs.mkdirSync(path.dirname(resultsFile), { recursive: true });
  if (pick.length !== 1) {
    const why =
      pick.length === 0
        ? "no .ipynb notebook was submitted"
        : `${pick.length} notebooks were submitted (${pick.map((f) => path.basename(f)).join(", ")}); submit one`;
    fs.writeFileSync(resultsFile, JSON.stringify({ score: 0, output: `Not graded: ${why}.`, tests: [] }, null, 2) + "\n");
    console.log(`grade: ${why}`);
    return;
  }
  const { grades } = await gradeAll({ ...args, submissions: pick[0] });
  fs.copyFileSync(/** @type {string} */ (grades[0].results), resultsFile);
}

module.exports = { gradeAll, gradingFromMaster, sandboxSupport, flagsOf, parseArgs, runLimited, killInside, DEFAULTS };
