/**
 * 09 · Bidirectional and deep RNNs: the two directions agree with `bidirectional`; a change
 * at x(6) reaches h→ only from t = 6 and h← only up to t = 6; on the look-ahead task the
 * forward GRU cannot mark "onset ahead" frames and the bidirectional one can; a second
 * layer halves the errors and beats a one-layer model with as many parameters; the top
 * layer of the deep model is the most saturated; every number the prose quotes was printed.
 */
import { strict as assert } from "assert";
import { numberIn, type Executed } from "./helpers";

export default function check(nb: Executed): void {
  const out = nb.stdout;

  // The glass-box parts: hand-written backward loop = bidirectional(); two unrolls = unrollStacked; readout = predict.
  const gap = (re: RegExp) => numberIn(out, re);
  assert.ok(gap(/bidirectional\(\): shape \[1,12,8\], largest difference (\S+)/) < 1e-5, "two directions by hand ≠ bidirectional()");
  assert.ok(gap(/largest difference from two unrolls (\S+)/) < 1e-5, "two unrolls ≠ unrollStacked");
  assert.ok(gap(/from these states vs model\.predict: largest difference (\S+)/) < 1e-5, "layer-by-layer states ≠ model.predict");
  assert.match(out, /x\(6\) changed: h→\(t\) moved at t = 6…12, h←\(t\) moved at t = 1…6/);

  // Forward vs bidirectional on the look-ahead task.
  const tagger = (name: string) => {
    const m = new RegExp(
      `^${name} +frames right ([\\d.]+)%;  found: silence ([\\d.]+)%, onset ahead ([\\d.]+)%, event ([\\d.]+)%`,
      "m",
    ).exec(out);
    assert.ok(m, `no scores for ${name} in:\n${out}`);
    return { right: Number(m[1]), silence: Number(m[2]), onset: Number(m[3]), event: Number(m[4]) };
  };
  const fwd = tagger("forward GRU");
  const bi = tagger("bidirectional GRU");
  assert.ok(fwd.onset <= 5, `the forward GRU marked ${fwd.onset}% of the onset-ahead frames (it should be unable to)`);
  assert.ok(bi.onset >= 70, `the bidirectional GRU marked only ${bi.onset}% of the onset-ahead frames`);
  assert.ok(bi.right - fwd.right >= 8, `bidirectional ${bi.right}% vs forward ${fwd.right}% of frames right`);
  assert.ok(fwd.event >= 85 && Math.abs(fwd.event - bi.event) <= 5, `events: forward ${fwd.event}%, bidirectional ${bi.event}%`);
  const prior = numberIn(out, /has probability 1 − \(1 − 0\.08\)\^4 = ([\d.]+)/);
  assert.ok(Math.abs(prior - (1 - 0.92 ** 4)) < 1e-3 && prior < 0.5, `prior ${prior}`);
  const share = numberIn(out, /of the silent ones ([\d.]+)% are "onset ahead"/);
  assert.ok(
    Math.abs(share / 100 - prior) < 0.05,
    `the validation set's share of onset-ahead frames ${share}% is far from the prior ${prior}`,
  );

  // Depth: 1, 2, 3 layers and a one-layer model as wide as the two-layer one is big.
  const depth = (name: string) => {
    const m = new RegExp(`^bidirectional, ${name}: +(\\d+) parameters, frames wrong ([\\d.]+)%, onset ahead found ([\\d.]+)%`, "m").exec(
      out,
    );
    assert.ok(m, `no result for ${name} in:\n${out}`);
    return { parameters: Number(m[1]), wrong: Number(m[2]), onset: Number(m[3]) };
  };
  const one = depth("1 layer,  H = 24"),
    two = depth("2 layers, H = 24"),
    three = depth("3 layers, H = 24"),
    wide = depth("1 layer,  H = 48");
  assert.ok(Math.abs(one.wrong - (100 - bi.right)) < 0.051, "the one-layer row is not the bidirectional GRU trained above");
  assert.ok(two.wrong <= 0.6 * one.wrong, `two layers ${two.wrong}% wrong vs one layer ${one.wrong}%: the prose says depth helps`);
  assert.ok(wide.parameters > two.parameters, "the wide model should have at least as many parameters as the two-layer one");
  assert.ok(
    wide.wrong >= 1.5 * two.wrong,
    `the wide model (${wide.wrong}% wrong) is close to the two-layer one (${two.wrong}%): the gain is not depth`,
  );
  assert.ok(
    three.wrong <= two.wrong + 0.5 && two.wrong - three.wrong < 1.5,
    `three layers ${three.wrong}% vs two ${two.wrong}%: "adds little" no longer holds`,
  );
  assert.ok(two.onset > one.onset, "two layers should find more onset-ahead frames than one");

  // The layers: each more saturated than the one below.
  const meanAbs = [1, 2, 3].map((l) => numberIn(out, new RegExp(`layer ${l}: mean \\|h\\| = ([\\d.]+)`)));
  assert.ok(meanAbs[0] < meanAbs[1] && meanAbs[1] < meanAbs[2] && meanAbs[2] > 0.5, `mean |h| by layer: ${meanAbs}`);

  // Every decimal number in the prose was printed (percentages, probabilities, mean |h|).
  for (const m of nb.prose.matchAll(/\d+\.\d+/g))
    assert.ok(out.includes(m[0]), `the prose quotes ${m[0]}, which the notebook did not print`);
  for (const n of ["16707", "15411"]) assert.ok(nb.prose.includes(n) && out.includes(n), `parameter count ${n}`);

  // Figures: the perturbation bars, the data, five live training curves, the predictions, three layers.
  const titles = nb.figures.map((f) => {
    const t = f.layout.title as { text?: string } | string | undefined;
    return typeof t === "string" ? t : (t?.text ?? "");
  });
  const has = (re: RegExp, n = 1) =>
    assert.ok(titles.filter((t) => re.test(t)).length >= n, `missing figure ${re} (have: ${titles.join(" | ")})`);
  has(/which states move/);
  has(/One sequence: frames and their labels/);
  has(/predicted labels against the truth/);
  has(/loss and accuracy per epoch/, 5);
  has(/^Layer [123]: /, 3);
}
