/**
 * Headless Chromium for PNG/SVG export and for checking that HTML pages draw.
 *
 * The browser is Debian's `chromium` (or whatever SEQLAB_CHROMIUM names), driven by
 * playwright-core with an explicit executable path: nothing downloads a browser. It is
 * launched on first use with a fresh profile and the network off, reused by later calls,
 * and closed when idle — after 5 s in a script (whose process could not end while it
 * runs), after 10 min in the kernel (where exports come cell after cell) — or by
 * {@link closeBrowser}. Playwright kills it if the process exits first.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pathToFileURL } from "url";
import type { BrowserContext, Page } from "playwright-core";
import { inKernel } from "../notebook";

/** Where Chromium is looked for when SEQLAB_CHROMIUM is not set. */
const DEFAULT_PATHS = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** Flags for a machine without network: without them Chromium keeps trying to reach Google. */
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** How long an unused browser stays open, in ms: in a script, and in the kernel. */
const IDLE_MS = { script: 5_000, kernel: 600_000 };

interface Shared {
  context: BrowserContext;
  profile: string;
}

let shared: Promise<Shared> | undefined;
let users = 0;
let idle: NodeJS.Timeout | undefined;

/** The Chromium executable: SEQLAB_CHROMIUM, else the first of the usual Debian paths. */
export function chromiumPath(): string {
  const fromEnv = process.env.SEQLAB_CHROMIUM;
  const how =
    'Install Debian\'s package "chromium" (sudo apt-get install chromium), or set the ' +
    "environment variable SEQLAB_CHROMIUM to the path of a Chromium or Chrome executable. " +
    "(HTML export needs no browser.)";
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw new Error(`SEQLAB_CHROMIUM=${fromEnv}: no such file. ${how}`);
    return fromEnv;
  }
  const found = DEFAULT_PATHS.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`No Chromium found for PNG/SVG rendering (looked for ${DEFAULT_PATHS.join(", ")}). ${how}`);
  return found;
}

async function launch(): Promise<Shared> {
  const executablePath = chromiumPath();
  const { chromium } = await import("playwright-core");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: ARGS,
      offline: true,
    });
    // Nothing leaves the machine: local files and inline data only.
    await context.route(/^(?!file:|data:|about:|blob:)/, (route) => route.abort("internetdisconnected"));
    process.once("exit", () => fs.rmSync(profile, { recursive: true, force: true }));
    return { context, profile };
  } catch (e) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw new Error(`Chromium (${executablePath}) could not be started: ${(e as Error).message.split("\n")[0]}`, { cause: e });
  }
}

/** Runs `fn` with the shared browser, launching it if needed and scheduling its idle close. */
async function use<T>(fn: (context: BrowserContext) => Promise<T>): Promise<T> {
  if (idle) clearTimeout(idle);
  idle = undefined;
  users++;
  try {
    if (!shared) {
      const launching = (shared = launch());
      launching.catch(() => {
        if (shared === launching) shared = undefined;
      });
    }
    return await fn((await shared).context);
  } finally {
    if (--users === 0) {
      idle = setTimeout(() => void closeBrowser(), inKernel() ? IDLE_MS.kernel : IDLE_MS.script);
      idle.unref();
    }
  }
}

/**
 * Runs `fn` with a new page of the shared browser; the page is closed afterwards.
 * @throws if no Chromium is installed (the error says how to get one)
 */
export function withPage<T>(fn: (page: Page) => Promise<T>): Promise<T> {
  return use(async (context) => {
    const page = await context.newPage();
    try {
      return await fn(page);
    } finally {
      await page.close().catch(() => {});
    }
  });
}

let plotlyPage: { context: BrowserContext; page: Promise<Page> } | undefined;
let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` with the page that has plotly.js loaded (loading it takes seconds, so the
 * page is kept for the browser's lifetime). Calls run one at a time.
 */
export function withPlotlyPage<T>(plotlyScript: () => string, fn: (page: Page) => Promise<T>): Promise<T> {
  const run = queue.then(() =>
    use(async (context) => {
      if (plotlyPage?.context !== context) {
        const page = context.newPage().then(async (p) => {
          await p.setContent(`<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>${plotlyScript()}</body></html>`);
          return p;
        });
        plotlyPage = { context, page };
        page.catch(() => {
          if (plotlyPage?.page === page) plotlyPage = undefined;
        });
      }
      return fn(await plotlyPage.page);
    }),
  );
  queue = run.catch(() => {});
  return run;
}

/** Closes the shared browser now (it is relaunched when needed). */
export async function closeBrowser(): Promise<void> {
  if (idle) clearTimeout(idle);
  idle = undefined;
  const s = shared;
  shared = undefined;
  plotlyPage = undefined;
  if (!s) return;
  const { context, profile } = await s.catch(() => ({ context: undefined, profile: undefined }));
  await context?.close().catch(() => {});
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
}

/**
 * The plots on a page, as {@link RenderedPlots}' `plots` and `notDrawn`: an expression to
 * evaluate in the page once its seqlab figures are no longer "waiting" (browser code, so
 * a string: this package compiles without DOM types).
 */
export const INSPECT_PLOTS = `(() => {
  const drawnSelector = 'path.js-line[d^="M"], path.point[d^="M"], g.point > path[d^="M"], g.textpoint text, image';
  const plots = Array.from(document.querySelectorAll(".js-plotly-plot")).map((gd) => {
    const traces = Array.from(gd.querySelectorAll(".main-svg g.trace, .main-svg g.hm"));
    const title = gd.layout && gd.layout.title ? gd.layout.title.text || "" : "";
    return {
      traces: gd.data ? gd.data.length : traces.length,
      drawn: traces.filter((t) => t.querySelector(drawnSelector) !== null).length,
      title: String(title).replace(/<[^>]*>/g, ""),
    };
  });
  const notDrawn = Array.from(document.querySelectorAll('.seqlab-plot:not([data-state="rendered"])')).map(
    (el) => el.getAttribute("data-state") + ": " + ((el.querySelector(".seqlab-plot-note") || {}).textContent || "").slice(0, 300) +
      "\\n" + ((el.querySelector(".seqlab-plot-msg") || {}).textContent || ""));
  return { plots, notDrawn };
})()`;

/** What {@link renderedPlots} found on a page. */
export interface RenderedPlots {
  /** One entry per plotly plot on the page, in document order. */
  plots: {
    /** Traces in the figure (`gd.data.length`). */
    traces: number;
    /** Traces with drawn SVG: a line path, markers, bars, text, or a heatmap image. */
    drawn: number;
    /** The plot's title. */
    title: string;
  }[];
  /** seqlab figures on the page that did not draw (no plotly.js, or an error), with their note. */
  notDrawn: string[];
  /** Requests to anything but local files that the page tried (all blocked). */
  blockedRequests: string[];
  /** Uncaught errors on the page. */
  pageErrors: string[];
}

/**
 * Opens an HTML file in headless Chromium with the network off and reports the plots
 * drawn on it — for tests of exported figures and of notebooks exported by nbconvert.
 *
 * @example
 * const r = await renderedPlots("out/01-sequences-and-the-unfolded-recurrence.html");
 * assert.deepEqual(r.pageErrors, []);
 * for (const p of r.plots) assert.equal(p.drawn, p.traces, p.title);
 */
export async function renderedPlots(htmlPath: string, options: { timeoutMs?: number } = {}): Promise<RenderedPlots> {
  const file = path.resolve(htmlPath);
  if (!fs.existsSync(file)) throw new Error(`htmlPath: no such file: ${file}`);
  const timeout = options.timeoutMs ?? 30_000;
  return withPage(async (page) => {
    const blockedRequests: string[] = [];
    const pageErrors: string[] = [];
    page.on("request", (r) => {
      if (!/^(file|data|about|blob):/.test(r.url())) blockedRequests.push(r.url());
    });
    page.on("pageerror", (e) => pageErrors.push(String(e.message ?? e)));
    await page.goto(pathToFileURL(file).href, { waitUntil: "load", timeout });
    // seqlab figures say when they are done; other plotly plots are drawn by then.
    await page.waitForFunction(`!document.querySelector('.seqlab-plot[data-state="waiting"]')`, undefined, { timeout });
    const found = (await page.evaluate(INSPECT_PLOTS)) as Pick<RenderedPlots, "plots" | "notDrawn">;
    return { ...found, blockedRequests, pageErrors };
  });
}
