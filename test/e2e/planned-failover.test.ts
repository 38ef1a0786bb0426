import { randomBytes } from "node:crypto";
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbSites, type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { kubectl } from "../support/kubectl.js";
import { OperatorProcess } from "../support/operator.js";
import { plannedGroup } from "../support/planned.js";
import { asList, failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";

/**
 * Planned failover (switchover) end to end with real servers: iad→pdx under a write load with no
 * acknowledged write lost, back again, a lag timeout that rolls back, a cancellation, a cooldown
 * rejection, a request for the active site, and an operator killed mid-wait.
 */
const ns = `planned-${randomBytes(3).toString("hex")}`;
const GROUP = "orders";
const { group, request, finished, settled, patchSpec } = plannedGroup(ns, GROUP, 2_000);
const REQUEST = "bloodraven.shipstream.io/planned-failover";
const REQUEST_ID = "bloodraven.shipstream.io/planned-failover-request-id";

async function eventReasons(): Promise<string[]> {
  const r = await kubectl(["get", "events", "-n", ns, "-o", "json"]);
  return (JSON.parse(r.stdout) as { items: { reason: string }[] }).items.map((e) => e.reason);
}

const LB_IP: Record<string, string> = { iad: "10.1.0.1", pdx: "10.2.0.1" };

async function dnsTargets(): Promise<string[] | undefined> {
  const r = await kubectl(["get", "dnsendpoints", `bloodraven-${GROUP}`, "-n", ns, "-o", "json"]);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { spec: { endpoints: { targets: string[] }[] } }).spec.endpoints[0]?.targets;
}

async function metrics(operator: OperatorProcess): Promise<string> {
  return (await fetch(operator.url("metrics", "/metrics"))).text();
}

const metric = (target: string, result: string) => `bloodraven_planned_failovers_total{namespace="${ns}",group="${GROUP}",target_site="${target}",result="${result}"}`;

/** Application sessions that connect again as soon as they are killed, each sitting in a long query. */
function reconnectingSessions(site: MariaDbSite): { connections: () => number; stop: () => Promise<void> } {
  let running = true;
  let connections = 0;
  let current: mysql.Connection | undefined;
  const loop = (async () => {
    while (running) {
      current = await site.connect("app", 1_000).catch(() => undefined);
      if (current) {
        connections++;
        await current.query({ sql: "SELECT SLEEP(30)", timeout: 31_000 }).catch(() => undefined);
      }
      current?.destroy();
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    connections: () => connections,
    stop: async () => {
      running = false;
      current?.destroy();
      await loop;
    },
  };
}

/** Writes unique notes as the application account to whichever site accepts them; remembers every acknowledged one. */
function trackedLoad(sites: readonly MariaDbSite[], prefix: string): { stop: () => Promise<string[]> } {
  let running = true;
  const acked: string[] = [];
  let n = 0;
  const loop = (async () => {
    while (running) {
      for (const s of sites) {
        const note = `${prefix}-${n++}`;
        await s.injectWrite(note, "app").then(
          () => acked.push(note),
          () => undefined,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return acked;
    },
  };
}

async function notesOn(site: MariaDbSite, prefix: string): Promise<Set<string>> {
  const rows = await site.query<{ note: string }[]>("SELECT note FROM bloodraven_test.writes WHERE note LIKE ?", [`${prefix}-%`]);
  return new Set(rows.map((r) => r.note));
}

describe("planned failover (real operator, API server and MariaDB)", () => {
  let sites: MariaDbSites;
  let operator: OperatorProcess;
  const start = () => OperatorProcess.start({ identity: `planned-${randomBytes(2).toString("hex")}`, args: [`--namespaces=${ns}`, "--no-leader-election"] });

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    const items = [
      ...namespaceWithCredentials(ns),
      failoverGroup(ns, GROUP, {
        pollInterval: "500ms",
        failureThreshold: 2,
        recoveryThreshold: 2,
        failoverCooldown: "2s",
        plannedFailover: { maxLagWait: "20s", drainTimeout: "2s" },
        dns: { hostname: `${GROUP}.db.example.com`, ttl: 30 },
        sites: sites.sites.map((s) => siteAt(s, { lbIP: LB_IP[s.name] })),
      }),
    ];
    const r = await kubectl(["apply", "-f", "-"], { input: asList(items) });
    expect(r.code, r.stderr).toBe(0);
    operator = await start();
    await settled("iad");
  });

  afterAll(async () => {
    await operator?.stop("SIGKILL");
    await sites?.teardown();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("switches iad→pdx under writes: no acknowledged write lost, a transaction open at the fence committed nowhere, annotation cleared, old primary replicates from the new one", async () => {
    const iad = sites.site("iad");
    const pdx = sites.site("pdx");
    const load = trackedLoad(sites.sites, "sw1");
    // A transaction with 20,000 uncommitted rows, open when the source is fenced: killed and rolled back.
    await iad.injectWrite("before-open-tx", "app"); // creates the table on a fresh server
    const open = await iad.connect("app");
    open.on("error", () => undefined);
    await open.query("BEGIN");
    await open.query("INSERT INTO bloodraven_test.writes (site, note) SELECT 'iad', CONCAT('open-at-fence-', seq) FROM bloodraven_test.seq_1_to_20000");
    await new Promise((r) => setTimeout(r, 500));
    await request("pdx", "e2e-1");
    const g = await finished("e2e-1");
    const acked = await load.stop();
    await expect(open.query("COMMIT")).rejects.toThrow();
    open.destroy();
    for (const site of [iad, pdx]) {
      const [row] = await site.query<{ n: number }[]>("SELECT COUNT(*) AS n FROM bloodraven_test.writes WHERE note LIKE 'open-at-fence-%'");
      expect(Number(row?.n), `${site.name}: rows of the transaction open at the fence`).toBe(0);
    }
    const b = g.status?.plannedFailover;
    expect(b, JSON.stringify(b)).toMatchObject({ phase: "Succeeded", target: "pdx", source: "iad", transactionsLost: 0 });
    expect(b?.sourceGtidAtFence).toBeTruthy();
    expect(g.metadata.annotations?.[REQUEST]).toBeUndefined();
    expect(g.metadata.annotations?.[REQUEST_ID]).toBeUndefined();
    expect(await pdx.isReadOnly()).toBe(false);
    expect(await iad.isReadOnly()).toBe(true);
    expect(acked.length).toBeGreaterThan(5);
    const present = await notesOn(pdx, "sw1");
    expect(acked.filter((n) => !present.has(n))).toEqual([]);
    await waitFor("iad replicates from pdx", async () => {
      const r = await iad.replicaStatus();
      return r?.masterPort === pdx.port && r.ioRunning === "Yes" && r.sqlRunning === "Yes";
    }, 15_000, 200);
    expect((await eventReasons())).toEqual(expect.arrayContaining(["PlannedFailoverStarted", "PlannedFailoverDraining", "PlannedFailoverLagOK", "PlannedFailoverCompleted"]));
    expect(await metrics(operator)).toContain(`${metric("pdx", "success")} 1`);
    expect((await group()).status?.lastFailoverTarget).toBe("pdx");
    await waitFor("DNS on pdx", async () => (await dnsTargets())?.[0] === LB_IP.pdx, 10_000, 200);
  });

  it("switches back pdx→iad; sessions that reconnect to the fenced source do not hold the drain", async () => {
    await patchSpec({ plannedFailover: { maxLagWait: "20s", drainTimeout: "30s" } });
    await settled("pdx");
    const returning = reconnectingSessions(sites.site("pdx"));
    try {
      await request("iad", "e2e-2");
      const g = await finished("e2e-2");
      const b = g.status?.plannedFailover;
      expect(b).toMatchObject({ phase: "Succeeded", target: "iad", source: "pdx", transactionsLost: 0 });
      expect(returning.connections()).toBeGreaterThan(1);
      // Waiting for these sessions would take the whole drainTimeout (30 s).
      expect(Date.parse(b?.completionTime ?? "") - Date.parse(b?.startTime ?? "")).toBeLessThan(15_000);
    } finally {
      await returning.stop();
      await patchSpec({ plannedFailover: { maxLagWait: "20s", drainTimeout: "2s" } });
    }
    expect(await sites.site("iad").isReadOnly()).toBe(false);
    expect(await sites.site("pdx").isReadOnly()).toBe(true);
    await settled("iad");
  });

  it("rolls back when the target (MASTER_DELAY 60 s) does not catch up within maxLagWait=5s", async () => {
    const iad = sites.site("iad");
    const pdx = sites.site("pdx");
    await pdx.setReplicationDelay(60);
    await iad.injectWrite("lagging", "app");
    await request("pdx:maxLagWait=5s", "e2e-3");
    const g = await finished("e2e-3");
    expect(g.status?.plannedFailover).toMatchObject({ phase: "Failed", reason: "LagTimeout", target: "pdx" });
    expect(g.metadata.annotations?.[REQUEST]).toBeUndefined();
    expect(await iad.isReadOnly()).toBe(false);
    expect(await pdx.isReadOnly()).toBe(true);
    await iad.injectWrite("after rollback", "app");
    expect(await metrics(operator)).toContain(`${metric("pdx", "failed_timeout")} 1`);
    await pdx.setReplicationDelay(0);
  });

  it("rolls back when the annotation is removed mid-wait", async () => {
    const iad = sites.site("iad");
    const pdx = sites.site("pdx");
    await settled("iad");
    expect(await dnsTargets()).toEqual([LB_IP.iad]);
    await pdx.setReplicationDelay(60);
    await iad.injectWrite("lagging", "app");
    await request("pdx", "e2e-4");
    await waitFor("WaitingForLag", async () => (await group()).status?.plannedFailover?.phase === "WaitingForLag", 15_000, 100);
    const r = await kubectl(["annotate", "mfg", GROUP, "-n", ns, `${REQUEST}-`]);
    expect(r.code, r.stderr).toBe(0);
    const g = await finished("e2e-4");
    expect(g.status?.plannedFailover).toMatchObject({ phase: "Failed", reason: "Cancelled" });
    expect(await iad.isReadOnly()).toBe(false);
    await iad.injectWrite("after cancel", "app");
    expect(await metrics(operator)).toContain(`${metric("pdx", "failed_other")} 1`);
    expect(await dnsTargets()).toEqual([LB_IP.iad]);
    await pdx.setReplicationDelay(0);
  });

  it("rejects a request inside the cooldown", async () => {
    await settled("iad");
    await patchSpec({ failoverCooldown: "1h" });
    await request("pdx", "e2e-5");
    const g = await finished("e2e-5");
    expect(g.status?.plannedFailover).toMatchObject({ phase: "Failed", reason: "CooldownActive" });
    expect(g.status?.plannedFailover?.message).toMatch(/until \d{4}-/);
    expect(g.metadata.annotations?.[REQUEST]).toBeUndefined();
    expect(await sites.site("iad").isReadOnly()).toBe(false);
    expect(await metrics(operator)).toContain(`${metric("pdx", "rejected")} 1`);
    await patchSpec({ failoverCooldown: "2s" });
  });

  it("skips a request for the active site", async () => {
    await request("iad", "e2e-6");
    await waitFor("annotation cleared", async () => (await group()).metadata.annotations?.[REQUEST] === undefined, 10_000, 200);
    expect(await eventReasons()).toContain("PlannedFailoverSkipped");
    expect((await group()).status?.plannedFailover?.requestId).toBe("e2e-5");
  });

  it("an operator killed in WaitingForLag resumes after restart and never leaves the group fenced", async () => {
    const iad = sites.site("iad");
    const pdx = sites.site("pdx");
    await settled("iad");
    await pdx.setReplicationDelay(60);
    await iad.injectWrite("lagging", "app");
    await request("pdx:maxLagWait=4s", "e2e-7");
    await waitFor("WaitingForLag", async () => (await group()).status?.plannedFailover?.phase === "WaitingForLag", 15_000, 100);
    expect(await iad.isReadOnly()).toBe(true);
    await operator.stop("SIGKILL");
    operator = await start();
    const g = await finished("e2e-7");
    expect(g.status?.plannedFailover).toMatchObject({ phase: "Failed", reason: "LagTimeout" });
    expect(await iad.isReadOnly()).toBe(false);
    expect(await pdx.isReadOnly()).toBe(true);
    await pdx.setReplicationDelay(0);
    await settled("iad");
  });

  it("defers a request inside the cooldown (onCooldown: defer), keeping the annotation, and runs it when the cooldown ends", async () => {
    const last = Date.parse((await group()).status?.lastFailover ?? "");
    expect(Number.isNaN(last)).toBe(false);
    const cooldown = Math.ceil((Date.now() - last) / 1000) + 6;
    await patchSpec({ failoverCooldown: `${cooldown}s`, plannedFailover: { onCooldown: "defer" } });
    await request("pdx", "e2e-8");
    const deferred = await waitFor("Deferred", async () => {
      const g = await group();
      return g.status?.plannedFailover?.requestId === "e2e-8" && g.status.plannedFailover.phase === "Deferred" ? g : undefined;
    }, 10_000, 100);
    expect(deferred.status?.plannedFailover).toMatchObject({ reason: "CooldownActive", retryAfter: new Date(last + cooldown * 1000).toISOString() });
    expect(deferred.metadata.annotations?.[REQUEST]).toBe("pdx");
    expect(await eventReasons()).toContain("PlannedFailoverDeferred");
    const g = await finished("e2e-8", 30_000);
    expect(g.status?.plannedFailover).toMatchObject({ phase: "Succeeded", target: "pdx", transactionsLost: 0 });
    expect(g.metadata.annotations?.[REQUEST]).toBeUndefined();
    expect(await sites.site("pdx").isReadOnly()).toBe(false);
  });

  it("cancels a deferred request when its annotation is removed", async () => {
    await waitFor("iad replicates again", async () => {
      const g = await group();
      return (g.status?.sites ?? []).every((s) => !s.recoveryState && (s.name === "pdx" || s.replicating === true));
    }, 20_000, 200);
    await request("iad", "e2e-9");
    await waitFor("Deferred", async () => (await group()).status?.plannedFailover?.phase === "Deferred", 10_000, 100);
    const r = await kubectl(["annotate", "mfg", GROUP, "-n", ns, `${REQUEST}-`]);
    expect(r.code, r.stderr).toBe(0);
    const g = await finished("e2e-9");
    expect(g.status?.plannedFailover).toMatchObject({ phase: "Failed", reason: "Cancelled" });
    expect(await sites.site("pdx").isReadOnly()).toBe(false);
    expect(await sites.site("iad").isReadOnly()).toBe(true);
  });
});
