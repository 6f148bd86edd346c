/**
 * Set-up: what gets installed on each kind of machine for what is missing, the one command
 * a person is told to run where it cannot be, and the dry run of kernel/setup.js itself.
 */
import { strict as assert } from "assert";
import * as path from "path";
import { spawnSync } from "child_process";
import { installPlan, debianPackages, PURPOSES } from "../kernel/setup";

const JUPYTER = "jupyter-notebook jupyter-nbconvert jupyter-client python3-nbclient";
const APT = "apt-get install -y -q --no-install-recommends";
const show = (plan: ReturnType<typeof installPlan>) => plan.attempts.map((a) => a.map((c) => `${c.cmd} ${c.args.join(" ")}`));
const rootDebian = { debian: true, root: true, pipPython: null };

describe("set-up", () => {
  it("with everything present, does nothing", () => {
    for (const machine of [
      rootDebian,
      { debian: true, root: false, pipPython: null },
      { debian: false, root: false, pipPython: "python3" },
    ]) {
      assert.deepEqual(installPlan({ ...machine, missing: [] }), { attempts: [], manual: "" });
    }
  });

  it("as root on Debian, installs the Debian packages, with apt-get update as the second try", () => {
    const plan = installPlan({ ...rootDebian, missing: ["jupyter"] });
    assert.deepEqual(show(plan), [[`${APT} ${JUPYTER}`], ["apt-get update -q", `${APT} ${JUPYTER}`]]);
    assert.equal(plan.manual, `apt-get update && apt-get install -y ${JUPYTER}`);
  });

  it("as root on Debian without Chromium, the apt plan installs chromium (and only what is missing)", () => {
    const plan = installPlan({ ...rootDebian, missing: ["chromium"] });
    assert.deepEqual(show(plan), [[`${APT} chromium`], ["apt-get update -q", `${APT} chromium`]]);
    const both = installPlan({ ...rootDebian, missing: ["jupyter", "chromium", "kernel-test"] });
    assert.deepEqual(show(both)[0], [`${APT} ${JUPYTER} chromium python3-jupyter-kernel-test`]);
  });

  it("on Debian without root, installs nothing and says the sudo command", () => {
    const plan = installPlan({ debian: true, root: false, pipPython: null, missing: ["chromium", "kernel-test"] });
    assert.deepEqual(plan.attempts, []);
    assert.equal(plan.manual, "sudo apt-get update && sudo apt-get install -y chromium python3-jupyter-kernel-test");
  });

  it("the benchmark needs PyTorch and OpenBLAS (python3-torch alone brings the reference BLAS)", () => {
    assert.deepEqual(debianPackages(PURPOSES.bench.needs), ["python3-torch", "libopenblas0-pthread"]);
    const plan = installPlan({ ...rootDebian, missing: ["openblas"] });
    assert.deepEqual(show(plan)[0], [`${APT} libopenblas0-pthread`]);
  });

  it("what npm install and npm test need", () => {
    assert.deepEqual(debianPackages(PURPOSES.install.needs), [...JUPYTER.split(" "), "chromium"]);
    assert.deepEqual(debianPackages(PURPOSES.test.needs), [...JUPYTER.split(" "), "chromium", "python3-jupyter-kernel-test"]);
    assert.deepEqual(PURPOSES.install.required, ["jupyter"]);
    assert.deepEqual(PURPOSES.test.required, []);
  });

  it("elsewhere, uses pip for the user, and says what pip cannot install", () => {
    const plan = installPlan({ debian: false, root: false, pipPython: "python", missing: ["jupyter", "kernel-test"] });
    assert.deepEqual(plan.attempts, [
      [{ cmd: "python", args: ["-m", "pip", "install", "--user", "notebook", "nbconvert", "nbclient", "jupyter_kernel_test"] }],
    ]);
    const chromium = installPlan({ debian: false, root: true, pipPython: "python3", missing: ["chromium"] });
    assert.deepEqual(chromium.attempts, []);
    assert.equal(chromium.manual, "install Chromium or Chrome and set SEQLAB_CHROMIUM to its executable");
  });

  it("with neither apt nor pip, says the pip command and the rest, one line each", () => {
    const plan = installPlan({ debian: false, root: false, pipPython: null, missing: ["jupyter", "chromium"] });
    assert.deepEqual(plan.attempts, []);
    assert.equal(
      plan.manual,
      "python3 -m pip install --user notebook nbconvert nbclient\ninstall Chromium or Chrome and set SEQLAB_CHROMIUM to its executable",
    );
  });

  describe("kernel/setup.js, installing nothing (SEQLAB_NO_INSTALL=1)", () => {
    const script = path.join(__dirname, "..", "kernel", "setup.js");
    const run = (args: string[], env: Record<string, string>) =>
      spawnSync(process.execPath, [script, ...args], { encoding: "utf-8", env: { ...process.env, SEQLAB_NO_INSTALL: "1", ...env } });

    it("--for=test names what is missing and the command, and lets the tests run", function () {
      this.timeout(30_000);
      const r = run(["--for=test"], { SEQLAB_PRETEND_MISSING: "chromium,kernel-test" });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /not installed: Chromium \(PNG\/SVG export\), jupyter_kernel_test/);
      assert.match(r.stderr, /apt-get install -y chromium python3-jupyter-kernel-test|pip install --user jupyter_kernel_test/);
    });

    it("--for=bench refuses, naming the command", function () {
      this.timeout(30_000);
      const r = run(["--for=bench"], { SEQLAB_PRETEND_MISSING: "torch,openblas" });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /not installed: PyTorch for \/usr\/bin\/python3 \(the benchmarks' reference\), OpenBLAS for PyTorch/);
      assert.match(r.stderr, /does not run without both/);
    });
  });
});
