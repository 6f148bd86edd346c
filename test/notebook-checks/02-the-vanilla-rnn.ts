/**
 * 02 · The vanilla RNN: the slide's equations and summed NLL written step by step equal seqlab's
 * unroll + readout + sequenceLoss; the parameters are shared across time (one count for every
 * T, a longer test than training); on per-frame chirp labelling the RNN beats the same network
 * with W = 0, which cannot tell a rising from a falling chirp; right after a change of class the
 * causal RNN is unsure, later it is right; some hidden units hold the direction.
 */
import { strict as assert } from "assert";
import { numberIn, quotedAsPrinted, type Executed } from "./helpers";

const NUM = String.raw`[+-]?\d+(?:\.\d+)?`;

export default function check(nb: Executed): void {
  const out = nb.stdout;
  const printed = (re: RegExp, what: string) => numberIn(out, re, what);
  const sameAs = (prose: RegExp, stdout: RegExp, what: string) => void quotedAsPrinted(nb, prose, stdout, what);
  const re = (s: string) => new RegExp(s);

  assert.doesNotMatch(nb.stderr, /left alive|Error/, `stderr:\n${nb.stderr}`);

  // The slide's loss by hand = the library's, and ≈ τ log K before training.
  const byHand = printed(re(`L of the example recording, by hand: +(${NUM})`), "L by hand");
  const library = printed(re(`sequenceLoss\\(readout\\(unroll\\(…\\)\\)\\): +(${NUM})`), "sequenceLoss");
  const chance = printed(re(`τ log K, a uniform ŷ: +(${NUM})`), "τ log K");
  assert.ok(Math.abs(byHand - library) <= 1e-3 * Math.abs(library), `by hand ${byHand} vs sequenceLoss ${library}`);
  assert.ok(Math.abs(byHand - chance) < 0.05 * chance, `the untrained L ${byHand} is not near τ log K = ${chance}`);
  sameAs(re(`same \\$L\\$ \\((${NUM}) for`), re(`L of the example recording, by hand: +(${NUM})`), "the untrained L");
  sameAs(re(`K = (${NUM})\\$ because`), re(`τ log K, a uniform ŷ: +(${NUM})`), "τ log K");

  // Shared parameters: H·I + H·H + H + K·H + K, one count for every T; the graph says the same.
  const params = printed(/c \[3\]: (\d+) parameters/, "parameter count");
  assert.equal(params, 24 * 16 + 24 * 24 + 24 + 3 * 24 + 3);
  assert.match(out, /T = 1000: o is \[1,1000,3\], from the same \d+ parameters/);
  sameAs(/The network has (\d+) parameters/, /c \[3\]: (\d+) parameters/, "the parameter count");

  // Training: both fall from ≈ log 3; the RNN far lower.
  const trainRnn = printed(re(`RNN: loss per step ${NUM} → (${NUM}) nats`), "RNN training loss");
  const trainFrame = printed(re(`per-frame model \\(W = 0\\): loss per step ${NUM} → (${NUM}) nats`), "per-frame training loss");
  assert.ok(trainRnn < 0.4, `the RNN's training loss per step is ${trainRnn}`);
  assert.ok(trainRnn < 0.5 * trainFrame, `RNN ${trainRnn} vs per-frame ${trainFrame}`);

  // Unseen, longer recordings: the RNN is far better than the per-frame model.
  const accRnn = printed(re(`RNN: accuracy (${NUM})`), "RNN accuracy");
  const accFrame = printed(re(`per-frame model \\(W = 0\\): accuracy (${NUM})`), "per-frame accuracy");
  assert.ok(accRnn > 0.85, `RNN accuracy ${accRnn}`);
  assert.ok(accFrame < 0.7, `per-frame accuracy ${accFrame}: one frame should not be enough`);
  assert.ok(accRnn - accFrame > 0.2, `RNN ${accRnn} vs per-frame ${accFrame}`);
  sameAs(re(`with accuracy (${NUM})`), re(`RNN: accuracy (${NUM})`), "the RNN's accuracy");
  sameAs(re(`reaches\\s+(${NUM}):`), re(`per-frame model \\(W = 0\\): accuracy (${NUM})`), "the per-frame accuracy");

  // Confusions: the per-frame model cannot tell the directions apart, the RNN can.
  const section = (name: string) => {
    const start = out.indexOf(`${name}: accuracy`);
    assert.ok(start >= 0, `no evaluation of ${name}`);
    return out.slice(start, start + 600);
  };
  const share = (model: string, label: string, as: string) =>
    numberIn(section(model), re(`${label} +frames predicted as [^\\n]*${as} (${NUM})`), `${model}: ${label} → ${as}`);
  const rnn = "RNN",
    frame = "per-frame model (W = 0)";
  assert.ok(share(rnn, "rising chirp", "rising chirp") > 0.8, "the RNN misses rising chirps");
  assert.ok(share(rnn, "falling chirp", "falling chirp") > 0.8, "the RNN misses falling chirps");
  for (const as of ["rising chirp", "falling chirp"]) {
    const d = Math.abs(share(frame, "rising chirp", as) - share(frame, "falling chirp", as));
    assert.ok(d < 0.15, `the per-frame model treats rising and falling chirps differently (${as}: Δ ${d}): the task leaks the direction`);
  }
  const confused = /"rising"\s+\((\d\.\d+) of the rising frames, (\d\.\d+) of the falling ones\)/.exec(nb.prose);
  assert.ok(confused, "the per-frame confusion numbers are missing from the prose");
  assert.deepEqual(confused.slice(1).map(Number), [
    share(frame, "rising chirp", "rising chirp"),
    share(frame, "falling chirp", "rising chirp"),
  ]);
  const right = /labels (\d\.\d+) of the rising and\s+(\d\.\d+) of the falling frames correctly/.exec(nb.prose);
  assert.ok(right, "the RNN's per-class numbers are missing from the prose");
  assert.deepEqual(right.slice(1).map(Number), [share(rnn, "rising chirp", "rising chirp"), share(rnn, "falling chirp", "falling chirp")]);

  // Only the past: unsure on the first frame of a segment, right after a few.
  const after = (model: string, bucket: string) =>
    numberIn(section(model), re(`accuracy by frames since the class changed:.*\\b${bucket}: (${NUM})`), `${model} after ${bucket}`);
  assert.ok(after(rnn, "1") < 0.6, `RNN on the first frame of a segment: ${after(rnn, "1")}`);
  assert.ok(after(rnn, "6\\+") > 0.93, `RNN from the sixth frame on: ${after(rnn, "6\\+")}`);
  assert.ok(after(rnn, "2") > after(rnn, "1") + 0.15, "one more frame should tell the RNN much more");
  sameAs(re(`right only (${NUM}) of the time`), re(`RNN: accuracy[^\\n]*\\n[^\\n]*\\b1: (${NUM})`), "the RNN's first-frame accuracy");
  sameAs(re(`second frame it is right\\s+(${NUM})`), re(`RNN: accuracy[^\\n]*\\n[^\\n]*\\b2: (${NUM})`), "the RNN's second-frame accuracy");
  sameAs(re(`sixth frame on (${NUM})`), re(`RNN: accuracy[^\\n]*\\n[^\\n]*6\\+: (${NUM})`), "the RNN's accuracy from frame 6");

  // Hidden units hold the direction.
  const unit = /unit (\d+): mean h\(t\) ([+-]\d\.\d+) in silence, ([+-]\d\.\d+) in rising chirp, ([+-]\d\.\d+) in falling chirp/.exec(out);
  assert.ok(unit, "no hidden-unit summary");
  assert.ok(Math.abs(Number(unit[3]) - Number(unit[4])) > 0.5, `unit ${unit[1]} hardly tells the directions apart: ${unit[0]}`);
  const unitProse = /Unit (\d+) averages ([+-]?\d\.\d+) during rising chirps and\s+([+-]?\d\.\d+) during falling ones/.exec(nb.prose);
  assert.ok(unitProse, "the hidden-unit numbers are missing from the prose");
  assert.deepEqual(unitProse.slice(1).map(Number), [Number(unit[1]), Number(unit[3]), Number(unit[4])], "the hidden unit quoted");

  // Figures: the spectrogram, the unfolded graph, the live losses, predictions vs labels, h(t).
  const titles = nb.figures.map((f) => JSON.stringify(f.layout.title ?? ""));
  const find = (pattern: RegExp) => {
    const i = titles.findIndex((t) => pattern.test(t));
    assert.ok(i >= 0, `no figure titled ${pattern} among:\n${titles.join("\n")}`);
    return nb.figures[i];
  };
  find(/One recording: a noisy spectrogram/);
  const graph = find(/RNN unfolded over T = 100 steps/);
  assert.match(JSON.stringify(graph.layout.title), new RegExp(`${params} parameters in all`));
  const loss = find(/training loss per step \(nats\) — step 600 of 600/);
  const names = loss.data.map((d) => String(d.name));
  assert.ok(names.some((n) => /RNN/.test(n)) && names.some((n) => /per-frame/.test(n)), `loss curves: ${names}`);
  const predictions = find(/Labels, and ŷ\(t\) of the RNN and of the per-frame model/);
  assert.equal((predictions.data[0].z as unknown[]).length, 9, "the predictions heatmap should have 9 rows");
  find(/Hidden state h\(t\) of the trained RNN/);
  assert.equal(nb.figures.length, 5, `${nb.figures.length} figures`);
}
