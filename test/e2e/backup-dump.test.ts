import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createWriteStream } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBucket, startS3Store, type S3Store } from "../../scripts/env/s3-store.js";
import { deriveKeys, newSalt } from "../../shared/backup/sealing.js";
import { manifestText, type BackupManifest } from "../../shared/backup/manifest.js";
import { dumpPosition } from "../../shared/backup/mysql-dump.js";
import { DUMP_GTIDS, DUMP_MANIFEST, DUMP_METADATA, storeDumpArtifact } from "../support/mysql-dump-artifact.js";
import { measuring, opening, sealing, streamToStore } from "../../operator/backup/artifact-streams.js";
import { S3ObjectStore } from "../../operator/backup/object-store.js";
import { restoreBackup } from "../../operator/backup/restore-backup.js";
import { takeBackup } from "../../operator/backup/take-backup.js";
import { replayArchive } from "../../operator/backup/point-in-time.js";
import { archiveText } from "../../shared/backup/binlog-archive.js";
import { BinlogScanner } from "../../shared/backup/binlog.js";
import { A, mysqlBinlog, T0 } from "../support/mysql-binlog.js";
import { verifyBackup, type VerifyTask } from "../../operator/backup/verify-backup.js";
import { packDump } from "../../operator/backup/take-dump.js";

/**
 * A MySQL site's backup without MySQL Shell, which this machine cannot run: the test writes a
 * dump folder the way MySQL Shell does (shared/backup/mysql-dump.ts pins how), and the packer
 * streams it, sealed, into a real S3-compatible store (MinIO); GNU tar unpacks what was stored,
 * byte for byte. What needs MySQL Shell itself is pinned by the contract tests in test/unit.
 */
const BUCKET = "dumps";
const PASSPHRASE = "correct horse battery staple";
const GTIDS = DUMP_GTIDS;
const MANIFEST = DUMP_MANIFEST;
const METADATA = DUMP_METADATA;

async function bytesOf(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(parts);
}

/** A promise and what settles it: MySQL Shell's exit, as the test decides it. */
function exitControl(): { dumped: Promise<void>; exit: (failure?: Error) => void } {
  let exit: (failure?: Error) => void = () => undefined;
  const dumped = new Promise<void>((resolve, reject) => (exit = (failure) => (failure ? reject(failure) : resolve())));
  dumped.catch(() => undefined);
  return { dumped, exit };
}

describe("a MySQL Shell dump folder packed into the store (real MinIO, real GNU tar)", () => {
  let store: S3Store;
  let s3: S3ObjectStore;
  const dirs: string[] = [];
  const folder = (): string => {
    const d = mkdtempSync(join(tmpdir(), "bloodraven-dump-"));
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    store = await startS3Store();
    await createBucket(store, BUCKET);
    s3 = new S3ObjectStore({ bucket: BUCKET, region: store.region, endpoint: store.endpoint, credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey } });
  });

  const storeDump = (backup: string): Promise<void> => storeDumpArtifact(s3, "prod", backup);

  afterAll(async () => {
    s3?.destroy();
    await store?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("packs each chunk once renamed and deletes it, the rest after @.done.json, that last; tar unpacks every file byte for byte", async () => {
    const dir = folder();
    const written = new Map<string, Buffer>();
    const write = (name: string, bytes: Buffer | string): void => {
      const b = Buffer.from(bytes);
      writeFileSync(join(dir, name), b);
      written.set(name, b);
    };
    const { dumped, exit } = exitControl();
    let metadata: string | undefined;
    const keys = deriveKeys(PASSPHRASE, newSalt());
    const measure = measuring();
    const signal = AbortSignal.timeout(60_000);
    const stored = streamToStore([Readable.from(packDump(dir, dumped, signal, (t) => (metadata = t))), sealing(keys), measure.stream], s3, "prod/shop/orders/d1/data.tar.sealed", signal, "the dump broke off");

    // As MySQL Shell: metadata in place first, then data chunks under a .dumping name, renamed when whole.
    write("@.json", METADATA);
    write("@.sql", "-- session settings\n");
    write("shop.json", JSON.stringify({ schema: "shop" }));
    write("shop@orders.json", JSON.stringify({ table: "orders" }));
    const chunk0 = randomBytes(3 * 1024 * 1024);
    writeFileSync(join(dir, "shop@orders@0.tsv.zst.dumping"), chunk0.subarray(0, 1024 * 1024));
    await sleep(600);
    // Three polls later: nothing of a file still being written is taken, nor metadata before the end.
    expect(readdirSync(dir).sort()).toEqual(["@.json", "@.sql", "shop.json", "shop@orders.json", "shop@orders@0.tsv.zst.dumping"]);
    writeFileSync(join(dir, "shop@orders@0.tsv.zst.dumping"), chunk0);
    renameSync(join(dir, "shop@orders@0.tsv.zst.dumping"), join(dir, "shop@orders@0.tsv.zst"));
    written.set("shop@orders@0.tsv.zst", chunk0);
    // Packed and deleted while the dump goes on: the folder never holds the whole dump.
    const deadline = Date.now() + 10_000;
    while (readdirSync(dir).includes("shop@orders@0.tsv.zst") && Date.now() < deadline) await sleep(50);
    expect(readdirSync(dir)).not.toContain("shop@orders@0.tsv.zst");
    write("shop@orders@0.tsv.zst.idx", randomBytes(64));
    write("shop@orders@@1.tsv.zst", randomBytes(700_001));
    write("shop@orders@@1.tsv.zst.idx", randomBytes(64));
    const longName = `shop@${"a".repeat(120)}.tsv.zst`;
    write(longName, randomBytes(513));
    write("@.post.sql", "-- done\n");
    write("@.done.json", JSON.stringify({ end: "2026-12-06 02:10:00", dataBytes: 4_000_000 }));
    exit();
    await stored;

    expect(readdirSync(dir)).toEqual([]);
    expect(metadata).toBe(METADATA);
    expect(dumpPosition(metadata ?? "")).toEqual({ ok: true, value: { gtid: GTIDS, binlogFile: "binlog.000002", binlogPosition: 157 } });
    const { bytes, sha256 } = measure.result();
    // Back from the store, opened, unpacked by GNU tar.
    const out = folder();
    const tarFile = join(out, "data.tar");
    await pipeline(await s3.get("prod/shop/orders/d1/data.tar.sealed", AbortSignal.timeout(30_000)), opening(() => keys), createWriteStream(tarFile));
    // Sealed tar: every file's bytes and more (headers, padding, frames).
    expect(bytes).toBeGreaterThan([...written.values()].reduce((n, b) => n + b.length, 0));
    const listing = execFileSync("tar", ["-tf", tarFile], { encoding: "utf8" }).trim().split("\n");
    expect(listing.at(-1)).toBe("@.done.json");
    expect(listing.indexOf("shop@orders@0.tsv.zst")).toBe(0);
    expect([...listing].sort()).toEqual([...written.keys()].sort());
    const unpacked = join(out, "dump");
    execFileSync("mkdir", [unpacked]);
    execFileSync("tar", ["-xf", tarFile, "-C", unpacked]);
    for (const [name, content] of written) expect(readFileSync(join(unpacked, name)).equals(content), name).toBe(true);

    // The manifest takeBackup writes for it; then the restore (`bloodraven restore`) makes the dump folder again.
    const manifest: Omit<BackupManifest, "signature"> = { ...MANIFEST, backup: "d1", position: { gtid: GTIDS, binlogFile: "binlog.000002", binlogPosition: 157 }, data: { object: "data.tar.sealed", bytes, sha256 }, encryption: { algorithm: "AES-256-GCM", kdf: "scrypt", salt: keys.salt.toString("base64") } };
    await s3.putText("prod/shop/orders/d1/manifest.json", manifestText(manifest, keys), AbortSignal.timeout(10_000));
    const ref = { namespace: "shop", group: "orders", backup: "d1", prefix: "prod", passphrase: PASSPHRASE };
    const target = join(folder(), "restored");
    expect(await restoreBackup({ ...ref, targetDir: target, timeoutMs: 60_000 }, s3)).toMatchObject(manifest);
    expect(readdirSync(target).sort()).toEqual([...written.keys()].sort());
    for (const [name, content] of written) expect(readFileSync(join(target, name)).equals(content), name).toBe(true);
    // Where a server must start on the copy (a verification, a site's restore), a dump is refused before anything is fetched.
    const physical = join(folder(), "physical");
    await expect(restoreBackup({ ...ref, targetDir: physical, timeoutMs: 60_000, methods: { accepted: ["mariadb-backup"], why: "not built" } }, s3)).rejects.toThrow(/d1 is a backup by mysqlsh-dump of a mysql site: not built/);
    expect(readdirSync(join(physical, ".."))).toEqual([]);
  }, 90_000);

  it("fails with MySQL Shell's own error when it fails, says the dump is incomplete when it ends without @.done.json, and stops a dump with no exact position at once", async () => {
    for (const [failure, error] of [
      [new Error("mysqlsh util.dumpInstance failed (exit code 1): Util.dumpInstance: Access denied"), /Access denied/],
      [undefined, /without writing @\.done\.json: the dump is incomplete/],
    ] as const) {
      const dir = folder();
      writeFileSync(join(dir, "@.json"), METADATA);
      writeFileSync(join(dir, "shop@orders@0.tsv.zst"), randomBytes(1000));
      const { dumped, exit } = exitControl();
      const signal = AbortSignal.timeout(30_000);
      const stored = streamToStore([Readable.from(packDump(dir, dumped, signal, () => undefined))], s3, "shop/orders/d2/data.tar", signal, "the dump broke off");
      await sleep(300);
      exit(failure);
      await expect(stored).rejects.toThrow(error);
    }
    // A dump that will name no exact position fails as soon as its @.json is whole, MySQL Shell still running.
    const dir = folder();
    const signal = AbortSignal.timeout(30_000);
    const { dumped } = exitControl();
    const stored = streamToStore([Readable.from(packDump(dir, dumped, signal, () => undefined))], s3, "shop/orders/d5/data.tar", signal, "the dump broke off");
    writeFileSync(join(dir, "@.json"), METADATA.replace('"gtidExecutedInconsistent":false', '"gtidExecutedInconsistent"'));
    await sleep(500);
    writeFileSync(join(dir, "@.json"), METADATA.replace('"gtidExecutedInconsistent":false', '"gtidExecutedInconsistent":true'));
    await expect(stored).rejects.toThrow(/the dump cannot be used: .*BACKUP_ADMIN and RELOAD/);
  }, 60_000);

  it("a backup Job whose image has no MySQL Shell fails saying so and leaves nothing in the store or the work folder; a damaged dump is not restored", async () => {
    const work = join(folder(), "work");
    const secrets = folder();
    writeFileSync(join(secrets, "username"), "bloodraven\n");
    writeFileSync(join(secrets, "password"), "s3cret\n");
    const source = { site: "pdx", host: "127.0.0.1", port: 9, userFile: join(secrets, "username"), passwordFile: join(secrets, "password"), settings: { threads: 2, bytesPerChunk: "1M", compression: "zstd" as const }, workDir: work, mysqlsh: "mysqlsh-not-installed" };
    await expect(takeBackup({ namespace: "shop", group: "orders", backup: "d3", profile: "nightly", prefix: "prod", source, timeoutMs: 30_000 }, s3)).rejects.toThrow(/cannot run mysqlsh-not-installed .*must carry MySQL Shell/);
    expect(await s3.list("prod/shop/orders/d3/", AbortSignal.timeout(10_000))).toEqual([]);
    expect(readdirSync(join(work, ".."))).toEqual([]);

    // An unencrypted dump with a flipped byte in the store: refused, the folder removed.
    await storeDump("d4");
    const signal = AbortSignal.timeout(30_000);
    const stored = await bytesOf(await s3.get("prod/shop/orders/d4/data.tar", signal));
    for (const at of [600, 1024 + 10]) {
      const flipped = Buffer.from(stored);
      flipped[at] = (flipped[at] ?? 0) ^ 0x20;
      await s3.put("prod/shop/orders/d4/data.tar", Readable.from([flipped]), AbortSignal.timeout(10_000));
      const target = join(folder(), "restore");
      await expect(restoreBackup({ namespace: "shop", group: "orders", backup: "d4", prefix: "prod", targetDir: target, timeoutMs: 30_000 }, s3)).rejects.toThrow(/damaged/);
      expect(readdirSync(join(target, ".."))).toEqual([]);
    }
  }, 60_000);

  it("a dump's verification: an image without mysqld fails at the empty server's start, saying so, the work folder kept only when asked", async () => {
    await storeDump("d6");
    const task = (workDir: string, over: Partial<VerifyTask> = {}): VerifyTask => ({
      namespace: "shop",
      group: "orders",
      backup: "d6",
      prefix: "prod",
      workDir,
      pointInTime: "none",
      server: { mariadbd: "/usr/sbin/mariadbd", mysqld: "/nonexistent/mysqld", mysqlsh: "mysqlsh-not-installed", port: 9 },
      keepOnFailure: false,
      timeoutMs: 30_000,
      ...over,
    });
    const plain = join(folder(), "plain");
    await expect(verifyBackup(task(plain), s3)).rejects.toThrow(/cannot initialize an empty MySQL server: spawn \/nonexistent\/mysqld ENOENT/);
    expect(readdirSync(join(plain, ".."))).toEqual([]);
    // Kept: the dump as restored, whole, beside the server's empty datadir.
    const kept = join(folder(), "kept");
    await expect(verifyBackup(task(kept, { keepOnFailure: true }), s3)).rejects.toThrow(/cannot initialize an empty MySQL server/);
    expect(readdirSync(join(kept, "data")).sort()).toEqual(["@.done.json", "@.json", "shop@orders@0.tsv"]);
  }, 60_000);

  it("a MySQL site's binary log archive: read, planned and checked as MySQL's, and replayed through mysqlbinlog (absent here: the run fails naming it)", async () => {
    const folderKey = "pitr/shop/orders/binlogs/pdx";
    const bytes = mysqlBinlog([[A, [[1, 100]]]], [[A, 101, T0 + 1], [A, 102, T0 + 2]]);
    await s3.put(`${folderKey}/binlog.000007`, Readable.from([bytes]), AbortSignal.timeout(10_000));
    const scanner = new BinlogScanner("mysql");
    scanner.push(bytes);
    const entry = { file: "binlog.000007", object: "binlog.000007", bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex"), archivedAt: "2026-12-06T02:00:00Z", ...scanner.end() };
    await s3.putText(`${folderKey}/manifest.json`, archiveText({ format: 1, namespace: "shop", group: "orders", site: "pdx", flavor: "mysql", files: [entry] }), AbortSignal.timeout(10_000));
    const task = (fromGtid: string) => ({ prefix: "pitr", namespace: "shop", group: "orders", fromGtid, server: { host: "127.0.0.1", port: 9, user: "root", password: "x" }, workDir: join(folder(), "replay"), timeoutMs: 30_000 });

    await expect(replayArchive(task("0-1-100"), s3)).rejects.toThrow(`no site's archive covers the time after the backup: pdx's archive holds a mysql server's binary logs, and the backup's position "0-1-100" is not a mysql one`);
    // The file is fetched and checked, then handed to MySQL's reader, which this machine lacks.
    await expect(replayArchive(task(`${A}:1-100`), s3)).rejects.toThrow(/^reading the archived binary logs failed: spawn mysqlbinlog ENOENT/);
    // A damaged file is caught by its hash before any reader runs.
    await s3.put(`${folderKey}/binlog.000007`, Readable.from([Buffer.concat([bytes.subarray(0, 100), Buffer.from("x"), bytes.subarray(101)])]), AbortSignal.timeout(10_000));
    await expect(replayArchive(task(`${A}:1-100`), s3)).rejects.toThrow(/binlog.000007 is .* it is damaged/);
  }, 60_000);
});
