/**
 * Maintenance mode: one declarative switch on a MysqlFailoverGroup that pauses automatic
 * failover. It is the annotation `bloodraven.shipstream.io/maintenance` holding a JSON object:
 *
 *   {"until":"2026-11-22T06:00:00Z","reason":"network work in iad","by":"alice"}
 *
 * `until` is required (RFC 3339; maintenance always ends by itself, never "forever" by accident),
 * `reason` and `by` are optional free text. While it is active the operator does not promote on
 * its own and does not resolve split brain; it keeps fencing writable sites that may never be
 * primary, polling, reporting, and it still runs planned failovers (an explicit human request).
 * An annotation is used rather than a spec field so that turning maintenance on and off never
 * changes the spec's generation, and survives operator restarts like any object metadata.
 */

/** Default length when the user gives none; bounded so a forgotten maintenance ends. */
export const DEFAULT_MAINTENANCE_MS = 60 * 60_000;
/** The longest maintenance the plugin and the operator accept. */
export const MAX_MAINTENANCE_MS = 7 * 24 * 60 * 60_000;

export interface Maintenance {
  until: string;
  reason?: string;
  by?: string;
}

export type MaintenanceState = { active: false; expired?: Maintenance } | { active: true; maintenance: Maintenance; remainingMs: number };

export type MaintenanceParse = { ok: true; value: Maintenance } | { ok: false; error: string };

const MAX_TEXT = 256;

/** Parses the annotation value; an error names the field and what a valid value looks like. */
export function parseMaintenance(value: string): MaintenanceParse {
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return { ok: false, error: `maintenance annotation is not JSON; expected {"until":"<RFC 3339 time>","reason":"..."}` };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { ok: false, error: "maintenance annotation must be a JSON object with an `until` time" };
  const obj = raw as Record<string, unknown>;
  const unknown = Object.keys(obj).filter((k) => !["until", "reason", "by"].includes(k));
  if (unknown.length > 0) return { ok: false, error: `maintenance annotation has unknown field(s) ${unknown.join(", ")}; allowed: until, reason, by` };
  if (typeof obj.until !== "string" || !isRfc3339(obj.until)) return { ok: false, error: "maintenance `until` must be an RFC 3339 time such as 2026-11-22T06:00:00Z" };
  const out: Maintenance = { until: new Date(obj.until).toISOString() };
  for (const key of ["reason", "by"] as const) {
    const v = obj[key];
    if (v === undefined) continue;
    if (typeof v !== "string" || v.length > MAX_TEXT) return { ok: false, error: `maintenance \`${key}\` must be text of at most ${MAX_TEXT} characters` };
    if (v !== "") out[key] = v;
  }
  return { ok: true, value: out };
}

export function formatMaintenance(m: Maintenance): string {
  return JSON.stringify({ until: m.until, ...(m.reason ? { reason: m.reason } : {}), ...(m.by ? { by: m.by } : {}) });
}

/** Whether maintenance is in force at `now` (an expired annotation is reported, not active). */
export function maintenanceState(m: Maintenance | undefined, now: number): MaintenanceState {
  if (!m) return { active: false };
  const remainingMs = Date.parse(m.until) - now;
  return remainingMs > 0 ? { active: true, maintenance: m, remainingMs } : { active: false, expired: m };
}

function isRfc3339(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text) && !Number.isNaN(Date.parse(text));
}
