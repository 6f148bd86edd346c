/**
 * 08 · Teacher forcing: the hand-written network agrees with TeacherForcingRnn; trained on
 * the truth it falls apart when fed its own outputs (a large train/test gap, below the
 * memoryless quantiser); scheduled sampling narrows the gap; the prose quotes the printed numbers.
 */
import { strict as assert } from "assert";
import { numberIn, type Executed } from "./helpers";

type Fig = Executed["figures"][number];
const titleOf = (f: Fig) => String((f.layout.title as { text?: string } | undefined)?.text ?? "");

function figure(nb: Executed, part: string): Fig {
  const fig = nb.figures.find((f) => titleOf(f).includes(part));
  assert.ok(fig, `no figure titled "…${part}…"; titles: ${nb.figures.map(titleOf).join(" | ")}`);
  return fig;
}

/** The y values of the trace named `name` (the `index`-th of that name). */
function trace(fig: Fig, name: string, index = 0): number[] {
  const t = fig.data.filter((d) => d.name === name)[index];
  assert.ok(t, `figure "${titleOf(fig)}" has no trace "${name}"`);
  return t.y as number[];
}

export default function check(nb: Executed): void {
  assert.equal(nb.stderr.trim(), "", `stderr:\n${nb.stderr}`);

  // The network by hand = TeacherForcingRnn, both ways of running it.
  for (const mode of ["teacher forcing", "free running"]) {
    const diff = numberIn(
      nb.stdout,
      new RegExp(`${mode} *: largest \\|o\\(t\\) by hand − o\\(t\\) from TeacherForcingRnn.run\\| = ([\\d.e+-]+)`),
    );
    assert.ok(diff < 1e-4, `${mode}: by hand and TeacherForcingRnn differ by ${diff}`);
  }

  const quantiser = numberIn(nb.stdout, /quantising x\(t\) alone \(no memory\): accuracy ([\d.]+)%/);
  const run = (name: string) => {
    const m = new RegExp(
      `^${name}: +test accuracy fed the truth ([\\d.]+)%, fed its own outputs ([\\d.]+)%: gap ([\\d.-]+) points$`,
      "m",
    ).exec(nb.stdout);
    assert.ok(m, `no result line for ${name} in:\n${nb.stdout}`);
    return { truth: Number(m[1]), own: Number(m[2]), gap: Number(m[3]) };
  };
  const forced = run("teacher forcing"),
    sampled = run("scheduled sampling");

  // The lesson: a large gap under teacher forcing, free running worse than no memory at all;
  // scheduled sampling: a much smaller gap, free running well above the teacher-forced network
  // and above the quantiser, at some cost when fed the truth.
  assert.ok(forced.gap >= 20, `teacher-forcing gap only ${forced.gap} points`);
  assert.ok(forced.own < quantiser, `teacher forcing, running free (${forced.own}%) is not below the quantiser (${quantiser}%)`);
  assert.ok(sampled.gap < forced.gap / 3, `scheduled sampling gap ${sampled.gap} vs teacher forcing ${forced.gap}`);
  assert.ok(sampled.own >= forced.own + 15, `scheduled sampling running free ${sampled.own}% vs ${forced.own}%`);
  assert.ok(sampled.own > quantiser, `scheduled sampling running free ${sampled.own}% is not above the quantiser ${quantiser}%`);
  assert.ok(
    sampled.truth < forced.truth,
    `fed the truth, scheduled sampling ${sampled.truth}% is not below teacher forcing ${forced.truth}%`,
  );

  // The schedule was applied: ε fell from 1 to 0.
  const eps = /ε at the start of each epoch: ([\d. ]+)/.exec(nb.stdout);
  assert.ok(eps, "no schedule printed");
  const values = eps[1].trim().split(/\s+/).map(Number);
  assert.equal(values[0], 1);
  assert.equal(values[values.length - 1], 0);

  // The prose quotes what was printed.
  const same = (prose: RegExp, value: number, what: string) => assert.equal(numberIn(nb.prose, prose, what), value, `prose: ${what}`);
  same(/network gets ([\d.]+)% of the test/, forced.truth, "teacher forcing fed the truth");
  same(/it gets\s+([\d.]+)% — below even/, forced.own, "teacher forcing fed its own outputs");
  same(/memoryless quantiser \(([\d.]+)%\)/, quantiser, "the quantiser");
  same(/narrows it\*\*, from ([\d.]+) to/, forced.gap, "teacher-forcing gap");
  same(/narrows it\*\*, from [\d.]+ to ([\d.]+) points/, sampled.gap, "scheduled-sampling gap");
  same(/\(([\d.]+)% instead of [\d.]+%: it makes less use/, sampled.truth, "scheduled sampling fed the truth");
  same(/\([\d.]+% instead of ([\d.]+)%: it makes less use/, forced.truth, "teacher forcing fed the truth (again)");
  same(/outputs it goes far \*up\* \(([\d.]+)% instead of/, sampled.own, "scheduled sampling fed its own outputs");
  same(/outputs it goes far \*up\* \([\d.]+% instead of ([\d.]+)%\)/, forced.own, "teacher forcing fed its own outputs (again)");

  // Figures: the live curves (the teacher-forced test loss rises while the training loss falls), the gap per epoch, an example.
  const live = figure(nb, "teacher forcing: train (fed the truth) vs test");
  const trainLoss = trace(live, "train"),
    testLoss = trace(live, "validation");
  assert.ok(trainLoss[trainLoss.length - 1] < trainLoss[0], "teacher forcing: the training loss did not fall");
  assert.ok(testLoss[testLoss.length - 1] > testLoss[0], "teacher forcing: the free-running test loss did not rise");
  figure(nb, "scheduled sampling: train");
  const gap = figure(nb, "The train/test gap");
  assert.equal(gap.data.length, 5);
  const last = (ys: number[]) => ys[ys.length - 1];
  assert.ok(
    Math.abs(last(trace(gap, "teacher forcing: fed its own outputs")) - forced.own) < 0.06,
    "gap figure vs printed (teacher forcing)",
  );
  assert.ok(
    Math.abs(last(trace(gap, "scheduled sampling: fed its own outputs")) - sampled.own) < 0.06,
    "gap figure vs printed (scheduled sampling)",
  );
  assert.equal(figure(nb, "One test sequence").data.length, 4);
  assert.match(nb.prose, /## Exercises/);
}
