import type { Condition, MysqlFailoverGroupStatus, SiteStatus } from "../api/index.js";
import { siteSummary } from "../api/index.js";
import type { GroupStatusMessage } from "../status-message.js";
import type { MaintenanceState } from "../maintenance.js";
import { CONDITION_TYPES } from "../names.js";
import { setCondition, topologyConditions, type ConditionUpdate } from "./conditions.js";
import type { CycleResult, SitePoll } from "./cycle.js";
import { replicationHealth } from "./replication-health.js";

/** The part of status the topology manager owns; other writers (failover, recovery) own the rest. */
export type TopologyStatus = Required<Pick<MysqlFailoverGroupStatus, "observedGeneration" | "activeSite" | "summary" | "sites" | "conditions">> &
  Pick<MysqlFailoverGroupStatus, "lastKnownPrimary">;

/** Fields that change on nearly every poll under load; refreshing them is not worth a write each time. */
const VOLATILE_SITE_FIELDS = ["lastSeen", "gtidExecuted", "secondsBehindSource"] as const;

export function topologyStatus(
  prev: MysqlFailoverGroupStatus | undefined,
  cycle: CycleResult,
  polls: readonly SitePoll[],
  maxLagSeconds: number,
  generation: number,
  now: string,
): TopologyStatus {
  const prevSites = new Map((prev?.sites ?? []).map((s) => [s.name, s]));
  const sites: SiteStatus[] = polls.map((poll) => {
    const tracker = cycle.states.get(poll.name);
    const before = prevSites.get(poll.name);
    const site: SiteStatus = { name: poll.name, state: tracker?.state ?? "unknown" };
    // Recovery fields belong to the recovery logic: carry them over untouched.
    if (before?.recoveryState) site.recoveryState = before.recoveryState;
    if (before?.divergentGtid) site.divergentGtid = before.divergentGtid;
    if (before?.divergentTransactionCount !== undefined) site.divergentTransactionCount = before.divergentTransactionCount;
    const lastSeen = tracker?.lastSeen ?? before?.lastSeen;
    if (lastSeen) site.lastSeen = lastSeen;
    if (!poll.ok) {
      if (before?.gtidExecuted !== undefined) site.gtidExecuted = before.gtidExecuted;
      site.replicating = before?.replicating ?? false;
      site.lastError = poll.error ?? "poll failed";
      return site;
    }
    if (poll.gtidExecuted !== undefined) site.gtidExecuted = poll.gtidExecuted;
    const r = poll.replica;
    site.replicating = r !== undefined && r.ioRunning && r.sqlRunning;
    site.secondsBehindSource = r ? r.secondsBehindSource : null;
    if (r?.sourceHost) site.sourceHost = r.sourceHost;
    site.lastError = r?.lastError ?? "";
    return site;
  });
  const health = replicationHealth(
    polls.map((p) => ({ name: p.name, role: p.role, state: cycle.states.get(p.name)?.state ?? "unknown", ...(p.replica ? { replica: p.replica } : {}) })),
    cycle.verdict.activeSite,
    maxLagSeconds,
  );
  const readers = new Set(polls.filter((p) => p.role === "read-only").map((p) => p.name));
  const conditions: Condition[] = setCondition(topologyConditions(prev?.conditions, cycle.verdict, health, generation, now), recoveryCondition(sites, readers, generation), now);
  const lastKnownPrimary = prev?.lastKnownPrimary;
  return {
    observedGeneration: generation,
    activeSite: cycle.verdict.activeSite,
    ...(lastKnownPrimary ? { lastKnownPrimary } : {}),
    summary: siteSummary(sites.map((s) => s.state)),
    sites,
    conditions,
  };
}

/**
 * Settles who the primary is from the failover decision: `lastKnownPrimary` records it, and
 * `activeSite` (what clients and the sidecars' safety net follow) names a site only when the
 * verdict's single writable site is that primary; a writable site being fenced is never shown.
 * Without an authority (not settled yet, nothing recorded) the verdict stands.
 */
export function applyAuthority(status: TopologyStatus, authority: string | undefined): TopologyStatus {
  if (authority === undefined) return status;
  return { ...status, lastKnownPrimary: authority, activeSite: status.activeSite === authority ? authority : "" };
}

/**
 * The Maintenance condition, and the reason next to any non-healthy verdict, so that an on-call
 * engineer reading "NoPrimary" also reads why nothing was promoted.
 */
export function withMaintenance(status: TopologyStatus, state: MaintenanceState, invalid: string | undefined, generation: number, now: string): TopologyStatus {
  const base = { type: CONDITION_TYPES.maintenance, observedGeneration: generation };
  let update: ConditionUpdate;
  if (state.active) {
    const m = state.maintenance;
    const detail = `automatic failover and split-brain resolution paused until ${m.until}${m.reason ? `: ${m.reason}` : ""}${m.by ? ` (by ${m.by})` : ""}`;
    update = { ...base, status: "True", reason: "MaintenanceActive", message: detail };
  } else if (invalid) {
    update = { ...base, status: "False", reason: "InvalidAnnotation", message: `${invalid}; automatic failover stays on` };
  } else if (state.expired) {
    update = { ...base, status: "False", reason: "Expired", message: `maintenance ended at ${state.expired.until}; remove the annotation or set a new one` };
  } else {
    update = { ...base, status: "False", reason: "NotInMaintenance", message: "automatic failover is on" };
  }
  let conditions = setCondition(status.conditions, update, now);
  if (state.active) {
    conditions = conditions.map((c) =>
      c.type === CONDITION_TYPES.degraded && c.status === "True" && !c.message.includes("maintenance") ? { ...c, message: `${c.message}; ${update.message} (maintenance)` } : c,
    );
  }
  return { ...status, conditions };
}

/**
 * RoutingReady: whether DNS and node taints follow the primary. False while moving them fails
 * (the write is retried every cycle), so a denied DNSEndpoint write is visible, not only logged.
 * Left as it is while there is no primary to follow.
 */
export function withRouting(status: TopologyStatus, routing: { site: string; error?: string } | undefined, generation: number, now: string): TopologyStatus {
  if (routing === undefined) return status;
  const base = { type: CONDITION_TYPES.routingReady, observedGeneration: generation };
  const update: ConditionUpdate =
    routing.error === undefined
      ? { ...base, status: "True", reason: "Routed", message: `DNS and node taints follow ${routing.site}` }
      : { ...base, status: "False", reason: "RoutingFailed", message: `moving DNS and node taints to ${routing.site} failed (retried every poll): ${routing.error}` };
  return { ...status, conditions: setCondition(status.conditions, update, now) };
}

/** Blocked reasons that say the operator's view, not the group, is what is wrong. */
const PARTIAL_VIEW: ReadonlySet<string> = new Set(["PrimaryReachableByReplicas", "WitnessPending", "NoWitness"]);

/**
 * Why no failover happened, on Ready and Degraded while they are not healthy: "NoPrimary" alone
 * would send the on-call engineer after the database when the operator is the one cut off. The
 * witness reasons replace the verdict's reason; any other reason is appended to the message.
 */
export function withFailoverBlocked(status: TopologyStatus, blocked: { reason: string; message: string } | undefined, now: string): TopologyStatus {
  if (blocked === undefined) return status;
  let conditions = status.conditions;
  for (const type of [CONDITION_TYPES.ready, CONDITION_TYPES.degraded]) {
    const c = conditions.find((x) => x.type === type);
    if (c === undefined || c.reason === "Healthy" || c.message.includes(blocked.message)) continue;
    const { lastTransitionTime: _, ...rest } = c;
    conditions = setCondition(conditions, { ...rest, ...(PARTIAL_VIEW.has(blocked.reason) ? { reason: blocked.reason } : {}), message: `${c.message}; failover blocked: ${blocked.message}` }, now);
  }
  return { ...status, conditions };
}

/**
 * RecoveryPending from the recovery fields of the sites: the seeds' two reasons, then errant
 * transactions on sites that still replicate (a reader's get a reason of their own).
 */
function recoveryCondition(sites: readonly SiteStatus[], readers: ReadonlySet<string>, generation: number): ConditionUpdate {
  const blocked = sites.filter((s) => s.recoveryState === "RecoveryBlocked");
  const inProgress = sites.filter((s) => s.recoveryState === "RecoveryInProgress");
  const errant = sites.filter((s) => s.recoveryState === "ErrantTransactions");
  const base = { type: CONDITION_TYPES.recoveryPending, observedGeneration: generation };
  if (blocked.length > 0) {
    const detail = blocked.map((s) => `${s.name} has ${s.divergentTransactionCount ?? "some"} divergent transaction(s) (${s.divergentGtid ?? "?"})`).join("; ");
    return { ...base, status: "True", reason: "DivergentTransactions", message: `${detail}; those sites hold the only copy of these transactions: recover or replay what you need before recloning them (the bloodraven.shipstream.io/reclone-site annotation, kubectl bloodraven reclone, destroys them)` };
  }
  if (inProgress.length > 0) return { ...base, status: "True", reason: "RecoveryInProgress", message: `${inProgress.map((s) => s.name).join(", ")} rejoining as replica(s) of the primary` };
  if (errant.length > 0) {
    const detail = errant.map((s) => `${s.name} holds ${s.divergentTransactionCount ?? "some"} transaction(s) the primary never had (${s.divergentGtid ?? "?"})`).join("; ");
    const reason = errant.every((s) => readers.has(s.name)) ? "ReaderErrantTransactions" : "ErrantTransactions";
    return { ...base, status: "True", reason, message: `${detail}; they exist only there: replay what you need on the primary, or reclone (which destroys them)` };
  }
  return { ...base, status: "False", reason: "NoRecovery", message: "no site needs recovery" };
}

function withoutVolatile(status: Partial<TopologyStatus>): unknown {
  return {
    ...status,
    sites: (status.sites ?? []).map((s) => {
      const copy: Record<string, unknown> = { ...s };
      for (const f of VOLATILE_SITE_FIELDS) delete copy[f];
      return copy;
    }),
  };
}

function pick(status: MysqlFailoverGroupStatus | undefined): Partial<TopologyStatus> {
  if (!status) return {};
  const { observedGeneration, activeSite, lastKnownPrimary, summary, sites, conditions } = status;
  return { observedGeneration, activeSite, lastKnownPrimary, summary, sites, conditions };
}

/**
 * Whether the new topology status must be written: at once when anything material changed
 * (states, activeSite, conditions, replication, errors), and at most every refreshMs when only
 * volatile fields moved. This bounds writes at N groups x 2 s polls to what actually changes.
 */
export function needsStatusWrite(prev: MysqlFailoverGroupStatus | undefined, next: TopologyStatus, msSinceLastWrite: number, refreshMs: number): boolean {
  const before = pick(prev);
  if (stableJson(withoutVolatile(before)) !== stableJson(withoutVolatile(next))) return true;
  return msSinceLastWrite >= refreshMs && stableJson(before) !== stableJson(next);
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

/** The status API / WebSocket message for one cycle (always fresh, unlike the stored status). */
export function statusMessage(namespace: string, group: string, status: TopologyStatus, roles: ReadonlyMap<string, SitePoll["role"]>, verdict: string, extra: Pick<MysqlFailoverGroupStatus, "lastFailover" | "lastFailoverTarget" | "promotionGtidExecuted">, now: string): GroupStatusMessage {
  const message: GroupStatusMessage = {
    namespace,
    group,
    activeSite: status.activeSite,
    verdict,
    sites: status.sites.map((s) => ({
      name: s.name,
      role: roles.get(s.name) ?? "primary-candidate",
      state: s.state,
      replicating: s.replicating ?? false,
      ...(s.lastSeen ? { lastSeen: s.lastSeen } : {}),
      ...(s.secondsBehindSource !== undefined ? { secondsBehindSource: s.secondsBehindSource } : {}),
      ...(s.gtidExecuted ? { gtidExecuted: s.gtidExecuted } : {}),
      ...(s.sourceHost ? { sourceHost: s.sourceHost } : {}),
      ...(s.recoveryState ? { recoveryState: s.recoveryState } : {}),
      ...(s.divergentGtid ? { divergentGtid: s.divergentGtid } : {}),
      ...(s.divergentTransactionCount !== undefined ? { divergentTransactionCount: s.divergentTransactionCount } : {}),
    })),
    pollTime: now,
  };
  if (status.lastKnownPrimary) message.lastKnownPrimary = status.lastKnownPrimary;
  if (extra.lastFailover) message.lastFailover = extra.lastFailover;
  if (extra.lastFailoverTarget) message.lastFailoverTarget = extra.lastFailoverTarget;
  if (extra.promotionGtidExecuted) message.promotionGtidExecuted = extra.promotionGtidExecuted;
  return message;
}
