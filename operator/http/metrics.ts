import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type LabelValues } from "prom-client";
import {
  DRAGONFLY_PROMOTION_RESULTS,
  FAILOVER_FAILURE_REASONS,
  FAILOVER_KINDS,
  FAILOVER_STAGES,
  METRICS,
  PLANNED_FAILOVER_RESULTS,
  RECLONE_RESULTS,
  SITE_ROLES,
  SITE_STATES,
  TAINT_ACTIONS,
  WEBSOCKET_DROP_REASONS,
  type DragonflyPromotionResult,
  type FailoverFailureReason,
  type FailoverKind,
  type FailoverStage,
  type PlannedFailoverResult,
  type RecloneResult,
  type RestoreKind,
  type SiteRole,
  type SiteState,
  type TaintAction,
  type WebsocketDropReason,
} from "../../shared/names.js";
import { COMMIT, VERSION } from "../../shared/version.js";

/**
 * The operator's Prometheus metrics (the seeds' monitoring page), in a registry of their own so
 * that two instances, or a test next to the operator, never share series.
 *
 * Every topology series carries `namespace` and `group` on top of the documented labels: the
 * original labelled by `site` alone, so two groups that both have a site `iad` overwrote each
 * other's gauges and summed each other's counters.
 */

// Polls of healthy sites take a few milliseconds; an unreachable site runs into the 5 s poll
// timeout. The buckets cover both ends so p99 alerts (> 1 s) fall on a bucket boundary.
export const POLL_CYCLE_BUCKETS = [0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5];
export const POLL_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// A switchover takes a second or two at 500 ms polls; maxLagWait and drainTimeout stretch it to minutes.
/** A verification restores a whole backup: minutes for most, hours for the largest. */
export const VERIFICATION_DURATION_BUCKETS = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];
/** A restore copies a whole backup onto a site's volume, then replays: minutes to hours. */
export const RESTORE_DURATION_BUCKETS = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800];
export const PLANNED_DURATION_BUCKETS = [0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 20, 30, 60, 120, 300];
// A caught-up target passes WaitingForLag within one poll; a lagging one waits up to maxLagWait.
export const PLANNED_LAG_WAIT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];

/** Not replicating: the gauge's documented value when Seconds_Behind_Source is NULL. */
const LAG_UNKNOWN = -1;

type Labels = Record<string, string | number>;

interface Removable<L extends string> {
  remove(labels: LabelValues<L>): void;
}

/**
 * The label sets a metric has been given, grouped by site. prom-client removes only exact label
 * sets, so forgetting a group or a site needs to know which sets exist; grouping keeps the
 * per-poll calls (track, forgetting a site's replication series) independent of the number of
 * groups.
 */
class SeriesIndex<L extends string> {
  private readonly bySite = new Map<string, Map<string, LabelValues<L>>>();

  constructor(private readonly metric: Removable<L>) {}

  track(labels: LabelValues<L>): LabelValues<L> {
    const l = labels as Labels;
    const site = siteKey(l.namespace, l.group, l.site ?? l.target_site);
    let series = this.bySite.get(site);
    if (!series) this.bySite.set(site, (series = new Map()));
    // Callers build a metric's label objects in one key order, so the values identify the set.
    const key = Object.values(l).join("\0");
    if (!series.has(key)) series.set(key, labels);
    return labels;
  }

  forgetSite(namespace: string, group: string, site: string): void {
    const key = siteKey(namespace, group, site);
    for (const labels of this.bySite.get(key)?.values() ?? []) this.metric.remove(labels);
    this.bySite.delete(key);
  }

  forgetGroup(namespace: string, group: string): void {
    const prefix = siteKey(namespace, group, "");
    for (const key of [...this.bySite.keys()]) {
      if (!key.startsWith(prefix)) continue;
      for (const labels of this.bySite.get(key)?.values() ?? []) this.metric.remove(labels);
      this.bySite.delete(key);
    }
  }
}

function siteKey(namespace: unknown, group: unknown, site: unknown): string {
  return `${String(namespace)}\0${String(group)}\0${String(site ?? "")}`;
}

type SiteLabel = "namespace" | "group" | "site";
type TargetLabel = "namespace" | "group" | "target_site";
type ProfileLabel = "namespace" | "group" | "profile";
type RestoreLabel = "namespace" | "group" | "restore_kind" | "target_site";

export class OperatorMetrics {
  readonly registry = new Registry();

  private readonly pollLatency: Histogram<SiteLabel>;
  private readonly transitions: Counter<SiteLabel | "from" | "to">;
  private readonly taints: Counter<SiteLabel | "action">;
  private readonly dnsFlips: Counter<SiteLabel>;
  private readonly failovers: Counter<TargetLabel | "kind">;
  private readonly plannedFailovers: Counter<TargetLabel | "result">;
  private readonly replicationLag: Gauge<SiteLabel>;
  private readonly replicationRunning: Gauge<SiteLabel | "thread">;
  private readonly siteState: Gauge<SiteLabel | "state">;
  private readonly siteRole: Gauge<SiteLabel | "role">;
  private readonly divergent: Gauge<SiteLabel>;
  private readonly archiverFailures: Gauge<SiteLabel>;
  private readonly archiverLastUpload: Gauge<SiteLabel>;
  private readonly archiverBacklog: Gauge<SiteLabel>;
  private readonly backupLastSuccess: Gauge<ProfileLabel>;
  private readonly backupVerified: Gauge<ProfileLabel>;
  private readonly verificationLastAttempt: Gauge<ProfileLabel>;
  private readonly verificationRuns: Counter<ProfileLabel | "result">;
  private readonly verificationDuration: Histogram<ProfileLabel>;
  private readonly verificationReplayLag: Gauge<ProfileLabel>;
  private readonly restoreDuration: Histogram<RestoreLabel>;
  private readonly restoreLastSuccess: Gauge<RestoreLabel>;
  private readonly restoreSourceSize: Gauge<RestoreLabel>;
  private readonly reclones: Counter<SiteLabel | "result">;
  private readonly dragonflySiteUp: Gauge<SiteLabel>;
  private readonly dragonflyPromotions: Counter<TargetLabel | "result">;
  private readonly dragonflyPanics: Counter<"namespace" | "name">;
  private readonly websocketClients: Gauge;
  private readonly pollCycle: Histogram;
  private readonly maintenance: Gauge<"namespace" | "group">;
  private readonly failoverDuration: Histogram<"namespace" | "group" | "stage">;
  private readonly failoverFailures: Counter<"namespace" | "group" | "reason">;
  private readonly failoverBlocked: Counter<"namespace" | "group" | "reason">;
  private readonly failoverLost: Counter<"namespace" | "group" | "site">;
  private readonly reconcileErrors: Counter<"namespace" | "group" | "reconciler">;
  private readonly plannedDuration: Histogram<"namespace" | "group">;
  private readonly plannedLagWait: Histogram<"namespace" | "group">;
  private readonly websocketDrops: Counter<"reason">;
  private readonly leader: Gauge;

  private readonly index: {
    pollLatency: SeriesIndex<SiteLabel>;
    transitions: SeriesIndex<SiteLabel | "from" | "to">;
    taints: SeriesIndex<SiteLabel | "action">;
    dnsFlips: SeriesIndex<SiteLabel>;
    failovers: SeriesIndex<TargetLabel | "kind">;
    plannedFailovers: SeriesIndex<TargetLabel | "result">;
    replicationLag: SeriesIndex<SiteLabel>;
    replicationRunning: SeriesIndex<SiteLabel | "thread">;
    siteState: SeriesIndex<SiteLabel | "state">;
    siteRole: SeriesIndex<SiteLabel | "role">;
    divergent: SeriesIndex<SiteLabel>;
    reclones: SeriesIndex<SiteLabel | "result">;
    failoverDuration: SeriesIndex<"namespace" | "group" | "stage">;
    failoverFailures: SeriesIndex<"namespace" | "group" | "reason">;
    failoverBlocked: SeriesIndex<"namespace" | "group" | "reason">;
    failoverLost: SeriesIndex<"namespace" | "group" | "site">;
    reconcileErrors: SeriesIndex<"namespace" | "group" | "reconciler">;
    plannedDuration: SeriesIndex<"namespace" | "group">;
    plannedLagWait: SeriesIndex<"namespace" | "group">;
    maintenance: SeriesIndex<"namespace" | "group">;
    archiverFailures: SeriesIndex<SiteLabel>;
    archiverLastUpload: SeriesIndex<SiteLabel>;
    archiverBacklog: SeriesIndex<SiteLabel>;
    backupLastSuccess: SeriesIndex<ProfileLabel>;
    backupVerified: SeriesIndex<ProfileLabel>;
    verificationLastAttempt: SeriesIndex<ProfileLabel>;
    verificationRuns: SeriesIndex<ProfileLabel | "result">;
    verificationDuration: SeriesIndex<ProfileLabel>;
    verificationReplayLag: SeriesIndex<ProfileLabel>;
    restoreDuration: SeriesIndex<RestoreLabel>;
    restoreLastSuccess: SeriesIndex<RestoreLabel>;
    restoreSourceSize: SeriesIndex<RestoreLabel>;
    dragonflySiteUp: SeriesIndex<SiteLabel>;
    dragonflyPromotions: SeriesIndex<TargetLabel | "result">;
  };

  constructor() {
    const registers = [this.registry];
    const site = ["namespace", "group", "site"] as const;
    const target = ["namespace", "group", "target_site"] as const;

    this.pollLatency = new Histogram({
      name: METRICS.pollLatencySeconds,
      help: "Duration of each MySQL poll",
      labelNames: site,
      buckets: POLL_LATENCY_BUCKETS,
      registers,
    });
    // One series for the whole process: per-group cycle series would multiply by the group count.
    this.pollCycle = new Histogram({
      name: METRICS.pollCycleSeconds,
      help: "Duration of one poll cycle of one group (all its sites polled in parallel, status and events handled)",
      buckets: POLL_CYCLE_BUCKETS,
      registers,
    });
    // Constant 1: the labels are the information (dashboards join on them, alerts count versions).
    new Gauge({ name: METRICS.buildInfo, help: "1, labelled with the operator's version, the commit it was built from and its Node.js version", labelNames: ["version", "revision", "node"], registers }).set(
      { version: VERSION, revision: COMMIT, node: process.version },
      1,
    );
    // Pods can be up while none leads (an API server that refuses every lease renewal): every
    // group is then unmanaged, which no per-group series shows.
    this.leader = new Gauge({ name: METRICS.leader, help: "1 while this replica holds the leader lease and manages groups, else 0", registers });
    this.leader.set(0);
    this.maintenance = new Gauge({
      name: METRICS.maintenanceMode,
      help: "1 while maintenance mode pauses automatic failover of the group, else 0",
      labelNames: ["namespace", "group"],
      registers,
    });
    this.failoverDuration = new Histogram({
      name: METRICS.failoverDurationSeconds,
      help: "Emergency failover, from the decision to promote until the stage: writable (promotion confirmed) or dns (DNS and taints moved)",
      labelNames: ["namespace", "group", "stage"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
    this.failoverFailures = new Counter({
      name: METRICS.failoverFailuresTotal,
      help: "Failover steps that failed, by reason (fence_failed, promote_failed, relay_log_not_applied, repoint_failed, dns_failed)",
      labelNames: ["namespace", "group", "reason"],
      registers,
    });
    this.failoverBlocked = new Counter({
      name: METRICS.failoverBlockedTotal,
      help: "Times a wanted promotion or split-brain resolution was not done, by the decision core's reason (PrimaryReachableByReplicas, Cooldown, ...); counted once per episode, not per poll",
      labelNames: ["namespace", "group", "reason"],
      registers,
    });
    this.failoverLost = new Counter({
      name: METRICS.failoverLostTransactionsTotal,
      help: "Received but unapplied transactions an emergency promotion discarded on the promoted site (only with spec.emergencyFailover.allowReceivedTransactionLoss)",
      labelNames: ["namespace", "group", "site"],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: METRICS.reconcileErrorsTotal,
      help: "Cycles in which one of a group's reconcilers (spec-warnings, observe, maintenance, planned, failover, followers, status) failed; the next cycle retries",
      labelNames: ["namespace", "group", "reconciler"],
      registers,
    });
    this.plannedDuration = new Histogram({
      name: METRICS.plannedFailoverDurationSeconds,
      help: "Successful planned failover (switchover), from the request being picked up until Succeeded",
      labelNames: ["namespace", "group"],
      buckets: PLANNED_DURATION_BUCKETS,
      registers,
    });
    this.plannedLagWait = new Histogram({
      name: METRICS.plannedFailoverLagWaitSeconds,
      help: "Time a planned failover spent in WaitingForLag (the target catching up with the fenced source), observed when the phase is left",
      labelNames: ["namespace", "group"],
      buckets: PLANNED_LAG_WAIT_BUCKETS,
      registers,
    });
    this.transitions = new Counter({
      name: METRICS.stateTransitionsTotal,
      help: "Count of state transitions per site",
      labelNames: [...site, "from", "to"],
      registers,
    });
    this.taints = new Counter({
      name: METRICS.taintOperationsTotal,
      help: "Count of node taint/untaint operations",
      labelNames: [...site, "action"],
      registers,
    });
    this.dnsFlips = new Counter({
      name: METRICS.dnsFlipsTotal,
      help: "Count of DNSEndpoint updates (DNS record flips)",
      labelNames: site,
      registers,
    });
    this.failovers = new Counter({
      name: METRICS.failoversTotal,
      help: "Total number of failovers executed. Incremented after successful MySQL promotion; kind: emergency or planned.",
      labelNames: [...target, "kind"],
      registers,
    });
    this.plannedFailovers = new Counter({
      name: METRICS.plannedFailoversTotal,
      help: "Planned failover attempts by outcome",
      labelNames: [...target, "result"],
      registers,
    });
    this.reclones = new Counter({
      name: METRICS.recloneOperationsTotal,
      help: "Clones of a site (reclone and auto-clone) by outcome: success, failed, or rejected (a reclone request refused before anything ran)",
      labelNames: [...site, "result"],
      registers,
    });
    this.websocketClients = new Gauge({
      name: METRICS.websocketConnectedClients,
      help: "Number of currently connected WebSocket clients",
      registers,
    });
    this.websocketDrops = new Counter({
      name: METRICS.websocketDroppedClientsTotal,
      help: "WebSocket clients disconnected by the operator: too slow to keep up, or not answering pings",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of WEBSOCKET_DROP_REASONS) this.websocketDrops.inc({ reason }, 0);
    this.replicationLag = new Gauge({
      name: METRICS.replicationLagSeconds,
      help: "Replication lag in seconds on the replica site. -1 if lag is NULL (not replicating). Only present for replica sites.",
      labelNames: site,
      registers,
    });
    this.replicationRunning = new Gauge({
      name: METRICS.replicationRunning,
      help: "Whether a replication thread is running (1=yes, 0=no). Thread is io or sql. Only present for replica sites.",
      labelNames: [...site, "thread"],
      registers,
    });
    this.siteState = new Gauge({
      name: METRICS.siteState,
      help: "Current site state as a state-set: 1 for the current state, 0 for others.",
      labelNames: [...site, "state"],
      registers,
    });
    this.siteRole = new Gauge({
      name: METRICS.siteRole,
      help: "The site's role from the spec as a state-set (1 for its role, 0 for the others), for alerts that treat readers apart.",
      labelNames: [...site, "role"],
      registers,
    });
    this.divergent = new Gauge({
      name: METRICS.divergentTransactions,
      help: "Number of divergent transactions on a site pending recovery after emergency failover. 0 when healthy.",
      labelNames: site,
      registers,
    });
    this.archiverFailures = new Gauge({
      name: METRICS.archiverUploadFailures,
      help: "Cumulative PITR archiver upload failures reported by the per-site agent. Monotonic except across agent restarts: use increase() / rate().",
      labelNames: site,
      registers,
    });
    this.archiverLastUpload = new Gauge({
      name: METRICS.archiverLastUploadTimestampSeconds,
      help: "Unix timestamp of the last successful PITR binlog archive per site. 0 if nothing archived yet.",
      labelNames: site,
      registers,
    });
    this.archiverBacklog = new Gauge({
      name: METRICS.archiverBacklogFiles,
      help: "Sealed binlogs present in the server's index but missing from the archive at the end of the last scan (primary only). >0 means archival is falling behind.",
      labelNames: site,
      registers,
    });
    this.dragonflySiteUp = new Gauge({
      name: METRICS.dragonflySiteUp,
      help: "1 when the site's cache server (spec.dragonfly) answered the operator's last INFO replication poll, 0 when it did not.",
      labelNames: site,
      registers,
    });
    this.dragonflyPromotions = new Counter({
      name: METRICS.dragonflyPromotionsTotal,
      help: "Promotions of a site's cache server to master, by result: success, failed (sessions may be lost even though the database moved), skipped (no cache server on the database's new primary site answered).",
      labelNames: ["namespace", "group", "target_site", "result"],
      registers,
    });
    this.dragonflyPanics = new Counter({
      name: METRICS.dragonflyManagerPanicsTotal,
      help: "Faults of the cache reconciler caught and recovered (the database's reconcilers go on); any increase should be investigated in the operator's log.",
      labelNames: ["namespace", "name"],
      registers,
    });
    this.backupLastSuccess = new Gauge({
      name: METRICS.backupLastSuccessTimestampSeconds,
      help: "Unix timestamp of the completion of the newest Succeeded MysqlBackup per profile of the group's spec.backup. 0 if none has succeeded yet.",
      labelNames: ["namespace", "group", "profile"],
      registers,
    });
    const profile = ["namespace", "group", "profile"] as const;
    this.backupVerified = new Gauge({
      name: METRICS.backupVerifiedTimestampSeconds,
      help: "Unix timestamp of the completion of the newest Succeeded MysqlBackupVerification per profile of the group's spec.backup. 0 if none has succeeded yet.",
      labelNames: profile,
      registers,
    });
    this.verificationLastAttempt = new Gauge({
      name: METRICS.backupVerificationLastAttemptTimestampSeconds,
      help: "Unix timestamp of the completion of the newest MysqlBackupVerification per profile, Succeeded or Failed. 0 if none has ended yet.",
      labelNames: profile,
      registers,
    });
    this.verificationRuns = new Counter({
      name: METRICS.backupVerificationRunsTotal,
      help: "MysqlBackupVerifications this operator saw end, by result (success or failure).",
      labelNames: [...profile, "result"],
      registers,
    });
    this.verificationDuration = new Histogram({
      name: METRICS.backupVerificationDurationSeconds,
      help: "Wall-clock duration of a MysqlBackupVerification, from Running to its outcome.",
      labelNames: profile,
      buckets: VERIFICATION_DURATION_BUCKETS,
      registers,
    });
    this.verificationReplayLag = new Gauge({
      name: METRICS.backupVerificationReplayLagSeconds,
      help: "For the newest Succeeded verification with a replay: its completion minus the commit time of the last transaction replayed. Rising: the archive trails the primary.",
      labelNames: profile,
      registers,
    });
    const restore = ["namespace", "group", "restore_kind", "target_site"] as const;
    this.restoreDuration = new Histogram({
      name: METRICS.restoreDurationSeconds,
      help: "Duration of successful restores (restore_kind init_from_backup or in_place), from the restore Job's start until the operator sees the site run on the copy.",
      labelNames: restore,
      buckets: RESTORE_DURATION_BUCKETS,
      registers,
    });
    this.restoreLastSuccess = new Gauge({
      name: METRICS.restoreLastSuccessTimestampSeconds,
      help: "Unix timestamp of the last successful restore this operator saw.",
      labelNames: restore,
      registers,
    });
    this.restoreSourceSize = new Gauge({
      name: METRICS.restoreLastSourceSizeBytes,
      help: "Size of the backup artifact of the most recent successful restore, when a MysqlBackup of it (status.sizeBytes) is in the group's namespace; absent when unknown.",
      labelNames: restore,
      registers,
    });

    this.index = {
      pollLatency: new SeriesIndex(this.pollLatency),
      transitions: new SeriesIndex(this.transitions),
      taints: new SeriesIndex(this.taints),
      dnsFlips: new SeriesIndex(this.dnsFlips),
      failovers: new SeriesIndex(this.failovers),
      plannedFailovers: new SeriesIndex(this.plannedFailovers),
      replicationLag: new SeriesIndex(this.replicationLag),
      replicationRunning: new SeriesIndex(this.replicationRunning),
      siteState: new SeriesIndex(this.siteState),
      siteRole: new SeriesIndex(this.siteRole),
      divergent: new SeriesIndex(this.divergent),
      reclones: new SeriesIndex(this.reclones),
      failoverDuration: new SeriesIndex(this.failoverDuration),
      failoverFailures: new SeriesIndex(this.failoverFailures),
      failoverBlocked: new SeriesIndex(this.failoverBlocked),
      failoverLost: new SeriesIndex(this.failoverLost),
      reconcileErrors: new SeriesIndex(this.reconcileErrors),
      plannedDuration: new SeriesIndex(this.plannedDuration),
      plannedLagWait: new SeriesIndex(this.plannedLagWait),
      maintenance: new SeriesIndex(this.maintenance),
      archiverFailures: new SeriesIndex(this.archiverFailures),
      archiverLastUpload: new SeriesIndex(this.archiverLastUpload),
      archiverBacklog: new SeriesIndex(this.archiverBacklog),
      backupLastSuccess: new SeriesIndex(this.backupLastSuccess),
      backupVerified: new SeriesIndex(this.backupVerified),
      verificationLastAttempt: new SeriesIndex(this.verificationLastAttempt),
      verificationRuns: new SeriesIndex(this.verificationRuns),
      verificationDuration: new SeriesIndex(this.verificationDuration),
      verificationReplayLag: new SeriesIndex(this.verificationReplayLag),
      restoreDuration: new SeriesIndex(this.restoreDuration),
      restoreLastSuccess: new SeriesIndex(this.restoreLastSuccess),
      restoreSourceSize: new SeriesIndex(this.restoreSourceSize),
      dragonflySiteUp: new SeriesIndex(this.dragonflySiteUp),
      dragonflyPromotions: new SeriesIndex(this.dragonflyPromotions),
    };

    collectDefaultMetrics({ register: this.registry });
  }

  /** The Content-Type of {@link metricsText}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Creates a site's counters and its group's failover histograms at 0. A series that is born at 1
   * hides its first increment from increase() and rate(), so the first failover would never fire
   * an alert, nor show its duration.
   */
  registerSite(namespace: string, group: string, site: string): void {
    const labels = { namespace, group, site };
    const target = { namespace, group, target_site: site };
    for (const from of SITE_STATES) {
      for (const to of SITE_STATES) {
        if (from !== to) this.transitions.inc(this.index.transitions.track({ ...labels, from, to }), 0);
      }
    }
    for (const action of TAINT_ACTIONS) this.taints.inc(this.index.taints.track({ ...labels, action }), 0);
    this.dnsFlips.inc(this.index.dnsFlips.track(labels), 0);
    for (const kind of FAILOVER_KINDS) this.failovers.inc(this.index.failovers.track({ ...target, kind }), 0);
    for (const result of PLANNED_FAILOVER_RESULTS) {
      this.plannedFailovers.inc(this.index.plannedFailovers.track({ ...target, result }), 0);
    }
    for (const result of RECLONE_RESULTS) this.reclones.inc(this.index.reclones.track({ ...labels, result }), 0);
    this.failoverLost.inc(this.index.failoverLost.track(labels), 0);
    for (const reason of FAILOVER_FAILURE_REASONS) this.failoverFailures.inc(this.index.failoverFailures.track({ namespace, group, reason }), 0);
    // Histograms too: a bucket born at 1 hides the first failover's duration from rate().
    for (const stage of FAILOVER_STAGES) this.failoverDuration.zero(this.index.failoverDuration.track({ namespace, group, stage }));
    this.plannedDuration.zero(this.index.plannedDuration.track({ namespace, group }));
    this.plannedLagWait.zero(this.index.plannedLagWait.track({ namespace, group }));
  }

  observePoll(namespace: string, group: string, site: string, seconds: number): void {
    this.pollLatency.observe(this.index.pollLatency.track({ namespace, group, site }), seconds);
  }

  setLeader(leading: boolean): void {
    this.leader.set(leading ? 1 : 0);
  }

  observeCycle(seconds: number): void {
    this.pollCycle.observe(seconds);
  }

  setMaintenance(namespace: string, group: string, active: boolean): void {
    this.maintenance.set(this.index.maintenance.track({ namespace, group }), active ? 1 : 0);
  }

  observeFailover(namespace: string, group: string, stage: FailoverStage, seconds: number): void {
    this.failoverDuration.observe(this.index.failoverDuration.track({ namespace, group, stage }), seconds);
  }

  /** A planned failover reached Succeeded `seconds` after its request was picked up. */
  observePlannedFailover(namespace: string, group: string, seconds: number): void {
    this.plannedDuration.observe(this.index.plannedDuration.track({ namespace, group }), seconds);
  }

  /** A planned failover left WaitingForLag after `seconds` in it. */
  observePlannedLagWait(namespace: string, group: string, seconds: number): void {
    this.plannedLagWait.observe(this.index.plannedLagWait.track({ namespace, group }), seconds);
  }

  recordFailoverFailure(namespace: string, group: string, reason: FailoverFailureReason): void {
    this.failoverFailures.inc(this.index.failoverFailures.track({ namespace, group, reason }));
  }

  recordFailoverBlocked(namespace: string, group: string, reason: string): void {
    this.failoverBlocked.inc(this.index.failoverBlocked.track({ namespace, group, reason }));
  }

  recordLostTransactions(namespace: string, group: string, site: string, count: number): void {
    this.failoverLost.inc(this.index.failoverLost.track({ namespace, group, site }), count);
  }

  recordReconcileError(namespace: string, group: string, reconciler: string): void {
    this.reconcileErrors.inc(this.index.reconcileErrors.track({ namespace, group, reconciler }));
  }

  recordTransition(namespace: string, group: string, site: string, from: SiteState, to: SiteState): void {
    this.transitions.inc(this.index.transitions.track({ namespace, group, site, from, to }));
  }

  recordTaint(namespace: string, group: string, site: string, action: TaintAction): void {
    this.taints.inc(this.index.taints.track({ namespace, group, site, action }));
  }

  recordDnsFlip(namespace: string, group: string, site: string): void {
    this.dnsFlips.inc(this.index.dnsFlips.track({ namespace, group, site }));
  }

  recordFailover(namespace: string, group: string, targetSite: string, kind: FailoverKind): void {
    this.failovers.inc(this.index.failovers.track({ namespace, group, target_site: targetSite, kind }));
  }

  recordReclone(namespace: string, group: string, site: string, result: RecloneResult): void {
    this.reclones.inc(this.index.reclones.track({ namespace, group, site, result }));
  }

  recordPlannedFailover(namespace: string, group: string, targetSite: string, result: PlannedFailoverResult): void {
    this.plannedFailovers.inc(
      this.index.plannedFailovers.track({ namespace, group, target_site: targetSite, result }),
    );
  }

  /** Sets the state-set: 1 for `state`, 0 for each other state, so every state has a series. */
  setSiteState(namespace: string, group: string, site: string, state: SiteState): void {
    for (const candidate of SITE_STATES) {
      const labels = this.index.siteState.track({ namespace, group, site, state: candidate });
      this.siteState.set(labels, candidate === state ? 1 : 0);
    }
  }

  /** The site's role as a state-set, like setSiteState. */
  setSiteRole(namespace: string, group: string, site: string, role: SiteRole): void {
    for (const candidate of SITE_ROLES) this.siteRole.set(this.index.siteRole.track({ namespace, group, site, role: candidate }), candidate === role ? 1 : 0);
  }

  /** For a replica site; `lagSeconds` null means Seconds_Behind_Source was NULL. */
  setReplication(
    namespace: string,
    group: string,
    site: string,
    lagSeconds: number | null,
    ioRunning: boolean,
    sqlRunning: boolean,
  ): void {
    const labels = { namespace, group, site };
    this.replicationLag.set(this.index.replicationLag.track(labels), lagSeconds ?? LAG_UNKNOWN);
    this.replicationRunning.set(this.index.replicationRunning.track({ ...labels, thread: "io" }), ioRunning ? 1 : 0);
    this.replicationRunning.set(this.index.replicationRunning.track({ ...labels, thread: "sql" }), sqlRunning ? 1 : 0);
  }

  /** The site is no longer a replica (promoted, or unreachable): its replication series go away. */
  clearReplication(namespace: string, group: string, site: string): void {
    this.index.replicationLag.forgetSite(namespace, group, site);
    this.index.replicationRunning.forgetSite(namespace, group, site);
  }

  setDivergent(namespace: string, group: string, site: string, transactions: number): void {
    this.divergent.set(this.index.divergent.track({ namespace, group, site }), transactions);
  }

  /** What a site's agent reports of its binary log archive. */
  setArchiver(namespace: string, group: string, site: string, archive: { uploadFailures: number; lastUploadSeconds: number; backlogFiles: number }): void {
    const labels = { namespace, group, site };
    this.archiverFailures.set(this.index.archiverFailures.track(labels), archive.uploadFailures);
    this.archiverLastUpload.set(this.index.archiverLastUpload.track(labels), archive.lastUploadSeconds);
    this.archiverBacklog.set(this.index.archiverBacklog.track(labels), archive.backlogFiles);
  }

  /** The site's agent archives nothing (or is gone): its archiver series go. */
  clearArchiver(namespace: string, group: string, site: string): void {
    for (const index of [this.index.archiverFailures, this.index.archiverLastUpload, this.index.archiverBacklog]) index.forgetSite(namespace, group, site);
  }

  setBackupLastSuccess(namespace: string, group: string, byProfile: ReadonlyMap<string, number>): void {
    this.setByProfile(this.backupLastSuccess, this.index.backupLastSuccess, namespace, group, byProfile);
  }

  setVerificationTimes(namespace: string, group: string, times: { verified: ReadonlyMap<string, number>; attempted: ReadonlyMap<string, number> }): void {
    this.setByProfile(this.backupVerified, this.index.backupVerified, namespace, group, times.verified);
    this.setByProfile(this.verificationLastAttempt, this.index.verificationLastAttempt, namespace, group, times.attempted);
  }

  recordVerification(namespace: string, group: string, profile: string, outcome: { passed: boolean; seconds: number; replayLagSeconds?: number }): void {
    const labels = { namespace, group, profile };
    this.verificationRuns.inc(this.index.verificationRuns.track({ ...labels, result: outcome.passed ? "success" : "failure" }));
    this.verificationDuration.observe(this.index.verificationDuration.track(labels), outcome.seconds);
    if (outcome.replayLagSeconds !== undefined) this.verificationReplayLag.set(this.index.verificationReplayLag.track(labels), outcome.replayLagSeconds);
  }

  recordRestore(namespace: string, group: string, kind: RestoreKind, targetSite: string, outcome: { seconds: number; finishedAt: number; sourceBytes?: number }): void {
    const labels = { namespace, group, restore_kind: kind, target_site: targetSite };
    this.restoreDuration.observe(this.index.restoreDuration.track(labels), outcome.seconds);
    this.restoreLastSuccess.set(this.index.restoreLastSuccess.track(labels), outcome.finishedAt);
    if (outcome.sourceBytes === undefined) this.restoreSourceSize.remove(labels);
    else this.restoreSourceSize.set(this.index.restoreSourceSize.track(labels), outcome.sourceBytes);
  }

  /** One series per profile named; the group's other profiles lose theirs. */
  private setByProfile(gauge: Gauge<ProfileLabel>, index: SeriesIndex<ProfileLabel>, namespace: string, group: string, byProfile: ReadonlyMap<string, number>): void {
    index.forgetGroup(namespace, group);
    for (const [profile, seconds] of byProfile) gauge.set(index.track({ namespace, group, profile }), seconds);
  }

  /** A site left the group's spec: every series about it goes, counters included. */
  forgetSite(namespace: string, group: string, site: string): void {
    for (const index of Object.values(this.index)) index.forgetSite(namespace, group, site);
  }

  /** The group was deleted (or is no longer managed here): every series of the group goes. */
  forgetGroup(namespace: string, group: string): void {
    for (const index of Object.values(this.index)) index.forgetGroup(namespace, group);
    this.dragonflyPanics.remove({ namespace, name: group });
  }

  setDragonflySiteUp(namespace: string, group: string, site: string, up: boolean): void {
    this.dragonflySiteUp.set(this.index.dragonflySiteUp.track({ namespace, group, site }), up ? 1 : 0);
  }

  /** The group has no cache (any more), or not at this site: its reachability series go. */
  forgetDragonflySite(namespace: string, group: string, site: string): void {
    this.index.dragonflySiteUp.forgetSite(namespace, group, site);
  }

  recordDragonflyPromotion(namespace: string, group: string, targetSite: string, result: DragonflyPromotionResult): void {
    for (const r of DRAGONFLY_PROMOTION_RESULTS) this.dragonflyPromotions.inc(this.index.dragonflyPromotions.track({ namespace, group, target_site: targetSite, result: r }), 0);
    this.dragonflyPromotions.inc({ namespace, group, target_site: targetSite, result });
  }

  recordDragonflyPanic(namespace: string, group: string): void {
    this.dragonflyPanics.inc({ namespace, name: group });
  }

  setWebsocketClients(count: number): void {
    this.websocketClients.set(count);
  }

  recordWebsocketDrop(reason: WebsocketDropReason): void {
    this.websocketDrops.inc({ reason });
  }


}

