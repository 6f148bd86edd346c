/**
 * 10 · Sequence to sequence: the context is one [1, H] vector for any input length; greedy
 * decoding written by hand agrees with greedyDecode; the encoder–decoder learns reversal of
 * short strings and its exact match falls as inputs grow; the digits read longest before c
 * are lost most; beam search finds more likely outputs than greedy decoding, gets a few more strings
 * right, and where it is wrong the model itself prefers the wrong output (so no wider search would
 * help); every number the prose quotes was printed.
 */
import { strict as assert } from "assert";
import { numberIn, type Executed } from "./helpers";

export default function check(nb: Executed): void {
  const out = nb.stdout;

  // One context vector whatever the length.
  assert.match(out, /"314": 3 symbols in, context c of shape \[1,64\]/);
  assert.match(out, /"314159265358": 12 symbols in, context c of shape \[1,64\]/);

  // Greedy decoding by hand = greedyDecode (same output, same log-probability).
  const byHand = [...out.matchAll(/by hand "(\d*)" \(log p (\S+)\), greedyDecode "(\d*)" \(log p (\S+)\)/g)];
  assert.equal(byHand.length, 2, `expected two by-hand/greedyDecode comparisons in:\n${out}`);
  for (const m of byHand) assert.ok(m[1] === m[3] && m[2] === m[4], `by hand ${m[1]} (${m[2]}) vs greedyDecode ${m[3]} (${m[4]})`);

  // Training.
  const m = /trained (\d+) steps: loss per symbol ([\d.]+) → ([\d.]+)/.exec(out);
  assert.ok(m, `no training summary in:\n${out}`);
  assert.ok(Number(m[2]) / Number(m[3]) >= 4, `loss fell only from ${m[2]} to ${m[3]}`);

  // Exact match against length: perfect when short, falling as inputs grow.
  const exact = Array.from({ length: 12 }, (_, k) => numberIn(out, new RegExp(`length +${k + 1}: exact match ([\\d.]+)%`)));
  assert.ok(
    exact.slice(0, 3).every((e) => e >= 95),
    `short strings: ${exact.slice(0, 3)}`,
  );
  assert.ok(exact[11] <= 20, `12 digits: ${exact[11]}% exact (the bottleneck should show)`);
  assert.ok(exact[3] - exact[11] >= 60, `exact match fell only from ${exact[3]}% (4 digits) to ${exact[11]}% (12)`);
  for (let k = 4; k < 12; k++) assert.ok(exact[k] <= exact[k - 1] + 3, `exact match rose from length ${k} to ${k + 1}: ${exact}`);

  // Digits right by output position: the first output (last input) best, the last output (first input) worst.
  const positions = (n: number) => {
    const row = new RegExp(`length +${n}, digits right by output position: ([\\d ]+)`).exec(out);
    assert.ok(row, `no positions for length ${n}`);
    return row[1].trim().split(/ +/).map(Number);
  };
  const p12 = positions(12),
    p8 = positions(8);
  assert.equal(p12.length, 12);
  assert.ok(p12[0] - p12[11] >= 30, `length 12: first output ${p12[0]}% vs last ${p12[11]}%`);
  assert.ok(
    nb.prose.includes(`right in ${p12[0]}% of the strings`) && nb.prose.includes(`falls to ${p12[11]}% at the last`),
    "prose quotes other position numbers",
  );
  assert.ok(p8[7] > Math.min(...p8), `the 8-digit curve does not rise at its end (${p8}) as the prose says`);

  // Greedy vs beam.
  const total = numberIn(out, /(\d+) held-out strings; greedy and beam disagree/);
  const d = /greedy and beam disagree on (\d+); beam's output is the more likely one in (\d+) of them/.exec(out);
  assert.ok(d, "no disagreement summary");
  const [disagree, moreLikely] = [Number(d[1]), Number(d[2])];
  assert.ok(disagree >= 5, `greedy and beam disagree on only ${disagree} strings: nothing to show`);
  // The prose says beam's output is the more likely one "every time".
  assert.equal(moreLikely, disagree, `beam more likely in only ${moreLikely} of ${disagree}`);
  const split = /of those (\d+): greedy right (\d+), beam right (\d+), both wrong (\d+)/.exec(out);
  assert.ok(split, "no split of the disagreements");
  const [greedyRight, beamRight, bothWrong] = [Number(split[2]), Number(split[3]), Number(split[4])];
  assert.equal(greedyRight + beamRight + bothWrong, disagree, `split ${split[0]} does not add up`);
  assert.equal(greedyRight, 0, `greedy right on ${greedyRight} disagreements: the prose says none`);
  assert.ok(beamRight >= 1, "beam is never right where greedy is wrong: no example of what it buys");
  assert.ok(bothWrong >= 0.6 * disagree, `both wrong in only ${bothWrong} of ${disagree}: "barely moves" may no longer hold`);
  const greedyExact = numberIn(out, /greedy: +exact match ([\d.]+)%/),
    beamExact = numberIn(out, /beam \(k = 4\): +exact match ([\d.]+)%/);
  const greedyLogP = numberIn(out, /greedy: +exact match [\d.]+%, mean log p (\S+)/),
    beamLogP = numberIn(out, /beam \(k = 4\): +exact match [\d.]+%, mean log p (\S+)/);
  assert.ok(beamLogP >= greedyLogP, `beam's mean log p ${beamLogP} is below greedy's ${greedyLogP}`);
  assert.ok(beamExact >= greedyExact, `beam's exact match ${beamExact}% is below greedy's ${greedyExact}%`);
  assert.ok(beamExact - greedyExact <= 5, `exact match greedy ${greedyExact}% vs beam ${beamExact}%: it no longer "barely moves"`);
  assert.ok(
    Math.abs(beamExact - greedyExact - (100 * (beamRight - greedyRight)) / total) < 0.1,
    `exact match ${greedyExact}% → ${beamExact}% is not the ${beamRight} strings beam gets right`,
  );
  // Where beam is wrong, the model prefers a wrong answer: the prose says "on all of them".
  const w = /beam wrong on (\d+): the model gives the right answer a lower log p than beam's output in (\d+) of them/.exec(out);
  assert.ok(w, "no count of model errors");
  const [beamWrong, modelErrors] = [Number(w[1]), Number(w[2])];
  assert.equal(beamWrong, Math.round(total * (1 - beamExact / 100)), `${beamWrong} wrong does not match ${beamExact}% of ${total}`);
  assert.equal(
    modelErrors,
    beamWrong,
    `the right answer is more likely than beam's output on ${beamWrong - modelErrors} strings: a wider beam would help`,
  );
  // The examples: first the strings beam gets right and greedy not, then both wrong with the right answer's log p.
  const [rightPart, wrongPart] = out.slice(out.indexOf("Greedy wrong, beam right")).split("Both wrong, and the log p");
  assert.ok(wrongPart, "no examples where both are wrong");
  const example =
    /^ {2}greedy +"(\d*)" +log p +(\S+) +(right|wrong)\n {2}beam \(k = 4\) +"(\d*)" +log p +(\S+) +(right|wrong)(?:\n {2}right answer +"(\d*)" +log p +(\S+))?/gm;
  const shownRight = [...rightPart.split("\n\n")[0].matchAll(example)],
    shownWrong = [...wrongPart.split("\n\n")[0].matchAll(example)];
  assert.equal(shownRight.length, beamRight, `${shownRight.length} examples of beam right, but beam right ${beamRight}`);
  for (const e of shownRight)
    assert.ok(e[3] === "wrong" && e[6] === "right" && Number(e[5]) > Number(e[2]), `not greedy wrong, beam right and more likely: ${e[0]}`);
  assert.equal(shownWrong.length, 3, "expected three examples where both are wrong");
  for (const e of shownWrong)
    assert.ok(
      e[3] === "wrong" && e[6] === "wrong" && e[7] !== undefined && Number(e[8]) < Number(e[5]),
      `not both wrong with the right answer less likely than beam's: ${e[0]}`,
    );
  // Every "−a against −b" the prose quotes is a pair the notebook printed: greedy's and beam's log p
  // where beam is right, the right answer's and beam's where both are wrong, or the two means.
  const abs = (v: string) => v.replace(/^[-−]/, "");
  const printedPairs = [
    ...shownRight.map((e) => [e[2], e[5]]),
    ...shownWrong.map((e) => [e[8], e[5]]),
    [greedyLogP.toFixed(3), beamLogP.toFixed(3)],
  ].map((pair) => pair.map(abs).sort().join(" "));
  const pairs = [...nb.prose.matchAll(/−(\d+\.\d+) against −(\d+\.\d+)/g)];
  assert.ok(pairs.length >= 5, `the prose quotes only ${pairs.length} log p pairs`);
  for (const [q, a, b] of pairs)
    assert.ok(printedPairs.includes([a, b].sort().join(" ")), `the prose's "${q}" is not a pair the notebook printed`);
  assert.ok(
    nb.prose.includes(`−${(-beamLogP).toFixed(3)} against −${(-greedyLogP).toFixed(3)}`) &&
      nb.prose.includes(`${beamExact.toFixed(1)}% against ${greedyExact.toFixed(1)}%`),
    "the prose quotes other mean log p or exact match numbers for beam and greedy",
  );
  assert.ok(nb.prose.includes(`more than ${beamExact.toFixed(1)}% right`), "the prose's bound on any search is not beam's exact match");
  for (const n of [disagree, moreLikely, beamRight, bothWrong, beamWrong, total])
    assert.ok(new RegExp(`\\b${n}\\b`).test(nb.prose), `the prose does not quote ${n}`);
  assert.ok(nb.prose.includes(`on all ${modelErrors} strings`), `the prose does not say "on all ${modelErrors} strings"`);

  // Every decimal the prose quotes was printed.
  for (const q of nb.prose.matchAll(/\d+\.\d+/g))
    assert.ok(out.includes(q[0]), `the prose quotes ${q[0]}, which the notebook did not print`);

  // The sections after the experiments are there: what attention will fix, then the exercises.
  assert.match(
    nb.prose,
    /## What attention will fix[\s\S]*## Exercises\n\n1\. /,
    "the notebook no longer ends with attention and the exercises",
  );

  // Figures.
  const titles = nb.figures.map((f) => {
    const t = f.layout.title as { text?: string } | string | undefined;
    return typeof t === "string" ? t : (t?.text ?? "");
  });
  for (const re of [
    /Encoder–decoder on reversal: loss per symbol/,
    /Exact match falls as inputs grow/,
    /Digits right by output position/,
  ]) {
    assert.ok(
      titles.some((t) => re.test(t)),
      `missing figure ${re} (have: ${titles.join(" | ")})`,
    );
  }
}
