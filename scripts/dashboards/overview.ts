/** bloodraven-overview: health at a glance; start here. */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { METRICS } from "../../shared/names.js";
import { dashboard, groupSeries, stat, stateTimeline, timeseries } from "./panels.js";

const writableSites = `max by (namespace, group, site) (${groupSeries(METRICS.siteState, 'state="writable"')})`;

export function overviewDashboard(): Dashboard {
  return dashboard("overview", "Health of every failover group at a glance: writable sites, site states, failovers, replication lag, backup and archive freshness, the session cache and the operator. Start here.", [
    { row: "Health at a glance" },
    stat({
      title: "Groups without a writable site",
      description: "Groups in which no site accepts writes: applications cannot write. 0 is healthy. Otherwise BloodravenNoWritableSite pages; run `kubectl bloodraven status <group>` and `kubectl bloodraven runbook manual-promotion`.",
      queries: [{ expr: `count(max by (namespace, group) (${groupSeries(METRICS.siteState, 'state="writable"')}) == 0) or vector(0)`, legend: "groups" }],
    }),
    stat({
      title: "Groups in split brain",
      description: "Groups with more than one writable site (each site counted once, however often it is scraped). 0 is healthy. Otherwise BloodravenSplitBrain pages; `kubectl bloodraven runbook split-brain-recovery`.",
      queries: [{ expr: `count(count by (namespace, group) (${writableSites} == 1) > 1) or vector(0)`, legend: "groups" }],
    }),
    stat({
      title: "Unreachable sites",
      description: "Sites the operator cannot poll. A replica unreachable for minutes loses its failover eligibility; the primary unreachable starts an emergency failover once a witness confirms it. `kubectl bloodraven status <group>` shows the error under Site errors.",
      queries: [{ expr: `count(max by (namespace, group, site) (${groupSeries(METRICS.siteState, 'state="unreachable"')}) == 1) or vector(0)`, legend: "sites" }],
    }),
    stat({
      title: "Failovers in range",
      description: "Promotions in the selected time range, emergency and planned. An unexpected emergency one: check that the old primary came back clean (`kubectl bloodraven runbook divergent-old-primary`).",
      queries: [{ expr: `sum(increase(${groupSeries(METRICS.failoversTotal)}[$__range])) or vector(0)`, legend: "failovers" }],
    }),
    stat({
      title: "Groups in maintenance",
      description: "Groups whose automatic failover is paused by maintenance mode. Expected only during announced work; otherwise `kubectl bloodraven runbook maintenance-mode` says how to end it.",
      redFrom: 1,
      queries: [{ expr: `count(max by (namespace, group) (${groupSeries(METRICS.maintenanceMode)}) == 1) or vector(0)`, legend: "groups" }],
    }),
    stat({
      title: "Leading operator replicas",
      description: "Operator replicas that hold the leader lease (each counted once, however often it is scraped). Exactly 1 is healthy; 0 means no group is managed (BloodravenNoLeader, `kubectl bloodraven runbook operator-unavailable`).",
      greenFrom: 1,
      queries: [{ expr: `count(max by (instance) (${METRICS.leader}) == 1) or vector(0)`, legend: "leaders" }],
    }),
    { row: "Sites" },
    stateTimeline({
      title: "Site state",
      description: "Each site's state as the operator last polled it. One writable site per group is healthy; two writable bands at once are a split brain; a red band is a site the operator cannot reach.",
      states: {
        3: { text: "writable", color: "green" },
        2: { text: "read-only", color: "blue" },
        1: { text: "unreachable", color: "red" },
        0: { text: "unknown", color: "gray" },
      },
      queries: [
        {
          expr: `3 * ${writableSites} + 2 * max by (namespace, group, site) (${groupSeries(METRICS.siteState, 'state="read-only"')}) + max by (namespace, group, site) (${groupSeries(METRICS.siteState, 'state="unreachable"')})`,
          legend: "{{namespace}}/{{group}} {{site}}",
        },
      ],
    }),
    timeseries({
      title: "Replication lag",
      description: "Seconds each replica trails its source; -1 when the server reports no lag (not replicating). A rising line is a growing recovery point: `kubectl bloodraven runbook replication-lag-high`.",
      unit: "s",
      queries: [{ expr: `max by (namespace, group, site) (${groupSeries(METRICS.replicationLagSeconds)})`, legend: "{{namespace}}/{{group}} {{site}}" }],
    }),
    timeseries({
      title: "Failovers",
      description: "Promotions per interval by target site and kind (emergency, planned). Emergency ones without a known cause: read the group's events (`kubectl get events --field-selector involvedObject.name=<group>`).",
      queries: [{ expr: `sum by (namespace, group, target_site, kind) (increase(${groupSeries(METRICS.failoversTotal)}[$__rate_interval]))`, legend: "{{namespace}}/{{group}} {{target_site}} {{kind}}" }],
    }),
    { row: "Freshness" },
    timeseries({
      title: "Age of the newest successful backup",
      onlyWhen: "the group has spec.backup",
      description: "Per backup profile, the time since its newest Succeeded MysqlBackup completed (the whole range since 1970 when none did). Above the schedule's period: BloodravenBackupStale, `kubectl bloodraven runbook failed-backup`.",
      unit: "s",
      width: 8,
      queries: [{ expr: `time() - max by (namespace, group, profile) (${groupSeries(METRICS.backupLastSuccessTimestampSeconds)})`, legend: "{{namespace}}/{{group}} {{profile}}" }],
    }),
    timeseries({
      title: "Age of the newest verified backup",
      onlyWhen: "the group has spec.backup",
      description: "Per backup profile, the time since a verification last proved one of its backups restorable. Above the verification schedule's period: BloodravenBackupVerificationStale; see the Backups & Verification dashboard.",
      unit: "s",
      width: 8,
      queries: [{ expr: `time() - max by (namespace, group, profile) (${groupSeries(METRICS.backupVerifiedTimestampSeconds)})`, legend: "{{namespace}}/{{group}} {{profile}}" }],
    }),
    timeseries({
      title: "Unarchived binary logs",
      onlyWhen: "the group archives binary logs (spec.backup.pitr)",
      description: "Sealed binary logs of the primary not yet in the point-in-time archive. Above 0 for long: BloodravenPITRArchiveLagging, `kubectl bloodraven runbook pitr-archive-lagging`; see the PITR Archiver dashboard.",
      width: 8,
      queries: [{ expr: `max by (namespace, group, site) (${groupSeries(METRICS.archiverBacklogFiles)})`, legend: "{{namespace}}/{{group}} {{site}}" }],
    }),
    { row: "Operator" },
    timeseries({
      title: "Session cache servers up",
      onlyWhen: "the group has spec.dragonfly",
      description: "1 while a site's cache server (spec.dragonfly) answers the operator, 0 when it does not: sessions may not survive a failover to that site. `kubectl bloodraven runbook dragonfly-degraded`.",
      width: 8,
      queries: [{ expr: `min by (namespace, group, site) (${groupSeries(METRICS.dragonflySiteUp)})`, legend: "{{namespace}}/{{group}} {{site}}" }],
    }),
    timeseries({
      title: "Reconciler errors",
      onlyWhen: "a reconciler failed in the range",
      description: "Cycles in which one of a group's reconcilers failed, by reconciler; the others still ran and the next cycle retries. A steady rate is a bug or a broken dependency: read the operator's `reconcile failed` log lines (`kubectl bloodraven logs <group>`).",
      width: 8,
      queries: [{ expr: `sum by (namespace, group, reconciler) (increase(${groupSeries(METRICS.reconcileErrorsTotal)}[$__rate_interval]))`, legend: "{{namespace}}/{{group}} {{reconciler}}" }],
    }),
    timeseries({
      title: "Poll cycle p99",
      description: "How long one poll cycle of one group takes (all its sites in parallel, then status and events). Approaching the poll interval means the operator falls behind: check the network to the sites and the operator's CPU.",
      unit: "s",
      width: 8,
      queries: [{ expr: `histogram_quantile(0.99, sum by (le) (rate(${METRICS.pollCycleSeconds}_bucket[$__rate_interval])))`, legend: "p99" }],
    }),
    timeseries({
      title: "Status stream clients",
      description: "Clients on the status WebSocket, and clients cut off by reason. `slow_consumer` or `heartbeat_timeout` cut-offs mean a client cannot keep up or its network drops frames.",
      width: 12,
      queries: [
        { expr: `sum(max by (instance) (${METRICS.websocketConnectedClients}))`, legend: "connected" },
        { expr: `sum by (reason) (increase(${METRICS.websocketDroppedClientsTotal}[$__rate_interval]))`, legend: "dropped {{reason}}" },
      ],
    }),
    timeseries({
      title: "Operator versions",
      description: "The version, commit and Node.js of every scraped operator replica (always 1). Two versions at once outside a rollout: an upgrade stopped half way (`kubectl rollout status deployment/bloodraven -n bloodraven`).",
      width: 12,
      queries: [{ expr: `max by (version, revision, node) (${METRICS.buildInfo})`, legend: "{{version}} {{revision}} node {{node}}" }],
    }),
  ]);
}
