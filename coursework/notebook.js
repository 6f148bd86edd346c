// @ts-check
"use strict";
/**
 * The master notebook format, and the versions made from it.
 *
 * A master is a notebook whose cells carry nbgrader's metadata (`cell.metadata.nbgrader`:
 * grade_id, points, locked, solution, grade; schema 3), so a course that runs nbgrader
 * can take it as it is. Kinds of cell:
 *
 *   solution   solution: true, grade: false   code the student writes, between lines
 *                                             `// BEGIN SOLUTION` and `// END SOLUTION`
 *   test       grade: true, solution: false   autograded: scores its points iff it runs
 *                                             without error; hidden tests between
 *                                             `// BEGIN HIDDEN TESTS` … `// END HIDDEN TESTS`
 *   written    grade: true, solution: true    a markdown answer graded by hand; the model
 *                                             answer between `<!-- BEGIN SOLUTION -->` and
 *                                             `<!-- END SOLUTION -->`
 *   locked     locked: true, the rest false   setup and demonstration cells
 *
 * From a master come three versions (`npm run assign`):
 *   release    what students get: solution regions replaced by a stub that throws "not
 *              implemented yet" (code) or "YOUR ANSWER HERE" (markdown), hidden tests
 *              removed, outputs cleared, locked cells marked read-only for Jupyter;
 *   solution   the model answers, markers removed, hidden tests removed;
 *   grading    the release's cells with the hidden tests put back (their marker lines are
 *              comments, kept so that feedback can leave them out): what the grader runs,
 *              after taking each solution cell's source from the student (merge()).
 */
const fs = require("fs");

/** Code that replaces a code solution region in the release. */
const CODE_STUB = 'throw new Error("not implemented yet");';
/** Text that replaces a markdown solution region in the release. */
const ANSWER_STUB = "YOUR ANSWER HERE";

const BEGIN_SOLUTION = /^(\s*)(?:\/\/|#|<!--)\s*BEGIN SOLUTION\s*(?:-->)?\s*$/;
const END_SOLUTION = /^\s*(?:\/\/|#|<!--)\s*END SOLUTION\s*(?:-->)?\s*$/;
const BEGIN_HIDDEN = /^\s*(?:\/\/|#)\s*BEGIN HIDDEN TESTS\s*$/;
const END_HIDDEN = /^\s*(?:\/\/|#)\s*END HIDDEN TESTS\s*$/;

/** A master, release or submission that is not what it should be. */
class NotebookFormatError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "NotebookFormatError";
  }
}

/**
 * @typedef {{ cell_type: string, source: string | string[], metadata?: any, outputs?: any[],
 *   execution_count?: number | null, id?: string, attachments?: any }} Cell
 * @typedef {{ cells: Cell[], metadata: any, nbformat: number, nbformat_minor: number }} Notebook
 * @typedef {"solution" | "test" | "written" | "locked" | "plain"} CellKind
 */

/** @param {Cell} cell */
function sourceOf(cell) {
  return Array.isArray(cell.source) ? cell.source.join("") : String(cell.source ?? "");
}

/**
 * Source as Jupyter stores it: lines with their newlines.
 * @param {string} text
 */
function toSource(text) {
  const lines = text.split("\n");
  return lines.map((l, i) => (i < lines.length - 1 ? l + "\n" : l)).filter((l) => l !== "");
}

/** @param {Cell} cell */
function nbgraderOf(cell) {
  const m = cell.metadata?.nbgrader;
  return m && typeof m === "object" ? m : undefined;
}

/**
 * @param {Cell} cell
 * @returns {string | undefined}
 */
function gradeIdOf(cell) {
  const id = nbgraderOf(cell)?.grade_id;
  return typeof id === "string" ? id : undefined;
}

/**
 * @param {Cell} cell
 * @returns {CellKind}
 */
function kindOf(cell) {
  const m = nbgraderOf(cell);
  if (!m) return "plain";
  if (m.solution && m.grade) return "written";
  if (m.solution) return "solution";
  if (m.grade) return "test";
  if (m.locked) return "locked";
  return "plain";
}

/**
 * Reads a notebook, with an error that says what is wrong with the file.
 * @param {string} file
 * @returns {Notebook}
 */
function readNotebook(file) {
  let text;
  try {
    text = fs.readFileSync(file, "utf-8");
  } catch (e) {
    throw new NotebookFormatError(`cannot read ${file}: ${/** @type {Error} */ (e).message}`);
  }
  return parseNotebook(text, file);
}

/**
 * @param {string} text
 * @param {string} [where]
 * @returns {Notebook}
 */
function parseNotebook(text, where = "notebook") {
  let nb;
  try {
    nb = JSON.parse(text);
  } catch (e) {
    throw new NotebookFormatError(`${where} is not valid JSON (${/** @type {Error} */ (e).message}): is it a saved .ipynb?`);
  }
  if (!nb || typeof nb !== "object" || !Array.isArray(nb.cells)) {
    throw new NotebookFormatError(`${where} is JSON but not a notebook: it has no list of cells`);
  }
  if (nb.nbformat !== 4) throw new NotebookFormatError(`${where} has nbformat ${nb.nbformat}, expected 4`);
  for (const [i, c] of nb.cells.entries()) {
    if (!c || typeof c !== "object" || typeof c.cell_type !== "string") {
      throw new NotebookFormatError(`${where}: cell ${i + 1} is not a notebook cell`);
    }
  }
  return nb;
}

/**
 * Splits a cell's source at the marker lines.
 * @param {string} text
 * @param {RegExp} begin
 * @param {RegExp} end
 * @param {string} what for errors, e.g. "cell rnn-step-forward"
 * @returns {{ text: string, inside: boolean, indent: string }[]} runs of lines, in order
 */
function regions(text, begin, end, what) {
  /** @type {{ text: string, inside: boolean, indent: string }[]} */
  const runs = [];
  let inside = false;
  let indent = "";
  /** @type {string[]} */
  let run = [];
  const lines = text.split("\n");
  lines.forEach((line, k) => {
    const b = begin.exec(line);
    if (b) {
      if (inside) throw new NotebookFormatError(`${what}, line ${k + 1}: a second BEGIN before END`);
      runs.push({ text: run.join("\n"), inside: false, indent: "" });
      run = [];
      inside = true;
      indent = b[1] ?? "";
    } else if (end.test(line)) {
      if (!inside) throw new NotebookFormatError(`${what}, line ${k + 1}: END without BEGIN`);
      runs.push({ text: run.join("\n"), inside: true, indent });
      run = [];
      inside = false;
    } else run.push(line);
  });
  if (inside) throw new NotebookFormatError(`${what}: BEGIN without END`);
  runs.push({ text: run.join("\n"), inside: false, indent: "" });
  return runs;
}

/**
 * Joins runs of lines, leaving out empty outside runs at the ends.
 * @param {string[]} parts
 */
function joinLines(parts) {
  return parts.filter((p, i) => p !== "" || (i > 0 && i < parts.length - 1)).join("\n");
}

/**
 * The release's source of a cell: solution regions stubbed, hidden tests removed.
 * @param {Cell} cell
 * @param {string} what
 */
function releaseSource(cell, what) {
  let text = sourceOf(cell);
  const kind = kindOf(cell);
  if (kind === "solution" || kind === "written") {
    const markdown = cell.cell_type === "markdown";
    text = joinLines(
      regions(text, BEGIN_SOLUTION, END_SOLUTION, what).map((r) =>
        r.inside ? r.indent + (markdown ? ANSWER_STUB : `// YOUR CODE HERE\n${r.indent}${CODE_STUB}`) : r.text,
      ),
    );
  }
  return removeHidden(text, what);
}

/**
 * @param {string} text
 * @param {string} what
 */
function removeHidden(text, what) {
  return joinLines(
    regions(text, BEGIN_HIDDEN, END_HIDDEN, what)
      .filter((r) => !r.inside)
      .map((r) => r.text),
  ).replace(/\n+$/, "");
}

/**
 * Source with the solution kept and its marker lines removed.
 * @param {string} text
 * @param {string} what
 */
function withSolution(text, what) {
  return joinLines(regions(text, BEGIN_SOLUTION, END_SOLUTION, what).map((r) => r.text)).replace(/^\n+|\n+$/g, "");
}

/**
 * @param {Cell} cell
 * @param {string} text
 * @returns {Cell}
 */
function withSource(cell, text) {
  /** @type {Cell} */
  const out = { ...cell, source: toSource(text), metadata: JSON.parse(JSON.stringify(cell.metadata ?? {})) };
  if (cell.cell_type === "code") {
    out.outputs = [];
    out.execution_count = null;
  }
  return out;
}

/**
 * Checks a master: unique grade_ids, points where grades are, a solution region in every
 * solution cell, balanced markers, hidden tests only in test cells.
 * @param {Notebook} nb
 * @param {string} name
 * @returns {{ tests: { id: string, points: number }[], written: { id: string, points: number }[] }}
 */
function validateMaster(nb, name) {
  /** @type {Set<string>} */
  const ids = new Set();
  /** @type {{ id: string, points: number }[]} */
  const tests = [];
  /** @type {{ id: string, points: number }[]} */
  const written = [];
  for (const [i, cell] of nb.cells.entries()) {
    const m = nbgraderOf(cell);
    const text = sourceOf(cell);
    const where = `${name}: cell ${i + 1}${gradeIdOf(cell) ? ` (${gradeIdOf(cell)})` : ""}`;
    const hasSolution = text.split("\n").some((l) => BEGIN_SOLUTION.test(l));
    const hasHidden = text.split("\n").some((l) => BEGIN_HIDDEN.test(l));
    if (!m) {
      if (hasSolution || hasHidden) throw new NotebookFormatError(`${where} has markers but no nbgrader metadata`);
      continue;
    }
    const id = gradeIdOf(cell);
    if (!id || !/^[a-z0-9][a-z0-9-]*$/.test(id)) {
      throw new NotebookFormatError(`${where}: grade_id must be kebab-case letters and digits, got ${JSON.stringify(id)}`);
    }
    if (ids.has(id)) throw new NotebookFormatError(`${where}: grade_id ${id} is used twice`);
    ids.add(id);
    const kind = kindOf(cell);
    regions(text, BEGIN_SOLUTION, END_SOLUTION, where);
    regions(text, BEGIN_HIDDEN, END_HIDDEN, where);
    if ((kind === "solution" || kind === "written") && !hasSolution) {
      throw new NotebookFormatError(`${where} is a solution cell without a BEGIN SOLUTION … END SOLUTION region`);
    }
    if (kind !== "solution" && kind !== "written" && hasSolution) {
      throw new NotebookFormatError(`${where} has a solution region but is not a solution cell`);
    }
    if (kind !== "test" && hasHidden) throw new NotebookFormatError(`${where} has hidden tests but is not a test cell`);
    if (kind === "test" || kind === "written") {
      if (!(typeof m.points === "number" && m.points > 0)) {
        throw new NotebookFormatError(`${where}: a graded cell needs points > 0, got ${JSON.stringify(m.points)}`);
      }
      (kind === "test" ? tests : written).push({ id, points: m.points });
    }
    if (kind === "test" && cell.cell_type !== "code") throw new NotebookFormatError(`${where}: a test cell must be code`);
    if (kind === "written" && cell.cell_type !== "markdown") throw new NotebookFormatError(`${where}: a written answer must be markdown`);
  }
  if (tests.length === 0) throw new NotebookFormatError(`${name} has no autograded test cell`);
  return { tests, written };
}

/**
 * The three versions of a master.
 * @param {Notebook} master
 * @param {string} name the assignment's name (the master's file name without .ipynb)
 * @param {string} version a fingerprint of the master, stamped into every version
 * @returns {{ release: Notebook, solution: Notebook, grading: Notebook }}
 */
function versionsOf(master, name, version) {
  validateMaster(master, name);
  const metadata = { ...master.metadata, seqlab: { assignment: name, version } };
  /**
   * @param {(cell: Cell, what: string) => string} f
   * @param {boolean} lock
   */
  const make = (f, lock) => ({
    ...master,
    metadata,
    cells: master.cells.map((cell, i) => {
      const what = `${name}: cell ${i + 1}`;
      const out = withSource(cell, f(cell, what));
      const kind = kindOf(cell);
      if (lock && (kind === "test" || kind === "locked" || nbgraderOf(cell)?.locked)) {
        out.metadata = { ...out.metadata, editable: false, deletable: false };
      }
      return out;
    }),
  });
  return {
    release: make(releaseSource, true),
    solution: make((cell, what) => removeHidden(withSolution(sourceOf(cell), what), what), false),
    grading: make((cell, what) => {
      const kind = kindOf(cell);
      if (kind === "test") return sourceOf(cell);
      return releaseSource(cell, what);
    }, true),
  };
}

/**
 * The notebook the grader runs for a submission: the grading version's cells, in its
 * order, with each solution cell's source taken from the submission's cell of the same
 * grade_id. Test and locked cells always come from the grading version, so a student who
 * edits or deletes them changes nothing. The student's own extra cells (no grade_id the
 * grading version knows, a cell id and a text the release does not have) are kept after
 * the solution or graded cell they followed, so helper code still runs; code cells among
 * them are counted.
 * @param {Notebook} grading
 * @param {Notebook} submission
 * @returns {{ notebook: Notebook, missing: string[], extraCells: number }}
 */
function merge(grading, submission) {
  /** @type {Map<string, Cell>} */
  const byId = new Map();
  for (const cell of grading.cells) {
    const id = gradeIdOf(cell);
    if (id) byId.set(id, cell);
  }
  // The release's own ungraded cells (instructions, figures) come back from the grading
  // version; a student's cell is theirs if neither its cell id nor its text is the release's.
  const releaseIds = new Set(grading.cells.map((c) => c.id).filter(Boolean));
  const releaseTexts = new Set(grading.cells.map((c) => sourceOf(c).trim()));
  /** Student cells by the grading cell they follow ("" = the start). @type {Map<string, Cell[]>} */
  const extras = new Map();
  /** @type {Map<string, Cell>} */
  const answers = new Map();
  let anchor = "";
  let extraCells = 0;
  for (const cell of submission.cells) {
    const id = gradeIdOf(cell);
    const known = id !== undefined ? byId.get(id) : undefined;
    if (id && known) {
      const kind = kindOf(known);
      if ((kind === "solution" || kind === "written") && !answers.has(id) && cell.cell_type === known.cell_type) answers.set(id, cell);
      anchor = id;
      continue;
    }
    if (sourceOf(cell).trim() === "" || (cell.id && releaseIds.has(cell.id)) || releaseTexts.has(sourceOf(cell).trim())) continue;
    extraCells += cell.cell_type === "code" ? 1 : 0;
    const list = extras.get(anchor) ?? [];
    list.push({ ...cell, metadata: {}, outputs: cell.cell_type === "code" ? [] : undefined });
    extras.set(anchor, list);
  }
  /** @type {Cell[]} */
  const cells = [...(extras.get("") ?? [])];
  const missing = [];
  for (const cell of grading.cells) {
    const id = gradeIdOf(cell);
    const kind = kindOf(cell);
    if (id && (kind === "solution" || kind === "written")) {
      const answer = answers.get(id);
      if (!answer) missing.push(id);
      cells.push(answer ? withSource(cell, sourceOf(answer)) : withSource(cell, sourceOf(cell)));
    } else cells.push(withSource(cell, sourceOf(cell)));
    if (id) cells.push(...(extras.get(id) ?? []));
  }
  for (const c of cells) {
    if (c.cell_type !== "code") delete c.outputs;
    if (c.cell_type === "markdown") delete c.execution_count;
  }
  return { notebook: { ...grading, cells }, missing, extraCells };
}

module.exports = {
  CODE_STUB,
  ANSWER_STUB,
  NotebookFormatError,
  sourceOf,
  toSource,
  gradeIdOf,
  nbgraderOf,
  kindOf,
  readNotebook,
  parseNotebook,
  validateMaster,
  versionsOf,
  merge,
  removeHidden,
  withSolution,
};
