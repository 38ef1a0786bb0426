import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatPlannedFailover,
  formatRecloneSite,
  parsePlannedFailover,
  parseRecloneSite,
  RECLONE_REJECT_CODES,
  validateRecloneRequest,
} from "../../shared/annotations.js";
import type { ParseResult, RecloneSiteRequest } from "../../shared/annotations.js";
import { DurationError, formatDuration, MAX_DURATION_MS, parseDuration } from "../../shared/duration.js";

// Bounded so the whole file stays within a few seconds on a two-core machine.
const RUNS = { numRuns: 2_000 };

/** Every UTF-16 code unit, including lone surrogates, which `unit: "binary"` never produces. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const anyString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: anyCodeUnit, maxLength: 40 }),
);

const WHITESPACE = [" ", "\t", "\n", "\u00a0"];

/** Strings from the annotation alphabet, so that a real share of them parse. */
const grammarString = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom("pdx", "iad", "us-east-1", "a", "b0", "orders", "a1b2c3d4", "deadbeef") },
      { weight: 4, arbitrary: fc.constantFrom(":", "=", "-", ",", "_", ".") },
      { weight: 3, arbitrary: fc.constantFrom("maxLagWait", "maxLagWait=", "maxlagwait", "confirm", "confirm=") },
      { weight: 3, arbitrary: fc.constantFrom("5s", "30s", "500ms", "1h30m", "0s", "5", "1.5s", "ms", "h", "m", "s") },
      { weight: 2, arbitrary: fc.stringMatching(/^[0-9a-f]{1,12}$/) },
      { weight: 1, arbitrary: fc.constantFrom(...WHITESPACE) },
      { weight: 1, arbitrary: fc.constantFrom("A", "Z", "é", "\u0000", "\ud800") },
    ),
    { maxLength: 10 },
  )
  .map((parts) => parts.join(""));

const plannedLike = fc
  .tuple(
    fc.constantFrom("pdx", "iad", "a", "x-1", "", "PDX"),
    fc.array(
      fc.oneof(
        fc.constant(""),
        fc.constant(" "),
        fc.tuple(fc.constantFrom("maxLagWait", "maxLagWait ", " maxLagWait", "max"), fc.constantFrom("=", " = ", ""), grammarString).map(
          ([k, e, v]) => `${k}${e}${v}`,
        ),
        fc.tuple(fc.integer({ min: 0, max: 5_000 }), fc.constantFrom("ms", "s", "m", "h")).map(([n, u]) => `maxLagWait=${n}${u}`),
      ),
      { maxLength: 3 },
    ),
    fc.constantFrom("", " ", "\t"),
  )
  .map(([site, segments, pad]) => pad + [site, ...segments].join(":") + pad);

const recloneLike = fc
  .tuple(
    fc.constantFrom("iad", "pdx", "a", "", "IAD"),
    fc.oneof(
      fc.constant(""),
      fc.stringMatching(/^[0-9a-f:,_-]{0,20}$/).map((p) => `:${p}`),
      fc.tuple(fc.constantFrom("confirm", "Confirm", "confirm "), fc.constantFrom("orders", "a.b", "", "X")).map(
        ([k, g]) => `:${k}=${g}`,
      ),
      grammarString.map((s) => `:${s}`),
    ),
    fc.constantFrom("", " "),
  )
  .map(([site, rest, pad]) => `${pad}${site}${rest}${pad}`);

/** Never throws, returns exactly the documented shape, and accepted values round-trip. */
function checkParser<T>(parse: (v: string) => ParseResult<T>, format: (v: T) => string, input: string): void {
  const result = parse(input);
  if (!result.ok) {
    expect(Object.keys(result).sort()).toEqual(["error", "ok"]);
    expect(typeof result.error).toBe("string");
    expect(result.error.length).toBeGreaterThan(0);
    return;
  }
  const text = format(result.value);
  expect(parse(text)).toEqual({ ok: true, value: result.value });
  // Formatting is canonical: formatting the re-parsed value gives the same text.
  expect(format((parse(text) as { value: T }).value)).toBe(text);
}

describe("generators", () => {
  // Guards against the round-trip properties going vacuous after an edit to the generators.
  it.each([
    ["planned-failover", plannedLike, parsePlannedFailover],
    ["reclone-site", recloneLike, parseRecloneSite],
  ] as const)("grammar-shaped %s values are accepted often enough to test round-trips", (_name, arb, parse) => {
    const samples = fc.sample(arb, { numRuns: 2_000, seed: 42 });
    const accepted = samples.filter((s) => parse(s).ok).length;
    expect(accepted).toBeGreaterThan(samples.length * 0.1);
    expect(accepted).toBeLessThan(samples.length * 0.9);
  });
});

describe("parsePlannedFailover properties", () => {
  for (const [name, arb] of [
    ["arbitrary strings", anyString],
    ["grammar-alphabet strings", grammarString],
    ["grammar-shaped values", plannedLike],
  ] as const) {
    it(`never throws and round-trips on ${name}`, () => {
      fc.assert(
        fc.property(arb, (input) => checkParser(parsePlannedFailover, formatPlannedFailover, input)),
        RUNS,
      );
    });
  }

  it("accepts every well-formed request", () => {
    const request = fc.record(
      {
        site: fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/),
        maxLagWaitMs: fc.integer({ min: 1, max: MAX_DURATION_MS }),
      },
      { requiredKeys: ["site"] },
    );
    fc.assert(
      fc.property(request, (r) => {
        expect(parsePlannedFailover(formatPlannedFailover(r))).toEqual({ ok: true, value: r });
      }),
      RUNS,
    );
  });
});

describe("parseRecloneSite properties", () => {
  for (const [name, arb] of [
    ["arbitrary strings", anyString],
    ["grammar-alphabet strings", grammarString],
    ["grammar-shaped values", recloneLike],
  ] as const) {
    it(`never throws and round-trips on ${name}`, () => {
      fc.assert(
        fc.property(arb, (input) => checkParser(parseRecloneSite, formatRecloneSite, input)),
        RUNS,
      );
    });
  }

  it("validateRecloneRequest always answers with a documented verdict", () => {
    const context = fc.record({
      group: fc.constantFrom("orders", "payments"),
      activeSite: fc.constantFrom("", "pdx", "iad"),
      sites: fc.array(
        fc.record(
          { name: fc.constantFrom("pdx", "iad", "a", "sfo"), divergentGtid: fc.constantFrom("", "a1b2c3d4-0000:1-5", "deadbeefcafe") },
          { requiredKeys: ["name"] },
        ),
        { maxLength: 4 },
      ),
    });
    fc.assert(
      fc.property(recloneLike, context, (input, ctx) => {
        const parsed = parseRecloneSite(input);
        if (!parsed.ok) return;
        const verdict = validateRecloneRequest(parsed.value, ctx);
        if (verdict.accept) {
          expect(verdict).toEqual({ accept: true });
          expect(parsed.value.site).not.toBe(ctx.activeSite);
          // Only a site with nothing divergent is recloned on its bare name.
          if (parsed.value.kind === "bare") expect(ctx.sites.find((s) => s.name === parsed.value.site)?.divergentGtid ?? "").toBe("");
        } else {
          expect(RECLONE_REJECT_CODES).toContain(verdict.code);
          expect(verdict.reason.length).toBeGreaterThan(0);
        }
      }),
      RUNS,
    );
  });

  it("a prefix of the divergent GTID is accepted exactly when it has 8+ characters", () => {
    const gtid = fc.tuple(fc.uuid(), fc.integer({ min: 1, max: 1_000 })).map(([u, n]) => `${u}:1-${n}`);
    fc.assert(
      fc.property(gtid, fc.integer({ min: 1, max: 60 }), (divergentGtid, cut) => {
        const prefix = divergentGtid.slice(0, cut);
        const request: RecloneSiteRequest = { site: "iad", kind: "prefix", prefix };
        const verdict = validateRecloneRequest(request, { group: "g", activeSite: "pdx", sites: [{ name: "iad", divergentGtid }] });
        expect(verdict.accept).toBe(prefix.length >= 8);
      }),
      RUNS,
    );
  });
});

describe("duration properties", () => {
  it("parseDuration throws only DurationError and accepted values round-trip", () => {
    const durationish = fc.oneof(
      anyString,
      grammarString,
      fc.array(fc.tuple(fc.nat({ max: 100_000 }), fc.constantFrom("h", "m", "s", "ms", "", "x")), { maxLength: 4 }).map((ts) =>
        ts.map(([n, u]) => `${n}${u}`).join(""),
      ),
    );
    fc.assert(
      fc.property(durationish, (input) => {
        let ms: number;
        try {
          ms = parseDuration(input);
        } catch (err) {
          expect(err).toBeInstanceOf(DurationError);
          return;
        }
        expect(Number.isSafeInteger(ms) && ms >= 0 && ms <= MAX_DURATION_MS).toBe(true);
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
      RUNS,
    );
  });

  it("parse(format(ms)) === ms across the whole range", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_DURATION_MS }), (ms) => parseDuration(formatDuration(ms)) === ms),
      RUNS,
    );
  });
});
