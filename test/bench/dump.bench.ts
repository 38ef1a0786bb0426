/**
 * npm run bench:dump: how fast a MySQL site's dump folder goes into the store and comes back
 * (issue: backup >= 50% of the raw store write speed), beside the raw speeds of the same store
 * measured in the same run. MySQL Shell cannot run here, so the folder is written by this process
 * as MySQL Shell leaves a finished dump (chunks of random bytes, `@.json`, `@.done.json`): what is
 * measured is the runner's side, packDump -> (frames) -> hash -> S3ObjectStore.put, and
 * restoreBackup's download, check and unpack, against a real MinIO.
 *
 * Each of BENCH_DUMP_ROUNDS rounds (default 3) writes BENCH_DUMP_MB (MB = 10^6 bytes, default
 * 1024) in BENCH_DUMP_CHUNK_MB chunks (default 64) into a fresh folder beside MinIO's (EnvDir:
 * /dev/shm when writable), then measures: a raw put of as many random bytes; the pack, plain and
 * sealed (the folder written again for the second); a raw get of the plain object; the restore of
 * both. CPU is this process's (process.cpuUsage) and the whole machine's (/proc/stat) over each
 * step, in cores (CPU seconds / wall seconds).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { EnvDir } from "../../scripts/env/env-dir.js";
import { createBucket, startS3Store } from "../../scripts/env/s3-store.js";
import { manifestText, type BackupManifest } from "../../shared/backup/manifest.js";
import { DUMP_DONE_FILE, DUMP_METADATA_FILE } from "../../shared/backup/mysql-dump.js";
import { deriveKeys, newSalt } from "../../shared/backup/sealing.js";
import { measuring, sealing, streamToStore } from "../../operator/backup/artifact-streams.js";
import { S3ObjectStore } from "../../operator/backup/object-store.js";
import { restoreBackup } from "../../operator/backup/restore-backup.js";
import { packDump } from "../../operator/backup/take-dump.js";
import { drain, machineInfo, randomStream, spread } from "./bench-util.js";

const MB = 1e6;
const TARGET_RATIO = 0.5;
const TMPFS_MAGIC = 0x01021994;
const PASSPHRASE = "bench dump passphrase";
const BUCKET = "bench";
const GTID = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100";
const METADATA = JSON.stringify({ origin: "dumpInstance", binlogFile: "binlog.000002", binlogPosition: 157, gtidExecuted: GTID, gtidExecutedInconsistent: false, consistent: true });

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!(value > 0) || !Number.isFinite(value)) throw new Error(`${name} must be a positive number`);
  return value;
}

const DATASET_MB = positive("BENCH_DUMP_MB", 1024);
const CHUNK_MB = positive("BENCH_DUMP_CHUNK_MB", 64);
const ROUNDS = Math.floor(positive("BENCH_DUMP_ROUNDS", 3));
/** Anything slower than 20 MB/s is a failure, not a number. */
const STEP_TIMEOUT_MS = Math.round(60_000 + ((DATASET_MB * MB) / (20 * MB)) * 1000);

function machineBusy(): { busy: number; total: number } {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

interface Step {
  seconds: number;
  bytes: number;
  cores: { runner: number; machine_total: number };
}

/** Times `fn`, with the runner's and the machine's CPU over it. */
async function step(bytes: (value: number) => number, fn: () => Promise<number>): Promise<Step> {
  const cpu = process.cpuUsage();
  const machine = machineBusy();
  const start = performance.now();
  const value = await fn();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const after = machineBusy();
  const cores = os.cpus().length;
  return {
    seconds,
    bytes: bytes(value),
    cores: { runner: round3((used.user + used.system) / 1e6 / seconds), machine_total: round3(((after.busy - machine.busy) / Math.max(1, after.total - machine.total)) * cores) },
  };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** A finished dump as MySQL Shell leaves it: `@.json`, data chunks of random bytes, `@.done.json`. */
function writeDump(dir: string, pool: Buffer): number {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, DUMP_METADATA_FILE), METADATA);
  let bytes = 0;
  const chunk = Math.round(CHUNK_MB * MB);
  for (let i = 0; bytes < DATASET_MB * MB; i++) {
    const size = Math.min(chunk, Math.round(DATASET_MB * MB) - bytes);
    // Each chunk a different window of the pool, so no two objects' parts are alike.
    const start = (i * 7919) % Math.max(1, pool.length - size);
    writeFileSync(join(dir, `shop@orders@${i}.tsv.zst`), pool.subarray(start, start + size));
    bytes += size;
  }
  writeFileSync(join(dir, DUMP_DONE_FILE), JSON.stringify({ dataBytes: bytes }));
  return bytes;
}

async function main(): Promise<void> {
  const loadAtStart = os.loadavg();
  const env = new EnvDir("dump-bench");
  const store = await startS3Store();
  const s3 = new S3ObjectStore({ bucket: BUCKET, region: store.region, endpoint: store.endpoint, credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey } });
  try {
    await createBucket(store, BUCKET);
    const pool = randomBytes(Math.round(Math.max(CHUNK_MB, 64) * MB) + 8192);
    const dumpDir = env.join("dump");
    const rounds: { raw_put: Step; pack_plain: Step; pack_sealed: Step; raw_get: Step; restore_plain: Step; restore_sealed: Step }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const signal = () => AbortSignal.timeout(STEP_TIMEOUT_MS);
      const dataBytes = writeDump(dumpDir, pool);
      const raw_put = await step(
        () => dataBytes,
        async () => {
          await s3.put(`raw/${i}`, randomStream(pool, dataBytes), signal());
          return dataBytes;
        },
      );
      await s3.delete([`raw/${i}`], signal());
      const pack = async (backup: string, passphrase?: string): Promise<Step> => {
        writeDump(dumpDir, pool);
        const keys = passphrase === undefined ? undefined : deriveKeys(passphrase, newSalt());
        const object = keys ? "data.tar.sealed" : "data.tar";
        const measure = measuring();
        const result = await step(
          (b) => b,
          async () => {
            const s = signal();
            await streamToStore([Readable.from(packDump(dumpDir, Promise.resolve(), s, () => undefined)), ...(keys ? [sealing(keys)] : []), measure.stream], s3, `prod/bench/orders/${backup}/${object}`, s, "the dump broke off");
            return measure.result().bytes;
          },
        );
        const manifest: Omit<BackupManifest, "signature"> = {
          format: 1,
          namespace: "bench",
          group: "orders",
          backup,
          profile: "bench",
          flavor: "mysql",
          method: "mysqlsh-dump",
          sourceSite: "src",
          startedAt: new Date().toISOString(),
          completedAt: new Date().toISOString(),
          position: { gtid: GTID, binlogFile: "binlog.000002", binlogPosition: 157 },
          data: { object, ...measure.result() },
          ...(keys ? { encryption: { algorithm: "AES-256-GCM", kdf: "scrypt", salt: keys.salt.toString("base64") } as const } : {}),
        };
        await s3.putText(`prod/bench/orders/${backup}/manifest.json`, manifestText(manifest, keys), signal());
        return result;
      };
      const pack_plain = await pack(`plain-${i}`);
      const pack_sealed = await pack(`sealed-${i}`, PASSPHRASE);
      rmSync(dumpDir, { recursive: true, force: true });
      const raw_get = await step(
        (b) => b,
        async () => drain(await s3.get(`prod/bench/orders/plain-${i}/data.tar`, signal())),
      );
      const restore = async (backup: string, passphrase?: string): Promise<Step> => {
        const target = env.join(`restore-${backup}`);
        const result = await step(
          () => dataBytes,
          async () => {
            await restoreBackup({ namespace: "bench", group: "orders", backup, prefix: "prod", targetDir: target, timeoutMs: STEP_TIMEOUT_MS, ...(passphrase ? { passphrase } : {}) }, s3);
            return dataBytes;
          },
        );
        rmSync(target, { recursive: true, force: true });
        return result;
      };
      const restore_plain = await restore(`plain-${i}`);
      const restore_sealed = await restore(`sealed-${i}`, PASSPHRASE);
      const objects = (await s3.list(`prod/bench/orders/`, signal())).filter((o) => o.key.includes(`-${i}/`)).map((o) => o.key);
      await s3.delete(objects, signal());
      rounds.push({ raw_put, pack_plain, pack_sealed, raw_get, restore_plain, restore_sealed });
      process.stderr.write(`round ${i + 1}: raw put ${raw_put.seconds.toFixed(2)} s, pack ${pack_plain.seconds.toFixed(2)} / sealed ${pack_sealed.seconds.toFixed(2)} s, raw get ${raw_get.seconds.toFixed(2)} s, restore ${restore_plain.seconds.toFixed(2)} / sealed ${restore_sealed.seconds.toFixed(2)} s\n`);
    }
    type Key = keyof (typeof rounds)[number];
    const summary = (key: Key) => {
      const steps = rounds.map((r) => r[key]);
      const cores = (k: "runner" | "machine_total") => spread(steps.map((s) => s.cores[k])).p50;
      return { seconds: spread(steps.map((s) => round3(s.seconds))), mb_per_s: spread(steps.map((s) => round3(s.bytes / MB / s.seconds))), cores_p50: { runner: cores("runner"), machine_total: cores("machine_total") } };
    };
    const raw = summary("raw_put").mb_per_s.p50;
    const ratio = (key: Key) => round3(summary(key).mb_per_s.p50 / raw);
    const result = {
      benchmark: "dump",
      machine: {
        ...machineInfo(),
        env_dir: dirname(env.path),
        env_dir_is_tmpfs: statfsSync(dirname(env.path)).type === TMPFS_MAGIC,
        minio_on_same_folder: dirname(store.dataDir).startsWith(dirname(env.path)),
        load_average_start: loadAtStart.map(round3),
        load_average_end: os.loadavg().map(round3),
      },
      units: "MB = 10^6 bytes; seconds are wall time; mb_per_s counts the bytes stored (pack) or the dump's data bytes (restore); cores = CPU seconds / wall seconds over the step",
      dataset: { mb: DATASET_MB, chunk_mb: CHUNK_MB, content: "random bytes (incompressible) in chunk files, @.json and @.done.json, as MySQL Shell leaves a finished dump" },
      rounds: ROUNDS,
      raw_store_write: { what: "as many random bytes through S3ObjectStore.put (16 MiB parts)", ...summary("raw_put") },
      pack: { plain: summary("pack_plain"), sealed: summary("pack_sealed") },
      raw_store_read: { what: "the plain object downloaded and discarded", ...summary("raw_get") },
      restore: { plain: summary("restore_plain"), sealed: summary("restore_sealed") },
      target: { what: "pack >= 50% of the raw store write speed (p50)", plain_ratio: ratio("pack_plain"), sealed_ratio: ratio("pack_sealed"), met: ratio("pack_plain") >= TARGET_RATIO && ratio("pack_sealed") >= TARGET_RATIO },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    s3.destroy();
    await store.stop();
    env.remove();
  }
}

await main();
