/**
 * Figures that redraw in place while a model trains.
 *
 * `liveFigure()` shows a figure with a display id; each `update()` replaces it through
 * update_display_data (what tslab's `newDisplay()` does, sent through the seqlab kernel's
 * bridge). Updates are throttled — at most one redraw per `interval` ms, 4 a second by
 * default — so a training loop can call `update()` every step at no cost: in between,
 * only the newest figure is kept, and a figure given as a function is not even built.
 * The newest state is always drawn: by a timer once the interval has passed, or at
 * once by `close()`.
 *
 * A live output is replaced on every update, so it cannot be the one that carries
 * plotly.js to the page (an 11 MB update 4 times a second): if the page has no
 * plotly.js yet, `liveFigure()` first sends it in an output of its own.
 *
 * Outside the kernel, updates print a one-line summary at most every 2 s, and `close()`
 * prints the final figure's summary. In the kernel, `close()` also adds a still picture of
 * the final state to the output (picture.ts); frames before it stay interactive only.
 */
import { randomUUID } from "crypto";
import { flushOutput, kernelSession, sendDisplay } from "../notebook";
import { checkFigure, type Figure } from "./figure";
import { figureSummary } from "./summary";
import { keepCopy, mimeBundle, plotlySent, sendPlotlyJs } from "./show";
import { attachPicture, warmPictures } from "./picture";

export interface LiveFigureOptions {
  /** Least time between two redraws, in ms. Default: 250 (at most 4 redraws a second). */
  interval?: number;
}

/** A figure shown once and redrawn in place; see {@link liveFigure}. */
export interface LiveFigure {
  /** The Jupyter display id of the output (undefined outside the kernel). */
  readonly displayId: string | undefined;
  /** How many times the figure has been drawn (the first display included). */
  readonly redraws: number;
  /** The newest figure drawn. */
  readonly figure: Figure;
  /**
   * Replaces the figure. Throttled: drawn now if the last redraw is `interval` ms old,
   * else when it is (only the newest figure is kept). A function is called only when
   * its figure is about to be drawn.
   * @throws after close()
   */
  update(fig: Figure | (() => Figure)): void;
  /** Draws the newest figure now if it is not drawn yet and ends the live figure. Safe to call twice. */
  close(): Promise<void>;
}

/** What a live figure shows before its first update. */
const WAITING: Figure = { data: [], layout: { title: { text: "waiting for the first update…" } } };

/**
 * Shows `initial` and returns a handle to redraw it in place.
 *
 * @example
 * const loss: number[] = [];
 * const live = liveFigure(); // "waiting for data" until the first update
 * for (let epoch = 1; epoch <= 100; epoch++) {
 *   loss.push(1 / epoch); // one epoch of training would go here
 *   live.update(() => trainingCurves({ loss }, { logY: true }));
 * }
 * await live.close();
 */
export function liveFigure(initial: Figure = WAITING, options: LiveFigureOptions = {}): LiveFigure {
  checkFigure(initial);
  const interval = options.interval ?? 250;
  if (!(typeof interval === "number" && interval >= 0 && Number.isFinite(interval))) {
    throw new Error(`interval: expected a number of milliseconds ≥ 0, got ${interval}`);
  }
  const inNotebook = kernelSession() !== undefined;
  const displayId = inNotebook ? `seqlab-live-${randomUUID()}` : undefined;
  const minGap = inNotebook ? interval : Math.max(interval, 2000);
  let current = initial;
  let pending: Figure | (() => Figure) | undefined;
  let lastDrawn = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let redraws = 0;

  const draw = (fig: Figure, update: boolean) => {
    current = fig;
    lastDrawn = Date.now();
    redraws++;
    if (inNotebook) {
      sendDisplay({ data: mimeBundle(fig, false), metadata: {}, transient: { display_id: displayId } }, update);
    } else if (update && !closed) {
      // (on close() the full summary follows instead)
      process.stdout.write(
        `live ${figureSummary(fig)
          .split("\n")
          .map((l) => l.trim())
          .join(" | ")}\n`,
      );
    }
  };

  /** Draws the pending figure, if any. */
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending === undefined) return;
    const next = pending;
    pending = undefined;
    const fig = typeof next === "function" ? next() : next;
    checkFigure(fig);
    draw(fig, true);
  };

  if (inNotebook) {
    if (!plotlySent()) sendPlotlyJs();
    draw(initial, false);
    warmPictures();
  }

  return {
    displayId,
    get redraws() {
      return redraws;
    },
    get figure() {
      return current;
    },
    update(fig) {
      if (closed) throw new Error("liveFigure: update() after close(); make a new liveFigure to draw again");
      if (typeof fig !== "function") checkFigure(fig);
      pending = fig;
      const wait = lastDrawn + minGap - Date.now();
      if (wait <= 0) return flush();
      timer ??= setTimeout(() => {
        try {
          flush();
        } catch (e) {
          // Nobody can catch an error thrown in a timer: report it where the user looks.
          process.stderr.write(`seqlab liveFigure: could not draw the update: ${(e as Error).message}\n`);
        }
      }, wait);
    },
    async close() {
      if (closed) return;
      closed = true;
      flush();
      if (!inNotebook) process.stdout.write(figureSummary(current) + "\n");
      // The final state (only) also gets a still picture, for viewers that run no scripts.
      const last = current;
      if (inNotebook && displayId) attachPicture(last, displayId, (picture) => mimeBundle(last, false, picture));
      await keepCopy(current);
      await flushOutput();
    },
  };
}
