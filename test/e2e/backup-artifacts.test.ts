import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbSites, type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { freePort } from "../../scripts/env/ports.js";
import { createBucket, s3Client, startS3Store, type S3Store } from "../../scripts/env/s3-store.js";
import { artifactFolder } from "../../shared/backup/manifest.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { S3ObjectStore, type ObjectStore } from "../../operator/backup/object-store.js";
import { readManifest, restoreBackup } from "../../operator/backup/restore-backup.js";
import { takeBackup, type BackupTask } from "../../operator/backup/take-backup.js";
import { AgentProcess } from "../support/agent.js";
import { missingOn } from "../support/ledger.js";

/**
 * A backup streamed from a real agent (mariadb-backup on a real MariaDB replica under write
 * load) into a real S3-compatible store (MinIO), restored into a new folder, and a server
 * started on it. Damage, a wrong passphrase, a stalled store and a source dying mid-stream
 * each fail with a reason and leave no manifest behind.
 */
const TOKEN = randomBytes(16).toString("hex");
const BUCKET = "backups";
const PASSPHRASE = "correct horse battery staple";

/**
 * Writes as the admin account (the agents fence the servers, no operator being there to say
 * otherwise) and records each acknowledged note; bounded by stop() and by `max` writes.
 */
/** The notes written before the backup: long enough never to occur in random bytes by chance. */
const PLAINTEXT_MARKER = "bk-plaintext-marker-7f3a9c";

function adminLoad(site: MariaDbSite, prefix: string, max = 5_000): { stop: () => Promise<string[]> } {
  let running = true;
  const acked: string[] = [];
  const loop = (async () => {
    for (let n = 0; running && n < max; n++) {
      const note = `${prefix}-${n}`;
      await site.injectWrite(note, "admin").then(() => acked.push(note));
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

describe("backup artifacts: agent stream -> S3 store -> restore (real MariaDB, real MinIO)", () => {
  let sites: MariaDbSites;
  let copy: MariaDbSites;
  let store: S3Store;
  let s3: S3ObjectStore;
  let iad: AgentProcess;
  let pdx: AgentProcess;
  const restoreDirs: string[] = [];

  const task = (backup: string, over: Partial<BackupTask> = {}): BackupTask => ({
    namespace: "shop",
    group: "orders",
    backup,
    profile: "nightly",
    prefix: "prod",
    source: { site: "pdx", agentUrl: pdx.url, token: TOKEN },
    passphrase: PASSPHRASE,
    timeoutMs: 120_000,
    ...over,
  });

  const objectsOf = async (backup: string): Promise<string[]> => (await s3.list(`${artifactFolder("prod", { namespace: "shop", group: "orders", backup })}/`, AbortSignal.timeout(10_000))).map((o) => o.key.split("/").pop() as string);

  beforeAll(async () => {
    [sites, store] = await Promise.all([MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" }), startS3Store()]);
    await createBucket(store, BUCKET);
    s3 = new S3ObjectStore({ bucket: BUCKET, region: store.region, endpoint: store.endpoint, credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey } });
    const [iadPort, pdxPort] = [await freePort(), await freePort()];
    const common = { group: "orders", namespace: "shop", operatorUrl: "http://127.0.0.1:9", clone: { token: TOKEN } };
    [iad, pdx] = await Promise.all([
      AgentProcess.start({ ...common, site: "iad", server: sites.site("iad"), port: iadPort }),
      AgentProcess.start({ ...common, site: "pdx", server: sites.site("pdx"), port: pdxPort }),
    ]);
    await Promise.all([iad.waitForLog(LOG_MESSAGES.safetyNetFenced, 10_000), pdx.waitForLog(LOG_MESSAGES.safetyNetFenced, 10_000)]);
  });

  afterAll(async () => {
    s3?.destroy();
    await Promise.all([iad?.stop("SIGKILL"), pdx?.stop("SIGKILL")]);
    await Promise.all([sites?.teardown(), copy?.teardown(), store?.stop()]);
    await Promise.all(restoreDirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it("backs a replica up under write load, encrypted, and a server started on the restore holds every write acknowledged before it began", async () => {
    // A long marker: a short note ("bk-0") turns up by chance in megabytes of ciphertext (about
    // one run in sixty for a 4-byte string in 70 MB), which the check below would take for plaintext.
    const load = adminLoad(sites.site("iad"), PLAINTEXT_MARKER);
    await new Promise((r) => setTimeout(r, 1_000));
    const before = await load.stop();
    const during = adminLoad(sites.site("iad"), "bk2");
    const outcome = await takeBackup(task("b1"), s3);
    const afterAcked = await during.stop();
    expect(before.length).toBeGreaterThan(20);
    expect(outcome.location).toBe("prod/shop/orders/b1/manifest.json");
    expect(outcome.manifest).toMatchObject({ sourceSite: "pdx", flavor: "mariadb", encryption: { algorithm: "AES-256-GCM" } });
    expect(outcome.manifest.position.gtid).toMatch(/^0-1-\d+$/);
    expect(outcome.manifest.data.bytes).toBeGreaterThan(1_000_000);
    expect((await objectsOf("b1")).sort()).toEqual(["data.xbstream.sealed", "manifest.json"]);

    // The stored bytes are ciphertext: no page of the copy is readable in them.
    const client = s3Client(store);
    const raw = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "prod/shop/orders/b1/data.xbstream.sealed" }))).Body!.transformToByteArray());
    client.destroy();
    expect(raw.subarray(0, 8).toString("latin1")).toBe("BRSEAL01");
    expect(raw.includes(Buffer.from("XBSTCK01"))).toBe(false);
    expect(raw.includes(Buffer.from(before[0] as string))).toBe(false);

    copy = await MariaDbSites.start({ names: ["copy"], firstServerId: 9 });
    const server = copy.site("copy");
    await server.stop();
    const target = join(server.dir, "restored");
    restoreDirs.push(target);
    const restored = await restoreBackup({ namespace: "shop", group: "orders", backup: "b1", prefix: "prod", passphrase: PASSPHRASE, targetDir: target, timeoutMs: 120_000 }, s3);
    expect(restored.position).toEqual(outcome.manifest.position);
    await rm(join(server.dir, "data"), { recursive: true, force: true });
    await rename(target, join(server.dir, "data"));
    await server.start();
    expect(await missingOn(server, before, PLAINTEXT_MARKER)).toEqual([]);
    // Nothing beyond the copy's position: every row it holds of the load during the backup was acknowledged.
    const rows = await server.query<{ note: string }[]>("SELECT note FROM bloodraven_test.writes WHERE note LIKE 'bk2-%'");
    const acked = new Set(afterAcked);
    expect(rows.filter((r) => !acked.has(r.note))).toEqual([]);
  });

  it("backs the primary up unencrypted, and reads the manifest back with no passphrase", async () => {
    const outcome = await takeBackup(task("b2", { source: { site: "iad", agentUrl: iad.url, token: TOKEN }, passphrase: undefined }), s3);
    expect(outcome.manifest.encryption).toBeUndefined();
    expect((await objectsOf("b2")).sort()).toEqual(["data.xbstream", "manifest.json"]);
    const read = await readManifest({ namespace: "shop", group: "orders", backup: "b2", prefix: "prod" }, s3, AbortSignal.timeout(10_000));
    expect(read.manifest.position).toEqual(outcome.manifest.position);
  });

  it("refuses a wrong passphrase, a damaged data object and a manifest moved elsewhere, leaving no restored folder", async () => {
    const ref = { namespace: "shop", group: "orders", backup: "b1", prefix: "prod" };
    const target = join(copy.site("copy").dir, "refused");
    restoreDirs.push(target);
    await expect(restoreBackup({ ...ref, passphrase: "not the passphrase", targetDir: target, timeoutMs: 60_000 }, s3)).rejects.toThrow(/signature does not match/);
    await expect(restoreBackup({ ...ref, targetDir: target, timeoutMs: 60_000 }, s3)).rejects.toThrow(/passphraseSecret/);

    const client = s3Client(store);
    try {
      for (const [backup, object, error] of [
        ["b1", "data.xbstream.sealed", /fails authentication/],
        ["b2", "data.xbstream", /damaged|mbstream failed/],
      ] as const) {
        const key = `prod/shop/orders/${backup}/${object}`;
        const bytes = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
        const at = Math.floor(bytes.length / 2);
        bytes[at] = (bytes[at] as number) ^ 0xff;
        await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes }));
        await expect(restoreBackup({ ...ref, backup, passphrase: PASSPHRASE, targetDir: target, timeoutMs: 60_000 }, s3)).rejects.toThrow(error);
        expect(existsSync(target)).toBe(false);
      }
      const manifest = await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "prod/shop/orders/b2/manifest.json" }))).Body!.transformToString();
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "prod/shop/orders/b9/manifest.json", Body: manifest }));
      await expect(readManifest({ ...ref, backup: "b9" }, s3, AbortSignal.timeout(10_000))).rejects.toThrow(/describes shop\/orders\/b2.*moved or copied/);
    } finally {
      client.destroy();
    }
  });

  it("fails with a reason and leaves nothing listed when the source's backup dies mid-stream", async () => {
    // The store takes the stream only once released: until then the stream backs up and
    // mariadb-backup is still writing when it dies (a small copy otherwise ends before the kill).
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holding: ObjectStore = {
      location: s3.location,
      put: async (key, body, signal) => {
        await held;
        return s3.put(key, body, signal);
      },
      putText: (key, text, signal) => s3.putText(key, text, signal),
      get: (key, signal) => s3.get(key, signal),
      getText: (key, signal) => s3.getText(key, signal),
      list: (prefix, signal) => s3.list(prefix, signal),
      delete: (keys, signal) => s3.delete(keys, signal),
    };
    const running = takeBackup(task("b3"), holding);
    running.catch(() => undefined);
    let killed = false;
    try {
      // The source's mariadb-backup dies once it streams: the agent cuts the answer off.
      const deadline = Date.now() + 30_000;
      const pattern = `mariadb-backup --defaults-file=.*--datadir=${sites.site("pdx").dir}`;
      while (spawnSync("pgrep", ["-f", pattern]).status !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      while (!killed && Date.now() < deadline) {
        killed = spawnSync("pkill", ["-9", "-f", pattern]).status === 0;
        if (!killed) await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      release();
    }
    expect(killed).toBe(true);
    await expect(running).rejects.toThrow(/the copy from pdx broke off/);
    expect(await objectsOf("b3")).toEqual([]);
  });

  it("fails within its limits when the store stalls, and nothing is listed once it is back", async () => {
    const stalled = new S3ObjectStore({ bucket: BUCKET, region: store.region, endpoint: store.endpoint, credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey }, limits: { idleMs: 2_000, attempts: 2 } });
    await store.pause();
    const started = Date.now();
    try {
      await expect(takeBackup(task("b4"), stalled)).rejects.toThrow(/did not take|broke off/);
    } finally {
      store.resume();
      stalled.destroy();
    }
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await objectsOf("b4")).toEqual([]);
  });
});
