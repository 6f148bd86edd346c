/**
 * 03 · Back-propagation through time, by hand: the hand-written BPTT agrees with float64
 * finite differences and with rnnBptt (one relative error per parameter), the slide's
 * other reading of the recursion is caught by the same check, and gradient descent on the
 * hand gradients takes the loss well below uniform guessing.
 */
import { strict as assert } from "assert";
import { numberIn, type Executed } from "./helpers";

interface CheckLine {
  name: string;
  numeric: number;
  library?: number;
}

/** The gradient-check lines ("∇U L, 40 entries:   vs finite differences 2.6e-8   vs rnnBptt 4.8e-8"). */
function checkLines(stdout: string): CheckLine[] {
  const re = /^∇(\w) L, +\d+ entries: +vs finite differences (\S+)(?: +vs rnnBptt (\S+))?$/gm;
  return [...stdout.matchAll(re)].map((m) => ({
    name: m[1],
    numeric: Number(m[2]),
    library: m[3] === undefined ? undefined : Number(m[3]),
  }));
}

export default function check(nb: Executed): void {
  const out = nb.stdout;
  const lines = checkLines(out);
  assert.equal(lines.length, 10, `expected two gradient checks of 5 parameters each, got:\n${out}`);
  const right = lines.slice(0, 5);
  const wrong = lines.slice(5);
  assert.deepEqual(
    right.map((l) => l.name),
    ["U", "W", "b", "V", "c"],
  );
  assert.deepEqual(
    wrong.map((l) => l.name),
    ["U", "W", "b", "V", "c"],
  );

  // The hand BPTT is right: float32 against float64 finite differences and against rnnBptt.
  for (const l of right) {
    assert.ok(l.numeric < 1e-6, `∇${l.name} L vs finite differences: ${l.numeric}`);
    assert.ok(l.library !== undefined && l.library < 1e-6, `∇${l.name} L vs rnnBptt: ${l.library}`);
  }
  // The slide read left to right: U, W, b wrong by orders of magnitude; V, c untouched.
  for (const l of wrong) {
    if ("UWb".includes(l.name)) assert.ok(l.numeric > 1e-3, `wrong order, ∇${l.name} L: only ${l.numeric}`);
    else assert.ok(l.numeric < 1e-6, `wrong order, ∇${l.name} L should be unaffected: ${l.numeric}`);
  }
  const worstWrong = Math.max(...wrong.filter((l) => "UWb".includes(l.name)).map((l) => l.numeric));
  const bestWrong = Math.min(...wrong.filter((l) => "UWb".includes(l.name)).map((l) => l.numeric));
  assert.ok(bestWrong >= 1e-2 && worstWrong < 1, `prose: wrong-order errors "between 1e-2 and 1e-1": ${bestWrong}…${worstWrong}`);

  // The detailed table is shown.
  assert.match(out, /hand~auto +hand~num +auto~num +f64hand~num/);

  // Training on the hand gradients: the loss falls from about log 3 to well below it.
  const first = numberIn(out, /loss per frame: ([\d.]+) \(first 10 steps\)/);
  const last = numberIn(out, /→ ([\d.]+) \(last 50 steps\)/);
  const logK = numberIn(out, /log K = log 3 = ([\d.]+)/);
  assert.ok(Math.abs(logK - Math.log(3)) < 1e-3);
  assert.ok(first > 0.9 * logK, `the first steps should be near uniform guessing: ${first}`);
  assert.ok(last < 0.4 * logK, `loss per frame fell only to ${last} (log 3 = ${logK})`);
  const accuracy = numberIn(out, /frame accuracy on 64 new sequences: ([\d.]+)%/);
  assert.ok(accuracy >= 80, `frame accuracy ${accuracy}%`);

  // Every number the prose quotes is the one printed.
  assert.equal(numberIn(nb.prose, /loss per frame fell from ([\d.]+)/), first);
  assert.equal(numberIn(nb.prose, /to ([\d.]+), and [\d.]+% of the frames/), last);
  assert.equal(numberIn(nb.prose, /, and ([\d.]+)% of the frames/), accuracy);
  assert.equal(numberIn(nb.prose, /gives \$\\log 3 = ([\d.]+)\$/), logK);

  // Figures: the input, the live loss at its last step, the test sequence; all titled.
  assert.equal(nb.figures.length, 3, `figures: ${nb.figures.length}`);
  const title = (f: Executed["figures"][number]) => JSON.stringify(f.layout.title ?? "");
  assert.match(title(nb.figures[1]), /loss per frame — step (\d+) of \1"/, "the live figure should show the last step");
  for (const f of nb.figures) {
    assert.ok(title(f).length > 4, "a figure without a title");
    assert.ok(JSON.stringify(f.layout.xaxis ?? {}).includes("title"), `figure ${title(f)} has no x-axis title`);
  }
}
