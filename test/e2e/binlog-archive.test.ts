import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { freePort, waitFor } from "../../scripts/env/ports.js";
import { createBucket, s3Client, startS3Store, type S3Store } from "../../scripts/env/s3-store.js";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { parseArchive, type ArchiveManifest } from "../../shared/backup/binlog-archive.js";
import { planReplay } from "../../shared/backup/replay-plan.js";
import { deriveKeys, FrameOpener } from "../../shared/backup/sealing.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import type { ArchiverStatus } from "../../shared/agent/archiver-status.js";
import { AgentProcess } from "../support/agent.js";
import { namespaceWithOperator } from "../support/groups.js";
import { kubectl } from "../support/kubectl.js";
import { plannedGroup } from "../support/planned.js";

/**
 * The binary log archive for real: agents beside real MariaDB servers (the real operator names the
 * primary), a real MinIO store. Only the primary's agent uploads, only sealed files, encrypted,
 * recorded in a signed manifest; after a switchover the new primary's agent takes over within one
 * scan, and a stalled store is reported and caught up on once it is back. Once the group's backups
 * hold the oldest files, every site's agent prunes them, as the operator's floor says.
 */
const ns = `archive-${randomBytes(3).toString("hex")}`;
const BUCKET = "archive";
const PASSPHRASE = "archive passphrase of some length";
const GROUP = "orders";

describe("binary log archive (real operator, agents, MariaDB and MinIO)", () => {
  const { operator, freshGroup } = namespaceWithOperator(ns, "archive-e2e");
  const planned = plannedGroup(ns, GROUP, 1_000);
  let sites: MariaDbSites;
  let store: S3Store;
  let secrets: string;
  const agents = new Map<string, AgentProcess>();

  const status = async (site: string): Promise<ArchiverStatus> => (await (await fetch(`${agents.get(site)?.url}/archiver/status`, { signal: AbortSignal.timeout(5_000) })).json()) as ArchiverStatus;
  const archived = (site: string, files: number, timeoutMs = 15_000): Promise<ArchiverStatus> =>
    waitFor(`${site}'s archive to hold ${files} file(s)`, async () => ((await status(site)).filesArchived >= files ? status(site) : undefined), timeoutMs, 100);
  const folder = (site: string): string => `prod/${ns}/${GROUP}/binlogs/${site}`;
  const object = async (key: string): Promise<Buffer> => {
    const client = s3Client(store);
    try {
      return Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
    } finally {
      client.destroy();
    }
  };
  const keysIn = async (site: string): Promise<string[]> => {
    const client = s3Client(store);
    try {
      const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${folder(site)}/` }));
      return (page.Contents ?? []).map((o) => (o.Key ?? "").slice(folder(site).length + 1)).sort();
    } finally {
      client.destroy();
    }
  };
  const freshStatus = async (): Promise<NonNullable<MysqlFailoverGroup["status"]>> => {
    const got = await kubectl(["get", "mfg", GROUP, "-n", ns, "-o", "json"]);
    return (JSON.parse(got.stdout) as MysqlFailoverGroup).status ?? {};
  };
  const manifestOf = async (site: string): Promise<ArchiveManifest> => {
    const read = parseArchive((await object(`${folder(site)}/manifest.json`)).toString("utf8"), (salt) => deriveKeys(PASSPHRASE, salt));
    if (!read.ok) throw new Error(read.error);
    return read.value;
  };
  const opened = (sealed: Buffer): Buffer => {
    const opener = new FrameOpener((salt) => deriveKeys(PASSPHRASE, salt));
    const plain = Buffer.concat(opener.push(sealed));
    opener.end();
    return plain;
  };

  beforeAll(async () => {
    store = await startS3Store();
    await createBucket(store, BUCKET);
    secrets = mkdtempSync(join(tmpdir(), "bloodraven-archive-"));
    writeFileSync(join(secrets, "AWS_ACCESS_KEY_ID"), store.accessKeyId, { mode: 0o600 });
    writeFileSync(join(secrets, "AWS_SECRET_ACCESS_KEY"), store.secretAccessKey, { mode: 0o600 });
    writeFileSync(join(secrets, "passphrase"), `${PASSPHRASE}\n`, { mode: 0o600 });
    sites = await freshGroup(GROUP, { failoverCooldown: "1s" });
    const args = ["--archive-storage=s3", `--archive-s3-bucket=${BUCKET}`, `--archive-s3-endpoint=${store.endpoint}`, "--archive-prefix=prod", "--archive-poll-interval=1s", "--archive-s3-idle-timeout=2s"];
    const env = { BLOODRAVEN_ARCHIVE_S3_CREDENTIALS_DIR: secrets, BLOODRAVEN_ARCHIVE_PASSPHRASE_FILE: join(secrets, "passphrase") };
    for (const site of ["iad", "pdx"]) {
      agents.set(site, await AgentProcess.start({ site, group: GROUP, namespace: ns, server: sites.site(site), operatorUrl: operator().url("status", ""), port: await freePort(), args, env }));
    }
    await agents.get("iad")?.waitForLog(LOG_MESSAGES.safetyNetLifted, 15_000);
    // The operator reads each agent's archive into its metrics once the sites name their agents.
    const patch = ["iad", "pdx"].map((site, i) => ({ op: "add", path: `/spec/sites/${i}/agentUrl`, value: agents.get(site)?.url }));
    const patched = await kubectl(["patch", "mfg", GROUP, "-n", ns, "--type=json", "-p", JSON.stringify(patch)]);
    expect(patched.code, patched.stderr).toBe(0);
  });

  afterAll(async () => {
    await Promise.all([...agents.values()].map((a) => a.stop("SIGKILL")));
    await store?.stop();
    if (secrets) rmSync(secrets, { recursive: true, force: true });
  });

  it("archives the primary's sealed binary logs, encrypted, and never the one being written or a replica's", async () => {
    const iad = sites.site("iad");
    for (let i = 0; i < 20; i++) await iad.injectWrite(`archived-${i}`, "app");
    const sealedAt = await iad.gtidBinlogPos();
    await iad.query("FLUSH BINARY LOGS");
    await iad.injectWrite("still-in-the-open-file", "app");
    const got = await archived("iad", 1);
    expect(got).toMatchObject({ enabled: true, site: "iad", primary: true, lastArchivedFile: "mysql-bin.000001" });
    expect(got.lastError).toBeUndefined();
    const manifest = await manifestOf("iad");
    expect(manifest.files.map((f) => f.file)).toEqual(["mysql-bin.000001"]);
    expect(manifest.files[0]).toMatchObject({ object: "mysql-bin.000001.sealed", lastGtid: sealedAt, startState: "" });
    // The stored object is the server's file, sealed: opened, it is byte for byte what is on disk.
    const stored = await object(`${folder("iad")}/mysql-bin.000001.sealed`);
    expect(stored.subarray(0, 8).toString("latin1")).toBe("BRSEAL01");
    expect(opened(stored).equals(readFileSync(join(sites.site("iad").dir, "data", "mysql-bin.000001")))).toBe(true);
    // A few scans later, still one file: the open one is never uploaded, and the replica uploads nothing.
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await status("iad")).filesArchived).toBe(1);
    expect(await status("pdx")).toMatchObject({ enabled: true, primary: false, filesArchived: 0, backlogFiles: 0, uploadFailures: 0 });
    // The operator's metrics: iad's last upload is the archived file's; sfo runs no agent, so has no series.
    const archivedAt = Math.floor(Date.parse(got.lastArchivedAt ?? "") / 1000);
    const series = (name: string, site: string) => new RegExp(`${name}\\{namespace="${ns}",group="${GROUP}",site="${site}"\\} (\\d+)`);
    const text = await waitFor(
      "the operator's archiver metrics",
      async () => {
        const t = await (await fetch(operator().url("metrics", "/metrics"))).text();
        return series("bloodraven_archiver_last_upload_timestamp_seconds", "iad").exec(t)?.[1] === String(archivedAt) ? t : undefined;
      },
      20_000,
      250,
    );
    expect(series("bloodraven_archiver_backlog_files", "iad").exec(text)?.[1]).toBe("0");
    expect(series("bloodraven_archiver_upload_failures", "iad").exec(text)?.[1]).toBe("0");
    expect(series("bloodraven_archiver_last_upload_timestamp_seconds", "pdx").exec(text)?.[1]).toBe("0");
    expect(text).not.toMatch(series("bloodraven_archiver_last_upload_timestamp_seconds", "sfo"));
  });

  it("after a switchover, the new primary's agent archives its own logs from its next scan", async () => {
    await planned.request("pdx", "archive-1");
    const done = await planned.finished("archive-1", 60_000);
    expect(done.status?.plannedFailover?.phase).toBe("Succeeded");
    const pdx = sites.site("pdx");
    await waitFor("pdx writable", async () => !(await pdx.isReadOnly()), 15_000, 100);
    const written = await pdx.injectWrite("on-the-new-primary", "app");
    await pdx.query("FLUSH BINARY LOGS");
    const got = await archived("pdx", 1);
    expect(got.primary).toBe(true);
    const manifest = await manifestOf("pdx");
    expect(manifest.files.at(-1)?.lastGtid).toBe(written);
    expect((await status("iad")).primary).toBe(false);
  });

  it("reports a stalled store and catches up once it is back, in order", async () => {
    const pdx = sites.site("pdx");
    const before = (await status("pdx")).filesArchived;
    await store.pause();
    try {
      await pdx.injectWrite("during-the-stall", "app");
      await pdx.query("FLUSH BINARY LOGS");
      await pdx.injectWrite("during-the-stall-2", "app");
      await pdx.query("FLUSH BINARY LOGS");
      // Four attempts of 2 s each, with the SDK's backoff between them.
      await waitFor("pdx's archiver to report the stalled store", async () => (await status("pdx")).lastError !== undefined, 30_000, 250);
    } finally {
      await store.resume();
    }
    const got = await archived("pdx", before + 2, 60_000);
    expect(got.lastError).toBeUndefined();
    expect(got.uploadFailures).toBeGreaterThan(0);
    expect(got.backlogFiles).toBe(0);
    const files = (await manifestOf("pdx")).files.map((f) => f.file);
    expect(files).toEqual([...files].sort());
    expect(new Set(files).size).toBe(files.length);
  });

  it("prunes, on every site, the archived files that every retained backup holds, manifest first, and a replay from that backup still finds its files", async () => {
    const pdx = sites.site("pdx");
    await pdx.injectWrite("held-by-the-backup", "app");
    await pdx.query("FLUSH BINARY LOGS");
    const held = await pdx.gtidBinlogPos();
    const after = await pdx.injectWrite("after-the-backup", "app");
    await pdx.query("FLUSH BINARY LOGS");
    const before = await waitFor("pdx's archive to reach the write after the backup", async () => ((await manifestOf("pdx")).files.some((f) => f.lastGtid === after) ? manifestOf("pdx") : undefined), 15_000, 100);
    expect((await manifestOf("iad")).files.length).toBeGreaterThan(0);
    expect((await status("pdx")).filesPruned).toBe(0);
    // A Succeeded backup at `held` (as a backup Job would have recorded it), and the group's spec.backup.
    const created = await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({ apiVersion: "shipstream.io/v1alpha1", kind: "MysqlBackup", metadata: { name: "held", namespace: ns }, spec: { failoverGroupRef: { name: GROUP }, profileName: "nightly" } }),
    });
    expect(created.code, created.stderr).toBe(0);
    const now = new Date().toISOString();
    const succeeded = { status: { phase: "Succeeded", startTime: now, completionTime: now, sourceSite: "pdx", gtidExecuted: held } };
    const patchedStatus = await kubectl(["patch", "mb", "held", "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify(succeeded)]);
    expect(patchedStatus.code, patchedStatus.stderr).toBe(0);
    const withBackup = await kubectl(["patch", "mfg", GROUP, "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { backup: { profiles: [{ name: "nightly", storage: { pvc: { claimName: "backups" } } }] } } })]);
    expect(withBackup.code, withBackup.stderr).toBe(0);

    const floor = `0-0-${held.split("-")[2]}`;
    const pruned = await waitFor("pdx's agent to prune to the floor", async () => ((await status("pdx")).prunedTo === floor ? status("pdx") : undefined), 30_000, 250);
    const kept = await manifestOf("pdx");
    const gone = before.files.filter((f) => !kept.files.some((k) => k.file === f.file));
    expect(gone.length).toBeGreaterThan(0);
    expect(pruned.filesPruned).toBe(gone.length);
    expect(pruned.filesArchived).toBe(kept.files.length);
    // Exactly the files within the backup went; the first kept one holds the write after it.
    for (const f of gone) expect(BigInt(f.lastGtid?.split("-")[2] ?? "0")).toBeLessThanOrEqual(BigInt(held.split("-")[2] ?? ""));
    expect(kept.files[0]?.lastGtid).toBe(after);
    // The manifest remembers the newest pruned file: the server's copies are not archived again.
    expect(kept.prunedThrough).toBe(gone.at(-1)?.file);
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await manifestOf("pdx")).files.map((f) => f.file)).toEqual(kept.files.map((f) => f.file));
    expect(await keysIn("pdx")).toEqual(["manifest.json", ...kept.files.map((f) => f.object)].sort());
    // iad's archive (it archived before the switchover) is all within the backup: pruned by iad's agent.
    await waitFor("iad's agent to prune to the floor", async () => (await status("iad")).prunedTo === floor, 30_000, 250);
    expect((await manifestOf("iad")).files).toEqual([]);
    expect(await keysIn("iad")).toEqual(["manifest.json"]);
    await agents.get("pdx")?.waitForLog(LOG_MESSAGES.archiverPruned, 5_000);
    // A point-in-time recovery from the backup replays from the first kept file.
    const replay = planReplay([kept, await manifestOf("iad")], held);
    expect("plan" in replay && replay.plan.files.map((f) => f.file)).toEqual(kept.files.map((f) => f.file));
    // status.pitr says the same: the floor, each archiving site (sfo runs no agent), the reach.
    const pitr = await waitFor(
      "status.pitr after the prune",
      async () => {
        const p = (await freshStatus()).pitr;
        return p?.floor === floor && p.sites?.find((x) => x.name === "iad")?.filesArchived === 0 && p.sites.find((x) => x.name === "pdx")?.filesPruned === gone.length ? p : undefined;
      },
      30_000,
      500,
    );
    expect(pitr).toEqual({
      floor,
      newestTransactionTime: new Date((kept.files.at(-1)?.lastTime ?? 0) * 1000).toISOString(),
      sites: [
        { name: "iad", primary: false, filesArchived: 0, bytesArchived: 0, lastArchivedFile: "mysql-bin.000001", lastArchivedTime: expect.any(String), backlogFiles: 0, filesPruned: 1 },
        { name: "pdx", primary: true, filesArchived: kept.files.length, bytesArchived: kept.files.reduce((n, f) => n + f.bytes, 0), lastArchivedFile: kept.files.at(-1)?.file, lastArchivedTime: expect.any(String), newestTransactionTime: expect.any(String), backlogFiles: 0, filesPruned: gone.length },
      ],
    });
  });

  it("archives a primary whose binary logs started again (as a clone or a restore positions them) in a new generation, and a replay after that follows it", async () => {
    const pdx = sites.site("pdx");
    const before = await manifestOf("pdx");
    expect(before.generation ?? 0).toBe(0);
    // What positioning a copy does (operator/mysql/copy-position.ts): the numbering starts at 1 again.
    const pos = await pdx.gtidBinlogPos();
    await pdx.query("RESET MASTER");
    await pdx.query(`SET GLOBAL gtid_binlog_state = '${pos}'`);
    const reset = await pdx.gtidBinlogPos();
    const written = await pdx.injectWrite("after-the-reset", "app");
    await pdx.query("FLUSH BINARY LOGS");
    await pdx.injectWrite("in-the-open-file", "app");
    await agents.get("pdx")?.waitForLog(LOG_MESSAGES.archiverNewGeneration, 15_000);
    const after = await waitFor("pdx's new generation to hold the write after the reset", async () => {
      const m = await manifestOf("pdx");
      return m.files.some((f) => f.generation === 1 && f.lastGtid === written) ? m : undefined;
    }, 15_000, 100);
    expect(after.generation).toBe(1);
    expect(after.prunedThrough).toBeUndefined();
    // The earlier generation stays for backups taken before the reset; the new files are objects of their own.
    expect(after.files.filter((f) => (f.generation ?? 0) === 0)).toEqual(before.files);
    const fresh = after.files.filter((f) => f.generation === 1);
    expect(fresh.map((f) => [f.file, f.object, f.startState])).toEqual([["mysql-bin.000001", "mysql-bin.000001.g1.sealed", reset]]);
    expect(opened(await object(`${folder("pdx")}/mysql-bin.000001.g1.sealed`)).equals(readFileSync(join(pdx.dir, "data", "mysql-bin.000001")))).toBe(true);
    const replay = planReplay([after, await manifestOf("iad")], reset);
    expect("plan" in replay && replay.plan.files.map((f) => f.object)).toEqual(["mysql-bin.000001.g1.sealed"]);
    expect((await status("pdx")).lastError).toBeUndefined();
  });
});
