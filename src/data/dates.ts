/**
 * Date-format translation: a small sequence-to-sequence task for encoder–decoders and
 * attention (the lecture's last slides). Read a date written one of several ways, write it
 * in ISO 8601:
 * ```
 * "26 Nov 2026"                  → "2026-11-26"
 * "Thursday, 26 November 2026"   → "2026-11-26"
 * "11/26/2026"                   → "2026-11-26"
 * ```
 * Input formats ({@link DATE_FORMATS}) differ in length (10 to 29 characters), so how
 * accuracy falls with input length can be measured by choosing formats.
 *
 * Held-out split: each calendar date is either a training or a test date (about 10 % are
 * test dates, fixed by a hash of the date), in every format — so test accuracy measures
 * translating dates never seen in training, not remembering them.
 *
 * | field | shape | meaning |
 * |---|---|---|
 * | x | [B, Tx] int32 | source characters ({@link DATE_SOURCE_VOCAB}), PAD after the end |
 * | xMask | [B, Tx] | 1 for real source characters |
 * | yIn | [B, 11] int32 | decoder input: START + the 10 target characters ({@link DATE_TARGET_VOCAB}) |
 * | y | [B, 11] int32 | decoder target: the 10 characters + END |
 * | mask | [B, 11] | all 1 (every target step counts) |
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D } from "@tensorflow/tfjs";
import type { Rng } from "../init";
import { seededBatches, type BatchStreamOptions } from "./batches";
import { Vocab } from "./vocab";
import { padSequences } from "./padding";

/** A calendar date. */
export interface SimpleDate {
  year: number;
  /** 1 … 12 */
  month: number;
  /** 1 … 31 */
  day: number;
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** The input formats, each with an example for 26 November 2026. */
export const DATE_FORMATS = {
  /** "26 Nov 2026" */
  "d MMM yyyy": "26 Nov 2026",
  /** "26 November 2026" */
  "d MMMM yyyy": "26 November 2026",
  /** "Nov 26, 2026" */
  "MMM d, yyyy": "Nov 26, 2026",
  /** "November 26, 2026" */
  "MMMM d, yyyy": "November 26, 2026",
  /** "26.11.2026" */
  "dd.MM.yyyy": "26.11.2026",
  /** "11/26/2026" (US order) */
  "MM/dd/yyyy": "11/26/2026",
  /** "Thursday, 26 November 2026" */
  "EEEE, d MMMM yyyy": "Thursday, 26 November 2026",
  /** "iso": "2026-11-26" itself (copying, the easiest case) */
  iso: "2026-11-26",
} as const;
export type DateFormat = keyof typeof DATE_FORMATS;

/** Every format name. */
export const DATE_FORMAT_NAMES = Object.keys(DATE_FORMATS) as DateFormat[];

const pad2 = (n: number) => String(n).padStart(2, "0");

/** Days since 1970-01-01 (UTC). */
function dayNumber(d: SimpleDate): number {
  return Math.round(Date.UTC(d.year, d.month - 1, d.day) / 86_400_000);
}
function fromDayNumber(n: number): SimpleDate {
  const t = new Date(n * 86_400_000);
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/** Whether year/month/day name a real date (e.g. no 31 April, 29 February only in leap years). */
export function isValidDate(d: SimpleDate): boolean {
  if (![d.year, d.month, d.day].every(Number.isInteger) || d.year < 1 || d.year > 9999) return false;
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day));
  return t.getUTCFullYear() === d.year && t.getUTCMonth() === d.month - 1 && t.getUTCDate() === d.day;
}

/** The date written in `format`. @throws on an invalid date or unknown format */
export function formatDate(d: SimpleDate, format: DateFormat): string {
  if (!isValidDate(d)) throw new Error(`formatDate: ${JSON.stringify(d)} is not a valid date`);
  const M = MONTHS[d.month - 1];
  const y = String(d.year).padStart(4, "0");
  switch (format) {
    case "d MMM yyyy":
      return `${d.day} ${M.slice(0, 3)} ${y}`;
    case "d MMMM yyyy":
      return `${d.day} ${M} ${y}`;
    case "MMM d, yyyy":
      return `${M.slice(0, 3)} ${d.day}, ${y}`;
    case "MMMM d, yyyy":
      return `${M} ${d.day}, ${y}`;
    case "dd.MM.yyyy":
      return `${pad2(d.day)}.${pad2(d.month)}.${y}`;
    case "MM/dd/yyyy":
      return `${pad2(d.month)}/${pad2(d.day)}/${y}`;
    case "EEEE, d MMMM yyyy":
      return `${WEEKDAYS[new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay()]}, ${d.day} ${M} ${y}`;
    case "iso":
      return `${y}-${pad2(d.month)}-${pad2(d.day)}`;
    default:
      throw new Error(`formatDate: unknown format "${format}"; formats: ${DATE_FORMAT_NAMES.join(", ")}`);
  }
}

/** The inverse of {@link formatDate}. @throws if `text` is not a valid date in `format` (weekday included) */
export function parseDate(text: string, format: DateFormat): SimpleDate {
  const month = (name: string) => MONTHS.findIndex((m) => m === name || m.slice(0, 3) === name) + 1;
  const patterns: Record<DateFormat, [RegExp, (m: RegExpExecArray) => SimpleDate]> = {
    "d MMM yyyy": [/^(\d{1,2}) ([A-Z][a-z]{2}) (\d{4})$/, (m) => ({ day: +m[1], month: month(m[2]), year: +m[3] })],
    "d MMMM yyyy": [/^(\d{1,2}) ([A-Z][a-z]+) (\d{4})$/, (m) => ({ day: +m[1], month: month(m[2]), year: +m[3] })],
    "MMM d, yyyy": [/^([A-Z][a-z]{2}) (\d{1,2}), (\d{4})$/, (m) => ({ day: +m[2], month: month(m[1]), year: +m[3] })],
    "MMMM d, yyyy": [/^([A-Z][a-z]+) (\d{1,2}), (\d{4})$/, (m) => ({ day: +m[2], month: month(m[1]), year: +m[3] })],
    "dd.MM.yyyy": [/^(\d{2})\.(\d{2})\.(\d{4})$/, (m) => ({ day: +m[1], month: +m[2], year: +m[3] })],
    "MM/dd/yyyy": [/^(\d{2})\/(\d{2})\/(\d{4})$/, (m) => ({ day: +m[2], month: +m[1], year: +m[3] })],
    "EEEE, d MMMM yyyy": [/^[A-Z][a-z]+, (\d{1,2}) ([A-Z][a-z]+) (\d{4})$/, (m) => ({ day: +m[1], month: month(m[2]), year: +m[3] })],
    iso: [/^(\d{4})-(\d{2})-(\d{2})$/, (m) => ({ day: +m[3], month: +m[2], year: +m[1] })],
  };
  const p = patterns[format];
  if (!p) throw new Error(`parseDate: unknown format "${format}"; formats: ${DATE_FORMAT_NAMES.join(", ")}`);
  const m = p[0].exec(text);
  const d = m ? p[1](m) : undefined;
  if (!d || !isValidDate(d) || formatDate(d, format) !== text) {
    throw new Error(
      `parseDate: ${JSON.stringify(text)} is not a valid date in the format "${format}" (e.g. ${JSON.stringify(DATE_FORMATS[format])})`,
    );
  }
  return d;
}

/** Whether a date is held out for testing (about 10 % of dates; fixed, independent of any seed). */
export function isTestDate(d: SimpleDate): boolean {
  let z = (dayNumber(d) + 0x9e3779b9) >>> 0; // a fixed integer hash of the day
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z = (z ^ (z >>> 16)) >>> 0;
  return z % 10 === 0;
}

/** Characters of every input format (digits, letters of month and weekday names, punctuation), with PAD. */
export const DATE_SOURCE_VOCAB = Vocab.ofChars("0123456789 ,./-" + MONTHS.join("") + WEEKDAYS.join(""), {
  specials: ["pad"],
  name: "date source vocab",
});
/** Digits and "-", with PAD, START and END. */
export const DATE_TARGET_VOCAB = new Vocab(Array.from("0123456789-"), { specials: ["pad", "start", "end"], name: "date target vocab" });

/** One example: the date, its input text and format, and the ISO target. */
export interface DateExample {
  date: SimpleDate;
  format: DateFormat;
  source: string;
  target: string;
}

/** Default of {@link DateOptions.split}: training dates. */
export const DEFAULT_DATE_SPLIT = "train";
/** Default of {@link DateOptions.formats}: every format but "iso" (which would only be copied). */
export const DEFAULT_DATE_FORMATS: readonly DateFormat[] = DATE_FORMAT_NAMES.filter((f) => f !== "iso");
/** Default of {@link DateOptions.years}: 1950 to 2049, inclusive. */
export const DEFAULT_DATE_YEARS: readonly [number, number] = [1950, 2049];

/** How to draw dates. */
export interface DateOptions {
  /** "train" dates or held-out "test" dates. Default: {@link DEFAULT_DATE_SPLIT} ("train"). */
  split?: "train" | "test";
  /** Input formats to draw from (uniformly). Default: {@link DEFAULT_DATE_FORMATS} (all but "iso"). */
  formats?: readonly DateFormat[];
  /** First and last year (inclusive). Default: {@link DEFAULT_DATE_YEARS} (1950 and 2049). */
  years?: [number, number];
}

/** `n` examples drawn from `rng` (dates uniform over the split, formats uniform over `formats`). */
export function dateExamples(n: number, options: DateOptions, rng: Rng): DateExample[] {
  const split = options.split ?? DEFAULT_DATE_SPLIT;
  const formats = options.formats ?? DEFAULT_DATE_FORMATS;
  if (formats.length === 0) throw new Error("dateExamples: formats is empty");
  for (const f of formats)
    if (!(f in DATE_FORMATS)) throw new Error(`dateExamples: unknown format "${f}"; formats: ${DATE_FORMAT_NAMES.join(", ")}`);
  const [y0, y1] = options.years ?? DEFAULT_DATE_YEARS;
  if (!(Number.isInteger(y0) && Number.isInteger(y1) && 1 <= y0 && y0 <= y1 && y1 <= 9999))
    throw new Error(`dateExamples: years must be [first, last] within 1…9999, got [${y0}, ${y1}]`);
  const first = dayNumber({ year: y0, month: 1, day: 1 });
  const days = dayNumber({ year: y1, month: 12, day: 31 }) - first + 1;
  const out: DateExample[] = [];
  while (out.length < n) {
    const date = fromDayNumber(first + rng.int(days));
    if (isTestDate(date) !== (split === "test")) continue;
    const format = formats[rng.int(formats.length)];
    out.push({ date, format, source: formatDate(date, format), target: formatDate(date, "iso") });
  }
  return out;
}

/** A batch of the date task; see the file comment for shapes. */
export interface DateBatch {
  x: Tensor2D;
  xMask: Tensor2D;
  yIn: Tensor2D;
  y: Tensor2D;
  mask: Tensor2D;
}

/** Encodes examples into a {@link DateBatch} (the source padded to the longest in the batch). */
export function dateBatchOf(examples: readonly DateExample[]): DateBatch {
  if (examples.length === 0) throw new Error("dateBatchOf: empty batch (no examples)");
  const src = padSequences(
    examples.map((e, i) => DATE_SOURCE_VOCAB.encode(e.source, i)),
    { padId: DATE_SOURCE_VOCAB.pad, where: "dateBatchOf" },
  );
  const V = DATE_TARGET_VOCAB;
  const targets = examples.map((e, i) => V.encode(e.target, i));
  const yIn = targets.map((t) => [V.start, ...t]);
  const y = targets.map((t) => [...t, V.end]);
  const B = examples.length;
  const Ty = y[0].length;
  return {
    x: src.ids,
    xMask: src.mask,
    yIn: tf.tensor2d(yIn, [B, Ty], "int32"),
    y: tf.tensor2d(y, [B, Ty], "int32"),
    mask: tf.ones([B, Ty]) as Tensor2D,
  };
}

/** One batch of `batchSize` date examples drawn from `rng`. */
export function dateBatch(options: DateOptions & { batchSize: number }, rng: Rng): DateBatch {
  return dateBatchOf(dateExamples(options.batchSize, options, rng));
}

/** `batches` date batches from `seed` (a generator; see {@link seededBatches}). */
export function dateBatches(options: DateOptions & { batchSize: number } & BatchStreamOptions): Generator<DateBatch> {
  return seededBatches(dateBatch, options);
}
