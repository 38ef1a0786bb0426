/**
 * MysqlBackups on the real node: the operator (installed by the chart) chooses each backup's
 * source among the managed sites, writes it Running, and makes a Job of its own image that pulls
 * the copy from that site's sidecar into a real S3 store (MinIO on the machine's address, where
 * the node's pods reach it); the Job's result becomes the backup's status, with its events.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { installOperatorChart } from "../../scripts/env/helm.js";
import { machineAddress, NODE_NAME } from "../../scripts/env/node.js";
import { waitFor } from "../../scripts/env/ports.js";
import { PrometheusServer } from "../../scripts/env/prometheus-server.js";
import { createBucket, startS3Store, type S3Store } from "../../scripts/env/s3-store.js";
import { IMAGES } from "../../scripts/images/images.js";
import type { ArchiverStatus } from "../../shared/agent/archiver-status.js";
import { archiveFolder, ARCHIVE_MANIFEST } from "../../shared/backup/binlog-archive.js";
import { artifactFolder } from "../../shared/backup/manifest.js";
import type { MysqlBackup, MysqlBackupVerification, MysqlFailoverGroup } from "../../shared/api/index.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { managedNames } from "../../shared/managed/sites.js";
import { S3ObjectStore } from "../../operator/backup/object-store.js";
import { readManifest } from "../../operator/backup/restore-backup.js";
import { failoverGroup } from "../support/fixtures.js";
import { applyAll, groupEvents, groupReader } from "../support/groups.js";
import { runDashboards } from "../support/dashboards.js";
import { helm } from "../support/helm.js";
import { saveOperatorLogsOnFailure } from "../support/failure-logs.js";
import { kubectl, run, startKubectl, testKubeconfig } from "../support/kubectl.js";
import { rootQuery } from "../support/mariadb-pod.js";
import { getObject, readyPod } from "../support/pods.js";

const suffix = randomBytes(3).toString("hex");
const operatorNs = `backups-system-${suffix}`;
const ns = `backups-${suffix}`;
const release = "bloodraven";
const PASSWORD = `root-${randomBytes(6).toString("hex")}`;
const BUCKET = "backups";
const PREFIX = "prod";

const backup = (name: string, profileName: string): object => ({ apiVersion: "shipstream.io/v1alpha1", kind: "MysqlBackup", metadata: { name, namespace: ns }, spec: { failoverGroupRef: { name: "orders" }, profileName, triggeredBy: "manual" } });
const readBackup = (name: string) => getObject<MysqlBackup>(["mysqlbackup", name, "-n", ns]);
/** What a backup's Job printed and its pod's state, for a failure's message. */
const jobLog = async (job: string): Promise<string> => {
  const logs = await kubectl(["logs", `job/${job}`, "-n", ns, "--tail=30"]);
  const pods = await kubectl(["get", "pods", "-n", ns, "-l", `batch.kubernetes.io/job-name=${job}`, "-o", "jsonpath={.items[*].status.containerStatuses}"]);
  return `\n--- ${job} log ---\n${logs.stdout}${logs.stderr}\n--- its pod ---\n${pods.stdout}`;
};
/**
 * The plain `kubectl` lines of a bundled runbook's code blocks, run through bash as a reader
 * pastes them, with the runbook's example names replaced and this namespace added; their output.
 */
async function runbookKubectl(name: string, replacements: [string, string][], atLeast: number): Promise<string> {
  const runbook = readFileSync(new URL(`../../cli/runbooks/${name}.md`, import.meta.url), "utf8");
  let inCode = false;
  const commands = runbook.split("\n").filter((line) => (/^\s*```/.test(line) ? ((inCode = !inCode), false) : inCode && line.startsWith("kubectl ") && !line.startsWith("kubectl bloodraven")));
  expect(commands.length).toBeGreaterThanOrEqual(atLeast);
  const outputs: string[] = [];
  for (const command of commands) {
    const named = replacements.reduce((text, [from, to]) => text.replaceAll(from, to), command);
    // -n goes before a pipe, onto the kubectl command itself.
    const [kubectlPart = "", ...piped] = named.split(" | ");
    const r = await run("bash", ["-c", [`${kubectlPart} -n ${ns}`, ...piped].join(" | ")], { env: { ...process.env, KUBECONFIG: testKubeconfig() } });
    expect(r.code, `${command}\n${r.stderr}`).toBe(0);
    outputs.push(r.stdout);
  }
  return outputs.join("\n");
}

/** The backup once it has finished, either way. */
const finished = (name: string) =>
  waitFor(
    `${name} finished`,
    async () => {
      const b = await readBackup(name);
      return b.status?.phase === "Succeeded" || b.status?.phase === "Failed" ? b : undefined;
    },
    180_000,
    1_000,
  );

describe("MysqlBackups of managed sites on a real node, into a real S3 store", () => {
  const group = groupReader(ns);
  let store: S3Store;
  let s3: S3ObjectStore;
  /** Scrapes the chart's operator pods from the start, for the dashboards' check at the end. */
  let prometheus: PrometheusServer;
  let followPods: NodeJS.Timeout | undefined;
  const started = Date.now() / 1000;
  /** The operator pods' metrics addresses (pods come and go: one test kills them all). */
  const operatorTargets = async (): Promise<string[]> => {
    const pods = await getObject<{ items: { status: { podIP?: string } }[] }>(["pods", "-n", operatorNs, "-l", `app.kubernetes.io/instance=${release}`]);
    return pods.items.flatMap((p) => (p.status.podIP ? [`${p.status.podIP}:8080`] : []));
  };
  saveOperatorLogsOnFailure(operatorNs, `app.kubernetes.io/instance=${release}`);
  const s3Profile = (name: string, credentials: string) => ({ name, storage: { s3: { bucket: BUCKET, prefix: PREFIX, endpointURL: store.endpoint, credentialsSecret: { name: credentials, accessKeyIdKey: "id", secretAccessKeyKey: "key" } } } });
  const objectsOf = async (name: string): Promise<string[]> => (await s3.list(`${artifactFolder(PREFIX, { namespace: ns, group: "orders", backup: name })}/`, AbortSignal.timeout(10_000))).map((o) => o.key);

  beforeAll(async () => {
    store = await startS3Store({ address: machineAddress() });
    await createBucket(store, BUCKET);
    s3 = new S3ObjectStore({ bucket: BUCKET, region: store.region, endpoint: store.endpoint, credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey } });
    // The operator stays on the one node whichever group taints it (orders, then copy).
    const toleration = ["orders", "copy"].flatMap((g, i) => [`key=shipstream.io/db-readonly-${g}`, "operator=Exists", "effect=NoExecute"].map((kv) => `tolerations[${i}].${kv}`));
    await installOperatorChart({ kubeconfig: testKubeconfig(), namespace: operatorNs, release, set: toleration });
    prometheus = await PrometheusServer.start({ targets: await operatorTargets(), interval: "2s" });
    // Follows the pods as a Prometheus in the cluster would; cleared in afterAll.
    followPods = setInterval(() => void operatorTargets().then((t) => prometheus.setTargets(t), () => undefined), 3_000);
    await applyAll([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "orders-operator", namespace: ns }, stringData: { username: "root", password: PASSWORD } },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "store", namespace: ns }, stringData: { id: store.accessKeyId, key: store.secretAccessKey } },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "store-wrong", namespace: ns }, stringData: { id: store.accessKeyId, key: `wrong-${randomBytes(8).toString("hex")}` } },
      failoverGroup(ns, "orders", {
        credentials: { operator: { secretName: "orders-operator" } },
        image: IMAGES.mariadb,
        pollInterval: "1s",
        sites: ["iad", "pdx"].map((name) => ({ name, storage: { size: "256Mi" }, taintNodeSelector: { "kubernetes.io/hostname": NODE_NAME } })),
        backup: { profiles: [s3Profile("nightly", "store"), s3Profile("broken", "store-wrong")], pitr: { enabled: true, profileName: "nightly", archivePollInterval: "2s" } },
      }),
    ]);
    await waitFor(
      "iad writable, pdx replicating",
      async () => {
        const g: MysqlFailoverGroup = await group("orders");
        const state = (site: string) => g.status?.sites?.find((s) => s.name === site)?.state;
        return g.status?.activeSite === "iad" && state("pdx") === "read-only" && g.status.bootstrap?.phase !== "Cloning";
      },
      180_000,
      1_000,
    );
  });

  afterAll(async () => {
    await kubectl(["delete", "mfg", "orders", "copy", "-n", ns, "--wait=false", "--ignore-not-found"]);
    for (const g of ["orders", "copy"]) await kubectl(["taint", "nodes", NODE_NAME, `shipstream.io/db-readonly-${g}-`]);
    await helm(["uninstall", release, "--namespace", operatorNs, "--wait"]);
    await kubectl(["delete", "namespace", operatorNs, ns, "--wait=false"]);
    await store?.stop();
    clearInterval(followPods);
    await prometheus?.stop();
  });

  it("backs up the replica into the store: Succeeded with its size and GTID position, the manifest agreeing, started and succeeded events", async () => {
    const iad = await readyPod(ns, managedNames.pod("orders", "iad"));
    await rootQuery(iad.status?.podIP ?? "", PASSWORD, "CREATE DATABASE IF NOT EXISTS shop");
    await rootQuery(iad.status?.podIP ?? "", PASSWORD, "CREATE TABLE IF NOT EXISTS shop.orders (id INT PRIMARY KEY)");
    await rootQuery(iad.status?.podIP ?? "", PASSWORD, "INSERT INTO shop.orders VALUES (1), (2), (3)");
    // Through the plugin, as on-call takes one: it follows the backup to its end.
    const taken = await kubectl(["bloodraven", "backup", "orders", "--profile", "nightly", "--name", "b1", "--wait", "--timeout=3m", "-n", ns], { timeoutMs: 240_000 });
    expect(taken.code, `${taken.stdout}\n${taken.stderr}${await jobLog("b1-backup")}`).toBe(0);
    expect(taken.stdout).toMatch(new RegExp(`^created MysqlBackup ${ns}/b1 \\(profile nightly\\)\n`));
    expect(taken.stdout).toMatch(/ Running: copying from pdx \(replica-preferred\)\n/);
    expect(taken.stdout).toMatch(/ Succeeded: [\d.]+ [KMG]?i?B at GTID \d+-\d+-\d+ from pdx, in s3:\/\/backups\//);
    const b1 = await finished("b1");
    expect(b1.status, JSON.stringify(b1.status) + (await jobLog("b1-backup"))).toMatchObject({
      phase: "Succeeded",
      sourceSite: "pdx",
      sourceReason: "replica-preferred",
      activeSiteAtStart: "iad",
      jobName: "b1-backup",
      attempt: 1,
      location: `s3://${BUCKET}/${PREFIX}/${ns}/orders/b1/manifest.json`,
    });
    const { manifest } = await readManifest({ namespace: ns, group: "orders", backup: "b1", prefix: PREFIX }, s3, AbortSignal.timeout(10_000));
    expect(manifest.position).toEqual({ gtid: b1.status?.gtidExecuted, binlogFile: b1.status?.binlogFile, binlogPosition: b1.status?.binlogPosition });
    expect(manifest.data.bytes).toBe(b1.status?.sizeBytes);
    expect(manifest.sourceSite).toBe("pdx");
    expect(Date.parse(b1.status?.completionTime ?? "")).toBeGreaterThanOrEqual(Date.parse(b1.status?.startTime ?? ""));
    const events = await groupEvents(ns, "b1");
    expect(events.map((e) => e.reason).sort()).toEqual(["BackupStarted", "BackupSucceeded"]);
    expect(events.find((e) => e.reason === "BackupStarted")?.message).toBe("Job b1-backup copies pdx (replica-preferred) into profile nightly");
    // The leader reports the profile's recovery point from the statuses (0 for a profile without one).
    const series = (profile: string) => new RegExp(`^bloodraven_backup_last_success_timestamp_seconds\\{namespace="${ns}",group="orders",profile="${profile}"\\} (\\S+)$`, "m");
    const scraped = await waitFor(
      "the freshness metric",
      async () => {
        const pods = await getObject<{ items: { status: { podIP?: string } }[] }>(["pods", "-n", operatorNs, "-l", `app.kubernetes.io/instance=${release}`]);
        for (const pod of pods.items) {
          const text = await (await fetch(`http://${pod.status.podIP ?? ""}:8080/metrics`, { signal: AbortSignal.timeout(5_000) })).text().catch(() => "");
          if (series("nightly").exec(text)?.[1] !== "0" && series("nightly").test(text)) return text;
        }
        return undefined;
      },
      30_000,
      1_000,
    );
    expect(Number(series("nightly").exec(scraped)?.[1])).toBe(Math.floor(Date.parse(b1.status?.completionTime ?? "") / 1000));
    expect(series("broken").exec(scraped)?.[1]).toBe("0");
    expect(b1.metadata.finalizers).toEqual(["shipstream.io/backup-artifact"]);
    // The Job belongs to its MysqlBackup (deleting the backup takes it along).
    const job = await getObject<{ metadata: { ownerReferences?: { kind: string; name: string }[] } }>(["job", "b1-backup", "-n", ns]);
    expect(job.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "MysqlBackup", name: "b1" })]);
  });

  it("archives the primary's sealed binary logs from its sidecar into the pitr profile's store, and reports it in the metrics", async () => {
    const iad = await readyPod(ns, managedNames.pod("orders", "iad"));
    const status = async (pod: typeof iad): Promise<ArchiverStatus> => (await (await fetch(`http://${pod.status?.podIP ?? ""}:8080/archiver/status`, { signal: AbortSignal.timeout(5_000) })).json()) as ArchiverStatus;
    await rootQuery(iad.status?.podIP ?? "", PASSWORD, "INSERT INTO shop.orders VALUES (4)");
    await rootQuery(iad.status?.podIP ?? "", PASSWORD, "FLUSH BINARY LOGS");
    const archived = await waitFor("iad's agent archived a sealed binary log", async () => {
      const s = await status(iad);
      return s.filesArchived >= 1 ? s : undefined;
    }, 60_000, 1_000);
    const folder = archiveFolder(PREFIX, { namespace: ns, group: "orders", site: "iad" });
    const keys = (await s3.list(`${folder}/`, AbortSignal.timeout(10_000))).map((o) => o.key);
    expect(keys).toContain(`${folder}/${ARCHIVE_MANIFEST}`);
    expect(keys.some((k) => /mysql-bin\.\d{6}$/.test(k))).toBe(true);
    // A replica's agent archives nothing.
    const pdx = await readyPod(ns, managedNames.pod("orders", "pdx"));
    expect((await status(pdx)).filesArchived).toBe(0);
    // The operator reads each agent's archive into its metrics.
    const series = new RegExp(`^bloodraven_archiver_last_upload_timestamp_seconds\\{namespace="${ns}",group="orders",site="iad"\\} (\\S+)$`, "m");
    await waitFor("the archiver metric", async () => {
      const pods = await getObject<{ items: { status: { podIP?: string } }[] }>(["pods", "-n", operatorNs, "-l", `app.kubernetes.io/instance=${release}`]);
      for (const pod of pods.items) {
        const text = await (await fetch(`http://${pod.status.podIP ?? ""}:8080/metrics`, { signal: AbortSignal.timeout(5_000) })).text().catch(() => "");
        if (Number(series.exec(text)?.[1]) === Math.floor(Date.parse(archived.lastArchivedAt ?? "") / 1000)) return true;
      }
      return false;
    }, 30_000, 1_000);
  });

  it("runs the pitr-archive-lagging runbook's kubectl commands as written, against the archiving primary", async () => {
    const output = await runbookKubectl("pitr-archive-lagging", [], 4);
    expect(output).toContain('"profileName":"nightly"');
    expect(output).toContain("archived sealed binlog");
  });

  it("fails a backup whose store refuses the credentials: the store named, nothing left in it", async () => {
    await applyAll([backup("b2", "broken")]);
    const b2 = await finished("b2");
    expect(b2.status?.phase).toBe("Failed");
    expect(b2.status?.message, await jobLog("b2-backup")).toMatch(new RegExp(`s3://${BUCKET}/`));
    expect(b2.status?.location).toBeUndefined();
    expect(await objectsOf("b2")).toEqual([]);
    expect((await groupEvents(ns, "b2")).map((e) => e.reason).sort()).toEqual(["BackupFailed", "BackupStarted"]);
  });

  it("runs the failed-backup runbook's kubectl commands as written, against that failed backup", async () => {
    const output = await runbookKubectl("failed-backup", [["orders-20261204-0300", "b2"]], 5);
    expect(output).toMatch(/^Failed: .*s3:\/\/backups\//m);
    expect(output).toContain("BackupFailed");
  });

  it("records a switchover during the copy as InFlightFailover, and the copy as Succeeded at its own position", async () => {
    await applyAll([backup("b4", "nightly")]);
    await waitFor("b4 running", async () => (await readBackup("b4")).status?.phase === "Running", 30_000, 250);
    // The store frozen, the copy cannot finish before the switchover has.
    await store.pause();
    try {
      const r = await kubectl(["bloodraven", "failover", "orders", "pdx", "-n", ns, "--wait", "--timeout=60s"], { timeoutMs: 90_000 });
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    } finally {
      store.resume();
    }
    const b4 = await finished("b4");
    expect(b4.status, JSON.stringify(b4.status) + (await jobLog("b4-backup"))).toMatchObject({ phase: "Succeeded", sourceSite: "pdx", activeSiteAtStart: "iad" });
    const { manifest } = await readManifest({ namespace: ns, group: "orders", backup: "b4", prefix: PREFIX }, s3, AbortSignal.timeout(10_000));
    expect(manifest.position.gtid).toBe(b4.status?.gtidExecuted);
    const inFlight = (await groupEvents(ns, "b4")).find((e) => e.reason === "InFlightFailover");
    expect(inFlight?.message).toBe("the primary changed from iad while the backup ran; the copy is consistent at its own GTID position, taken from pdx");
  });

  it("goes on with a running backup when every operator replica is killed: the same Job, one copy, Succeeded", async () => {
    await applyAll([backup("b5", "nightly")]);
    await waitFor("b5 running", async () => (await readBackup("b5")).status?.phase === "Running", 30_000, 250);
    await store.pause();
    try {
      const killed = await kubectl(["delete", "pods", "-n", operatorNs, "-l", `app.kubernetes.io/instance=${release}`, "--wait=false"]);
      expect(killed.code, killed.stderr).toBe(0);
    } finally {
      store.resume();
    }
    const b5 = await finished("b5");
    expect(b5.status, JSON.stringify(b5.status) + (await jobLog("b5-backup"))).toMatchObject({ phase: "Succeeded", jobName: "b5-backup" });
    const jobs = await getObject<{ items: unknown[] }>(["jobs", "-n", ns, "-l", "shipstream.io/backup=b5"]);
    expect(jobs.items).toHaveLength(1);
    // One BackupStarted, said once: a repeat would have bumped its count.
    expect((await groupEvents(ns, "b5")).filter((e) => e.reason === "BackupStarted").map((e) => (e as { count?: number }).count)).toEqual([1]);
  });

  /**
   * kubectl bloodraven report: as the admin, every part, the operator's from its leading pod
   * through the API server's pod proxy; as on-call with the operator-diagnostics Role, the
   * operator's parts too, and the objects that view does not grant left out with the reason.
   */
  async function checkReport(args: string[]): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), "bloodraven-report-"));
    const report = async (file: string, ...extra: string[]): Promise<{ stderr: string; at: string }> => {
      const r = await kubectl(["bloodraven", "report", ...args, "--since", "1h", "--file", join(dir, file), ...extra]);
      expect(r.code, r.stderr).toBe(0);
      const at = join(dir, file.replace(/\.tar\.gz$/, ""));
      mkdirSync(at);
      const x = await run("tar", ["-xzf", join(dir, file), "-C", at]);
      expect(x.code, x.stderr).toBe(0);
      return { stderr: r.stderr, at };
    };
    try {
      const full = await report("full.tar.gz");
      expect(full.stderr).toBe("");
      const read = (file: string) => readFileSync(join(full.at, file), "utf8");
      expect(read("operator/logs.jsonl")).toMatch(/"msg":"backup succeeded"/);
      for (const line of read("operator/logs.jsonl").trim().split("\n")) expect(JSON.parse(line)).toMatchObject({ namespace: ns, group: "orders" });
      expect(JSON.parse(read("operator/status.json"))).toMatchObject({ namespace: ns, group: "orders", activeSite: (await group("orders")).status?.activeSite });
      expect(read("operator/metrics.txt")).toMatch(new RegExp(`^bloodraven_backup_last_success_timestamp_seconds\\{namespace="${ns}",group="orders",profile="nightly"\\} [1-9]`, "m"));
      expect(read("operator/metrics.txt")).toMatch(/^bloodraven_build_info\{/m);
      expect(read("operator/metrics.txt")).not.toMatch(/group="copy"/);
      const objects = parseAllDocuments(read("objects.yaml")).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
      expect(objects.filter((o) => o.kind === "StatefulSet").map((o) => o.metadata.name).sort()).toEqual(["mysql-orders-iad", "mysql-orders-pdx"]);
      for (const site of ["iad", "pdx"]) for (const container of ["mysql", "sidecar"]) expect(read(`pods/mysql-orders-${site}-0/${container}.log`).length).toBeGreaterThan(0);
      expect(read("events.yaml")).toContain("reason: BackupSucceeded");
      const oncall = await report("oncall.tar.gz", "--as", "oncall");
      expect(existsSync(join(oncall.at, "operator/status.json"))).toBe(true);
      expect(existsSync(join(oncall.at, "operator/metrics.txt"))).toBe(true);
      expect(oncall.stderr).toMatch(/^warning: objects\.yaml left out: forbidden: the impersonated user "oncall" cannot list /m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("fails a backup naming a profile the group does not have, before any Job; kubectl bloodraven logs -f shows it as it happens", async () => {
    const logs = ["bloodraven", "logs", "orders", "-n", ns, "--operator-namespace", operatorNs];
    // The leader's earlier lines about the group, as text: a backup among them (the previous test
    // killed every replica, so the leader is new and its log starts after b1's).
    const earlier = await kubectl([...logs, "--since", "1h"]);
    expect(earlier.code, earlier.stderr).toBe(0);
    expect(earlier.stdout).toMatch(/^\S+Z INFO {2}backup succeeded backup=b\d location=s3:\/\/backups\//m);
    // As on-call with the chart's roles: the group through view, the log through the chart's operator-diagnostics Role.
    await applyAll([
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "oncall-view", namespace: ns }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "bloodraven-view" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "oncall" }, { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "viewer" }] },
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "oncall-logs", namespace: operatorNs }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "bloodraven-operator-diagnostics" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "oncall" }] },
    ]);
    const asOncall = await kubectl([...logs, "--since", "1h", "--as", "oncall"]);
    expect(asOncall.code, asOncall.stderr).toBe(0);
    expect(asOncall.stdout).toMatch(/ backup succeeded /);
    const asViewer = await kubectl([...logs, "--as", "viewer"]);
    expect(asViewer.code).toBe(1);
    expect(asViewer.stderr).toContain(`kubectl auth can-i get leases.coordination.k8s.io -n ${operatorNs}`);
    await checkReport(logs.slice(2));
    const following = startKubectl([...logs, "-f", "-o", "json"]);
    try {
      await applyAll([backup("b3", "weekly")]);
      const line = await waitFor(
        "b3's failure in the followed log",
        async () =>
          following.out.stdout
            .split("\n")
            .filter((l) => l.startsWith("{"))
            .map((l) => JSON.parse(l) as Record<string, unknown>)
            .find((r) => r.msg === LOG_MESSAGES.backupFailed && r.backup === "b3"),
        30_000,
        250,
      );
      expect(line).toMatchObject({ namespace: ns, group: "orders" });
      // Only this group's lines.
      for (const l of following.out.stdout.trim().split("\n")) expect(JSON.parse(l)).toMatchObject({ namespace: ns, group: "orders" });
    } finally {
      following.child.kill("SIGINT");
      await following.exited;
    }
    const b3 = await finished("b3");
    expect(b3.status).toMatchObject({ phase: "Failed", message: "spec.profileName: weekly is not a profile of the group orders; its profiles: nightly, broken" });
    expect((await kubectl(["get", "job", "b3-backup", "-n", ns])).code).not.toBe(0);
    expect((await groupEvents(ns, "b3")).map((e) => e.reason)).toEqual(["BackupFailed"]);
    // It wrote nothing, so it holds no finalizer: deleting it is immediate.
    expect(b3.metadata.finalizers).toBeUndefined();
    const r = await kubectl(["delete", "mysqlbackup", "b3", "-n", ns, "--timeout=30s"]);
    expect(r.code, r.stderr).toBe(0);
  });

  const verification = (name: string, spec: object): object => ({
    apiVersion: "shipstream.io/v1alpha1",
    kind: "MysqlBackupVerification",
    metadata: { name, namespace: ns },
    spec: { failoverGroupRef: { name: "orders" }, profileName: "nightly", ...spec },
  });
  const verified = (name: string) =>
    waitFor(
      `${name} ended`,
      async () => {
        const v = await getObject<MysqlBackupVerification>(["mysqlbackupverification", name, "-n", ns]);
        return v.status?.phase === "Succeeded" || v.status?.phase === "Failed" ? v : undefined;
      },
      180_000,
      1_000,
    );

  it("verifies b1 by a test restore in a Job of the server's image: Succeeded with the sanity query's count, events, the Job gone, the verified metric", async () => {
    const b1 = await readBackup("b1");
    // The next test's verification (a replay) runs beside this one: two Jobs at once, and half the wait.
    await applyAll([verification("v4", { backupRef: { name: "b1" }, pointInTime: { mode: "latest" }, sanityCheck: { query: "SELECT COUNT(*) FROM shop.orders", minRows: 4 } })]);
    // Through the plugin, as on-call runs it: it follows the verification to its end.
    const run = await kubectl(["bloodraven", "verify-backup", "orders", "--profile", "nightly", "--backup", "b1", "--sanity-query", "SELECT COUNT(*) FROM shop.orders", "--min-rows", "3", "--name", "v1", "--wait", "--timeout=3m", "-n", ns], {
      timeoutMs: 240_000,
    });
    expect(run.code, `${run.stdout}\n${run.stderr}${await jobLog("v1-verify")}`).toBe(0);
    expect(run.stdout).toMatch(/ Succeeded: .*b1/);
    const v1 = await verified("v1");
    expect(v1.status, JSON.stringify(v1.status) + (await jobLog("v1-verify"))).toMatchObject({ phase: "Succeeded", backupName: "b1", backupGtid: b1.status?.gtidExecuted, count: 3, jobName: "v1-verify" });
    const events = await groupEvents(ns, "v1");
    expect(events.map((e) => e.reason).sort()).toEqual(["BackupVerificationStarted", "BackupVerified"]);
    expect(events.find((e) => e.reason === "BackupVerified")?.message).toBe("b1 restores: restored, started and counted 3");
    await waitFor("the passed verification's Job deleted", async () => (await kubectl(["get", "job", "v1-verify", "-n", ns])).code !== 0, 60_000, 1_000);
    const series = new RegExp(`^bloodraven_backup_verified_timestamp_seconds\\{namespace="${ns}",group="orders",profile="nightly"\\} (\\S+)$`, "m");
    await waitFor(
      "the verified metric: the newest Succeeded verification's completion (v1's, or v4's once it ends)",
      async () => {
        const all = await getObject<{ items: MysqlBackupVerification[] }>(["mysqlbackupverifications", "-n", ns]);
        const newest = Math.max(...all.items.filter((v) => v.status?.phase === "Succeeded").map((v) => Math.floor(Date.parse(v.status?.completionTime ?? "") / 1000)));
        const pods = await getObject<{ items: { status: { podIP?: string } }[] }>(["pods", "-n", operatorNs, "-l", `app.kubernetes.io/instance=${release}`]);
        for (const pod of pods.items) {
          const text = await (await fetch(`http://${pod.status.podIP ?? ""}:8080/metrics`, { signal: AbortSignal.timeout(5_000) })).text().catch(() => "");
          if (Number(series.exec(text)?.[1]) === newest && newest >= Math.floor(Date.parse(v1.status?.completionTime ?? "") / 1000)) return true;
        }
        return undefined;
      },
      30_000,
      1_000,
    );
  });

  it("verifies b1 replayed to the latest archived transaction: the rows written after b1 are there", async () => {
    const b1 = await readBackup("b1");
    const v4 = await verified("v4");
    expect(v4.status, JSON.stringify(v4.status) + (await jobLog("v4-verify"))).toMatchObject({ phase: "Succeeded", backupName: "b1", backupGtid: b1.status?.gtidExecuted });
    expect(v4.status?.count).toBeGreaterThanOrEqual(4);
    expect(v4.status?.replayedToGtid).toMatch(/^\d+-\d+-\d+$/);
    expect(v4.status?.replayedToGtid).not.toBe(b1.status?.gtidExecuted);
  });

  it("fails a verification that counts too few (its Job kept for inspection), and one of a damaged artifact, each saying why", async () => {
    // Not pinned: the newest Succeeded backup of the profile, whose table has more rows than b1's.
    const backups = await getObject<{ items: MysqlBackup[] }>(["mysqlbackups", "-n", ns]);
    const newest = backups.items
      .filter((b) => b.spec.profileName === "nightly" && b.status?.phase === "Succeeded")
      .sort((a, b) => (a.status?.completionTime ?? "").localeCompare(b.status?.completionTime ?? ""))
      .at(-1);
    await applyAll([verification("v2", { sanityCheck: { query: "SELECT COUNT(*) FROM shop.orders", minRows: 1000 } })]);
    // Bytes flipped in b1's stored data object (v2 restores another backup, so both run at once):
    // the restore refuses it before any server starts.
    const [dataKey] = (await objectsOf("b1")).filter((k) => !k.endsWith("manifest.json"));
    const bytes = Buffer.concat(await (await s3.get(dataKey ?? "", AbortSignal.timeout(10_000))).toArray());
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await s3.put(dataKey ?? "", Readable.from([bytes]), AbortSignal.timeout(10_000));
    await applyAll([verification("v3", { backupRef: { name: "b1" }, keepOnFailure: false })]);
    const v2 = await verified("v2");
    expect(v2.status, JSON.stringify(v2.status) + (await jobLog("v2-verify"))).toMatchObject({
      phase: "Failed",
      backupName: newest?.metadata.name,
      message: expect.stringMatching(/^the sanity query counted \d+, fewer than the 1000 expected: the restored data is not all there$/) as unknown,
    });
    expect((await groupEvents(ns, "v2")).find((e) => e.reason === "BackupVerificationFailed")?.message).toMatch(/fewer than the 1000 expected.*\(Job v2-verify and its pod are kept a day: kubectl logs job\/v2-verify\)$/);
    expect((await kubectl(["get", "job", "v2-verify", "-n", ns])).code).toBe(0);
    const v3 = await verified("v3");
    expect(v3.status?.message, JSON.stringify(v3.status)).toMatch(/the artifact is damaged/);
    await waitFor("the failed verification's Job deleted (keepOnFailure: false)", async () => (await kubectl(["get", "job", "v3-verify", "-n", ns])).code !== 0, 60_000, 1_000);
  });

  it("deleting a backup deletes its artifact first: a cleanup Job, then the MysqlBackup is gone", async () => {
    expect((await objectsOf("b1")).length).toBe(2);
    const r = await kubectl(["delete", "mysqlbackup", "b1", "-n", ns, "--wait=false"]);
    expect(r.code, r.stderr).toBe(0);
    await waitFor("b1 gone", async () => (await kubectl(["get", "mysqlbackup", "b1", "-n", ns])).code !== 0, 120_000, 1_000).catch(async (err: unknown) => {
      throw new Error(`${String(err)}${await jobLog("b1-cleanup")}`);
    });
    expect(await objectsOf("b1")).toEqual([]);
    const reasons = (await groupEvents(ns, "b1")).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(["ArtifactCleanupStarted", "ArtifactCleanupSucceeded"]));
  });

  it("stops a backup deleted while it copies: its Job first, then its artifact, then the MysqlBackup", async () => {
    await applyAll([backup("b6", "nightly")]);
    await waitFor("b6 running", async () => (await readBackup("b6")).status?.phase === "Running", 30_000, 250);
    // The store frozen, the copy is still going when the backup is deleted.
    await store.pause();
    try {
      const r = await kubectl(["delete", "mysqlbackup", "b6", "-n", ns, "--wait=false"]);
      expect(r.code, r.stderr).toBe(0);
      await waitFor("b6's Job being deleted", async () => (await getObject<{ metadata: { deletionTimestamp?: string } }>(["job", "b6-backup", "-n", ns])).metadata.deletionTimestamp, 30_000, 250);
    } finally {
      store.resume();
    }
    await waitFor("b6 gone", async () => (await kubectl(["get", "mysqlbackup", "b6", "-n", ns])).code !== 0, 120_000, 1_000).catch(async (err: unknown) => {
      throw new Error(`${String(err)}${await jobLog("b6-cleanup")}`);
    });
    expect((await kubectl(["get", "job", "b6-backup", "-n", ns])).code).not.toBe(0);
    expect(await objectsOf("b6")).toEqual([]);
    const reasons = (await groupEvents(ns, "b6")).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(["BackupStarted", "BackupStopped", "ArtifactCleanupStarted", "ArtifactCleanupSucceeded"]));
  });

  it("runs schedules as CronJobs under writes: every minute a Succeeded backup, retention keeps the newest, a failed run retried once, a bad schedule reported, a verification schedule run by hand", async () => {
    const g = await group("orders");
    const primary = await readyPod(ns, managedNames.pod("orders", g.status?.activeSite ?? ""));
    // Writes all along, so each run copies a different position.
    let writing = true;
    let acknowledged = 0;
    const load = (async () => {
      for (let id = 10_000; writing && id < 20_000; id++) {
        await rootQuery(primary.status?.podIP ?? "", PASSWORD, `INSERT INTO shop.orders VALUES (${id})`).then(() => acknowledged++, () => undefined);
        await sleep(100);
      }
    })();
    const patch = [
      { op: "add", path: "/spec/backup/profiles/-", value: { ...s3Profile("minutely", "store"), retention: { count: 1, maxFailedKeep: 0 } } },
      { op: "add", path: "/spec/backup/retry", value: { maxAttempts: 2, initialBackoff: "5s" } },
      // Once a year: this test starts its run by hand.
      { op: "add", path: "/spec/backup/profiles/0/verification", value: { schedule: "0 0 1 1 *", sanityCheck: { query: "SELECT COUNT(*) FROM shop.orders", minRows: 3 }, retention: { keepSucceeded: 1 } } },
      {
        op: "add",
        path: "/spec/backup/schedules",
        value: [
          { name: "minutely", profileName: "minutely", schedule: "* * * * *" },
          { name: "failing", profileName: "broken", schedule: "* * * * *" },
          { name: "bad", profileName: "nightly", schedule: "61 * * * *" },
        ],
      },
    ];
    expect((await kubectl(["patch", "mfg", "orders", "-n", ns, "--type=json", "-p", JSON.stringify(patch)])).code).toBe(0);
    try {
      const cronJobs = await waitFor("two CronJobs", async () => {
        const list = await getObject<{ items: { metadata: { name: string } }[] }>(["cronjobs", "-n", ns, "-l", "shipstream.io/backup-schedule"]);
        return list.items.length === 2 ? list.items.map((c) => c.metadata.name).sort() : undefined;
      }, 30_000, 500);
      expect(cronJobs).toEqual(["mysql-orders-backup-failing", "mysql-orders-backup-minutely"]);
      const invalid = await waitFor("BackupScheduleInvalid", async () => (await groupEvents(ns, "orders")).find((e) => e.reason === "BackupScheduleInvalid"), 30_000, 500);
      expect(invalid.message).toBe('spec.backup.schedules[bad].schedule: field 1 (minute) of "61 * * * *": 61 is outside 0-59; no backups run from schedule bad until it is fixed');

      const scheduled = async (schedule: string) => (await getObject<{ items: MysqlBackup[] }>(["mysqlbackups", "-n", ns, "-l", `shipstream.io/backup-schedule=${schedule}`])).items;
      // A run started by hand from the CronJob (docs/backups.md), then the CronJob's own next run:
      // both succeed, and retention (count 1) deletes the first with its artifact.
      const now = "mysql-orders-backup-minutely-now";
      expect((await kubectl(["create", "job", now, `--from=cronjob/mysql-orders-backup-minutely`, "-n", ns])).code).toBe(0);
      const seen = new Map<string, MysqlBackup>();
      await waitFor("a scheduled minutely run succeeded after the one by hand, which is pruned", async () => {
        for (const b of await scheduled("minutely")) if (b.status?.phase === "Succeeded") seen.set(b.metadata.name ?? "", b);
        return seen.has(now) && seen.size >= 2 && (await kubectl(["get", "mysqlbackup", now, "-n", ns])).code !== 0;
      }, 180_000, 2_000);
      const first = seen.get(now);
      const second = [...seen.values()].find((b) => b.metadata.name !== now);
      expect(second?.metadata.name).toMatch(/^mysql-orders-backup-minutely-\d+$/);
      for (const b of [first, second]) {
        expect(b?.status).toMatchObject({ phase: "Succeeded", attempt: 1, sizeBytes: expect.any(Number) as number, gtidExecuted: expect.stringMatching(/^\d+-\d+-\d+/) as string });
        expect(b?.spec.triggeredBy).toBe("schedule/minutely");
      }
      expect(second?.status?.gtidExecuted).not.toBe(first?.status?.gtidExecuted);
      await waitFor("the pruned backup's artifact gone", async () => (await objectsOf(now)).length === 0, 60_000, 1_000);
      expect((await groupEvents(ns, "orders")).find((e) => e.reason === "BackupRetentionDeleted" && e.message.startsWith(`${now} of profile minutely: succeeded backup beyond the newest 1`))).toBeDefined();

      // The profile's verification schedule, run by hand: a verification named after the Job, with
      // the schedule's settings, of the profile's newest Succeeded backup.
      expect((await kubectl(["get", "cronjob", "mysql-orders-verify-nightly", "-n", ns])).code).toBe(0);
      const verifyNow = "mysql-orders-verify-nightly-now";
      expect((await kubectl(["create", "job", verifyNow, "--from=cronjob/mysql-orders-verify-nightly", "-n", ns])).code).toBe(0);
      const scheduledVerification = await verified(verifyNow);
      expect(scheduledVerification.status, JSON.stringify(scheduledVerification.status) + (await jobLog(`${verifyNow}-verify`))).toMatchObject({ phase: "Succeeded", count: expect.any(Number) as number });
      expect(scheduledVerification.spec).toMatchObject({ profileName: "nightly", triggeredBy: "schedule/verify-nightly", sanityCheck: { minRows: 3 } });
      expect(scheduledVerification.metadata.labels?.["shipstream.io/verification-schedule"]).toBe("nightly");
      // A second run: the schedule's retention (keepSucceeded 1) deletes the first, with its Job; v1 (by hand) stays.
      const verifyAgain = "mysql-orders-verify-nightly-again";
      expect((await kubectl(["create", "job", verifyAgain, "--from=cronjob/mysql-orders-verify-nightly", "-n", ns])).code).toBe(0);
      expect((await verified(verifyAgain)).status?.phase).toBe("Succeeded");
      await waitFor("the first scheduled verification deleted by retention", async () => (await kubectl(["get", "mbv", verifyNow, "-n", ns])).code !== 0, 30_000, 1_000);
      expect((await kubectl(["get", "mbv", "v1", "-n", ns])).code).toBe(0);

      // The failing schedule's first run was tried once more, 5 s after it failed, and not again.
      const failing = await scheduled("failing");
      const firstFailed = failing.filter((b) => !/-attempt-/.test(b.metadata.name ?? "")).sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""))[0];
      const retryName = `${firstFailed?.metadata.name ?? ""}-attempt-2`;
      const retry = await waitFor("the retry failed", async () => {
        const b = await readBackup(retryName).catch(() => undefined);
        return b?.status?.phase === "Failed" ? b : undefined;
      }, 60_000, 1_000);
      expect(retry.spec.triggeredBy).toBe("retry/failing/attempt-2");
      expect(retry.status?.attempt).toBe(2);
      const retryAt = (await readBackup(firstFailed?.metadata.name ?? "")).metadata.annotations?.["bloodraven.shipstream.io/retry-at"];
      expect(Date.parse(retryAt ?? "") - Date.parse(firstFailed?.status?.completionTime ?? "")).toBe(5_000);
      expect((await groupEvents(ns, "orders")).some((e) => e.reason === "BackupRetryScheduled" && e.message.includes(retryName))).toBe(true);
      // The last attempt (maxAttempts 2) is not retried: shared/backup/housekeeping.ts's unit tests.
    } finally {
      writing = false;
      await load;
      // Schedules removed: their CronJobs go.
      await kubectl(["patch", "mfg", "orders", "-n", ns, "--type=json", "-p", JSON.stringify([{ op: "remove", path: "/spec/backup/schedules" }, { op: "remove", path: "/spec/backup/profiles/0/verification" }])]);
    }
    expect(acknowledged).toBeGreaterThan(100);
    await waitFor("the CronJobs deleted", async () => (await getObject<{ items: unknown[] }>(["cronjobs", "-n", ns, "-l", "shipstream.io/failover-group=orders"])).items.length === 0, 30_000, 500);
  }, 330_000);

  /** orders' primary and its other site, as the group says now. */
  const ordersSites = async () => {
    const primarySite = (await group("orders")).status?.activeSite ?? "";
    return { primarySite, otherSite: primarySite === "iad" ? "pdx" : "iad" };
  };
  const ipOf = async (site: string) => (await readyPod(ns, managedNames.pod("orders", site))).status?.podIP ?? "";

  it("fails an in-place restore whose artifact is missing before anything is staged: the primary writable again on its own data, the other site replicating again", async () => {
    const { primarySite, otherSite } = await ordersSites();
    await rootQuery(await ipOf(primarySite), PASSWORD, "INSERT INTO shop.orders VALUES (700001)");
    const confirm = new Date().toISOString();
    const request = { restoreInPlace: { profileName: "nightly", source: { group: "orders", backup: "no-such-backup" }, confirm } };
    const patched = await kubectl(["patch", "mfg", "orders", "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: request })]);
    expect(patched.code, patched.stderr).toBe(0);
    const failed = await waitFor(
      "the in-place restore Failed",
      async () => {
        const g: MysqlFailoverGroup = await group("orders");
        const r = g.status?.restoreInPlace;
        return r?.confirm === confirm && (r.phase === "Failed" || r.phase === "Succeeded") ? r : undefined;
      },
      180_000,
      1_000,
    );
    expect(failed).toMatchObject({ phase: "Failed", site: primarySite, message: expect.stringMatching(/site \S+ was made writable again on its own data, nothing lost$/) });
    expect(failed.stagedTime).toBeUndefined();
    expect(await rootQuery(await ipOf(primarySite), PASSWORD, "SELECT @@read_only AS ro")).toEqual([{ ro: 0 }]);
    // The other site's replication, stopped by the fence, is started again by the core.
    await rootQuery(await ipOf(primarySite), PASSWORD, "INSERT INTO shop.orders VALUES (700002)");
    const count = async () => Number((await rootQuery(await ipOf(otherSite), PASSWORD, "SELECT COUNT(*) AS n FROM shop.orders WHERE id IN (700001, 700002)"))[0]?.n);
    await waitFor(`${otherSite} replicating the writes again`, async () => (await count()) === 2 || undefined, 60_000, 1_000);
    expect((await groupEvents(ns, "orders")).map((e) => e.reason)).toContain("RestoreFailed");
    const removed = await kubectl(["patch", "mfg", "orders", "-n", ns, "--type=json", "-p", JSON.stringify([{ op: "remove", path: "/spec/restoreInPlace" }])]);
    expect(removed.code, removed.stderr).toBe(0);
  }, 240_000);

  it("restores orders in place from b8 with `kubectl bloodraven restore --in-place --wait`, discarding what came after it: the primary fenced, restored and writable again, the other site recloned from it", async () => {
    const { primarySite, otherSite } = await ordersSites();
    const has = async (site: string, id: number) => Number((await rootQuery(await ipOf(site), PASSWORD, `SELECT COUNT(*) AS n FROM shop.orders WHERE id = ${id}`))[0]?.n);
    await rootQuery(await ipOf(primarySite), PASSWORD, "INSERT INTO shop.orders VALUES (800001)");
    await applyAll([backup("b8", "nightly")]);
    const b8 = await finished("b8");
    expect(b8.status?.phase).toBe("Succeeded");
    await rootQuery(await ipOf(primarySite), PASSWORD, "INSERT INTO shop.orders VALUES (800002)");
    const discarded = String((await rootQuery(await ipOf(primarySite), PASSWORD, "SELECT @@gtid_binlog_pos AS p"))[0]?.p);

    // As on-call would: the plugin confirms it now and follows this request to its end.
    const r = await kubectl(["bloodraven", "restore", "orders", "--in-place", "--backup", "b8", "--unverified", "--yes", "--wait", "--timeout=4m", "-n", ns], { timeoutMs: 300_000 });
    const restored: MysqlFailoverGroup = await group("orders");
    expect(r.code, `${r.stdout}${r.stderr}${JSON.stringify(restored.status?.restoreInPlace)}${await jobLog(restored.status?.restoreInPlace?.jobName ?? "")}`).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Succeeded: site ${primarySite} runs on ${ns}/orders/b8 at GTID \\S+, and every other site was recloned from it\\n$`));
    const confirm = restored.spec.restoreInPlace?.confirm;
    expect(restored.status?.restoreInPlace).toMatchObject({
      phase: "Succeeded",
      confirm,
      site: primarySite,
      backup: `${ns}/orders/b8`,
      discardedFrom: discarded,
      recloning: [],
    });
    expect(restored.status?.restoreInPlace?.gtid).toBe(restored.status?.restoreInPlace?.backupGtid);
    expect(restored.status?.activeSite).toBe(primarySite);
    // What b8 held is there, what came after it is gone: on the restored primary and on its reclone.
    expect([await has(primarySite, 800001), await has(primarySite, 800002)]).toEqual([1, 0]);
    await waitFor(`${otherSite} replicating the restored primary`, async () => (await group("orders")).status?.sites?.find((x: { name: string }) => x.name === otherSite)?.state === "read-only" || undefined, 60_000, 1_000);
    expect([await has(otherSite, 800001), await has(otherSite, 800002)]).toEqual([1, 0]);
    expect((await group("orders")).status?.bootstrap).toMatchObject({ site: otherSite, source: "restore-in-place", phase: "Done" });
    await rootQuery(await ipOf(primarySite), PASSWORD, "INSERT INTO shop.orders VALUES (800003)");
    await waitFor("a write after the restore on the reclone", async () => (await has(otherSite, 800003)) === 1 || undefined, 30_000, 500);
    const reasons = (await groupEvents(ns, "orders")).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(["RestoreStarted", "RestoreSucceeded"]));
    // The same confirm again does nothing: a restore runs once per confirm.
    await sleep(3_000);
    expect((await group("orders")).status?.restoreInPlace?.completionTime).toBe(restored.status?.restoreInPlace?.completionTime);
    const removed = await kubectl(["patch", "mfg", "orders", "-n", ns, "--type=json", "-p", JSON.stringify([{ op: "remove", path: "/spec/restoreInPlace" }])]);
    expect(removed.code, removed.stderr).toBe(0);
  }, 360_000);

  it("takes b9 and archives a write made after it: what the next group is made from once this one is gone", async () => {
    const g: MysqlFailoverGroup = await group("orders");
    const primary = await readyPod(ns, managedNames.pod("orders", g.status?.activeSite ?? ""));
    await applyAll([backup("b9", "nightly")]);
    expect((await finished("b9")).status?.phase).toBe("Succeeded");
    const agent = async (): Promise<ArchiverStatus> => (await (await fetch(`http://${primary.status?.podIP ?? ""}:8080/archiver/status`, { signal: AbortSignal.timeout(5_000) })).json()) as ArchiverStatus;
    const before = (await agent()).filesArchived;
    await rootQuery(primary.status?.podIP ?? "", PASSWORD, "INSERT INTO shop.orders VALUES (900001)");
    await rootQuery(primary.status?.podIP ?? "", PASSWORD, "FLUSH BINARY LOGS");
    await waitFor("the write after b9 archived", async () => (await agent()).filesArchived > before || undefined, 60_000, 1_000);
  });

  it("deleting the group releases its backups, whose artifacts stay in the store", async () => {
    const r = await kubectl(["delete", "mfg", "orders", "-n", ns, "--wait=false"]);
    expect(r.code, r.stderr).toBe(0);
    await waitFor("b4 released", async () => (await readBackup("b4")).metadata.finalizers === undefined, 120_000, 1_000);
    expect((await groupEvents(ns, "b4")).find((e) => e.reason === "ArtifactCleanupSkipped")?.message).toBe(
      `the group orders is being deleted: the artifact (s3://${BUCKET}/${PREFIX}/${ns}/orders/b4/manifest.json) stays in the store, and deleting this MysqlBackup will not remove it`,
    );
    const gone = await kubectl(["delete", "mysqlbackup", "b4", "-n", ns, "--timeout=30s"]);
    expect(gone.code, gone.stderr).toBe(0);
    expect((await objectsOf("b4")).length).toBe(2);
  });

  it("starts a new group from b9 of the deleted group, replayed to the latest archived transaction: the restored site becomes its first primary, the other is cloned from it", async () => {
    // Only the store is left of orders: the artifact and the archive.
    const { manifest } = await readManifest({ namespace: ns, group: "orders", backup: "b9", prefix: PREFIX }, s3, AbortSignal.timeout(10_000));
    await applyAll([
      failoverGroup(ns, "copy", {
        credentials: { operator: { secretName: "orders-operator" } },
        image: IMAGES.mariadb,
        pollInterval: "1s",
        // After orders is gone: on the one node, each group's read-only taint would evict the other's pods.
        sites: ["iad", "pdx"].map((name) => ({ name, storage: { size: "256Mi" }, taintNodeSelector: { "kubernetes.io/hostname": NODE_NAME } })),
        backup: { profiles: [s3Profile("nightly", "store")] },
        initFromBackup: { profileName: "nightly", source: { group: "orders", backup: "b9" }, pointInTime: { mode: "latest" } },
      }),
    ]);
    const copy = await waitFor(
      "copy restored, iad its primary, pdx cloned and replicating",
      async () => {
        const g: MysqlFailoverGroup = await group("copy");
        if (g.status?.restore?.phase === "Failed") return g;
        const state = (site: string) => g.status?.sites?.find((s) => s.name === site)?.state;
        return g.status?.restore?.phase === "Succeeded" && g.status.activeSite === "iad" && state("pdx") === "read-only" && g.status.bootstrap?.phase === "Done" ? g : undefined;
      },
      300_000,
      1_000,
    );
    expect(copy.status?.restore, JSON.stringify(copy.status) + (await jobLog("mysql-copy-restore"))).toMatchObject({ phase: "Succeeded", site: "iad", backup: `${ns}/orders/b9`, backupGtid: manifest.position.gtid });
    // The replay went past b9, to the write archived after it.
    expect(copy.status?.restore?.gtid).not.toBe(manifest.position.gtid);
    const [iad, pdx] = await Promise.all(["iad", "pdx"].map((site) => readyPod(ns, managedNames.pod("copy", site))));
    const ids = async (ip: string, where: string) => Number((await rootQuery(ip, PASSWORD, `SELECT COUNT(*) AS n FROM shop.orders WHERE ${where}`))[0]?.n);
    expect(await ids(iad?.status?.podIP ?? "", "id = 900001")).toBe(1);
    await rootQuery(iad?.status?.podIP ?? "", PASSWORD, "INSERT INTO shop.orders VALUES (900002)");
    await waitFor("the copy's write on its clone", async () => (await ids(pdx?.status?.podIP ?? "", "id >= 900001")) === 2 || undefined, 30_000, 500);
    expect((await groupEvents(ns, "copy")).map((e) => e.reason)).toEqual(expect.arrayContaining(["RestoreStarted", "RestoreSucceeded"]));
    await waitFor("the restore Job deleted", async () => (await kubectl(["get", "job", "mysql-copy-restore", "-n", ns])).code !== 0, 60_000, 1_000);
    const r = await kubectl(["delete", "mfg", "copy", "-n", ns, "--timeout=120s"]);
    expect(r.code, r.stderr).toBe(0);
  }, 360_000);

  it("the Backups & Verification and PITR Archiver dashboards show all of it: every panel has data, on a real Prometheus that scraped the operator's pods all along", async () => {
    expect((await prometheus.targets()).map((t) => t.health)).toContain("up");
    const run = await runDashboards(prometheus, ["backups.json", "archiver.json"], { namespace: ns, group: "orders|copy", rateInterval: "1m" }, { start: started, end: Date.now() / 1000 });
    expect(run.queries).toBeGreaterThan(10);
    expect(run.empty).toEqual([]);
  });
});
