/**
 * What the PyTorch side of `npm run bench` runs on: the BLAS its process really loaded
 * (test/bench/torch_blas.py reads /proc/self/maps) and the CPU's vector extensions
 * (/proc/cpuinfo). Debian's python3-torch calls whatever libblas.so.3 is installed; on the
 * reference BLAS (libblas3, what `apt-get install python3-torch` brings alone) a PyTorch LSTM
 * step is ~10× slower, and a comparison against it says nothing, so the bench refuses it.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { installPlan, thisMachine, TORCH_PYTHON } from "../../kernel/setup";

/** What test/bench/torch_blas.py reports. */
export interface TorchFacts {
  torch: string;
  /** The library that gives libtorch_cpu its sgemm_ (the dynamic linker's answer, symlinks resolved). */
  sgemm: string | null;
  /** OpenBLAS's own account when that library is OpenBLAS: build, kernels for this CPU, threads. */
  openblas: { library: string; config: string; core: string; threads: number } | null;
  /** BLAS, LAPACK and OpenMP libraries mapped into the process (a library mapped is not one in use). */
  libraries: string[];
  /** BLAS_INFO of torch's build ("generic" on Debian: whatever libblas.so.3 is). */
  build_blas: string | null;
  /** ATen's kernels for this CPU ("CPU capability usage"). */
  cpu_capability: string | null;
  multiarch: string | null;
  alternative: { name: string; status: string | null; value: string | null; best: string | null } | null;
}

export type BlasName = "OpenBLAS" | "MKL" | "BLIS" | "ATLAS" | "reference BLAS" | "unknown";

export interface Blas {
  name: BlasName;
  /** The generic Netlib reference implementation (or nothing recognisable): no comparison. */
  reference: boolean;
  /** The library torch's sgemm_ comes from. */
  library: string | null;
  /** e.g. "OpenBLAS 0.3.21 … Zen MAX_THREADS=64", "BLAS_INFO=mkl (linked into torch)". */
  detail: string | null;
}

/** Names the BLAS torch calls, from the library its sgemm_ comes from (or torch's build, for one linked in). */
export function classifyBlas(facts: Pick<TorchFacts, "sgemm" | "openblas" | "build_blas">): Blas {
  const library = facts.sgemm;
  if (facts.openblas) return { name: "OpenBLAS", reference: false, library, detail: facts.openblas.config };
  const named = (name: BlasName): Blas => ({ name, reference: false, library, detail: null });
  if (library) {
    if (/openblas/i.test(library)) return named("OpenBLAS");
    if (/mkl/i.test(library)) return named("MKL");
    if (/blis/i.test(library)) return named("BLIS");
    if (/atlas/i.test(library)) return named("ATLAS");
    if (/^libblas\.so/.test(path.basename(library))) {
      return { name: "reference BLAS", reference: true, library, detail: "Netlib reference implementation (Debian libblas3)" };
    }
  }
  // sgemm_ inside torch itself (a BLAS linked in, as pip's wheels do with MKL), or nowhere
  const build = facts.build_blas ?? "";
  if (/mkl|openblas|blis|accelerate/i.test(build)) {
    const name: BlasName = /mkl/i.test(build) ? "MKL" : /blis/i.test(build) ? "BLIS" : "OpenBLAS";
    return { name, reference: false, library, detail: `BLAS_INFO=${build} (linked into torch)` };
  }
  return { name: "unknown", reference: true, library, detail: `sgemm_ from ${library ?? "nowhere"}; BLAS_INFO=${build || "?"}` };
}

export interface CpuFeatures {
  model: string;
  avx2: boolean;
  fma: boolean;
  /** The AVX-512 subsets present (avx512f, avx512bw, …); empty without AVX-512. */
  avx512: string[];
  /** "AVX-512", "AVX2 (no AVX-512)" or "no AVX2". */
  summary: string;
}

/** The vector extensions in /proc/cpuinfo's flags (the first processor's; they are all alike). */
export function cpuFeatures(cpuinfo?: string): CpuFeatures {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = fs.readFileSync("/proc/cpuinfo", "utf-8");
    } catch {
      text = "";
    }
  }
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(text)?.[1] ?? "").split(/\s+/).filter(Boolean));
  const model = /^model name\s*:\s*(.*)$/m.exec(text)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown CPU";
  const avx512 = [...flags].filter((f) => f.startsWith("avx512")).sort();
  const avx2 = flags.has("avx2");
  const summary = avx512.includes("avx512f") ? "AVX-512" : avx2 ? "AVX2 (no AVX-512)" : "no AVX2";
  return { model, avx2, fma: flags.has("fma"), avx512, summary };
}

/**
 * How wide the vectors of an OpenBLAS x86-64 kernel family are: 512 (SkylakeX and after),
 * 256 with FMA (Haswell, Zen) or less (Sandybridge, Prescott, …). OpenBLAS 0.3.21 (Debian 12)
 * does not know every CPU that has AVX-512: it runs Haswell kernels on AMD's Zen 4 and has
 * been seen to fall back to Prescott (SSE3) on a recent Xeon.
 */
export function openblasVectorBits(core: string): 512 | 256 | 128 {
  const c = core.toLowerCase();
  if (["skylakex", "cooperlake", "sapphirerapids"].includes(c)) return 512;
  if (["haswell", "zen"].includes(c)) return 256;
  return 128;
}

/**
 * The OpenBLAS kernels a fair PyTorch baseline runs on this CPU, and why. A PyTorch user with
 * a current OpenBLAS or MKL gets AVX-512 kernels on an AVX-512 CPU; Debian's 0.3.21 may not,
 * and an OPENBLAS_CORETYPE in the environment (one machine here sets Haswell for every
 * process) may hold it back: on an AMD EPYC with AVX-512, SkylakeX kernels made PyTorch's LSTM
 * step at H = 256 1.45× faster than Haswell ones. So the bench sets OPENBLAS_CORETYPE to the
 * widest kernels the CPU runs whenever the process ran narrower ones (`detected`: the core
 * OpenBLAS reported under the current environment).
 */
export function fairOpenblasCore(
  detected: string,
  cpu: CpuFeatures,
  env: NodeJS.ProcessEnv = process.env,
): { coretype: string | null; note: string } {
  const avx512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl"].every((f) => cpu.avx512.includes(f));
  const best = avx512 ? "SkylakeX" : cpu.avx2 && cpu.fma ? "Haswell" : null;
  if (!best || openblasVectorBits(detected) >= openblasVectorBits(best)) {
    return {
      coretype: null,
      note: env.OPENBLAS_CORETYPE ? `OPENBLAS_CORETYPE=${env.OPENBLAS_CORETYPE} from the environment` : "OpenBLAS's choice",
    };
  }
  const why = env.OPENBLAS_CORETYPE ? `the environment's OPENBLAS_CORETYPE=${env.OPENBLAS_CORETYPE}` : `OpenBLAS's choice of ${detected}`;
  return {
    coretype: best,
    note: `OPENBLAS_CORETYPE=${best} set by the bench: ${why} is narrower than this CPU's ${avx512 ? "AVX-512" : "AVX2"}`,
  };
}

/** Runs torch_blas.py: what PyTorch loads here, or why it could not tell. */
export function torchFacts(python = TORCH_PYTHON, env: NodeJS.ProcessEnv = process.env): TorchFacts | { error: string } {
  const r = spawnSync(python, [path.join(__dirname, "torch_blas.py")], { encoding: "utf-8", env: { ...env, OMP_NUM_THREADS: "1" } });
  if (r.error) return { error: `${python}: ${r.error.message}` };
  if (r.status !== 0) {
    return {
      error: r.stderr.includes("No module named 'torch'")
        ? `PyTorch is not installed for ${python}`
        : (r.stderr.trim().split("\n").pop() ?? "failed"),
    };
  }
  return JSON.parse(r.stdout.trim()) as TorchFacts;
}

/**
 * Whether PyTorch here is a fair reference, and if not what to run: install OpenBLAS (what
 * kernel/setup.js installs for the bench); or, when the libblas.so.3 alternative was set by
 * hand to another BLAS, put it back on auto; or, when it points at a real BLAS and the
 * process still loaded the reference one, drop the environment that redirected it.
 */
export function blasVerdict(
  facts: TorchFacts | { error: string },
  machine = thisMachine(),
): { ok: true; blas: Blas } | { ok: false; blas: Blas | null; problem: string; remedy: string } {
  if ("error" in facts)
    return { ok: false, blas: null, problem: facts.error, remedy: installPlan({ ...machine, missing: ["torch", "openblas"] }).manual };
  const blas = classifyBlas(facts);
  if (!blas.reference) return { ok: true, blas };
  const problem = `PyTorch runs on the ${blas.name}${blas.library ? ` (${blas.library})` : ""}, ~10× slower than OpenBLAS: no fair comparison`;
  const alt = facts.alternative;
  const real = (p: string | null | undefined) => Boolean(p && /openblas|blis|mkl|atlas/i.test(p));
  if (alt && real(alt.value)) {
    return {
      ok: false,
      blas,
      problem: `${problem}, although ${alt.name} points at ${alt.value}`,
      remedy: "unset LD_LIBRARY_PATH LD_PRELOAD",
    };
  }
  if (alt && real(alt.best)) {
    const sudo = machine.root ? "" : "sudo ";
    return {
      ok: false,
      blas,
      problem: `${problem}: ${alt.name} was set by hand to ${alt.value}`,
      remedy: `${sudo}update-alternatives --auto ${alt.name}`,
    };
  }
  return { ok: false, blas, problem, remedy: installPlan({ ...machine, missing: ["openblas"] }).manual };
}

/** One line for the bench's header, e.g. "PyTorch 1.13 on OpenBLAS 0.3.21 (Zen kernels, …); CPU …: AVX2 (no AVX-512)". */
export function describeSetup(facts: TorchFacts | { error: string }, blas: Blas | null, cpu: CpuFeatures, kernels?: string): string {
  const cpuText = `CPU ${cpu.model}: ${cpu.summary}${cpu.avx512.length ? ` (${cpu.avx512.join(" ")})` : ""}`;
  if ("error" in facts || !blas) return `PyTorch: none (${"error" in facts ? facts.error : "?"}); ${cpuText}`;
  const version = blas.name === "OpenBLAS" && facts.openblas ? /OpenBLAS (\S+)/.exec(facts.openblas.config)?.[1] : undefined;
  const how = [
    facts.openblas ? `${facts.openblas.core} kernels${kernels ? `, ${kernels}` : ""}` : null,
    blas.library ? blas.library.split("/").slice(-2).join("/") : blas.detail,
    facts.cpu_capability ? `ATen ${facts.cpu_capability}` : null,
  ].filter(Boolean);
  const flag = blas.reference ? "⚠ " : "";
  return `${flag}PyTorch ${facts.torch} on ${blas.name}${version ? ` ${version}` : ""} (${how.join(", ")}); ${cpuText}`;
}
