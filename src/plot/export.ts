/**
 * Figures to files: `.html` (a standalone page with plotly.js inside: opens offline,
 * needs no browser to write), `.png` and `.svg` (drawn by plotly.js in headless
 * Chromium — see browser.ts for how it is found; one browser serves all exports).
 */
import * as fs from "fs";
import * as path from "path";
import { checkFigure, type Figure } from "./figure";
import { pageHtml, plotlyScript, plotlySource } from "./html";
import { withPlotlyPage } from "./browser";

export interface SavePlotOptions {
  /** Width in CSS pixels. Default: the figure's `layout.width`, else 700. */
  width?: number;
  /** Height in CSS pixels. Default: the figure's `layout.height`, else 450. */
  height?: number;
  /** PNG only: pixels per CSS pixel; the PNG is width·scale × height·scale. Default: 1. */
  scale?: number;
  /**
   * HTML only. "inline" (default): plotly.js inside the page (4.6 MB; opens anywhere).
   * "file": plotly.js is written once as `plotly.js` next to the page and loaded from
   * there — for a folder of many plots. `{ src }`: the page loads plotly.js from `src`
   * (e.g. "../assets/plotly.js", one copy for several folders); the caller puts it there.
   */
  plotlyjs?: "inline" | "file" | { src: string };
}

const FORMATS = [".html", ".png", ".svg"];

/**
 * Writes `fig` to `file`; the format follows the extension (.html, .png, .svg).
 * Missing folders are created.
 *
 * @returns the absolute path written
 * @throws if the extension or a size is invalid, or (PNG/SVG) no Chromium is installed
 */
export async function savePlot(fig: Figure, file: string, options: SavePlotOptions = {}): Promise<string> {
  checkFigure(fig);
  if (typeof file !== "string" || file === "")
    throw new Error(`path: expected a file name ending in ${FORMATS.join(", ")}, got ${String(file)}`);
  const ext = path.extname(file).toLowerCase();
  if (!FORMATS.includes(ext)) throw new Error(`path: cannot tell the format of "${file}": use one of ${FORMATS.join(", ")}`);
  const width = size("width", options.width, fig.layout?.width, 700);
  const height = size("height", options.height, fig.layout?.height, 450);
  const scale = options.scale ?? 1;
  if (!(typeof scale === "number" && Number.isFinite(scale) && scale > 0))
    throw new Error(`scale: expected a positive number, got ${scale}`);
  const out = path.resolve(file);
  fs.mkdirSync(path.dirname(out), { recursive: true });

  if (ext === ".html") {
    const sized = options.width !== undefined || options.height !== undefined ? { ...fig, layout: { ...fig.layout, width, height } } : fig;
    if (typeof options.plotlyjs === "object") {
      const src = options.plotlyjs.src;
      if (typeof src !== "string" || src === "") throw new Error(`plotlyjs.src: expected the URL of plotly.js, got ${String(src)}`);
      fs.writeFileSync(out, pageHtml(sized, { src }));
    } else if (options.plotlyjs === "file") {
      const lib = path.join(path.dirname(out), "plotly.js");
      if (!fs.existsSync(lib)) fs.writeFileSync(lib, plotlySource());
      fs.writeFileSync(out, pageHtml(sized, { src: "plotly.js" }));
    } else {
      fs.writeFileSync(out, pageHtml(sized, "inline"));
    }
    return out;
  }

  fs.writeFileSync(out, await figureImage(fig, ext.slice(1) as "png" | "svg", width, height, scale));
  return out;
}

/**
 * The figure drawn by plotly.js in the shared headless Chromium, as PNG or SVG bytes.
 * @throws if no Chromium is installed or plotly.js fails
 */
export async function figureImage(fig: Figure, format: "png" | "svg", width: number, height: number, scale = 1): Promise<Buffer> {
  const url = await withPlotlyPage(plotlyScript, (page) =>
    page.evaluate(
      ({ data, layout, format, width, height, scale }) => {
        const Plotly = (globalThis as unknown as { Plotly: { toImage(fig: unknown, opts: unknown): Promise<string> } }).Plotly;
        return Plotly.toImage({ data, layout }, { format, width, height, scale });
      },
      { data: fig.data, layout: fig.layout, format, width, height, scale },
    ),
  );
  return decodeDataUrl(url, format);
}

/** A figure's size in CSS pixels: its layout's, else 700 × 450. */
export function figureSize(fig: Figure): { width: number; height: number } {
  return { width: size("width", undefined, fig.layout?.width, 700), height: size("height", undefined, fig.layout?.height, 450) };
}

function size(name: string, given: number | undefined, fromLayout: number | undefined, fallback: number): number {
  const v = given ?? fromLayout ?? fallback;
  if (!(typeof v === "number" && Number.isFinite(v) && v >= 10)) throw new Error(`${name}: expected a number of pixels ≥ 10, got ${v}`);
  return Math.round(v);
}

/** Plotly.toImage gives base64 for PNG and a URI-encoded string for SVG. */
function decodeDataUrl(url: string, format: "png" | "svg"): Buffer {
  const comma = url.indexOf(",");
  const head = url.slice(0, comma);
  const body = url.slice(comma + 1);
  if (!head.startsWith(`data:image/${format === "svg" ? "svg+xml" : "png"}`)) {
    throw new Error(`plotly.js returned ${head.slice(0, 40)} instead of a ${format.toUpperCase()} image`);
  }
  return head.endsWith(";base64") ? Buffer.from(body, "base64") : Buffer.from(decodeURIComponent(body), "utf-8");
}
