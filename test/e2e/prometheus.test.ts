/**
 * The chart's alerts and dashboards on a real Prometheus scraping the real operator, which manages
 * a group of real MariaDB servers through a switchover, an emergency failover, an errant
 * transaction, a group without a writable site, a split brain and its own absence. Read through
 * Prometheus' HTTP API: each alert goes from inactive to pending (when it has a `for`) and firing
 * when its fault happens, with its runbook, and back to inactive when the fault is cleared; every
 * query of the five dashboards parses, and every panel not marked "No data unless ..." has data.
 * The rules are the chart's, rendered with short `for:` durations through its values.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { EnvDir } from "../../scripts/env/env-dir.js";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { PrometheusServer } from "../../scripts/env/prometheus-server.js";
import { DASHBOARD_DIR } from "../../scripts/generate-dashboards.js";
import { failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { applyAll, groupReader } from "../support/groups.js";
import { runDashboards } from "../support/dashboards.js";
import { chartDir, helm } from "../support/helm.js";
import { kubectl, run } from "../support/kubectl.js";
import { OperatorProcess } from "../support/operator.js";
import { alertRunbooks, promtoolBinary } from "../support/promtool.js";

const ns = `prom-${randomBytes(3).toString("hex")}`;
const GROUP = "orders";
const group = groupReader(ns);
/** The short durations the chart's values give the rules here (the rules themselves are the chart's). */
const CHART_VALUES = [
  "prometheusRule.enabled=true",
  "prometheusRule.for.BloodravenNoWritableSite=3s",
  "prometheusRule.for.BloodravenSiteUnreachable=3s",
  "prometheusRule.for.BloodravenOperatorDown=3s",
  "prometheusRule.eventWindow=20s",
];
const ALERT_TIMEOUT_MS = 45_000;

type AlertState = "inactive" | "pending" | "firing";

describe("the chart's alerts and dashboards on a real Prometheus scraping the real operator", () => {
  let env: EnvDir;
  let sites: MariaDbSites;
  let operator: OperatorProcess;
  let prometheus: PrometheusServer;
  let rulesPath: string;
  const started = Date.now() / 1000;
  const startOperator = (ports?: OperatorProcess["ports"]) => OperatorProcess.start({ identity: `prom-${randomBytes(2).toString("hex")}`, args: [`--namespaces=${ns}`, "--no-leader-election"], ...(ports ? { ports } : {}) });

  /** The alert's state now, over the alerts with these labels. */
  async function alertState(name: string, labels: Record<string, string> = {}): Promise<AlertState> {
    const matching = (await prometheus.alerts()).filter((a) => a.labels.alertname === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v));
    if (matching.some((a) => a.state === "firing")) return "firing";
    return matching.length > 0 ? "pending" : "inactive";
  }

  /** Waits for `state`, returning every state seen on the way (in order, without repeats). */
  async function watchAlert(name: string, labels: Record<string, string>, state: AlertState): Promise<AlertState[]> {
    const seen: AlertState[] = [];
    await waitFor(`${name} ${JSON.stringify(labels)} ${state}`, async () => {
      const now = await alertState(name, labels);
      if (seen.at(-1) !== now) seen.push(now);
      return now === state;
    }, ALERT_TIMEOUT_MS, 100).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}; seen ${seen.join(" -> ")}\noperator:\n${operator.dump(20)}`);
    });
    return seen;
  }

  async function firingAlert(name: string, labels: Record<string, string>) {
    return (await prometheus.alerts()).find((a) => a.labels.alertname === name && a.state === "firing" && Object.entries(labels).every(([k, v]) => a.labels[k] === v));
  }

  /** An alert with a `for` goes inactive -> pending -> firing; one without goes straight to firing. */
  async function expectFires(name: string, labels: Record<string, string>, opts: { pending: boolean }) {
    const seen = await watchAlert(name, labels, "firing");
    expect(seen[0], `${name} was already ${seen[0]} before its fault`).toBe("inactive");
    if (opts.pending) expect(seen, name).toContain("pending");
    const alert = await firingAlert(name, labels);
    expect(alert?.annotations.runbook, name).toBe(`kubectl bloodraven runbook ${alertRunbooks().get(name)}`);
    return alert!;
  }

  async function siteSettled(site: string, state: "writable" | "read-only") {
    await waitFor(`${site} ${state} in the status`, async () => (await group(GROUP)).status?.sites?.find((s) => s.name === site)?.state === state, 30_000, 200);
  }

  beforeAll(async () => {
    env = new EnvDir("prometheus-e2e");
    const r = await helm(["template", "alerts", chartDir, "--namespace", "monitoring", ...CHART_VALUES.flatMap((v) => ["--set", v]), "--show-only", "templates/prometheusrule.yaml"]);
    expect(r.code, r.stderr).toBe(0);
    const [rule] = parseAllDocuments(r.stdout).map((d) => d.toJS() as { spec: object });
    rulesPath = env.join("rules.yaml");
    writeFileSync(rulesPath, stringify(rule!.spec));

    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    await applyAll([
      ...namespaceWithCredentials(ns),
      failoverGroup(ns, GROUP, { pollInterval: "500ms", failureThreshold: 2, recoveryThreshold: 2, failoverCooldown: "1s", sites: sites.sites.map((s) => siteAt(s)) }),
    ]);
    operator = await startOperator();
    await waitFor("iad leads", async () => (await group(GROUP)).status?.activeSite === "iad", 30_000, 200);
    prometheus = await PrometheusServer.start({ targets: [`127.0.0.1:${operator.ports.metrics}`], ruleFiles: [rulesPath], interval: "1s" });
    await waitFor("the operator scraped", async () => (await prometheus.query(`bloodraven_site_state{namespace="${ns}"}`)).length > 0, 30_000, 200);
    // Rules evaluated before the first scrape see no operator: BloodravenOperatorDown may fire
    // for a moment at start-up, and clears at the next evaluation after the scrape.
    await watchAlert("BloodravenOperatorDown", {}, "inactive");
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await operator?.stop("SIGKILL");
    await sites?.teardown();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
    env?.remove();
  });

  it("passes promtool's checks: the rendered rules, and a real scrape of the operator", async () => {
    const rules = await run(promtoolBinary(), ["check", "rules", rulesPath], { timeoutMs: 60_000 });
    expect(rules.code, rules.stdout + rules.stderr).toBe(0);
    const scrape = await (await fetch(operator.url("metrics", "/metrics"))).text();
    const metrics = await run(promtoolBinary(), ["check", "metrics"], { input: scrape, timeoutMs: 60_000 });
    // prom-client's default process metrics name three gauges `..._total`; nothing else may
    // draw a complaint, least of all a bloodraven_ family.
    const problems = (metrics.stdout + metrics.stderr).split("\n").filter((l) => l.trim() !== "");
    expect(problems.sort()).toEqual(["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"].map((m) => `${m} non-counter metrics should not have "_total" suffix`));
    expect(scrape).toContain("bloodraven_site_state{");
  });

  it("fires nothing while the group is healthy", async () => {
    const targets = await prometheus.targets();
    expect(targets.map((t) => t.health)).toEqual(["up"]);
    // Five evaluations apart: longer than every `for` shortened here.
    for (let i = 0; i < 5; i++) {
      expect((await prometheus.alerts()).map((a) => `${a.labels.alertname} ${a.state} ${JSON.stringify(a.labels)}`)).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  });

  describe("before any failover, in maintenance mode (the operator only reports what it sees)", () => {
    beforeAll(async () => {
      const r = await kubectl(["bloodraven", "maintenance", "on", GROUP, "--for", "30m", "--reason", "prometheus e2e", "-n", ns]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      await waitFor("maintenance scraped", async () => (await prometheus.query(`bloodraven_maintenance_mode{namespace="${ns}"} == 1`)).length === 1, 15_000, 200);
    });

    afterAll(async () => {
      await kubectl(["bloodraven", "maintenance", "off", GROUP, "-n", ns]);
    });

    it("no writable site: BloodravenNoWritableSite goes pending, fires, and clears when the primary takes writes again", async () => {
      const iad = sites.site("iad");
      await iad.setReadOnly(true);
      const alert = await expectFires("BloodravenNoWritableSite", { namespace: ns, group: GROUP }, { pending: true });
      expect(alert.labels.severity).toBe("critical");
      await iad.setReadOnly(false);
      await watchAlert("BloodravenNoWritableSite", {}, "inactive");
    });

    it("two writable sites: BloodravenSplitBrain fires at once, and clears when one is fenced", async () => {
      const pdx = sites.site("pdx");
      await pdx.setReadOnly(false);
      const alert = await expectFires("BloodravenSplitBrain", { namespace: ns, group: GROUP }, { pending: false });
      expect(alert.annotations.summary).toBe(`${ns}/${GROUP}: 2 sites are writable (split brain)`);
      await pdx.setReadOnly(true);
      await watchAlert("BloodravenSplitBrain", {}, "inactive");
    });
  });

  it("a switchover counts a planned promotion and pages nobody", async () => {
    const r = await kubectl(["bloodraven", "failover", GROUP, "pdx", "--wait", "--timeout", "60s", "-n", ns], { timeoutMs: 90_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await waitFor("the planned promotion scraped", async () => (await prometheus.query(`bloodraven_failovers_total{namespace="${ns}", kind="planned", target_site="pdx"} == 1`)).length === 1, 15_000, 200);
    expect((await prometheus.alerts()).map((a) => `${a.labels.alertname} ${a.state}`)).toEqual([]);
  });

  it("an emergency failover: BloodravenSiteUnreachable and BloodravenFailoverOccurred fire, and clear once the old primary rejoins and the window passes", async () => {
    const pdx = sites.site("pdx");
    await pdx.kill9();
    const unreachable = expectFires("BloodravenSiteUnreachable", { namespace: ns, group: GROUP, site: "pdx" }, { pending: true });
    const failover = await expectFires("BloodravenFailoverOccurred", { namespace: ns, group: GROUP, target_site: "iad" }, { pending: false });
    expect(failover.annotations.summary).toBe(`${ns}/${GROUP}: failover, iad promoted as the new primary`);
    await unreachable;

    await pdx.restart({ readOnly: true });
    await siteSettled("pdx", "read-only");
    await watchAlert("BloodravenSiteUnreachable", { site: "pdx" }, "inactive");
    await watchAlert("BloodravenFailoverOccurred", {}, "inactive");
  });

  it("an errant transaction on the replica: BloodravenDivergentTransactions fires, and clears when the primary holds it too", async () => {
    const [iad, pdx] = [sites.site("iad"), sites.site("pdx")];
    await iad.injectWrite("before");
    expect(await pdx.waitForGtid(await iad.gtidBinlogPos(), 10)).toBe(true);
    // As root, which read_only does not stop: a transaction only pdx has.
    const errant = (await pdx.injectWrite("errant", "admin")).split(",").find((g) => g.startsWith(`0-${pdx.serverId}-`));
    expect(errant).toBeDefined();
    const alert = await expectFires("BloodravenDivergentTransactions", { namespace: ns, group: GROUP, site: "pdx" }, { pending: false });
    expect(alert.annotations.summary).toContain("pdx has 1 transactions the primary lacks");

    // The runbook's way out for a transaction worth keeping: replay it on the primary under its
    // own GTID; pdx skips its own server_id's event when it comes back.
    const [, serverId, seq] = errant!.split("-");
    const conn = await iad.connect("admin");
    try {
      await conn.query(`SET SESSION server_id = ${Number(serverId)}`);
      await conn.query(`SET SESSION gtid_seq_no = ${Number(seq)}`);
      await conn.query("INSERT INTO bloodraven_test.writes (site, note) VALUES ('pdx', 'errant')");
    } finally {
      conn.destroy();
    }
    await watchAlert("BloodravenDivergentTransactions", {}, "inactive");
  });

  it("the operator stopped: BloodravenOperatorDown goes pending, fires, and clears when it is back", async () => {
    const ports = operator.ports;
    await operator.stop("SIGTERM");
    await expectFires("BloodravenOperatorDown", {}, { pending: true });
    operator = await startOperator(ports);
    await watchAlert("BloodravenOperatorDown", {}, "inactive");
    expect(await alertState("BloodravenNoLeader")).toBe("inactive");
  });

  it("every dashboard query parses, and every panel not marked 'No data unless' has data from this run", async () => {
    const files = readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith(".json"));
    const run = await runDashboards(prometheus, files, { namespace: ns, group: GROUP, rateInterval: "20s" }, { start: started, end: Date.now() / 1000 });
    expect(run.queries).toBeGreaterThan(50);
    expect(run.emptyUnexpectedly).toEqual([]);
  });
});
