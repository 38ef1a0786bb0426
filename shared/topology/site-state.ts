import type { SiteRole, SiteState } from "../names.js";

/** What the operator remembers about one site between polls (in memory only). */
export interface SiteTracker {
  state: SiteState;
  consecutiveFailures: number;
  consecutiveWritable: number;
  /** ISO time of the last successful poll. */
  lastSeen?: string;
}

export type PollOutcome = { ok: true; readOnly: boolean } | { ok: false };

export interface Thresholds {
  failureThreshold: number;
  recoveryThreshold: number;
}

export const INITIAL_TRACKER: SiteTracker = { state: "unknown", consecutiveFailures: 0, consecutiveWritable: 0 };

/**
 * Debounces raw poll results into a site state. A site turns unreachable only after
 * failureThreshold failed polls in a row (one lost packet must not trigger a failover), turns
 * read-only at once (losing writability is always safe to believe), and turns writable only after
 * recoveryThreshold writable polls in a row, except on a site that may never be promoted: a
 * writable dr-only or read-only site is an anomaly to report and fence immediately.
 * `counted: false` keeps the counters where they are (a failure still breaks a writable streak).
 */
export function nextSiteTracker(prev: SiteTracker, outcome: PollOutcome, role: SiteRole, t: Thresholds, now: string, counted = true): SiteTracker {
  // An uncounted poll (one of the back-to-back polls of a switchover) refreshes what is seen but
  // not for how long: the thresholds stay measured in poll intervals.
  const step = counted ? 1 : 0;
  if (!outcome.ok) {
    const failures = prev.consecutiveFailures + step;
    return {
      ...prev,
      consecutiveFailures: failures,
      consecutiveWritable: 0,
      state: failures >= t.failureThreshold ? "unreachable" : prev.state,
    };
  }
  if (outcome.readOnly) return { state: "read-only", consecutiveFailures: 0, consecutiveWritable: 0, lastSeen: now };
  const writable = prev.consecutiveWritable + step;
  const promoteNow = prev.state === "writable" || role !== "primary-candidate" || writable >= t.recoveryThreshold;
  return { state: promoteNow ? "writable" : prev.state, consecutiveFailures: 0, consecutiveWritable: writable, lastSeen: now };
}
