/**
 * The bench's account of what PyTorch runs on: the BLAS named from the library that gives
 * torch its sgemm_, the CPU's vector extensions, and the refusal (with the command that fixes
 * it) of the reference BLAS.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import {
  blasVerdict,
  classifyBlas,
  cpuFeatures,
  describeSetup,
  fairOpenblasCore,
  openblasVectorBits,
  torchFacts,
  type TorchFacts,
} from "./blas";
import { TORCH_PYTHON } from "../../kernel/setup";

const LIB = "/usr/lib/x86_64-linux-gnu";
const OPENBLAS = {
  library: `${LIB}/openblas-pthread/libblas.so.3`,
  config: "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64",
  core: "SkylakeX",
  threads: 1,
};
const ALT = "libblas.so.3-x86_64-linux-gnu";

function facts(over: Partial<TorchFacts>): TorchFacts {
  return {
    torch: "1.13.0a0",
    sgemm: null,
    openblas: null,
    libraries: [],
    build_blas: "generic",
    cpu_capability: "AVX512",
    multiarch: "x86_64-linux-gnu",
    alternative: null,
    ...over,
  };
}
const reference = (alternative: TorchFacts["alternative"] = null) =>
  facts({
    sgemm: `${LIB}/blas/libblas.so.3.11.0`,
    libraries: [`${LIB}/openblas-pthread/libopenblasp-r0.3.21.so`, `${LIB}/blas/libblas.so.3.11.0`],
    alternative,
  });
const root = { debian: true, root: true, pipPython: null };
const user = { debian: true, root: false, pipPython: null };

describe("bench: the BLAS under PyTorch", () => {
  it("names OpenBLAS from its own account, with its kernels", () => {
    const f = facts({ sgemm: OPENBLAS.library, openblas: OPENBLAS });
    const blas = classifyBlas(f);
    assert.deepEqual(blas, { name: "OpenBLAS", reference: false, library: OPENBLAS.library, detail: OPENBLAS.config });
    assert.deepEqual(blasVerdict(f, root), { ok: true, blas });
    const cpu = cpuFeatures("model name\t: Some Xeon\nflags\t\t: fpu sse avx avx2 fma avx512f avx512bw avx512vl\n");
    assert.equal(
      describeSetup(f, blas, cpu),
      "PyTorch 1.13.0a0 on OpenBLAS 0.3.21 (SkylakeX kernels, openblas-pthread/libblas.so.3, ATen AVX512); CPU Some Xeon: AVX-512 (avx512bw avx512f avx512vl)",
    );
  });

  it("goes by the library sgemm_ comes from, not by what is mapped: OpenBLAS loaded for LAPACK is not in use", () => {
    assert.deepEqual(classifyBlas(reference()), {
      name: "reference BLAS",
      reference: true,
      library: `${LIB}/blas/libblas.so.3.11.0`,
      detail: "Netlib reference implementation (Debian libblas3)",
    });
    assert.equal(classifyBlas(facts({ sgemm: `${LIB}/blis-pthread/libblas.so.3` })).name, "BLIS");
    assert.equal(classifyBlas(facts({ sgemm: "/opt/intel/lib/libmkl_rt.so.2" })).name, "MKL");
    // a BLAS linked into torch (pip's wheels): sgemm_ from libtorch_cpu, BLAS_INFO says which
    const linked = classifyBlas(facts({ sgemm: "/site-packages/torch/lib/libtorch_cpu.so", build_blas: "mkl" }));
    assert.deepEqual([linked.name, linked.reference], ["MKL", false]);
    assert.equal(classifyBlas(facts({})).reference, true, "no sgemm_ anywhere: no comparison");
  });

  it("refuses the reference BLAS with the command that fixes it", () => {
    // nothing better installed: install OpenBLAS (the bench's package in kernel/setup.js)
    const bare = blasVerdict(
      reference({ name: ALT, status: "auto", value: `${LIB}/blas/libblas.so.3`, best: `${LIB}/blas/libblas.so.3` }),
      root,
    );
    assert.equal(bare.ok, false);
    assert.ok(!bare.ok && bare.remedy === "apt-get update && apt-get install -y libopenblas0-pthread");
    assert.ok(!bare.ok && /reference BLAS .*~10× slower/.test(bare.problem));
    const asUser = blasVerdict(reference(null), user);
    assert.ok(!asUser.ok && asUser.remedy === "sudo apt-get update && sudo apt-get install -y libopenblas0-pthread");
    // OpenBLAS installed, the alternative set by hand to the reference: back to auto
    const manual = blasVerdict(
      reference({ name: ALT, status: "manual", value: `${LIB}/blas/libblas.so.3`, best: `${LIB}/openblas-pthread/libblas.so.3` }),
      user,
    );
    assert.ok(!manual.ok && manual.remedy === `sudo update-alternatives --auto ${ALT}`);
    assert.ok(!manual.ok && /set by hand/.test(manual.problem));
    // the alternative is OpenBLAS but the process loaded the reference: the environment redirected it
    const env = blasVerdict(
      reference({ name: ALT, status: "auto", value: `${LIB}/openblas-pthread/libblas.so.3`, best: `${LIB}/openblas-pthread/libblas.so.3` }),
      root,
    );
    assert.ok(!env.ok && env.remedy === "unset LD_LIBRARY_PATH LD_PRELOAD");
  });

  it("without PyTorch, says how to install it with OpenBLAS", () => {
    const v = blasVerdict({ error: "PyTorch is not installed for /usr/bin/python3" }, user);
    assert.ok(!v.ok && v.remedy === "sudo apt-get update && sudo apt-get install -y python3-torch libopenblas0-pthread");
  });

  it("reads AVX2 and AVX-512 from /proc/cpuinfo's flags", () => {
    assert.deepEqual(cpuFeatures("model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 fma\n"), {
      model: "AMD EPYC",
      avx2: true,
      fma: true,
      avx512: [],
      summary: "AVX2 (no AVX-512)",
    });
    assert.equal(cpuFeatures("flags : sse2 avx\n").summary, "no AVX2");
    const here = cpuFeatures();
    assert.ok(here.model.length > 0);
  });

  it("gives PyTorch the widest OpenBLAS kernels the CPU runs, and says so", () => {
    const zen4 = cpuFeatures("model name\t: AMD EPYC\nflags\t\t: sse3 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl\n");
    const avx2 = cpuFeatures("model name\t: AMD EPYC\nflags\t\t: sse3 avx avx2 fma\n");
    const old = cpuFeatures("flags : sse3 avx\n");
    assert.deepEqual(fairOpenblasCore("Haswell", zen4, {}), {
      coretype: "SkylakeX",
      note: "OPENBLAS_CORETYPE=SkylakeX set by the bench: OpenBLAS's choice of Haswell is narrower than this CPU's AVX-512",
    });
    assert.equal(fairOpenblasCore("Prescott", zen4, {}).coretype, "SkylakeX");
    assert.equal(fairOpenblasCore("Prescott", avx2, {}).coretype, "Haswell");
    assert.equal(fairOpenblasCore("Sandybridge", avx2, {}).coretype, "Haswell");
    // kernels as wide as the CPU's are kept, whatever their name
    for (const core of ["SkylakeX", "Cooperlake", "SapphireRapids"]) assert.equal(fairOpenblasCore(core, zen4, {}).coretype, null);
    for (const core of ["Haswell", "Zen", "SkylakeX"]) assert.equal(fairOpenblasCore(core, avx2, {}).coretype, null);
    assert.equal(fairOpenblasCore("Sandybridge", old, {}).coretype, null);
    // AVX-512 without BW/DQ/VL (Knights Landing) does not run SkylakeX kernels
    const knl = cpuFeatures("flags : avx2 fma avx512f avx512cd avx512er avx512pf\n");
    assert.equal(fairOpenblasCore("Haswell", knl, {}).coretype, null);
    assert.equal(fairOpenblasCore("Prescott", knl, {}).coretype, "Haswell");
    // an OPENBLAS_CORETYPE in the environment that holds PyTorch back is overridden, and said so
    assert.deepEqual(fairOpenblasCore("Haswell", zen4, { OPENBLAS_CORETYPE: "Haswell" }), {
      coretype: "SkylakeX",
      note: "OPENBLAS_CORETYPE=SkylakeX set by the bench: the environment's OPENBLAS_CORETYPE=Haswell is narrower than this CPU's AVX-512",
    });
    assert.deepEqual(fairOpenblasCore("Cooperlake", zen4, { OPENBLAS_CORETYPE: "Cooperlake" }), {
      coretype: null,
      note: "OPENBLAS_CORETYPE=Cooperlake from the environment",
    });
    assert.deepEqual(fairOpenblasCore("SkylakeX", zen4, {}), { coretype: null, note: "OpenBLAS's choice" });
    assert.deepEqual([openblasVectorBits("ZEN"), openblasVectorBits("cooperlake"), openblasVectorBits("Penryn")], [256, 512, 128]);
    const f = facts({ sgemm: OPENBLAS.library, openblas: OPENBLAS });
    assert.equal(
      describeSetup(f, classifyBlas(f), zen4, fairOpenblasCore("Haswell", zen4, {}).note),
      "PyTorch 1.13.0a0 on OpenBLAS 0.3.21 (SkylakeX kernels, OPENBLAS_CORETYPE=SkylakeX set by the bench: OpenBLAS's choice of " +
        "Haswell is narrower than this CPU's AVX-512, openblas-pthread/libblas.so.3, ATen AVX512); CPU AMD EPYC: AVX-512 (avx512bw avx512cd avx512dq avx512f avx512vl)",
    );
  });

  it("makes a real PyTorch process run the kernels it sets (when PyTorch on OpenBLAS is installed)", function () {
    this.timeout(60_000);
    if (spawnSync(TORCH_PYTHON, ["-c", "import torch"]).status !== 0) this.skip();
    const f = torchFacts(TORCH_PYTHON, { ...process.env, OPENBLAS_CORETYPE: "Prescott" });
    if ("error" in f || !f.openblas) this.skip();
    assert.equal(f.openblas.core, "Prescott");
  });

  it("asks a real PyTorch process which library gives it sgemm_ (when PyTorch is installed)", function () {
    this.timeout(60_000);
    if (spawnSync(TORCH_PYTHON, ["-c", "import torch"]).status !== 0) this.skip();
    const f = torchFacts();
    assert.ok(!("error" in f), "error" in f ? f.error : "");
    if ("error" in f) return;
    assert.ok(f.sgemm, "sgemm_ found");
    assert.notEqual(classifyBlas(f).name, "unknown");
  });
});
