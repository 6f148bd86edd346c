/**
 * A callback that draws the training curves while the model trains: loss (train solid,
 * validation dashed) and accuracy per epoch — or, with `every: "step"`, the loss of every
 * step — in a live figure (plot/live.ts) that redraws in place, at most 4 times a second.
 */
import { liveFigure, type LiveFigure } from "../plot/live";
import { trainingCurves } from "../plot/training-curves";
import type { Figure } from "../plot/figure";
import type { Callback } from "./callbacks";
import { historyCurves, type History } from "./history";

export interface LiveCurvesOptions {
  /** Redraw after every epoch (curves per epoch) or every step (the step losses). Default: "epoch". */
  every?: "epoch" | "step";
  /** Log scale on the loss axis. Default: false. */
  logY?: boolean;
  /** Figure title. Default: "Training curves". */
  title?: string;
  /** Least time between redraws, ms (liveFigure's `interval`). Default: 250. */
  interval?: number;
}

/** The figure {@link liveCurves} draws for a history. */
export function historyFigure(history: History, options: LiveCurvesOptions = {}): Figure {
  const { every = "epoch", logY = false, title = "Training curves" } = options;
  if (every === "step") return trainingCurves({ loss: history.stepLoss }, { logY, title, xTitle: "step" });
  const run = historyCurves(history);
  return trainingCurves(run, { logY, title, metricName: history.accuracy.length ? "accuracy" : "metric" });
}

/** A {@link Callback} feeding a live figure; `.live` is the figure once the run has begun. */
export function liveCurves(options: LiveCurvesOptions = {}): Callback & { readonly live: LiveFigure | undefined } {
  let live: LiveFigure | undefined;
  const every = options.every ?? "epoch";
  const redraw = (h: History) => {
    if (!live) return;
    if (every === "epoch" ? h.loss.length === 0 : h.stepLoss.length === 0) return;
    live.update(() => historyFigure(h, options));
  };
  return {
    get live() {
      return live;
    },
    onTrainBegin(ctx) {
      live = liveFigure(undefined, options.interval !== undefined ? { interval: options.interval } : {});
      redraw(ctx.history);
    },
    onStep(_log, ctx) {
      if (every === "step") redraw(ctx.history);
    },
    onEpoch(_log, ctx) {
      redraw(ctx.history);
    },
    async onTrainEnd(history) {
      redraw(history);
      await live?.close();
    },
  };
}
