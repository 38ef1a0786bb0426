import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DURATION_PATTERN,
  DurationError,
  formatDuration,
  MAX_DURATION_MS,
  parseDuration,
  parsePositiveDuration,
} from "../../shared/duration.js";

const HOUR = 3_600_000;

describe("parseDuration", () => {
  it.each<[string, number]>([
    ["500ms", 500],
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["24h", 24 * HOUR],
    ["0s", 0],
    ["0ms", 0],
    ["1h1m1s1ms", HOUR + 60_000 + 1_000 + 1],
    ["90s", 90_000],
    ["1m30s", 90_000],
    // Go accepts repeated and out-of-order units; so do we, as a plain sum.
    ["1s1s", 2_000],
    ["30s1h", HOUR + 30_000],
    ["007s", 7_000],
    ["  30s", 30_000],
    ["30s  ", 30_000],
    ["\t5m\n", 300_000],
    [`${MAX_DURATION_MS / HOUR}h`, MAX_DURATION_MS],
    [`${MAX_DURATION_MS}ms`, MAX_DURATION_MS],
  ])("%j -> %d ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each<[string, string]>([
    ["", "empty value"],
    ["   ", "empty value"],
    ["5", "a number needs a unit (h, m, s or ms)"],
    ["1h5", "a number needs a unit"],
    ["5x", 'unexpected "5x"'],
    ["-5s", 'unexpected "-5s"'],
    ["+5s", 'unexpected "+5s"'],
    ["1.5s", 'unexpected "1.5s"'],
    ["s", 'unexpected "s"'],
    ["ms", 'unexpected "ms"'],
    ["5 s", 'unexpected "5 s"'],
    ["1h 30m", 'unexpected " 30m"'],
    ["5S", 'unexpected "5S"'],
    ["5us", 'unexpected "5us"'],
    ["5ns", 'unexpected "5ns"'],
    ["5d", 'unexpected "5d"'],
    ["5mss", 'unexpected "s"'],
    ["５s", 'unexpected "５s"'],
    [`${MAX_DURATION_MS / HOUR + 1}h`, "too large"],
    [`${MAX_DURATION_MS + 1}ms`, "too large"],
    ["99999999999999999999h", "too large"],
    ["9".repeat(400) + "ms", "too large"],
    [`${MAX_DURATION_MS / HOUR}h1ms`, "too large"],
  ])("rejects %j (%s)", (input, fragment) => {
    let caught: unknown;
    try {
      parseDuration(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DurationError);
    const err = caught as DurationError;
    expect(err.message).toContain(fragment);
    expect(err.message).toContain(JSON.stringify(input));
    expect(err.message).toContain("examples: 500ms, 30s, 5m, 1h30m");
    expect(err.input).toBe(input);
    expect(err.name).toBe("DurationError");
  });
});

describe("parsePositiveDuration", () => {
  it("accepts positive durations", () => {
    expect(parsePositiveDuration("1ms")).toBe(1);
    expect(parsePositiveDuration("5m")).toBe(300_000);
  });

  it.each(["0s", "0ms", "0h0m0s", " 0s "])("rejects zero %j", (input) => {
    expect(() => parsePositiveDuration(input)).toThrow(DurationError);
    expect(() => parsePositiveDuration(input)).toThrow("must be greater than zero");
  });

  it("passes syntax errors through", () => {
    expect(() => parsePositiveDuration("5")).toThrow("a number needs a unit");
  });
});

describe("formatDuration", () => {
  it.each<[number, string]>([
    [0, "0s"],
    [1, "1ms"],
    [500, "500ms"],
    [1_000, "1s"],
    [1_500, "1s500ms"],
    [30_000, "30s"],
    [60_000, "1m"],
    [90_000, "1m30s"],
    [300_000, "5m"],
    [HOUR, "1h"],
    [5_400_000, "1h30m"],
    [24 * HOUR, "24h"],
    [HOUR + 1, "1h1ms"],
    [MAX_DURATION_MS, "876000h"],
  ])("%d ms -> %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])("rejects %d", (ms) => {
    expect(() => formatDuration(ms)).toThrow(RangeError);
  });

  it("always matches the CRD pattern", () => {
    const pattern = new RegExp(DURATION_PATTERN);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_DURATION_MS }), (ms) => pattern.test(formatDuration(ms))),
      { numRuns: 2_000 },
    );
  });

  it("parse(format(ms)) === ms", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_DURATION_MS }), (ms) => parseDuration(formatDuration(ms)) === ms),
      { numRuns: 2_000 },
    );
  });

  it("format is canonical: format(parse(text)) is a fixed point", () => {
    const term = fc.tuple(fc.integer({ min: 0, max: 999 }), fc.constantFrom("h", "m", "s", "ms"));
    const text = fc.array(term, { minLength: 1, maxLength: 5 }).map((ts) => ts.map(([n, u]) => `${n}${u}`).join(""));
    fc.assert(
      fc.property(text, (t) => {
        const canonical = formatDuration(parseDuration(t));
        return formatDuration(parseDuration(canonical)) === canonical;
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("DURATION_PATTERN agrees with parseDuration on trimmed text", () => {
  const pattern = new RegExp(DURATION_PATTERN);
  it.each(["500ms", "1h30m", "0s", "1s1s"])("both accept %j", (t) => {
    expect(pattern.test(t)).toBe(true);
    expect(() => parseDuration(t)).not.toThrow();
  });
  it.each(["", "5", "5x", "-5s", "1.5s", "s", "5 s"])("both reject %j", (t) => {
    expect(pattern.test(t)).toBe(false);
    expect(() => parseDuration(t)).toThrow(DurationError);
  });
});
