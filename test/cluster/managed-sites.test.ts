/**
 * Managed sites: the operator, running in the cluster from the chart, creates each managed site's
 * StatefulSet, volume and Services, the group's option ConfigMap, role Services and
 * PodDisruptionBudget. The servers start on their own volumes with the operator's settings
 * (server_id, binary log, GTIDs, read-only) plus spec.mysqlConf; the operator polls them through
 * their Services, makes the first candidate the primary of the new group, the other replicates
 * from it, and the role labels steer the writer Service to the primary.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { installOperatorChart } from "../../scripts/env/helm.js";
import { NODE_NAME } from "../../scripts/env/node.js";
import { waitFor } from "../../scripts/env/ports.js";
import { IMAGES } from "../../scripts/images/images.js";
import { XbstreamScanner } from "../../shared/backup/xbstream.js";
import { passwordTag, serverId } from "../../shared/managed/objects.js";
import { managedNames } from "../../shared/managed/sites.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { ANNOTATIONS, CLEANUP_FINALIZER } from "../../shared/names.js";
import { failoverGroup } from "../support/fixtures.js";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { applyAll, groupEvents, groupReader } from "../support/groups.js";
import { helm } from "../support/helm.js";
import { kubectl, mustKubectl, testKubeconfig } from "../support/kubectl.js";
import { podQuery, rootQuery } from "../support/mariadb-pod.js";
import { saveOperatorLogsOnFailure } from "../support/failure-logs.js";
import { containerPids, getObject, readyPod } from "../support/pods.js";

const suffix = randomBytes(3).toString("hex");
const operatorNs = `managed-system-${suffix}`;
const ns = `managed-${suffix}`;
const release = "bloodraven";
const PASSWORD = `root-${randomBytes(6).toString("hex")}`;
const REPLICATION_PASSWORD = `repl-${randomBytes(6).toString("hex")}`;
const ROLE_ACCOUNTS = {
  application: { user: "shop_app", password: `app-${randomBytes(6).toString("hex")}` },
  monitoring: { user: "exporter", password: `mon-${randomBytes(6).toString("hex")}` },
  backup: { user: "backup", password: `bak-${randomBytes(6).toString("hex")}` },
};
const SITES = ["iad", "pdx"];
/** Created by the test: the default class (standard) does not allow expansion, this one does. */
const EXPANDABLE = `expandable-${suffix}`;
const SFO_LABEL = `bloodraven.test/sfo-${suffix}`;

interface Owned {
  metadata: { ownerReferences?: { kind: string; name: string; controller?: boolean }[] };
}

/** root's password: the operator Secret's, which a test below rotates. */
let rootPassword = PASSWORD;
const query = (host: string, sql: string) => rootQuery(host, rootPassword, sql);
const jsonLines = (text: string): Record<string, unknown>[] =>
  text.split("\n").flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
/** The JSON log lines of every operator pod (only the leader acts, so only its lines say what was done). */
const operatorLines = async (): Promise<Record<string, unknown>[]> => jsonLines((await kubectl(["logs", "-n", operatorNs, "-l", `app.kubernetes.io/instance=${release}`, "--tail=-1"])).stdout);
/** The JSON log lines of a site's sidecar (its agent). */
const sidecarLines = async (site: string): Promise<Record<string, unknown>[]> => jsonLines((await kubectl(["logs", managedNames.pod("orders", site), "-c", "sidecar", "-n", ns])).stdout);
/** Rethrows a timeout with the operator's last lines matching `pattern` and the group's conditions. */
const explained = (pattern: RegExp, status: () => Promise<string>) => async (err: unknown): Promise<never> => {
  const lines = (await operatorLines()).filter((l) => pattern.test(String(l.msg)) || l.level === "ERROR" || l.level === "WARN");
  throw new Error(`${String(err)}\nstatus: ${await status().catch((e: unknown) => String(e))}\noperator:\n${lines.slice(-60).map((l) => JSON.stringify(l)).join("\n")}`);
};
const writerIP = async () => (await getObject<{ spec: { clusterIP: string } }>(["service", managedNames.writer("orders"), "-n", ns])).spec.clusterIP;
const site = (g: MysqlFailoverGroup, name: string) => g.status?.sites?.find((x) => x.name === name);
const condition = (g: MysqlFailoverGroup, type: string) => g.status?.conditions?.find((c) => c.type === type);
const role = async (site: string) =>
  (await getObject<{ metadata: { labels?: Record<string, string> } }>(["pod", managedNames.pod("orders", site), "-n", ns])).metadata.labels?.["shipstream.io/role"];

describe("managed sites on a real node (operator installed by the chart)", () => {
  const group = groupReader(ns);
  saveOperatorLogsOnFailure(operatorNs, `app.kubernetes.io/instance=${release}`);

  beforeAll(async () => {
    // One node holds every site here, and it carries the read-only taint of the sites that are not
    // writable: the operator's pods must tolerate it, as on any node of a site (docs/managed-sites.md).
    const toleration = ["key=shipstream.io/db-readonly-orders", "operator=Exists", "effect=NoExecute"].map((kv) => `tolerations[0].${kv}`);
    // A short Secret re-read, so that a rotated password is noticed within the test.
    await installOperatorChart({ kubeconfig: testKubeconfig(), namespace: operatorNs, release, set: [...toleration, "credentialsRefreshInterval=2s"] });
    await applyAll([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "orders-operator", namespace: ns }, stringData: { username: "root", password: PASSWORD } },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "orders-replication", namespace: ns }, stringData: { username: "repl", password: REPLICATION_PASSWORD } },
      ...Object.entries(ROLE_ACCOUNTS).map(([role, account]) => ({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: `orders-${role}`, namespace: ns },
        stringData: { username: account.user, password: account.password },
      })),
      failoverGroup(ns, "orders", {
        credentials: {
          operator: { secretName: "orders-operator" },
          replication: { secretName: "orders-replication" },
          ...Object.fromEntries(Object.keys(ROLE_ACCOUNTS).map((role) => [role, { secretName: `orders-${role}` }])),
        },
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
    await kubectl(["label", "node", NODE_NAME, `${SFO_LABEL}-`]);
    await kubectl(["delete", "storageclass", EXPANDABLE, "--ignore-not-found"]);
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
        "SELECT @@server_id AS id, @@log_bin AS binlog, @@gtid_strict_mode AS strict, @@log_slave_updates AS chained, @@max_connections AS maxConnections, @@datadir AS datadir",
      );
      // The datadir one level down the volume, where a clone can be staged beside it.
      expect(row).toEqual({ id: serverId(site), binlog: 1, strict: 1, chained: 1, maxConnections: 77, datadir: "/var/lib/mysql/data/" });
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
    ).catch(explained(/bootstrap|failover|site state/, async () => `${JSON.stringify((await group("orders")).status?.conditions)}\niad's sidecar:\n${(await kubectl(["logs", managedNames.pod("orders", "iad"), "-c", "sidecar", "-n", ns, "--tail=40"])).stdout}`));
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
    // pdx started empty beside a primary with data: its sidecar cloned iad's copy into its volume,
    // and the server restarted on it (the kubelet's restart ran the image's swap).
    const cloned = await waitFor("pdx's clone recorded", async () => (await operatorLines()).find((l) => l.msg === "bootstrap completed successfully" && l.site === "pdx"), 60_000, 500);
    expect(cloned).toMatchObject({ source: "auto-clone", donor: "iad", bytes: expect.any(Number) as unknown });
    // The operator made the replication account of the Secret on the primary, with one privilege.
    expect(replica.Master_User).toBe("repl");
    const iad = await readyPod(ns, managedNames.pod("orders", "iad"));
    const grants = (await query(iad.status?.podIP ?? "", "SHOW GRANTS FOR 'repl'@'%'")).map((r) => Object.values(r)[0] as string);
    expect(grants).toEqual([expect.stringMatching(/^GRANT REPLICATION SLAVE ON \*\.\* TO `repl`@`%` IDENTIFIED BY PASSWORD '\*[0-9A-F]{40}'$/)]);
  });

  it("runs each site's agent as its sidecar: the primary's holds its lease, a replica made writable by hand is fenced by its own", async () => {
    const pod = await readyPod(ns, managedNames.pod("orders", "pdx"));
    const sidecar = (await getObject<{ spec: { containers: { name: string; image: string }[] } }>(["pod", managedNames.pod("orders", "pdx"), "-n", ns])).spec.containers.find((c) => c.name === "sidecar");
    // The server's image, with the agent the init container copied in from the operator's.
    expect(sidecar?.image).toBe(IMAGES.mariadb);
    await waitFor("iad's agent armed", async () => (await sidecarLines("iad")).some((l) => l.msg === "self-fence monitor armed: the server is writable"), 30_000, 500);
    // And the primary's server enforces the lease itself (spec.sidecar.fenceDeadline, on by default).
    await waitFor("iad's fence deadline set", async () => (await sidecarLines("iad")).some((l) => l.msg === LOG_MESSAGES.fenceDeadlineArmed), 30_000, 500);
    const iadPod = await readyPod(ns, managedNames.pod("orders", "iad"));
    const [deadline] = await query(iadPod.status?.podIP ?? "", "SELECT at - UNIX_TIMESTAMP(NOW(6)) AS `left` FROM mysql.bloodraven_fence_deadline WHERE id = 1");
    expect(Number(deadline?.left)).toBeGreaterThan(0);
    expect((await sidecarLines("iad")).filter((l) => l.msg === LOG_MESSAGES.fenceDeadlineUnavailable)).toEqual([]);
    // The sidecar may start before mysqld (it retries the fence) and may meet the standby operator
    // replica (503, asked again until the leader answers): whatever the answers so far, pdx's
    // fence was kept, for a reason that is not pdx.
    const net = (await sidecarLines("pdx")).filter((l) => String(l.msg).startsWith("safety net") && l.msg !== "safety net: server not reachable yet, retrying");
    expect(net[0]?.msg).toBe("safety net: server fenced at start");
    for (const kept of net.slice(1)) {
      expect(kept).toMatchObject({ msg: "safety net: fence kept", reason: expect.stringMatching(/^(the operator names (iad|no active site)|no answer from the operator: HTTP 503: .*; asking again at every check)$/) });
    }
    expect(net.filter((l) => l.msg === "safety net: the operator names this site active, fence lifted")).toEqual([]);
    // By hand, as root: the operator alone would only report the split brain (no priorities, no history).
    await query(pod.status?.podIP ?? "", "SET GLOBAL read_only = 0");
    const fenced = await waitFor("pdx fenced by its sidecar", async () => (await sidecarLines("pdx")).find((l) => l.msg === "self-fence: server fenced, only the operator makes it writable again"), 30_000, 500);
    // Rule 1 (the operator, or iad's agent relaying it, names iad) once pdx's agent hears either
    // after the write; rule 2 when a whole lease passes first with every operator answer from the
    // standby replica behind the Service (503) and no peer learned yet (peers come with the
    // leader's answers). Either way pdx is fenced, which is what this test is about.
    expect(fenced).toMatchObject({ rule: expect.stringMatching(/^(topology|lease)$/) });
    expect(await query(pod.status?.podIP ?? "", "SELECT @@read_only AS ro")).toEqual([{ ro: 1 }]);
    expect((await sidecarLines("iad")).filter((l) => String(l.msg).startsWith("self-fence:"))).toEqual([]);
  });

  it("streams a backup of its server with the server's own mariadb-backup, to the group's token only", async () => {
    const secret = await getObject<{ data: Record<string, string>; metadata: { ownerReferences?: { kind: string }[] } }>(["secret", managedNames.agentToken("orders"), "-n", ns]);
    expect(secret.metadata.ownerReferences?.map((o) => o.kind)).toEqual(["MysqlFailoverGroup"]);
    const token = Buffer.from(secret.data.token ?? "", "base64").toString("utf8");
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const pdx = await readyPod(ns, managedNames.pod("orders", "pdx"));
    const url = `http://${pdx.status?.podIP ?? ""}:8080/v1/clone/backup`;
    expect((await fetch(url, { signal: AbortSignal.timeout(10_000) })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: "Bearer not-the-group-token-at-all" }, signal: AbortSignal.timeout(10_000) })).status).toBe(401);
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) });
    expect(res.status).toBe(200);
    // The whole stream, to its end: mariadb-backup ran to completion inside the pod.
    const scanner = new XbstreamScanner(["xtrabackup_binlog_info"]);
    scanner.push(new Uint8Array(await res.arrayBuffer()));
    const backup = scanner.end();
    expect(backup.files).toEqual(expect.arrayContaining(["ibdata1", "backup-my.cnf", "xtrabackup_info"]));
    expect(backup.captured.get("xtrabackup_binlog_info")).toMatch(/^mysql-bin\.\d+\t\d+\t\d+-\d+-\d+/);
  });

  it("creates the application, monitoring and backup accounts with their role's privileges, none of which passes read_only; scopes the application account to its databases", async () => {
    const iad = await readyPod(ns, managedNames.pod("orders", "iad"));
    const pdx = await readyPod(ns, managedNames.pod("orders", "pdx"));
    const grantsOf = async (user: string) => (await query(iad.status?.podIP ?? "", `SHOW GRANTS FOR '${user}'@'%'`)).map((r) => (Object.values(r)[0] as string).replace(/ IDENTIFIED BY PASSWORD '[^']+'/, ""));
    const grants = await waitFor("the accounts on the primary", async () => grantsOf("backup").catch(() => undefined), 30_000, 500);
    expect(grants).toEqual(["GRANT SELECT, RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, SHOW VIEW, EVENT, TRIGGER, SLAVE MONITOR ON *.* TO `backup`@`%`"]);
    expect(await grantsOf("exporter")).toEqual(["GRANT PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.* TO `exporter`@`%`", "GRANT SELECT ON `performance_schema`.* TO `exporter`@`%`"]);
    const app = ROLE_ACCOUNTS.application;
    expect((await grantsOf(app.user))[0]).toMatch(/^GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, REFERENCES, INDEX, ALTER, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER ON \*\.\* TO `shop_app`@`%`$/);
    // The application writes on the primary; the replica, read-only as a fenced server is, refuses it.
    await podQuery(iad.status?.podIP ?? "", app, "CREATE DATABASE IF NOT EXISTS app_check");
    await waitFor("app_check on pdx", async () => (await query(pdx.status?.podIP ?? "", "SHOW DATABASES LIKE 'app_check'")).length === 1, 30_000, 250);
    await expect(podQuery(pdx.status?.podIP ?? "", app, "CREATE TABLE app_check.t (id INT)")).rejects.toThrow(/read-only|READ-ONLY/);
    // The exporter reads replication status.
    const [status] = await podQuery(pdx.status?.podIP ?? "", ROLE_ACCOUNTS.monitoring, "SHOW SLAVE STATUS");
    expect(status?.Slave_IO_Running).toBe("Yes");
    // Scoped to app_check: granted there, revoked on *.*; the grant tables are out of its reach.
    await mustKubectl(["patch", "mfg", "orders", "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { credentials: { application: { databases: ["app_check"] } } } })]);
    const scoped = await waitFor("the application account scoped to app_check", async () => {
      const g = await grantsOf(app.user);
      return g.length === 2 && !g.some((line) => line.includes(" ON *.* ") && line.includes("INSERT")) ? g : undefined;
    }, 30_000, 500);
    expect(scoped[1]).toMatch(/^GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, REFERENCES, INDEX, ALTER, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER ON `app_check`\.\* TO `shop_app`@`%`$/);
    await podQuery(iad.status?.podIP ?? "", app, "CREATE TABLE IF NOT EXISTS app_check.scoped (id INT)");
    await expect(podQuery(iad.status?.podIP ?? "", app, "UPDATE mysql.global_priv SET Priv = Priv WHERE User = 'nobody'")).rejects.toThrow(/command denied/);
  });

  it("gives the replication account its Secret's password back when a replica is refused at login, and repoints it", async () => {
    const iad = await readyPod(ns, managedNames.pod("orders", "iad"));
    const pdx = await readyPod(ns, managedNames.pod("orders", "pdx"));
    // By hand, on the primary (replicated): the account no longer has the Secret's password.
    await query(iad.status?.podIP ?? "", "ALTER USER 'repl'@'%' IDENTIFIED BY 'changed-by-hand'");
    await query(pdx.status?.podIP ?? "", "STOP SLAVE IO_THREAD");
    await query(pdx.status?.podIP ?? "", "START SLAVE IO_THREAD");
    await waitFor("pdx replicating again as repl", async () => {
      const [row] = await query(pdx.status?.podIP ?? "", "SHOW SLAVE STATUS");
      return row?.Slave_IO_Running === "Yes" && row.Slave_SQL_Running === "Yes" && row.Last_IO_Errno === 0;
    }, 60_000, 250);
    // The Secret's password works again, on the primary and for the receiver.
    await podQuery(iad.status?.podIP ?? "", { user: "repl", password: REPLICATION_PASSWORD }, "SELECT 1");
  });

  it("rotates the replication password when its Secret changes: on the primary, and in every replica's source settings", async () => {
    const repointed = async () => (await operatorLines()).filter((l) => l.msg === "replica repointed with the replication account's password" && l.site === "pdx").length;
    const before = await repointed();
    const rotated = `rotated-${suffix}`;
    await mustKubectl(["patch", "secret", "orders-replication", "-n", ns, "--type=merge", "-p", JSON.stringify({ stringData: { password: rotated } })]);
    const iad = await readyPod(ns, managedNames.pod("orders", "iad"));
    // A refused login is thrown, not swallowed: a timeout then says how the server refused it.
    await waitFor("the new password on the primary", async () => (await podQuery(iad.status?.podIP ?? "", { user: "repl", password: rotated }, "SELECT 1")).length === 1, 60_000, 500);
    await waitFor("pdx repointed with it", async () => (await repointed()) > before, 30_000, 500);
    // A reconnect of pdx's receiver now logs in with the stored, rotated password.
    const pdx = await readyPod(ns, managedNames.pod("orders", "pdx"));
    await query(pdx.status?.podIP ?? "", "STOP SLAVE IO_THREAD");
    await query(pdx.status?.podIP ?? "", "START SLAVE IO_THREAD");
    await waitFor("pdx replicating", async () => {
      const [row] = await query(pdx.status?.podIP ?? "", "SHOW SLAVE STATUS");
      return row?.Slave_IO_Running === "Yes" && row.Last_IO_Errno === 0;
    }, 30_000, 250);
    expect(await repointed()).toBe(before + 1);
  });

  it("labels the pods by role, so writes through the writer Service land on the primary and reach the replica", async () => {
    await waitFor("role labels", async () => (await role("iad")) === "primary" && (await role("pdx")) === "replica", 30_000, 250);
    // A label lost by hand comes back the cycle the operator's watched copy of the pod shows it
    // (1 s polls), long before the 5-minute read-back pass.
    await mustKubectl(["label", "pod", managedNames.pod("orders", "pdx"), "-n", ns, "shipstream.io/role-"]);
    await waitFor("pdx labelled replica again", async () => (await role("pdx")) === "replica", 4_000, 100);
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

  it("shows each site's pod in status, and Bootstrapping False once every server answered and every new one was cloned", async () => {
    const g = await waitFor("every pod Ready in status", async () => {
      const current = await group("orders");
      return SITES.every((s) => site(current, s)?.pod?.ready) ? current : undefined;
    }, 30_000, 500);
    for (const s of SITES) expect(site(g, s)?.pod).toMatchObject({ name: managedNames.pod("orders", s), phase: "Running", ready: true, node: NODE_NAME });
    // The last clone into a new site's pod (pdx, then sfo) set the condition last.
    expect(g.status?.bootstrap).toMatchObject({ source: "auto-clone", phase: "Done" });
    expect(condition(g, "Bootstrapping")).toMatchObject({ status: "False", reason: "Done" });
  });

  it("adds a third site: Bootstrapping names it until its server answers, then it replicates everything", async () => {
    await applyAll([
      { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: EXPANDABLE }, provisioner: "kubernetes.io/host-path", reclaimPolicy: "Delete", allowVolumeExpansion: true },
    ]);
    // sfo's nodes are those with a label no node has yet: its pod stays Pending until the test adds it.
    const sfo = { name: "sfo", storage: { size: "256Mi", storageClassName: EXPANDABLE }, taintNodeSelector: { [SFO_LABEL]: "yes" } };
    await mustKubectl(["patch", "mfg", "orders", "-n", ns, "--type=json", "-p", JSON.stringify([{ op: "add", path: "/spec/sites/-", value: sfo }])]);
    const starting = await waitFor("Bootstrapping True for sfo's Pending pod", async () => {
      const c = condition(await group("orders"), "Bootstrapping");
      return c?.status === "True" && c.message.includes(`site sfo: its pod ${managedNames.pod("orders", "sfo")} is Pending`) ? c : undefined;
    }, 60_000, 250);
    expect(starting).toMatchObject({ reason: "SitesStarting", message: `site sfo: its pod ${managedNames.pod("orders", "sfo")} is Pending, not Ready` });
    await mustKubectl(["label", "node", NODE_NAME, `${SFO_LABEL}=yes`]);
    const pod = await readyPod(ns, managedNames.pod("orders", "sfo"), { timeoutMs: 120_000 });
    const rows = await waitFor("sfo replicating every row", async () => {
      const r = await query(pod.status?.podIP ?? "", "SELECT id FROM shop.orders ORDER BY id").catch(() => []);
      return r.length === 2 ? r : undefined;
    }, 60_000, 250);
    expect(rows).toEqual([{ id: 1 }, { id: 2 }]);
    const g = await waitFor("sfo read-only and Bootstrapping False", async () => {
      const current = await group("orders");
      return site(current, "sfo")?.state === "read-only" && condition(current, "Bootstrapping")?.status === "False" ? current : undefined;
    }, 60_000, 250);
    expect(g.status?.activeSite).toBe("iad");
    expect(await role("sfo")).toBe("replica");
  });

  it("grows a volume whose StorageClass allows it, says why not for one that does not, and refuses a shrink", async () => {
    const claimSize = async (s: string) =>
      (await getObject<{ spec: { resources: { requests: { storage: string } } } }>(["pvc", managedNames.claim("orders", s), "-n", ns])).spec.resources.requests.storage;
    const resize = (index: number, size: string) => kubectl(["patch", "mfg", "orders", "-n", ns, "--type=json", "-p", JSON.stringify([{ op: "replace", path: `/spec/sites/${index}/storage/size`, value: size }])]);
    expect((await resize(2, "512Mi")).code).toBe(0);
    await waitFor("sfo's claim asking for 512Mi", async () => (await claimSize("sfo")) === "512Mi", 60_000, 250);
    expect((await resize(0, "512Mi")).code).toBe(0);
    const events = await waitFor("StorageResizeFailed for iad", async () => {
      const all = await groupEvents(ns, "orders");
      return all.some((e) => e.reason === "StorageResizeFailed") ? all : undefined;
    }, 60_000, 500);
    expect(events.find((e) => e.reason === "StorageResizeRequested")?.message).toBe(
      `site sfo: data volume ${managedNames.claim("orders", "sfo")} from 256Mi to 512Mi: requested; the StorageClass's driver grows the volume`,
    );
    const failure = events.find((e) => e.reason === "StorageResizeFailed")?.message ?? "";
    expect(failure).toContain(`site iad: data volume ${managedNames.claim("orders", "iad")} from 256Mi to 512Mi: refused: `);
    expect(failure).toContain("allowVolumeExpansion: true");
    expect(await claimSize("iad")).toBe("256Mi");
    // The claim templates keep the size each site was created with, and the objects are still applied.
    const template = await getObject<{ spec: { volumeClaimTemplates: { spec: { resources: { requests: { storage: string } } } }[] } }>(["statefulset", managedNames.site("orders", "sfo"), "-n", ns]);
    expect(template.spec.volumeClaimTemplates[0]?.spec.resources.requests.storage).toBe("256Mi");

    const shrink = await resize(2, "128Mi");
    expect(shrink.code).not.toBe(0);
    expect(shrink.stderr).toContain("`storage.size` may not shrink");
    const otherClass = await kubectl(["patch", "mfg", "orders", "-n", ns, "--type=json", "-p", JSON.stringify([{ op: "replace", path: "/spec/sites/2/storage/storageClassName", value: "standard" }])]);
    expect(otherClass.stderr).toContain("`storage.storageClassName` may not change once the site exists");
    const removeActive = await kubectl(["patch", "mfg", "orders", "-n", ns, "--type=json", "-p", JSON.stringify([{ op: "remove", path: "/spec/sites/0" }])]);
    expect(removeActive.stderr).toContain("the active site (status.activeSite) may not be removed from `spec.sites`");
  });

  it("fails over when the primary's mysqld is killed with SIGKILL again and again; the old primary rejoins read-only with every write", async () => {
    const writer = await writerIP();
    await query(writer, "INSERT INTO shop.orders VALUES (3, 'before the crash loop')");
    for (const s of ["pdx", "sfo"]) {
      const replica = await readyPod(ns, managedNames.pod("orders", s));
      await waitFor(`row 3 on ${s}`, async () => (await query(replica.status?.podIP ?? "", "SELECT id FROM shop.orders WHERE id = 3").catch(() => [])).length === 1, 30_000, 250);
    }
    // A crash loop: the kubelet restarts the container at once the first time, then backs off;
    // each time mysqld is back it is killed again, until the operator has promoted another site.
    // mysqld may answer a poll between two kills: the operator then rightly re-asserts it (the
    // recorded primary, back read-only with every transaction), and the wait for its agent's lease
    // starts over; so this may take a few rounds of the kubelet's backoff.
    const iadPod = managedNames.pod("orders", "iad");
    let kills = 0;
    const g = await waitFor("failover away from iad", async () => {
      const current = await group("orders");
      if (current.status?.activeSite && current.status.activeSite !== "iad") return current;
      const pids = await containerPids(ns, iadPod, "mysql", "mariadbd").catch(() => []);
      for (const pid of pids) {
        process.kill(pid, "SIGKILL");
        kills++;
      }
      return undefined;
    }, 180_000, 200).catch(explained(/failover|site state|verdict/, async () => JSON.stringify((await group("orders")).status?.conditions)));
    expect(kills).toBeGreaterThan(0);
    const primary = g.status?.activeSite ?? "";
    expect(["pdx", "sfo"]).toContain(primary);
    expect(g.status?.lastFailoverTarget).toBe(primary);
    await waitFor("the labels on the new primary", async () => (await role(primary)) === "primary" && (await role("iad")) === "replica", 30_000, 250);
    const through = await waitFor("the writer Service on the new primary", async () => {
      const [row] = await query(writer, "SELECT @@hostname AS host").catch(() => []);
      return row?.host === managedNames.pod("orders", primary) ? row : undefined;
    }, 30_000, 250);
    expect(through).toEqual({ host: managedNames.pod("orders", primary) });
    await query(writer, "INSERT INTO shop.orders VALUES (4, 'after the crash loop')");
    const iad = await readyPod(ns, iadPod, { timeoutMs: 120_000 });
    const rows = await waitFor("iad back with every row", async () => {
      const r = await query(iad.status?.podIP ?? "", "SELECT id FROM shop.orders ORDER BY id").catch(() => []);
      return r.length === 4 ? r : undefined;
    }, 90_000, 250);
    expect(rows).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }]);
    expect(await query(iad.status?.podIP ?? "", "SELECT @@read_only AS ro")).toEqual([{ ro: 1 }]);
    await waitFor("iad read-only in status", async () => site(await group("orders"), "iad")?.state === "read-only", 60_000, 250);
  }, 480_000);

  it("deleting the primary's pod: whichever way the timing goes, one writable site after, the labels and writer Service on it, every row everywhere", async () => {
    const all = ["iad", "pdx", "sfo"];
    const primary = (await group("orders")).status?.activeSite ?? "";
    const writer = await writerIP();
    await query(writer, "INSERT INTO shop.orders VALUES (5, 'before the pod deletion')");
    for (const s of all) {
      const p = await readyPod(ns, managedNames.pod("orders", s));
      await waitFor(`row 5 on ${s}`, async () => (await query(p.status?.podIP ?? "", "SELECT id FROM shop.orders WHERE id = 5").catch(() => [])).length === 1, 30_000, 250);
    }
    const old = await readyPod(ns, managedNames.pod("orders", primary));
    await mustKubectl(["delete", "pod", managedNames.pod("orders", primary), "-n", ns, "--wait=false"]);
    await readyPod(ns, managedNames.pod("orders", primary), { replacing: old.metadata.uid, timeoutMs: 120_000 });
    // Back within failureThreshold polls, the recorded primary is made writable again; later, another site was promoted. Both are right.
    const g = await waitFor("the group Ready again", async () => {
      const current = await group("orders");
      return condition(current, "Ready")?.status === "True" && current.status?.activeSite ? current : undefined;
    }, 90_000, 250);
    const active = g.status?.activeSite ?? "";
    await waitFor("the labels on the active site", async () => {
      for (const s of all) if ((await role(s)) !== (s === active ? "primary" : "replica")) return false;
      return true;
    }, 30_000, 250);
    await waitFor("the writer Service on the active site", async () => {
      const [row] = await query(writer, "SELECT @@hostname AS host").catch(() => []);
      return row?.host === managedNames.pod("orders", active);
    }, 30_000, 250);
    for (const s of all) {
      const p = await readyPod(ns, managedNames.pod("orders", s));
      const [row] = await query(p.status?.podIP ?? "", "SELECT @@read_only AS ro, (SELECT COUNT(*) FROM shop.orders WHERE id = 5) AS row5");
      expect({ site: s, ...row }).toEqual({ site: s, ro: s === active ? 0 : 1, row5: 1 });
    }
  });

  it("rolls a new image and an option change onto every pod under writes: replicas first, then one switchover; nothing lost, never two writable", async () => {
    const all = ["iad", "pdx", "sfo"];
    const nextImage = inject("nextMariadbImage");
    const writer = await writerIP();
    // The ledger writes as an account without SUPER: root passes MariaDB's read_only, an application does not.
    const app = { user: "ledger", password: `ledger-${suffix}` };
    await query(writer, `CREATE USER IF NOT EXISTS '${app.user}'@'%' IDENTIFIED BY '${app.password}'`);
    await query(writer, `GRANT SELECT, INSERT ON shop.* TO '${app.user}'@'%'`);
    await query(writer, "CREATE TABLE shop.ledger (id INT PRIMARY KEY)");
    const before = await group("orders");
    const firstPrimary = before.status?.activeSite ?? "";

    const podIPs = new Map<string, string>();
    const refreshIPs = async () => {
      const pods = await getObject<{ items: { metadata: { labels: Record<string, string> }; status: { podIP?: string } }[] }>(["pods", "-n", ns, "-l", "shipstream.io/failover-group=orders"]);
      for (const p of pods.items) if (p.status.podIP) podIPs.set(p.metadata.labels["shipstream.io/site"] ?? "", p.status.podIP);
    };
    await refreshIPs();
    const deadline = Date.now() + 300_000;
    let stop = false;
    const acked: number[] = [];
    const started = Date.now();
    const attempts: { at: number; error?: string }[] = [];
    const writing = (async () => {
      for (let id = 1; !stop && Date.now() < deadline; id++) {
        const at = Date.now() - started;
        const error = await podQuery(writer, app, `INSERT INTO shop.ledger VALUES (${id})`).then(() => undefined, (err: unknown) => String(err));
        if (error === undefined) acked.push(id);
        attempts.push({ at, ...(error === undefined ? {} : { error }) });
        await sleep(20);
      }
    })();
    let maxWritable = 0;
    let samples = 0;
    const sampling = (async () => {
      for (let i = 0; !stop && Date.now() < deadline; i++) {
        if (i % 10 === 0) await refreshIPs().catch(() => undefined);
        const writable = await Promise.all(
          all.map(async (s) => {
            const ip = podIPs.get(s);
            const [row] = ip ? await podQuery(ip, app, "SELECT @@read_only AS ro").catch(() => []) : [];
            return row?.ro === 0;
          }),
        );
        maxWritable = Math.max(maxWritable, writable.filter(Boolean).length);
        samples++;
        await sleep(50);
      }
    })();

    try {
      await sleep(2_000);
      // A new image and an option change in one generation: one rolling update carries both.
      await mustKubectl(["patch", "mfg", "orders", "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { image: nextImage, mysqlConf: { max_connections: "78" } } })]);
      await waitFor("Updating True", async () => condition(await group("orders"), "Updating")?.status === "True", 60_000, 250);
      let last = "";
      const done = await waitFor("every pod on the new template and Updating False", async () => {
        const g = await group("orders");
        const updating = condition(g, "Updating");
        last = `Updating ${updating?.status} ${updating?.reason}: ${updating?.message}; active ${g.status?.activeSite}; planned ${JSON.stringify(g.status?.plannedFailover)}`;
        if (updating?.reason !== "UpToDate" || !g.status?.activeSite) return undefined;
        for (const s of all) {
          const ip = podIPs.get(s);
          const [row] = ip ? await query(ip, "SELECT @@max_connections AS m").catch(() => []) : [];
          if (row?.m !== 78) return undefined;
        }
        return g;
      }, 240_000, 1_000).catch(explained(/update|planned|switchover|reconcile failed/i, async () => last));
      await sleep(2_000);
      stop = true;
      await Promise.all([writing, sampling]);

      const primary = done.status?.activeSite ?? "";
      expect(primary).not.toBe(firstPrimary);
      const pods = await getObject<{ items: { spec: { containers: { name: string; image: string }[] } }[] }>(["pods", "-n", ns, "-l", "shipstream.io/failover-group=orders"]);
      expect(pods.items.map((p) => p.spec.containers.find((c) => c.name === "mysql")?.image)).toEqual(all.map(() => nextImage));
      expect(done.status?.plannedFailover).toMatchObject({ phase: "Succeeded", target: primary, source: firstPrimary, transactionsLost: 0 });
      const events = await groupEvents(ns, "orders");
      const restarted = events.filter((e) => e.reason === "UpdateRestartingSite").map((e) => /^site (\S+):/.exec(e.message)?.[1]);
      expect(restarted.sort()).toEqual([...all].sort());
      expect(events.filter((e) => e.reason === "UpdateSwitchoverRequested")).toHaveLength(1);
      expect(events.some((e) => e.reason === "UpdateCompleted")).toBe(true);
      expect(events.filter((e) => e.reason === "UpdateBlocked")).toEqual([]);

      // Every acknowledged write is on the new primary; writes stopped in one window at most, the switchover's.
      const stored = new Set((await query(podIPs.get(primary) ?? "", "SELECT id FROM shop.ledger")).map((r) => r.id as number));
      expect(acked.filter((id) => !stored.has(id))).toEqual([]);
      const windows = failureWindows(attempts, started);
      const timeline = events.map((e) => `${e.time} ${e.reason}: ${e.message}`).join("\n");
      expect(windows.length, `${JSON.stringify(windows)}\nstarted ${new Date(started).toISOString()}\n${timeline}`).toBeLessThanOrEqual(1);
      expect(acked.length).toBeGreaterThan(100);
      expect(samples).toBeGreaterThan(100);
      expect(maxWritable).toBe(1);
    } finally {
      stop = true;
      await Promise.all([writing, sampling]);
    }
  }, 330_000);

  /** Every row of shop.orders on a site's pod, once it holds as many as the primary. */
  const sameRows = async (site: string): Promise<unknown[]> => {
    const expected = await query(await writerIP(), "SELECT id FROM shop.orders ORDER BY id");
    const pod = await readyPod(ns, managedNames.pod("orders", site), { timeoutMs: 180_000 });
    return waitFor(`${site} holding every row`, async () => {
      const rows = await query(pod.status?.podIP ?? "", "SELECT id FROM shop.orders ORDER BY id").catch(() => []);
      return rows.length === expected.length ? rows : undefined;
    }, 120_000, 500);
  };

  it("reclones a managed replica with `kubectl bloodraven reclone --cold --yes --wait`: a copy of the primary, then it replicates", async () => {
    const before = await group("orders");
    const target = ["sfo", "pdx", "iad"].find((s) => s !== before.status?.activeSite) ?? "sfo";
    const r = await kubectl(["bloodraven", "reclone", "orders", target, "-n", ns, "--cold", "--yes", "--wait", "--timeout=4m"], { timeoutMs: 300_000 });
    const donorLog = async () => (await kubectl(["logs", managedNames.pod("orders", before.status?.activeSite ?? ""), "-c", "sidecar", "-n", ns, "--tail=30"])).stdout;
    expect(r.code, `${r.stdout}\n${r.stderr}\ndonor's sidecar:\n${r.code === 0 ? "" : await donorLog()}`).toBe(0);
    expect(r.stdout).toContain(`reclone of ${target} in ${ns}/orders done after`);
    expect((await group("orders")).status?.bootstrap).toMatchObject({ site: target, source: "reclone", phase: "Done", donor: before.status?.activeSite });
    expect((await sameRows(target)).length).toBeGreaterThan(0);
    const after = await waitFor(`${target} read-only and replicating`, async () => {
      const g = await group("orders");
      return site(g, target)?.state === "read-only" && site(g, target)?.replicating ? g : undefined;
    }, 60_000, 500);
    expect(after.status?.activeSite).toBe(before.status?.activeSite);
  });

  it("rotates the operator's own password on every server without a transaction of its own, and a switchover afterwards succeeds", async () => {
    const all = ["iad", "pdx", "sfo"];
    const pods = await Promise.all(all.map((s) => readyPod(ns, managedNames.pod("orders", s))));
    const gtids = async () => Promise.all(pods.map(async (p) => String((await query(p.status?.podIP ?? "", "SELECT @@gtid_binlog_pos AS g"))[0]?.g)));
    // The update's ledger writes may still be replicating to a replica that restarted last.
    const before = await waitFor("every site at the same position", async () => {
      const positions = await gtids();
      return new Set(positions).size === 1 ? positions : undefined;
    }, 60_000, 250);
    const rotated = `root-rotated-${suffix}`;
    await mustKubectl(["patch", "secret", "orders-operator", "-n", ns, "--type=merge", "-p", JSON.stringify({ stringData: { password: rotated } })]);
    for (const p of pods) {
      await waitFor(`the new root password on ${p.metadata.name}`, async () => (await rootQuery(p.status?.podIP ?? "", rotated, "SELECT 1")).length === 1, 60_000, 500);
    }
    rootPassword = rotated;
    // Changed on each server by itself: no server got a transaction (the binary log positions did not move).
    expect(await gtids()).toEqual(before);
    // The annotated pods' mounted Secrets are refreshed at once, not at the kubelet's periodic
    // sync (a minute or more): every sidecar logs in with the new password within seconds.
    for (const s of all) {
      const annotations = (await getObject<{ metadata: { annotations?: Record<string, string> } }>(["pod", managedNames.pod("orders", s), "-n", ns])).metadata.annotations;
      expect(annotations?.[ANNOTATIONS.operatorPasswordChanged], s).toMatch(/^\d{4}-\d\d-\d\dT/);
      await waitFor(`${s}'s sidecar on the new password`, async () => (await sidecarLines(s)).some((l) => l.msg === LOG_MESSAGES.agentPasswordChanged), 20_000, 500);
    }
    const g = await group("orders");
    const target = all.find((s) => s !== g.status?.activeSite && s !== "sfo") ?? "iad";
    const r = await kubectl(["bloodraven", "failover", "orders", target, "-n", ns, "--wait", "--timeout=90s"], { timeoutMs: 120_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect((await group("orders")).status?.plannedFailover).toMatchObject({ phase: "Succeeded", target, transactionsLost: 0 });
    const lines = await operatorLines();
    expect(lines.filter((l) => l.msg === "operator password changed on a managed server").map((l) => l.site).sort()).toEqual([...all].sort());
  });

  it("an operator restarted in the middle of a rotation takes the previous password from its Secret for the server it had not reached", async () => {
    const g = await group("orders");
    const frozen = ["sfo", "pdx", "iad"].find((s) => s !== g.status?.activeSite) ?? "sfo";
    const others = ["iad", "pdx", "sfo"].filter((s) => s !== frozen);
    const pods = Object.fromEntries(await Promise.all(["iad", "pdx", "sfo"].map(async (s) => [s, await readyPod(ns, managedNames.pod("orders", s))] as const)));
    const ip = (site: string) => pods[site]?.status?.podIP ?? "";
    const pids = await containerPids(ns, managedNames.pod("orders", frozen), "mysql", "mariadbd");
    expect(pids).toHaveLength(1);
    const rotated = `root-again-${suffix}`;
    const previous = rootPassword;
    // The frozen server accepts connections (its TCP probes pass) but answers nothing: the operator cannot change it.
    process.kill(pids[0]!, "SIGSTOP");
    try {
      await mustKubectl(["patch", "secret", "orders-operator", "-n", ns, "--type=merge", "-p", JSON.stringify({ stringData: { password: rotated } })]);
      for (const s of others) await waitFor(`the new root password on ${s}`, async () => (await rootQuery(ip(s), rotated, "SELECT 1").catch(() => [])).length === 1, 60_000, 500);
      // Named by the password that replaced it: the earlier rotation left one of its own.
      const kept = managedNames.previousOperator("orders", passwordTag(g.metadata.uid ?? "", rotated));
      await waitFor("the previous password's Secret", async () => (await kubectl(["get", "secret", kept, "-n", ns])).code === 0, 30_000, 500);
      const data = (await getObject<{ data: Record<string, string> }>(["secret", kept, "-n", ns])).data;
      expect(Buffer.from(data.password ?? "", "base64").toString()).toBe(previous);
      // The operator forgets what it was doing: every replica restarts.
      await mustKubectl(["delete", "pods", "-n", operatorNs, "-l", `app.kubernetes.io/instance=${release}`, "--wait=true", "--timeout=60s"]);
      await mustKubectl(["rollout", "status", `deployment/${release}`, "-n", operatorNs, "--timeout=120s"]);
    } finally {
      process.kill(pids[0]!, "SIGCONT");
    }
    await waitFor(`the new root password on ${frozen}`, async () => (await rootQuery(ip(frozen), rotated, "SELECT 1").catch(() => [])).length === 1, 120_000, 1_000);
    rootPassword = rotated;
    const recalled = (await operatorLines()).filter((l) => l.msg === LOG_MESSAGES.previousPasswordRecalled);
    expect(recalled.map((l) => l.site)).toContain(frozen);
  });

  it("refills a managed replica whose volume is lost (claim and pod deleted): the new, empty volume is cloned from the primary without being asked", async () => {
    const before = await group("orders");
    const target = ["sfo", "pdx", "iad"].find((s) => s !== before.status?.activeSite) ?? "sfo";
    const claim = managedNames.claim("orders", target);
    const oldUid = (await getObject<{ metadata: { uid: string } }>(["pvc", claim, "-n", ns])).metadata.uid;
    await mustKubectl(["delete", "pvc", claim, "-n", ns, "--wait=false"]);
    await mustKubectl(["delete", "pod", managedNames.pod("orders", target), "-n", ns, "--wait=true", "--timeout=90s"]);
    await waitFor(`a new claim for ${target}`, async () => {
      const got = await kubectl(["get", "pvc", claim, "-n", ns, "-o", "jsonpath={.metadata.uid}"]);
      return got.code === 0 && got.stdout !== "" && got.stdout !== oldUid;
    }, 120_000, 500);
    expect((await sameRows(target)).length).toBeGreaterThan(0);
    const g = await waitFor(`${target}'s clone Done and the site replicating`, async () => {
      const current = await group("orders");
      return current.status?.bootstrap?.site === target && current.status.bootstrap.phase === "Done" && site(current, target)?.replicating ? current : undefined;
    }, 120_000, 500);
    expect(g.status?.bootstrap).toMatchObject({ site: target, source: "auto-clone", donor: before.status?.activeSite });
    expect(g.status?.activeSite).toBe(before.status?.activeSite);
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

/** The runs of consecutive failed writes: when each began and ended, how many, and the first error. */
function failureWindows(attempts: readonly { at: number; error?: string }[], started: number): { from: string; ms: number; failed: number; error: string }[] {
  const windows: { from: string; ms: number; failed: number; error: string }[] = [];
  let open: { at: number; last: number; failed: number; error: string } | undefined;
  for (const a of [...attempts, { at: Number.POSITIVE_INFINITY }]) {
    if (a.error !== undefined) {
      open = open ? { ...open, last: a.at, failed: open.failed + 1 } : { at: a.at, last: a.at, failed: 1, error: a.error };
    } else if (open) {
      windows.push({ from: new Date(started + open.at).toISOString(), ms: open.last - open.at, failed: open.failed, error: open.error });
      open = undefined;
    }
  }
  return windows;
}
