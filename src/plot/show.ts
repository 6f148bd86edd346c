/**
 * Showing a figure in a notebook: one mime bundle per figure,
 *
 *   application/vnd.plotly.v1+json   drawn natively by VS Code and JupyterLab's plotly renderer
 *   text/html                        everything else (Notebook, nbconvert/nbviewer HTML): offline,
 *                                    plotly.js from plotly.js-dist-min, once per kernel session
 *   image/png                        a still picture, added in place once it is drawn (picture.ts):
 *                                    what a viewer that runs no scripts shows
 *   text/plain                       a text summary (consoles)
 *
 * sent through the seqlab kernel's bridge (src/notebook.ts; library code cannot
 * `require("tslab")`). Outside the kernel — plain Node, tests — `show()` prints the
 * text summary instead, and never throws for lack of a notebook.
 *
 * With the environment variable SEQLAB_PLOT_DIR set, every figure shown is also saved
 * there as an HTML file (plotly.js written once beside them): `npm run notebooks` can
 * keep the plots of each notebook that way.
 */
import * as path from "path";
import { randomUUID } from "crypto";
import { kernelSession, sendDisplay } from "../notebook";
import { checkFigure, type Figure } from "./figure";
import { figureHtml, plotFileStem, plotlyLoaderHtml, type Picture } from "./html";
import { attachPicture } from "./picture";
import { figureSummary } from "./summary";
import { savePlot } from "./export";

/** Per kernel session: has plotly.js been sent to the page? */
const pages = new WeakMap<object, { plotlySent: boolean }>();

function page(): { plotlySent: boolean } | undefined {
  const session = kernelSession();
  if (!session) return undefined;
  let p = pages.get(session);
  if (!p) pages.set(session, (p = { plotlySent: false }));
  return p;
}

/**
 * The mime bundle of a figure.
 * @param carryPlotly include plotly.js in the HTML (the first figure of a page does)
 * @param picture a still picture of it (picture.ts): sent as image/png and shown by the HTML where scripts do not run
 */
export function mimeBundle(fig: Figure, carryPlotly: boolean, picture?: Picture): Record<string, unknown> {
  return {
    "application/vnd.plotly.v1+json": { data: fig.data, layout: fig.layout },
    "text/html": figureHtml(fig, carryPlotly, picture),
    ...(picture ? { "image/png": picture.png } : {}),
    "text/plain": figureSummary(fig),
  };
}

/** True once plotly.js has gone to the page in this kernel session. */
export function plotlySent(): boolean {
  return page()?.plotlySent ?? false;
}

/**
 * Shows a figure in the notebook: one display_data with the figure as plotly JSON,
 * HTML and text. Outside the kernel, prints the text summary.
 *
 * @example
 * show(trainingCurves({ loss: [1, 0.5, 0.3], valLoss: [1.1, 0.7, 0.5] }, { logY: true }));
 */
export function show(fig: Figure): void {
  checkFigure(fig);
  const p = page();
  let sent = false;
  if (p) {
    const carry = !p.plotlySent;
    p.plotlySent = true;
    const displayId = `seqlab-plot-${randomUUID()}`;
    sent = sendDisplay({ data: mimeBundle(fig, carry), metadata: {}, transient: { display_id: displayId } });
    // Then, off the cell's own output: the same figure with a still picture, in place.
    if (sent) attachPicture(fig, displayId, (picture) => mimeBundle(fig, carry, picture));
  }
  if (!sent) process.stdout.write(figureSummary(fig) + "\n");
  void keepCopy(fig).then((file) => {
    if (file && !sent) process.stdout.write(`(saved as ${file})\n`);
  });
}

/**
 * Sends plotly.js to the page again, in an output of its own: needed only when the page
 * has lost it (it was reloaded, or the output that carried it was cleared). Plots on
 * the page that are waiting for plotly.js then draw. Returns false outside the kernel.
 */
export function sendPlotlyJs(): boolean {
  const sent = sendDisplay({ data: { "text/html": plotlyLoaderHtml(), "text/plain": "" }, metadata: {} });
  const p = page();
  if (sent && p) p.plotlySent = true;
  return sent;
}

let saved = 0;

/** With SEQLAB_PLOT_DIR set, saves the figure there as HTML; reports but never throws. */
export async function keepCopy(fig: Figure): Promise<string | undefined> {
  const dir = process.env.SEQLAB_PLOT_DIR;
  if (!dir) return undefined;
  const file = path.join(dir, `${plotFileStem(fig, ++saved)}.html`);
  try {
    return await savePlot(fig, file, { plotlyjs: "file" });
  } catch (e) {
    process.stderr.write(`seqlab: could not save the plot to ${file}: ${(e as Error).message}\n`);
    return undefined;
  }
}
