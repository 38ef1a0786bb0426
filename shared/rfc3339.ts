/**
 * RFC 3339 times in whole seconds, as binary log events carry them: `2026-12-04T02:00:00Z` or
 * with an offset. Read strictly: a date that does not exist (2026-02-30, which Date.parse rolls
 * into March) and fractional seconds (which would be cut, replaying less than asked) are refused,
 * each with its own reason.
 */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

export type Rfc3339Seconds = { readonly ok: true; readonly date: Date } | { readonly ok: false; readonly reason: "malformed" | "no-such-time" | "fractional" };

export function parseRfc3339Seconds(text: string): Rfc3339Seconds {
  const m = RFC3339.exec(text);
  if (m === null) return { ok: false, reason: "malformed" };
  if (m[7] !== undefined) return { ok: false, reason: "fractional" };
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const [offsetHours, offsetMinutes] = [Number(m[10] ?? 0), Number(m[11] ?? 0)];
  const local = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls 2026-02-30 over into March: a date that does not come back the same never existed.
  const exists = local.getUTCFullYear() === year && local.getUTCMonth() === month - 1 && local.getUTCDate() === day && local.getUTCHours() === hour && local.getUTCMinutes() === minute && local.getUTCSeconds() === second;
  if (!exists || offsetHours > 23 || offsetMinutes > 59) return { ok: false, reason: "no-such-time" };
  const offsetMs = (m[9] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  return { ok: true, date: new Date(local.getTime() - offsetMs) };
}

/**
 * The time in whole seconds, rounded up: binary log events carry whole seconds, and every event
 * stamped before 10:00:00.5 is stamped before 10:00:01.
 */
export function wholeSecond(timestamp: string): string {
  return new Date(Math.ceil(Date.parse(timestamp) / 1000) * 1000).toISOString().replace(".000Z", "Z");
}
