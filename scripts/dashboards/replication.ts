/** bloodraven-replication: how well the replicas follow, divergence, reclones, and polling. */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { METRICS } from "../../shared/names.js";
import { dashboard, groupSeries, quantiles, timeseries } from "./panels.js";

export function replicationDashboard(): Dashboard {
  return dashboard("replication", "Replication lag and threads per site, divergent transactions, reclones, and how long the operator takes to poll each site.", [
    { row: "Replication" },
    timeseries({
      title: "Replication lag",
      description: "Seconds each replica trails its source (Seconds_Behind_Source); -1 when the server reports none (not replicating). Above the group's maxLagSeconds the site cannot be promoted by a switchover: `kubectl bloodraven runbook replication-lag-high`.",
      unit: "s",
      queries: [{ expr: `max by (namespace, group, site) (${groupSeries(METRICS.replicationLagSeconds)})`, legend: "{{namespace}}/{{group}} {{site}}" }],
    }),
    timeseries({
      title: "Replication threads running",
      description: "1 while a replica's io or sql thread runs, 0 when it stopped. 0 on a failover candidate: BloodravenReplicationDown; `SHOW REPLICA STATUS` on the site names the error (`kubectl bloodraven runbook replication-lag-high`).",
      queries: [{ expr: `min by (namespace, group, site, thread) (${groupSeries(METRICS.replicationRunning)})`, legend: "{{namespace}}/{{group}} {{site}} {{thread}}" }],
    }),
    { row: "Recovery" },
    timeseries({
      title: "Divergent transactions",
      description: "Transactions a site holds that the active primary lacks (a diverged former primary, errant writes). Any value: that site holds the only copy of them; review before recloning (`kubectl bloodraven runbook divergent-old-primary`).",
      queries: [{ expr: `max by (namespace, group, site) (${groupSeries(METRICS.divergentTransactions)})`, legend: "{{namespace}}/{{group}} {{site}}" }],
    }),
    timeseries({
      title: "Reclones",
      description: "Clones of a site by result: success (it replicates on the copy), failed (Bootstrapping=False), rejected (a reclone request refused before anything ran; the RecloneRejected event says why).",
      queries: [{ expr: `sum by (namespace, group, site, result) (increase(${groupSeries(METRICS.recloneOperationsTotal)}[$__rate_interval]))`, legend: "{{namespace}}/{{group}} {{site}} {{result}}" }],
    }),
    { row: "Polling" },
    timeseries({
      title: "Poll latency",
      description: "How long the operator's poll of each site takes, failed polls included. A site whose p99 nears the poll timeout is about to turn unreachable: check the network path and the server's load (BloodravenHighPollLatency).",
      unit: "s",
      queries: quantiles(METRICS.pollLatencySeconds, "namespace, group, site", "{{namespace}}/{{group}} {{site}}"),
    }),
    timeseries({
      title: "Unreachable sites",
      description: "1 while the operator cannot poll a site. Short blips are absorbed by debouncing; a site unreachable for minutes: `kubectl bloodraven status <group>` shows the error under Site errors.",
      queries: [{ expr: `max by (namespace, group, site) (${groupSeries(METRICS.siteState, 'state="unreachable"')})`, legend: "{{namespace}}/{{group}} {{site}}" }],
    }),
  ]);
}
