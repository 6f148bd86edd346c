/**
 * 05-lstm: the hand-written step equals seqlab's; an LSTM whose forget gates start open
 * (β_φ = 3) remembers which tone opened a 40-step sequence and one with β_φ ≈ 0 does not;
 * the peephole comparison on the timing task is reported as it came out; the hand backward
 * step agrees with autodiff; every number the prose quotes is the one the code printed.
 */
import { strict as assert } from "assert";
import { numberIn, quotedAsPrinted, type Executed } from "./helpers";

export default function check(nb: Executed): void {
  const out = nb.stdout;
  const prose = nb.prose.replace(/\s+/g, " "); // line breaks in the markdown are spaces
  const quoted = (re: RegExp, printed: RegExp, what: string) => quotedAsPrinted(nb, re, printed, what);

  // The step by hand is seqlab's step.
  assert.ok(numberIn(out, /max \|by hand − lstmStep\| over [^:]+: (\S+)/) < 1e-5, "lstmStepByHand differs from lstmStep");

  // The forget gate's bias: kept fractions, and the two trained LSTMs.
  quoted(/\(\$\\sigma\(3\) = ([\d.]+)\$\)/, /b_φ ≈ σ\(3\) = ([\d.]+)/, "σ(3)");
  const closed = quoted(/stays at chance \(([\d.]+)% of 512/, /LSTM, β_φ ≈ 0: test accuracy ([\d.]+)%/, "accuracy with β_φ ≈ 0");
  const open = quoted(/batches, gets ([\d.]+)% right/, /LSTM, β_φ = 3: test accuracy ([\d.]+)%/, "accuracy with β_φ = 3");
  assert.ok(closed < 40, `the β_φ ≈ 0 LSTM was meant to stay near chance (25%), got ${closed}%`);
  assert.ok(open >= 90, `the β_φ = 3 LSTM was meant to learn the task, got ${open}%`);
  assert.equal(numberIn(prose, /a solution that works \(([\d.]+)% on the test set\)/), open);

  // Inside the trained LSTM: the forget gates stay open; the input gates do not shut.
  const forgetAfter = quoted(
    /on average ([\d.]+) after the burst/,
    /mean forget gate b_φ: during the burst [\d.]+, after it ([\d.]+)/,
    "b_φ after",
  );
  assert.ok(forgetAfter >= 0.85, `the prose says the forget gates stay open; mean b_φ after the burst is ${forgetAfter}`);
  const inDuring = quoted(/\(([\d.]+) during it, [\d.]+ after\)/, /mean input gate b_ι: +during the burst ([\d.]+)/, "b_ι during");
  const inAfter = quoted(
    /\([\d.]+ during it, ([\d.]+) after\)/,
    /mean input gate b_ι: +during the burst [\d.]+, after it ([\d.]+)/,
    "b_ι after",
  );
  assert.ok(inAfter > 0.3 && inAfter > inDuring - 0.15, `the prose says the input gates do not shut (${inDuring} → ${inAfter})`);

  // Peepholes on the timing task, seed by seed.
  const run = (name: string) => {
    const m = new RegExp(`^${name} +exactly on time: +([\\d.]+)% +mean \\|timing error\\| ([\\d.]+) steps`, "m").exec(out);
    assert.ok(m, `no timing result for "${name}" in:\n${out}`);
    return { exact: Number(m[1]), error: Number(m[2]) };
  };
  const withCount = quoted(/with them (\d) of 3 runs learned/, /with peepholes (\d) of 3, without \d of 3/, "runs learned with peepholes");
  const withoutCount = quoted(/without them (\d) of 3\./, /with peepholes \d of 3, without (\d) of 3/, "runs learned without");
  assert.ok(withCount >= withoutCount, `the prose says peepholes gave an edge: ${withCount} vs ${withoutCount} of 3`);
  assert.ok(withCount >= 1, "no peephole run learned the timing: the plots of the learned mechanism show nothing");
  assert.equal(numberIn(prose, /The seed-7 run without peepholes got ([\d.]+)%/), run("no peepholes, seed 7").exact);
  assert.ok(run("peepholes, seed 7").exact >= 90 && run("no peepholes, seed 7").exact < 90, "seed 7 was said to learn only with peepholes");
  assert.ok(run("peepholes, seed 6").exact < 90 && run("no peepholes, seed 6").exact >= 90, "seed 6 was said to learn only without them");
  assert.ok(run("peepholes, seed 5").exact < 90 && run("no peepholes, seed 5").exact < 90, "seed 5 was said to learn neither way");
  assert.equal(numberIn(prose, /0\.\d+ steps off on average, against ([\d.]+)\)/), run("no peepholes, seed 5").error);
  assert.equal(numberIn(prose, /output was ([\d.]+) steps off on average/), run("peepholes, seed 5").error);
  const early = (name: string) => numberIn(out, new RegExp(`${name} *: mean ŷ one step early ([\\d.]+)`));
  assert.equal(
    numberIn(prose, /mean \$\\hat y\$ one step early ([\d.]+), against/),
    early("without peepholes"),
    "prose: ŷ one step early without peepholes",
  );
  assert.equal(numberIn(prose, /one step early [\d.]+, against ([\d.]+)\)/), early("with peepholes"));
  assert.ok(early("without peepholes") > early("with peepholes"), "the prose says the output without peepholes creeps up before the spike");

  // The hand backward agrees with autodiff.
  const worst = quoted(/autodiff agree to (\S+), float32/, /worst relative error over all eight: (\S+)/, "hand vs autodiff");
  assert.ok(worst < 1e-4, `hand backward vs autodiff: ${worst}`);

  // Figures: the block diagram, the example signals, two live training plots, gates, cell state, timing plots.
  const titles = nb.figures.map((f) => JSON.stringify((f.layout.title as { text?: string } | undefined)?.text ?? ""));
  assert.ok(nb.figures.length >= 8, `expected at least 8 figures, got ${nb.figures.length}: ${titles.join(", ")}`);
  const diagram = nb.figures.find((f) => /One LSTM block/.test(JSON.stringify(f.layout.title)));
  assert.ok(diagram, "the LSTM block diagram is missing");
  const notes = JSON.stringify(diagram.layout.annotations);
  for (const label of ["forget φ", "input ι", "output ω", "w<sub>cφ</sub>", "w<sub>cι</sub>", "w<sub>cω</sub>", "s(t−1)"]) {
    assert.ok(notes.includes(label), `the diagram lacks "${label}"`);
  }
  assert.ok((diagram.layout.shapes as unknown[]).length >= 10, "the diagram has too few shapes (boxes, ×, +)");
  assert.ok((diagram.layout.annotations as unknown[]).length >= 30, "the diagram has too few arrows and labels");
  assert.ok(
    titles.some((t) => /which tone\? T = 40.*step 300 of 300/.test(t)),
    `no finished live plot of the forget-bias run: ${titles}`,
  );
  assert.ok(
    titles.some((t) => /spike 10 steps after the cue.*step 600 of 600/.test(t)),
    `no finished live plot of the timing run: ${titles}`,
  );
  assert.ok(
    titles.some((t) => /Gates of the trained LSTM/.test(t)),
    "gate heatmaps missing",
  );
  assert.ok(
    titles.some((t) => /Cell state s\(t\)/.test(t)),
    "cell-state heatmap missing",
  );
  assert.ok(
    titles.some((t) => /aligned at the cue/.test(t)),
    "timing plot missing",
  );
  assert.ok(
    titles.some((t) => /Inside the peephole LSTM/.test(t)),
    "inside-the-peephole-LSTM plot missing",
  );
}
