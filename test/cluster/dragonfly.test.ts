/**
 * Cache servers the operator runs (spec.dragonfly entries without `endpoint`) on the real node:
 * the operator, installed by the chart, makes a StatefulSet and a Service per site beside the
 * managed database, joins the servers under the database's primary, and moves the master with a
 * switchover. The image is the test cluster's stand-in for Dragonfly (redis-server taking
 * Dragonfly's flags, images/cache/entrypoint.sh). The chart is installed with a status API token,
 * so the database sites' sidecars are let in by their group's agent token.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installOperatorChart } from "../../scripts/env/helm.js";
import { NODE_NAME } from "../../scripts/env/node.js";
import { waitFor } from "../../scripts/env/ports.js";
import { IMAGES } from "../../scripts/images/images.js";
import { dragonflyNames } from "../../shared/dragonfly/objects.js";
import { CacheClient } from "../../operator/dragonfly/cache-client.js";
import { observeCache } from "../../operator/dragonfly/cache-server.js";
import { failoverGroup } from "../support/fixtures.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { saveOperatorLogsOnFailure } from "../support/failure-logs.js";
import { applyAll, groupEvents, groupReader } from "../support/groups.js";
import { helm } from "../support/helm.js";
import { kubectl, mustKubectl, run, testKubeconfig } from "../support/kubectl.js";
import { readyPod } from "../support/pods.js";

const suffix = randomBytes(3).toString("hex");
const operatorNs = `dragonfly-system-${suffix}`;
const ns = `dragonfly-${suffix}`;
const release = "bloodraven";
const PASSWORD = `root-${randomBytes(6).toString("hex")}`;
const CACHE_PASSWORD = `cache-${randomBytes(6).toString("hex")}`;
const STATUS_TOKEN = `status-${randomBytes(12).toString("hex")}`;

describe("cache servers the operator runs, on a real node", () => {
  const group = groupReader(ns);
  const clients: CacheClient[] = [];
  saveOperatorLogsOnFailure(operatorNs, `app.kubernetes.io/instance=${release}`);
  /** A client of a site's cache pod, at its pod IP (this machine reaches the node's pods). */
  const cache = async (site: string): Promise<CacheClient> => {
    const pod = await readyPod(ns, dragonflyNames.pod("orders", site));
    const c = new CacheClient({ host: pod.status?.podIP ?? "", port: 6379 }, { password: CACHE_PASSWORD, timeoutMs: 2_000 });
    clients.push(c);
    return c;
  };
  const cacheStatus = async () => (await group("orders")).status?.dragonfly;
  /** The pod IPs behind the group's cache Service. */
  const masterEndpoints = async (): Promise<string[]> =>
    (await mustKubectl(["get", "endpoints", dragonflyNames.master("orders"), "-n", ns, "-o", "jsonpath={.subsets[*].addresses[*].ip}"])).trim().split(/\s+/).filter((ip) => ip !== "");
  const podIp = async (site: string) => (await readyPod(ns, dragonflyNames.pod("orders", site))).status?.podIP ?? "";
  /** The operators' JSON log lines about the group. */
  const operatorLines = async (): Promise<{ msg: string; site?: string; group?: string }[]> => {
    const out = await kubectl(["logs", "-n", operatorNs, "-l", `app.kubernetes.io/instance=${release}`, "--tail=-1"]);
    return out.stdout.split("\n").flatMap((l) => {
      try {
        const line = JSON.parse(l) as { msg: string; site?: string; group?: string };
        return line.group === "orders" ? [line] : [];
      } catch {
        return [];
      }
    });
  };
  const uid = async (site: string) => (await readyPod(ns, dragonflyNames.pod("orders", site))).metadata?.uid;

  beforeAll(async () => {
    const toleration = ["key=shipstream.io/db-readonly-orders", "operator=Exists", "effect=NoExecute"].map((kv) => `tolerations[0].${kv}`);
    // With a status API token: the sidecars, whose pods cannot mount it, get in with the group's agent token.
    await applyAll([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: operatorNs } },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "status-token", namespace: operatorNs }, stringData: { token: STATUS_TOKEN } },
    ]);
    await installOperatorChart({ kubeconfig: testKubeconfig(), namespace: operatorNs, release, set: [...toleration, "statusApi.tokenSecret.name=status-token"] });
    await applyAll([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "orders-operator", namespace: ns }, stringData: { username: "root", password: PASSWORD } },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "orders-cache", namespace: ns }, stringData: { password: CACHE_PASSWORD } },
      failoverGroup(ns, "orders", {
        credentials: { operator: { secretName: "orders-operator" } },
        image: IMAGES.mariadb,
        pollInterval: "1s",
        sites: ["iad", "pdx"].map((name) => ({ name, storage: { size: "256Mi" }, taintNodeSelector: { "kubernetes.io/hostname": NODE_NAME } })),
        dragonfly: {
          enabled: true,
          image: IMAGES.cache,
          sites: [{ name: "iad" }, { name: "pdx" }],
          auth: { secretName: "orders-cache" },
          maxMemory: "64Mi",
          threads: 2,
        },
      }),
    ]);
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await kubectl(["delete", "mfg", "orders", "-n", ns, "--wait=false"]);
    await kubectl(["taint", "nodes", NODE_NAME, "shipstream.io/db-readonly-orders-"]);
    await helm(["uninstall", release, "--namespace", operatorNs, "--wait"]);
    await kubectl(["delete", "namespace", operatorNs, ns, "--wait=false"]);
  });

  it("runs a cache server beside each site's database and joins them under the primary's", async () => {
    const d = await waitFor(
      "the database on iad and the caches Ready under it",
      async () => {
        const g = await group("orders");
        return g.status?.activeSite === "iad" && g.status.dragonfly?.phase === "Ready" && g.status.dragonfly.activeSite === "iad" ? g.status.dragonfly : undefined;
      },
      240_000,
      1_000,
    ).catch(async (err: unknown) => {
      const pods = await kubectl(["get", "pods", "-n", ns, "-o", "wide"]);
      throw new Error(`${String(err)}\nstatus: ${JSON.stringify((await group("orders")).status?.dragonfly)}\n${pods.stdout}`);
    });
    expect(d.sites?.map((s) => [s.name, s.role, s.ready])).toEqual([
      ["iad", "master", true],
      ["pdx", "replica", true],
    ]);
    // The status API has a token: iad's sidecar was answered (a new group: no active site yet, or
    // iad once the operator made it the first primary itself; the fence of a server that started
    // read-only is the operator's to lift, or was lifted on a server the agent found writable),
    // never refused.
    const sidecar = await kubectl(["logs", "mysql-orders-iad-0", "-c", "sidecar", "-n", ns, "--tail=-1"]);
    expect(sidecar.stdout).toMatch(new RegExp(`"msg":"${LOG_MESSAGES.safetyNetKept}".*"reason":"the operator names (no active site|iad)"|"msg":"${LOG_MESSAGES.safetyNetLifted}"`));
    expect(sidecar.stdout).not.toContain("HTTP 401");
    const objects = await mustKubectl(["get", "statefulsets,services", "-n", ns, "-l", "shipstream.io/dragonfly-group=orders", "-o", "name"]);
    expect(objects.trim().split("\n").sort()).toEqual(
      [`service/${dragonflyNames.master("orders")}`, ...["iad", "pdx"].flatMap((s) => [`service/${dragonflyNames.site("orders", s)}`, `statefulset.apps/${dragonflyNames.site("orders", s)}`])].sort(),
    );
    // spec.dragonfly.maxMemory in effect, and the password from the Secret (the client logs in with it).
    const iad = await cache("iad");
    expect(await iad.read(["CONFIG", "GET", "maxmemory"])).toEqual(["maxmemory", String(64 * 1024 * 1024)]);
    expect(await observeCache(await cache("pdx"))).toMatchObject({ role: "replica", masterHost: `${dragonflyNames.site("orders", "iad")}.${ns}.svc`, linkUp: true });
    // The group's cache Service: the master's pod only.
    const iadIp = await podIp("iad");
    expect(await waitFor("the cache Service on iad's pod", async () => (await masterEndpoints()).join(",") === iadIp, 30_000, 500)).toBe(true);
  });

  it("moves the master with `kubectl bloodraven failover orders pdx --wait`, the sessions with it", async () => {
    const iad = await cache("iad");
    for (let i = 0; i < 100; i++) await iad.write(["SET", `session:${i}`, String(i)]);
    const r = await kubectl(["bloodraven", "failover", "orders", "pdx", "-n", ns, "--wait", "--timeout=90s"], { timeoutMs: 120_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const d = await waitFor("the cache master on pdx", async () => {
      const d = await cacheStatus();
      return d?.phase === "Ready" && d.activeSite === "pdx" ? d : undefined;
    }, 60_000, 500);
    expect(d.lastPromotionMethod).toBe("takeover");
    const pdxIp = await podIp("pdx");
    expect(await waitFor("the cache Service on pdx's pod", async () => (await masterEndpoints()).join(",") === pdxIp, 30_000, 250)).toBe(true);
    const pdx = await cache("pdx");
    for (let i = 0; i < 100; i++) expect(await pdx.read(["GET", `session:${i}`])).toBe(String(i));
    expect((await groupEvents(ns, "orders")).map((e) => e.reason)).toEqual(expect.arrayContaining(["DragonflyPromotionStarted", "DragonflyPromotionCompleted"]));
  });

  it("an update of the servers (maxMemory) restarts each once on the new template, the replica first and the master only after handing it over; every session kept", async () => {
    const pdx = await cache("pdx");
    for (let i = 100; i < 200; i++) await pdx.write(["SET", `session:${i}`, String(i)]);
    const before = { iad: await uid("iad"), pdx: await uid("pdx") };
    const r = await kubectl(["patch", "mfg", "orders", "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { dragonfly: { maxMemory: "96Mi" } } })]);
    expect(r.code, r.stderr).toBe(0);
    await waitFor("both servers updated, the master back on pdx", async () => {
      const d = await cacheStatus();
      return (await operatorLines()).some((l) => l.msg === LOG_MESSAGES.dragonflyServersUpdated) && d?.phase === "Ready" && d.activeSite === "pdx";
    }, 300_000, 2_000);
    const after = { iad: await uid("iad"), pdx: await uid("pdx") };
    expect(after.iad).not.toBe(before.iad);
    expect(after.pdx).not.toBe(before.pdx);
    // The replica (iad) first; the master (pdx) handed to iad by a takeover before its restart, and back after.
    const story = (await operatorLines())
      .filter((l) => l.msg === LOG_MESSAGES.dragonflyServerRestarted || l.msg === LOG_MESSAGES.dragonflyPromoted)
      .map((l) => `${l.msg === LOG_MESSAGES.dragonflyPromoted ? "master" : "restart"} ${l.site}`);
    expect(story.slice(story.indexOf("restart iad"))).toEqual(["restart iad", "master iad", "restart pdx", "master pdx"]);
    const master = await cache("pdx");
    expect(await master.read(["CONFIG", "GET", "maxmemory"])).toEqual(["maxmemory", String(96 * 1024 * 1024)]);
    for (let i = 0; i < 200; i++) expect(await master.read(["GET", `session:${i}`])).toBe(String(i));
    expect(await (await cache("iad")).read(["CONFIG", "GET", "maxmemory"])).toEqual(["maxmemory", String(96 * 1024 * 1024)]);
  }, 360_000);

  it("kubectl bloodraven report holds the cache servers' objects and logs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bloodraven-report-"));
    try {
      const file = join(dir, "r.tar.gz");
      const r = await kubectl(["bloodraven", "report", "orders", "-n", ns, "--operator-namespace", operatorNs, "--file", file]);
      expect(r.code, r.stderr).toBe(0);
      const listed = await run("tar", ["-tzf", file]);
      expect(listed.stdout.split("\n")).toEqual(expect.arrayContaining(["pods/dragonfly-orders-iad-0/dragonfly.log", "pods/dragonfly-orders-pdx-0/dragonfly.log", "pods/mysql-orders-iad-0/mysql.log"]));
      const objects = (await run("tar", ["-xzOf", file, "objects.yaml"])).stdout;
      expect(objects).toContain("name: dragonfly-orders-iad");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a lone server with a snapshot volume keeps its sessions across an update: saved right before its restart, loaded when it starts", async () => {
    const objects = async () => (await kubectl(["get", "statefulsets,services", "-n", ns, "-l", "shipstream.io/dragonfly-group=orders", "-o", "name"])).stdout.trim();
    // The volumes can only come with spec.dragonfly made anew: off first, its servers deleted.
    const off = await kubectl(["patch", "mfg", "orders", "-n", ns, "--type=json", "-p", JSON.stringify([{ op: "remove", path: "/spec/dragonfly" }])]);
    expect(off.code, off.stderr).toBe(0);
    await waitFor("the cache servers deleted", async () => (await objects()) === "", 60_000, 1_000);
    const dragonfly = { enabled: true, image: IMAGES.cache, sites: [{ name: "pdx" }], auth: { secretName: "orders-cache" }, maxMemory: "64Mi", snapshot: { storage: { size: "64Mi" } } };
    const on = await kubectl(["patch", "mfg", "orders", "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { dragonfly } })]);
    expect(on.code, on.stderr).toBe(0);
    await waitFor("the lone server the master", async () => {
      const d = await cacheStatus();
      return d?.phase === "Ready" && d.activeSite === "pdx";
    }, 120_000, 1_000);
    expect((await mustKubectl(["get", "pvc", "data-dragonfly-orders-pdx-0", "-n", ns, "-o", "jsonpath={.status.phase}"])).trim()).toBe("Bound");
    const pdx = await cache("pdx");
    for (let i = 0; i < 50; i++) await pdx.write(["SET", `lone:${i}`, String(i)]);
    const before = await uid("pdx");
    const updatesBefore = (await operatorLines()).filter((l) => l.msg === LOG_MESSAGES.dragonflyServersUpdated).length;

    const r = await kubectl(["patch", "mfg", "orders", "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { dragonfly: { maxMemory: "80Mi" } } })]);
    expect(r.code, r.stderr).toBe(0);
    await waitFor("the lone server updated", async () => (await operatorLines()).filter((l) => l.msg === LOG_MESSAGES.dragonflyServersUpdated).length > updatesBefore, 180_000, 2_000);
    expect(await uid("pdx")).not.toBe(before);
    const back = await cache("pdx");
    expect(await back.read(["CONFIG", "GET", "maxmemory"])).toEqual(["maxmemory", String(80 * 1024 * 1024)]);
    for (let i = 0; i < 50; i++) expect(await back.read(["GET", `lone:${i}`])).toBe(String(i));
    // Deleted with the server, its volume too.
    const gone = await kubectl(["patch", "mfg", "orders", "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { dragonfly: { enabled: false } } })]);
    expect(gone.code, gone.stderr).toBe(0);
    await waitFor("the server and its volume deleted", async () => (await objects()) === "" && (await kubectl(["get", "pvc", "data-dragonfly-orders-pdx-0", "-n", ns])).code !== 0, 120_000, 1_000);
  }, 420_000);
});
