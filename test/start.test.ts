/**
 * `npm start` serves Jupyter on notebooks/ with the seqlab kernel listed.
 */
import { strict as assert } from "assert";
import * as path from "path";
import { spawn, ChildProcess } from "child_process";
import { jupyterEnv, JupyterEnv } from "./helpers/jupyter";

describe("npm start", function () {
  this.timeout(120_000);
  let jupyter: JupyterEnv;
  let server: ChildProcess | undefined;
  before(() => {
    jupyter = jupyterEnv();
  });
  after(async () => {
    if (server && server.exitCode === null) {
      const closed = new Promise((r) => server!.on("close", r));
      server.kill("SIGTERM");
      await closed;
    }
    jupyter?.dispose();
  });

  it("prints the URL of a Jupyter server that lists the seqlab kernel and serves notebooks/", async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const script = path.join(__dirname, "..", "kernel", "start.js");
    server = spawn(process.execPath, [script, "--no-browser", `--port=${port}`, "--port-retries=50"], {
      env: jupyter.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL within 60 s:\n${log}`)), 60_000);
      server!.stdout!.on("data", (d) => {
        log += d;
        const m = /seqlab: (?:JupyterLab|Jupyter Notebook) is running at (\S+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      server!.stderr!.on("data", (d) => (log += d));
      server!.on("close", (code) => reject(new Error(`npm start exited with ${code}:\n${log}`)));
    });
    const u = new URL(url);
    const token = u.searchParams.get("token");
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const api = (p: string): Promise<any> => fetch(`${u.origin}${p}?token=${token}`).then((r) => r.json());

    const specs = await api("/api/kernelspecs");
    assert.ok(specs.kernelspecs.seqlab, `seqlab not in ${Object.keys(specs.kernelspecs)}`);
    assert.equal(specs.kernelspecs.seqlab.spec.display_name, "TypeScript (seqlab)");
    assert.equal(specs.kernelspecs.seqlab.spec.interrupt_mode, "signal");
    assert.equal(specs.kernelspecs.seqlab.spec.argv[1], path.resolve(__dirname, "..", "kernel", "launch.js"));

    const contents = await api("/api/contents");
    const names = contents.content.map((c: { name: string }) => c.name);
    assert.ok(
      names.some((n: string) => /^01-.*\.ipynb$/.test(n)),
      `notebooks/ not served: ${names}`,
    );
  });
});
