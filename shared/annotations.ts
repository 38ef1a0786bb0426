/**
 * Grammar and policy for the two request annotations an admin (or the CLI) writes on a
 * MysqlFailoverGroup: planned-failover and reclone-site. The CLI and the operator both import
 * this module, so a value the CLI posts is exactly a value the operator accepts, and the
 * operator's rejection text is the same text the CLI shows before posting.
 *
 * Parsers return a result instead of throwing: annotation values come from humans and from
 * `kubectl annotate`, so a bad value is an expected outcome that the operator turns into an
 * Event, not an exception. Error texts do not repeat the annotation key or the whole value;
 * the caller adds those where it reports them.
 */

import { DurationError, formatDuration, MAX_DURATION_MS, parsePositiveDuration } from "./duration.js";

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

// ---------------------------------------------------------------------------------------------
// Shared pieces

/** Site names are DNS labels because they end up in object names, labels and DNS records. */
export const SITE_NAME_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
export const SITE_NAME_MAX_LENGTH = 63;
const SITE_NAME = new RegExp(SITE_NAME_PATTERN);

export function isSiteName(name: string): boolean {
  return name.length <= SITE_NAME_MAX_LENGTH && SITE_NAME.test(name);
}

// Group names are Kubernetes object names (DNS subdomains). Labels are separated by a character
// outside the label class, so this pattern cannot backtrack badly on hostile input.
const GROUP_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const GROUP_NAME_MAX_LENGTH = 253;

/** Quotes user text for an error message without letting a 256 KiB annotation flood an Event. */
function quote(text: string): string {
  const limit = 64;
  return JSON.stringify(text.length > limit ? `${text.slice(0, limit)}…` : text);
}

function siteNameProblem(site: string): string | undefined {
  if (site.length > SITE_NAME_MAX_LENGTH) {
    return `site name ${quote(site)} is longer than ${SITE_NAME_MAX_LENGTH} characters`;
  }
  if (!SITE_NAME.test(site)) {
    return `site name ${quote(site)} is not a DNS label (lowercase letters, digits and "-", starting and ending with a letter or digit)`;
  }
  return undefined;
}

export function isValidSiteName(site: string): boolean {
  return siteNameProblem(site) === undefined;
}

export function isValidGroupName(group: string): boolean {
  return group.length <= GROUP_NAME_MAX_LENGTH && GROUP_NAME.test(group);
}

// ---------------------------------------------------------------------------------------------
// planned-failover: `<site>`, with options `:maxLagWait=<duration>` and `:acceptErrant=true`

export interface PlannedFailoverRequest {
  site: string;
  /** Overrides spec.plannedFailover.maxLagWait for this one request. */
  maxLagWaitMs?: number;
  /** Promote the target even if it holds transactions the primary never had (they are kept and replicated). */
  acceptErrant?: boolean;
}

const PLANNED_FAILOVER_KEYS = ["maxLagWait", "acceptErrant"] as const;
const PLANNED_FAILOVER_USAGE = "expected <site>, optionally followed by :maxLagWait=<duration> and :acceptErrant=true";

export function parsePlannedFailover(value: string): ParseResult<PlannedFailoverRequest> {
  if (typeof value !== "string") return { ok: false, error: "value must be a string" };
  const text = value.trim();
  if (text === "") return { ok: false, error: `empty value; ${PLANNED_FAILOVER_USAGE}` };

  const [rawSite = "", ...segments] = text.split(":");
  const site = rawSite.trim();
  if (site === "") return { ok: false, error: `empty site name; ${PLANNED_FAILOVER_USAGE}` };
  const siteProblem = siteNameProblem(site);
  if (siteProblem !== undefined) return { ok: false, error: siteProblem };

  const request: PlannedFailoverRequest = { site };
  const seen = new Set<string>();
  for (const rawSegment of segments) {
    const segment = rawSegment.trim();
    // Tolerated so that hand-edited values such as `pdx:` or `pdx::maxLagWait=5s` still work.
    if (segment === "") continue;
    const eq = segment.indexOf("=");
    if (eq < 0) {
      return { ok: false, error: `option ${quote(segment)} is missing "="; ${PLANNED_FAILOVER_USAGE}` };
    }
    const key = segment.slice(0, eq).trim();
    const optionValue = segment.slice(eq + 1).trim();
    if (key !== "maxLagWait" && key !== "acceptErrant") {
      return {
        ok: false,
        error: `unknown key ${quote(key)}; the allowed keys are ${PLANNED_FAILOVER_KEYS.join(", ")} (case-sensitive)`,
      };
    }
    // A repeated key is almost always an edit that appended instead of replacing; picking either
    // copy silently would run the failover with a setting the admin did not mean.
    if (seen.has(key)) return { ok: false, error: `${key} is given more than once` };
    seen.add(key);
    if (optionValue === "") {
      return { ok: false, error: `empty value for ${key}; ${PLANNED_FAILOVER_USAGE}` };
    }
    if (key === "acceptErrant") {
      // Only the explicit yes: anything else is more likely a typo than a considered "no".
      if (optionValue !== "true") return { ok: false, error: `acceptErrant accepts only "true" (omit it to refuse a target with errant transactions), got ${quote(optionValue)}` };
      request.acceptErrant = true;
      continue;
    }
    try {
      request.maxLagWaitMs = parsePositiveDuration(optionValue);
    } catch (err) {
      if (err instanceof DurationError) return { ok: false, error: `maxLagWait: ${err.message}` };
      throw err;
    }
  }
  return { ok: true, value: request };
}

/** The canonical value the CLI posts. Throws RangeError for a request no parser would accept. */
export function formatPlannedFailover(request: PlannedFailoverRequest): string {
  const siteProblem = siteNameProblem(request.site);
  if (siteProblem !== undefined) throw new RangeError(siteProblem);
  const ms = request.maxLagWaitMs;
  if (ms !== undefined && (!Number.isSafeInteger(ms) || ms <= 0 || ms > MAX_DURATION_MS)) {
    throw new RangeError(`maxLagWaitMs must be a whole number of milliseconds in 1..${MAX_DURATION_MS}, got ${ms}`);
  }
  return [request.site, ...(ms !== undefined ? [`maxLagWait=${formatDuration(ms)}`] : []), ...(request.acceptErrant ? ["acceptErrant=true"] : [])].join(":");
}

// ---------------------------------------------------------------------------------------------
// reclone-site: `<site>`, `<site>:<divergent-GTID prefix>` or `<site>:confirm=<group>`

export type RecloneSiteRequest =
  | { site: string; kind: "bare" }
  | { site: string; kind: "prefix"; prefix: string }
  | { site: string; kind: "confirm"; group: string };

/**
 * The interlock: a reclone destroys the site's data, so the admin proves they looked at the
 * right site by quoting the start of its divergent GTID set. Eight characters of a UUID are
 * enough to tell sites apart and short enough to type.
 */
export const MIN_GTID_PREFIX_LENGTH = 8;

/**
 * The shortest text that can be a whole divergent set: a MariaDB GTID such as `0-1-5`. A set
 * shorter than MIN_GTID_PREFIX_LENGTH (MariaDB's `0-1-14`) is quoted whole instead.
 */
export const MIN_GTID_TEXT_LENGTH = 5;

/** How much of `divergentGtid` a request must quote: eight characters, or all of a shorter set. */
export function requiredPrefixLength(divergentGtid: string): number {
  return Math.min(MIN_GTID_PREFIX_LENGTH, divergentGtid.length);
}

// Characters that occur in GTID set text: UUID hex digits and dashes, `:` before tags and
// intervals, `,` between UUIDs, and MySQL 8.4+ tags (letters, digits, `_`). Upper case is
// allowed here so that a wrongly cased prefix is reported as a mismatch, which says what to do,
// rather than as a syntax error.
const GTID_PREFIX = /^[0-9A-Za-z_:,-]+$/;
const CONFIRM_KEY = "confirm";
const RECLONE_USAGE = "expected <site>, <site>:<divergent GTID prefix> or <site>:confirm=<group>";

export function parseRecloneSite(value: string): ParseResult<RecloneSiteRequest> {
  if (typeof value !== "string") return { ok: false, error: "value must be a string" };
  const text = value.trim();
  if (text === "") return { ok: false, error: `empty value; ${RECLONE_USAGE}` };

  // Only the first `:` separates: the GTID prefix itself may contain `:`.
  const colon = text.indexOf(":");
  const site = (colon < 0 ? text : text.slice(0, colon)).trim();
  if (site === "") return { ok: false, error: `empty site name; ${RECLONE_USAGE}` };
  const siteProblem = siteNameProblem(site);
  if (siteProblem !== undefined) return { ok: false, error: siteProblem };
  if (colon < 0) return { ok: true, value: { site, kind: "bare" } };

  const rest = text.slice(colon + 1).trim();
  // Rejected rather than read as bare: a trailing `:` usually means a shell variable holding
  // the prefix expanded to nothing, and the admin should see that.
  if (rest === "") return { ok: false, error: `nothing after ":"; ${RECLONE_USAGE}` };

  const eq = rest.indexOf("=");
  if (eq >= 0) {
    const key = rest.slice(0, eq).trim();
    const group = rest.slice(eq + 1).trim();
    if (key !== CONFIRM_KEY) {
      return {
        ok: false,
        error: `unknown key ${quote(key)}; the only allowed key is ${CONFIRM_KEY} (as ${site}:${CONFIRM_KEY}=<group>, case-sensitive)`,
      };
    }
    if (group === "") return { ok: false, error: `empty group after "confirm="; expected ${site}:confirm=<group>` };
    if (!isValidGroupName(group)) {
      return { ok: false, error: `confirm=${quote(group)} is not a valid MysqlFailoverGroup name` };
    }
    return { ok: true, value: { site, kind: "confirm", group } };
  }

  if (rest === CONFIRM_KEY) {
    return { ok: false, error: `"confirm" needs the group name: ${site}:confirm=<group>` };
  }
  if (!GTID_PREFIX.test(rest)) {
    return {
      ok: false,
      error: `GTID prefix ${quote(rest)} has characters that cannot occur in a GTID set (allowed: hex digits, letters, digits, "_", "-", ":", ",")`,
    };
  }
  if (rest.length < MIN_GTID_TEXT_LENGTH) {
    return {
      ok: false,
      error: `GTID prefix ${quote(rest)} is ${rest.length} characters; give at least ${MIN_GTID_PREFIX_LENGTH} characters of status.sites[].divergentGtid (all of it when it is shorter)`,
    };
  }
  return { ok: true, value: { site, kind: "prefix", prefix: rest } };
}

/** The canonical value the CLI posts. Throws RangeError for a request no parser would accept. */
export function formatRecloneSite(request: RecloneSiteRequest): string {
  let text: string;
  switch (request.kind) {
    case "bare":
      text = request.site;
      break;
    case "prefix":
      text = `${request.site}:${request.prefix}`;
      break;
    case "confirm":
      text = `${request.site}:${CONFIRM_KEY}=${request.group}`;
      break;
    default:
      throw new RangeError(`unknown reclone request kind ${quote(String((request as { kind: unknown }).kind))}`);
  }
  // Re-parsing is the simplest way to guarantee the two directions never drift apart.
  const parsed = parseRecloneSite(text);
  if (!parsed.ok) throw new RangeError(parsed.error);
  if (!sameRecloneRequest(parsed.value, request)) {
    throw new RangeError(`reclone request does not survive formatting as ${quote(text)} (stray whitespace?)`);
  }
  return text;
}

function sameRecloneRequest(a: RecloneSiteRequest, b: RecloneSiteRequest): boolean {
  if (a.site !== b.site || a.kind !== b.kind) return false;
  if (a.kind === "prefix" && b.kind === "prefix") return a.prefix === b.prefix;
  if (a.kind === "confirm" && b.kind === "confirm") return a.group === b.group;
  return true;
}

// ---------------------------------------------------------------------------------------------
// reclone-site policy

export interface RecloneContext {
  /** The MysqlFailoverGroup's metadata.name. */
  group: string;
  /** status.activeSite; empty when unknown. */
  activeSite: string;
  /** spec.sites names merged with status.sites[].divergentGtid. */
  sites: Array<{ name: string; divergentGtid?: string }>;
}

export const RECLONE_REJECT_CODES = [
  "UnknownSite",
  "ActivePrimary",
  "PrefixRequired",
  "PrefixTooShort",
  "PrefixMismatch",
  "ConfirmRequired",
  "ConfirmMismatch",
] as const;
export type RecloneRejectCode = (typeof RECLONE_REJECT_CODES)[number];

export type RecloneVerdict = { accept: true } | { accept: false; code: RecloneRejectCode; reason: string };

function reject(code: RecloneRejectCode, reason: string): RecloneVerdict {
  return { accept: false, code, reason };
}

/**
 * Decides whether a parsed reclone request may run against the group as it is now. Only the
 * presence of a divergent GTID matters, not recoveryState: the GTID is what the admin is
 * agreeing to throw away.
 */
export function validateRecloneRequest(request: RecloneSiteRequest, context: RecloneContext): RecloneVerdict {
  const { site } = request;
  const entry = context.sites.find((s) => s.name === site);
  if (entry === undefined) {
    const known = context.sites.map((s) => s.name);
    const list = known.length === 0 ? "none" : known.join(", ");
    return reject("UnknownSite", `site ${quote(site)} is not in spec.sites of ${context.group}; known sites: ${list}`);
  }
  if (context.activeSite !== "" && site === context.activeSite) {
    return reject(
      "ActivePrimary",
      `refusing to reclone ${site}: it is the active primary of ${context.group}; fail over to another primary-candidate first`,
    );
  }

  const divergent = entry.divergentGtid ?? "";
  const readIt = `read it with: kubectl get mysqlfailovergroup ${context.group} -o jsonpath='{.status.sites[?(@.name=="${site}")].divergentGtid}'`;
  if (divergent.trim() !== "") {
    if (request.kind !== "prefix") {
      return reject(
        "PrefixRequired",
        `${site} has divergent transactions (status.sites[].divergentGtid); confirm by annotating ${site}:<first ${MIN_GTID_PREFIX_LENGTH}+ characters of divergentGtid>; ${readIt}`,
      );
    }
    if (request.prefix.length < requiredPrefixLength(divergent)) {
      return reject(
        "PrefixTooShort",
        `GTID prefix ${quote(request.prefix)} is shorter than ${MIN_GTID_PREFIX_LENGTH} characters; use ${site}:<first ${MIN_GTID_PREFIX_LENGTH}+ characters of divergentGtid, or all of it when it is shorter>`,
      );
    }
    // The divergent set is deliberately not echoed: copying it from an Event would bypass the
    // check that the admin looked at this site's status.
    if (!divergent.startsWith(request.prefix)) {
      const caseHint = divergent.toLowerCase().startsWith(request.prefix.toLowerCase()) ? " (letter case differs; the match is exact)" : "";
      return reject(
        "PrefixMismatch",
        `GTID prefix ${quote(request.prefix)} does not match the start of ${site}'s divergentGtid${caseHint} (wrong site, stale copy or typo); re-read status.sites[].divergentGtid and retry; ${readIt}`,
      );
    }
    return { accept: true };
  }

  // No divergent GTID: a cold reclone (lost PVC, empty datadir), as the operations guide writes it:
  // the bare site. Nothing recorded is lost (a site with unreplicated writes has a divergentGtid),
  // so naming the site is enough; `confirm=<group>` stays accepted as the stricter form.
  const wanted = `${site}:${CONFIRM_KEY}=${context.group}`;
  if (request.kind === "prefix") {
    return reject(
      "ConfirmRequired",
      `${site} has no divergentGtid, so this is a cold reclone that replaces all its data (a GTID prefix only applies to a site with a divergentGtid); use ${site} or ${wanted}`,
    );
  }
  if (request.kind === "confirm" && request.group !== context.group) {
    return reject(
      "ConfirmMismatch",
      `confirm=${quote(request.group)} does not name this group (${context.group}); use ${site} or ${wanted}`,
    );
  }
  return { accept: true };
}
