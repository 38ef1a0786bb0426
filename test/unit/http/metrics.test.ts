import { afterEach, describe, expect, it } from "vitest";
import { OperatorMetrics, POLL_LATENCY_BUCKETS } from "../../../operator/http/metrics.js";
import { createMetricsServer } from "../../../operator/http/metrics-server.js";
import type { HttpListener } from "../../../operator/http/listener.js";
import { METRICS } from "../../../shared/names.js";
import { capturedLogger, parseExposition, type Family, type Sample } from "./support.js";

async function families(metrics: OperatorMetrics): Promise<Map<string, Family>> {
  return parseExposition(await metrics.metricsText());
}

async function family(metrics: OperatorMetrics, name: string): Promise<Family> {
  const found = (await families(metrics)).get(name);
  if (!found) throw new Error(`${name} not exposed`);
  return found;
}

function matching(samples: Sample[], labels: Record<string, string>): Sample[] {
  return samples.filter((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
}

function labelNames(sample: Sample): string[] {
  return Object.keys(sample.labels).sort();
}

/** Touches every topology metric once for the given group. */
function populate(metrics: OperatorMetrics, namespace: string, group: string): void {
  metrics.observePoll(namespace, group, "iad", 0.004);
  metrics.recordTransition(namespace, group, "iad", "unknown", "writable");
  metrics.recordTaint(namespace, group, "pdx", "apply");
  metrics.recordDnsFlip(namespace, group, "iad");
  metrics.recordFailover(namespace, group, "iad", "emergency");
  metrics.recordPlannedFailover(namespace, group, "iad", "success");
  metrics.observePlannedFailover(namespace, group, 1.4);
  metrics.observePlannedLagWait(namespace, group, 0.03);
  metrics.setReplication(namespace, group, "pdx", 3, true, true);
  metrics.setSiteState(namespace, group, "iad", "writable");
  metrics.setSiteRole(namespace, group, "iad", "primary-candidate");
  metrics.setDivergent(namespace, group, "pdx", 0);
  metrics.observeFailover(namespace, group, "writable", 0.12);
  metrics.recordFailoverFailure(namespace, group, "dns_failed");
  metrics.recordFailoverBlocked(namespace, group, "PrimaryReachableByReplicas");
  metrics.recordLostTransactions(namespace, group, "pdx", 3);
  metrics.recordReconcileError(namespace, group, "followers");
  metrics.setMaintenance(namespace, group, true);
  metrics.recordReclone(namespace, group, "pdx", "success");
  metrics.setArchiver(namespace, group, "iad", { uploadFailures: 0, lastUploadSeconds: 1_796_400_000, backlogFiles: 0 });
  metrics.setBackupLastSuccess(namespace, group, new Map([["nightly", 1_796_400_000]]));
  metrics.setVerificationTimes(namespace, group, { verified: new Map([["nightly", 1_796_400_000]]), attempted: new Map([["nightly", 1_796_403_600]]) });
  metrics.recordVerification(namespace, group, "nightly", { passed: true, seconds: 42, replayLagSeconds: 7 });
  metrics.recordRestore(namespace, group, "init_from_backup", "iad", { seconds: 95, finishedAt: 1_796_403_600, sourceBytes: 1_000_000 });
  metrics.setDragonflySiteUp(namespace, group, "iad", true);
  metrics.recordDragonflyPromotion(namespace, group, "pdx", "success");
  metrics.recordDragonflyPanic(namespace, group);
}

describe("OperatorMetrics exposition", () => {
  const expected: [name: string, type: string, labels: string[]][] = [
    [METRICS.pollLatencySeconds, "histogram", ["group", "namespace", "site"]],
    [METRICS.pollCycleSeconds, "histogram", []],
    [METRICS.failoverDurationSeconds, "histogram", ["group", "namespace", "stage"]],
    [METRICS.failoverFailuresTotal, "counter", ["group", "namespace", "reason"]],
    [METRICS.failoverBlockedTotal, "counter", ["group", "namespace", "reason"]],
    [METRICS.failoverLostTransactionsTotal, "counter", ["group", "namespace", "site"]],
    [METRICS.maintenanceMode, "gauge", ["group", "namespace"]],
    [METRICS.archiverUploadFailures, "gauge", ["group", "namespace", "site"]],
    [METRICS.archiverLastUploadTimestampSeconds, "gauge", ["group", "namespace", "site"]],
    [METRICS.archiverBacklogFiles, "gauge", ["group", "namespace", "site"]],
    [METRICS.backupLastSuccessTimestampSeconds, "gauge", ["group", "namespace", "profile"]],
    [METRICS.backupVerifiedTimestampSeconds, "gauge", ["group", "namespace", "profile"]],
    [METRICS.backupVerificationLastAttemptTimestampSeconds, "gauge", ["group", "namespace", "profile"]],
    [METRICS.backupVerificationRunsTotal, "counter", ["group", "namespace", "profile", "result"]],
    [METRICS.backupVerificationDurationSeconds, "histogram", ["group", "namespace", "profile"]],
    [METRICS.backupVerificationReplayLagSeconds, "gauge", ["group", "namespace", "profile"]],
    [METRICS.restoreDurationSeconds, "histogram", ["group", "namespace", "restore_kind", "target_site"]],
    [METRICS.restoreLastSuccessTimestampSeconds, "gauge", ["group", "namespace", "restore_kind", "target_site"]],
    [METRICS.restoreLastSourceSizeBytes, "gauge", ["group", "namespace", "restore_kind", "target_site"]],
    [METRICS.stateTransitionsTotal, "counter", ["from", "group", "namespace", "site", "to"]],
    [METRICS.taintOperationsTotal, "counter", ["action", "group", "namespace", "site"]],
    [METRICS.dnsFlipsTotal, "counter", ["group", "namespace", "site"]],
    [METRICS.failoversTotal, "counter", ["group", "kind", "namespace", "target_site"]],
    [METRICS.plannedFailoversTotal, "counter", ["group", "namespace", "result", "target_site"]],
    [METRICS.plannedFailoverDurationSeconds, "histogram", ["group", "namespace"]],
    [METRICS.plannedFailoverLagWaitSeconds, "histogram", ["group", "namespace"]],
    [METRICS.websocketConnectedClients, "gauge", []],
    [METRICS.replicationLagSeconds, "gauge", ["group", "namespace", "site"]],
    [METRICS.replicationRunning, "gauge", ["group", "namespace", "site", "thread"]],
    [METRICS.siteState, "gauge", ["group", "namespace", "site", "state"]],
    [METRICS.siteRole, "gauge", ["group", "namespace", "role", "site"]],
    [METRICS.divergentTransactions, "gauge", ["group", "namespace", "site"]],
    [METRICS.recloneOperationsTotal, "counter", ["group", "namespace", "result", "site"]],
    [METRICS.websocketDroppedClientsTotal, "counter", ["reason"]],
    [METRICS.reconcileErrorsTotal, "counter", ["group", "namespace", "reconciler"]],
    [METRICS.buildInfo, "gauge", ["node", "revision", "version"]],
    [METRICS.leader, "gauge", []],
    [METRICS.dragonflySiteUp, "gauge", ["group", "namespace", "site"]],
    [METRICS.dragonflyPromotionsTotal, "counter", ["group", "namespace", "result", "target_site"]],
    [METRICS.dragonflyManagerPanicsTotal, "counter", ["name", "namespace"]],
  ];

  it.each(expected)("%s is a %s labelled %j", async (name, type, labels) => {
    const metrics = new OperatorMetrics();
    populate(metrics, "default", "orders");
    const found = await family(metrics, name);
    expect(found.type).toBe(type);
    expect(found.samples.length).toBeGreaterThan(0);
    for (const sample of found.samples) {
      expect(labelNames(sample)).toEqual(type === "histogram" && sample.name.endsWith("_bucket") ? [...labels, "le"].sort() : labels);
    }
  });

  it("exposes exactly the documented bloodraven_ families", async () => {
    const metrics = new OperatorMetrics();
    populate(metrics, "default", "orders");
    const names = [...(await families(metrics)).keys()].filter((name) => name.startsWith("bloodraven_"));
    expect(names.sort()).toEqual(expected.map(([name]) => name).sort());
  });

  it("says which build runs, and whether this replica leads (0 until it does)", async () => {
    const metrics = new OperatorMetrics();
    expect((await family(metrics, METRICS.buildInfo)).samples).toEqual([expect.objectContaining({ value: 1, labels: { version: "dev", revision: "unknown", node: process.version } })]);
    expect((await family(metrics, METRICS.leader)).samples[0]?.value).toBe(0);
    metrics.setLeader(true);
    expect((await family(metrics, METRICS.leader)).samples[0]?.value).toBe(1);
    metrics.setLeader(false);
    expect((await family(metrics, METRICS.leader)).samples[0]?.value).toBe(0);
  });

  it("reports a restore's source size only when it is known: an unknown one removes the older", async () => {
    const metrics = new OperatorMetrics();
    metrics.recordRestore("default", "orders", "init_from_backup", "iad", { seconds: 60, finishedAt: 1_796_400_000, sourceBytes: 1_000 });
    expect((await family(metrics, METRICS.restoreLastSourceSizeBytes)).samples.map((s) => s.value)).toEqual([1_000]);
    metrics.recordRestore("default", "orders", "init_from_backup", "iad", { seconds: 90, finishedAt: 1_796_403_600 });
    expect((await families(metrics)).get(METRICS.restoreLastSourceSizeBytes)?.samples ?? []).toEqual([]);
    expect((await family(metrics, METRICS.restoreLastSuccessTimestampSeconds)).samples.map((s) => s.value)).toEqual([1_796_403_600]);
  });

  it("counts poll latency from 1 ms to 10 s", async () => {
    const metrics = new OperatorMetrics();
    metrics.observePoll("default", "orders", "iad", 0.0042);
    metrics.observePoll("default", "orders", "iad", 7);
    const { samples } = await family(metrics, METRICS.pollLatencySeconds);
    const buckets = samples.filter((sample) => sample.name.endsWith("_bucket")).map((sample) => sample.labels.le);
    expect(buckets).toEqual([...POLL_LATENCY_BUCKETS.map(String), "+Inf"]);
    expect(matching(samples, { le: "0.005" })[0]?.value).toBe(1);
    expect(matching(samples, { le: "10" })[0]?.value).toBe(2);
    expect(samples.find((sample) => sample.name.endsWith("_count"))?.value).toBe(2);
  });

  it("keeps two groups that share a site name apart", async () => {
    const metrics = new OperatorMetrics();
    metrics.setSiteState("default", "orders", "iad", "writable");
    metrics.setSiteState("billing", "orders", "iad", "read-only");
    metrics.setReplication("default", "orders", "iad", 5, true, true);
    metrics.setReplication("default", "payments", "iad", 9, true, false);
    metrics.recordFailover("default", "orders", "iad", "emergency");
    metrics.recordFailover("default", "payments", "iad", "planned");
    metrics.recordFailover("default", "payments", "iad", "planned");

    const state = (await family(metrics, METRICS.siteState)).samples;
    expect(matching(state, { namespace: "default", group: "orders", site: "iad", state: "writable" })[0]?.value).toBe(1);
    expect(matching(state, { namespace: "billing", group: "orders", site: "iad", state: "writable" })[0]?.value).toBe(0);
    expect(matching(state, { namespace: "billing", group: "orders", site: "iad", state: "read-only" })[0]?.value).toBe(1);

    const lag = (await family(metrics, METRICS.replicationLagSeconds)).samples;
    expect(lag.map((sample) => [sample.labels.group, sample.value]).sort()).toEqual([
      ["orders", 5],
      ["payments", 9],
    ]);
    const failovers = (await family(metrics, METRICS.failoversTotal)).samples;
    expect(matching(failovers, { group: "orders" })[0]?.value).toBe(1);
    expect(matching(failovers, { group: "payments" })[0]?.value).toBe(2);
  });

  it("forgetGroup removes every series of that group and only of that group", async () => {
    const metrics = new OperatorMetrics();
    populate(metrics, "default", "orders");
    populate(metrics, "default", "payments");
    populate(metrics, "staging", "orders");
    metrics.registerSite("default", "orders", "sea");

    metrics.forgetGroup("default", "orders");

    // The series of the process as a whole, not of any group.
    const processWide = new Set<string>([METRICS.websocketConnectedClients, METRICS.websocketDroppedClientsTotal, METRICS.pollCycleSeconds, METRICS.buildInfo, METRICS.leader]);
    for (const [name, found] of await families(metrics)) {
      if (!name.startsWith("bloodraven_") || processWide.has(name)) continue;
      // The manager-panics counter names its group `name`, as the monitoring guide has it.
      const groups = new Set(found.samples.map((sample) => `${sample.labels.namespace}/${sample.labels.group ?? sample.labels.name}`));
      expect([...groups].sort(), name).toEqual(["default/payments", "staging/orders"]);
    }
  });

  it("reports each named profile's recovery point, and drops a profile no longer named", async () => {
    const metrics = new OperatorMetrics();
    metrics.setBackupLastSuccess("default", "orders", new Map([["nightly", 1_796_400_000], ["hourly", 0]]));
    metrics.setBackupLastSuccess("default", "payments", new Map([["nightly", 5]]));
    metrics.setBackupLastSuccess("default", "orders", new Map([["nightly", 1_796_403_600]]));
    const samples = (await family(metrics, METRICS.backupLastSuccessTimestampSeconds)).samples.map((x) => [x.labels.group, x.labels.profile, x.value]);
    expect(samples.sort()).toEqual([
      ["orders", "nightly", 1_796_403_600],
      ["payments", "nightly", 5],
    ]);
  });

  it("forgetSite removes one site's series, counters included, and leaves its neighbours", async () => {
    const metrics = new OperatorMetrics();
    populate(metrics, "default", "orders");
    metrics.setSiteState("default", "orders", "pdx", "read-only");
    metrics.recordFailover("default", "orders", "pdx", "emergency");

    metrics.forgetSite("default", "orders", "iad");

    const all = await families(metrics);
    const sitesOf = (name: string) =>
      new Set(all.get(name)?.samples.map((sample) => sample.labels.site ?? sample.labels.target_site));
    expect(sitesOf(METRICS.siteState)).toEqual(new Set(["pdx"]));
    expect(sitesOf(METRICS.failoversTotal)).toEqual(new Set(["pdx"]));
    expect(sitesOf(METRICS.pollLatencySeconds)).toEqual(new Set());
    expect(sitesOf(METRICS.dnsFlipsTotal)).toEqual(new Set());
    expect(sitesOf(METRICS.replicationLagSeconds)).toEqual(new Set(["pdx"]));
  });

  it("exposes the site state as a state-set with exactly one 1", async () => {
    const metrics = new OperatorMetrics();
    metrics.setSiteState("default", "orders", "iad", "writable");
    metrics.setSiteState("default", "orders", "iad", "unreachable");
    const samples = (await family(metrics, METRICS.siteState)).samples;
    expect(Object.fromEntries(samples.map((sample) => [sample.labels.state, sample.value]))).toEqual({
      writable: 0,
      "read-only": 0,
      unreachable: 1,
      unknown: 0,
    });
  });

  it("reports NULL lag as -1 and drops replication series when a site stops being a replica", async () => {
    const metrics = new OperatorMetrics();
    metrics.setReplication("default", "orders", "pdx", null, true, false);
    expect((await family(metrics, METRICS.replicationLagSeconds)).samples[0]?.value).toBe(-1);
    const running = (await family(metrics, METRICS.replicationRunning)).samples;
    expect(Object.fromEntries(running.map((sample) => [sample.labels.thread, sample.value]))).toEqual({ io: 1, sql: 0 });

    metrics.clearReplication("default", "orders", "pdx");
    expect((await family(metrics, METRICS.replicationLagSeconds)).samples).toEqual([]);
    expect((await family(metrics, METRICS.replicationRunning)).samples).toEqual([]);
  });

  it("registerSite creates the site's counters and the group's failover histograms at 0 so the first increment is visible to increase()", async () => {
    const metrics = new OperatorMetrics();
    metrics.registerSite("default", "orders", "iad");
    const all = await families(metrics);
    expect(all.get(METRICS.failoversTotal)?.samples).toEqual([
      { name: METRICS.failoversTotal, labels: { namespace: "default", group: "orders", target_site: "iad", kind: "emergency" }, value: 0 },
      { name: METRICS.failoversTotal, labels: { namespace: "default", group: "orders", target_site: "iad", kind: "planned" }, value: 0 },
    ]);
    expect(all.get(METRICS.stateTransitionsTotal)?.samples).toHaveLength(12);
    expect(all.get(METRICS.taintOperationsTotal)?.samples.map((sample) => sample.labels.action).sort()).toEqual([
      "apply",
      "remove",
    ]);
    expect(all.get(METRICS.plannedFailoversTotal)?.samples).toHaveLength(4);
    expect(all.get(METRICS.dnsFlipsTotal)?.samples.map((sample) => sample.value)).toEqual([0]);
    expect(all.get(METRICS.failoverLostTransactionsTotal)?.samples.map((sample) => sample.value)).toEqual([0]);
    expect(all.get(METRICS.failoverFailuresTotal)?.samples.map((sample) => `${sample.labels.reason} ${sample.value}`).sort()).toEqual(
      ["dns_failed", "fence_failed", "promote_failed", "relay_log_not_applied", "repoint_failed"].map((r) => `${r} 0`),
    );
    // The histograms of the group's failovers exist, empty, before the first one.
    const counts = (name: string) => all.get(name)?.samples.filter((sample) => sample.name === `${name}_count`).map((sample) => `${sample.labels.stage ?? "-"} ${sample.value}`);
    expect(counts(METRICS.failoverDurationSeconds)?.sort()).toEqual(["dns 0", "writable 0"]);
    expect(counts(METRICS.plannedFailoverDurationSeconds)).toEqual(["- 0"]);
    expect(counts(METRICS.plannedFailoverLagWaitSeconds)).toEqual(["- 0"]);
  });

  it("gives every instance its own registry", async () => {
    const first = new OperatorMetrics();
    const second = new OperatorMetrics();
    first.recordDnsFlip("default", "orders", "iad");
    expect((await family(first, METRICS.dnsFlipsTotal)).samples).toHaveLength(1);
    expect((await family(second, METRICS.dnsFlipsTotal)).samples).toHaveLength(0);
  });
});

describe("metrics server", () => {
  let server: HttpListener | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(): Promise<{ base: string; metrics: OperatorMetrics }> {
    const metrics = new OperatorMetrics();
    server = createMetricsServer(metrics, capturedLogger().log);
    const port = await server.listen(0, "127.0.0.1");
    return { base: `http://127.0.0.1:${port}`, metrics };
  }

  it("serves the Prometheus text format on /metrics", async () => {
    const { base, metrics } = await start();
    metrics.setSiteState("default", "orders", "iad", "writable");
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const exposed = parseExposition(await res.text());
    expect(exposed.get(METRICS.siteState)?.samples).toHaveLength(4);
    expect(exposed.has("process_cpu_user_seconds_total")).toBe(true);
  });

  it("answers 404 for other paths and 405 for other methods", async () => {
    const { base } = await start();
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });
});
