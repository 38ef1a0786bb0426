/**
 * npm run bench:backup: how fast a backup goes into the store, comes back, and how fast the
 * archived binary logs replay (issue: backup >= 50% of the raw store write speed), beside the raw
 * speeds of the same store and the same source, measured in the same run. Real pieces throughout,
 * as in test/e2e/backup-artifacts.test.ts and test/e2e/point-in-time.test.ts: one MariaDB site
 * with its agent (clone on, no operator), a real MinIO, takeBackup / restoreBackup /
 * replayArchive in this process, and the agent's archiver logic (BinlogArchiver.scan) in-process.
 *
 * The site is filled with incompressible random rows (not binary-logged) until its datadir holds
 * BENCH_BACKUP_MB (MB = 10^6 bytes, default 1024), on the folder the test servers use (EnvDir:
 * /dev/shm when writable; BLOODRAVEN_TMPDIR overrides). MinIO's data lives there too. Each of
 * BENCH_BACKUP_ROUNDS rounds (default 3) measures, in this order:
 *   source   `tar` of the datadir into a pipe, `mariadb-backup --stream | wc -c` in a shell, and
 *            the agent's GET /v1/clone/backup read and discarded by this process;
 *   store    the same number of bytes (the agent's stream) of random data uploaded with the same
 *            S3ObjectStore.put (16 MiB multipart parts): the target's denominator;
 *   backup   takeBackup without and with encryption (to the manifest written).
 * Then each round restores both backups (download, authentication, mbstream, prepare) beside a
 * raw download of the stored object; then BENCH_BACKUP_TXNS (default 20,000) single-row
 * transactions on the source after the backup, FLUSH BINARY LOGS, one archiver scan, and
 * replayArchive onto a server started on a restore of the encrypted backup. Between the two, each
 * round verifies the encrypted backup (verifyBackup: restore, throwaway server, a count of the
 * whole fill table).
 * CPU: this process (process.cpuUsage) and its reaped children, the agent with its children
 * (mariadb-backup), MinIO, mariadbd (from /proc), and the whole machine (/proc/stat) over each
 * step, in cores (CPU seconds / wall seconds).
 */
import { execFile, execFileSync, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { MariaDbSites, TEST_USERS, type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { freePort, waitFor } from "../../scripts/env/ports.js";
import { createBucket, startS3Store, type S3Store } from "../../scripts/env/s3-store.js";
import { BinlogArchiver } from "../../operator/agent/archiver.js";
import { S3ObjectStore } from "../../operator/backup/object-store.js";
import { replayArchive } from "../../operator/backup/point-in-time.js";
import { restoreBackup } from "../../operator/backup/restore-backup.js";
import { takeBackup, type BackupTask } from "../../operator/backup/take-backup.js";
import { verifyBackup } from "../../operator/backup/verify-backup.js";
import { createLogger } from "../../operator/log.js";
import { SiteClient } from "../../operator/mysql/site-client.js";
import { openStream } from "../../operator/tools/http-stream.js";
import { spawnAgent } from "../support/agent-spawn.js";
import { drain, machineInfo, randomStream, spread, stopChild } from "./bench-util.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const MB = 1e6;
const TARGET_RATIO = 0.5;
const TOKEN = randomBytes(16).toString("hex");
const PASSPHRASE = "bench backup passphrase";
const BUCKET = "bench";
const PREFIX = "bench";
const NAMESPACE = "bench";
const GROUP = "orders";
/** No operator: the agent fences its server, which a backup does not mind. */
const NOWHERE = "http://127.0.0.1:9";
const TMPFS_MAGIC = 0x01021994;
/** One fill statement: 10,000 rows of 3 KB of random bytes. */
const FILL_ROWS = 10_000;
const FILL_ROW_BYTES = 3 * 1024;
/** The raw upload's source: a pool of random bytes handed out in socket-sized chunks. */
const POOL_BYTES = 64 * 2 ** 20;

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!(value > 0) || !Number.isFinite(value)) throw new Error(`${name} must be a positive number`);
  return value;
}

const DATASET_MB = positive("BENCH_BACKUP_MB", 1024);
const ROUNDS = Math.floor(positive("BENCH_BACKUP_ROUNDS", 3));
const TXNS = Math.floor(positive("BENCH_BACKUP_TXNS", 20_000));
/** Bounds per step, scaled with the size: anything slower than 30 MB/s is a failure, not a number. */
const STEP_TIMEOUT_MS = Math.round(120_000 + ((DATASET_MB * MB) / (30 * MB)) * 1000);
const TXN_TIME_LIMIT_MS = 120_000;

const execFileAsync = promisify(execFile);
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

async function sh(script: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync("bash", ["-c", `set -o pipefail; ${script}`, "bench", ...args], { timeout: STEP_TIMEOUT_MS, maxBuffer: 16 * 2 ** 20 });
  return stdout;
}

function duBytes(path: string): number {
  return Number(execFileSync("du", ["-sb", path], { encoding: "utf8" }).split("\t")[0]);
}

// ---- CPU accounting ---------------------------------------------------------------------------

/** utime+stime and cutime+cstime of a process, in seconds; zeros when it is gone. */
function procTimes(pid: number | undefined): { own: number; children: number } {
  if (pid === undefined) return { own: 0, children: 0 };
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    return { own: ((f[11] ?? 0) + (f[12] ?? 0)) / CLK_TCK, children: ((f[13] ?? 0) + (f[14] ?? 0)) / CLK_TCK };
  } catch {
    return { own: 0, children: 0 };
  }
}

/** Busy and total jiffies of the whole machine. */
function machineTimes(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

interface Pids {
  agent?: number;
  minio?: number;
  mariadbd?: number;
}

interface CpuSnapshot {
  at: number;
  bench: number;
  benchChildren: number;
  agent: number;
  minio: number;
  mariadbd: number;
  machine: { busy: number; total: number };
}

function snapshot(pids: Pids): CpuSnapshot {
  const usage = process.cpuUsage();
  const agent = procTimes(pids.agent);
  return {
    at: performance.now(),
    bench: (usage.user + usage.system) / 1e6,
    benchChildren: procTimes(process.pid).children,
    agent: agent.own + agent.children,
    minio: procTimes(pids.minio).own,
    mariadbd: procTimes(pids.mariadbd).own,
    machine: machineTimes(),
  };
}

/** Cores used over the step: CPU seconds / wall seconds, 2 decimals. */
type Cores = Record<"bench" | "bench_children" | "agent_with_children" | "minio" | "mariadbd" | "machine_total", number>;

function coresBetween(a: CpuSnapshot, b: CpuSnapshot): Cores {
  const wall = (b.at - a.at) / 1000;
  const c = (x: number) => Math.round((x / wall) * 100) / 100;
  const cores = os.cpus().length;
  const machineBusy = (b.machine.busy - a.machine.busy) / Math.max(1, b.machine.total - a.machine.total);
  return {
    bench: c(b.bench - a.bench),
    bench_children: c(b.benchChildren - a.benchChildren),
    agent_with_children: c(b.agent - a.agent),
    minio: c(b.minio - a.minio),
    mariadbd: c(b.mariadbd - a.mariadbd),
    machine_total: Math.round(machineBusy * cores * 100) / 100,
  };
}

interface Measured<T> {
  seconds: number;
  cores: Cores;
  value: T;
}

async function measure<T>(pids: Pids, fn: () => Promise<T>): Promise<Measured<T>> {
  const a = snapshot(pids);
  const value = await fn();
  const b = snapshot(pids);
  return { seconds: (b.at - a.at) / 1000, cores: coresBetween(a, b), value };
}

/** The p50 of each process's cores over the rounds. */
function coresP50(samples: readonly Cores[]): Cores {
  const keys = Object.keys(samples[0] ?? {}) as (keyof Cores)[];
  return Object.fromEntries(keys.map((k) => [k, spread(samples.map((s) => s[k])).p50])) as Cores;
}

/**
 * What bounds a step, read off its CPU: the machine's cores all busy (and how much of that was
 * this benchmark's processes, the rest being other work on the machine), else one busy process.
 */
function boundBy(cores: Cores): string {
  const n = os.cpus().length;
  const parts = (Object.entries(cores) as [keyof Cores, number][]).filter(([k]) => k !== "machine_total").sort((x, y) => y[1] - x[1]);
  const ours = Math.round(parts.reduce((sum, [, v]) => sum + v, 0) * 100) / 100;
  const others = Math.max(0, Math.round((cores.machine_total - ours) * 100) / 100);
  const top = parts[0];
  const topText = top ? `${top[0]} at ${top[1]} core` : "nothing";
  const share = `this benchmark's processes ${ours} core (largest ${topText}), other work on the machine ${others} core`;
  if (cores.machine_total >= 0.85 * n) return `CPU: the machine's ${n} cores ${Math.round((cores.machine_total / n) * 100)}% busy; ${share}`;
  if (top && top[1] >= 0.85) return `one core: ${topText}, ${(n - cores.machine_total).toFixed(2)} core idle`;
  return `not CPU (${cores.machine_total} of ${n} cores busy; ${share}): waiting on a pipe, a socket or a request`;
}

// ---- the dataset ------------------------------------------------------------------------------

/** Fills `site` (not binary-logged) until its datadir holds `bytes`; a single write afterwards gives the backup a GTID position. */
async function fill(site: MariaDbSite, bytes: number): Promise<{ seconds: number; rows: number }> {
  const datadir = join(site.dir, "data");
  const conn = await site.connect("admin", 10_000);
  const sql = (text: string) => conn.query({ sql: text, timeout: 300_000 });
  const start = performance.now();
  let rows = 0;
  try {
    await sql("SET SESSION sql_log_bin = 0");
    await sql("CREATE DATABASE IF NOT EXISTS bench_backup");
    await sql(`CREATE TABLE IF NOT EXISTS bench_backup.fill (id BIGINT AUTO_INCREMENT PRIMARY KEY, pad VARBINARY(${FILL_ROW_BYTES}) NOT NULL) ENGINE=InnoDB`);
    // The point-in-time transactions' table is in the backup, empty: each replayed transaction is one row.
    await sql("CREATE TABLE IF NOT EXISTS bench_backup.pitr (id BIGINT AUTO_INCREMENT PRIMARY KEY, n INT NOT NULL, note VARCHAR(64) NOT NULL, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB");
    const statements = Math.ceil((2 * bytes) / (FILL_ROWS * FILL_ROW_BYTES)) + 10;
    const deadline = performance.now() + 60_000 + (240_000 * bytes) / 1e9;
    for (let i = 0; i < statements && duBytes(datadir) < bytes; i++) {
      if (performance.now() > deadline) throw new Error(`filling ${site.name} to ${bytes / MB} MB took too long`);
      await sql(`INSERT INTO bench_backup.fill (pad) SELECT CONCAT(RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024)) FROM bench_backup.seq_1_to_${FILL_ROWS}`);
      rows += FILL_ROWS;
    }
    if (duBytes(datadir) < bytes) throw new Error(`${site.name}'s datadir is still under ${bytes / MB} MB after ${statements} statements`);
  } finally {
    conn.destroy();
  }
  await site.injectWrite("before-backup");
  return { seconds: (performance.now() - start) / 1000, rows };
}

// ---- the raw baselines ------------------------------------------------------------------------

/** The agent's backup stream read and thrown away: the source side up to this process's socket. */
async function agentStreamToNull(agentUrl: string): Promise<number> {
  const res = await openStream(`${agentUrl}/v1/clone/backup`, TOKEN, AbortSignal.timeout(STEP_TIMEOUT_MS), 60_000);
  if (res.statusCode !== 200) throw new Error(`the agent answered HTTP ${res.statusCode}`);
  let bytes = 0;
  for await (const chunk of res) bytes += (chunk as Buffer).length;
  return bytes;
}

// ---- the agent and MinIO ----------------------------------------------------------------------

async function startAgent(site: MariaDbSite): Promise<{ child: ChildProcess; url: string }> {
  const agent = spawnAgent(`${root}dist/bloodraven.mjs`, { site: site.name, group: GROUP, namespace: NAMESPACE, operatorUrl: NOWHERE, server: site, port: await freePort(), clone: { token: TOKEN } }, "ignore");
  let stderr = "";
  agent.child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
  await waitFor(`agent ${site.name} /healthz`, async () => (await fetch(`${agent.url}/healthz`)).ok, 15_000, 100).catch(async (err: unknown) => {
    await stopChild(agent.child);
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nagent stderr: ${stderr}`);
  });
  return agent;
}

/** MinIO's pid, found by its data folder on its command line (read from /proc only). */
function minioPid(store: S3Store): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (cmd[0]?.endsWith("minio") && cmd.includes(store.dataDir)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

// ---- main -------------------------------------------------------------------------------------

interface Round {
  tar_s: number;
  tar_bytes: number;
  tools_s: number;
  tools_bytes: number;
  agent_null_s: number;
  stream_bytes: number;
  raw_put_s: number;
  plain_s: number;
  plain_bytes: number;
  sealed_s: number;
  sealed_bytes: number;
  cores: Record<"tar" | "tools" | "agent_null" | "raw_put" | "plain" | "sealed", Cores>;
}

interface RestoreRound {
  raw_get_s: number;
  plain_s: number;
  sealed_s: number;
  cores: Record<"raw_get" | "plain" | "sealed", Cores>;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const loadAtStart = os.loadavg();
  const wallStart = performance.now();
  const [sites, store] = await Promise.all([MariaDbSites.start({ names: ["src", "copy"] }), startS3Store()]);
  const children: ChildProcess[] = [];
  let s3: S3ObjectStore | undefined;
  let client: SiteClient | undefined;
  try {
    const src = sites.site("src");
    const copy = sites.site("copy");
    const envBase = dirname(sites.env.path);
    const onTmpfs = statfsSync(envBase).type === TMPFS_MAGIC;
    const sameFolder = dirname(store.dataDir).startsWith(envBase);
    await createBucket(store, BUCKET);
    s3 = new S3ObjectStore({ bucket: BUCKET, region: store.region, endpoint: store.endpoint, credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey } });
    const pids: Pids = { minio: minioPid(store), mariadbd: src.pid };

    process.stderr.write(`filling ${src.name} to ${DATASET_MB} MB in ${envBase}${onTmpfs ? " (tmpfs)" : ""}\n`);
    const filled = await fill(src, DATASET_MB * MB);
    const datadir = join(src.dir, "data");
    const datadirBytes = duBytes(datadir);
    const tableBytes = duBytes(join(datadir, "bench_backup", "fill.ibd"));
    process.stderr.write(`filled: ${datadirBytes} bytes in ${filled.seconds.toFixed(1)} s\n`);

    const agent = await startAgent(src);
    children.push(agent.child);
    pids.agent = agent.child.pid;
    const scratch = sites.env.join("scratch");
    mkdirSync(scratch, { recursive: true });
    const defaults = join(scratch, "client.cnf");
    writeFileSync(defaults, `[mariadb-backup]\nhost=${src.host}\nport=${src.port}\nuser=${TEST_USERS.admin.user}\npassword=${TEST_USERS.admin.password}\n`, { mode: 0o600 });
    const pool = randomBytes(POOL_BYTES);

    const task = (backup: string, passphrase?: string): BackupTask => ({
      namespace: NAMESPACE,
      group: GROUP,
      backup,
      profile: "bench",
      prefix: PREFIX,
      source: { site: src.name, agentUrl: agent.url, token: TOKEN },
      ...(passphrase !== undefined ? { passphrase } : {}),
      timeoutMs: STEP_TIMEOUT_MS,
    });
    const folderOf = (backup: string) => `${PREFIX}/${NAMESPACE}/${GROUP}/${backup}`;
    const dropBackup = async (backup: string) => {
      const keys = (await s3!.list(`${folderOf(backup)}/`, AbortSignal.timeout(30_000))).map((o) => o.key);
      await s3!.delete(keys, AbortSignal.timeout(30_000));
    };

    // ---- backup rounds: source baselines, raw store write, backup plain and sealed ----
    const rounds: Round[] = [];
    let lastSealed: { backup: string; gtid: string; bytes: number } | undefined;
    let lastPlain: { backup: string; bytes: number } | undefined;
    for (let i = 0; i < ROUNDS; i++) {
      // InnoDB may still write back pages of the fill (tar's exit 1, "file changed"): counted, not a failure.
      const tar = await measure(pids, async () => Number((await sh('(tar -cf - -C "$1" --warning=no-file-changed . ; [ $? -le 1 ]) | wc -c', datadir)).trim()));
      const work = join(scratch, `mb-${i}`);
      mkdirSync(work, { recursive: true });
      const tools = await measure(pids, async () => Number((await sh('mariadb-backup --defaults-file="$1" --backup --stream=xbstream --datadir="$2" --target-dir="$3" 2>/dev/null | wc -c', defaults, datadir, work)).trim()));
      rmSync(work, { recursive: true, force: true });
      const agentNull = await measure(pids, () => agentStreamToNull(agent.url));
      const rawKey = `${PREFIX}/raw/${i}`;
      const rawPut = await measure(pids, () => s3!.put(rawKey, randomStream(pool, agentNull.value), AbortSignal.timeout(STEP_TIMEOUT_MS)));
      const stored = (await s3.list(rawKey, AbortSignal.timeout(30_000)))[0]?.bytes;
      if (stored !== agentNull.value) throw new Error(`the raw upload stored ${stored} bytes, not ${agentNull.value}`);
      await s3.delete([rawKey], AbortSignal.timeout(30_000));

      if (lastPlain) await dropBackup(lastPlain.backup);
      const plain = await measure(pids, () => takeBackup(task(`plain-${i}`), s3!));
      lastPlain = { backup: `plain-${i}`, bytes: plain.value.manifest.data.bytes };
      if (lastSealed) await dropBackup(lastSealed.backup);
      const sealed = await measure(pids, () => takeBackup(task(`sealed-${i}`, PASSPHRASE), s3!));
      lastSealed = { backup: `sealed-${i}`, gtid: sealed.value.manifest.position.gtid, bytes: sealed.value.manifest.data.bytes };
      rounds.push({
        tar_s: tar.seconds,
        tar_bytes: tar.value,
        tools_s: tools.seconds,
        tools_bytes: tools.value,
        agent_null_s: agentNull.seconds,
        stream_bytes: agentNull.value,
        raw_put_s: rawPut.seconds,
        plain_s: plain.seconds,
        plain_bytes: plain.value.manifest.data.bytes,
        sealed_s: sealed.seconds,
        sealed_bytes: sealed.value.manifest.data.bytes,
        cores: { tar: tar.cores, tools: tools.cores, agent_null: agentNull.cores, raw_put: rawPut.cores, plain: plain.cores, sealed: sealed.cores },
      });
      const r = rounds.at(-1)!;
      process.stderr.write(`backup round ${i + 1}: raw put ${r.raw_put_s.toFixed(2)} s, plain ${r.plain_s.toFixed(2)} s, sealed ${r.sealed_s.toFixed(2)} s (${r.stream_bytes} bytes)\n`);
    }
    if (!lastSealed || !lastPlain) throw new Error("no backup round ran");

    // ---- restore rounds: raw download, restore plain and sealed ----
    const restoreRounds: RestoreRound[] = [];
    const restorePids: Pids = { minio: pids.minio };
    for (let i = 0; i < ROUNDS; i++) {
      const rawGet = await measure(restorePids, async () => drain(await s3!.get(`${folderOf(lastPlain!.backup)}/data.xbstream`, AbortSignal.timeout(STEP_TIMEOUT_MS))));
      if (rawGet.value !== lastPlain.bytes) throw new Error(`the raw download read ${rawGet.value} bytes, not ${lastPlain.bytes}`);
      const target = join(scratch, `restore-${i}`);
      const plain = await measure(restorePids, () => restoreBackup({ namespace: NAMESPACE, group: GROUP, backup: lastPlain!.backup, prefix: PREFIX, targetDir: target, timeoutMs: STEP_TIMEOUT_MS }, s3!));
      await rm(target, { recursive: true, force: true });
      const sealed = await measure(restorePids, () => restoreBackup({ namespace: NAMESPACE, group: GROUP, backup: lastSealed!.backup, prefix: PREFIX, passphrase: PASSPHRASE, targetDir: target, timeoutMs: STEP_TIMEOUT_MS }, s3!));
      await rm(target, { recursive: true, force: true });
      restoreRounds.push({ raw_get_s: rawGet.seconds, plain_s: plain.seconds, sealed_s: sealed.seconds, cores: { raw_get: rawGet.cores, plain: plain.cores, sealed: sealed.cores } });
      process.stderr.write(`restore round ${i + 1}: raw get ${rawGet.seconds.toFixed(2)} s, plain ${plain.seconds.toFixed(2)} s, sealed ${sealed.seconds.toFixed(2)} s\n`);
    }

    // ---- verification: restore, a throwaway server on the copy, a count over the whole table ----
    const verifyRounds: { seconds: number; restore_s: number; query_ms: number; cores: Cores }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const task = {
        namespace: NAMESPACE,
        group: GROUP,
        backup: lastSealed.backup,
        prefix: PREFIX,
        passphrase: PASSPHRASE,
        workDir: join(scratch, `verify-${i}`),
        pointInTime: "none" as const,
        sanity: { query: "SELECT COUNT(*) FROM bench_backup.fill", minRows: filled.rows, timeoutMs: STEP_TIMEOUT_MS },
        server: { mariadbd: "/usr/sbin/mariadbd", mysqld: "mysqld", mysqlsh: "mysqlsh", port: await freePort() },
        keepOnFailure: false,
        timeoutMs: STEP_TIMEOUT_MS,
      };
      const verified = await measure(restorePids, () => verifyBackup(task, s3!));
      verifyRounds.push({ seconds: verified.seconds, restore_s: verified.value.restoreMs / 1000, query_ms: verified.value.queryMs ?? 0, cores: verified.cores });
      process.stderr.write(`verify round ${i + 1}: ${verified.seconds.toFixed(2)} s (restore ${(verified.value.restoreMs / 1000).toFixed(2)} s, count ${verified.value.count} in ${verified.value.queryMs} ms)\n`);
    }

    // ---- point in time: transactions after the sealed backup, archived, replayed onto its restore ----
    await stopChild(agent.child);
    pids.agent = undefined;
    // The agent fenced its server (no operator said otherwise); the archiver scans a writable one.
    await src.setReadOnly(false);
    const conn = await src.connect("admin", 10_000);
    let committed = 0;
    const txnStart = performance.now();
    try {
      const limit = txnStart + TXN_TIME_LIMIT_MS;
      for (; committed < TXNS && performance.now() < limit; committed++) {
        await conn.query({ sql: "INSERT INTO bench_backup.pitr (n, note) VALUES (?, ?)", values: [committed, `txn-${committed}`], timeout: 10_000 });
      }
    } finally {
      conn.destroy();
    }
    const txnSeconds = (performance.now() - txnStart) / 1000;
    const sealedPos = await src.variable("gtid_binlog_pos");
    await src.query("FLUSH BINARY LOGS");

    client = new SiteClient({ host: src.host, port: src.port, user: TEST_USERS.admin.user, password: TEST_USERS.admin.password }, { connectTimeoutMs: 5_000, queryTimeoutMs: 10_000 });
    const siteClient = client;
    const archiver = new BinlogArchiver(
      { store: s3, prefix: PREFIX, passphrase: PASSPHRASE, pollIntervalMs: 60_000, site: src.name, group: GROUP, namespace: NAMESPACE },
      () => siteClient,
      createLogger({ level: "warn", write: (line) => process.stderr.write(line) }),
    );
    const archived = await measure({ minio: pids.minio, mariadbd: pids.mariadbd }, () => archiver.scan());
    const archiveStatus = archiver.status();
    if (archiveStatus.lastError !== undefined) throw new Error(`the archiver failed: ${archiveStatus.lastError}`);
    const manifestText = (await s3.getText(`${PREFIX}/${NAMESPACE}/${GROUP}/binlogs/${src.name}/manifest.json`, AbortSignal.timeout(10_000))) ?? "";
    if (!manifestText.includes(`"lastGtid": "${sealedPos}"`)) throw new Error(`the archive does not reach ${sealedPos}`);
    const binlogBytes = archiveStatus.bytesArchived;

    await copy.stop();
    const restored = join(copy.dir, "restored");
    await restoreBackup({ namespace: NAMESPACE, group: GROUP, backup: lastSealed.backup, prefix: PREFIX, passphrase: PASSPHRASE, targetDir: restored, timeoutMs: STEP_TIMEOUT_MS }, s3);
    await rm(join(copy.dir, "data"), { recursive: true, force: true });
    await rename(restored, join(copy.dir, "data"));
    await copy.start();
    const [before] = await copy.query<{ n: number }[]>("SELECT COUNT(*) AS n FROM bench_backup.pitr");
    if (Number(before?.n) !== 0) throw new Error(`the restored copy already holds ${before?.n} rows of the point-in-time table`);
    const replayPids: Pids = { minio: pids.minio, mariadbd: copy.pid };
    const replay = await measure(replayPids, () =>
      replayArchive({ prefix: PREFIX, namespace: NAMESPACE, group: GROUP, passphrase: PASSPHRASE, fromGtid: lastSealed!.gtid, server: { host: copy.host, port: copy.port, ...TEST_USERS.admin }, workDir: join(scratch, "replay"), timeoutMs: STEP_TIMEOUT_MS }, s3!),
    );
    const [after] = await copy.query<{ n: number }[]>("SELECT COUNT(*) AS n FROM bench_backup.pitr");
    const replayed = Number(after?.n);
    if (replayed !== committed) throw new Error(`the replay applied ${replayed} of ${committed} transactions`);
    const copyPos = await copy.variable("gtid_binlog_pos");
    process.stderr.write(`pitr: ${committed} transactions committed in ${txnSeconds.toFixed(1)} s, replayed in ${replay.seconds.toFixed(2)} s\n`);

    // ---- the result ----
    const stat = (key: keyof Omit<Round, "cores">) => spread(rounds.map((r) => r[key]));
    const rate = (seconds: (r: Round) => number, bytes: (r: Round) => number) => spread(rounds.map((r) => bytes(r) / MB / seconds(r)));
    const cores = (key: keyof Round["cores"]) => coresP50(rounds.map((r) => r.cores[key]));
    const rawRate = rate((r) => r.raw_put_s, (r) => r.stream_bytes);
    const plainRate = rate((r) => r.plain_s, (r) => r.plain_bytes);
    const sealedRate = rate((r) => r.sealed_s, (r) => r.sealed_bytes);
    const ratio = (x: { p50: number }) => round3(x.p50 / rawRate.p50);
    const ratioPlain = ratio(plainRate);
    const ratioSealed = ratio(sealedRate);
    const step = (key: keyof Round["cores"], seconds: (r: Round) => number, bytes: (r: Round) => number) => {
      const c = cores(key);
      return { seconds: spread(rounds.map(seconds)), mb_per_s: rate(seconds, bytes), dataset_mb_per_s: rate(seconds, () => datadirBytes), cores_p50: c, bound: boundBy(c) };
    };
    const rstat = (key: "raw_get_s" | "plain_s" | "sealed_s") => spread(restoreRounds.map((r) => r[key]));
    const rrate = (key: "raw_get_s" | "plain_s" | "sealed_s", bytes: number) => spread(restoreRounds.map((r) => bytes / MB / r[key]));
    const rstep = (key: "raw_get" | "plain" | "sealed", bytes: number) => {
      const c = coresP50(restoreRounds.map((r) => r.cores[key]));
      const k = `${key}_s` as const;
      return { seconds: rstat(k), mb_per_s: rrate(k, bytes), dataset_mb_per_s: rrate(k, datadirBytes), cores_p50: c, bound: boundBy(c) };
    };
    const tps = Math.round(committed / replay.seconds);
    const pass = ratioPlain >= TARGET_RATIO && ratioSealed >= TARGET_RATIO;
    const load = (l: number[]) => l.map((x) => Math.round(x * 100) / 100);
    const filesystem = execFileSync("df", ["--output=source,fstype", envBase], { encoding: "utf8" }).trim().split("\n").at(-1)?.replace(/\s+/g, " ").trim();
    const version = spawnSync("mariadb-backup", ["--version"], { encoding: "utf8" });
    const mariadbBackup = `${version.stdout ?? ""}${version.stderr ?? ""}`.trim() || "unknown";
    const result = {
      benchmark: "backup",
      machine: {
        ...machineInfo(),
        env_dir: envBase,
        env_dir_is_tmpfs: onTmpfs,
        filesystem,
        minio_on_same_folder: sameFolder,
        mariadb_backup: mariadbBackup.split("\n")[0],
        load_average_start: load(loadAtStart),
        load_average_end: load(os.loadavg()),
      },
      units: "MB = 10^6 bytes; seconds are wall time; cores = CPU seconds / wall seconds over the step (machine_total includes other work on the machine)",
      dataset: {
        target_mb: DATASET_MB,
        datadir_bytes: datadirBytes,
        table_file_bytes: tableBytes,
        rows: filled.rows,
        row_bytes: FILL_ROW_BYTES,
        content: "random bytes (incompressible), InnoDB, not binary-logged",
        fill_s: round3(filled.seconds),
        fill_mb_per_s: round3(datadirBytes / MB / filled.seconds),
      },
      rounds: ROUNDS,
      source_side: {
        datadir_tar_to_pipe: step("tar", (r) => r.tar_s, (r) => r.tar_bytes),
        mariadb_backup_stream_to_wc: step("tools", (r) => r.tools_s, (r) => r.tools_bytes),
        agent_stream_read_and_discarded: step("agent_null", (r) => r.agent_null_s, (r) => r.stream_bytes),
      },
      raw_store_write: { what: "random bytes, as many as the agent's stream, through S3ObjectStore.put (16 MiB parts, 2 in flight)", bytes: stat("stream_bytes"), ...step("raw_put", (r) => r.raw_put_s, (r) => r.stream_bytes) },
      backup: {
        plain: { artifact_bytes: stat("plain_bytes"), ...step("plain", (r) => r.plain_s, (r) => r.plain_bytes) },
        encrypted: { artifact_bytes: stat("sealed_bytes"), ...step("sealed", (r) => r.sealed_s, (r) => r.sealed_bytes) },
        ratio_to_raw_store_write: {
          plain_p50: ratioPlain,
          encrypted_p50: ratioSealed,
          plain_per_round: spread(rounds.map((r) => ((r.plain_bytes / r.plain_s) * r.raw_put_s) / r.stream_bytes)),
          encrypted_per_round: spread(rounds.map((r) => ((r.sealed_bytes / r.sealed_s) * r.raw_put_s) / r.stream_bytes)),
          target: TARGET_RATIO,
          plain_target_met: ratioPlain >= TARGET_RATIO,
          encrypted_target_met: ratioSealed >= TARGET_RATIO,
        },
      },
      restore: {
        what: "restoreBackup into an empty folder on the same filesystem: manifest, download, hash (+ frame authentication), mbstream -x, mariadb-backup --prepare, position check",
        raw_store_read: { what: "the plain data object downloaded through S3ObjectStore.get and discarded", ...rstep("raw_get", lastPlain.bytes) },
        plain: rstep("plain", lastPlain.bytes),
        encrypted: rstep("sealed", lastSealed.bytes),
      },
      verification: {
        what: "verifyBackup of the encrypted backup: its restore (as above), a throwaway mariadbd started on the copy (grant tables loaded, an account made), SELECT COUNT(*) over the whole fill table, the server stopped",
        seconds: spread(verifyRounds.map((r) => r.seconds)),
        restore_s: spread(verifyRounds.map((r) => r.restore_s)),
        start_query_and_stop_s: spread(verifyRounds.map((r) => r.seconds - r.restore_s)),
        count_query_ms: spread(verifyRounds.map((r) => r.query_ms)),
        cores_p50: coresP50(verifyRounds.map((r) => r.cores)),
        bound: boundBy(coresP50(verifyRounds.map((r) => r.cores))),
      },
      point_in_time: {
        transactions: committed,
        transactions_asked: TXNS,
        source_commit_s: round3(txnSeconds),
        source_commits_per_s: Math.round(committed / txnSeconds),
        archive: {
          what: "one BinlogArchiver.scan() in this process (encrypted): every sealed binary log read, scanned, sealed, uploaded, manifest written",
          files: archiveStatus.filesArchived,
          bytes: binlogBytes,
          seconds: round3(archived.seconds),
          mb_per_s: round3(binlogBytes / MB / archived.seconds),
          cores: archived.cores,
        },
        replay: {
          what: "replayArchive onto a server started on a restore of the encrypted backup: archive manifest, download + authentication of the files, mariadb-binlog --start-position=<backup GTID> | mariadb",
          from_gtid: lastSealed.gtid,
          reached_gtid: copyPos,
          files: replay.value.files.length,
          rows_after: replayed,
          seconds: round3(replay.seconds),
          transactions_per_s: tps,
          cores: replay.cores,
          bound: boundBy(replay.cores),
        },
      },
      wall_s: round3((performance.now() - wallStart) / 1000),
      pass,
    };
    console.log(JSON.stringify(result, null, 2));
    process.exitCode = pass ? 0 : 1;
  } finally {
    client?.close();
    await Promise.all(children.map((c) => stopChild(c)));
    s3?.destroy();
    await Promise.all([sites.teardown(), store.stop()]);
  }
}

await main();
