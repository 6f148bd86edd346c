/**
 * The progress display: how far training is, how long it will take, and the current
 * metrics.
 *
 * - In a notebook (the seqlab kernel): one HTML output — a progress bar, the epoch and
 *   step, elapsed time and ETA, the running loss (and accuracy/perplexity), the last
 *   validation figures — redrawn in place (update_display_data on one display id), at most
 *   every `interval` ms, and always at the end of an epoch and of the run.
 * - In a terminal: a text line per epoch, and one every `terminalInterval` ms inside long epochs.
 *
 * ETA = (steps still to go) × (seconds per step so far); it is known once the steps per
 * epoch are (a list of batches: from the start; generated batches: after the first epoch).
 */
import { randomUUID } from "crypto";
import { inKernel, sendDisplay } from "../notebook";
import type { Callback, EpochLog, StepLog, TrainContext } from "./callbacks";
import type { History } from "./history";
import type { Metrics } from "./metrics";

export interface ProgressOptions {
  /** Least time between two redraws in a notebook, ms. Default: 250. */
  interval?: number;
  /** Least time between two step lines in a terminal, ms. Default: 10,000. */
  terminalInterval?: number;
  /** Where terminal lines go. Default: process.stdout. */
  write?: (line: string) => void;
}

/** The numbers a progress display shows (also what the HTML and the text are built from). */
export interface ProgressState {
  epoch: number;
  lastEpoch: number;
  firstEpoch: number;
  /** Steps done in this run. */
  steps: number;
  /** Steps this run will take, when known. */
  totalSteps?: number;
  elapsed: number;
  /** Seconds left, when known. */
  eta?: number;
  running?: Metrics;
  validation?: Metrics;
  /** Set when the run has ended: why. */
  done?: string;
}

/** "1:02:03" or "2:03". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

function metricText(m: Metrics | undefined, prefix: string): string[] {
  if (!m) return [];
  const out = [`${prefix}loss ${num(m.loss)}`];
  if (m.accuracy !== undefined) out.push(`${prefix}acc ${num(m.accuracy)}`);
  if (m.perplexity !== undefined) out.push(`${prefix}ppl ${num(m.perplexity)}`);
  return out;
}

function num(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(4))) : String(x);
}

/** One line of text: "epoch 3/10 · step 120/400 · 0:12 elapsed · ETA 0:24 · loss 0.1234 · val loss 0.2". */
export function progressText(p: ProgressState): string {
  const parts = [
    `epoch ${p.epoch}/${p.lastEpoch}`,
    p.totalSteps !== undefined ? `step ${p.steps}/${p.totalSteps}` : `step ${p.steps}`,
    `${formatDuration(p.elapsed)} elapsed`,
  ];
  if (!p.done) parts.push(p.eta !== undefined ? `ETA ${formatDuration(p.eta)}` : "ETA after epoch 1");
  parts.push(...metricText(p.running, ""), ...metricText(p.validation, "val "));
  if (p.done) parts.push(p.done);
  return parts.join(" · ");
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The notebook's HTML: a bar and the text of {@link progressText}. */
export function progressHtml(p: ProgressState): string {
  const fraction = p.totalSteps ? Math.min(1, p.steps / p.totalSteps) : p.done ? 1 : 0;
  const pct = (100 * fraction).toFixed(1);
  return (
    `<div class="seqlab-progress" style="font-family: monospace; font-size: 13px">` +
    `<div style="width: 100%; max-width: 480px; height: 10px; background: #e5e7eb; border-radius: 5px; overflow: hidden">` +
    `<div style="width: ${pct}%; height: 100%; background: ${p.done && !p.done.startsWith("completed") ? "#d97706" : "#2563eb"}"></div></div>` +
    `<div>${escapeHtml(progressText(p))}</div></div>`
  );
}

/**
 * A {@link Callback} that shows training progress (fit adds one itself inside Jupyter;
 * pass `progress: false` to fit to turn it off, or `progress: {…}` for options).
 */
export function progressDisplay(options: ProgressOptions = {}): Callback {
  const interval = options.interval ?? 250;
  const terminalInterval = options.terminalInterval ?? 10_000;
  const write = options.write ?? ((line: string) => void process.stdout.write(line + "\n"));
  let notebook = false;
  let displayId = "";
  let stepsAtStart = 0;
  let state: ProgressState | undefined;
  let lastDraw = -Infinity;

  const measure = (ctx: TrainContext, epoch: number, history: History): ProgressState => {
    const elapsed = (Date.now() - ctx.startedAt) / 1000;
    const steps = history.steps - stepsAtStart;
    const epochsInRun = ctx.lastEpoch - ctx.firstEpoch + 1;
    const totalSteps = ctx.stepsPerEpoch !== undefined ? ctx.stepsPerEpoch * epochsInRun : undefined;
    const eta = totalSteps !== undefined && steps > 0 ? ((totalSteps - steps) * elapsed) / steps : undefined;
    return {
      epoch,
      lastEpoch: ctx.lastEpoch,
      firstEpoch: ctx.firstEpoch,
      steps,
      elapsed,
      ...(totalSteps !== undefined ? { totalSteps } : {}),
      ...(eta !== undefined ? { eta } : {}),
    };
  };
  const draw = (update: boolean) => {
    if (!state) return;
    lastDraw = Date.now();
    if (notebook) {
      sendDisplay(
        {
          data: { "text/html": progressHtml(state), "text/plain": progressText(state) },
          metadata: {},
          transient: { display_id: displayId },
        },
        update,
      );
    } else {
      write(progressText(state));
    }
  };
  let lastValidation: Metrics | undefined;

  return {
    onTrainBegin(ctx) {
      notebook = inKernel();
      displayId = `seqlab-progress-${randomUUID()}`;
      stepsAtStart = ctx.history.steps;
      lastDraw = notebook ? -Infinity : Date.now(); // a terminal gets its first line after `terminalInterval`
      lastValidation = undefined;
      state = measure(ctx, ctx.firstEpoch, ctx.history);
      if (notebook) draw(false);
    },
    onStep(log: StepLog, ctx) {
      state = { ...measure(ctx, log.epoch, ctx.history), running: log.running, ...(lastValidation ? { validation: lastValidation } : {}) };
      if (Date.now() - lastDraw >= (notebook ? interval : terminalInterval)) draw(true);
    },
    onEpoch(log: EpochLog, ctx) {
      lastValidation = log.validation;
      state = { ...measure(ctx, log.epoch, ctx.history), running: log.train, ...(log.validation ? { validation: log.validation } : {}) };
      draw(true);
    },
    onTrainEnd(history, ctx) {
      state = {
        ...(state ?? measure(ctx, ctx.firstEpoch, history)),
        // A run stopped mid-epoch (Interrupt, a non-finite loss) ends in the epoch it was in, not the last completed one.
        ...measure(ctx, Math.max(state?.epoch ?? 0, history.epochs, ctx.firstEpoch), history),
        done: history.stopped?.message ?? "done",
      };
      if (lastValidation) state.validation = lastValidation;
      draw(true);
    },
  };
}
