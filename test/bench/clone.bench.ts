/**
 * npm run bench:clone: how fast the agents clone a site (issue 16), beside the raw copy speed of
 * the same disk, in one run. Two MariaDB servers and their agents (clone on, no operator, as in
 * test/e2e/agent-clone.test.ts), the recipient restarted by a supervisor that runs apply-clone.sh
 * first. The donor is filled with incompressible InnoDB rows to each size (1 and 5 GB by default),
 * then each round measures, with the page cache dropped before each measured copy (both cold):
 *   raw    `cp -a` of the donor's datadir to a fresh folder on the same filesystem, then `sync`
 *          (under FLUSH TABLES WITH READ LOCK); and `dd bs=4M conv=fsync` of the table's file;
 *   tools  `mariadb-backup --backup --stream=xbstream | mbstream -x` in a shell, then `sync`: the
 *          clone's extraction without the agents' HTTP hop between the two tools;
 *   clone  POST /v1/clone to the job's Ready, split where the job leaves Cloning (stream and
 *          extraction), Preparing (mariadb-backup --prepare) and WaitingForRestart (shutdown,
 *          apply-clone.sh, start, GTID positioning); then how long a `sync` still takes.
 * MB/s = the donor's datadir bytes / seconds (MB = 10^6 bytes). Target: clone >= 50% of raw.
 * CLONE_SIZES_GB (default 1,5) and CLONE_ROUNDS (default 5,3) set the sizes and their rounds.
 */
import { execFile, execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type mysql from "mysql2/promise";
import { MariaDbSites, TEST_USERS, type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { freePort, waitFor } from "../../scripts/env/ports.js";
import { CLONE_JOB_PHASES, type CloneJob, type CloneJobPhase } from "../../shared/agent/clone.js";
import { agentCloneJob } from "../support/clones.js";
import { spawnAgent } from "../support/agent-spawn.js";
import { machineInfo, spread, stopChild } from "./bench-util.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const GB = 1e9;
const MB = 1e6;
const TARGET_RATIO = 0.5;
const TOKEN = randomBytes(16).toString("hex");
/** No operator: the agents fence their servers, which the clone needs on the recipient anyway. */
const NOWHERE = "http://127.0.0.1:9";
const POLL_MS = 100;
const TMPFS_MAGIC = 0x01021994;
/** One fill statement: 10,000 rows of 3 KB of random bytes, about 5 rows to a 16 KB page. */
const FILL_ROWS = 10_000;
const FILL_ROW_BYTES = 3 * 1024;
/** Room for the donor's data, the recipient's old and new copy, and the raw copy at once. */
const DISK_FACTOR = 4.5;

function numbers(name: string, fallback: string): number[] {
  const values = (process.env[name] ?? fallback).split(",").map(Number);
  if (values.some((v) => !(v > 0))) throw new Error(`${name} must be positive numbers separated by commas`);
  return values;
}

const SIZES_GB = numbers("CLONE_SIZES_GB", "1,5");
const ROUNDS = numbers("CLONE_ROUNDS", "5,3").map(Math.floor);
if (ROUNDS.length !== SIZES_GB.length) throw new Error("CLONE_ROUNDS needs one count per size of CLONE_SIZES_GB");

interface RawRound {
  raw_cp_s: number;
  raw_dd_s: number;
  dd_bytes: number;
}

interface CloneRound {
  clone_s: number;
  extract_s: number;
  prepare_s: number;
  restart_s: number;
  stream_bytes: number;
  sync_after_clone_s: number;
}

type Round = RawRound & CloneRound & { tools_s: number };

const execFileAsync = promisify(execFile);

/** Asynchronous, so that the event loop keeps up with the agents' sockets meanwhile. */
async function run(command: string, args: string[]): Promise<void> {
  await execFileAsync(command, args, { timeout: 30 * 60_000, maxBuffer: 64 * 2 ** 20 });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

async function coldCaches(): Promise<void> {
  await run("sync", []);
  await writeFile("/proc/sys/vm/drop_caches", "3");
}

function duBytes(path: string): number {
  return Number(execFileSync("du", ["-sb", path], { encoding: "utf8" }).split("\t")[0]);
}

/**
 * Where the datadirs, the staged and the raw copies go: the disk under test, never a tmpfs
 * (EnvDir would pick /dev/shm), with room for all of them.
 */
function diskDir(largestGb: number): string {
  const dir = process.env.BLOODRAVEN_TMPDIR ?? os.tmpdir();
  const fs = statfsSync(dir);
  if (fs.type === TMPFS_MAGIC) throw new Error(`${dir} is a tmpfs: set BLOODRAVEN_TMPDIR to a folder on the disk to measure`);
  const free = fs.bavail * fs.bsize;
  if (free < DISK_FACTOR * largestGb * GB) throw new Error(`${dir} has ${(free / GB).toFixed(1)} GB free; ${DISK_FACTOR * largestGb} GB needed`);
  process.env.BLOODRAVEN_TMPDIR = dir;
  return dir;
}

/**
 * Fills the donor until its datadir holds `bytes`. Not binary-logged: a clone carries no binary
 * log, so the datadir is the data both copies move; and the recipient does not replicate it.
 */
async function fill(donor: MariaDbSite, bytes: number): Promise<void> {
  const datadir = join(donor.dir, "data");
  const conn = await donor.connect("admin", 10_000);
  const sql = (text: string) => conn.query({ sql: text, timeout: 120_000 });
  try {
    await sql("SET SESSION sql_log_bin = 0");
    await sql("CREATE DATABASE IF NOT EXISTS bench_clone");
    await sql(`CREATE TABLE IF NOT EXISTS bench_clone.fill (id BIGINT AUTO_INCREMENT PRIMARY KEY, pad VARBINARY(${FILL_ROW_BYTES}) NOT NULL) ENGINE=InnoDB`);
    const statements = Math.ceil((2 * bytes) / (FILL_ROWS * FILL_ROW_BYTES)) + 10;
    const deadline = performance.now() + 60_000 + (180_000 * bytes) / GB;
    for (let i = 0; i < statements && duBytes(datadir) < bytes; i++) {
      if (performance.now() > deadline) throw new Error(`filling ${donor.name} to ${bytes / GB} GB took too long`);
      await sql(`INSERT INTO bench_clone.fill (pad) SELECT CONCAT(RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024)) FROM bench_clone.seq_1_to_${FILL_ROWS}`);
    }
    if (duBytes(datadir) < bytes) throw new Error(`${donor.name}'s datadir is still under ${bytes / GB} GB after ${statements} statements`);
  } finally {
    conn.destroy();
  }
}

/** `cp -a` of the donor's datadir, then `dd` of its largest file, each cold and synced, under a read lock. */
async function rawCopy(donor: MariaDbSite, scratch: string): Promise<RawRound> {
  const datadir = join(donor.dir, "data");
  const table = join(datadir, "bench_clone", "fill.ibd");
  const conn: mysql.Connection = await donor.connect("admin");
  try {
    await conn.query({ sql: "FLUSH TABLES WITH READ LOCK", timeout: 30_000 });
    await coldCaches();
    const raw_cp_s = await timed(async () => {
      await run("cp", ["-a", datadir, scratch]);
      await run("sync", []);
    });
    rmSync(scratch, { recursive: true, force: true });
    await coldCaches();
    const raw_dd_s = await timed(() => run("dd", [`if=${table}`, `of=${scratch}`, "bs=4M", "conv=fsync", "status=none"]));
    rmSync(scratch, { force: true });
    return { raw_cp_s, raw_dd_s, dd_bytes: statSync(table).size };
  } finally {
    conn.destroy();
  }
}

/** The clone's two tools piped in a shell, cold and synced like the raw copy: the donor's backup extracted into `scratch`. */
async function toolPipe(donor: MariaDbSite, scratch: string): Promise<number> {
  const out = join(scratch, "out");
  const work = join(scratch, "work");
  mkdirSync(out, { recursive: true });
  mkdirSync(work, { recursive: true });
  const defaults = join(scratch, "client.cnf");
  writeFileSync(defaults, `[mariadb-backup]\nhost=${donor.host}\nport=${donor.port}\nuser=${TEST_USERS.admin.user}\npassword=${TEST_USERS.admin.password}\n`, { mode: 0o600 });
  await coldCaches();
  const script = 'set -o pipefail; mariadb-backup --defaults-file="$1" --backup --stream=xbstream --datadir="$2" --target-dir="$3" | mbstream -x -C "$4"';
  const seconds = await timed(async () => {
    await run("bash", ["-c", script, "pipe", defaults, join(donor.dir, "data"), work, out]);
    await run("sync", []);
  });
  if (!existsSync(join(out, "xtrabackup_checkpoints"))) throw new Error("the piped backup extracted no xtrabackup_checkpoints");
  rmSync(scratch, { recursive: true, force: true });
  return seconds;
}

const cloneJob = (agentUrl: string): Promise<CloneJob | null> => agentCloneJob(agentUrl, TOKEN);

/** One clone, cold, from the POST to Ready, with the time each phase was first seen to be over. */
async function cloneOnce(recipientUrl: string, donor: { site: string; url: string }, id: string, timeoutMs: number): Promise<CloneRound> {
  await coldCaches();
  const start = performance.now();
  const res = await fetch(`${recipientUrl}/v1/clone`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ id, donor }),
    signal: AbortSignal.timeout(5_000),
  });
  if (res.status !== 202) throw new Error(`POST /v1/clone answered ${res.status}: ${await res.text()}`);
  const over: Partial<Record<CloneJobPhase, number>> = {};
  const { job, at } = await waitFor(
    `clone ${id} to finish`,
    async () => {
      const job = await cloneJob(recipientUrl);
      if (job?.id !== id) return undefined;
      const at = (performance.now() - start) / 1000;
      const reached = CLONE_JOB_PHASES.indexOf(job.phase);
      for (const phase of CLONE_JOB_PHASES.slice(0, reached)) over[phase] ??= at;
      return job.phase === "Ready" || job.phase === "Failed" ? { job, at } : undefined;
    },
    timeoutMs,
    POLL_MS,
  );
  if (job.phase === "Failed") throw new Error(`clone ${id} failed: ${job.error}`);
  const extracted = over.Cloning ?? at;
  const prepared = over.Preparing ?? at;
  const sync_after_clone_s = await timed(() => run("sync", []));
  return { clone_s: at, extract_s: extracted, prepare_s: prepared - extracted, restart_s: at - prepared, stream_bytes: job.bytes, sync_after_clone_s };
}

/** Spawns the agent into `agents` (stopped by the caller, also when it never answers) and waits for it. */
async function startAgent(agents: ChildProcess[], site: MariaDbSite, port: number, peers: Record<string, string>): Promise<string> {
  const agent = spawnAgent(`${root}dist/bloodraven.mjs`, { site: site.name, group: "bench", namespace: "bench", operatorUrl: NOWHERE, server: site, port, peers, clone: { token: TOKEN } }, "ignore");
  agents.push(agent.child);
  let stderr = "";
  agent.child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
  await waitFor(`agent ${site.name} /healthz`, async () => (await fetch(`${agent.url}/healthz`)).ok, 15_000, 100).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nagent stderr: ${stderr}`);
  });
  return agent.url;
}

async function main(): Promise<void> {
  const dir = diskDir(Math.max(...SIZES_GB));
  const loadAtStart = os.loadavg();
  const sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
  const agents: ChildProcess[] = [];
  try {
    const donor = sites.site("iad");
    const recipient = sites.site("pdx");
    recipient.superviseRestarts();
    // The copy's GTID position comes from the donor's binary log: it needs one transaction.
    await donor.injectWrite("before-clone");
    const [donorPort, recipientPort] = [await freePort(), await freePort()];
    const donorUrl = await startAgent(agents, donor, donorPort, { pdx: `http://127.0.0.1:${recipientPort}` });
    const recipientUrl = await startAgent(agents, recipient, recipientPort, { iad: donorUrl });

    const results = [];
    for (const [s, sizeGb] of SIZES_GB.entries()) {
      await fill(donor, sizeGb * GB);
      const datadirBytes = duBytes(join(donor.dir, "data"));
      const rounds: Round[] = [];
      for (let i = 0; i < (ROUNDS[s] ?? 0); i++) {
        const raw = await rawCopy(donor, sites.env.join("raw-copy"));
        const tools_s = await toolPipe(donor, sites.env.join("tool-pipe"));
        const clone = await cloneOnce(recipientUrl, { site: donor.name, url: donorUrl }, `bench-${s}-${i}`, 300_000 + (120_000 * datadirBytes) / GB);
        const [copied] = await recipient.query<{ n: number }[]>("SELECT MAX(id) AS n FROM bench_clone.fill");
        const [original] = await donor.query<{ n: number }[]>("SELECT MAX(id) AS n FROM bench_clone.fill");
        if (copied?.n !== original?.n) throw new Error(`the copy ends at row ${copied?.n}, the donor at ${original?.n}`);
        rounds.push({ ...raw, tools_s, ...clone });
        process.stderr.write(`${sizeGb} GB round ${i + 1}: ${JSON.stringify(rounds.at(-1))}\n`);
      }
      const rate = (key: keyof Round, bytes: (r: Round) => number = () => datadirBytes) => spread(rounds.map((r) => bytes(r) / MB / r[key]));
      const stat = (key: keyof Round) => spread(rounds.map((r) => r[key]));
      const cloneRate = rate("clone_s");
      const rawRate = rate("raw_cp_s");
      const ratio = Math.round((cloneRate.p50 / rawRate.p50) * 1000) / 1000;
      results.push({
        size_gb: sizeGb,
        datadir_bytes: datadirBytes,
        rounds: rounds.length,
        clone: {
          seconds: stat("clone_s"),
          mb_per_s: cloneRate,
          extract_s: stat("extract_s"),
          extract_mb_per_s: rate("extract_s"),
          prepare_s: stat("prepare_s"),
          restart_s: stat("restart_s"),
          stream_bytes: stat("stream_bytes"),
          sync_after_s: stat("sync_after_clone_s"),
        },
        tools_pipe: { seconds: stat("tools_s"), mb_per_s: rate("tools_s") },
        raw_cp: { seconds: stat("raw_cp_s"), mb_per_s: rawRate },
        raw_dd_largest_file: { bytes: rounds[0]?.dd_bytes, seconds: stat("raw_dd_s"), mb_per_s: rate("raw_dd_s", (r) => r.dd_bytes) },
        ratio_p50: ratio,
        // Each clone against the raw copy taken just before it, on the disk as it was then.
        ratio_per_round: spread(rounds.map((r) => r.raw_cp_s / r.clone_s)),
        target_met: ratio >= TARGET_RATIO,
      });
    }
    const filesystem = execFileSync("df", ["--output=source,fstype", dir], { encoding: "utf8" }).trim().split("\n").at(-1)?.replace(/\s+/g, " ").trim();
    const pass = results.every((r) => r.target_met);
    const load = (l: number[]) => l.map((x) => Math.round(x * 100) / 100);
    const machine = { ...machineInfo(), filesystem, load_average_start: load(loadAtStart), load_average_end: load(os.loadavg()) };
    console.log(JSON.stringify({ benchmark: "clone", machine, caches: "cold: the page cache dropped before each copy", target_ratio: TARGET_RATIO, results, pass }, null, 2));
    process.exitCode = pass ? 0 : 1;
  } finally {
    await Promise.all(agents.map((a) => stopChild(a)));
    await sites.teardown();
  }
}

await main();
