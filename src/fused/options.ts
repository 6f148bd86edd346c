/**
 * The environment variables that configure the fused path, parsed and validated in one
 * place (like SEQLAB_BACKEND in src/backend.ts): an unknown value is a
 * {@link FusedOptionError} naming the variable, the values it accepts and what it got,
 * never a silent default.
 *
 * | variable            | values                                   | default |
 * |---------------------|------------------------------------------|---------|
 * | SEQLAB_FUSED        | 0/off/false: the tfjs-op reference path; 1/on/true/auto: the fastest build; relaxed/simd/scalar: that build (or the next slower one the runtime validates) | auto |
 * | SEQLAB_THREADS      | 1, 2 or auto (see threads.ts)            | auto    |
 * | SEQLAB_RELAXED_SIMD | 0/off/false: leave V8's flags alone; 1/on/true: set --experimental-wasm-relaxed-simd where needed (see wasm.ts) | on |
 *
 * Values are trimmed and compared case-insensitively; an empty value means unset. The
 * variables are read on every call, so a process may change them between calls.
 */

import type { KernelBuild } from "./wasm";

/** A configuration value the fused path does not accept. */
export class FusedOptionError extends Error {
  override name = "FusedOptionError";

  constructor(
    /** The environment variable (or option) that holds the value. */
    readonly variable: string,
    /** The values it accepts. */
    readonly allowed: readonly string[],
    /** The value it holds. */
    readonly got: string,
  ) {
    super(`${variable}: expected one of ${allowed.map((v) => `"${v}"`).join(", ")}, got "${got}"`);
  }
}

const OFF = ["0", "off", "false"] as const;
const ON = ["1", "on", "true"] as const;
const BUILDS = ["relaxed", "simd", "scalar"] as const;

/** The values a variable accepts, in the order its error lists them, and the last value read. */
interface Table<V> {
  readonly entries: readonly (readonly [string, V])[];
  /** The last raw value read and its meaning (process.env is read on every call; parsing is not repeated). */
  last?: { raw: string | undefined; value: V };
}

/** Each of `keys` mapped to `value`. */
function all<V>(keys: readonly string[], value: V): [string, V][] {
  return keys.map((k) => [k, value]);
}

/**
 * The value of `variable` looked up in `table` (the unset or empty value maps to
 * `unset`); throws a {@link FusedOptionError} for any other value.
 */
function parse<V>(variable: string, table: Table<V>, unset: V): V {
  const raw = process.env[variable];
  if (table.last && table.last.raw === raw) return table.last.value;
  const value = (raw ?? "").trim().toLowerCase();
  const hit = value === "" ? ([value, unset] as const) : table.entries.find(([key]) => key === value);
  if (!hit)
    throw new FusedOptionError(
      variable,
      table.entries.map(([key]) => key),
      raw ?? "",
    );
  table.last = { raw, value: hit[1] };
  return hit[1];
}

type FusedSetting = false | "auto" | KernelBuild;
const FUSED: Table<FusedSetting> = {
  entries: [
    ...all<FusedSetting>(OFF, false),
    ...all<FusedSetting>([...ON, "auto"], "auto"),
    ...BUILDS.map((b): [string, FusedSetting] => [b, b]),
  ],
};
const THREADS: Table<1 | 2 | "auto"> = {
  entries: [
    ["1", 1],
    ["2", 2],
    ["auto", "auto"],
  ],
};
const RELAXED_SIMD: Table<boolean> = { entries: [...all(OFF, false), ...all(ON, true)] };

/**
 * SEQLAB_FUSED: false (the tfjs-op reference path), "auto" (the fastest build the runtime
 * validates; also when unset) or a build to prefer.
 *
 * @throws {FusedOptionError} for a value that is none of 0/off/false, 1/on/true/auto, relaxed/simd/scalar.
 */
export function fusedSetting(): FusedSetting {
  return parse("SEQLAB_FUSED", FUSED, "auto");
}

/**
 * SEQLAB_THREADS: 1, 2 or "auto" (also when unset).
 *
 * @throws {FusedOptionError} for a value that is none of 1, 2, auto.
 */
export function threadsSetting(): 1 | 2 | "auto" {
  return parse("SEQLAB_THREADS", THREADS, "auto");
}

/**
 * SEQLAB_RELAXED_SIMD: whether seqlab may set V8's --experimental-wasm-relaxed-simd where
 * the runtime does not validate relaxed SIMD as it is (true also when unset).
 *
 * @throws {FusedOptionError} for a value that is none of 0/off/false, 1/on/true.
 */
export function relaxedSimdSetting(): boolean {
  return parse("SEQLAB_RELAXED_SIMD", RELAXED_SIMD, true);
}
