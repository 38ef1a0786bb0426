/**
 * Every alert of the chart's PrometheusRule, evaluated by Prometheus' own rule engine (promtool)
 * over series given minute by minute: silent while the group is fine, firing with the labels and
 * summary the runbooks expect once it is not. Every series is fed twice, as the chart's
 * ServiceMonitor and PodMonitor would both scrape it, so no alert counts a series twice.
 * BloodravenOperatorDown, BloodravenNoLeader and BloodravenSplitBrain are evaluated in
 * chart.test.ts against a real operator's scrape.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { EnvDir } from "../../scripts/env/env-dir.js";
import { chartDir, helm } from "../support/helm.js";
import { alertRunbooks, expectAlerts, seriesOf, type ExpectedAlert, type InputSeries } from "../support/promtool.js";

const TESTED_IN_CHART_TEST = ["BloodravenOperatorDown", "BloodravenNoLeader", "BloodravenSplitBrain"];
const GROUP = { namespace: "shop", group: "orders" };

let env: EnvDir;
let rulesPath: string;
let alertNames: string[];
let runbookAnnotations: Map<string, string | undefined>;
const tested = new Set<string>(TESTED_IN_CHART_TEST);

/** The series as both of the chart's monitors scrape it. */
function scraped(name: string, labels: Record<string, string>, values: string): InputSeries[] {
  return ["service", "pod"].map((job) => ({ series: seriesOf(name, { ...GROUP, ...labels, job }), values }));
}

function alert(severity: "critical" | "warning", labels: Record<string, string>, summary: string): ExpectedAlert {
  return { exp_labels: { severity, ...GROUP, ...labels }, exp_annotations: { summary } };
}

async function check(alertname: string, series: InputSeries[], expected: Record<number, ExpectedAlert[]>): Promise<void> {
  tested.add(alertname);
  await expectAlerts(rulesPath, env.path, series, alertname, expected);
}

beforeAll(async () => {
  env = new EnvDir("alerts");
  const r = await helm(["template", "alerts", chartDir, "--namespace", "monitoring", "--set", "prometheusRule.enabled=true", "--show-only", "templates/prometheusrule.yaml"]);
  expect(r.code, r.stderr).toBe(0);
  const [rule] = parseAllDocuments(r.stdout).map((d) => d.toJS() as { spec: { groups: { rules: { alert: string; annotations: Record<string, string> }[] }[] } });
  const spec = rule!.spec;
  alertNames = spec.groups.flatMap((g) => g.rules.map((x) => x.alert));
  runbookAnnotations = new Map(spec.groups.flatMap((g) => g.rules.map((x) => [x.alert, x.annotations.runbook] as const)));
  rulesPath = env.join("rules.yaml");
  writeFileSync(rulesPath, stringify(spec));
});

afterAll(() => env?.remove());

describe("the chart's alerts (promtool)", () => {
  it("BloodravenNoWritableSite: silent while one site is writable, firing 30 s after none is", async () => {
    const series = [...scraped("bloodraven_site_state", { site: "iad", state: "writable" }, "1x4 0x6"), ...scraped("bloodraven_site_state", { site: "pdx", state: "writable" }, "0x10")];
    await check("BloodravenNoWritableSite", series, { 4: [], 5: [], 7: [alert("critical", {}, "shop/orders: no site is writable")] });
  });

  it("BloodravenSiteUnreachable: names the site, after 2 minutes", async () => {
    const series = [...scraped("bloodraven_site_state", { site: "pdx", state: "unreachable" }, "0x4 1x10"), ...scraped("bloodraven_site_state", { site: "iad", state: "unreachable" }, "0x14")];
    await check("BloodravenSiteUnreachable", series, { 4: [], 6: [], 8: [alert("warning", { site: "pdx" }, "shop/orders: site pdx is unreachable")] });
  });

  it("BloodravenHighPollLatency: p99 above prometheusRule.pollLatencySeconds (1 s) for 5 minutes; fast polls stay silent", async () => {
    const buckets = (site: string, perBucket: Record<string, number>) =>
      Object.entries(perBucket).flatMap(([le, perMinute]) => scraped("bloodraven_poll_latency_seconds_bucket", { site, le }, `0+${perMinute}x20`));
    const series = [...buckets("iad", { "0.1": 0, "1": 0, "5": 30, "+Inf": 30 }), ...buckets("pdx", { "0.1": 30, "1": 30, "5": 30, "+Inf": 30 })];
    await check("BloodravenHighPollLatency", series, { 3: [], 12: [alert("warning", { site: "iad" }, "shop/orders: p99 poll latency to iad exceeds 1 s")] });
  });

  it("BloodravenFailoverOccurred: an emergency promotion, for 5 minutes; planned ones never", async () => {
    const series = [
      ...scraped("bloodraven_failovers_total", { target_site: "pdx", kind: "emergency" }, "0x5 1x15"),
      ...scraped("bloodraven_failovers_total", { target_site: "iad", kind: "planned" }, "0x2 1x3 2x15"),
    ];
    await check("BloodravenFailoverOccurred", series, { 4: [], 7: [alert("warning", { target_site: "pdx" }, "shop/orders: failover, pdx promoted as the new primary")], 15: [] });
  });

  it("BloodravenPlannedFailoverFailed: a failed result, for 15 minutes; a success never", async () => {
    const series = [
      ...scraped("bloodraven_planned_failovers_total", { target_site: "iad", result: "success" }, "0x2 1x28"),
      ...scraped("bloodraven_planned_failovers_total", { target_site: "pdx", result: "failed_timeout" }, "0x5 1x25"),
    ];
    const failed = alert("warning", { target_site: "pdx", result: "failed_timeout" }, "shop/orders: planned failover to pdx failed (failed_timeout)");
    await check("BloodravenPlannedFailoverFailed", series, { 4: [], 7: [failed], 19: [failed], 25: [] });
  });

  it("BloodravenReplicationLagging: above prometheusRule.replicationLagSeconds (300 s) for 2 minutes", async () => {
    const series = [...scraped("bloodraven_replication_lag_seconds", { site: "pdx" }, "10x4 600x10"), ...scraped("bloodraven_replication_lag_seconds", { site: "sfo" }, "200x14")];
    await check("BloodravenReplicationLagging", series, { 4: [], 6: [], 8: [alert("warning", { site: "pdx" }, "shop/orders: replication lag on pdx is 600s")] });
  });

  describe("a stopped replication thread: critical on a candidate, a warning of its own on a reader", () => {
    const series = [
      ...scraped("bloodraven_replication_running", { site: "pdx", thread: "io" }, "1x4 0x10"),
      ...scraped("bloodraven_replication_running", { site: "pdx", thread: "sql" }, "1x14"),
      ...scraped("bloodraven_site_role", { site: "pdx", role: "primary-candidate" }, "1x14"),
      ...scraped("bloodraven_replication_running", { site: "sfo", thread: "sql" }, "1x4 0x10"),
      ...scraped("bloodraven_replication_running", { site: "sfo", thread: "io" }, "1x14"),
      ...scraped("bloodraven_site_role", { site: "sfo", role: "read-only" }, "1x14"),
    ];

    it("BloodravenReplicationDown: the candidate's thread, after 1 minute; never the reader's", async () => {
      await check("BloodravenReplicationDown", series, { 4: [], 7: [alert("critical", { site: "pdx", thread: "io" }, "shop/orders: replication io thread stopped on pdx")], 12: [alert("critical", { site: "pdx", thread: "io" }, "shop/orders: replication io thread stopped on pdx")] });
    });

    it("BloodravenReaderReplicationDown: the reader's thread, after 5 minutes; never the candidate's", async () => {
      await check("BloodravenReaderReplicationDown", series, { 7: [], 12: [alert("warning", { site: "sfo", thread: "sql" }, "shop/orders: replication sql thread stopped on the reader sfo")] });
    });
  });

  it("BloodravenDivergentTransactions: at once, with the count; 0 on healthy sites is silent", async () => {
    const series = [...scraped("bloodraven_divergent_transactions", { site: "iad" }, "0x3 3x5"), ...scraped("bloodraven_divergent_transactions", { site: "pdx" }, "0x8")];
    await check("BloodravenDivergentTransactions", series, {
      2: [],
      5: [alert("critical", { site: "iad" }, "shop/orders: iad has 3 transactions the primary lacks, and holds the only copy: review them before recloning it")],
    });
  });

  it("BloodravenBackupStale: a profile without a success for more than prometheusRule.backupStaleSeconds (26 h), for 10 minutes; a fresh one never", async () => {
    // nightly succeeded at the start and never since (its metric stays at that time, 0 s here);
    // hourly's newest success is always the current minute.
    const series = [...scraped("bloodraven_backup_last_success_timestamp_seconds", { profile: "nightly" }, "0x1600"), ...scraped("bloodraven_backup_last_success_timestamp_seconds", { profile: "hourly" }, "0+60x1600")];
    await check("BloodravenBackupStale", series, {
      1500: [],
      1565: [],
      1575: [alert("warning", { profile: "nightly" }, "shop/orders: no backup of profile nightly succeeded recently (the newest is 1d 2h 15m 0s old)")],
    });
  });

  it("BloodravenBackupVerificationStale: a profile without a verified backup for more than prometheusRule.verificationStaleSeconds (8 days), for 10 minutes; a fresh one never", async () => {
    // The series start 8 days less 10 minutes after nightly's last verification (a negative
    // timestamp: promtool's clock starts at 0), so 8 days pass at minute 10 without evaluating
    // 8 days of minutes; weekly's newest verification is always the current minute.
    const series = [...scraped("bloodraven_backup_verified_timestamp_seconds", { profile: "nightly" }, "-690600x30"), ...scraped("bloodraven_backup_verified_timestamp_seconds", { profile: "weekly" }, "0+60x30")];
    await check("BloodravenBackupVerificationStale", series, {
      9: [],
      19: [],
      22: [alert("warning", { profile: "nightly" }, "shop/orders: no verification of a profile nightly backup succeeded recently (the newest is 8d 0h 12m 0s old): its backups are not proven restorable")],
    });
  });

  it("BloodravenPITRArchiveLagging: a sealed binary log left unarchived for 15 minutes, by site; a backlog that clears never", async () => {
    // iad's agent cannot upload from minute 2 on; pdx had one file waiting for 10 minutes, then archived it.
    const series = [...scraped("bloodraven_archiver_backlog_files", { site: "iad" }, "0x2 2x30"), ...scraped("bloodraven_archiver_backlog_files", { site: "pdx" }, "1x10 0x22")];
    await check("BloodravenPITRArchiveLagging", series, {
      10: [],
      16: [],
      18: [alert("warning", { site: "iad" }, "shop/orders: 2 sealed binary log(s) of iad not archived for 15 minutes; point-in-time recovery cannot reach past them")],
    });
  });

  it("BloodravenDragonflySiteDown: a cache server not answering for 2 minutes, by site; one that answers never", async () => {
    const series = [...scraped("bloodraven_dragonfly_site_up", { site: "pdx" }, "1x3 0x10"), ...scraped("bloodraven_dragonfly_site_up", { site: "iad" }, "1x13")];
    await check("BloodravenDragonflySiteDown", series, { 4: [], 5: [], 7: [alert("warning", { site: "pdx" }, "shop/orders: the cache server of pdx does not answer; sessions may not survive a failover to it")] });
  });

  it("BloodravenDragonflyPromotionFailed: a failed promotion, for 5 minutes; successes never", async () => {
    const series = [
      ...scraped("bloodraven_dragonfly_promotions_total", { target_site: "pdx", result: "failed" }, "0x3 1x12"),
      ...scraped("bloodraven_dragonfly_promotions_total", { target_site: "pdx", result: "success" }, "0x3 1 2 3x10"),
    ];
    await check("BloodravenDragonflyPromotionFailed", series, {
      2: [],
      5: [alert("warning", { target_site: "pdx" }, "shop/orders: promoting the cache server of pdx failed; sessions may be lost although the database moved")],
      12: [],
    });
  });

  it("BloodravenDragonflyManagerPanic: a recovered fault, for 5 minutes, naming the group as `name`", async () => {
    const series = ["service", "pod"].map((job) => ({ series: seriesOf("bloodraven_dragonfly_manager_panics_total", { namespace: "shop", name: "orders", job }), values: "0x3 2x12" }));
    await check("BloodravenDragonflyManagerPanic", series, {
      2: [],
      5: [{ exp_labels: { severity: "critical", namespace: "shop", name: "orders" }, exp_annotations: { summary: "shop/orders: the cache reconciler failed and recovered; read its cache reconciler fault log lines" } }],
      12: [],
    });
  });

  it("names on every alert the runbook the plugin's alert map names (`kubectl bloodraven runbook alerts`)", () => {
    const map = alertRunbooks();
    for (const [alert, annotation] of runbookAnnotations) expect(annotation, alert).toBe(`kubectl bloodraven runbook ${map.get(alert)}`);
    // The map's only extra row is the monitoring guide's name for BloodravenNoWritableSite.
    expect([...map.keys()].filter((a) => !runbookAnnotations.has(a))).toEqual(["BloodravenNoPrimary"]);
  });

  it("docs/metrics.md's alert table lists every alert of the chart, with the runbook the plugin names", () => {
    const doc = readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8");
    const rows = new Map([...doc.matchAll(/^\| `(Bloodraven\w+)` \|.*\| `([a-z-]+)` \|$/gm)].map((m) => [m[1]!, m[2]!]));
    const map = alertRunbooks();
    expect([...rows.keys()].sort()).toEqual([...alertNames].sort());
    for (const [alert, runbook] of rows) expect(runbook, alert).toBe(map.get(alert));
  });

  it("leaves no alert of the chart without a test", () => {
    expect(alertNames.length).toBeGreaterThan(10);
    expect(alertNames.filter((a) => !tested.has(a))).toEqual([]);
  });
});
