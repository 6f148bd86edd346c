/**
 * Backend selection: tfjs-node → wasm → cpu, SEQLAB_BACKEND overrides, unknown
 * names are errors that list the choices. Each case runs in a fresh Node process
 * because the backend is chosen once per process.
 */
import { strict as assert } from "assert";
import { run } from "./helpers/jupyter";
import { describeBackend } from "seqlab";

async function choose(env: Record<string, string | undefined>, arg?: string) {
  const code = `require("seqlab").initBackend(${arg === undefined ? "" : JSON.stringify(arg)})
    .then((i) => console.log(JSON.stringify({ ok: i, active: require("seqlab").tf.getBackend() })),
          (e) => console.log(JSON.stringify({ error: e.message })));`;
  const r = await run(process.execPath, ["-e", code], { env: { ...process.env, ...env } });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

/** Whether tfjs-node loads here (it may be missing, or installed without its native library). */
let tfjsNode = true;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("@tensorflow/tfjs-node");
} catch {
  tfjsNode = false;
}

describe("backend", function () {
  this.timeout(60_000);

  it("picks the fastest backend that loads and says why", async () => {
    const { ok, active } = await choose({ SEQLAB_BACKEND: undefined });
    assert.equal(active, ok.name);
    if (tfjsNode) {
      assert.equal(ok.name, "tensorflow");
    } else {
      assert.equal(ok.name, "wasm");
      assert.deepEqual(
        ok.skipped.map((s: { name: string }) => s.name),
        ["tensorflow"],
      );
      assert.match(ok.reason, /^tensorflow unavailable \((@tensorflow\/tfjs-node (is not installed|has no native library))/);
      assert.equal(typeof ok.simd, "boolean");
    }
  });

  it("describeBackend: the backend on the first line, each skipped backend on a short line of its own", () => {
    const why = "@tensorflow/tfjs-node is not installed (optional: needs libtensorflow)";
    const text = describeBackend({
      name: "wasm",
      simd: true,
      reason: `tensorflow unavailable (${why})`,
      skipped: [{ name: "tensorflow", why }],
    });
    assert.equal(text, `tfjs backend: wasm (SIMD)\n  not tensorflow: ${why}`);
    for (const line of text.split("\n")) assert.ok(line.length <= 100, `${line.length} characters: ${line}`);
    assert.equal(
      describeBackend({ name: "cpu", reason: "chosen by SEQLAB_BACKEND", skipped: [] }),
      "tfjs backend: cpu, chosen by SEQLAB_BACKEND",
    );
  });

  it("SEQLAB_BACKEND forces a backend", async () => {
    const { ok, active } = await choose({ SEQLAB_BACKEND: "cpu" });
    assert.equal(ok.name, "cpu");
    assert.equal(active, "cpu");
    assert.match(ok.reason, /SEQLAB_BACKEND/);
  });

  it("an argument forces a backend too", async () => {
    const { ok } = await choose({ SEQLAB_BACKEND: undefined }, "wasm");
    assert.equal(ok.name, "wasm");
  });

  it("an unknown SEQLAB_BACKEND is an error that lists the choices", async () => {
    const { error } = await choose({ SEQLAB_BACKEND: "gpu" });
    assert.equal(error, 'SEQLAB_BACKEND: expected one of "tensorflow", "wasm", "cpu", got "gpu"');
  });

  it("an unknown argument names the argument", async () => {
    const { error } = await choose({ SEQLAB_BACKEND: undefined }, "webgl");
    assert.equal(error, 'backend: expected one of "tensorflow", "wasm", "cpu", got "webgl"');
  });

  (tfjsNode ? it.skip : it)("forcing tensorflow where tfjs-node is missing says so", async () => {
    const { error } = await choose({ SEQLAB_BACKEND: "tensorflow" });
    assert.match(error, /^SEQLAB_BACKEND="tensorflow" cannot be used: (@tensorflow\/tfjs-node (is not installed|has no native library))/);
  });
});
