/**
 * Managed sites: the operator, running in the cluster from the chart, creates each managed site's
 * StatefulSet, volume and Services, the group's option ConfigMap, role Services and
 * PodDisruptionBudget. The servers start on their own volumes with the operator's settings
 * (server_id, binary log, GTIDs, read-only) plus spec.mysqlConf; the operator polls them through
 * their Services, makes the first candidate the primary of the new group, the other replicates
 * from it, and the role labels steer the writer Service to the primary.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installOperatorChart } from "../../scripts/env/helm.js";
import { NODE_NAME } from "../../scripts/env/node.js";
import { waitFor } from "../../scripts/env/ports.js";
import { IMAGES } from "../../scripts/images/images.js";
import { managedNames, serverId } from "../../shared/managed/objects.js";
import { CLEANUP_FINALIZER } from "../../shared/names.js";
import { failoverGroup } from "../support/fixtures.js";
import { applyAll, groupReader } from "../support/groups.js";
import { helm } from "../support/helm.js";
import { kubectl, testKubeconfig } from "../support/kubectl.js";
import { rootQuery } from "../support/mariadb-pod.js";
import { getObject, readyPod } from "../support/pods.js";

const suffix = randomBytes(3).toString("hex");
const operatorNs = `managed-system-${suffix}`;
const ns = `managed-${suffix}`;
const release = "bloodraven";
const PASSWORD = `root-${randomBytes(6).toString("hex")}`;
const SITES = ["iad", "pdx"];

interface Owned {
  metadata: { ownerReferences?: { kind: string; name: string; controller?: boolean }[] };
}

const query = (host: string, sql: string) => rootQuery(host, PASSWORD, sql);
const writerIP = async () => (await getObject<{ spec: { clusterIP: string } }>(["service", managedNames.writer("orders"), "-n", ns])).spec.clusterIP;
const role = async (site: string) =>
  (await getObject<{ metadata: { labels?: Record<string, string> } }>(["pod", managedNames.pod("orders", site), "-n", ns])).metadata.labels?.["shipstream.io/role"];

describe("managed sites on a real node (operator installed by the chart)", () => {
  const group = groupReader(ns);

  beforeAll(async () => {
    // One node holds every site here, and it carries the read-only taint of the sites that are not
    // writable: the operator's pods must tolerate it, as on any node of a site (docs/managed-sites.md).
    const toleration = ["key=shipstream.io/db-readonly-orders", "operator=Exists", "effect=NoExecute"].map((kv) => `tolerations[0].${kv}`);
    await installOperatorChart({ kubeconfig: testKubeconfig(), namespace: operatorNs, release, set: toleration });
    await applyAll([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "orders-operator", namespace: ns }, stringData: { username: "root", password: PASSWORD } },
      failoverGroup(ns, "orders", {
        credentials: { operator: { secretName: "orders-operator" } },
        image: IMAGES.mariadb,
        pollInterval: "1s",
        failoverCooldown: "1s",
        mysqlConf: { max_connections: "77" },
        sites: SITES.map((name) => ({ name, storage: { size: "256Mi" }, taintNodeSelector: { "kubernetes.io/hostname": NODE_NAME } })),
      }),
    ]);
  });

  afterAll(async () => {
    await kubectl(["delete", "mfg", "orders", "-n", ns, "--wait=false"]);
    // The tier's one node: a taint left by a failed run here would keep every later pod off it.
    await kubectl(["taint", "nodes", NODE_NAME, "shipstream.io/db-readonly-orders-"]);
    await helm(["uninstall", release, "--namespace", operatorNs, "--wait"]);
    await kubectl(["delete", "namespace", operatorNs, ns, "--wait=false"]);
  });

  it("creates every object, owned by the group", async () => {
    const names = [
      `configmap/${managedNames.config("orders")}`,
      ...SITES.map((s) => `service/${managedNames.site("orders", s)}`),
      `service/${managedNames.writer("orders")}`,
      `service/${managedNames.reader("orders")}`,
      `poddisruptionbudget.policy/${managedNames.budget("orders")}`,
      ...SITES.map((s) => `statefulset.apps/${managedNames.site("orders", s)}`),
    ];
    const objects = await waitFor(
      "the managed objects",
      async () => {
        const r = await kubectl(["get", ...names, "-n", ns, "-o", "json"]);
        return r.code === 0 ? (JSON.parse(r.stdout) as { items: Owned[] }).items : undefined;
      },
      60_000,
      500,
    );
    expect(objects).toHaveLength(names.length);
    for (const o of objects) expect(o.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "MysqlFailoverGroup", name: "orders", controller: true })]);
  });

  it("starts each server read-only on its own bound volume with the operator's settings and spec.mysqlConf", async () => {
    for (const site of SITES) {
      const pod = await readyPod(ns, managedNames.pod("orders", site), { timeoutMs: 120_000 });
      const claim = await getObject<{ status: { phase: string } }>(["pvc", managedNames.claim("orders", site), "-n", ns]);
      expect(claim.status.phase).toBe("Bound");
      const [row] = await query(
        pod.status?.podIP ?? "",
        "SELECT @@server_id AS id, @@log_bin AS binlog, @@gtid_strict_mode AS strict, @@log_slave_updates AS chained, @@max_connections AS maxConnections",
      );
      expect(row).toEqual({ id: serverId(site), binlog: 1, strict: 1, chained: 1, maxConnections: 77 });
    }
    // Every server starts read-only; the operator may already have made iad writable (bootstrap), never pdx.
    const pdx = await readyPod(ns, managedNames.pod("orders", "pdx"));
    expect(await query(pdx.status?.podIP ?? "", "SELECT @@read_only AS ro")).toEqual([{ ro: 1 }]);
  });

  it("gives the new group its first primary, iad, and makes pdx replicate from it", async () => {
    const g = await waitFor(
      "iad active and pdx read-only",
      async () => {
        const current = await group("orders");
        const state = (site: string) => current.status?.sites?.find((x) => x.name === site)?.state;
        return current.status?.activeSite === "iad" && state("iad") === "writable" && state("pdx") === "read-only" ? current : undefined;
      },
      60_000,
      500,
    );
    expect(g.status?.lastFailoverTarget).toBeUndefined();
    const pdx = await readyPod(ns, managedNames.pod("orders", "pdx"));
    const replica = await waitFor(
      "pdx replicating",
      async () => {
        const [row] = await query(pdx.status?.podIP ?? "", "SHOW SLAVE STATUS");
        return row?.Slave_IO_Running === "Yes" && row.Slave_SQL_Running === "Yes" ? row : undefined;
      },
      60_000,
      500,
    );
    expect(replica.Master_Host).toBe(`${managedNames.site("orders", "iad")}.${ns}.svc`);
  });

  it("labels the pods by role, so writes through the writer Service land on the primary and reach the replica", async () => {
    await waitFor("role labels", async () => (await role("iad")) === "primary" && (await role("pdx")) === "replica", 30_000, 250);
    const writer = await writerIP();
    // kube-proxy programs the Service once its endpoint exists: poll until the write lands.
    await waitFor("a write through the writer Service", async () => (await query(writer, "SELECT @@hostname AS host")).length === 1, 30_000, 250);
    const [through] = await query(writer, "SELECT @@hostname AS host, @@read_only AS ro");
    expect(through).toEqual({ host: managedNames.pod("orders", "iad"), ro: 0 });
    await query(writer, "CREATE DATABASE IF NOT EXISTS shop");
    await query(writer, "CREATE TABLE shop.orders (id INT PRIMARY KEY, note VARCHAR(64))");
    await query(writer, "INSERT INTO shop.orders VALUES (1, 'through the writer Service')");
    const pdx = await readyPod(ns, managedNames.pod("orders", "pdx"));
    const rows = await waitFor("the row on pdx", async () => {
      const r = await query(pdx.status?.podIP ?? "", "SELECT note FROM shop.orders WHERE id = 1").catch(() => []);
      return r.length === 1 ? r : undefined;
    }, 30_000, 250);
    expect(rows).toEqual([{ note: "through the writer Service" }]);
  });

  it("fails over when the primary's pod is gone, moves the role labels, and the old primary rejoins read-only", async () => {
    const state = async (site: string) => (await group("orders")).status?.sites?.find((x) => x.name === site)?.state;
    // Scaled to zero the pod stays away (a deleted pod would be back read-only in seconds and be
    // made writable again as the recorded primary, which is also correct but not a failover).
    const scaled = await kubectl(["scale", "statefulset", managedNames.site("orders", "iad"), "-n", ns, "--replicas=0"]);
    expect(scaled.code, scaled.stderr).toBe(0);
    const g = await waitFor("failover to pdx", async () => {
      const current = await group("orders");
      return current.status?.activeSite === "pdx" ? current : undefined;
    }, 60_000, 250);
    expect(g.status?.lastFailoverTarget).toBe("pdx");
    await waitFor("pdx labelled primary", async () => (await role("pdx")) === "primary", 30_000, 250);
    const writer = await writerIP();
    const through = await waitFor("the writer Service on pdx", async () => {
      const [row] = await query(writer, "SELECT @@hostname AS host").catch(() => []);
      return row?.host === managedNames.pod("orders", "pdx") ? row : undefined;
    }, 30_000, 250);
    expect(through).toEqual({ host: managedNames.pod("orders", "pdx") });
    await query(writer, "INSERT INTO shop.orders VALUES (2, 'after the failover')");

    // A spec change makes the operator apply its objects again at once: iad's StatefulSet is back to one replica.
    const patched = await kubectl(["patch", "mfg", "orders", "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { replication: { maxLagSeconds: 120 } } })]);
    expect(patched.code, patched.stderr).toBe(0);
    const iad = await readyPod(ns, managedNames.pod("orders", "iad"), { timeoutMs: 120_000 });
    await waitFor("iad back read-only", async () => (await state("iad")) === "read-only", 60_000, 250);
    const rows = await waitFor("iad replicating the write made on pdx", async () => {
      const r = await query(iad.status?.podIP ?? "", "SELECT id, note FROM shop.orders ORDER BY id").catch(() => []);
      return r.length === 2 ? r : undefined;
    }, 60_000, 250);
    expect(rows).toEqual([{ id: 1, note: "through the writer Service" }, { id: 2, note: "after the failover" }]);
    expect(await role("iad")).toBe("replica");
    expect(await query(iad.status?.podIP ?? "", "SELECT @@read_only AS ro")).toEqual([{ ro: 1 }]);
  });

  it("switches back to iad with `kubectl bloodraven failover --wait`; the labels and the writer Service follow", async () => {
    const r = await kubectl(["bloodraven", "failover", "orders", "iad", "-n", ns, "--wait", "--timeout=90s"], { timeoutMs: 120_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const g = await group("orders");
    expect(g.status?.activeSite).toBe("iad");
    expect(g.status?.plannedFailover).toMatchObject({ phase: "Succeeded", target: "iad", transactionsLost: 0 });
    await waitFor("iad labelled primary again", async () => (await role("iad")) === "primary" && (await role("pdx")) === "replica", 30_000, 250);
    const writer = await writerIP();
    await waitFor("the writer Service on iad", async () => {
      const [row] = await query(writer, "SELECT @@hostname AS host").catch(() => []);
      return row?.host === managedNames.pod("orders", "iad");
    }, 30_000, 250);
  });

  it("keeps a deleted group until its taints and volumes are gone, then everything goes", async () => {
    const group = await getObject<{ metadata: { finalizers?: string[] } }>(["mfg", "orders", "-n", ns]);
    expect(group.metadata.finalizers).toEqual([CLEANUP_FINALIZER]);
    const deleted = await kubectl(["delete", "mfg", "orders", "-n", ns, "--wait=true", "--timeout=90s"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    const selector = "shipstream.io/failover-group=orders";
    const left = async () => {
      const r = await kubectl(["get", "statefulsets,services,configmaps,poddisruptionbudgets,persistentvolumeclaims,pods", "-n", ns, "-l", selector, "-o", "name"]);
      return r.stdout.trim();
    };
    await waitFor("every object of the group gone", async () => (await left()) === "", 90_000, 500);
    const node = await getObject<{ spec: { taints?: { key: string }[] } }>(["node", NODE_NAME]);
    expect((node.spec.taints ?? []).map((t) => t.key)).not.toContain("shipstream.io/db-readonly-orders");
  });
});
