/**
 * 07 · The catalogue: each of the three arrangements learns its signal task, better than the
 * reference the prose compares it with, and the prose quotes the numbers the run printed.
 */
import { strict as assert } from "assert";
import { numberIn, type Executed } from "./helpers";

/** The figure whose title contains `part`; fails when there is none. */
function figure(nb: Executed, part: string): Executed["figures"][number] {
  const titleOf = (f: Executed["figures"][number]) => String((f.layout.title as { text?: string } | undefined)?.text ?? "");
  const fig = nb.figures.find((f) => titleOf(f).includes(part));
  assert.ok(fig, `no figure titled "…${part}…"; titles: ${nb.figures.map(titleOf).join(" | ")}`);
  return fig;
}

/** Every trace of the figure has points. */
function drawn(fig: Executed["figures"][number], what: string): void {
  assert.ok(fig.data.length > 0, `${what}: no traces`);
  for (const t of fig.data) {
    const y = (t.y ?? t.z) as unknown[] | undefined;
    assert.ok(Array.isArray(y) && y.length > 0, `${what}: trace "${String(t.name)}" is empty`);
  }
}

/** The number printed after `label` in stdout equals the one the prose quotes after `proseLabel`. */
function quoted(nb: Executed, printed: RegExp, prose: RegExp, what: string): number {
  const a = numberIn(nb.stdout, printed, `${what} (printed)`);
  const b = numberIn(nb.prose, prose, `${what} (prose)`);
  assert.equal(b, a, `the prose quotes ${what} = ${b}, the run printed ${a}`);
  return a;
}

export default function check(nb: Executed): void {
  assert.equal(nb.stderr.trim(), "", `stderr:\n${nb.stderr}`);

  // 1 · many-to-many: the GRU denoises better than the noisy input and the best moving average.
  const noisy = quoted(nb, /noisy input x\(t\) ([\d.]+)/, /noise's \(([\d.]+)\)/, "the noisy input's MSE");
  const average = quoted(
    nb,
    /best causal moving average \(L = \d+\) ([\d.]+)/,
    /moving average's \(([\d.]+)\)/,
    "the moving average's MSE",
  );
  const gru = quoted(nb, /GRU, many-to-many ([\d.]+)/, /Its test error, ([\d.]+),/, "the GRU's MSE");
  quoted(nb, /best causal moving average \(L = (\d+)\)/, /only \$L = (\d+)\$ samples/, "the best window L");
  assert.ok(average < noisy, `moving average ${average} vs noisy ${noisy}`);
  assert.ok(gru < 0.7 * average, `GRU ${gru} is not well below the moving average ${average}`);
  assert.ok(gru < 0.45 * noisy, `GRU ${gru} is not "about a third" of the noise ${noisy}`);
  drawn(figure(nb, "many-to-many: denoising a chirp"), "denoising live curves");
  drawn(figure(nb, "many-to-many: the GRU denoises"), "denoising prediction");

  // 2 · many-to-one: most chirps classified; the mistakes are mostly about steady chirps.
  const accuracy = quoted(nb, /accuracy on the \d+ test chirps: ([\d.]+)%/, /gets ([\d.]+)% of the test/, "the classifier's accuracy");
  quoted(nb, /\(chance ([\d.]+)%\)/, /against ([\d.]+)% by chance/, "chance");
  assert.ok(accuracy >= 85, `many-to-one accuracy ${accuracy}%`);
  const row = (kind: string) => {
    const m = new RegExp(`true ${kind} +→ predicted rising (\\d+), falling (\\d+), steady (\\d+)`).exec(nb.stdout);
    assert.ok(m, `no confusion row for ${kind}`);
    return [Number(m[1]), Number(m[2]), Number(m[3])];
  };
  const [rising, falling, steady] = [row("rising"), row("falling"), row("steady")];
  const withSteady = rising[2] + falling[2] + steady[0] + steady[1];
  const risingFalling = rising[1] + falling[0];
  const errors = withSteady + risingFalling;
  assert.ok(errors > 0 && withSteady > errors / 2, `mistakes involving steady ${withSteady} of ${errors}`);
  assert.ok(risingFalling <= 2, `rising and falling confused ${risingFalling} times ("almost never")`);
  drawn(figure(nb, "many-to-one: rising, falling or steady"), "classifier live curves");
  drawn(figure(nb, "confusion on the test chirps"), "confusion heatmap");
  assert.equal(figure(nb, "one test chirp of each kind").data.length, 3);

  // 3 · one-to-many: both feeds generate held-out waves; every-step is better and even, initial-state drifts late.
  const silence = quoted(nb, /predicting silence \(0\) ([\d.]+)/, /against ([\d.]+) for predicting silence/, "silence's MSE");
  const feed = (name: string) => {
    const m = new RegExp(`feed "${name}" ([\\d.]+) \\(steps 1–20: ([\\d.]+), steps 21–40: ([\\d.]+)\\)`).exec(nb.stdout);
    assert.ok(m, `no line for feed "${name}"`);
    return { all: Number(m[1]), first: Number(m[2]), second: Number(m[3]) };
  };
  const every = feed("every-step"),
    initial = feed("initial-state");
  assert.equal(numberIn(nb.prose, /"every-step" the test MSE is ([\d.]+)/), every.all, "prose: every-step MSE");
  assert.equal(numberIn(nb.prose, /\(([\d.]+) over steps 1–20, /), every.first, "prose: every-step, steps 1–20");
  assert.equal(numberIn(nb.prose, /over steps 1–20, ([\d.]+) over steps 21–40/), every.second, "prose: every-step, steps 21–40");
  assert.equal(numberIn(nb.prose, /MSE is ([\d.]+), and it grows/), initial.all, "prose: initial-state MSE");
  assert.equal(numberIn(nb.prose, /grows from ([\d.]+) over the first 20/), initial.first, "prose: initial-state, first 20");
  assert.equal(numberIn(nb.prose, /to ([\d.]+) over the last 20/), initial.second, "prose: initial-state, last 20");
  assert.ok(every.all < silence / 10, `every-step ${every.all} vs silence ${silence}`);
  assert.ok(initial.all < silence / 2, `initial-state ${initial.all} vs silence ${silence}`);
  assert.ok(every.all < initial.all, `every-step ${every.all} is not better than initial-state ${initial.all}`);
  assert.ok(every.second < 1.5 * every.first, `every-step is not as good late (${every.second}) as early (${every.first})`);
  assert.ok(initial.second > 2 * initial.first, `initial-state does not drift late: ${initial.first} → ${initial.second}`);
  drawn(figure(nb, `one-to-many, feed "every-step"`), "every-step live curves");
  drawn(figure(nb, `one-to-many, feed "initial-state"`), "initial-state live curves");
  assert.equal(figure(nb, "sinusoids generated from held-out").data.length, 9);

  // The map from the slides to the classes, and the language model said to be many-to-many.
  for (const name of [
    "SequenceToSequence",
    "SequenceToVector",
    "VectorToSequence",
    "TeacherForcingRnn",
    "EncoderDecoder",
    "AttentionEncoderDecoder",
  ]) {
    assert.ok(nb.prose.includes(`\`${name}\``), `the catalogue list does not name ${name}`);
  }
  assert.match(nb.prose, /language model[\s\S]{0,400}\*\*many-to-many\*\*/);
  assert.match(nb.prose, /## Exercises/);
}
