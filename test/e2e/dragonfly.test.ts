import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheServers } from "../../scripts/env/cache-servers.js";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import type { DragonflyStatus } from "../../shared/api/dragonfly.js";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import type { GroupStatusMessage } from "../../shared/status-message.js";
import { CacheClient } from "../../operator/dragonfly/cache-client.js";
import { observeCache } from "../../operator/dragonfly/cache-server.js";
import { asList, failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { groupEvents } from "../support/groups.js";
import { kubectl } from "../support/kubectl.js";
import { OperatorProcess } from "../support/operator.js";

/**
 * The session cache follows the database (spec.dragonfly) with the real operator, real MariaDB
 * sites and real redis-server processes as the cache servers (the replication protocol Dragonfly
 * speaks; its own commands are pinned in unit tests): the caches are joined under the database's
 * primary, a switchover moves the cache master by a takeover that loses no acknowledged session
 * write, a dead cache master is replaced by its replica while the database stays, a server that
 * comes back empty copies the sessions before it takes the master back, and a fault of the cache
 * step is counted while the database's reconcilers go on.
 */
const ns = `dragonfly-${randomBytes(3).toString("hex")}`;
const GROUP = "orders";
const password = randomBytes(12).toString("hex");

async function group(): Promise<MysqlFailoverGroup> {
  const r = await kubectl(["get", "mfg", GROUP, "-n", ns, "-o", "json"]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as MysqlFailoverGroup;
}

const cacheStatus = async (): Promise<DragonflyStatus | undefined> => (await group()).status?.dragonfly;

describe("the session cache follows the database (real operator, MariaDB and redis-server)", () => {
  let sites: MariaDbSites;
  let caches: CacheServers;
  let operator: OperatorProcess;
  const clients: CacheClient[] = [];
  const cache = (name: string): CacheClient => {
    const s = caches.get(name);
    const c = new CacheClient({ host: s.host, port: s.port }, { password, timeoutMs: 2_000 });
    clients.push(c);
    return c;
  };
  const metrics = async (): Promise<string> => (await fetch(operator.url("metrics", "/metrics"), { signal: AbortSignal.timeout(5_000) })).text();
  const until = (what: string, check: (d: DragonflyStatus) => boolean, timeoutMs = 30_000) =>
    waitFor(what, async () => {
      const d = await cacheStatus();
      return d !== undefined && check(d) ? d : undefined;
    }, timeoutMs, 200);

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    caches = await CacheServers.start(["iad", "pdx"], { password });
    const items = [
      ...namespaceWithCredentials(ns),
      { apiVersion: "v1", kind: "Secret", metadata: { name: "cache-auth", namespace: ns }, stringData: { password } },
      failoverGroup(ns, GROUP, {
        pollInterval: "500ms",
        failureThreshold: 2,
        failoverCooldown: "1s",
        sites: sites.sites.map((s) => siteAt(s)),
        dragonfly: {
          enabled: true,
          sites: caches.servers.map((c) => ({ name: c.name, endpoint: { host: c.host, port: c.port } })),
          auth: { secretName: "cache-auth" },
          plannedFailover: { maxSyncWait: "5s" },
        },
      }),
    ];
    const r = await kubectl(["apply", "-f", "-"], { input: asList(items) });
    expect(r.code, r.stderr).toBe(0);
    operator = await OperatorProcess.start({ identity: `df-${randomBytes(2).toString("hex")}`, args: [`--namespaces=${ns}`, "--no-leader-election"] });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await operator?.stop("SIGKILL");
    await caches?.stop();
    await sites?.teardown();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("joins the caches under the database's primary: iad the master, pdx replicating from it, Ready", async () => {
    const d = await until("the caches Ready under iad", (d) => d.phase === "Ready" && d.activeSite === "iad");
    expect(d.sites).toEqual([
      expect.objectContaining({ name: "iad", role: "master", reachable: true, ready: true }),
      expect.objectContaining({ name: "pdx", role: "replica", reachable: true, ready: true, linkStatus: "up", syncInProgress: false }),
    ]);
    expect(await observeCache(cache("pdx"))).toMatchObject({ role: "replica", masterPort: caches.get("iad").port, linkUp: true });
    const text = await metrics();
    for (const site of ["iad", "pdx"]) expect(text).toContain(`bloodraven_dragonfly_site_up{namespace="${ns}",group="${GROUP}",site="${site}"} 1`);
    // The status API carries it too.
    const fromApi = async () => ((await (await fetch(operator.url("status", "/status"))).json()) as Record<string, GroupStatusMessage>)[`${ns}/${GROUP}`]?.dragonfly;
    expect(await waitFor("the cache in the status API", async () => JSON.stringify(await fromApi()) === JSON.stringify({ phase: "Ready", activeSite: "iad" }), 5_000, 100)).toBe(true);
    expect((await groupEvents(ns, GROUP)).map((e) => e.reason)).toContain("DragonflyOldSiteReconfigured");
    // On-call sees it in the plugin's status.
    const shown = await kubectl(["bloodraven", "status", GROUP, "-n", ns]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/Session cache \(Dragonfly\):\n\s+Phase:\s+Ready\n\s+Master:\s+iad\n/);
    expect(shown.stdout).toMatch(/^\s+pdx\s+replica\s+true\s+up\s+\d+s\s+\d+\s+-$/m);
  });

  it("a switchover moves the cache master by a takeover: every session write acknowledged by the old master is on the new one", async () => {
    // A session writer on the cache master, as an application that writes where the database is.
    const writer = cache("iad");
    const acked: string[] = [];
    let stop = false;
    const writing = (async () => {
      for (let i = 0; !stop && i < 20_000; i++) {
        try {
          await writer.write(["SET", `session:${i}`, String(i)]);
          acked.push(`session:${i}`);
        } catch {
          // READONLY once iad is a replica, or its connection closed by the handover.
          return;
        }
      }
    })();
    const r = await kubectl(["bloodraven", "failover", GROUP, "pdx", "--wait", "--timeout", "60s", "-n", ns], { timeoutMs: 90_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const d = await until("the cache master on pdx", (d) => d.activeSite === "pdx" && d.phase === "Ready");
    stop = true;
    await writing;
    expect(d).toMatchObject({ lastPromotionTarget: "pdx", lastPromotionMethod: "takeover" });
    expect(acked.length).toBeGreaterThan(0);
    const newMaster = cache("pdx");
    const missing: string[] = [];
    for (const key of acked) if ((await newMaster.read(["EXISTS", key])) !== 1) missing.push(key);
    expect(missing, `${missing.length} of ${acked.length} acknowledged session writes missing on pdx`).toEqual([]);
    expect(await observeCache(cache("iad"))).toMatchObject({ role: "replica", masterPort: caches.get("pdx").port });
    const reasons = (await groupEvents(ns, GROUP)).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(["DragonflyPromotionStarted", "DragonflyPromotionCompleted"]));
    expect(await metrics()).toContain(`bloodraven_dragonfly_promotions_total{namespace="${ns}",group="${GROUP}",target_site="pdx",result="success"} 1`);
  });

  it("the cache master killed while the database is healthy: its replica becomes the master; back empty, it copies the sessions and takes the master back", async () => {
    const keys = (await observeCache(cache("pdx"))).keys;
    await caches.get("pdx").kill();
    const d = await until("iad promoted, pdx reported gone", (d) => d.activeSite === "iad" && d.lastPromotionMethod === "replicaof-no-one" && d.phase === "Degraded");
    expect(d.message).toBe("iad is the master; the database's primary pdx has no cache that answers; the master stays on iad; pdx unreachable");
    expect(d.sites?.find((s) => s.name === "pdx")).toMatchObject({ role: "unreachable", reachable: false, ready: false });
    expect((await group()).status?.activeSite).toBe("pdx");
    expect(await metrics()).toContain(`bloodraven_dragonfly_site_up{namespace="${ns}",group="${GROUP}",site="pdx"} 0`);
    expect((await observeCache(cache("iad"))).keys).toBe(keys);

    await caches.get("pdx").restart();
    const back = await until("pdx the master again", (d) => d.activeSite === "pdx" && d.phase === "Ready" && d.lastPromotionMethod === "takeover");
    expect(back.sites?.map((s) => s.role)).toEqual(["replica", "master"]);
    expect((await observeCache(cache("pdx"))).keys).toBe(keys);
  });

  it("a takeover that cannot complete (the master does not list the replica): onSyncTimeout proceed promotes it with what it has, and says so", async () => {
    // iad's cache announces another port: pdx (the master) no longer lists it as iad:<port>.
    const iad = cache("iad");
    await iad.write(["CONFIG", "SET", "replica-announce-port", "1"]);
    await iad.write(["CLIENT", "KILL", "TYPE", "master"]);
    await waitFor("pdx lists iad under the announced port", async () => (await observeCache(cache("pdx"))).replicas.some((r) => r.port === 1 && r.state === "online"), 15_000, 100);
    const r = await kubectl(["bloodraven", "failover", GROUP, "iad", "--wait", "--timeout", "60s", "-n", ns], { timeoutMs: 90_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const d = await until("the cache master on iad", (d) => d.activeSite === "iad" && d.lastPromotionTarget === "iad");
    expect(d.lastPromotionMethod).toBe("replicaof-no-one");
    const timeout = (await groupEvents(ns, GROUP)).find((e) => e.reason === "DragonflySyncTimeout");
    expect(timeout?.message).toMatch(/^the takeover from pdx to iad did not complete \(.* is not an online replica of .*\); onSyncTimeout proceed: iad is promoted with what it has, and pdx keeps writes it lacks$/);
    await iad.write(["CONFIG", "SET", "replica-announce-port", "0"]);
  });

  it("the database moved to a site whose cache server does not answer: the promotion is counted skipped and the master stays; back, that server catches up and takes the master", async () => {
    await until("iad the master, Ready", (d) => d.phase === "Ready" && d.activeSite === "iad");
    const keys = (await observeCache(cache("iad"))).keys;
    await caches.get("pdx").kill();
    await until("pdx's cache unreachable", (d) => d.sites?.find((s) => s.name === "pdx")?.reachable === false);
    const r = await kubectl(["bloodraven", "failover", GROUP, "pdx", "--wait", "--timeout", "60s", "-n", ns], { timeoutMs: 90_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const d = await until("the master kept on iad, Degraded", (d) => d.phase === "Degraded" && d.activeSite === "iad" && d.message?.includes("the database's primary pdx") === true);
    expect(d.message).toBe("iad is the master; the database's primary pdx has no cache that answers; the master stays on iad; pdx unreachable");
    await waitFor("the skipped promotion counted", async () => (await metrics()).includes(`bloodraven_dragonfly_promotions_total{namespace="${ns}",group="${GROUP}",target_site="pdx",result="skipped"} 1`), 10_000, 200);
    expect((await observeCache(cache("iad"))).keys).toBe(keys);

    await caches.get("pdx").restart();
    const back = await until("pdx the master once it caught up", (d) => d.activeSite === "pdx" && d.phase === "Ready");
    expect(back.lastPromotionMethod).toBe("takeover");
    expect((await observeCache(cache("pdx"))).keys).toBe(keys);
    // Counted once per move of the database, not once per cycle it waited.
    expect(await metrics()).toContain(`bloodraven_dragonfly_promotions_total{namespace="${ns}",group="${GROUP}",target_site="pdx",result="skipped"} 1`);
    // Where the next test expects the database and the cache.
    const again = await kubectl(["bloodraven", "failover", GROUP, "iad", "--wait", "--timeout", "60s", "-n", ns], { timeoutMs: 90_000 });
    expect(again.code, again.stdout + again.stderr).toBe(0);
  });

  it("a second master holding writes the master lacks is left alone and reported; repointed by hand, it is a replica again", async () => {
    await until("pdx replicating from iad", (d) => d.phase === "Ready" && d.activeSite === "iad");
    const pdx = cache("pdx");
    await pdx.write(["REPLICAOF", "NO", "ONE"]);
    await pdx.write(["SET", "session:written-on-pdx-alone", "1"]);
    const d = await until("pdx reported as a stale master", (d) => d.sites?.find((s) => s.name === "pdx")?.role === "stale-master");
    expect(d).toMatchObject({ phase: "Degraded", activeSite: "iad" });
    expect(d.message).toContain("pdx is a second master holding writes iad lacks (left alone: repointing it would discard them)");
    const events = await groupEvents(ns, GROUP);
    expect(events.find((e) => e.reason === "DragonflyStaleMasterDetected")?.message).toBe(
      "the cache of pdx is a second master holding writes iad lacks; left alone, since repointing it would discard them (docs/dragonfly.md)",
    );
    // Still there a few steps later: nobody discarded it.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await pdx.read(["GET", "session:written-on-pdx-alone"])).toBe("1");
    // The runbook's way out: repoint it by hand.
    await pdx.write(["REPLICAOF", caches.get("iad").host, caches.get("iad").port]);
    await until("Ready again", (d) => d.phase === "Ready" && d.sites?.find((s) => s.name === "pdx")?.role === "replica");
  });

  it("a fault of the cache step is logged and counted, and the database's reconcilers go on", async () => {
    const r = await kubectl(["delete", "secret", "cache-auth", "-n", ns]);
    expect(r.code, r.stderr).toBe(0);
    const fault = await waitFor("the fault logged", async () => operator.logged(LOG_MESSAGES.dragonflyFault)[0], 15_000, 200);
    expect(fault.error).toBe(`spec.dragonfly.auth: Secret ${ns}/cache-auth does not exist`);
    expect(await metrics()).toMatch(new RegExp(`^bloodraven_dragonfly_manager_panics_total\\{namespace="${ns}",name="${GROUP}"\\} [1-9]`, "m"));
    // The database's own cycles go on: each publishes a newer poll time, and a switchover
    // completes while every cache step fails.
    const pollTime = async () => ((await (await fetch(operator.url("status", "/status"))).json()) as Record<string, GroupStatusMessage>)[`${ns}/${GROUP}`]?.pollTime;
    const before = await pollTime();
    await waitFor("a newer database cycle", async () => (await pollTime()) !== before, 10_000, 100);
    const r2 = await kubectl(["bloodraven", "failover", GROUP, "pdx", "--wait", "--timeout", "60s", "-n", ns], { timeoutMs: 90_000 });
    expect(r2.code, r2.stdout + r2.stderr).toBe(0);
    expect((await cacheStatus())?.activeSite).toBe("iad");
    // With the Secret back, the cache follows.
    const back = await kubectl(["create", "secret", "generic", "cache-auth", "-n", ns, `--from-literal=password=${password}`]);
    expect(back.code, back.stderr).toBe(0);
    await until("the cache master on pdx", (d) => d.activeSite === "pdx" && d.phase === "Ready");
  });

  it("the cache servers the operator runs are deleted when their entry goes, and all of them with the group's Service when the cache is turned off", async () => {
    // A second group whose database and cache sites the operator runs: this control plane has no
    // node, so their pods never start, but their objects are made and removed all the same.
    const objects = async (): Promise<string[]> => {
      const r = await kubectl(["get", "statefulsets,services", "-n", ns, "-l", "shipstream.io/dragonfly-group=copy", "-o", "name"]);
      return r.stdout.split("\n").filter((l) => l !== "").sort();
    };
    const copy = failoverGroup(ns, "copy", {
      image: "docker.io/library/mariadb:10.11.19",
      sites: ["iad", "pdx"].map((name) => ({ name, storage: { size: "1Gi" }, taintNodeSelector: { "test.bloodraven/copy-site": name } })),
      dragonfly: { enabled: true, image: "docker.dragonflydb.io/dragonflydb/dragonfly:v1.34.2", sites: [{ name: "iad" }, { name: "pdx" }] },
    });
    const applied = await kubectl(["apply", "-f", "-"], { input: asList([copy]) });
    expect(applied.code, applied.stderr).toBe(0);
    const all = ["service/dragonfly-copy", "service/dragonfly-copy-iad", "service/dragonfly-copy-pdx", "statefulset.apps/dragonfly-copy-iad", "statefulset.apps/dragonfly-copy-pdx"];
    await waitFor("both servers' objects", async () => JSON.stringify(await objects()) === JSON.stringify(all), 30_000, 200);

    const removed = await kubectl(["patch", "mfg", "copy", "-n", ns, "--type=json", "-p", JSON.stringify([{ op: "replace", path: "/spec/dragonfly/sites", value: [{ name: "iad" }] }])]);
    expect(removed.code, removed.stderr).toBe(0);
    const iadOnly = ["service/dragonfly-copy", "service/dragonfly-copy-iad", "statefulset.apps/dragonfly-copy-iad"];
    await waitFor("pdx's server deleted, iad's kept", async () => JSON.stringify(await objects()) === JSON.stringify(iadOnly), 30_000, 200);

    const off = await kubectl(["patch", "mfg", "copy", "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { dragonfly: { enabled: false } } })]);
    expect(off.code, off.stderr).toBe(0);
    await waitFor("every cache object deleted", async () => (await objects()).length === 0, 30_000, 200);
    const lines = operator.logged(LOG_MESSAGES.dragonflyServerRemoved).filter((l) => l.group === "copy");
    expect(lines.map((l) => `${String(l.kind)}/${String(l.name)}`).sort()).toEqual(["Service/dragonfly-copy", "Service/dragonfly-copy-iad", "Service/dragonfly-copy-pdx", "StatefulSet/dragonfly-copy-iad", "StatefulSet/dragonfly-copy-pdx"]);
    // The database's own objects are not the cache's to delete.
    expect((await kubectl(["get", "statefulset", "mysql-copy-iad", "mysql-copy-pdx", "-n", ns, "-o", "name"])).code).toBe(0);
    await kubectl(["delete", "mfg", "copy", "-n", ns, "--wait=false"]);
  });
});
