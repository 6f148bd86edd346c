/**
 * The seqlab kernel as Jupyter runs it: the jupyter_kernel_test conformance
 * suite, and the behaviour long training cells need (test/kernel/*.py).
 */
import { strict as assert } from "assert";
import * as path from "path";
import { jupyterEnv, run, JupyterEnv } from "./helpers/jupyter";

describe("seqlab kernel", function () {
  this.timeout(300_000);
  let jupyter: JupyterEnv;
  before(() => {
    jupyter = jupyterEnv(["jupyter_kernel_test"]);
  });
  after(() => jupyter?.dispose());

  for (const suite of ["conformance", "behaviour"]) {
    it(`passes test/kernel/${suite}.py`, async () => {
      const r = await run(jupyter.python, ["-m", "unittest", "-v", `${suite}.py`], {
        env: jupyter.env,
        cwd: path.join(__dirname, "kernel"),
      });
      const summary = r.stderr.trim().split("\n").slice(-3).join("\n");
      assert.equal(r.code, 0, `${suite}.py failed:\n${r.stderr}`);
      assert.match(summary, /^OK/m);
      const ran = Number(/Ran (\d+) tests?/.exec(r.stderr)?.[1]);
      assert.ok(ran >= 8, `expected the ${suite} suite to run at least 8 tests, ran ${ran}`);
    });
  }
});
