/**
 * Figure builders: the traces and layout they return for known inputs, and what they
 * do with bad input (a clear error naming the argument, or a gap that the figure
 * announces) — never a silently blank plot.
 */
import { strict as assert } from "assert";
import {
  attentionWeights,
  gateActivations,
  gradientFlow,
  heatmap,
  hiddenStates,
  sequencePrediction,
  textActivation,
  trainingCurves,
  unfoldedGraph,
  type Figure,
} from "seqlab";
import { figureSummary, gradientFlowHeatmap } from "seqlab/internal";

/** A trace as a plain record (plotly's Data is a union; tests read fields by name). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- plotly's traces are read field by field
type AnyTrace = Record<string, any>;
function trace(fig: Figure, i: number): AnyTrace {
  return fig.data[i] as AnyTrace;
}

function subtitle(fig: Figure): string {
  const t = fig.layout.title as { subtitle?: { text?: string } } | undefined;
  return t?.subtitle?.text ?? "";
}

/** Every figure must survive JSON (it is sent as JSON and embedded in HTML). */
function roundTrips(fig: Figure): void {
  assert.deepEqual(JSON.parse(JSON.stringify(fig)), fig);
}

describe("plot builders", () => {
  describe("trainingCurves", () => {
    it("draws train solid and validation dashed, x = 1..n, loss left and metric right", () => {
      const fig = trainingCurves({ loss: [3, 2, 1], valLoss: new Float32Array([3.5, 2.5, 2]), metric: [0.1, 0.5, 0.9] });
      roundTrips(fig);
      assert.equal(fig.data.length, 3);
      const [train, val, metric] = [0, 1, 2].map((i) => trace(fig, i));
      assert.deepEqual(train.x, [1, 2, 3]);
      assert.deepEqual(train.y, [3, 2, 1]);
      assert.equal(train.name, "train");
      assert.equal(train.line.dash, "solid");
      assert.deepEqual(val.y, [3.5, 2.5, 2]);
      assert.ok(Array.isArray(val.y), "typed arrays become plain arrays");
      assert.equal(val.line.dash, "dash");
      assert.equal(metric.xaxis, "x2");
      assert.equal(metric.yaxis, "y2");
      assert.deepEqual(metric.y, [0.1, 0.5, 0.9]);
      assert.deepEqual(fig.layout.xaxis?.domain, [0, 0.45]);
      assert.equal(fig.layout.yaxis?.type, "linear");
      assert.ok(fig.layout.xaxis2 && fig.layout.yaxis2, "a second panel for the metric");
    });

    it("overlays runs in one colour each, with a log loss axis", () => {
      const fig = trainingCurves(
        [
          { name: "RNN", loss: [2, 1], valLoss: [2.5, 1.5] },
          { name: "LSTM", loss: [2, 0.5], x: [10, 20] },
        ],
        { logY: true },
      );
      assert.deepEqual(
        fig.data.map((d) => d.name),
        ["RNN (train)", "RNN (validation)", "LSTM (train)"],
      );
      assert.equal(trace(fig, 0).line.color, trace(fig, 1).line.color);
      assert.notEqual(trace(fig, 0).line.color, trace(fig, 2).line.color);
      assert.deepEqual(trace(fig, 2).x, [10, 20]);
      assert.equal(fig.layout.yaxis?.type, "log");
      assert.equal(fig.layout.xaxis2, undefined, "no metric, no second panel");
      const noValidation = trainingCurves([
        { name: "no clipping", loss: [3, 9] },
        { name: "clipped", loss: [3, 1] },
      ]);
      assert.deepEqual(
        noValidation.data.map((d) => d.name),
        ["no clipping", "clipped"],
        "without validation curves, names need no (train)",
      );
      assert.deepEqual(trainingCurves({ loss: [1, 2] }, { yTitle: "‖g‖", logY: true }).layout.yaxis?.title, { text: "‖g‖ (log scale)" });
    });

    it("validation measured less often is placed by valX", () => {
      const fig = trainingCurves({ loss: [4, 3, 2, 1], valLoss: [3, 1.5], valX: [2, 4] });
      assert.deepEqual(trace(fig, 1).x, [2, 4]);
      assert.throws(() => trainingCurves({ loss: [4, 3, 2, 1], valLoss: [3, 1.5] }), /run\.valLoss has 2 values but run\.loss has 4/);
    });

    it("NaN becomes a gap that the subtitle names; zero on a log axis too", () => {
      const fig = trainingCurves({ loss: [2, NaN, 1, Infinity] });
      assert.deepEqual(trace(fig, 0).y, [2, null, 1, null]);
      assert.equal(trace(fig, 0).connectgaps, false);
      assert.equal(trace(fig, 0).mode, "lines+markers", "markers keep a point between two gaps visible");
      assert.match(subtitle(fig), /run\.loss: 2 NaN\/±Infinity values shown as gaps \(at indices 1, 3\)/);
      const log = trainingCurves({ loss: [1, 0, 0.5] }, { logY: true });
      assert.deepEqual(trace(log, 0).y, [1, null, 0.5]);
      assert.match(subtitle(log), /≤ 0 \(log axis\)/);
      assert.equal(subtitle(trainingCurves({ loss: [1, 2] })), "", "clean input, no warning");
    });

    it("log axes label every tick in full within a decade and by powers of ten across decades", () => {
      const narrow = trainingCurves({ loss: [0.05, 0.03, 0.01, 0.006] }, { logY: true });
      assert.equal(narrow.layout.yaxis?.tickformat, ".2~g");
      const wide = trainingCurves({ loss: [2, 0.2, 0.02, 0.002] }, { logY: true });
      assert.equal(wide.layout.yaxis?.dtick, 1);
      assert.equal(wide.layout.yaxis?.exponentformat, "power");
      assert.equal(gradientFlow([[1e-6, 1e-3, 1]]).layout.yaxis?.dtick, 1);
    });

    it("a loss flat at chance is not blown up to the full height; accuracy is shown from 0 to 1", () => {
      const flat = trainingCurves({ loss: [1.3855, 1.389, 1.387], metric: [0.24, 0.26, 0.25] });
      const [lo, hi] = flat.layout.yaxis?.range as [number, number];
      assert.ok(Math.abs(hi - lo - 0.1389) < 1e-9 && lo < 1.3855 && hi > 1.389, `range ${lo}..${hi}`);
      assert.deepEqual(flat.layout.yaxis2?.range, [0, 1.02]);
      const falling = trainingCurves({ loss: [2, 1, 0.5] });
      assert.equal(falling.layout.yaxis?.range, undefined, "a loss that moves is autoscaled");
    });

    it("bad input: a clear error naming the argument", () => {
      assert.throws(() => trainingCurves({ loss: [] }), /run\.loss: empty series/);
      assert.throws(() => trainingCurves({ loss: [NaN, NaN] }), /run\.loss: all 2 values are NaN/);
      assert.throws(
        () => trainingCurves([{ loss: [1] }, { loss: [1, 2], metric: [1] }]),
        /runs\[1\]\.metric has 1 values but runs\[1\]\.loss has 2/,
      );
      assert.throws(() => trainingCurves({ loss: [1, "2" as unknown as number] }), /run\.loss\[1\]: expected a number, got string 2/);
      assert.throws(() => trainingCurves({ loss: 5 as unknown as number[] }), /run\.loss: expected an array of numbers/);
      assert.throws(() => trainingCurves({ loss: [1, 2], x: [1] }), /run\.x has 1 values but run\.loss has 2/);
      assert.throws(() => trainingCurves([]), /runs: empty list/);
    });
  });

  describe("heatmaps", () => {
    it("heatmap: z as given, row 0 on top, labels on numeric ticks (repeated labels keep their columns)", () => {
      const fig = heatmap(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        { xLabels: ["a", "b", "a"], yLabels: ["r0", "r1"], title: "M" },
      );
      roundTrips(fig);
      const t = trace(fig, 0);
      assert.equal(t.type, "heatmap");
      assert.deepEqual(t.z, [
        [1, 2, 3],
        [4, 5, 6],
      ]);
      assert.deepEqual(t.x, [0, 1, 2]);
      assert.deepEqual(fig.layout.xaxis?.tickvals, [0, 1, 2]);
      assert.deepEqual(fig.layout.xaxis?.ticktext, ["a", "b", "a"]);
      assert.equal(fig.layout.yaxis?.autorange, "reversed");
      assert.equal(t.text[1][2], "x a, y r1");
    });

    it("hiddenStates: [T][H] in, units × time out, time counted from 1, symmetric colours", () => {
      const fig = hiddenStates([
        [0.1, 0.2],
        [0.3, 0.4],
        [0.5, -0.6],
      ]);
      const t = trace(fig, 0);
      assert.deepEqual(t.z, [
        [0.1, 0.3, 0.5],
        [0.2, 0.4, -0.6],
      ]);
      assert.deepEqual(fig.layout.xaxis?.ticktext, ["1", "2", "3"]);
      assert.equal(t.zmin, -1);
      assert.equal(t.zmax, 1);
      assert.equal(t.colorscale, "RdBu");
      const wide = hiddenStates([[3, -0.5]], { name: "s" });
      assert.equal(trace(wide, 0).zmax, 3, "a cell state beyond ±1 widens the range");
      assert.match(String((wide.layout.title as { text: string }).text), /s\(t\)/);
    });

    it("gateActivations: one panel per gate on one 0..1 scale", () => {
      const g = [
        [0.1, 0.9],
        [0.2, 0.8],
        [0.3, 0.7],
      ];
      const fig = gateActivations({ i: g, f: g, o: g });
      assert.equal(fig.data.length, 3);
      assert.deepEqual(
        fig.data.map((d) => [d.name, (d as AnyTrace).xaxis, (d as AnyTrace).yaxis]),
        [
          ["i", "x", "y"],
          ["f", "x2", "y2"],
          ["o", "x3", "y3"],
        ],
      );
      for (const d of fig.data) assert.deepEqual([(d as AnyTrace).zmin, (d as AnyTrace).zmax], [0, 1]);
      assert.deepEqual(trace(fig, 0).z, [
        [0.1, 0.2, 0.3],
        [0.9, 0.8, 0.7],
      ]);
      assert.equal(fig.data.filter((d) => (d as AnyTrace).showscale).length, 1, "one colour bar");
      assert.throws(() => gateActivations({ z: g, r: [[0.1, 0.2]] }), /gates\.r is \[1\]\[2\] but gates\.z is \[3\]\[2\]/);
      assert.throws(() => gateActivations({}), /gates: .*no gates/);
    });

    it("attentionWeights: source tokens across, target tokens down", () => {
      const fig = attentionWeights(
        [
          [0.9, 0.1, 0],
          [0.2, 0.2, 0.6],
        ],
        ["le", "chat", "le"],
        ["the", "cat"],
      );
      const t = trace(fig, 0);
      assert.deepEqual(t.z, [
        [0.9, 0.1, 0],
        [0.2, 0.2, 0.6],
      ]);
      assert.deepEqual(fig.layout.xaxis?.ticktext, ["le", "chat", "le"]);
      assert.deepEqual(fig.layout.yaxis?.ticktext, ["the", "cat"]);
      assert.deepEqual([t.zmin, t.zmax], [0, 1]);
      // The strongest weight is the darkest cell: the colour at 1 is darker than at 0.
      const scale = t.colorscale as [number, string][];
      const lightness = (hex: string) => [1, 3, 5].reduce((sum, i) => sum + parseInt(hex.slice(i, i + 2), 16), 0);
      assert.equal(scale[0][0], 0);
      assert.equal(scale.at(-1)![0], 1);
      assert.ok(lightness(scale.at(-1)![1]) < lightness(scale[0][1]) / 2, `colours ${JSON.stringify(scale)}`);
      assert.throws(() => attentionWeights([[1, 0]], ["a"], ["b"]), /sourceTokens has 1 values but the data has 2/);
      assert.throws(
        () => attentionWeights([[1, 0], [1]], ["a", "b"], ["c", "d"]),
        /weights: rows must have equal lengths; row 0 has 2 values, row 1 has 1/,
      );
    });

    it("NaN cells are gaps and named; empty or all-NaN matrices are errors", () => {
      const fig = heatmap([
        [1, NaN],
        [3, 4],
      ]);
      assert.deepEqual(trace(fig, 0).z, [
        [1, null],
        [3, 4],
      ]);
      assert.match(subtitle(fig), /z: 1 NaN\/±Infinity value shown as gaps \(at \[0\]\[1\]\)/);
      assert.throws(() => heatmap([]), /z: no rows/);
      assert.throws(() => heatmap([[]]), /z\[0\]: expected a non-empty row/);
      assert.throws(() => hiddenStates([[NaN]]), /states: all 1 values are non-finite/);
    });
  });

  describe("gradient flow", () => {
    const norms = [
      [1e-6, 1e-3, 1],
      [1e-2, 1e-1, 1],
    ];

    it("gradientFlow: one line per epoch against t = 1..T on a log axis, early dark, late bright", () => {
      const fig = gradientFlow(norms);
      assert.equal(fig.data.length, 2);
      assert.deepEqual(trace(fig, 0).x, [1, 2, 3]);
      assert.deepEqual(trace(fig, 1).y, [1e-2, 1e-1, 1]);
      assert.deepEqual(
        fig.data.map((d) => d.name),
        ["epoch 1", "epoch 2"],
      );
      assert.equal(fig.layout.yaxis?.type, "log");
      assert.equal(trace(fig, 0).line.color, "#440154");
      assert.equal(trace(fig, 1).line.color, "#fde725");
      assert.equal(gradientFlow([1, 0.5, 0.25]).data.length, 1, "one epoch may be a plain series");
      const named = gradientFlow(
        [
          [1, 0.5],
          [2, 1],
        ],
        { epochs: ["ρ(W) = 0.5", 3] },
      );
      assert.deepEqual(
        named.data.map((d) => d.name),
        ["ρ(W) = 0.5", "epoch 3"],
        "strings are names as they are, numbers are epochs",
      );
    });

    it("gradientFlowHeatmap: t × epoch, colour = log10 of the norm", () => {
      const fig = gradientFlowHeatmap(norms, { epochs: [5, 10] });
      const t = trace(fig, 0);
      assert.deepEqual(t.z, [
        [-6, -3, 0],
        [-2, -1, 0],
      ]);
      assert.deepEqual(t.x, [1, 2, 3]);
      assert.deepEqual(fig.layout.yaxis?.ticktext, ["5", "10"]);
    });

    it("a vanished (zero) gradient is a named gap, not a silent hole", () => {
      const fig = gradientFlow([[0, 1e-3, 1]]);
      assert.deepEqual(trace(fig, 0).y, [null, 1e-3, 1]);
      assert.match(subtitle(fig), /norms: 1 non-finite or ≤ 0 value shown as gaps \(at \[0\]\[0\]\)/);
      assert.throws(() => gradientFlow([[0, 0]]), /norms: all 2 values are non-finite or ≤ 0/);
      assert.throws(() => gradientFlow([[1, 2]], { epochs: [1, 2] }), /epochs has 2 values but the data has 1/);
    });
  });

  describe("sequencePrediction", () => {
    it("splits the prediction into teacher-forced and free-running parts that meet, and shades the free-running steps", () => {
      const target = [0, 1, 2, 3, 4];
      const fig = sequencePrediction(target, [0.1, 1.1, 2.1, 3.5, 5], { freeRunningFrom: 3 });
      roundTrips(fig);
      assert.deepEqual(
        fig.data.map((d) => d.name),
        ["target", "prediction (teacher-forced)", "prediction (free-running)"],
      );
      assert.deepEqual(trace(fig, 0).y, target);
      assert.deepEqual(trace(fig, 1).x, [1, 2, 3]);
      assert.deepEqual(trace(fig, 2).x, [3, 4, 5], "starts at the last teacher-forced step so the line is unbroken");
      assert.deepEqual(trace(fig, 2).marker.size, [0, 5, 5], "…but without a marker there");
      const rect = fig.layout.shapes?.[0];
      assert.equal(rect?.type, "rect");
      assert.equal(rect?.x0, 3.5);
      assert.equal(rect?.x1, 5.5);
      assert.deepEqual(
        fig.layout.annotations?.map((a) => a.text?.trim()),
        ["teacher-forced ◀", "▶ free-running"],
      );
    });

    it("without freeRunningFrom: one prediction line, nothing shaded", () => {
      const fig = sequencePrediction([1, 2], [1, 2]);
      assert.equal(fig.data.length, 2);
      assert.equal(fig.layout.shapes, undefined);
    });

    it("bad input", () => {
      assert.throws(() => sequencePrediction([1, 2, 3], [1, 2]), /prediction has 2 values but target has 3/);
      assert.throws(
        () => sequencePrediction([1, 2], [1, 2], { freeRunningFrom: 3 }),
        /freeRunningFrom: expected an integer step index in 0\.\.2/,
      );
      assert.throws(() => sequencePrediction([], []), /target: empty series/);
      const gap = sequencePrediction([1, 2, 3], [1, NaN, 3]);
      assert.deepEqual(trace(gap, 1).y, [1, null, 3]);
      assert.match(subtitle(gap), /prediction: 1 NaN/);
    });
  });

  describe("textActivation", () => {
    it("one cell per character, coloured by the activation, wrapped at newlines and at `width`", () => {
      const text = "ab\ncdefg";
      const act = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
      const fig = textActivation(text, act, { width: 3, unit: 7 });
      roundTrips(fig);
      const t = trace(fig, 0);
      assert.deepEqual(t.text, [
        ["a", "b", "↵"],
        ["c", "d", "e"],
        ["f", "g", ""],
      ]);
      assert.deepEqual(t.z, [
        [0.1, 0.2, 0.3],
        [0.4, 0.5, 0.6],
        [0.7, 0.8, null],
      ]);
      assert.equal(t.texttemplate, "%{text}");
      assert.deepEqual([t.zmin, t.zmax], [-1, 1]);
      assert.equal((fig.layout.title as { text: string }).text, "Activation of unit 7");
      assert.deepEqual((t.colorbar as { title: unknown }).title, { text: "activation" });
      const loss = textActivation(text, act, { colorbarTitle: "loss (nats)" });
      assert.deepEqual((trace(loss, 0).colorbar as { title: unknown }).title, { text: "loss (nats)" });
      // By default 48 characters a line: the figure fits a notebook's width.
      const long = textActivation("x".repeat(100), new Array(100).fill(0));
      assert.equal((trace(long, 0).z as unknown[]).length, 3);
      assert.ok((long.layout.width as number) <= 920, `${long.layout.width} px wide`);
    });

    it("escapes markup and counts characters as code points", () => {
      const fig = textActivation("<b>😀", [0, 0, 0, 0]);
      assert.deepEqual(trace(fig, 0).text, [["&lt;", "b", "&gt;", "😀"]]);
    });

    it("bad input", () => {
      assert.throws(() => textActivation("abc", [1, 2]), /activations has 2 values but text \(characters\) has 3/);
      assert.throws(() => textActivation("", []), /text: empty string/);
      assert.throws(() => textActivation("ab", [1, 2], { width: 0 }), /width: expected a positive integer/);
    });
  });

  describe("unfoldedGraph", () => {
    it("draws x, h, o, L, y for every step plus h(0), with U, W, V on the edges, from the sizes", () => {
      const fig = unfoldedGraph({ steps: 3, inputSize: 2, hiddenSize: 4, outputSize: 5 });
      roundTrips(fig);
      const nodes = fig.data.filter((d) => (d as AnyTrace).mode === "text+markers");
      assert.equal(nodes.length, 5);
      const count = (kind: string) => ((nodes.find((d) => String(d.name).startsWith(kind)) as AnyTrace).x as number[]).length;
      assert.deepEqual(["x(t)", "h(t)", "o(t)", "L(t)", "y(t)"].map(count), [3, 4, 3, 3, 3]);
      assert.match(String(nodes[0].name), /x\(t\) ∈ ℝ<sup>2<\/sup>/);
      assert.match(String(nodes[1].name), /ℝ<sup>4<\/sup>/);
      const labels = (fig.data.find((d) => d.name === "shared parameters") as AnyTrace).text as string[];
      assert.deepEqual(
        ["U", "W", "V"].map((p) => labels.filter((l) => l === `<b>${p}</b>`).length),
        [3, 3, 3],
        "each parameter on every step: shared across time",
      );
      assert.equal(fig.layout.annotations?.length, 3 * 5, "arrows: U, W, V, o→L, y→L per step");
      // U 4×2 + W 4×4 + b 4 + V 5×4 + c 5 = 8 + 16 + 4 + 20 + 5
      assert.match(subtitle(fig), /U: 4×2, W: 4×4, b: 4, V: 5×4, c: 5 .*53 parameters/);
    });

    it("long sequences: the first steps, ⋯, the last step", () => {
      const fig = unfoldedGraph({ steps: 100, inputSize: 1, hiddenSize: 1, outputSize: 1 }, { maxColumns: 4 });
      const h = fig.data.find((d) => String(d.name).startsWith("h(t)")) as AnyTrace;
      assert.deepEqual(h.text, ["h<sup>(0)</sup>", "h<sup>(1)</sup>", "h<sup>(2)</sup>", "h<sup>(3)</sup>", "h<sup>(100)</sup>"]);
      assert.ok(fig.data.some((d) => (d as AnyTrace).text?.[0] === "⋯"));
    });

    it("bad sizes name the field", () => {
      assert.throws(
        () => unfoldedGraph({ steps: 0, inputSize: 1, hiddenSize: 1, outputSize: 1 }),
        /sizes\.steps: expected a positive integer, got 0/,
      );
      assert.throws(() => unfoldedGraph({ steps: 2, inputSize: 1.5, hiddenSize: 1, outputSize: 1 }), /sizes\.inputSize/);
    });
  });

  it("figureSummary describes each trace in text", () => {
    const s = figureSummary(trainingCurves({ loss: [1, 0.5, 0.25], valLoss: [1, NaN, 0.5] }));
    assert.match(s, /^plot "Training curves": 2 traces/);
    assert.match(s, /train \(scatter\): 3 points, y 0\.25 … 1, last 0\.25/);
    assert.match(s, /validation \(scatter\): 3 points, y 0\.5 … 1, 1 gap, last 0\.5/);
    assert.match(figureSummary(heatmap([[1, 2]])), /heatmap\): 1×2, z 1 … 2/);
  });
});
