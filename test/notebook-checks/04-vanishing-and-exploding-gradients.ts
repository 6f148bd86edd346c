/**
 * 04 · Vanishing and exploding gradients: the one-step Jacobian matches autodiff; the W
 * matrices show the four regimes of σ_max and ρ (ρ ≤ σ_max); ‖∇h(t) L‖ vanishes for ρ < 1
 * and grows for 3·W₀; the gated cells keep a gradient over 99 steps where the RNN keeps none;
 * and clipping the global norm saves a run that blows up without it.
 */
import { strict as assert } from "assert";
import { numberIn, type Executed } from "./helpers";

const num = String.raw`(-?[\d.]+(?:e[+-]?\d+)?)`;

export default function check(nb: Executed): void {
  const out = nb.stdout;
  const prose = nb.prose;

  // One step's Jacobian: autodiff agrees with diag(1 − h(t)²) W.
  assert.ok(numberIn(out, new RegExp(`Jacobian.*relative difference ${num}`)) < 1e-5);

  // σ_max and ρ of the four matrices: the four regimes, and ρ ≤ σ_max.
  const regime = (s: string) => {
    const m = new RegExp(`^W = ${s.replace(".", "\\.")}·W₀: +σ_max = ${num}, +ρ = ${num}$`, "m").exec(out);
    assert.ok(m, `no σ_max/ρ line for ${s}·W₀ in:\n${out}`);
    return { sigma: Number(m[1]), rho: Number(m[2]) };
  };
  const w = { "0.8": regime("0.8"), "1": regime("1"), "2": regime("2"), "3": regime("3") };
  for (const [s, r] of Object.entries(w)) assert.ok(r.rho <= r.sigma + 0.01, `${s}·W₀: ρ ${r.rho} > σ_max ${r.sigma}`);
  assert.ok(w["0.8"].sigma < 1, `0.8·W₀ should have σ_max < 1: ${w["0.8"].sigma}`);
  assert.ok(w["1"].rho < 1 && w["1"].sigma > 1, `W₀ should have ρ < 1 < σ_max: ${JSON.stringify(w["1"])}`);
  assert.ok(w["2"].rho > 1 && w["3"].rho > 1, "2·W₀ and 3·W₀ should have ρ > 1");

  // The vanilla RNN's gradient flow for each matrix.
  const flow = (s: string) => {
    const m = new RegExp(
      `^${s.replace(".", "\\.")}·W₀ \\(ρ [\\d.]+\\): 30 steps back ×${num}, ${num} per step; at t = 1 ×${num}$`,
      "m",
    ).exec(out);
    assert.ok(m, `no flow line for ${s}·W₀ in:\n${out}`);
    return { back30: Number(m[1]), perStep: Number(m[2]), atOne: Number(m[3]) };
  };
  const f = { "0.8": flow("0.8"), "1": flow("1"), "2": flow("2"), "3": flow("3") };
  for (const s of ["0.8", "1"] as const) {
    assert.ok(f[s].back30 < 1e-5, `${s}·W₀ should vanish: ×${f[s].back30} over 30 steps`);
    assert.ok(f[s].perStep < w[s].rho, `${s}·W₀: ${f[s].perStep} per step, ρ ${w[s].rho}`);
    assert.equal(f[s].atOne, 0, `prose: ${s}·W₀ underflows to exactly 0 at t = 1`);
  }
  for (const s of ["0.8", "1", "2", "3"] as const) assert.ok(f[s].perStep <= w[s].sigma, `${s}·W₀ beats the σ_max bound`);
  assert.ok(f["2"].atOne > 0.1 && f["2"].atOne < 10, `prose: 2·W₀ "roughly keeps its size": ×${f["2"].atOne}`);
  assert.ok(f["3"].atOne > 5e3 && f["3"].atOne < 5e4, `prose: 3·W₀ grows "by four orders of magnitude": ×${f["3"].atOne}`);
  assert.ok(f["3"].atOne < Math.pow(w["3"].rho, 99) / 1e10, "3·W₀ should grow far less than ρ^99");

  // RNN, LSTM, GRU on the same task.
  const ratio = (name: string) => numberIn(out, new RegExp(`^${name} +‖∇h\\(1\\) L‖ / ‖∇h\\(τ\\) L‖ = ${num}$`, "m"), name);
  const rnn = ratio("vanilla RNN");
  const lstm = ratio("LSTM, b_φ = 3");
  const gru = ratio("GRU, b_z = −3");
  const lstmDefault = numberIn(out, new RegExp(`default biases \\(gates ≈ 0\\.5\\): LSTM ${num}`));
  const gruDefault = numberIn(out, new RegExp(`default biases \\(gates ≈ 0\\.5\\): LSTM \\S+, GRU ${num}`));
  assert.ok(rnn < 1e-20, `the RNN's gradient should vanish: ${rnn}`);
  assert.ok(lstm > 1e-2 && gru > 1e-2, `prose: "less than a factor of 100" — LSTM ${lstm}, GRU ${gru}`);
  assert.ok(lstmDefault < 1e-10 && gruDefault < 1e-10, `default gates should vanish: ${lstmDefault}, ${gruDefault}`);
  const quoted = (re: RegExp) => numberIn(prose, re);
  assert.equal(quoted(new RegExp(`with ${num} of its size at`)), lstm);
  assert.equal(quoted(new RegExp(`in the LSTM and ${num} in the GRU`)), gru);
  assert.equal(quoted(new RegExp(`\\(${num} and [\\d.e+-]+, last line\\)`)), lstmDefault);
  assert.equal(quoted(new RegExp(`\\([\\d.e+-]+ and ${num}, last line\\)`)), gruDefault);

  // Clipping: the unclipped run blows up, the clipped one learns.
  const nanFrom = numberIn(out, /loss no longer finite from step (\d+) on/);
  const hugeLoss = numberIn(out, new RegExp(`largest finite loss ${num}`));
  const hugeGrad = numberIn(out, new RegExp(`no clipping: largest finite ‖g‖ ${num}`));
  const clippedLoss = numberIn(out, /loss over the last 20 steps ([\d.]+)/);
  const zero = numberIn(out, /predict 0 ([\d.]+)/);
  const persistence = numberIn(out, /repeat the last input ([\d.]+)/);
  assert.ok(nanFrom >= 1 && nanFrom <= 100, `the unclipped loss should stop being finite early: step ${nanFrom}`);
  assert.ok(hugeLoss > 1e6 && hugeGrad > 1e6, `the unclipped run should blow up: loss ${hugeLoss}, ‖g‖ ${hugeGrad}`);
  assert.ok(clippedLoss < zero / 3, `the clipped run should learn: ${clippedLoss} vs predicting 0 ${zero}`);
  assert.equal(quoted(/loss over its last 20 steps is ([\d.]+)/), clippedLoss);
  assert.equal(quoted(/predicting 0 \(([\d.]+)\)/), zero);
  assert.equal(quoted(/the loss is no longer finite from step (\d+) on/), nanFrom);
  assert.equal(quoted(new RegExp(`gradient norm climbs to ${num}`)), hugeGrad);
  assert.equal(quoted(new RegExp(`and the loss to ${num}`)), hugeLoss);
  assert.equal(quoted(new RegExp(`\\(up to ${num} before clipping\\)`)), numberIn(out, new RegExp(`largest ‖g‖ before clipping ${num}`)));
  if (clippedLoss < persistence) assert.match(prose, /below repeating the last input/);
  else assert.doesNotMatch(prose, /below repeating the last input/);

  // Figures: two gradient flows (log y), the live loss at its last step, the gradient norms.
  assert.equal(nb.figures.length, 4, `figures: ${nb.figures.length}`);
  const title = (k: number) => JSON.stringify(nb.figures[k].layout.title ?? "");
  assert.match(title(0), /Vanilla RNN: ‖∇h\(t\) L‖/);
  assert.match(title(1), /RNN, LSTM, GRU/);
  assert.equal(nb.figures[1].data.length, 3, "one curve per cell");
  assert.match(title(2), /step (\d+) of \1"/, "the live figure should show the last step");
  assert.deepEqual(
    nb.figures[2].data.map((d) => d.name).filter((n) => typeof n === "string" && !/val/.test(n)).length >= 2,
    true,
    "the live figure should have one curve per run",
  );
  for (const k of [0, 1]) assert.equal(JSON.stringify(nb.figures[k].layout.yaxis).includes('"log"'), true, "log y");
  for (const fig of nb.figures) assert.ok(JSON.stringify(fig.layout.xaxis ?? {}).includes("title"), "an x axis without a title");
}
