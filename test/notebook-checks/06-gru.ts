/**
 * 06-gru: the hand-written step equals seqlab's; flipping z maps the lecture's GRU onto
 * PyTorch's exactly when the reset acts the same way, and not otherwise; on the tone-burst
 * memory task (T = 50) the LSTM and the GRU learn and the vanilla RNN does not, with the same
 * budget; every number the prose quotes is the one the code printed.
 */
import { strict as assert } from "assert";
import { numberIn, quotedAsPrinted, type Executed } from "./helpers";

export default function check(nb: Executed): void {
  const out = nb.stdout;
  const prose = nb.prose.replace(/\s+/g, " "); // line breaks in the markdown are spaces
  const quoted = (re: RegExp, printed: RegExp, what: string) => quotedAsPrinted(nb, re, printed, what);

  assert.ok(numberIn(out, /max \|by hand − gruStep\| over [^:]+: (\S+)/) < 1e-5, "gruStepByHand differs from gruStep");

  // Conventions: the z flip is a renaming; the reset is not, unless r = 1 or W_n is diagonal.
  const gap = (what: string) => numberIn(out, new RegExp(`z flipped, ${what}: +max \\|h_lecture − h_pytorch\\| = (\\S+)`));
  const learned = quoted(
    /leaves a difference of (\S+) after/,
    /z flipped, reset as initialised: +max \|h_lecture − h_pytorch\| = (\S+)/,
    "gap, reset as initialised",
  );
  const open = quoted(
    /the same states to float32 rounding \((\S+) and/,
    /z flipped, reset forced open \(b_r \+ 30\): +max \|h_lecture − h_pytorch\| = (\S+)/,
    "gap, reset open",
  );
  const diagonal = quoted(
    /rounding \(\S+ and (\S+)\)/,
    /z flipped, W_n diagonal: +max \|h_lecture − h_pytorch\| = (\S+)/,
    "gap, W_n diagonal",
  );
  assert.equal(gap("W_n diagonal"), diagonal);
  assert.ok(learned > 1e-3, `with the reset as initialised the two conventions were meant to differ, got ${learned}`);
  assert.ok(open < 1e-5 && diagonal < 1e-5, `with the reset made equal they were meant to agree: ${open}, ${diagonal}`);

  // The same task, the same budget.
  const run = (name: string) => {
    const m = new RegExp(
      `^${name} +test accuracy ([\\d.]+)% \\(chance 25%\\); mean loss of 20 steps < 0\\.1 (?:from step (\\d+)|never)`,
      "m",
    ).exec(out);
    assert.ok(m, `no result for ${name} in:\n${out}`);
    return { accuracy: Number(m[1]), at: m[2] === undefined ? Infinity : Number(m[2]) };
  };
  const rnn = run("vanilla RNN"),
    lstm = run("LSTM, β_φ = 3"),
    gru = run("GRU, b_z = −3");
  assert.ok(rnn.accuracy < 40, `the vanilla RNN was meant to stay near chance, got ${rnn.accuracy}%`);
  assert.ok(lstm.accuracy >= 90, `the LSTM was meant to learn the task, got ${lstm.accuracy}%`);
  assert.ok(gru.accuracy >= 90, `the GRU was meant to learn the task, got ${gru.accuracy}%`);
  assert.equal(rnn.at, Infinity, "the prose says the RNN's loss never fell");
  assert.equal(numberIn(prose, /RNN stays at chance \(([\d.]+)%\)/), rnn.accuracy);
  assert.equal(numberIn(prose, /The LSTM \(([\d.]+)%\) and the GRU/), lstm.accuracy);
  assert.equal(numberIn(prose, /and the GRU \(([\d.]+)%\) both/), gru.accuracy);
  assert.equal(numberIn(prose, /below 0\.1 from step (\d+), the GRU's/), lstm.at);
  assert.equal(numberIn(prose, /the GRU's from step (\d+)/), gru.at);
  assert.ok(lstm.at < gru.at, "the prose says the LSTM's loss fell first");
  const params = (name: string) => numberIn(out, new RegExp(`^${name} +(\\d+) parameters`, "m"));
  assert.equal(numberIn(prose, /does it with (\d+) parameters/), params("GRU, b_z = −3"));
  assert.equal(numberIn(prose, /parameters to the LSTM's (\d+)/), params("LSTM, β_φ = 3"));
  assert.equal(numberIn(prose, /the RNN has (\d+)/), params("vanilla RNN"));

  // Inside the trained GRU.
  quoted(/averaged, \$z\$ is ([\d.]+) during the burst/, /mean update gate z: during the burst ([\d.]+)/, "z during the burst");
  quoted(/during the burst and ([\d.]+) after/, /mean update gate z: during the burst [\d.]+, after it ([\d.]+)/, "z after the burst");
  quoted(/on, (\d+)% of the update gates are open/, /: (\d+)% of the update gates are open/, "share of open update gates");
  const candidate = quoted(
    /\|\\tilde\{\\mathbf\{h\}\} - \\mathbf\{h\}\^\{\(t-1\)\}\| = ([\d.]+)/,
    /where they are, mean \|h̃ − h\(t−1\)\| = ([\d.]+)/,
    "|h̃ − h|",
  );
  const change = quoted(/changes by ([\d.]+) per step/, /mean \|h\(t\) − h\(t−1\)\| = ([\d.]+)/, "|Δh|");
  assert.ok(candidate < 0.1 && change < 0.05, `the prose says the state is held: |h̃ − h| ${candidate}, |Δh| ${change}`);
  quoted(/reset gates stay mostly open \(([\d.]+) after/, /mean reset gate r : during the burst [\d.]+, after it ([\d.]+)/, "r after");

  // Figures: the live comparison (three curves, finished), the gates and the state of the GRU.
  const title = (f: Executed["figures"][number]) => JSON.stringify((f.layout.title as { text?: string } | undefined)?.text ?? "");
  const live = nb.figures.find((f) => /which tone\? T = 50.*step 600 of 600/.test(title(f)));
  assert.ok(live, `no finished live plot of the comparison: ${nb.figures.map(title)}`);
  const names = live.data.map((d) => String(d.name));
  for (const n of ["vanilla RNN", "LSTM", "GRU"])
    assert.ok(
      names.some((x) => x.includes(n)),
      `the live plot lacks ${n}: ${names}`,
    );
  const gates = nb.figures.find((f) => /Gates of the trained GRU/.test(title(f)));
  assert.ok(gates && gates.data.length === 2, "the z and r heatmaps are missing");
  assert.ok(
    nb.figures.some((f) => /Its state h\(t\)/.test(title(f))),
    "the state heatmap is missing",
  );
}
