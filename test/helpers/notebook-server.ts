/**
 * A real Jupyter Notebook server (Debian's classic Notebook) in a private folder, with the
 * seqlab kernel of this checkout, and headless Chromium pointed at it: what a student sees.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { spawn, type ChildProcess } from "child_process";
import type { Browser, Page } from "playwright-core";
import { chromiumPath } from "seqlab/internal";
import { jupyterEnv, type JupyterEnv } from "./jupyter";

export interface NotebookServer {
  url: string;
  token: string;
  dir: string;
  browser: Browser;
  /** Opens `file` (relative to the server's folder) in a new page, kernel started and idle. */
  open(file: string): Promise<Page>;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

async function waitFor(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`the Notebook server did not answer ${url} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Starts `jupyter notebook` on a free port over `notebooks` (name → nbformat JSON). */
export async function startNotebookServer(notebooks: Record<string, unknown>): Promise<NotebookServer> {
  const jupyter: JupyterEnv = jupyterEnv(["notebook"]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-ui-"));
  for (const [name, nb] of Object.entries(notebooks)) fs.writeFileSync(path.join(dir, name), JSON.stringify(nb));
  const port = await freePort();
  const token = "seqlab-test";
  const server: ChildProcess = spawn(
    jupyter.python,
    [
      "-m",
      "notebook",
      "--no-browser",
      "--allow-root",
      `--port=${port}`,
      "--ip=127.0.0.1",
      `--NotebookApp.token=${token}`,
      `--notebook-dir=${dir}`,
    ],
    { env: jupyter.env, stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  server.stderr?.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  let browser: Browser | undefined;
  try {
    await waitFor(`${url}/api/status?token=${token}`, 60_000);
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: chromiumPath(), args: ["--no-sandbox", "--disable-gpu"] });
  } catch (e) {
    server.kill("SIGKILL");
    jupyter.dispose();
    throw new Error(`${(e as Error).message}\nserver log:\n${log}`, { cause: e });
  }
  const b = browser;
  return {
    url,
    token,
    dir,
    browser: b,
    async open(file) {
      const context = await b.newContext({ viewport: { width: 1200, height: 900 } });
      // Only the Notebook server: nothing else may be reached.
      await context.route(/^(?!http:\/\/127\.0\.0\.1:|data:|blob:|about:)/, (route) => route.abort());
      const page = await context.newPage();
      await page.goto(`${url}/notebooks/${file}?token=${token}`);
      await page.waitForFunction(
        () => {
          const J = (globalThis as unknown as { Jupyter?: { notebook?: { kernel?: { is_connected(): boolean } } } }).Jupyter;
          return J?.notebook?.kernel?.is_connected() === true;
        },
        undefined,
        { timeout: 120_000 },
      );
      return page;
    },
    async close() {
      await b.close().catch(() => {});
      // Kernels first: killed with the server they would live on, holding its stderr pipe open.
      try {
        const kernels = (await (await fetch(`${url}/api/kernels?token=${token}`)).json()) as { id: string }[];
        await Promise.all(kernels.map((k) => fetch(`${url}/api/kernels/${k.id}?token=${token}`, { method: "DELETE" })));
      } catch {
        // the server is gone already
      }
      server.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 300));
      server.kill("SIGKILL");
      jupyter.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A notebook for the seqlab kernel from cell sources (a string starting with "md:" is markdown). */
export function notebookOf(cells: string[]): unknown {
  return {
    cells: cells.map((c) =>
      c.startsWith("md:")
        ? { cell_type: "markdown", source: c.slice(3), metadata: {} }
        : { cell_type: "code", source: c, outputs: [], execution_count: null, metadata: {} },
    ),
    metadata: { kernelspec: { name: "seqlab", display_name: "TypeScript (seqlab)", language: "typescript" } },
    nbformat: 4,
    nbformat_minor: 4,
  };
}
