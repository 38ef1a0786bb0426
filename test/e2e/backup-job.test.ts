import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { MariaDbSites, type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { freePort, waitFor } from "../../scripts/env/ports.js";
import { createBucket, startS3Store, type S3Store } from "../../scripts/env/s3-store.js";
import { artifactFolder } from "../../shared/backup/manifest.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { S3ObjectStore } from "../../operator/backup/object-store.js";
import { readManifest } from "../../operator/backup/restore-backup.js";
import { AgentProcess } from "../support/agent.js";
import { run } from "../support/kubectl.js";

/**
 * `bloodraven backup`, `restore`, `stage-restore`, `verify` and `delete-backup` as a Job's pod runs them: the built bundle as a
 * child process, secrets in 0600 files, a real agent streaming from a real MariaDB into a real
 * S3-compatible store (MinIO). The result line is what the operator reads from the termination
 * message; no secret may show in the output.
 */
const TOKEN = randomBytes(16).toString("hex");
const PASSPHRASE = `passphrase-${randomBytes(12).toString("hex")}`;
const BUCKET = "backups";
const ARTIFACT = { namespace: "shop", group: "orders", prefix: "prod" };
const JOB_MS = 90_000;

interface JobExit {
  code: number | null;
  stdout: string;
  stderr: string;
  result: Record<string, unknown> | undefined;
}

describe("bloodraven backup / restore / verify / delete-backup: the Job's entry points (real MariaDB, agent and MinIO)", () => {
  let sites: MariaDbSites;
  let site: MariaDbSite;
  let store: S3Store;
  let s3: S3ObjectStore;
  let agent: AgentProcess;
  let dir: string;
  let secrets: string[];

  const secretFile = async (path: string, text: string): Promise<string> => {
    await writeFile(path, text, { mode: 0o600 });
    return path;
  };

  const credentialsDir = async (name: string, secretAccessKey: string): Promise<string> => {
    const creds = join(dir, name);
    await mkdir(creds, { mode: 0o700 });
    await secretFile(join(creds, "AWS_ACCESS_KEY_ID"), `${store.accessKeyId}\n`);
    await secretFile(join(creds, "AWS_SECRET_ACCESS_KEY"), `${secretAccessKey}\n`);
    return creds;
  };

  /** Runs the bundle once, bounded: SIGKILL after JOB_MS; `onSpawn` may signal it. */
  const job = async (command: string, flags: string[], env: NodeJS.ProcessEnv, onSpawn?: (pid: number) => Promise<void>): Promise<JobExit> => {
    const resultFile = join(dir, `result-${randomBytes(4).toString("hex")}`);
    // The test runner's own AWS_* variables must not be what makes the job work.
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_") && !k.startsWith("BLOODRAVEN_")));
    const child = spawn(process.execPath, [`${inject("distDir")}/bloodraven.mjs`, command, ...flags, `--result-file=${resultFile}`], { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let [stdout, stderr] = ["", ""];
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => child.kill("SIGKILL"), JOB_MS);
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    await onSpawn?.(child.pid as number);
    const code = await exited;
    clearTimeout(killer);
    const text = await readFile(resultFile, "utf8").catch(() => "");
    const out = { code, stdout, stderr, result: text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>) };
    // Whatever the outcome, no secret is in the process's output or its result.
    for (const secret of secrets) for (const text of [stdout, stderr, JSON.stringify(out.result) ?? ""]) expect(text.includes(secret), `a secret in the output of ${command}:\n${stdout}\n${stderr}`).toBe(false);
    return out;
  };

  /** Runs `fn` on a fresh 4 MiB tmpfs (far smaller than any copy of a MariaDB server), unmounted after. */
  const onSmallDisk = async (name: string, fn: (small: string) => Promise<void>): Promise<void> => {
    const small = join(dir, name);
    await mkdir(small);
    const mounted = await run("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", small], { timeoutMs: 10_000 });
    expect(mounted.code, mounted.stderr).toBe(0);
    try {
      await fn(small);
    } finally {
      await run("umount", [small], { timeoutMs: 10_000 });
    }
  };
  const storageFlags = ["--storage=s3", `--s3-bucket=${BUCKET}`];
  const backupFlags = (backup: string): string[] => [`--namespace=${ARTIFACT.namespace}`, `--group=${ARTIFACT.group}`, `--backup=${backup}`, `--prefix=${ARTIFACT.prefix}`, "--profile=nightly", "--source-site=pdx", `--source-agent-url=${agent.url}`, ...storageFlags, `--s3-endpoint=${store.endpoint}`, "--timeout=60s"];
  let goodEnv: NodeJS.ProcessEnv;

  const objectsOf = async (backup: string): Promise<string[]> => (await s3.list(`${artifactFolder(ARTIFACT.prefix, { ...ARTIFACT, backup })}/`, AbortSignal.timeout(10_000))).map((o) => o.key);

  beforeAll(async () => {
    [sites, store] = await Promise.all([MariaDbSites.start({ names: ["pdx"] }), startS3Store()]);
    site = sites.site("pdx");
    await createBucket(store, BUCKET);
    s3 = new S3ObjectStore({ bucket: BUCKET, region: store.region, endpoint: store.endpoint, credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey } });
    agent = await AgentProcess.start({ group: "orders", namespace: "shop", operatorUrl: "http://127.0.0.1:9", clone: { token: TOKEN }, site: "pdx", server: site, port: await freePort() });
    await agent.waitForLog(LOG_MESSAGES.safetyNetFenced, 10_000);
    // The copy's position names these transactions: a server without any would have no GTID.
    for (let n = 0; n < 20; n++) await site.injectWrite(`job-${n}`, "admin");
    dir = await mkdtemp(join(tmpdir(), "backup-job-"));
    secrets = [TOKEN, PASSPHRASE, store.secretAccessKey];
    goodEnv = {
      BLOODRAVEN_AGENT_TOKEN_FILE: await secretFile(join(dir, "token"), `${TOKEN}\n`),
      BLOODRAVEN_BACKUP_PASSPHRASE_FILE: await secretFile(join(dir, "passphrase"), `${PASSPHRASE}\n`),
      BLOODRAVEN_S3_CREDENTIALS_DIR: await credentialsDir("s3", store.secretAccessKey),
    };
  });

  afterAll(async () => {
    s3?.destroy();
    await agent?.stop("SIGKILL");
    await Promise.all([sites?.teardown(), store?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let backedUp: Record<string, unknown>;

  it("backs up: exit 0, the result names what the manifest in the store says", async () => {
    const run = await job("backup", [...backupFlags("b1"), "--log-level=debug"], goodEnv);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { manifest } = await readManifest({ ...ARTIFACT, backup: "b1", passphrase: PASSPHRASE }, s3, AbortSignal.timeout(10_000));
    expect(run.result).toEqual({
      phase: "Succeeded",
      location: `s3://${BUCKET}/prod/shop/orders/b1/manifest.json`,
      bytes: manifest.data.bytes,
      sha256: manifest.data.sha256,
      gtid: manifest.position.gtid,
      binlogFile: manifest.position.binlogFile,
      binlogPosition: manifest.position.binlogPosition,
      startedAt: manifest.startedAt,
      completedAt: manifest.completedAt,
      sourceSite: "pdx",
      encrypted: true,
    });
    expect(manifest.position.gtid).toMatch(/^0-1-\d+$/);
    expect((await objectsOf("b1")).sort()).toEqual(["prod/shop/orders/b1/data.xbstream.sealed", "prod/shop/orders/b1/manifest.json"]);
    const msgs = run.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toEqual([LOG_MESSAGES.backupJobStarted, LOG_MESSAGES.backupJobSucceeded]);
    backedUp = run.result as Record<string, unknown>;
  });

  it("restores into an absent folder: exit 0, the prepared copy holds the backup's position", async () => {
    const target = join(dir, "restored");
    const run = await job("restore", [`--namespace=${ARTIFACT.namespace}`, `--group=${ARTIFACT.group}`, "--backup=b1", `--prefix=${ARTIFACT.prefix}`, ...storageFlags, `--s3-endpoint=${store.endpoint}`, `--target-dir=${target}`, "--timeout=60s"], goodEnv);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.result).toMatchObject({ phase: "Succeeded", gtid: backedUp.gtid, binlogFile: backedUp.binlogFile, binlogPosition: backedUp.binlogPosition, sourceSite: "pdx", targetDir: target });
    expect((await readFile(join(target, "xtrabackup_binlog_info"), "utf8")).trim().split(/\s+/)).toContain(backedUp.gtid);
  });

  it("restores onto a disk too small for the copy: exit 1, a Failed result saying the disk is full, nothing left on it", async () => {
    await onSmallDisk("small-disk", async (small) => {
      const target = join(small, "restored");
      const restore = await job("restore", [`--namespace=${ARTIFACT.namespace}`, `--group=${ARTIFACT.group}`, "--backup=b1", `--prefix=${ARTIFACT.prefix}`, ...storageFlags, `--s3-endpoint=${store.endpoint}`, `--target-dir=${target}`, "--timeout=60s"], goodEnv);
      expect(restore.code, restore.stdout + restore.stderr).toBe(1);
      expect(restore.result).toMatchObject({ phase: "Failed", message: expect.stringMatching(new RegExp(`^the disk of ${target} is full \\(\\d+ bytes free of 4194304\\): the restored copy needs more room than the volume has; `)) as unknown });
      expect(await readdir(small)).toEqual([]);
    });
  });

  it("stages a restore beside a datadir: the copy swapped in later holds the backup, and has the new group's operator account with its password", async () => {
    const datadir = join(dir, "site", "data");
    await mkdir(datadir, { recursive: true });
    await writeFile(join(datadir, "untouched"), "the site's own data");
    const operatorPassword = `copy-${randomBytes(8).toString("hex")}`;
    secrets.push(operatorPassword);
    const env = { ...goodEnv, BLOODRAVEN_OPERATOR_USER_FILE: await secretFile(join(dir, "operator-user"), "copy_operator\n"), BLOODRAVEN_OPERATOR_PASSWORD_FILE: await secretFile(join(dir, "operator-password"), `${operatorPassword}\n`) };
    const flags = [`--namespace=${ARTIFACT.namespace}`, `--group=${ARTIFACT.group}`, "--backup=b1", `--prefix=${ARTIFACT.prefix}`, ...storageFlags, `--s3-endpoint=${store.endpoint}`];
    const run = await job("stage-restore", [...flags, `--datadir=${datadir}`, "--restore-id=r1", `--work-dir=${join(dir, "stage-work")}`, "--mariadbd=/usr/sbin/mariadbd", `--mysql-port=${await freePort()}`, "--timeout=80s"], env);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.result).toMatchObject({ phase: "Succeeded", gtid: backedUp.gtid, backupGtid: backedUp.gtid, userSchemas: 1 });
    expect(await readFile(join(datadir, "untouched"), "utf8")).toBe("the site's own data");
    const staged = `${datadir}.clone`;
    expect(JSON.parse(await readFile(join(staged, "bloodraven-clone.json"), "utf8"))).toMatchObject({ id: "r1", gtid: backedUp.gtid, donor: "backup shop/orders/b1" });
    await expect(readdir(`${datadir}.restore`)).rejects.toMatchObject({ code: "ENOENT" });
    // A server started on the staged copy, as the site's would after the swap: the new group's operator account logs in.
    // (Not root: the test sites' root@127.0.0.1 would be matched before any root@'%'.)
    const port = await freePort();
    const server = spawn("/usr/sbin/mariadbd", ["--no-defaults", `--datadir=${staged}`, `--socket=${join(dir, "staged.sock")}`, `--port=${port}`, "--bind-address=127.0.0.1", "--skip-name-resolve", "--skip-log-bin", ...(process.getuid?.() === 0 ? ["--user=root"] : [])], { stdio: "ignore" });
    try {
      const rows = await waitFor(
        "the staged copy's server, the operator account logged in with the new password",
        async () => {
          const conn = await mysql.createConnection({ host: "127.0.0.1", port, user: "copy_operator", password: operatorPassword, connectTimeout: 2_000 }).catch(() => undefined);
          if (!conn) return undefined;
          try {
            const [result] = await conn.query("SELECT COUNT(*) AS n FROM bloodraven_test.writes");
            return result as { n: number }[];
          } finally {
            await conn.end();
          }
        },
        30_000,
        250,
      );
      expect(Number(rows[0]?.n)).toBe(20);
    } finally {
      server.kill("SIGKILL");
    }
  });

  /** `bloodraven verify` of b1 with the local server binary; `flags` add to or override the defaults. */
  const verify = async (flags: string[]): Promise<JobExit & { workDir: string }> => {
    const workDir = join(dir, `verify-${randomBytes(4).toString("hex")}`);
    const base = [`--namespace=${ARTIFACT.namespace}`, `--group=${ARTIFACT.group}`, "--backup=b1", `--prefix=${ARTIFACT.prefix}`, ...storageFlags, `--s3-endpoint=${store.endpoint}`, `--work-dir=${workDir}`, "--mariadbd=/usr/sbin/mariadbd", `--mysql-port=${await freePort()}`, "--timeout=80s"];
    return { ...(await job("verify", [...base, ...flags], goodEnv)), workDir };
  };
  const COUNT_QUERY = "--sanity-query=SELECT COUNT(*) FROM bloodraven_test.writes";

  it("verifies: restores, starts a server on the copy, counts its rows; exit 0, the count in the result, nothing left behind", async () => {
    const run = await verify([COUNT_QUERY, "--min-rows=20"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.result).toMatchObject({ phase: "Succeeded", location: `s3://${BUCKET}/prod/shop/orders/b1/manifest.json`, gtid: backedUp.gtid, sourceSite: "pdx", count: 20 });
    expect(run.result?.queryMs).toEqual(expect.any(Number));
    expect(run.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([LOG_MESSAGES.verifyJobStarted, LOG_MESSAGES.verifyJobSucceeded]);
    await expect(readdir(run.workDir)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("fails a count below the minimum, or a query that is no count, keeping the copy with --keep-on-failure", async () => {
    const short = await verify([COUNT_QUERY, "--min-rows=21", "--keep-on-failure"]);
    expect(short.code, short.stdout + short.stderr).toBe(1);
    expect(short.result).toEqual({ phase: "Failed", message: "the sanity query counted 20, fewer than the 21 expected: the restored data is not all there" });
    expect(await readdir(short.workDir)).toEqual(expect.arrayContaining(["data", "mariadbd.err"]));
    const notCount = await verify(["--sanity-query=SELECT note FROM bloodraven_test.writes LIMIT 1"]);
    expect(notCount.result).toEqual({ phase: "Failed", message: 'the sanity query returned "job-0", not a count (a whole number of at least 0)' });
    const slow = await verify(["--sanity-query=SELECT COUNT(*) FROM bloodraven_test.writes WHERE SLEEP(1) = 0", "--query-timeout=2s"]);
    expect(slow.result).toMatchObject({ phase: "Failed", message: expect.stringMatching(/^the sanity query failed after \d+ ms \(limit 2000 ms\): .*max_statement_time/) as unknown });
    await expect(readdir(notCount.workDir)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("fails a verification whose work volume is too small: exit 1, a Failed result saying the disk is full, nothing left on it", async () => {
    await onSmallDisk("small-verify-disk", async (small) => {
      const full = await verify([COUNT_QUERY, `--work-dir=${join(small, "work")}`]);
      expect(full.code, full.stdout + full.stderr).toBe(1);
      expect(full.result).toMatchObject({ phase: "Failed", message: expect.stringMatching(/^the disk of .* is full \(\d+ bytes free of 4194304\)/) as unknown });
      expect(await readdir(small)).toEqual([]);
    });
  });

  it("fails a damaged artifact before any server starts, saying so", async () => {
    const key = `${artifactFolder(ARTIFACT.prefix, { ...ARTIFACT, backup: "b1" })}/data.xbstream.sealed`;
    const bytes = Buffer.concat(await (await s3.get(key, AbortSignal.timeout(10_000))).toArray());
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await s3.put(key, Readable.from([bytes]), AbortSignal.timeout(10_000));
    const run = await verify([COUNT_QUERY]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.result).toMatchObject({ phase: "Failed", message: expect.stringMatching(/frame \d+ fails authentication: the artifact is damaged/) as unknown });
    expect(run.stdout).not.toContain("mariadbd");
  });

  it("deletes the artifact: manifest and data gone, exit 0; again with nothing there, still exit 0", async () => {
    const flags = [`--namespace=${ARTIFACT.namespace}`, `--group=${ARTIFACT.group}`, "--backup=b1", `--prefix=${ARTIFACT.prefix}`, ...storageFlags, `--s3-endpoint=${store.endpoint}`, "--timeout=60s"];
    // The S3 credentials only: deleting needs neither the agent's token nor the passphrase.
    const env = { BLOODRAVEN_S3_CREDENTIALS_DIR: goodEnv.BLOODRAVEN_S3_CREDENTIALS_DIR };
    const run = await job("delete-backup", flags, env);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.result).toEqual({ phase: "Succeeded", location: `s3://${BUCKET}/prod/shop/orders/b1/`, deletedObjects: 1 });
    expect(await objectsOf("b1")).toEqual([]);
    const again = await job("delete-backup", flags, env);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.result).toEqual({ phase: "Succeeded", location: `s3://${BUCKET}/prod/shop/orders/b1/`, deletedObjects: 0 });
  });

  it("fails with a wrong S3 secret: exit 1, a Failed result naming the store, nothing stored", async () => {
    const wrong = `wrong-${randomBytes(12).toString("hex")}`;
    secrets.push(wrong);
    const run = await job("backup", backupFlags("b2"), { ...goodEnv, BLOODRAVEN_S3_CREDENTIALS_DIR: await credentialsDir("s3-wrong", wrong) });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.result?.phase).toBe("Failed");
    expect(run.result?.message).toMatch(new RegExp(`store s3://${BUCKET}/`));
    expect(run.stdout).toContain(LOG_MESSAGES.backupJobFailed);
    expect(await objectsOf("b2")).toEqual([]);
  });

  it("stops on SIGTERM: exit 1, a Failed result saying so, nothing stored", async () => {
    const before = agent.logged(LOG_MESSAGES.cloneDonorStarted).length;
    const run = await job("backup", backupFlags("b3"), goodEnv, async (pid) => {
      // Once the source streams, the store is frozen so the copy cannot finish first (a small
      // database copies in well under a second): the stop lands mid-copy, the case with something
      // to clean up, and the store thaws for that cleanup.
      await waitFor("the agent streaming the backup", async () => agent.logged(LOG_MESSAGES.cloneDonorStarted).length > before, 30_000, 20);
      await store.pause();
      try {
        await new Promise((r) => setTimeout(r, 500));
        process.kill(pid, "SIGTERM");
      } finally {
        store.resume();
      }
    });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.result).toMatchObject({ phase: "Failed", message: expect.stringMatching(/^stopped \(SIGTERM received\)/) as unknown });
    expect(run.stdout).toContain(LOG_MESSAGES.jobStopping);
    expect(await objectsOf("b3")).toEqual([]);
  });

  it("refuses a bad flag before doing anything: exit 2, the flag named, no result", async () => {
    const run = await job("backup", [...backupFlags("b4"), "--storage=gcs"], goodEnv);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--storage must be s3 or volume, got "gcs"/);
    expect(run.result).toBeUndefined();
    const noToken = await job("backup", backupFlags("b4"), { ...goodEnv, BLOODRAVEN_AGENT_TOKEN_FILE: undefined });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/BLOODRAVEN_AGENT_TOKEN_FILE is required/);
    expect(await objectsOf("b4")).toEqual([]);
  });
});
