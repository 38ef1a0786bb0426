import type { SiteView } from "./verdict.js";

export interface ReplicaView {
  ioRunning: boolean;
  sqlRunning: boolean;
  secondsBehindSource: number | null;
  lastError: string;
}

export type ReplicationSiteView = SiteView & { replica?: ReplicaView };

export interface ReplicationIssues {
  /** Reachable read-only sites whose replication is missing or stopped. */
  broken: { site: string; reason: string }[];
  /** Replicating sites further behind than maxLagSeconds. */
  lagging: { site: string; seconds: number }[];
}

/**
 * Core sites (primary-candidate, dr-only) and readers (role read-only) apart: a reader's
 * replication never makes the group Degraded; it has a condition of its own (ReadersReady).
 */
export interface ReplicationHealth extends ReplicationIssues {
  readers: ReplicationIssues;
}

/**
 * Judges replication only while there is an active primary: without one, every replica is
 * expected to be idle and reporting it as broken would only add noise to a real incident.
 */
export function replicationHealth(sites: readonly ReplicationSiteView[], activeSite: string, maxLagSeconds: number): ReplicationHealth {
  const health: ReplicationHealth = { broken: [], lagging: [], readers: { broken: [], lagging: [] } };
  if (activeSite === "") return health;
  for (const site of sites) {
    if (site.name === activeSite || site.state !== "read-only") continue;
    const into = site.role === "read-only" ? health.readers : health;
    const r = site.replica;
    if (!r) {
      into.broken.push({ site: site.name, reason: "no replication configured" });
    } else if (!r.ioRunning || !r.sqlRunning) {
      const threads = [!r.ioRunning && "io", !r.sqlRunning && "sql"].filter(Boolean).join(" and ");
      into.broken.push({ site: site.name, reason: `${threads} thread not running${r.lastError ? `: ${r.lastError}` : ""}` });
    } else if (r.secondsBehindSource !== null && r.secondsBehindSource > maxLagSeconds) {
      into.lagging.push({ site: site.name, seconds: r.secondsBehindSource });
    }
  }
  return health;
}
