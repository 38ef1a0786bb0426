/** bloodraven-failover: emergency and planned failovers, what followed them, and what blocked them. */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { METRICS } from "../../shared/names.js";
import { dashboard, groupSeries, quantiles, timeseries } from "./panels.js";

/** Increases per interval of a group counter, summed by `by`. */
function perInterval(metric: string, by: string, extra?: string): string {
  return `sum by (namespace, group, ${by}) (increase(${groupSeries(metric, extra)}[$__rate_interval]))`;
}

export function failoverDashboard(): Dashboard {
  return dashboard("failover", "Emergency and planned failovers: how many, how long, what failed or was blocked, and what followed them (state transitions, DNS flips, node taints, the session cache).", [
    { row: "Emergency failover" },
    timeseries({
      title: "Promotions",
      description: "Promotions per interval by target site and kind. Emergency promotions you did not expect: read the FailoverExecuted event and check the old primary when it returns (`kubectl bloodraven runbook divergent-old-primary`).",
      width: 8,
      queries: [{ expr: perInterval(METRICS.failoversTotal, "target_site, kind"), legend: "{{namespace}}/{{group}} {{target_site}} {{kind}}" }],
    }),
    timeseries({
      title: "Emergency failover duration",
      description: "From the decision to promote until the site is writable (`writable`) and until DNS and taints moved (`dns`). A slow `dns` stage: check external-dns and the API server.",
      unit: "s",
      width: 8,
      queries: quantiles(METRICS.failoverDurationSeconds, "namespace, group, stage", "{{namespace}}/{{group}} {{stage}}"),
    }),
    timeseries({
      title: "Failed failover steps",
      description: "Failover steps that failed, by reason (fence_failed, promote_failed, relay_log_not_applied, repoint_failed, dns_failed). The operator retries; a repeating reason names the broken part: read the operator's log lines for the group (`kubectl bloodraven logs <group>`).",
      width: 8,
      queries: [{ expr: perInterval(METRICS.failoverFailuresTotal, "reason"), legend: "{{namespace}}/{{group}} {{reason}}" }],
    }),
    timeseries({
      title: "Blocked failovers",
      onlyWhen: "a wanted failover was not done in the range",
      description: "Promotions the decision core wanted but did not do, once per episode, by reason (NoWitness, Cooldown, NoCandidate, AwaitingSelfFence, ...). A primary is down and this rises: the reason says what proof is missing; `kubectl bloodraven runbook manual-promotion` if it stays.",
      width: 12,
      queries: [{ expr: perInterval(METRICS.failoverBlockedTotal, "reason"), legend: "{{namespace}}/{{group}} {{reason}}" }],
    }),
    timeseries({
      title: "Received transactions discarded by a promotion",
      description: "Transactions a promoted site had received but not applied and that the promotion discarded; only with spec.emergencyFailover.allowReceivedTransactionLoss. Any value is data loss to reconcile with the application owners.",
      width: 12,
      queries: [{ expr: perInterval(METRICS.failoverLostTransactionsTotal, "site"), legend: "{{namespace}}/{{group}} {{site}}" }],
    }),
    { row: "Planned failover" },
    timeseries({
      title: "Planned failovers by result",
      description: "Switchovers per interval by result (success, rejected, failed_timeout, failed_other). A failure: the PlannedFailoverFailed event and `kubectl bloodraven runbook planned-failover`.",
      width: 8,
      queries: [{ expr: perInterval(METRICS.plannedFailoversTotal, "target_site, result"), legend: "{{namespace}}/{{group}} {{target_site}} {{result}}" }],
    }),
    timeseries({
      title: "Planned failover duration",
      description: "Successful switchovers from the request being picked up to Succeeded. Writes are refused for part of it; a growing p99 usually comes from the lag wait beside it.",
      unit: "s",
      width: 8,
      queries: quantiles(METRICS.plannedFailoverDurationSeconds, "namespace, group", "{{namespace}}/{{group}}"),
    }),
    timeseries({
      title: "Lag wait",
      description: "Time switchovers spent in WaitingForLag, the target catching up with the fenced source. Long waits: the target lags before you start; check Replication lag on the Replication & Recovery dashboard first.",
      unit: "s",
      width: 8,
      queries: quantiles(METRICS.plannedFailoverLagWaitSeconds, "namespace, group", "{{namespace}}/{{group}}"),
    }),
    { row: "What follows a promotion" },
    timeseries({
      title: "Site state transitions",
      description: "Debounced site state changes by site and new state. A site flapping between states: its network or server is unstable (`kubectl bloodraven status <group>`, Site errors).",
      width: 8,
      queries: [{ expr: perInterval(METRICS.stateTransitionsTotal, "site, to"), legend: "{{namespace}}/{{group}} {{site}} to {{to}}" }],
    }),
    timeseries({
      title: "DNS flips",
      description: "Changes of the group's DNSEndpoint by site. One per failover is expected; a flip without a failover, or none after one, means external-dns or the DNSEndpoint needs a look.",
      width: 8,
      queries: [{ expr: perInterval(METRICS.dnsFlipsTotal, "site"), legend: "{{namespace}}/{{group}} {{site}}" }],
    }),
    timeseries({
      title: "Node taint operations",
      description: "Read-only taints applied to and removed from the nodes of each site. They follow the primary; repeated operations without a failover point at a label selector that matches the wrong nodes.",
      width: 8,
      queries: [{ expr: perInterval(METRICS.taintOperationsTotal, "site, action"), legend: "{{namespace}}/{{group}} {{site}} {{action}}" }],
    }),
    timeseries({
      title: "Maintenance mode",
      description: "1 while maintenance mode pauses automatic failover for a group. Left on by mistake, a dead primary is not replaced: `kubectl bloodraven runbook maintenance-mode`.",
      width: 12,
      queries: [{ expr: `max by (namespace, group) (${groupSeries(METRICS.maintenanceMode)})`, legend: "{{namespace}}/{{group}}" }],
    }),
    timeseries({
      title: "Site roles",
      description: "Each site's role from the spec (primary-candidate, dr-only, read-only), one line per role held. Readers never become primary; a site with an unexpected role: check spec.sites.",
      width: 12,
      queries: [{ expr: `max by (namespace, group, site, role) (${groupSeries(METRICS.siteRole)}) == 1`, legend: "{{namespace}}/{{group}} {{site}} {{role}}" }],
    }),
    { row: "Session cache (Dragonfly)" },
    timeseries({
      title: "Cache promotions",
      onlyWhen: "the group has spec.dragonfly",
      description: "Promotions of a cache server to master by target and result. `failed`: the database moved but sessions may be lost (DragonflyPromotionFailed event); `skipped`: the target's cache server did not answer. `kubectl bloodraven runbook dragonfly-degraded`.",
      width: 8,
      queries: [{ expr: perInterval(METRICS.dragonflyPromotionsTotal, "target_site, result"), legend: "{{namespace}}/{{group}} {{target_site}} {{result}}" }],
    }),
    timeseries({
      title: "Cache servers up",
      onlyWhen: "the group has spec.dragonfly",
      description: "1 while a site's cache server answers the operator's poll. 0: the cache will not follow a failover to that site.",
      width: 8,
      queries: [{ expr: `min by (namespace, group, site) (${groupSeries(METRICS.dragonflySiteUp)})`, legend: "{{namespace}}/{{group}} {{site}}" }],
    }),
    timeseries({
      title: "Cache reconciler faults",
      onlyWhen: "the group has spec.dragonfly",
      description: "Faults of the cache reconciler that were caught (the database's reconcilers go on). Any increase is a bug signal: read the operator's `cache reconciler fault` log lines.",
      width: 8,
      queries: [{ expr: `sum by (namespace, name) (increase(${METRICS.dragonflyManagerPanicsTotal}{namespace=~"$namespace", name=~"$group"}[$__rate_interval]))`, legend: "{{namespace}}/{{name}}" }],
    }),
  ]);
}
