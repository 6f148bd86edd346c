/**
 * Set-up: how Jupyter gets installed on each kind of machine, and the one
 * command a person is told to run where it cannot be.
 */
import { strict as assert } from "assert";
import { installPlan } from "../kernel/setup";

const PKGS = "jupyter-notebook jupyter-nbconvert jupyter-client python3-nbclient";

describe("set-up", () => {
  it("as root on Debian, installs the Debian packages, with apt-get update as the second try", () => {
    const plan = installPlan({ debian: true, root: true, pipPython: "python3" });
    assert.deepEqual(
      plan.attempts.map((a) => a.map((c) => `${c.cmd} ${c.args.join(" ")}`)),
      [
        [`apt-get install -y -q --no-install-recommends ${PKGS}`],
        ["apt-get update -q", `apt-get install -y -q --no-install-recommends ${PKGS}`],
      ],
    );
    assert.equal(plan.manual, `apt-get update && apt-get install -y ${PKGS}`);
  });

  it("on Debian without root, installs nothing and says the sudo command", () => {
    const plan = installPlan({ debian: true, root: false, pipPython: "python3" });
    assert.deepEqual(plan.attempts, []);
    assert.equal(plan.manual, `sudo apt-get update && sudo apt-get install -y ${PKGS}`);
  });

  it("elsewhere, uses pip for the user", () => {
    const plan = installPlan({ debian: false, root: false, pipPython: "python" });
    assert.deepEqual(plan.attempts, [[{ cmd: "python", args: ["-m", "pip", "install", "--user", "notebook", "nbconvert", "nbclient"] }]]);
  });

  it("with neither apt nor pip, says the pip command", () => {
    const plan = installPlan({ debian: false, root: false, pipPython: null });
    assert.deepEqual(plan.attempts, []);
    assert.equal(plan.manual, "python3 -m pip install --user notebook nbconvert nbclient");
  });
});
