/**
 * 01 · Sequences and the unfolded recurrence: samples of a sequence are correlated, a model of
 * one sample at a time (the RNN with W = 0) cannot forecast a noisy sine or tell a rising from
 * a falling crossing, the hand-written RNN equals seqlab's cell, and the trained RNN forecasts
 * and runs free where the per-sample model collapses.
 */
import { strict as assert } from "assert";
import { numberIn, quotedAsPrinted, type Executed } from "./helpers";

export default function check(nb: Executed): void {
  const out = nb.stdout;
  const printed = (re: RegExp, what: string) => numberIn(out, re, what);
  const quoted = (re: RegExp, what: string) => numberIn(nb.prose, re, what);
  const sameAs = (prose: RegExp, stdout: RegExp, what: string) => void quotedAsPrinted(nb, prose, stdout, what);

  assert.doesNotMatch(nb.stderr, /left alive|Error/, `stderr:\n${nb.stderr}`);

  // Sequence data are correlated in time; shuffling removes it.
  const lag1 = printed(/correlation of x\(t\) and x\(t\+1\): (-?\d+(?:\.\d+)?)/, "lag-1 correlation");
  const shuffled = printed(/each sequence.s samples shuffled: (-?\d+(?:\.\d+)?)/, "shuffled correlation");
  assert.ok(lag1 > 0.8, `neighbouring samples correlate only ${lag1}`);
  assert.ok(Math.abs(shuffled) < 0.1, `shuffled samples still correlate ${shuffled}`);
  sameAs(/correlated \((-?\d+(?:\.\d+)?)\)/, /correlation of x\(t\) and x\(t\+1\): (-?\d+(?:\.\d+)?)/, "the lag-1 correlation");
  sameAs(/correlate at (-?\d+(?:\.\d+)?)/, /correlation of x\(t\) and x\(t\+1\): (-?\d+(?:\.\d+)?)/, "the lag-1 correlation (conclusion)");

  // The unfolded recurrence: s(3) = f(f(s(1))), and the rotation returns after P steps.
  const s3 = /s\(3\) += (\[[^\]]+\])/.exec(out)?.[1];
  const ff = /f\(f\(s\(1\)\)\) = (\[[^\]]+\])/.exec(out)?.[1];
  assert.ok(s3 && s3 === ff, `s(3) = ${s3} but f(f(s(1))) = ${ff}`);
  assert.match(out, /s\(21\) = \[1\.0000, 0\.0000\]/);

  // The hand-written forward equals seqlab's rnnStep / unroll / readout.
  for (const what of ["h_hand − h_rnnStep", "h_hand − h_unroll", "o_hand − o_readout"]) {
    const d = printed(new RegExp(`max \\|${what}\\|: +([\\d.e+-]+)`), what);
    assert.ok(d < 1e-5, `max |${what}| = ${d}`);
  }

  // Training: both losses fall; the RNN far below the per-sample model.
  const trainRnn = printed(/RNN: training MSE \d+(?:\.\d+)? → (\d+(?:\.\d+)?)/, "RNN training MSE");
  const trainPerSample = printed(/per-sample model \(W = 0\): training MSE \d+(?:\.\d+)? → (\d+(?:\.\d+)?)/, "per-sample training MSE");
  assert.ok(trainRnn < 0.4 * trainPerSample, `training MSE: RNN ${trainRnn}, per-sample ${trainPerSample}`);

  // Unseen waves: the per-sample model is stuck near persistence, the RNN is far better.
  const zero = printed(/test MSE, predicting 0: +(\d+(?:\.\d+)?)/, "test MSE of 0");
  const persistence = printed(/test MSE, persistence: +(\d+(?:\.\d+)?)/, "test MSE of persistence");
  const perSample = printed(/test MSE, per-sample model: +(\d+(?:\.\d+)?)/, "per-sample test MSE");
  const rnn = printed(/test MSE, RNN: +(\d+(?:\.\d+)?)/, "RNN test MSE");
  assert.ok(persistence < 0.3 * zero, `persistence ${persistence} vs zero ${zero}`);
  assert.ok(perSample > 0.75 * persistence, `the per-sample model (${perSample}) beat persistence (${persistence}) by far: no lesson`);
  assert.ok(rnn < 0.4 * perSample, `RNN ${rnn} is not far below the per-sample model ${perSample}`);
  assert.ok(rnn < 0.5 * persistence, `RNN ${rnn} vs persistence ${persistence}`);
  sameAs(/per-sample model \(test MSE (\d+(?:\.\d+)?)\)/, /test MSE, per-sample model: +(\d+(?:\.\d+)?)/, "the per-sample test MSE");
  sameAs(/than persistence \((\d+(?:\.\d+)?)\)/, /test MSE, persistence: +(\d+(?:\.\d+)?)/, "the persistence test MSE");
  sameAs(/The RNN's (\d+(?:\.\d+)?) is/, /test MSE, RNN: +(\d+(?:\.\d+)?)/, "the RNN test MSE");
  sameAs(/with test MSE (\d+(?:\.\d+)?)/, /test MSE, RNN: +(\d+(?:\.\d+)?)/, "the RNN test MSE (conclusion)");
  const times = perSample / rnn;
  assert.ok(times >= 3.5 && times < 5, `the prose says "four times lower", the ratio is ${times.toFixed(2)}`);
  assert.ok(rnn < 0.01, `the prose says the RNN's MSE is below σ² = 0.01, it is ${rnn}`);

  // Zero crossings: the per-sample model forecasts ≈ 0 both ways, the RNN tells them apart.
  const crossing = (dir: string, who: string) =>
    printed(new RegExp(`${dir} zero crossings: +target [+-]\\d+(?:\\.\\d+)?.*${who} ([+-]\\d+(?:\\.\\d+)?)`), `${dir} ${who}`);
  const target = (dir: string) => printed(new RegExp(`${dir} zero crossings: +target ([+-]\\d+(?:\\.\\d+)?)`), `${dir} target`);
  const up = target("rising"),
    down = target("falling");
  assert.ok(up > 0.15 && down < -0.15, `crossing targets ${up}, ${down}`);
  assert.ok(crossing("rising", "RNN") > 0.7 * up, `RNN at rising crossings: ${crossing("rising", "RNN")} vs ${up}`);
  assert.ok(crossing("falling", "RNN") < 0.7 * down, `RNN at falling crossings: ${crossing("falling", "RNN")} vs ${down}`);
  for (const dir of ["rising", "falling"]) {
    const v = crossing(dir, "per-sample");
    assert.ok(Math.abs(v) < 0.25 * up, `the per-sample model forecasts ${v} at ${dir} crossings: it should not know the direction`);
  }
  const conclusion =
    /forecasts\s+([+-]\d+(?:\.\d+)?) on the way up and ([+-]\d+(?:\.\d+)?) on the way down, where the truth is ([+-]\d+(?:\.\d+)?) and ([+-]\d+(?:\.\d+)?)/.exec(
      nb.prose,
    );
  assert.ok(conclusion, "the conclusion's crossing numbers are missing");
  assert.deepEqual(
    conclusion.slice(1).map(Number),
    [crossing("rising", "per-sample"), crossing("falling", "per-sample"), up, down],
    "the conclusion's crossing numbers",
  );
  const rnnCrossing = /falling crossing \(([+-]\d+(?:\.\d+)?) and ([+-]\d+(?:\.\d+)?)\)/.exec(nb.prose);
  assert.ok(rnnCrossing, "the RNN's crossing numbers are missing from the prose");
  assert.deepEqual(rnnCrossing.slice(1).map(Number), [crossing("rising", "RNN"), crossing("falling", "RNN")]);

  // Running free: the RNN keeps the wave going, the per-sample model sinks to a fixed point.
  const free = (who: string) => printed(new RegExp(`free-running MSE over 60 steps, ${who}: +(\\d+(?:\\.\\d+)?)`), `free-running ${who}`);
  assert.ok(free("RNN") < 0.1 * free("predicting 0"), `free-running RNN ${free("RNN")} vs 0 ${free("predicting 0")}`);
  assert.ok(free("per-sample model") > 0.7 * free("predicting 0"), `free-running per-sample ${free("per-sample model")}`);
  sameAs(/RNN's error is (\d+(?:\.\d+)?)/, /free-running MSE over 60 steps, RNN: +(\d+(?:\.\d+)?)/, "the free-running RNN MSE");
  sameAs(
    /against (\d+(?:\.\d+)?) for predicting 0/,
    /free-running MSE over 60 steps, predicting 0: +(\d+(?:\.\d+)?)/,
    "the free-running MSE of 0",
  );
  sameAs(
    /fixed point \((\d+(?:\.\d+)?)\)/,
    /free-running MSE over 60 steps, per-sample model: +(\d+(?:\.\d+)?)/,
    "the free-running per-sample MSE",
  );

  // Figures: the unfolded graph (with its parameter count), the live loss with both curves,
  // the pairs, the two free runs.
  const titles = nb.figures.map((f) => JSON.stringify(f.layout.title ?? ""));
  const find = (re: RegExp) => {
    const i = titles.findIndex((t) => re.test(t));
    assert.ok(i >= 0, `no figure titled ${re} among:\n${titles.join("\n")}`);
    return nb.figures[i];
  };
  const graph = find(/RNN unfolded over T = 50 steps/);
  const params = numberIn(JSON.stringify(graph.layout.title), /(\d+) parameters in all/, "parameters in the graph");
  assert.equal(params, quoted(/: (\d+) numbers here/, "the parameter count in the prose"));
  const loss = find(/training loss \(MSE, log scale\) — step 300 of 300/);
  const names = loss.data.map((d) => String(d.name));
  assert.ok(names.some((n) => /RNN/.test(n)) && names.some((n) => /per-sample/.test(n)), `loss curves: ${names}`);
  find(/The pairs \(x\(t\), y\(t\)\)/);
  find(/RNN: reads 40 samples, then runs free/);
  find(/per-sample model: the same/);
  assert.equal(nb.figures.length, 5, `${nb.figures.length} figures`);
}
