/**
 * Training curves: loss (and optionally a metric) per epoch, train solid and
 * validation dashed, several runs overlaid in one colour each for comparison.
 *
 * Left panel: loss (linear or log y). Right panel, when any run has a metric: the metric.
 */
import type { Data, Layout } from "plotly.js";
import { calmRange, COLORS, Gaps, lineMode, logAxisTicks, readSeries, sameLength, type Figure, type Series } from "./figure";

/** One training run's history; all series are per epoch (or per step — say so in `xTitle`). */
export interface TrainingRun {
  /** Legend name when several runs are overlaid. Default: "run 1", "run 2", … */
  name?: string;
  /** Training loss. */
  loss: Series;
  /** Validation loss (dashed). Same length as `loss` unless `valX` is given. */
  valLoss?: Series;
  /** Training metric, e.g. accuracy (right panel). Same length as `loss`. */
  metric?: Series;
  /** Validation metric (dashed). Same length as `valLoss`. */
  valMetric?: Series;
  /** x of the training series. Default: 1, 2, …, loss.length. */
  x?: Series;
  /** x of the validation series, when validation ran less often. Default: `x`. */
  valX?: Series;
}

export interface TrainingCurvesOptions {
  /** Figure title. Default: "Training curves". */
  title?: string;
  /** Log scale on the loss axis (values ≤ 0 become gaps). Default: false. */
  logY?: boolean;
  /** Name of the metric, for its axis. Default: "metric". */
  metricName?: string;
  /** Title of the x axes. Default: "epoch". */
  xTitle?: string;
  /** Title of the loss axis, for a curve of something else (e.g. a gradient norm). Default: "loss" (with "(log scale)" when logY). */
  yTitle?: string;
}

/**
 * Loss curves (and metric curves) of one or more runs.
 *
 * @example
 * const rnn = [2.3, 1.9, 1.7, 1.6];
 * const lstm = [2.3, 1.5, 0.9, 0.6];
 * show(trainingCurves({ loss: lstm, valLoss: [2.2, 1.6, 1.1, 0.9] }, { logY: true }));
 * show(trainingCurves([{ name: "RNN", loss: rnn }, { name: "LSTM", loss: lstm }]));
 * @throws if a series is empty, not numbers, or its length does not match its x
 */
export function trainingCurves(runs: TrainingRun | TrainingRun[], options: TrainingCurvesOptions = {}): Figure {
  const list = Array.isArray(runs) ? runs : [runs];
  if (list.length === 0) throw new Error("runs: empty list, nothing to plot");
  const { title = "Training curves", logY = false, metricName = "metric", xTitle = "epoch", yTitle = "loss" } = options;
  const gaps = new Gaps();
  const many = list.length > 1;
  const hasMetric = list.some((r) => r.metric !== undefined || r.valMetric !== undefined);
  const data: Data[] = [];

  // "(train)" / "(validation)" only tell curves apart when some run has validation curves.
  const hasValidation = list.some((r) => r.valLoss !== undefined || r.valMetric !== undefined);
  list.forEach((run, i) => {
    const arg = many ? `runs[${i}]` : "run";
    if (run === null || typeof run !== "object") throw new Error(`${arg}: expected { loss, valLoss?, … }, got ${String(run)}`);
    const color = COLORS[i % COLORS.length];
    const runName = run.name ?? (many ? `run ${i + 1}` : "");
    const label = (kind: string) => (runName ? (hasValidation ? `${runName} (${kind})` : runName) : kind);
    const loss = readSeries(`${arg}.loss`, run.loss, gaps, { positive: logY });
    const x = run.x === undefined ? loss.map((_, k) => k + 1) : readXs(`${arg}.x`, run.x, `${arg}.loss`, loss.length);
    const valLen = run.valLoss?.length ?? run.valMetric?.length;
    const valX =
      run.valX !== undefined
        ? readXs(`${arg}.valX`, run.valX, run.valLoss ? `${arg}.valLoss` : `${arg}.valMetric`, valLen ?? run.valX.length)
        : x;

    const line = (name: string, values: (number | null)[], xs: number[], dashed: boolean, axis: 1 | 2, legend: boolean): Data => ({
      type: "scatter",
      mode: lineMode(values),
      name,
      x: xs,
      y: values,
      xaxis: axis === 1 ? "x" : "x2",
      yaxis: axis === 1 ? "y" : "y2",
      line: { color, dash: dashed ? "dash" : "solid" },
      marker: { color, size: 5 },
      legendgroup: name,
      showlegend: legend,
      connectgaps: false,
    });
    const valSeries = (name: string, s: Series, positive: boolean) => {
      const v = readSeries(name, s, gaps, { positive });
      if (run.valX === undefined) sameLength(name, v.length, `${arg}.loss`, loss.length);
      else sameLength(name, v.length, `${arg}.valX`, valX.length);
      return v;
    };

    data.push(line(label("train"), loss, x, false, 1, true));
    if (run.valLoss !== undefined)
      data.push(line(label("validation"), valSeries(`${arg}.valLoss`, run.valLoss, logY), valX, true, 1, true));
    if (run.metric !== undefined) {
      const m = readSeries(`${arg}.metric`, run.metric, gaps);
      sameLength(`${arg}.metric`, m.length, `${arg}.loss`, loss.length);
      data.push(line(label("train"), m, x, false, 2, false));
    }
    if (run.valMetric !== undefined) {
      data.push(line(label("validation"), valSeries(`${arg}.valMetric`, run.valMetric, false), valX, true, 2, run.valLoss === undefined));
    }
  });

  const ys = (axis: string) =>
    data.filter((d) => (d as { yaxis?: string }).yaxis === axis).flatMap((d) => (d as { y: (number | null)[] }).y);
  const lossRange = logY ? undefined : calmRange(ys("y"));
  const layout: Partial<Layout> = {
    title: gaps.title(title),
    xaxis: { title: { text: xTitle }, domain: hasMetric ? [0, 0.45] : [0, 1], anchor: "y" },
    yaxis: {
      title: { text: logY ? `${yTitle} (log scale)` : yTitle },
      type: logY ? "log" : "linear",
      anchor: "x",
      ...(logY ? logAxisTicks(ys("y")) : {}),
      ...(lossRange ? { range: lossRange } : {}),
    },
    legend: { orientation: "h", y: -0.2 },
    margin: { t: gaps.list().length ? 80 : 50 },
  };
  if (hasMetric) {
    layout.xaxis2 = { title: { text: xTitle }, domain: [0.55, 1], anchor: "y2" };
    // A metric between 0 and 1 (accuracy) is shown on its whole scale, so chance and perfect read at a glance.
    const metric = ys("y2").filter((v): v is number => v !== null);
    const unit = metric.length > 0 && metric.every((v) => v >= 0 && v <= 1);
    const metricRange = unit ? [0, 1.02] : calmRange(metric);
    layout.yaxis2 = { title: { text: metricName }, anchor: "x2", ...(metricRange ? { range: metricRange } : {}) };
  }
  return { data, layout };
}

/** x values must be finite numbers (a gap in x makes no sense) and match the series. */
function readXs(name: string, xs: Series, seriesName: string, n: number): number[] {
  const gaps = new Gaps();
  const v = readSeries(name, xs, gaps);
  if (gaps.list().length > 0) throw new Error(`${name}: x values must be finite numbers`);
  sameLength(name, v.length, seriesName, n);
  return v as number[];
}
