/**
 * Durations in the Go / Kubernetes style (`500ms`, `30s`, `5m`, `1h30m`, `24h`), as used by
 * spec fields and CLI flags. Only whole numbers of h, m, s and ms are accepted: the smaller Go
 * units and fractions buy nothing for failover timings and would make values round-trip
 * differently between the CLI, the CRD schema and the operator.
 */

/** ECMAScript- and RE2-compatible pattern for the CRD schema (OpenAPI `pattern`). */
export const DURATION_PATTERN = "^([0-9]+(h|m|s|ms))+$";

const TERM = /([0-9]+)(ms|h|m|s)/gy;
const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;

/** The largest duration we accept: far beyond any sane timeout, and exact as a JS number. */
export const MAX_DURATION_MS = 100 * 365 * 24 * 3_600_000;

export class DurationError extends Error {
  constructor(
    readonly input: string,
    readonly problem: string,
  ) {
    super(`invalid duration ${JSON.stringify(input)}: ${problem} (examples: 500ms, 30s, 5m, 1h30m)`);
    this.name = "DurationError";
  }
}

/** Parses a duration into milliseconds. Zero is allowed here; callers that need > 0 say so. */
export function parseDuration(input: string): number {
  const text = input.trim();
  if (text === "") throw new DurationError(input, "empty value");
  TERM.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = TERM.exec(text); m !== null; m = TERM.exec(text)) {
    const amount = Number(m[1]);
    total += amount * UNIT_MS[m[2] as Unit];
    consumed = TERM.lastIndex;
  }
  if (consumed !== text.length) {
    const rest = text.slice(consumed);
    const hint = /^[0-9]+$/.test(rest) ? "a number needs a unit (h, m, s or ms)" : `unexpected ${JSON.stringify(rest)}`;
    throw new DurationError(input, hint);
  }
  if (!Number.isSafeInteger(total) || total > MAX_DURATION_MS) throw new DurationError(input, "too large");
  return total;
}

/** Parses a duration that must be strictly positive (timeouts, waits, intervals). */
export function parsePositiveDuration(input: string): number {
  const ms = parseDuration(input);
  if (ms <= 0) throw new DurationError(input, "must be greater than zero");
  return ms;
}

/** Canonical text: largest units first, zero parts omitted (`90s` -> `1m30s`, 0 -> `0s`). */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`cannot format duration ${ms}`);
  if (ms === 0) return "0s";
  let rest = ms;
  let out = "";
  for (const unit of ["h", "m", "s", "ms"] as const) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit];
  }
  return out;
}
