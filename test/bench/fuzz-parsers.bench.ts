/**
 * Fuzzes the text parsers that take outside input (annotation values, durations, GTID set text
 * from servers and from status) with a large, seeded mix of random Unicode and grammar-shaped
 * strings. It checks two things: a parser never fails in an undocumented way, and every accepted
 * value survives format -> parse unchanged.
 *
 *   node --import tsx test/bench/fuzz-parsers.bench.ts [--seed N] [--cases N]
 *
 * Prints one JSON object on stdout; exits 1 (with the failing inputs, also on stderr) on any
 * failure. Re-run with the printed seed to reproduce.
 */

import { performance } from "node:perf_hooks";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import {
  formatPlannedFailover,
  formatRecloneSite,
  parsePlannedFailover,
  parseRecloneSite,
} from "../../shared/annotations.js";
import type { ParseResult } from "../../shared/annotations.js";
import { DURATION_PATTERN, DurationError, formatDuration, MAX_DURATION_MS, parseDuration } from "../../shared/duration.js";
import { GtidSet, GtidSetParseError } from "../../shared/gtid/gtid-set.js";
import { machineInfo } from "./bench-util.js";

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function intArg(name: string, envName: string, fallback: number): number {
  const raw = argValue(name) ?? process.env[envName];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

const seed = intArg("--seed", "FUZZ_SEED", Date.now() % 2 ** 31);
const cases = intArg("--cases", "FUZZ_CASES", 100_000);

// ---------------------------------------------------------------------------------------------
// Generators: half fully random text (every UTF-16 code unit, lone surrogates included), half
// built from each grammar's own tokens so that a useful share is accepted and round-tripped.

const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const randomText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 64 }),
  fc.string({ unit: anyCodeUnit, maxLength: 64 }),
  fc.string({ unit: "grapheme-ascii", maxLength: 64 }),
);

const whitespace = fc.constantFrom(" ", "\t", "\n", "\r", "\u00a0", "\u2028", "\ufeff");
const oddChar = fc.constantFrom("A", "Z", "é", "\u0000", "\ud800", "/", ".", "_", "+", "*");
const siteish = fc.oneof(
  fc.constantFrom("pdx", "iad", "us-east-1", "a", "0", "", "PDX", "-a", "a-", "a".repeat(63), "a".repeat(64)),
  fc.stringMatching(/^[a-z0-9-]{1,12}$/),
);
const durationText = fc.oneof(
  fc
    .array(fc.tuple(fc.nat({ max: 100_000 }), fc.constantFrom("h", "m", "s", "ms")), { minLength: 1, maxLength: 4 })
    .map((ts) => ts.map(([n, u]) => `${n}${u}`).join("")),
  fc.constantFrom("0s", "5", "1.5s", "-5s", "5 s", "s", "ms", "876000h", "876001h", "99999999999999999999h", "5S", "5us"),
);

function tokens(...arbs: fc.Arbitrary<string>[]): fc.Arbitrary<string> {
  return fc.array(fc.oneof(...arbs), { maxLength: 12 }).map((parts) => parts.join(""));
}

const plannedBiased = fc.oneof(
  tokens(siteish, fc.constantFrom(":", "=", "maxLagWait", "maxlagwait", "maxLagWait="), durationText, whitespace, oddChar),
  fc
    .tuple(
      siteish,
      fc.array(
        fc.oneof(
          fc.constantFrom("", " "),
          durationText.map((d) => `maxLagWait=${d}`),
          fc.tuple(fc.constantFrom("maxLagWait", " maxLagWait ", "max", "confirm"), fc.constantFrom("=", " = ", ""), durationText).map(
            ([k, e, v]) => `${k}${e}${v}`,
          ),
        ),
        { maxLength: 3 },
      ),
      fc.constantFrom("", " ", "\t"),
    )
    .map(([site, segments, pad]) => pad + [site, ...segments].join(":") + pad),
);

const gtidish = fc.oneof(
  fc.tuple(fc.uuid(), fc.nat({ max: 10_000 }), fc.integer({ min: 1, max: 60 })).map(([u, n, cut]) => `${u}:1-${n}`.slice(0, cut)),
  fc.stringMatching(/^[0-9a-fA-F:,_-]{0,24}$/),
);
const recloneBiased = fc.oneof(
  tokens(siteish, fc.constantFrom(":", "=", "confirm", "confirm=", "orders", "a.b"), gtidish, whitespace, oddChar),
  fc
    .tuple(
      siteish,
      fc.oneof(
        fc.constant(""),
        fc.constant(":"),
        gtidish.map((g) => `:${g}`),
        fc.tuple(fc.constantFrom("confirm", "Confirm", " confirm "), fc.constantFrom("=", ""), siteish).map(([k, e, g]) => `:${k}${e}${g}`),
      ),
      fc.constantFrom("", " "),
    )
    .map(([site, rest, pad]) => `${pad}${site}${rest}${pad}`),
);

const durationBiased = fc.oneof(
  durationText,
  tokens(fc.stringMatching(/^[0-9]{1,6}$/), fc.constantFrom("h", "m", "s", "ms", "us", "d", ".", "-", "+"), whitespace, oddChar),
  fc.tuple(whitespace, durationText, whitespace).map(([a, d, b]) => `${a}${d}${b}`),
);

// GTID set text: real UUIDs (sometimes upper case or mangled), tags, intervals including the
// awkward ones (0, reversed, leading zeros, beyond 2^63-2), and the separators MySQL tolerates.
const uuidish = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("3e11fa47-71ca-11e1-9e33-c80aa9429562", "a1b2c3d4-0000-0000-0000-000000000000") },
  { weight: 6, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: fc.uuid().map((u) => u.toUpperCase()) },
  { weight: 1, arbitrary: fc.uuid().map((u) => u.replaceAll("-", "")) },
  { weight: 1, arbitrary: fc.uuid().map((u) => u.slice(0, 35)) },
);
const sequence = fc.oneof(
  fc.integer({ min: 1, max: 1_000 }).map(String),
  fc.constantFrom("0", "01", "9223372036854775806", "9223372036854775807", "18446744073709551616", "-1", "1e3", ""),
);
const interval = fc.oneof(
  sequence,
  fc.tuple(sequence, sequence).map(([a, b]) => `${a}-${b}`),
);
const tag = fc.oneof(fc.constantFrom("tag_1", "a", "_x", "T", "1bad", "x".repeat(32), "x".repeat(33)), fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/));
const gtidSpace = fc.constantFrom("", "", "", " ", "\n", "\t", "\r\n");
const gtidEntry = fc
  .tuple(uuidish, fc.array(fc.oneof({ weight: 4, arbitrary: interval }, { weight: 1, arbitrary: tag }), { maxLength: 4 }), gtidSpace)
  .map(([u, parts, sp]) => [u, ...parts].join(`${sp}:${sp}`));
// Mostly-valid sets, so that a good share parses to something non-empty and round-trips.
const cleanSequence = fc.oneof(fc.integer({ min: 1, max: 1_000 }).map(String), fc.constant("9223372036854775806"));
const cleanEntry = fc
  .tuple(
    fc.oneof(fc.uuid(), fc.uuid().map((u) => u.toUpperCase())),
    fc.option(fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/), { nil: undefined }),
    fc.array(fc.oneof(cleanSequence, fc.tuple(cleanSequence, cleanSequence).map(([a, b]) => `${a}-${b}`)), { minLength: 1, maxLength: 4 }),
  )
  .map(([u, t, ivs]) => [u, ...(t === undefined ? [] : [t]), ...ivs].join(":"));
const gtidBiased = fc.oneof(
  fc.array(fc.tuple(cleanEntry, gtidSpace), { minLength: 1, maxLength: 4 }).map((es) => es.map(([e, sp]) => `${e}${sp}`).join(",")),
  fc.array(fc.tuple(gtidEntry, gtidSpace), { maxLength: 4 }).map((es) => es.map(([e, sp]) => `${sp}${e}${sp}`).join(",")),
  tokens(uuidish, interval, tag, fc.constantFrom(":", ",", "-", ",,"), gtidSpace, oddChar),
);

function mixed(biased: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(randomText, biased);
}

// ---------------------------------------------------------------------------------------------
// Checks. Each returns undefined when the input behaved, or a description of what went wrong.

type Outcome = "accepted" | "rejected";
type Check = (input: string) => { outcome: Outcome } | { failure: string };

function describeThrow(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : `non-Error thrown: ${String(err)}`;
}

function resultParserCheck<T>(parse: (v: string) => ParseResult<T>, format: (v: T) => string): Check {
  return (input) => {
    let result: ParseResult<T>;
    try {
      result = parse(input);
    } catch (err) {
      return { failure: `parse threw ${describeThrow(err)}` };
    }
    if (!result.ok) {
      return typeof result.error === "string" && result.error !== "" && Object.keys(result).length === 2
        ? { outcome: "rejected" }
        : { failure: `malformed rejection ${JSON.stringify(result)}` };
    }
    try {
      const text = format(result.value);
      const again = parse(text);
      if (!again.ok || !isDeepStrictEqual(again.value, result.value)) {
        return { failure: `round-trip changed the value: format gave ${JSON.stringify(text)}, re-parse gave ${JSON.stringify(again)}` };
      }
      if (format(again.value) !== text) return { failure: `format is not canonical for ${JSON.stringify(text)}` };
    } catch (err) {
      return { failure: `format threw on an accepted value ${JSON.stringify(result.value)}: ${describeThrow(err)}` };
    }
    return { outcome: "accepted" };
  };
}

const durationPattern = new RegExp(DURATION_PATTERN);

const durationCheck: Check = (input) => {
  let ms: number;
  try {
    ms = parseDuration(input);
  } catch (err) {
    if (!(err instanceof DurationError)) return { failure: `threw ${describeThrow(err)}` };
    // The CRD schema pattern and the parser must agree, or the API server and the operator
    // would disagree about a spec; only the size limit is the parser's alone.
    if (durationPattern.test(input.trim()) && !err.message.includes("too large")) {
      return { failure: `rejected text that DURATION_PATTERN accepts: ${err.message}` };
    }
    return { outcome: "rejected" };
  }
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_DURATION_MS) return { failure: `out-of-range result ${ms}` };
  if (!durationPattern.test(input.trim())) return { failure: "accepted text that DURATION_PATTERN rejects" };
  try {
    const text = formatDuration(ms);
    if (parseDuration(text) !== ms) return { failure: `round-trip changed ${ms} via ${JSON.stringify(text)}` };
  } catch (err) {
    return { failure: `format/re-parse threw for ${ms}: ${describeThrow(err)}` };
  }
  return { outcome: "accepted" };
};

const gtidCheck: Check = (input) => {
  let set: GtidSet;
  try {
    set = GtidSet.parse(input);
  } catch (err) {
    return err instanceof GtidSetParseError ? { outcome: "rejected" } : { failure: `threw ${describeThrow(err)}` };
  }
  try {
    const text = set.toString();
    const again = GtidSet.parse(text);
    if (!again.equals(set)) return { failure: `round-trip changed the set via ${JSON.stringify(text)}` };
    if (again.toString() !== text) return { failure: `toString is not canonical for ${JSON.stringify(text)}` };
  } catch (err) {
    return { failure: `re-parsing canonical text threw ${describeThrow(err)}` };
  }
  return { outcome: "accepted" };
};

// ---------------------------------------------------------------------------------------------

interface ParserResult {
  cases: number;
  accepted: number;
  rejected: number;
  failures: number;
  ms: number;
  failingInputs?: Array<{ input: string; problem: string }>;
}

const MAX_REPORTED_FAILURES = 5;

function run(arb: fc.Arbitrary<string>, check: Check, runSeed: number): ParserResult {
  const inputs = fc.sample(arb, { seed: runSeed, numRuns: cases });
  const out: ParserResult = { cases: inputs.length, accepted: 0, rejected: 0, failures: 0, ms: 0 };
  const failing: Array<{ input: string; problem: string }> = [];
  const start = performance.now();
  for (const input of inputs) {
    const r = check(input);
    if ("failure" in r) {
      out.failures++;
      if (failing.length < MAX_REPORTED_FAILURES) failing.push({ input, problem: r.failure });
    } else if (r.outcome === "accepted") {
      out.accepted++;
    } else {
      out.rejected++;
    }
  }
  out.ms = Math.round((performance.now() - start) * 10) / 10;
  if (failing.length > 0) out.failingInputs = failing;
  return out;
}

const suites: Array<[string, fc.Arbitrary<string>, Check]> = [
  ["parsePlannedFailover", mixed(plannedBiased), resultParserCheck(parsePlannedFailover, formatPlannedFailover)],
  ["parseRecloneSite", mixed(recloneBiased), resultParserCheck(parseRecloneSite, formatRecloneSite)],
  ["parseDuration", mixed(durationBiased), durationCheck],
  ["GtidSet.parse", mixed(gtidBiased), gtidCheck],
];

const results: Record<string, ParserResult> = {};
// A distinct seed per parser keeps the streams independent while one printed seed reproduces all.
suites.forEach(([name, arb, check], i) => {
  results[name] = run(arb, check, (seed + i) | 0);
});

const pass = Object.values(results).every((r) => r.failures === 0);
const report = {
  benchmark: "fuzz-parsers",
  machine: machineInfo(),
  seed,
  results,
  pass,
};

console.log(JSON.stringify(report, null, 2));
if (!pass) {
  for (const [name, r] of Object.entries(results)) {
    for (const f of r.failingInputs ?? []) console.error(`FAIL ${name} input=${JSON.stringify(f.input)}: ${f.problem}`);
  }
  console.error(`reproduce with: node --import tsx test/bench/fuzz-parsers.bench.ts --seed ${seed} --cases ${cases}`);
  process.exit(1);
}
