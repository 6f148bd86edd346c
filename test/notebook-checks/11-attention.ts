/**
 * 11 · Attention: the scores → weights → context computed by hand agree with seqlab's
 * functions; with the same budget the additive-attention encoder–decoder reverses long digit
 * strings that the fixed-context one cannot; its attention weights form the (shifted)
 * anti-diagonal the prose describes; and the four score functions rank as the prose says.
 */
import { strict as assert } from "assert";
import { numberIn, type Executed } from "./helpers";

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The exact-match table: length → [fixed context, additive attention] in %. */
function lengthTable(out: string): Map<number, [number, number]> {
  const rows = new Map<number, [number, number]>();
  for (const m of out.matchAll(/^ +(\d+) +(\d+(?:\.\d+)?)% +(\d+(?:\.\d+)?)%$/gm)) rows.set(Number(m[1]), [Number(m[2]), Number(m[3])]);
  return rows;
}

/** The summary line of a model: [mean over lengths 3–12, at length 12] in %. */
function summary(out: string, name: string): [number, number] {
  const m = new RegExp(`^${esc(name)} +exact match +(\\d+(?:\\.\\d+)?)% over lengths 3–12, +(\\d+(?:\\.\\d+)?)% at length 12$`, "m").exec(
    out,
  );
  assert.ok(m, `no summary line for ${name} in:\n${out}`);
  return [Number(m[1]), Number(m[2])];
}

export default function check(nb: Executed): void {
  const out = nb.stdout;
  const prose = nb.prose;

  // --- By hand vs the library ---------------------------------------------------------------
  const largest = numberIn(out, /largest \|library − by hand\| over e, α and c of the four scores: (\S+)/);
  assert.ok(largest < 1e-5, `library and hand computation differ by ${largest}`);
  assert.equal(numberIn(prose, /seqlab agrees with the hand computation to (\S+), float32/), largest);
  assert.match(out, /additive α with position 3 masked out: \[ *[\d.]+, *[\d.]+, *0\.000\]/);
  // The numbers the prose reads off the table (printed twice: by hand and by the library).
  const alphaOf = (name: string) => {
    const m = new RegExp(`^${esc(name)} +e = \\[[^\\]]+\\] +α = \\[ *([-\\d.]+), *([-\\d.]+), *([-\\d.]+)\\]`, "m").exec(out);
    assert.ok(m, `no α line for ${name}`);
    return [Number(m[1]), Number(m[2]), Number(m[3])];
  };
  const additive = alphaOf("additive"),
    dot = alphaOf("dot"),
    scaled = alphaOf("scaled-dot"),
    general = alphaOf("general");
  assert.equal(numberIn(prose, /\(\$\\alpha_1\$ = (\d+(?:\.\d+)?)\)/), additive[0]);
  for (const a of [additive, dot, scaled, general]) assert.equal(Math.min(...a), a[1], "h_enc(2) should get the least weight");
  const scaledQuoted =
    /scaled dot gives\s+\[(\d+(?:\.\d+)?), (\d+(?:\.\d+)?), (\d+(?:\.\d+)?)\] where dot gives \[(\d+(?:\.\d+)?), (\d+(?:\.\d+)?), (\d+(?:\.\d+)?)\]/.exec(
      prose,
    );
  assert.ok(scaledQuoted, "the prose quotes the scaled-dot and dot weights");
  assert.deepEqual(scaledQuoted.slice(1, 4).map(Number), scaled);
  assert.deepEqual(scaledQuoted.slice(4, 7).map(Number), dot);
  assert.ok(Math.max(...scaled) - Math.min(...scaled) < Math.max(...dot) - Math.min(...dot), "scaled dot should be flatter");

  // --- With and without attention -------------------------------------------------------------
  const lossAttention = numberIn(out, /^additive attention +loss [\d.]+ at step 1 → (\d+(?:\.\d+)?)/m);
  const lossFixed = numberIn(out, /^fixed context +loss [\d.]+ at step 1 → (\d+(?:\.\d+)?)/m);
  assert.ok(lossAttention < lossFixed / 3, `final loss: attention ${lossAttention}, fixed ${lossFixed}`);
  assert.equal(numberIn(prose, /its training loss is still (\d+(?:\.\d+)?) at the end/), lossFixed);
  assert.equal(numberIn(prose, /against\s+(\d+(?:\.\d+)?) with attention/), lossAttention);

  const table = lengthTable(out);
  assert.deepEqual([...table.keys()], [3, 4, 5, 6, 7, 8, 9, 10, 11, 12], `length table:\n${out}`);
  const [fixed3, attention3] = table.get(3)!;
  const [fixed6] = table.get(6)!;
  const [fixed12, attention12] = table.get(12)!;
  assert.ok(fixed3 >= 90 && attention3 >= 90, "both models should reverse 3-digit strings");
  assert.ok(fixed12 <= 10, `fixed context at length 12: ${fixed12}%`);
  assert.ok(attention12 >= 30, `attention at length 12: ${attention12}%`);
  for (const [n, [f, a]] of table) if (n >= 6) assert.ok(a - f >= 30, `length ${n}: attention ${a}% vs fixed ${f}%`);
  assert.equal(numberIn(prose, /fixed-context model reverses (\d+(?:\.\d+)?)% of 3-digit/), fixed3);
  assert.equal(numberIn(prose, /3-digit strings, (\d+(?:\.\d+)?)% of\s+6-digit/), fixed6);
  for (const n of [10, 11, 12]) assert.equal(table.get(n)![0], 0, `prose: "none from 10 digits on", but length ${n}`);
  assert.equal(numberIn(prose, /With attention, (\d+(?:\.\d+)?)% of 10-digit strings/), table.get(10)![1]);
  assert.equal(numberIn(prose, /10-digit strings and (\d+(?:\.\d+)?)% of 12-digit ones/), attention12);

  // --- Heatmaps: the shifted anti-diagonal ------------------------------------------------------
  const maps = [
    ...out.matchAll(/^(\d+) → (\d+) \((right|wrong)\)\n {2}largest weight of output steps 1…(\d+) on input position: ([\d ]+)$/gm),
  ];
  assert.equal(maps.length, 3, `heatmap lines:\n${out}`);
  const [six, nine, twelve] = maps;
  assert.equal(six[1].length, 6);
  assert.equal(nine[1].length, 9);
  assert.equal(twelve[1].length, 12);
  const positions = twelve[5].trim().split(" ").map(Number);
  assert.equal(positions.length, 13, "12 output steps and END");
  assert.equal(positions[0], 12, "output step 1 should look at the last input digit");
  const shifted = positions.slice(1, 12).filter((p, i) => p === 12 - (i + 2) + 2).length;
  assert.ok(shifted >= 10, `steps 2…12 on T_in − t + 2: ${shifted} of 11 (${positions})`);
  assert.equal(positions[12], 1, "END should look at the first digit");
  const quoted = (re: RegExp) => {
    const m = re.exec(prose);
    assert.ok(m, `the prose quotes the positions: ${re.source}`);
    return m[1].trim().split(/\s+/).map(Number);
  };
  assert.deepEqual(quoted(/for the 12-digit string: ([\d ]+), the\s+last for END/), positions, "the prose quotes these positions");
  // All three examples are right, the 9-digit one on the same shifted anti-diagonal, as the prose says.
  assert.equal(nine[3], "right");
  const ninePositions = nine[5].trim().split(" ").map(Number);
  assert.deepEqual(quoted(/the\s+9-digit one: ([\d ]+), again/), ninePositions, "the prose quotes the 9-digit positions");
  const nineShifted = ninePositions.slice(1, 9).filter((p, i) => p === 9 - (i + 2) + 2).length;
  assert.ok(nineShifted >= 7, `9 digits, steps 2…9 on T_in − t + 2: ${nineShifted} of 8 (${ninePositions})`);
  assert.match(prose, /All three examples come out right/);
  assert.equal(six[3], "right");
  assert.equal(twelve[3], "right");

  // --- Four scores ----------------------------------------------------------------------------
  const s = {
    fixed: summary(out, "fixed context"),
    additive: summary(out, "additive attention"),
    dot: summary(out, "dot attention"),
    general: summary(out, "general attention"),
    scaled: summary(out, "scaled-dot attention"),
  };
  assert.equal(s.additive[1], attention12);
  assert.equal(s.fixed[1], fixed12);
  assert.ok(s.additive[0] - s.fixed[0] >= 30, `additive ${s.additive[0]}% vs fixed ${s.fixed[0]}%`);
  assert.ok(s.general[0] - s.fixed[0] >= 30, `general ${s.general[0]}% vs fixed ${s.fixed[0]}%`);
  assert.ok(s.additive[0] > s.dot[0] && s.general[0] > s.dot[0], "prose: additive and general beat dot");
  assert.ok(s.dot[0] > s.scaled[0] + 20, "prose: dot beats scaled dot");
  assert.ok(Math.abs(s.scaled[0] - s.fixed[0]) < 10, `prose: scaled dot (${s.scaled[0]}%) barely better than fixed (${s.fixed[0]}%)`);
  const q =
    /Additive \((\d+(?:\.\d+)?)% over lengths 3–12, (\d+(?:\.\d+)?)% at\s+length 12\) and general \((\d+(?:\.\d+)?)%, (\d+(?:\.\d+)?)%\)/.exec(
      prose,
    );
  assert.ok(q, "the prose quotes additive and general");
  assert.deepEqual(q.slice(1).map(Number), [...s.additive, ...s.general]);
  const d = /Dot \((\d+(?:\.\d+)?)%, (\d+(?:\.\d+)?)%\)/.exec(prose);
  assert.ok(d);
  assert.deepEqual(d.slice(1).map(Number), s.dot);
  assert.equal(numberIn(prose, /Scaled dot \((\d+(?:\.\d+)?)%\)/), s.scaled[0]);
  assert.equal(numberIn(prose, /fixed context\s+\((\d+(?:\.\d+)?)%\)/), s.fixed[0]);
  // How sharp the weights are: scaled dot's are the flattest, as the prose says.
  const sharp = (name: string) => numberIn(out, new RegExp(`^${esc(name)} +(\\d\\.\\d+)$`, "m"));
  const [sAdd, sDot, sGen, sScaled] = ["additive attention", "dot attention", "general attention", "scaled-dot attention"].map(sharp);
  assert.ok(sScaled < Math.min(sAdd, sDot, sGen) / 2, `largest weights: scaled dot ${sScaled}, others ${sAdd} ${sDot} ${sGen}`);
  assert.ok(sScaled > 1 / 12, "at least as sharp as uniform");
  assert.equal(numberIn(prose, /the largest weight of an output step is (\d+\.\d+)\s+on average/), sScaled);
  assert.equal(numberIn(prose, /against (\d+\.\d+) for additive/), sAdd);
  assert.equal(numberIn(prose, /and (\d+\.\d+) for general/), sGen);
  assert.equal(numberIn(prose, /would give (\d+\.\d+)\)/), numberIn(out, /\(uniform: (\d+\.\d+)\)/));
  assert.equal(numberIn(prose, /exact match falls from (\d+(?:\.\d+)?)% at 3 digits/), fixed3);
  assert.equal(numberIn(prose, /at 3 digits to (\d+(?:\.\d+)?)%\s+at 12/), fixed12);

  // --- Figures --------------------------------------------------------------------------------
  const title = (f: Executed["figures"][number]) => JSON.stringify(f.layout.title ?? "");
  const find = (re: RegExp) => nb.figures.filter((f) => re.test(title(f)));
  assert.equal(find(/encoder states' triangle/).length, 1, "the triangle of contexts");
  assert.equal(find(/additive attention: training loss per step/).length, 1, "live curve, attention");
  assert.equal(find(/fixed context: training loss per step/).length, 1, "live curve, fixed context");
  const byLength = find(/by input length/);
  assert.equal(byLength.length, 1, "the accuracy-vs-length figure");
  assert.equal(byLength[0].data.length, 2, "both models in one plot");
  assert.equal(find(/\d+ → \d+/).length, 3, "three attention heatmaps");
  const scores = find(/by score/);
  assert.equal(scores.length, 1);
  assert.equal(scores[0].data.length, 5, "five training curves");
  for (const f of nb.figures) {
    assert.ok(title(f).length > 4, "a figure without a title");
    assert.ok(JSON.stringify(f.layout.xaxis ?? {}).includes("title"), `figure ${title(f)} has no x-axis title`);
  }
}
