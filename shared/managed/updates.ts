/**
 * Rolling a new template (image, resources, server options) onto the managed
 * sites' pods. The StatefulSets use OnDelete, so nothing restarts until this decides it.
 *
 * OrderedUpdate: while the group is healthy, one outdated replica at a time; then, when only the
 * primary is outdated, a planned switchover (the zero-loss path) to an up-to-date candidate;
 * the old primary is then a replica and is restarted like the others. The only write
 * unavailability is the switchover's. Recreate: every outdated pod at once (downtime).
 *
 * The decision is made again every cycle from what the cluster and the servers show, so an
 * operator that restarts midway picks the update up where it stands: nothing to persist.
 */
import type { SiteRole, SiteState } from "../names.js";

export interface UpdateSite {
  name: string;
  role: SiteRole;
  managed: boolean;
  /** Managed, and its pod runs an older template than its StatefulSet's. */
  outdated: boolean;
  /** Managed: the pod is Running and Ready. External sites: true. */
  podReady: boolean;
  /** This cycle's poll of the site succeeded: its state and replication are now, not a poll ago. */
  answered: boolean;
  state: SiteState | undefined;
  replicating?: boolean;
  lagSeconds?: number | null;
}

export interface UpdateInput {
  strategy: "OrderedUpdate" | "Recreate";
  /** In spec order. */
  sites: readonly UpdateSite[];
  primary: string | undefined;
  maxLagSeconds: number;
  /** Why the group is being changed by something else (a switchover, a failover); undefined when it is not. */
  busy?: string;
  /** failoverCooldown forbids a switchover until then (ms since the epoch). */
  cooldownUntil?: number;
}

export type UpdateWait = "Busy" | "NoPrimary" | "WaitingForHealth" | "NoSwitchoverTarget" | "WaitingForCooldown";

export type UpdateDecision =
  | { kind: "upToDate" }
  | { kind: "wait"; reason: UpdateWait; message: string; /** WaitingForHealth: the site waited for. */ site?: string }
  | { kind: "restart"; sites: string[]; message: string }
  | { kind: "switchover"; target: string; message: string };

export function updateDecision(input: UpdateInput): UpdateDecision {
  const outdated = input.sites.filter((s) => s.managed && s.outdated);
  if (outdated.length === 0) return { kind: "upToDate" };
  const names = outdated.map((s) => s.name);
  if (input.strategy === "Recreate") {
    return { kind: "restart", sites: names, message: `Recreate: restarting ${list(names)} at once; writes stop until the primary is back` };
  }
  if (input.busy) return { kind: "wait", reason: "Busy", message: `${input.busy}; the update of ${list(names)} waits for it` };
  const primary = input.primary;
  if (!primary) return { kind: "wait", reason: "NoPrimary", message: `no primary; the update of ${list(names)} waits for one` };
  for (const site of input.sites) {
    const problem = unhealthy(site, site.name === primary, input.maxLagSeconds);
    if (problem) return { kind: "wait", reason: "WaitingForHealth", site: site.name, message: `site ${site.name} ${problem}; the update of ${list(names)} continues once it is healthy` };
  }
  const replica = outdated.find((s) => s.name !== primary);
  if (replica) {
    return { kind: "restart", sites: [replica.name], message: `restarting replica ${replica.name} on the new template (${outdated.length} site${outdated.length === 1 ? "" : "s"} outdated)` };
  }
  const target = input.sites.find((s) => s.role === "primary-candidate" && s.name !== primary && !s.outdated);
  if (!target) return { kind: "wait", reason: "NoSwitchoverTarget", message: `only the primary ${primary} is outdated, and no other primary-candidate is up to date to take over` };
  if (input.cooldownUntil !== undefined) {
    return {
      kind: "wait",
      reason: "WaitingForCooldown",
      message: `only the primary ${primary} is outdated; the switchover to ${target.name} waits for failoverCooldown until ${new Date(input.cooldownUntil).toISOString()}`,
    };
  }
  return { kind: "switchover", target: target.name, message: `only the primary ${primary} is outdated: switching over to ${target.name}, then restarting ${primary}` };
}

/** Why the site cannot take part in an ordered update now; undefined when it can. */
function unhealthy(site: UpdateSite, isPrimary: boolean, maxLagSeconds: number): string | undefined {
  if (!site.podReady) return "has no Ready pod";
  if (!site.answered) return "did not answer this poll";
  if (isPrimary) return site.state === "writable" ? undefined : `is the primary but ${site.state ?? "unknown"}`;
  if (site.state !== "read-only") return `is ${site.state ?? "unknown"}, not read-only`;
  if (!site.replicating) return "is not replicating";
  if (site.lagSeconds === null || site.lagSeconds === undefined) return "reports no replication lag";
  if (site.lagSeconds > maxLagSeconds) return `lags ${site.lagSeconds}s, above replication.maxLagSeconds (${maxLagSeconds}s)`;
  return undefined;
}

function list(names: readonly string[]): string {
  return names.length === 1 ? `site ${names[0]}` : `sites ${names.join(", ")}`;
}
