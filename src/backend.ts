/**
 * Which tfjs backend seqlab runs on, and why.
 *
 * Order of preference: `tensorflow` (@tensorflow/tfjs-node, native libtensorflow)
 * when it loads, else `wasm` (@tensorflow/tfjs-backend-wasm, SIMD), else `cpu`
 * (plain JavaScript). The environment variable SEQLAB_BACKEND forces one of them.
 *
 * tfjs-node is an optional dependency: its install downloads libtensorflow, which
 * fails on machines without internet access. seqlab then falls back to wasm and
 * says so in one line — see {@link backendInfo}.
 */
import * as tf from "@tensorflow/tfjs";
import { plotlySent, sendPlotlyJs } from "./plot/show";
import { installWasmMatMul } from "./fused/matmul";

/** The tfjs backends seqlab can use, fastest first. */
export const BACKENDS = ["tensorflow", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKENDS)[number];

/** What {@link initBackend} chose and why. */
export interface BackendInfo {
  /** The tfjs backend in use: "tensorflow" (tfjs-node), "wasm" or "cpu". */
  name: BackendName;
  /** One line for people: why this backend. */
  reason: string;
  /** Whether the wasm backend runs with SIMD (only for "wasm"). */
  simd?: boolean;
  /** The backends tried before this one, with why each was not used. */
  skipped: { name: BackendName; why: string }[];
}

let chosen: Promise<BackendInfo> | undefined;
let info: BackendInfo | undefined;

/**
 * Chooses and initialises the backend (once; later calls return the same answer).
 *
 * In the seqlab kernel it also sends plotly.js to the page, in an invisible output of the
 * cell that calls it (a notebook's first cell): plotly.js (4.6 MB) is then loaded while the
 * student reads on, and the first frame of a live plot shows as soon as training starts
 * instead of travelling with it.
 *
 * @param backend force one backend; default: `process.env.SEQLAB_BACKEND`, else
 *   the first of tensorflow → wasm → cpu that loads.
 * @throws if `backend` (or SEQLAB_BACKEND) is not one of {@link BACKENDS}, or the
 *   forced backend cannot be loaded.
 */
export function initBackend(backend?: string): Promise<BackendInfo> {
  if (!plotlySent()) sendPlotlyJs();
  const forced = backend ?? (process.env.SEQLAB_BACKEND || undefined);
  if (forced !== undefined && !(BACKENDS as readonly string[]).includes(forced)) {
    const from = backend !== undefined ? "backend" : "SEQLAB_BACKEND";
    return Promise.reject(new Error(`${from}: expected one of ${BACKENDS.map((b) => `"${b}"`).join(", ")}, got "${forced}"`));
  }
  if (chosen && (forced === undefined || info?.name === forced)) return chosen;
  chosen = choose(forced as BackendName | undefined).then((i) => (info = i));
  return chosen;
}

/** The backend in use, or undefined before {@link initBackend} has finished. */
export function backendInfo(): BackendInfo | undefined {
  return info;
}

/**
 * The backend in use and why, e.g. for a notebook's first cell: the backend on the first
 * line, each faster backend that was skipped (and why) on a short line of its own, so
 * nothing wraps mid-word in a narrow notebook.
 */
export function describeBackend(i: BackendInfo): string {
  const extra = i.name === "wasm" ? (i.simd ? " (SIMD)" : " (no SIMD)") : "";
  const skipped = i.skipped ?? [];
  if (skipped.length === 0) return `tfjs backend: ${i.name}${extra}, ${i.reason}`;
  return [`tfjs backend: ${i.name}${extra}`, ...skipped.map((s) => `  not ${s.name}: ${s.why}`)].join("\n");
}

async function choose(forced: BackendName | undefined): Promise<BackendInfo> {
  const skipped: BackendInfo["skipped"] = [];
  const order: BackendName[] = forced ? [forced] : [...BACKENDS];
  for (const name of order) {
    const why = await tryBackend(name);
    if (why === null) {
      // tfjs-wasm's own product is 10× slower for transposed or batched operands (src/fused/matmul.ts)
      if (name === "wasm") installWasmMatMul();
      const reason = forced
        ? `chosen by ${process.env.SEQLAB_BACKEND === forced ? "SEQLAB_BACKEND" : "the caller"}`
        : skipped.length === 0
          ? "the fastest available"
          : skipped.map((s) => `${s.name} unavailable (${s.why})`).join("; ");
      const simd = name === "wasm" ? Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) : undefined;
      return { name, reason, skipped, ...(simd === undefined ? {} : { simd }) };
    }
    if (forced) throw new Error(`SEQLAB_BACKEND="${forced}" cannot be used: ${why}`);
    skipped.push({ name, why });
  }
  throw new Error(`no tfjs backend could be initialised: ${skipped.map((s) => `${s.name}: ${s.why}`).join("; ")}`);
}

/** Loads and activates one backend; returns null on success, else why not. */
async function tryBackend(name: BackendName): Promise<string | null> {
  try {
    // Loaded on demand (require, not import): either may be missing, and loading one registers it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (name === "tensorflow") require("@tensorflow/tfjs-node");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (name === "wasm") require("@tensorflow/tfjs-backend-wasm");
  } catch (e) {
    return loadFailure(name, e);
  }
  try {
    return (await tf.setBackend(name)) ? null : `tf.setBackend("${name}") failed`;
  } catch (e) {
    return firstLine(e);
  }
}

function loadFailure(name: BackendName, e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === "MODULE_NOT_FOUND" && String((e as Error).message).includes(name === "tensorflow" ? "tfjs-node" : "tfjs-backend-wasm")) {
    return name === "tensorflow"
      ? "@tensorflow/tfjs-node is not installed (optional: needs libtensorflow)"
      : "@tensorflow/tfjs-backend-wasm is not installed";
  }
  if (name === "tensorflow" && /tfjs_binding/.test(String((e as Error).message))) {
    // npm installed the package but its install script could not download libtensorflow.
    return "@tensorflow/tfjs-node has no native library (its install could not download it)";
  }
  return firstLine(e);
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split("\n")[0];
}
