/**
 * 12 · Language models and generation: the character LSTM, trained with truncated BPTT,
 * beats the unigram and uniform models by far; the loss computed by hand from −log p agrees
 * with the trainer's; samples at three temperatures are printed as text; entropy rises with
 * τ; a unit that tracks word boundaries is found and shown; and every number the prose
 * quotes is the one printed.
 */
import { strict as assert } from "assert";
import { numberIn, type Executed } from "./helpers";

export default function check(nb: Executed): void {
  const out = nb.stdout;
  const prose = nb.prose;

  // --- Baselines --------------------------------------------------------------------------------
  const K = numberIn(out, /uniform over K = (\d+) symbols: perplexity \d+/);
  const unigram = numberIn(out, /unigram \(character frequencies\): perplexity (\d+(?:\.\d+)?)/);
  assert.ok(unigram < K, `unigram ${unigram} vs uniform ${K}`);

  // --- Truncated BPTT: the streams continue from batch to batch ----------------------------------
  const rows = [...out.matchAll(/^ {2}batch (\d), row (\d): (.*)$/gm)];
  assert.equal(rows.length, 4, `stream rows:\n${out}`);
  assert.match(out, /→ 4 batches of \[B, T\] = \[16, 64\]/);

  // --- Training -----------------------------------------------------------------------------------
  const steps = numberIn(out, /^(\d+) updates in [\d.]+ s/m);
  assert.equal(steps, 200, "prose: 200 updates (4 batches × 2 chunks × 25 epochs)");
  const trainPpl = numberIn(out, /training perplexity (\d+(?:\.\d+)?)/);
  const valPpl = numberIn(out, /validation perplexity (\d+(?:\.\d+)?) \(best/);
  const bestPpl = numberIn(out, /\(best (\d+(?:\.\d+)?), epoch \d+\)/);
  const bestEpoch = numberIn(out, /\(best [\d.]+, epoch (\d+)\)/);
  assert.ok(valPpl < unigram / 3, `validation perplexity ${valPpl} vs unigram ${unigram}`);
  assert.ok(trainPpl < valPpl, "prose: the model overfits (training below validation)");
  assert.equal(numberIn(prose, /training perplexity (\d+(?:\.\d+)?)\)/), trainPpl);
  assert.equal(numberIn(prose, /ends at a perplexity of (\d+(?:\.\d+)?)/), valPpl);
  assert.equal(numberIn(prose, /\(best (\d+(?:\.\d+)?), at epoch/), bestPpl);
  assert.equal(numberIn(prose, /at epoch (\d+)\)/), bestEpoch);
  assert.equal(numberIn(prose, /unigram model's (\d+(?:\.\d+)?)/), unigram);
  assert.equal(numberIn(prose, /and the uniform (\d+)/), K);
  assert.equal(numberIn(prose, /Even so, (\d+(?:\.\d+)?) is far below/), valPpl);

  // --- The loss by hand ---------------------------------------------------------------------------
  const handNll = numberIn(out, /over N = \d+ characters = (\d+(?:\.\d+)?) nats/);
  const handPpl = numberIn(out, /perplexity exp\(L̄\) = (\d+(?:\.\d+)?)/);
  assert.ok(Math.abs(Math.exp(handNll) - handPpl) < 0.01, "perplexity = exp(mean NLL)");
  assert.ok(Math.abs(handPpl - valPpl) / valPpl < 0.1, `by hand ${handPpl} vs fit ${valPpl}`);
  assert.equal(numberIn(prose, /as one stream \((\d+(?:\.\d+)?)\)/), handPpl);
  assert.equal(numberIn(prose, /is close to `fit`'s\s+\((\d+(?:\.\d+)?), over 4 streams\)/), valPpl);
  const lLight = numberIn(out, /^after "of " +next l: p = [\d.]+, L\(t\) = −log p = (\d+(?:\.\d+)?)/m);
  assert.equal(numberIn(prose, /\$L\^\{\(t\)\}\$ = (\d+(?:\.\d+)?)\)/), lLight);
  const pSpace = numberIn(out, /^after "of light" +next ␣: p = (\d+(?:\.\d+)?)/m);
  assert.ok(pSpace > 0.9);
  assert.equal(numberIn(prose, /space, \$p\$ = (\d+(?:\.\d+)?)\)/), pSpace);

  // --- Generation: three samples, printed as text ---------------------------------------------------
  const samples = [...out.matchAll(/^── τ = (\d+(?:\.\d+)?) ─+\n((?:(?!──).*\n)+)/gm)];
  assert.deepEqual(
    samples.map((m) => Number(m[1])),
    [0.3, 1, 1.5],
    `samples:\n${out}`,
  );
  for (const m of samples) {
    assert.ok(m[2].startsWith("The keeper "), `a sample does not start with the prompt: ${m[2].slice(0, 40)}`);
    assert.ok(m[2].trim().length >= 200, "a sample is too short");
    for (const line of m[2].split("\n")) assert.ok(line.length <= 100, `a sample line of ${line.length} characters`);
  }
  assert.doesNotMatch(out, /"The keeper|\\n/, "samples must be printed as text, not JSON");
  // The cold sample repeats the phrases the prose names.
  for (const phrase of ["the storm", "the marsh", "the machine"])
    assert.ok(samples[0][2].includes(phrase), `τ = 0.3 sample lacks "${phrase}"`);

  // --- Temperature: top-5 and entropy ----------------------------------------------------------------
  const top = (tau: string) => {
    const m = new RegExp(`^τ = ${tau}: (\\S) (\\d+(?:\\.\\d+)?) +(\\S) (\\d+(?:\\.\\d+)?)`, "m").exec(out);
    assert.ok(m, `no top-5 line for τ = ${tau}`);
    return { first: m[1], p1: Number(m[2]), second: m[3], p2: Number(m[4]) };
  };
  const cold = top("0.3"),
    one = top("1.0"),
    hot = top("1.5");
  assert.ok(cold.p1 > one.p1 && one.p1 > hot.p1, "the top probability falls as τ rises");
  assert.equal(one.first, "i");
  assert.equal(one.second, "a");
  assert.equal(numberIn(prose, /it gives "i" (\d+(?:\.\d+)?)/), one.p1);
  assert.equal(numberIn(prose, /and "a" (\d+(?:\.\d+)?);/), one.p2);
  assert.equal(numberIn(prose, /"i" takes\s+(\d+(?:\.\d+)?)/), cold.p1);
  assert.equal(numberIn(prose, /the first has (\d+(?:\.\d+)?)\)/), hot.p1);

  const entropy = new Map(
    [...out.matchAll(/^τ = (\d+(?:\.\d+)?): mean entropy (\d+(?:\.\d+)?) nats, exp\(entropy\) = (\d+(?:\.\d+)?)/gm)].map((m) => [
      Number(m[1]),
      [Number(m[2]), Number(m[3])],
    ]),
  );
  assert.ok(entropy.size >= 8, `entropy lines: ${entropy.size}`);
  const hs = [...entropy.values()].map((v) => v[0]);
  for (let i = 1; i < hs.length; i++) assert.ok(hs[i] > hs[i - 1], "entropy must rise with τ");
  assert.ok(hs.at(-1)! < Math.log(K), "entropy stays below log K");
  assert.equal(numberIn(prose, /entropy goes from\s+(\d+(?:\.\d+)?) nats at \$\\tau = 0\.3\$/), entropy.get(0.3)![0]);
  assert.equal(numberIn(prose, /through (\d+(?:\.\d+)?) at \$\\tau = 1\$/), entropy.get(1)![0]);
  assert.equal(numberIn(prose, /to (\d+(?:\.\d+)?) at \$\\tau = 1\.5\$/), entropy.get(1.5)![0]);
  assert.equal(numberIn(prose, /\((\d+(?:\.\d+)?)\) it is not far from/), entropy.get(3)![0]);
  assert.equal(numberIn(prose, /\$\\log K\$ = (\d+(?:\.\d+)?)/), numberIn(out, /L̄ = log K = (\d+(?:\.\d+)?)/));
  // Overconfidence: the model's own perplexity estimate at τ = 1 is below what it achieves.
  const ownEstimate = entropy.get(1)![1];
  assert.ok(ownEstimate < handPpl, `exp(entropy) ${ownEstimate} vs perplexity ${handPpl}`);
  assert.equal(numberIn(prose, /\$\\exp\(\\text\{entropy\}\)\$ = (\d+(?:\.\d+)?)/), ownEstimate);
  assert.equal(numberIn(prose, /actually achieves on this text is (\d+(?:\.\d+)?)/), handPpl);

  // --- Units ------------------------------------------------------------------------------------------
  const unitLine = (name: string) => {
    const m = new RegExp(`^${name} +best unit +(\\d+): r = (-?\\d+(?:\\.\\d+)?)$`, "m").exec(out);
    assert.ok(m, `no unit line for ${name}`);
    return { unit: Number(m[1]), r: Number(m[2]) };
  };
  const space = unitLine("is a space"),
    word = unitLine("position in the word");
  const quotes = unitLine("inside quotes"),
    line = unitLine("position in the line");
  assert.ok(Math.abs(space.r) >= 0.5 && Math.abs(word.r) >= 0.5, "a unit tracks word boundaries");
  assert.equal(space.unit, word.unit, "prose: one unit for both");
  assert.ok(space.r > 0 && word.r < 0, "prose: opposite signs");
  assert.ok(Math.abs(quotes.r) < 0.2 && Math.abs(line.r) < 0.2, "prose: no unit follows quotes or the line position");
  assert.equal(numberIn(prose, /Unit (\d+) correlates with "is a space"/), space.unit);
  assert.equal(numberIn(prose, /"is a space" \(r = (-?\d+(?:\.\d+)?)\)/), space.r);
  assert.equal(numberIn(prose, /in the word \(r = (−?\d+(?:\.\d+)?)\)/), word.r);
  assert.equal(numberIn(prose, /\(best r = (−?\d+(?:\.\d+)?): the story/), quotes.r);
  assert.equal(numberIn(prose, /line \(best r = (−?\d+(?:\.\d+)?)\)/), line.r);

  // --- Figures ------------------------------------------------------------------------------------------
  const title = (f: Executed["figures"][number]) => JSON.stringify(f.layout.title ?? "");
  const find = (re: RegExp) => nb.figures.filter((f) => re.test(title(f)));
  assert.equal(find(/character LSTM: loss per character/).length, 1, "the live training curves");
  assert.equal(find(/L\(t\) = −log p/).length, 1, "the loss coloured over the text");
  const temp = find(/Temperature flattens/);
  assert.equal(temp.length, 1, "the entropy figure");
  assert.ok(JSON.stringify(temp[0].layout.xaxis).includes("title"));
  assert.equal(find(new RegExp(`Unit ${word.unit} of h\\(t\\)`)).length, 1, "the unit's activation over the text");
  assert.equal(nb.figures.length, 4);
}
