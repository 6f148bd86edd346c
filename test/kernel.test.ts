/**
 * The seqlab kernel as Jupyter runs it: the jupyter_kernel_test conformance
 * suite, the behaviour long training cells need, and faults in a cell — Interrupt of
 * synchronous code after an await, process.exit(), a client that dies (test/kernel/*.py).
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

  const minimumTests: Record<string, number> = { conformance: 8, behaviour: 14, faults: 9 };
  for (const [suite, minimum] of Object.entries(minimumTests)) {
    it(`passes test/kernel/${suite}.py`, async () => {
      const r = await run(jupyter.python, ["-m", "unittest", "-v", `${suite}.py`], {
        env: jupyter.env,
        cwd: path.join(__dirname, "kernel"),
      });
      const summary = r.stderr.trim().split("\n").slice(-3).join("\n");
      assert.equal(r.code, 0, `${suite}.py failed:\n${r.stderr}`);
      assert.match(summary, /^OK/m);
      const ran = Number(/Ran (\d+) tests?/.exec(r.stderr)?.[1]);
      assert.ok(ran >= minimum, `expected the ${suite} suite to run at least ${minimum} tests, ran ${ran}`);
    });
  }
});
