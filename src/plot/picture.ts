/**
 * Still pictures of figures, for wherever a notebook is opened without running its scripts.
 *
 * A saved notebook reopened untrusted in JupyterLab, a submission on GitHub, the course on
 * nbviewer, a VS Code preview: none of them runs the script that draws a plotly figure.
 * So the final state of every figure — `show(fig)`, and a live figure when it is closed —
 * is also drawn once as a PNG by the headless Chromium that PNG export uses (browser.ts;
 * one browser, reused), and the figure's output is updated in place to carry it:
 *
 *   image/png    the picture itself, for viewers that pick images
 *   text/html    the same picture inside the fallback that is visible until plotly.js
 *                draws (untrusted JupyterLab and scripts-off pages show the picture, not
 *                the text summary)
 *
 * The cell's own output goes first; the picture is rendered after it, and the kernel
 * holds the end of the cell until the picture has been sent, at most SEQLAB_PICTURE_WAIT
 * ms (default {@link DEFAULT_HOLD_MS}). A picture that takes longer still replaces the
 * output when it is ready — a live Notebook or JupyterLab page takes it at any time — but
 * a batch run (nbconvert, nbclient) has moved on by then: `npm run notebooks` waits up to
 * a minute. Live frames get no picture.
 *
 * Off with SEQLAB_PICTURES=0. Without Chromium, figures are sent as before (interactive
 * figure and text summary), with no error: the first failure is remembered and no
 * picture is tried again in this process.
 */
import { holdCell, sendDisplay } from "../notebook";
import type { Figure } from "./figure";
import { figureImage, figureSize } from "./export";
import { withPlotlyPage } from "./browser";
import { plotlyScript } from "./html";
import type { Picture } from "./html";
import { titleOf } from "./html";

/** Longest the kernel waits for a picture at the end of a cell, ms, unless SEQLAB_PICTURE_WAIT says otherwise. */
export const DEFAULT_HOLD_MS = 5_000;

/** SEQLAB_PICTURE_WAIT as a number of ms, else the default (a bad value is reported once and ignored). */
export function holdMs(): number {
  const v = process.env.SEQLAB_PICTURE_WAIT;
  if (v === undefined || v.trim() === "") return DEFAULT_HOLD_MS;
  const ms = Number(v);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  if (!warned)
    process.stderr.write(`seqlab: SEQLAB_PICTURE_WAIT: expected a number of milliseconds ≥ 0, got "${v}"; using ${DEFAULT_HOLD_MS}\n`);
  warned = true;
  return DEFAULT_HOLD_MS;
}
let warned = false;

/** Why pictures cannot be made in this process (set by the first failure). */
let unavailable: string | undefined;

/** Forgets an earlier failure, so the next figure tries Chromium again (tests; after installing it). */
export function resetPictures(): void {
  unavailable = undefined;
}

/** False when SEQLAB_PICTURES is 0/off/false/no, or Chromium failed once. */
export function picturesEnabled(): boolean {
  const v = (process.env.SEQLAB_PICTURES ?? "").trim().toLowerCase();
  return !["0", "off", "false", "no"].includes(v) && unavailable === undefined;
}

/** The figure as a PNG picture, or undefined when pictures are off or cannot be made. */
export async function renderPicture(fig: Figure): Promise<Picture | undefined> {
  if (!picturesEnabled()) return undefined;
  const { width, height } = figureSize(fig);
  try {
    const png = await figureImage(fig, "png", width, height, 1);
    return { png: png.toString("base64"), width, height };
  } catch (e) {
    unavailable = (e as Error).message.split("\n")[0];
    return undefined;
  }
}

/**
 * Starts the browser and loads plotly.js into its page in the background, so the first
 * picture does not wait for them (a live figure calls this when training starts).
 */
export function warmPictures(): void {
  if (!picturesEnabled()) return;
  withPlotlyPage(plotlyScript, async () => {}).catch((e: Error) => {
    unavailable = e.message.split("\n")[0];
  });
}

/**
 * Renders `fig` after its output has been sent, then replaces that output (display id
 * `displayId`) with `bundle(picture)`. The kernel holds the cell's end until this is done.
 */
export function attachPicture(fig: Figure, displayId: string, bundle: (picture: Picture) => Record<string, unknown>): void {
  if (!picturesEnabled()) return;
  const job = renderPicture(fig).then((picture) => {
    if (!picture) return;
    sendDisplay(
      {
        data: bundle(picture),
        metadata: { "image/png": { width: picture.width, height: picture.height, title: titleOf(fig) } },
        transient: { display_id: displayId },
      },
      true,
    );
  });
  holdCell(job, holdMs());
}
