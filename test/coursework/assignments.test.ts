/**
 * Every assignment in coursework/assignments, graded through the real seqlab kernel:
 * - `npm run assign` writes its versions, and its proof holds: the solution scores full
 *   marks, the untouched release zero on every autograded question;
 * - each planted bug (test/fixtures/coursework/<assignment>.bugs.json: a mistake students
 *   make, put into the solution) loses exactly the questions it names, and the failing
 *   public check's message points at the mistake;
 * - thirty submissions of the first assignment are graded on both cores (the wall time is
 *   printed: it goes into the notes, not into an assertion).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as nbf from "../../coursework/notebook";
import { gradeAll, type Grade } from "../../coursework/grade";
import { assign } from "../../coursework/assign";
import { packageRoot } from "../../kernel/resolve";

const ASSIGNMENTS = path.join(packageRoot, "coursework", "assignments");
const BUGS = path.join(__dirname, "..", "fixtures", "coursework");

interface Bug {
  name: string;
  cell: string;
  find: string;
  replace: string;
  loses: string[];
  message: string;
}

type Nb = ReturnType<typeof nbf.readNotebook>;

/** The solution with one bug planted in one cell. */
export function plant(solution: Nb, bug: Bug): Nb {
  const nb: Nb = JSON.parse(JSON.stringify(solution));
  const cell = nb.cells.find((c) => nbf.gradeIdOf(c) === bug.cell);
  assert.ok(cell, `bug ${bug.name}: no cell ${bug.cell}`);
  const text = nbf.sourceOf(cell);
  assert.equal(text.split(bug.find).length, 2, `bug ${bug.name}: the text to replace must occur once in ${bug.cell}`);
  cell.source = nbf.toSource(text.replace(bug.find, () => bug.replace));
  return nb;
}

const names = fs
  .readdirSync(ASSIGNMENTS)
  .filter((f) => f.endsWith(".ipynb"))
  .sort()
  .map((f) => f.slice(0, -6));

describe("coursework: the assignments, graded through the kernel", function () {
  this.timeout(1_800_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-assignments-test-"));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("has the four assignments, each with planted bugs", () => {
    assert.equal(names.length, 4, names.join(", "));
    for (const name of names) assert.ok(fs.existsSync(path.join(BUGS, `${name}.bugs.json`)), `${name}.bugs.json`);
  });

  for (const name of names) {
    describe(name, () => {
      const bugs: Bug[] = fs.existsSync(path.join(BUGS, `${name}.bugs.json`))
        ? JSON.parse(fs.readFileSync(path.join(BUGS, `${name}.bugs.json`), "utf-8")).bugs
        : [];
      let grades: Map<string, Grade>;
      let full: Record<string, number>;

      before(async () => {
        const [a] = await assign({ names: [name], out: path.join(tmp, "assigned"), prove: false, gradescope: false, log: () => {} });
        const solution = nbf.readNotebook(a.solution);
        full = Object.fromEntries(
          solution.cells
            .filter((c) => nbf.kindOf(c) === "test")
            .map((c) => [nbf.gradeIdOf(c) as string, nbf.nbgraderOf(c).points as number]),
        );
        const subs = path.join(tmp, "submissions", name);
        const put = (who: string, nb: unknown) => {
          fs.mkdirSync(path.join(subs, who), { recursive: true });
          fs.writeFileSync(path.join(subs, who, `${name}.ipynb`), JSON.stringify(nb));
        };
        put("solution", solution);
        put("release", nbf.readNotebook(a.release));
        for (const bug of bugs) put(`bug-${bug.name}`, plant(solution, bug));
        const r = await gradeAll({ submissions: subs, out: path.join(tmp, "grades", name), log: () => {} });
        grades = new Map(r.grades.map((g) => [g.student, g]));
      });

      const scores = (who: string) => Object.fromEntries((grades.get(who)?.tests ?? []).map((t) => [t.id, t.score]));

      it("the solution scores full marks", () => {
        assert.deepEqual(
          scores("solution"),
          full,
          grades
            .get("solution")
            ?.tests.filter((t) => !t.passed)
            .map((t) => `${t.id}: ${t.output}`)
            .join("\n"),
        );
      });

      it("the untouched release scores zero on every autograded question, each saying it is not implemented", () => {
        const release = grades.get("release");
        assert.equal(
          release?.score,
          0,
          release?.tests
            .filter((t) => t.passed)
            .map((t) => t.id)
            .join(", "),
        );
        for (const t of release?.tests ?? []) assert.match(t.output, /not implemented yet/, `${t.id} (${release?.status}): ${t.output}`);
      });

      for (const bug of bugs) {
        it(`a planted bug, ${bug.name}, loses exactly ${bug.loses.join(", ")} and its message points at the mistake`, () => {
          const g = grades.get(`bug-${bug.name}`);
          const expected = Object.fromEntries(Object.entries(full).map(([id, points]) => [id, bug.loses.includes(id) ? 0 : points]));
          assert.deepEqual(scores(`bug-${bug.name}`), expected, g?.tests.map((t) => `${t.id}: ${t.output.slice(0, 300)}`).join("\n"));
          const lost = g?.tests.find((t) => t.id === bug.loses[0]);
          assert.match(lost?.output ?? "", new RegExp(bug.message));
        });
      }
    });
  }

  describe("a class of thirty", () => {
    it("grades thirty submissions of the first assignment on both cores", async () => {
      const name = names[0];
      const [a] = await assign({ names: [name], out: path.join(tmp, "assigned-30"), prove: false, gradescope: false, log: () => {} });
      const solution = nbf.readNotebook(a.solution);
      const release = nbf.readNotebook(a.release);
      const bugs: Bug[] = JSON.parse(fs.readFileSync(path.join(BUGS, `${name}.bugs.json`), "utf-8")).bugs;
      const subs = path.join(tmp, "class");
      const expected = new Map<string, number>();
      const total = solution.cells.filter((c) => nbf.kindOf(c) === "test").reduce((s, c) => s + (nbf.nbgraderOf(c).points as number), 0);
      const pointsOf = (id: string) => nbf.nbgraderOf(solution.cells.find((c) => nbf.gradeIdOf(c) === id) as nbf.Cell).points as number;
      for (let k = 0; k < 30; k++) {
        const who = `student-${String(k + 1).padStart(2, "0")}`;
        const bug = k % 3 === 1 ? bugs[k % bugs.length] : undefined;
        const nb = k % 10 === 9 ? release : bug ? plant(solution, bug) : solution;
        expected.set(who, k % 10 === 9 ? 0 : bug ? total - bug.loses.reduce((s, id) => s + pointsOf(id), 0) : total);
        fs.mkdirSync(path.join(subs, who), { recursive: true });
        fs.writeFileSync(path.join(subs, who, `${name}.ipynb`), JSON.stringify(nb));
      }
      const t0 = Date.now();
      const r = await gradeAll({ submissions: subs, out: path.join(tmp, "class-grades"), jobs: 2, log: () => {} });
      const seconds = (Date.now() - t0) / 1000;
      console.log(`      thirty submissions of ${name} graded in ${seconds.toFixed(0)} s on ${os.cpus().length} cores (2 workers)`);
      assert.equal(r.grades.length, 30);
      for (const g of r.grades) assert.equal(g.score, expected.get(g.student), `${g.student}: ${g.status}`);
      const csv = fs
        .readFileSync(path.join(tmp, "class-grades", "grades.csv"), "utf-8")
        .trim()
        .split("\n");
      assert.equal(csv.length, 31);
    });
  });
});
