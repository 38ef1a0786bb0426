import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { asList } from "../support/fixtures.js";
import { kubectl, run, testKubeconfig } from "../support/kubectl.js";

/**
 * `kubectl bloodraven report` through the real kubectl against the real API server, without an
 * operator: the bundle holds what the API server has about the group and nothing about another
 * group, literal credentials are redacted, and the parts that need the operator (no Lease here)
 * or a kubelet (pod logs; no node here) are left out with the reason, while the rest is written.
 * The operator's parts from a real leading pod are checked in the cluster tier (backups.test.ts).
 */
const ns = `cli-report-${randomBytes(3).toString("hex")}`;
const dir = mkdtempSync(join(tmpdir(), "bloodraven-report-"));
const plugin = (args: string[]) => kubectl(["bloodraven", ...args, "-n", ns]);

const site = (name: string, port: number) => ({ name, role: "primary-candidate", endpoint: { host: "127.0.0.1", port } });
const group = (name: string) => ({
  apiVersion: "shipstream.io/v1alpha1",
  kind: "MysqlFailoverGroup",
  metadata: { name, namespace: ns },
  spec: { secretName: `${name}-dsn`, sites: [site("iad", 3306), site("pdx", 3307)] },
});
const backup = (name: string, of: string) => ({
  apiVersion: "shipstream.io/v1alpha1",
  kind: "MysqlBackup",
  metadata: { name, namespace: ns },
  spec: { failoverGroupRef: { name: of }, profileName: "nightly" },
});
const event = (name: string, kind: string, about: string, reason: string) => ({
  apiVersion: "v1",
  kind: "Event",
  metadata: { name, namespace: ns },
  involvedObject: { apiVersion: "shipstream.io/v1alpha1", kind, name: about, namespace: ns },
  reason,
  message: `${reason} about ${about}`,
  type: "Normal",
  source: { component: "bloodraven" },
  firstTimestamp: "2026-12-05T06:00:00Z",
  lastTimestamp: "2026-12-05T06:00:00Z",
  count: 1,
});

/** Extracts an archive into a new folder and returns the folder. */
async function extract(archive: string): Promise<string> {
  const to = mkdtempSync(join(dir, "x-"));
  const r = await run("tar", ["-xzf", archive, "-C", to]);
  expect(r.code, r.stderr).toBe(0);
  return to;
}

describe("kubectl bloodraven report (real kubectl and API server, no operator)", () => {
  beforeAll(async () => {
    const items = [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      group("orders"),
      group("billing"),
      backup("orders-b1", "orders"),
      backup("billing-b1", "billing"),
      // Owned by the group as the operator labels what it makes; never scheduled (no node in e2e).
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "mysql-orders-iad-0", namespace: ns, labels: { "shipstream.io/failover-group": "orders" } },
        spec: {
          containers: [
            {
              name: "mysql",
              image: "localhost/bloodraven/mariadb:10.11",
              env: [
                { name: "MARIADB_ROOT_PASSWORD", value: "hunter2-literal" },
                { name: "TZ", value: "UTC" },
                { name: "OPERATOR_PASSWORD", valueFrom: { secretKeyRef: { name: "orders-dsn", key: "password" } } },
              ],
            },
          ],
        },
      },
      event("e-group", "MysqlFailoverGroup", "orders", "FailoverCompleted"),
      event("e-backup", "MysqlBackup", "orders-b1", "BackupSucceeded"),
      event("e-pod", "Pod", "mysql-orders-iad-0", "Scheduled"),
      event("e-other", "MysqlFailoverGroup", "billing", "FailoverCompleted"),
      event("e-other-backup", "MysqlBackup", "billing-b1", "BackupFailed"),
    ];
    const r = await kubectl(["apply", "-f", "-"], { input: asList(items) });
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(async () => {
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes the group, its backup, objects and events, redacted, and names the parts it could not read", async () => {
    const file = join(dir, "orders.tar.gz");
    const r = await plugin(["report", "orders", "--file", file, "--operator-namespace", `${ns}-none`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout, r.stderr).toMatch(new RegExp(`^wrote ${file} \\(6 files, \\d+ KiB, 4 part\\(s\\) missing: see report.json\\)\\n$`));
    const noLease = `there is no Lease ${ns}-none/bloodraven-leader: is the operator installed in namespace ${ns}-none?`;
    expect(r.stderr).toContain(`warning: operator/logs.jsonl left out: ${noLease}`);
    expect(r.stderr).toContain("warning: pods/mysql-orders-iad-0/mysql.log left out: container mysql of pod mysql-orders-iad-0 has not started (pod Pending)\n");

    const x = await extract(file);
    expect(readdirSync(x).sort()).toEqual(["backups.yaml", "events.yaml", "group.yaml", "objects.yaml", "report.json", "verifications.yaml"]);
    const manifest = JSON.parse(readFileSync(join(x, "report.json"), "utf8")) as { namespace: string; group: string; files: string[]; missing: { file: string; error: string }[] };
    expect(manifest).toMatchObject({ namespace: ns, group: "orders" });
    expect(manifest.files).toEqual(["group.yaml", "backups.yaml", "verifications.yaml", "objects.yaml", "events.yaml"]);
    expect(manifest.missing.map((m) => m.file)).toEqual(["pods/mysql-orders-iad-0/mysql.log", "operator/logs.jsonl", "operator/status.json", "operator/metrics.txt"]);
    for (const m of manifest.missing.slice(1)) expect(m.error).toContain(noLease);

    const g = parse(readFileSync(join(x, "group.yaml"), "utf8")) as { metadata: Record<string, unknown>; spec: { secretName: string } };
    expect(g.spec.secretName).toBe("orders-dsn");
    expect(g.metadata.managedFields).toBeUndefined();
    expect((g.metadata.annotations as Record<string, string> | undefined)?.["kubectl.kubernetes.io/last-applied-configuration"]).toBeUndefined();
    expect((parse(readFileSync(join(x, "backups.yaml"), "utf8")) as { metadata: { name: string } }[]).map((b) => b.metadata.name)).toEqual(["orders-b1"]);
    expect(parse(readFileSync(join(x, "verifications.yaml"), "utf8"))).toEqual([]);

    const objects = readFileSync(join(x, "objects.yaml"), "utf8");
    expect(objects).not.toContain("hunter2-literal");
    const docs = parseAllDocuments(objects).map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { name: string; creationTimestamp: string }; spec: { containers: { env: object[] }[] } });
    expect(docs.map((o) => [o.apiVersion, o.kind, o.metadata.name])).toEqual([["v1", "Pod", "mysql-orders-iad-0"]]);
    expect(docs[0]!.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const env = docs[0]!.spec.containers[0]!.env;
    expect(env).toEqual([
      { name: "MARIADB_ROOT_PASSWORD", value: "<redacted>" },
      { name: "TZ", value: "UTC" },
      { name: "OPERATOR_PASSWORD", valueFrom: { secretKeyRef: { name: "orders-dsn", key: "password" } } },
    ]);

    const events = parse(readFileSync(join(x, "events.yaml"), "utf8")) as { metadata: { name: string } }[];
    expect(events.map((e) => e.metadata.name).sort()).toEqual(["e-backup", "e-group", "e-pod"]);
  });

  it("streams the bundle to standard output with --file -", async () => {
    const archive = join(dir, "stdout.tar.gz");
    const r = await run("bash", ["-c", `kubectl bloodraven report orders -n ${ns} --operator-namespace ${ns}-none --file - > ${archive}`], {
      env: { ...process.env, KUBECONFIG: testKubeconfig(), PATH: `${inject("distDir")}:${process.env.PATH ?? ""}` },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wrote the report to standard output \(6 files/);
    expect(readdirSync(await extract(archive))).toContain("group.yaml");
  });

  it("refuses a bad --since with exit 2 and a missing group with exit 1, writing no file", async () => {
    const bad = await plugin(["report", "orders", "--since", "soon", "--file", join(dir, "bad.tar.gz")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --since: invalid duration "soon"/);
    const missing = await plugin(["report", "nope", "--file", join(dir, "nope.tar.gz")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`MysqlFailoverGroup ${ns}/nope does not exist`);
    expect(readdirSync(dir).filter((f) => f.startsWith("bad") || f.startsWith("nope"))).toEqual([]);
  });
});
