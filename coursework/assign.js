#!/usr/bin/env node
// @ts-check
"use strict";
/**
 * `npm run assign -- [assignment …] [--out DIR] [--masters DIR] [--no-prove]`: from each master in
 * coursework/assignments, writes under DIR (default out/coursework):
 *
 *   <name>/release/<name>.ipynb     what students get (notebook.js: versionsOf)
 *   <name>/solution/<name>.ipynb    the model answers, without the hidden tests
 *   <name>/grading.ipynb            what the grader runs (keep it from students)
 *   <name>/gradescope/              a Gradescope autograder: setup.sh, run_autograder,
 *                                   the grading notebook and seqlab packed, and
 *   <name>/gradescope.zip           the same, zipped for upload
 *
 * and proves each master: the grader (grade.js) grades the solution notebook, which must
 * score full marks, and the release, which must score zero on every autograded question.
 */
const fs = require("fs");
const os = require("os");
const path = require("path");
const { createHash } = require("crypto");
const { spawnSync } = require("child_process");
const { packageRoot } = require("../kernel/resolve");
const { findJupyter } = require("../kernel/jupyter");
const nbf = require("./notebook");
const { gradeAll } = require("./grade");

const MASTERS = path.join(packageRoot, "coursework", "assignments");

/**
 * @param {{ names?: string[], masters?: string, out?: string, prove?: boolean, gradescope?: boolean, log?: (s: string) => void }} [opts]
 * @returns {Promise<{ name: string, dir: string, release: string, solution: string, grading: string,
 *   points: number, written: number, proof?: { solution: number, release: number, max: number }, zip?: string }[]>}
 */
async function assign(opts = {}) {
  const log = opts.log ?? ((s) => console.log(s));
  const masters = path.resolve(opts.masters ?? MASTERS);
  const available = fs
    .readdirSync(masters)
    .filter((f) => f.endsWith(".ipynb"))
    .sort()
    .map((f) => f.slice(0, -6));
  const names = opts.names?.length ? opts.names : available;
  for (const n of names) {
    if (!available.includes(n)) throw new Error(`no master named ${JSON.stringify(n)} in ${masters}; there are: ${available.join(", ")}`);
  }
  const outRoot = path.resolve(opts.out ?? path.join(packageRoot, "out", "coursework"));
  /** @type {Awaited<ReturnType<typeof assign>>} */
  const results = [];
  for (const name of names) {
    const file = path.join(masters, `${name}.ipynb`);
    const text = fs.readFileSync(file, "utf-8");
    const master = nbf.parseNotebook(text, file);
    const { tests, written } = nbf.validateMaster(master, name);
    const version = createHash("sha256").update(text).digest("hex").slice(0, 12);
    const v = nbf.versionsOf(master, name, version);
    const dir = path.join(outRoot, name);
    fs.rmSync(dir, { recursive: true, force: true });
    const write = (/** @type {string} */ rel, /** @type {unknown} */ nb) => {
      const p = path.join(dir, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, JSON.stringify(nb, null, 1) + "\n");
      return p;
    };
    const release = write(path.join("release", `${name}.ipynb`), v.release);
    const solution = write(path.join("solution", `${name}.ipynb`), v.solution);
    const grading = write("grading.ipynb", v.grading);
    const points = tests.reduce((s, t) => s + t.points, 0);
    /** @type {Awaited<ReturnType<typeof assign>>[number]} */
    const r = { name, dir, release, solution, grading, points, written: written.reduce((s, w) => s + w.points, 0) };
    log(
      `${name}: ${tests.length} autograded questions (${points} points), ${written.length} written (${r.written} points) → ${path.relative(process.cwd(), dir)}`,
    );
    if (opts.gradescope !== false) r.zip = gradescopeBundle(dir, name, grading);
    if (opts.prove !== false) {
      r.proof = await prove(name, solution, release, grading, log);
      if (r.proof.solution !== r.proof.max || r.proof.release !== 0) {
        throw new Error(
          `${name}: the master does not prove: the solution scores ${r.proof.solution}/${r.proof.max} (must be full marks) ` +
            `and the release ${r.proof.release} (must be 0); see ${path.join(dir, "proof")}`,
        );
      }
    }
    results.push(r);
  }
  return results;
}

/**
 * Grades the solution and the release with the grader itself.
 * @param {string} name @param {string} solution @param {string} release @param {string} grading @param {(s: string) => void} log
 */
async function prove(name, solution, release, grading, log) {
  const subs = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-prove-"));
  try {
    for (const [who, file] of [
      ["solution", solution],
      ["release", release],
    ]) {
      fs.mkdirSync(path.join(subs, who));
      fs.copyFileSync(file, path.join(subs, who, `${name}.ipynb`));
    }
    const out = path.join(path.dirname(grading), "proof");
    const { grades } = await gradeAll({ submissions: subs, grading, out, log: () => {} });
    const by = (/** @type {string} */ who) => /** @type {import("./grade").Grade} */ (grades.find((g) => g.student === who));
    const proof = { solution: by("solution").score, release: by("release").score, max: by("solution").maxScore };
    log(`${name}: proved: the solution scores ${proof.solution}/${proof.max}, the release ${proof.release}/${proof.max}`);
    for (const t of by("solution").tests.filter((t) => !t.passed)) log(`  solution fails ${t.id}: ${t.output}`);
    for (const t of by("release").tests.filter((t) => t.passed)) log(`  release passes ${t.id}`);
    return proof;
  } finally {
    fs.rmSync(subs, { recursive: true, force: true });
  }
}

/**
 * Gradescope's autograder format: setup.sh and run_autograder at the top of a zip.
 * @param {string} dir @param {string} name @param {string} grading
 */
function gradescopeBundle(dir, name, grading) {
  const bundle = path.join(dir, "gradescope");
  fs.mkdirSync(bundle, { recursive: true });
  fs.copyFileSync(grading, path.join(bundle, "grading.ipynb"));
  for (const f of ["setup.sh", "run_autograder"]) {
    const text = fs.readFileSync(path.join(__dirname, "gradescope", f), "utf-8").replaceAll("@ASSIGNMENT@", name);
    fs.writeFileSync(path.join(bundle, f), text, { mode: 0o755 });
  }
  const pack = spawnSync("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", bundle, packageRoot], {
    encoding: "utf-8",
    cwd: bundle,
  });
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  const tarball = pack.stdout.trim().split("\n").pop() ?? "";
  fs.renameSync(path.join(bundle, tarball), path.join(bundle, "seqlab.tgz"));
  const zip = path.join(dir, "gradescope.zip");
  const jupyter = findJupyter({ need: ["jupyter_client"] });
  const python = jupyter?.python ?? "python3";
  const z = spawnSync(
    python,
    [
      "-c",
      "import sys, os, zipfile\n" +
        "src, dst = sys.argv[1], sys.argv[2]\n" +
        "with zipfile.ZipFile(dst, 'w', zipfile.ZIP_DEFLATED) as z:\n" +
        "    for f in sorted(os.listdir(src)):\n" +
        "        info = zipfile.ZipInfo(f)\n" +
        "        info.external_attr = (0o755 if f in ('setup.sh', 'run_autograder') else 0o644) << 16\n" +
        "        info.compress_type = zipfile.ZIP_DEFLATED\n" +
        "        z.writestr(info, open(os.path.join(src, f), 'rb').read())\n",
      bundle,
      zip,
    ],
    { encoding: "utf-8" },
  );
  if (z.status !== 0) throw new Error(`writing ${zip} failed:\n${z.stderr}`);
  return zip;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const take = (/** @type {string} */ flag) => {
    const at = args.indexOf(flag);
    return at >= 0 ? args.splice(at, 2)[1] : undefined;
  };
  const out = take("--out");
  const mastersDir = take("--masters");
  const noProve = args.includes("--no-prove");
  const names = args.filter((a) => !a.startsWith("--"));
  const base = process.env.INIT_CWD ?? process.cwd();
  assign({
    names,
    out: out ? path.resolve(base, out) : undefined,
    masters: mastersDir ? path.resolve(base, mastersDir) : undefined,
    prove: !noProve,
  }).then(
    (r) => {
      console.log(`assigned ${r.length} assignment${r.length === 1 ? "" : "s"}`);
      process.exit(0);
    },
    (e) => {
      console.error(`assign: ${e.message}`);
      process.exit(1);
    },
  );
}

module.exports = { assign, gradescopeBundle };
