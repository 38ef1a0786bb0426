import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { asList, failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { kubectl } from "../support/kubectl.js";
import { writeLoad } from "../support/write-load.js";
import { OperatorProcess } from "../support/operator.js";

/**
 * Emergency failover end to end: kill -9 the primary under writes, watch the operator promote,
 * move DNS and taints, fence the returning old primary and rejoin it, honour the cooldown across
 * an operator restart, and report (never rejoin) an old primary with divergent transactions.
 */
const ns = `failover-${randomBytes(3).toString("hex")}`;
const POLL_MS = 500;
const FAILURE_THRESHOLD = 2;

async function group(name: string): Promise<MysqlFailoverGroup> {
  const r = await kubectl(["get", "mfg", name, "-n", ns, "-o", "json"]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as MysqlFailoverGroup;
}

async function events(name: string): Promise<{ reason: string; message: string }[]> {
  const r = await kubectl(["get", "events", "-n", ns, "-o", "json"]);
  const list = JSON.parse(r.stdout) as { items: { reason: string; message: string; involvedObject: { name: string } }[] };
  return list.items.filter((e) => e.involvedObject.name === name);
}

const siteStatus = (g: MysqlFailoverGroup, site: string) => g.status?.sites?.find((s) => s.name === site);

function groupManifest(name: string, sites: MariaDbSites, extra: Record<string, unknown>): object {
  const lbIP: Record<string, string> = { iad: "10.1.0.1", pdx: "10.2.0.1", sfo: "10.3.0.1" };
  return failoverGroup(ns, name, {
    pollInterval: `${POLL_MS}ms`,
    failureThreshold: FAILURE_THRESHOLD,
    recoveryThreshold: 2,
    dns: { hostname: `${name}.db.example.com`, ttl: 30 },
    sites: sites.sites.map((s) =>
      siteAt(s, { role: s.name === "sfo" ? "read-only" : "primary-candidate", ...(s.name === "sfo" ? {} : { lbIP: lbIP[s.name], taintNodeSelector: { [`test.bloodraven/${name}-site`]: s.name } }) }),
    ),
    ...extra,
  });
}

async function apply(items: object[]): Promise<void> {
  const r = await kubectl(["apply", "-f", "-"], { input: asList(items) });
  if (r.code !== 0) throw new Error(r.stderr);
}

async function taintedNodes(groupName: string): Promise<string[]> {
  const r = await kubectl(["get", "nodes", "-o", "json"]);
  const nodes = JSON.parse(r.stdout) as { items: { metadata: { name: string }; spec: { taints?: { key: string }[] } }[] };
  return nodes.items
    .filter((n) => n.spec.taints?.some((t) => t.key === `shipstream.io/db-readonly-${groupName}`))
    .map((n) => n.metadata.name)
    .sort();
}

describe("emergency failover (real operator, API server and MariaDB)", () => {
  let orders: MariaDbSites;
  let ledger: MariaDbSites;
  let operator: OperatorProcess;

  beforeAll(async () => {
    [orders, ledger] = await Promise.all([
      MariaDbSites.start({ names: ["iad", "pdx", "sfo"], primary: "iad" }),
      MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" }),
    ]);
    const node = (name: string, labels: Record<string, string>) => ({ apiVersion: "v1", kind: "Node", metadata: { name: `${ns}-${name}`, labels } });
    await apply([
      ...namespaceWithCredentials(ns),
      node("iad-1", { "test.bloodraven/orders-site": "iad" }),
      node("iad-2", { "test.bloodraven/orders-site": "iad" }),
      node("pdx-1", { "test.bloodraven/orders-site": "pdx" }),
      groupManifest("orders", orders, { failoverCooldown: "10m" }),
      groupManifest("ledger", ledger, { failoverCooldown: "1s" }),
    ]);
    operator = await OperatorProcess.start({ identity: "failover-op", args: [`--namespaces=${ns}`, "--no-leader-election"] });
    await waitFor("orders healthy", async () => (await group("orders")).status?.activeSite === "iad", 20_000, 200);
    await waitFor("pdx nodes tainted", async () => (await taintedNodes("orders")).length === 1, 10_000, 200);
  });

  afterAll(async () => {
    await operator?.stop("SIGKILL");
    await Promise.all([orders?.teardown(), ledger?.teardown()]);
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
    await kubectl(["delete", "nodes", `${ns}-iad-1`, `${ns}-iad-2`, `${ns}-pdx-1`, "--wait=false"]);
  });

  it("starts with DNS on the primary and the other sites' nodes tainted", async () => {
    const dns = JSON.parse((await kubectl(["get", "dnsendpoints", "bloodraven-orders", "-n", ns, "-o", "json"])).stdout) as { spec: { endpoints: { targets: string[] }[] } };
    expect(dns.spec.endpoints[0]?.targets).toEqual(["10.1.0.1"]);
    expect(await taintedNodes("orders")).toEqual([`${ns}-pdx-1`]);
  });

  it("kill -9 of the primary under writes: one new primary, DNS, taints, event, metric, followers repointed", async () => {
    const iad = orders.site("iad");
    const pdx = orders.site("pdx");
    const sfo = orders.site("sfo");
    const load = writeLoad(orders.sites, 20);
    // Writes flowing before the kill, however busy the machine is.
    await waitFor("writes acknowledged before the kill", async () => load.acknowledged() > 5, 10_000, 50);
    const killed = Date.now();
    await iad.kill9();
    await waitFor("pdx writable", async () => !(await pdx.isReadOnly()), 15_000, 25);
    const toWritable = Date.now() - killed;
    await load.stop();
    // Detection takes pollInterval x failureThreshold; the rest is the promotion.
    expect(toWritable).toBeLessThan(POLL_MS * FAILURE_THRESHOLD + 2_000);

    const g = await waitFor("status shows pdx", async () => {
      const g = await group("orders");
      return g.status?.activeSite === "pdx" ? g : undefined;
    }, 10_000, 200);
    expect(g.status?.lastFailoverTarget).toBe("pdx");
    expect(g.status?.promotionGtidExecuted).toMatch(/^0-1-\d+/);
    expect(g.metadata.annotations?.["bloodraven.shipstream.io/last-failover-target"]).toBe("pdx");
    expect(await sfo.isReadOnly()).toBe(true);

    await waitFor("DNS flipped", async () => {
      const dns = JSON.parse((await kubectl(["get", "dnsendpoints", "bloodraven-orders", "-n", ns, "-o", "json"])).stdout) as { spec: { endpoints: { targets: string[] }[] } };
      return dns.spec.endpoints[0]?.targets[0] === "10.2.0.1";
    }, 10_000, 200);
    await waitFor("taints moved", async () => (await taintedNodes("orders")).join() === [`${ns}-iad-1`, `${ns}-iad-2`].join(), 10_000, 200);
    await waitFor("FailoverExecuted event", async () => (await events("orders")).some((e) => e.reason === "FailoverExecuted"), 10_000, 200);
    const metrics = await (await fetch(operator.url("metrics", "/metrics"))).text();
    expect(metrics).toContain(`bloodraven_failovers_total{namespace="${ns}",group="orders",target_site="pdx",kind="emergency"} 1`);
    expect(metrics).toMatch(new RegExp(`bloodraven_dns_flips_total\\{namespace="${ns}",group="orders",site="pdx"\\} 1`));

    await waitFor("sfo follows pdx", async () => (await sfo.replicaStatus())?.masterPort === pdx.port, 15_000, 200);
    const marker = await pdx.injectWrite("after failover", "app");
    expect(await sfo.waitForGtid(marker, 10)).toBe(true);
  });

  it("fences the old primary when it comes back writable, then rejoins it as a replica", async () => {
    const iad = orders.site("iad");
    const pdx = orders.site("pdx");
    // As a crashed MariaDB primary comes back without read_only in its config: writable.
    await iad.restart({ readOnly: false });
    await waitFor("iad fenced", async () => iad.isReadOnly(), 10_000, 50);
    await waitFor("iad replicates from pdx", async () => {
      const r = await iad.replicaStatus();
      return r?.masterPort === pdx.port && r.ioRunning === "Yes" && r.sqlRunning === "Yes";
    }, 20_000, 200);
    const marker = await pdx.injectWrite("rejoined", "app");
    expect(await iad.waitForGtid(marker, 10)).toBe(true);
    await waitFor("RecoveryComplete, no recovery state left", async () => {
      const g = await group("orders");
      return (await events("orders")).some((e) => e.reason === "RecoveryComplete") && !siteStatus(g, "iad")?.recoveryState && g.status?.activeSite === "pdx";
    }, 15_000, 200);
    expect(await pdx.isReadOnly()).toBe(false);
  });

  it("honours the cooldown: a second failure inside it promotes nothing, also after an operator restart", async () => {
    const pdx = orders.site("pdx");
    await pdx.kill9();
    await waitFor("NoPrimary", async () => {
      const g = await group("orders");
      return g.status?.conditions?.find((c) => c.type === "Degraded")?.reason === "NoPrimary";
    }, 10_000, 200);
    await waitFor("FailoverBlocked event", async () => (await events("orders")).some((e) => e.reason === "FailoverBlocked" && /cooldown/i.test(e.message)), 10_000, 200);

    await operator.stop("SIGKILL");
    operator = await OperatorProcess.start({ identity: "failover-op-2", args: [`--namespaces=${ns}`, "--no-leader-election"] });
    await new Promise((r) => setTimeout(r, 4 * POLL_MS * FAILURE_THRESHOLD));
    expect(await orders.site("iad").isReadOnly()).toBe(true);
    expect((await group("orders")).status?.activeSite).toBe("");
    expect(operator.logged("failover")).toHaveLength(0);

    await pdx.restart({ readOnly: false });
    await waitFor("pdx primary again", async () => (await group("orders")).status?.activeSite === "pdx", 15_000, 200);
  });

  it("a hung primary (SIGSTOP) is replaced the same way; after SIGCONT it is fenced and rejoins", async () => {
    const hung = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    try {
      await apply([groupManifest("hung", hung, { failoverCooldown: "1s" })]);
      await waitFor("hung healthy", async () => (await group("hung")).status?.activeSite === "iad", 15_000, 200);
      const [iad, pdx] = [hung.site("iad"), hung.site("pdx")];
      const paused = Date.now();
      await iad.pause();
      await waitFor("pdx writable", async () => !(await pdx.isReadOnly()), 15_000, 25);
      // Detection, plus at most the 1 s attempt to fence the hung primary.
      expect(Date.now() - paused).toBeLessThan(POLL_MS * FAILURE_THRESHOLD + 3_000);
      await waitFor("status shows pdx", async () => (await group("hung")).status?.activeSite === "pdx", 10_000, 200);

      iad.resume();
      await waitFor("iad fenced after SIGCONT", async () => iad.isReadOnly(), 5_000, 50);
      await waitFor("iad replicates from pdx", async () => (await iad.replicaStatus())?.masterPort === pdx.port, 15_000, 200);
      const g = await group("hung");
      expect(g.status?.activeSite).toBe("pdx");
      expect(await pdx.isReadOnly()).toBe(false);
    } finally {
      await hung.teardown();
    }
  });

  it("split brain: without sitePriorities only alerts; with them the lower-priority site is fenced", async () => {
    const brain = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    try {
      await apply([groupManifest("brain", brain, {})]);
      await waitFor("brain healthy", async () => (await group("brain")).status?.activeSite === "iad", 15_000, 200);
      const pdx = brain.site("pdx");
      await pdx.setReadOnly(false);
      await waitFor("SplitBrain", async () => (await group("brain")).status?.conditions?.find((c) => c.type === "Degraded")?.reason === "SplitBrain", 10_000, 200);
      await new Promise((r) => setTimeout(r, 4 * POLL_MS));
      expect(await pdx.isReadOnly()).toBe(false);

      await kubectl(["patch", "mfg", "brain", "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { splitBrainPolicy: { sitePriorities: ["iad", "pdx"] } } })]);
      await waitFor("pdx fenced", async () => pdx.isReadOnly(), 10_000, 100);
      await waitFor("SiteFenced event", async () => (await events("brain")).some((e) => e.reason === "SiteFenced" && e.message.includes("pdx")), 10_000, 200);
      await waitFor("healthy", async () => (await group("brain")).status?.activeSite === "iad", 10_000, 200);
      expect(await brain.site("iad").isReadOnly()).toBe(false);
    } finally {
      await brain.teardown();
    }
  });

  it("reports an old primary with divergent transactions and never rejoins it", async () => {
    const iad = ledger.site("iad");
    const pdx = ledger.site("pdx");
    await waitFor("ledger healthy", async () => (await group("ledger")).status?.activeSite === "iad", 15_000, 200);
    await iad.injectWrite("replicated", "app");
    const replicated = await iad.gtidBinlogPos();
    expect(await pdx.waitForGtid(replicated, 10)).toBe(true);
    // The replica stops receiving; the primary accepts two more writes nobody else has.
    await pdx.query("STOP SLAVE");
    await iad.injectWrite("lost 1", "app");
    const lost = await iad.injectWrite("lost 2", "app");
    await iad.kill9();
    await pdx.query("START SLAVE");

    await waitFor("pdx promoted", async () => (await group("ledger")).status?.activeSite === "pdx", 15_000, 200);
    // The new primary takes writes before the old one returns (its position then says nothing
    // about iad's history: the count comes from the promotion position).
    for (let i = 0; i < 3; i++) await pdx.injectWrite(`on pdx ${i}`, "app");
    await iad.restart({ readOnly: true });
    // The recovery record is written first; the condition follows with the next status write.
    const g = await waitFor("divergence reported", async () => {
      const g = await group("ledger");
      const pending = g.status?.conditions?.find((c) => c.type === "RecoveryPending");
      return siteStatus(g, "iad")?.recoveryState === "RecoveryBlocked" && pending?.status === "True" ? g : undefined;
    }, 15_000, 200);
    const seq = Number(lost.split("-")[2]);
    expect(siteStatus(g, "iad")?.divergentGtid).toContain(`0-1-${seq}`);
    expect(siteStatus(g, "iad")?.divergentTransactionCount).toBe(2);
    expect(g.status?.conditions?.find((c) => c.type === "RecoveryPending")).toMatchObject({ status: "True", reason: "DivergentTransactions" });
    await waitFor("DataLossDetected", async () => (await events("ledger")).some((e) => e.reason === "DataLossDetected" && e.message.startsWith("iad has 2 transaction(s)")), 10_000, 200);
    const metrics = await (await fetch(operator.url("metrics", "/metrics"))).text();
    expect(metrics).toContain(`bloodraven_divergent_transactions{namespace="${ns}",group="ledger",site="iad"} 2`);

    await new Promise((r) => setTimeout(r, 3 * POLL_MS));
    expect(await iad.isReadOnly()).toBe(true);
    expect(await iad.replicaStatus()).toBeUndefined();

    // A restarted operator exports the unresolved divergence from the status at its first cycles
    // (the alert on it must not clear while nothing was fixed), and 0 for the healthy site.
    await operator.stop();
    operator = await OperatorProcess.start({ identity: "failover-op-3", args: [`--namespaces=${ns}`, "--no-leader-election"] });
    await waitFor(
      "the divergence exported again after the restart",
      async () => {
        const text = await (await fetch(operator.url("metrics", "/metrics"))).text();
        return text.includes(`bloodraven_divergent_transactions{namespace="${ns}",group="ledger",site="iad"} 2`) && text.includes(`bloodraven_divergent_transactions{namespace="${ns}",group="ledger",site="pdx"} 0`);
      },
      10_000,
      200,
    );
  });
});

