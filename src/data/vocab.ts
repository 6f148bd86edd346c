/**
 * Vocabularies: symbols (characters or tokens) ↔ integer ids.
 *
 * Ids 0… are the special tokens that were asked for, in this order, then the symbols in
 * the order given:
 *
 * | token | id (when present) | meaning |
 * |---|---|---|
 * | PAD `<pad>` | 0 | padding after the end of a shorter sequence (masked out of the loss) |
 * | START `<s>` | next | the decoder's first input (encoder–decoder) |
 * | END `</s>` | next | the end of an output sequence |
 * | UNK `<unk>` | next | stands for symbols not in the vocabulary, if asked for |
 *
 * Without UNK, encoding a symbol that is not in the vocabulary is an error that names the
 * symbol and where it was (sequence and position).
 */

/** The special tokens a vocabulary may have. */
export const SPECIALS = { pad: "<pad>", start: "<s>", end: "</s>", unk: "<unk>" } as const;
export type Special = keyof typeof SPECIALS;

/** Thrown when a symbol is not in the vocabulary (and there is no UNK). */
export class UnknownSymbolError extends Error {
  constructor(
    readonly symbol: string,
    /** Position in the sequence (0-based). */
    readonly position: number,
    /** Which sequence, when encoding several. */
    readonly sequence: number | undefined,
    vocabName: string,
    known: readonly string[],
  ) {
    const list = known.length <= 40 ? known.map((s) => JSON.stringify(s)).join(" ") : `${known.length} symbols`;
    super(
      `${vocabName}: unknown symbol ${JSON.stringify(symbol)} at position ${position}` +
        (sequence !== undefined ? ` of sequence ${sequence}` : "") +
        `; the vocabulary has ${list}`,
    );
    this.name = "UnknownSymbolError";
  }
}

/** Default of {@link VocabOptions.specials}: PAD only (id 0). */
export const DEFAULT_SPECIALS: readonly Special[] = ["pad"];

/** How to build a {@link Vocab}. */
export interface VocabOptions {
  /** Special tokens to add before the symbols, e.g. ["pad", "start", "end"]. Default: {@link DEFAULT_SPECIALS} (["pad"]). */
  specials?: readonly Special[];
  /** Name used in error messages. Default: "vocab". */
  name?: string;
}

/** A vocabulary; see the file comment for the ids. */
export class Vocab {
  /** Every token, by id (specials first). */
  readonly tokens: readonly string[];
  readonly name: string;
  private readonly index: Map<string, number>;
  private readonly specialIds: Partial<Record<Special, number>>;

  /**
   * @param symbols the symbols (characters or tokens), without duplicates
   * @throws on a duplicate symbol or one that clashes with a special token
   */
  constructor(symbols: Iterable<string>, options: VocabOptions = {}) {
    this.name = options.name ?? "vocab";
    const specials = options.specials ?? DEFAULT_SPECIALS;
    const tokens: string[] = [];
    this.specialIds = {};
    for (const s of specials) {
      if (!(s in SPECIALS)) throw new Error(`${this.name}: unknown special token "${s}"; use ${Object.keys(SPECIALS).join(", ")}`);
      if (this.specialIds[s] !== undefined) throw new Error(`${this.name}: special token "${s}" given twice`);
      this.specialIds[s] = tokens.length;
      tokens.push(SPECIALS[s]);
    }
    this.index = new Map(tokens.map((t, i) => [t, i]));
    for (const sym of symbols) {
      if (typeof sym !== "string" || sym.length === 0)
        throw new Error(`${this.name}: symbols must be non-empty strings, got ${JSON.stringify(sym)}`);
      if (this.index.has(sym))
        throw new Error(`${this.name}: symbol ${JSON.stringify(sym)} appears twice (or clashes with a special token)`);
      this.index.set(sym, tokens.length);
      tokens.push(sym);
    }
    this.tokens = tokens;
  }

  /** The characters of `text`, sorted by code point: a character vocabulary. */
  static ofChars(text: string, options: VocabOptions = {}): Vocab {
    return new Vocab([...new Set(Array.from(text))].sort(), options);
  }

  /** Number of ids (specials included): the K of a softmax over it. */
  get size(): number {
    return this.tokens.length;
  }

  /** The id of a special token; throws if the vocabulary has none. */
  special(s: Special): number {
    const id = this.specialIds[s];
    if (id === undefined) throw new Error(`${this.name}: has no ${s} token (${SPECIALS[s]}); build it with specials including "${s}"`);
    return id;
  }
  get pad(): number {
    return this.special("pad");
  }
  get start(): number {
    return this.special("start");
  }
  get end(): number {
    return this.special("end");
  }
  /** Whether the vocabulary has the special token. */
  has(s: Special): boolean {
    return this.specialIds[s] !== undefined;
  }

  /** The id of one symbol. @throws UnknownSymbolError (no UNK) */
  id(symbol: string, position = 0, sequence?: number): number {
    const i = this.index.get(symbol);
    if (i !== undefined) return i;
    const unk = this.specialIds.unk;
    if (unk !== undefined) return unk;
    throw new UnknownSymbolError(symbol, position, sequence, this.name, this.tokens.slice(Object.keys(this.specialIds).length));
  }

  /**
   * Ids of a sequence: a string is split into characters, an array is taken as tokens.
   * @param sequence which sequence this is, for error messages
   * @throws UnknownSymbolError naming the symbol, its position and the sequence
   */
  encode(seq: string | readonly string[], sequence?: number): number[] {
    const symbols = typeof seq === "string" ? Array.from(seq) : seq;
    return symbols.map((s, i) => this.id(s, i, sequence));
  }

  /** Symbols of ids; stops at END and skips PAD and START unless `keepSpecials`. @throws on an id out of range */
  decode(ids: Iterable<number>, options: { keepSpecials?: boolean } = {}): string[] {
    const out: string[] = [];
    let i = 0;
    for (const id of ids) {
      if (!(Number.isInteger(id) && id >= 0 && id < this.size))
        throw new Error(`${this.name}: id ${id} at position ${i} is out of range [0, ${this.size})`);
      i++;
      if (!options.keepSpecials) {
        if (id === this.specialIds.end) break;
        if (id === this.specialIds.pad || id === this.specialIds.start) continue;
      }
      out.push(this.tokens[id]);
    }
    return out;
  }

  /** {@link decode} joined into a string (character vocabularies). */
  decodeText(ids: Iterable<number>, options: { keepSpecials?: boolean } = {}): string {
    return this.decode(ids, options).join("");
  }
}
