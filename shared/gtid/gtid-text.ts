/**
 * The MySQL text form of GTID sets: parsing and canonical formatting.
 *
 * The parser follows the server's own (`Gtid_set::add_gtid_text`, which GTID_SUBTRACT and
 * GTID_SUBSET use) and the rules in mysql-server's libs/mysql/gtids/readme.md:
 * - whitespace around every token, redundant commas and an empty string are fine;
 * - a UUID or tag with no intervals contributes nothing;
 * - a reversed interval (`5-2`, and so also `5-0`) is empty, not an error;
 * - a tag (8.3+) switches the following intervals of that UUID to the tag's source;
 * - only the dashed 36-character UUID form is accepted: the server calls its UUID parser with a
 *   fixed length of 36, so the undashed and `{braced}` forms it knows elsewhere fail here.
 *
 * One deliberate difference: the server reads numbers with `strtoll(s, &end, 0)`, so `010` is
 * octal 8 and `0x10` is 16 there. Nobody means that, and other parsers (MySQL's newer gtids
 * library among them) need not agree, so rather than pick a meaning silently, numbers with a
 * leading zero or a radix prefix are rejected.
 */

import { BoundsBuilder, predecessor, successor, toSeq } from "./intervals.js";
import type { Bounds, Seq } from "./intervals.js";

/** The intervals of one transaction source id: a UUID plus an optional tag ("" when untagged). */
export interface TsidIntervals {
  /** `uuid` or `uuid:tag`; see compareKeys. */
  readonly key: string;
  readonly uuid: string;
  readonly tag: string;
  readonly bounds: Bounds;
}

/** MySQL's output order of sources: plain string order on the keys. */
export const compareKeys = (a: TsidIntervals, b: TsidIntervals): number =>
  a.key < b.key ? -1 : a.key > b.key ? 1 : 0;

export const MAX_SEQUENCE_NUMBER = 2n ** 63n - 2n;
const MAX_TAG_LENGTH = 32;
// UUID spellings MySQL accepts elsewhere (e.g. server_uuid) but not in GTID sets.
const OTHER_UUID_FORMS = /^(?:[0-9a-f]{32}|\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\})$/i;
const EXCERPT_RADIUS = 24;

export class GtidSetParseError extends Error {
  constructor(
    readonly input: string,
    /** Offset (0-based, in UTF-16 code units) of the offending token. */
    readonly offset: number,
    readonly token: string,
    readonly problem: string,
    readonly hint?: string,
  ) {
    super(
      `malformed GTID set: ${problem} at offset ${offset} in ${excerpt(input, offset)}` + (hint ? ` (${hint})` : ""),
    );
    this.name = "GtidSetParseError";
  }
}

function excerpt(input: string, offset: number): string {
  const from = Math.max(0, offset - EXCERPT_RADIUS);
  const to = Math.min(input.length, offset + EXCERPT_RADIUS);
  const text = (from > 0 ? "…" : "") + input.slice(from, to) + (to < input.length ? "…" : "");
  return JSON.stringify(text);
}

// Character codes, named for readability in the scanner.
const TAB = 9;
const CR = 13;
const SPACE = 32;
const COMMA = 44;
const DASH = 45;
const ZERO = 48;
const NINE = 57;
const COLON = 58;
const UPPER_A = 65;
const UPPER_F = 70;
const UPPER_Z = 90;
const UNDERSCORE = 95;
const LOWER_A = 97;
const LOWER_F = 102;
const LOWER_Z = 122;

// The C locale's isspace: space, \t, \n, \v, \f, \r.
const isSpace = (c: number): boolean => c === SPACE || (c >= TAB && c <= CR);
const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;
const isLetter = (c: number): boolean => (c >= LOWER_A && c <= LOWER_Z) || (c >= UPPER_A && c <= UPPER_Z);
const isAlnum = (c: number): boolean => isLetter(c) || isDigit(c);
const isHex = (c: number): boolean =>
  isDigit(c) || (c >= LOWER_A && c <= LOWER_F) || (c >= UPPER_A && c <= UPPER_F);
const isTagChar = (c: number, index: number): boolean =>
  isLetter(c) || c === UNDERSCORE || (index > 0 && isDigit(c));

interface Source {
  readonly uuid: string;
  readonly tag: string;
  readonly builder: BoundsBuilder;
}

/** Parses MySQL GTID-set text into entries sorted by key, each non-empty and normalised. */
export function parseGtidText(text: string): TsidIntervals[] {
  return new Parser(text).parse();
}

class Parser {
  private pos = 0;
  private readonly sources = new Map<string, Source>();

  constructor(private readonly text: string) {}

  parse(): TsidIntervals[] {
    const { text } = this;
    this.skipSpace();
    for (;;) {
      while (this.peek() === COMMA) {
        this.pos++;
        this.skipSpace();
      }
      if (this.pos >= text.length) break;
      this.parseEntry();
      if (this.pos < text.length && this.peek() !== COMMA) this.unexpected("expected \",\", \":\" or the end");
    }
    const entries: TsidIntervals[] = [];
    for (const [key, source] of this.sources) {
      entries.push({ key, uuid: source.uuid, tag: source.tag, bounds: source.builder.build() });
    }
    return entries.sort(compareKeys);
  }

  private peek(): number {
    return this.text.charCodeAt(this.pos);
  }

  private skipSpace(): void {
    while (isSpace(this.text.charCodeAt(this.pos))) this.pos++;
  }

  /** One `uuid(:tag|:interval)*` entry; leaves `pos` after its trailing whitespace. */
  private parseEntry(): void {
    const uuid = this.parseUuid();
    let tag = "";
    let source: Source | undefined;
    this.skipSpace();
    while (this.peek() === COLON) {
      this.pos++;
      this.skipSpace();
      const c = this.peek();
      if (isLetter(c) || c === UNDERSCORE) {
        tag = this.parseTag();
        source = undefined;
      } else if (isDigit(c)) {
        const interval = this.parseInterval();
        if (interval !== undefined) {
          source ??= this.sourceFor(uuid, tag);
          source.builder.add(interval[0], interval[1]);
        }
      } else if (Number.isNaN(c) || c === COLON || c === COMMA) {
        this.fail("", "missing sequence number after \":\"");
      } else {
        this.unexpected("expected a sequence number or a tag after \":\"");
      }
      this.skipSpace();
    }
  }

  private sourceFor(uuid: string, tag: string): Source {
    const key = tag === "" ? uuid : `${uuid}:${tag}`;
    let source = this.sources.get(key);
    if (source === undefined) {
      source = { uuid, tag, builder: new BoundsBuilder() };
      this.sources.set(key, source);
    }
    return source;
  }

  private parseUuid(): string {
    const { text, pos } = this;
    let valid = pos + 36 <= text.length;
    for (let i = 0; valid && i < 36; i++) {
      const c = text.charCodeAt(pos + i);
      valid = i === 8 || i === 13 || i === 18 || i === 23 ? c === DASH : isHex(c);
    }
    if (!valid) {
      let end = pos;
      while (end < text.length && end - pos < 40) {
        const c = text.charCodeAt(end);
        if (c === COMMA || c === COLON || isSpace(c)) break;
        end++;
      }
      const token = text.slice(pos, end);
      const otherForm = OTHER_UUID_FORMS.test(token);
      this.fail(
        token,
        token === "" ? "missing UUID" : `${JSON.stringify(token)} is not a UUID`,
        otherForm
          ? "GTID sets take only the dashed form, e.g. 3e11fa47-71ca-11e1-9e33-c80aa9429562"
          : "expected 8-4-4-4-12 hex digits, e.g. 3e11fa47-71ca-11e1-9e33-c80aa9429562",
      );
    }
    this.pos = pos + 36;
    return text.slice(pos, pos + 36).toLowerCase();
  }

  private parseTag(): string {
    const { text } = this;
    const start = this.pos;
    let end = start;
    while (end < text.length && isTagChar(text.charCodeAt(end), end - start)) end++;
    const token = text.slice(start, end);
    if (token.length > MAX_TAG_LENGTH) {
      this.fail(token, `tag ${JSON.stringify(token)} is longer than ${MAX_TAG_LENGTH} characters`);
    }
    this.pos = end;
    this.skipSpace();
    const next = this.peek();
    if (!(Number.isNaN(next) || next === COLON || next === COMMA)) {
      this.unexpected(`expected ":" or "," after tag ${JSON.stringify(token)}`, "tags are [A-Za-z_][A-Za-z0-9_]*");
    }
    return token.toLowerCase();
  }

  /** `n` or `n-m`, with whitespace allowed around the dash; half-open, undefined when reversed. */
  private parseInterval(): [Seq, Seq] | undefined {
    const at = this.pos;
    const first = this.parseNumber();
    if (first === 0) this.fail("0", "sequence number 0 is not allowed", "sequence numbers start at 1", at);
    this.skipSpace();
    let last = first;
    if (this.peek() === DASH) {
      this.pos++;
      this.skipSpace();
      if (!isDigit(this.peek())) {
        if (this.pos >= this.text.length || this.peek() === COLON || this.peek() === COMMA) {
          this.fail("", "missing sequence number after \"-\"");
        }
        this.unexpected("expected a sequence number after \"-\"");
      }
      last = this.parseNumber();
    }
    return last >= first ? [first, successor(last)] : undefined;
  }

  /** A decimal number in 0 .. 2^63-2; `pos` is on its first digit. */
  private parseNumber(): Seq {
    const { text } = this;
    const start = this.pos;
    if (text.charCodeAt(start) === ZERO && isAlnum(text.charCodeAt(start + 1))) {
      let end = start;
      while (isAlnum(text.charCodeAt(end))) end++;
      const token = text.slice(start, end);
      this.fail(
        token,
        `sequence number ${JSON.stringify(token)} is not plain decimal`,
        "the server reads a leading 0 as octal and 0x as hex; write it in decimal without leading zeros",
      );
    }
    let end = start;
    let value = 0;
    while (isDigit(text.charCodeAt(end))) {
      value = value * 10 + (text.charCodeAt(end) - ZERO);
      end++;
    }
    this.pos = end;
    const digits = end - start;
    // Up to 15 digits the running double is exact; longer numbers go through BigInt.
    if (digits <= 15) return value;
    const token = text.slice(start, end);
    if (digits > 19 || BigInt(token) > MAX_SEQUENCE_NUMBER) {
      const shown = token.length > 30 ? `${token.slice(0, 30)}…` : token;
      this.fail(
        token,
        `sequence number ${shown} is too large`,
        `the largest allowed is ${MAX_SEQUENCE_NUMBER} = 2^63-2`,
        start,
      );
    }
    return toSeq(BigInt(token));
  }

  private unexpected(expectation: string, hint?: string): never {
    const token = this.pos < this.text.length ? String.fromCodePoint(this.text.codePointAt(this.pos)!) : "";
    const found = token === "" ? "the end" : JSON.stringify(token);
    this.fail(token, `unexpected ${found}: ${expectation}`, hint);
  }

  private fail(token: string, problem: string, hint?: string, offset = this.pos): never {
    throw new GtidSetParseError(this.text, offset, token, problem, hint);
  }
}

/** The canonical text, exactly as `@@gtid_executed` prints it: entries joined by ",\n". */
export function formatGtidText(entries: readonly TsidIntervals[]): string {
  let out = "";
  let previousUuid = "";
  for (const entry of entries) {
    if (entry.uuid !== previousUuid) {
      if (out !== "") out += ",\n";
      out += entry.uuid;
      previousUuid = entry.uuid;
    }
    if (entry.tag !== "") out += `:${entry.tag}`;
    const { bounds } = entry;
    for (let i = 0; i < bounds.length; i += 2) {
      const start = bounds[i]!;
      const last = predecessor(bounds[i + 1]!);
      out += start === last ? `:${start}` : `:${start}-${last}`;
    }
  }
  return out;
}
