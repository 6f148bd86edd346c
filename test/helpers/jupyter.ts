/**
 * Test helpers for everything that goes through Jupyter: a private Jupyter data
 * folder holding a kernelspec for *this* checkout, so tests never depend on (or
 * change) the kernel registered in the user's Jupyter.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { findJupyter, installKernelSpec } from "../../kernel/jupyter";

export interface JupyterEnv {
  python: string;
  /** Environment for child processes: JUPYTER_PATH etc. point at the private folder. */
  env: NodeJS.ProcessEnv;
  dispose(): void;
}

/**
 * A private Jupyter set-up with the seqlab kernel registered.
 * @param need Python modules that must be importable (e.g. "jupyter_kernel_test").
 */
export function jupyterEnv(need: string[] = []): JupyterEnv {
  const jupyter = findJupyter({ need: ["jupyter_client", ...need] });
  if (!jupyter) {
    throw new Error(
      `no Python here has Jupyter with ${["jupyter_client", ...need].join(", ")}; ` +
        "on Debian: apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient python3-jupyter-kernel-test",
    );
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "seqlab-jupyter-"));
  installKernelSpec(jupyter.python, { prefix: root });
  const env = {
    ...process.env,
    JUPYTER_PATH: path.join(root, "share", "jupyter"),
    JUPYTER_DATA_DIR: path.join(root, "data"),
    JUPYTER_RUNTIME_DIR: path.join(root, "runtime"),
    JUPYTER_CONFIG_DIR: path.join(root, "config"),
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
  };
  return { python: jupyter.python, env, dispose: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** Runs a command to completion, collecting its output. */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} timed out after ${opts.timeoutMs} ms\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 600_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
