import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { MariaDbSites, TEST_USERS, type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { freePort, waitFor } from "../../scripts/env/ports.js";
import { createBucket, startS3Store, type S3Store } from "../../scripts/env/s3-store.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { S3ObjectStore } from "../../operator/backup/object-store.js";
import { replayArchive } from "../../operator/backup/point-in-time.js";
import { restoreBackup } from "../../operator/backup/restore-backup.js";
import { takeBackup } from "../../operator/backup/take-backup.js";
import { AgentProcess } from "../support/agent.js";
import { namespaceWithOperator } from "../support/groups.js";
import { ledgerLoad, missingOn } from "../support/ledger.js";

/**
 * Point-in-time recovery for real: a ledger of acknowledged writes on a real MariaDB primary
 * (the real operator names it, its agent archives its binary logs into a real MinIO), a backup in
 * the middle, a time T between two bursts of writes. Restored to T, a server holds every write
 * acknowledged before T and none after; restored to the latest, every write in a sealed binary
 * log. What the open binary log held is the measured loss (RPO). The same replay to T once more
 * through `bloodraven replay`, the built bundle as a Job's pod runs it.
 */
const ns = `pitr-${randomBytes(3).toString("hex")}`;
const BUCKET = "pitr";
const PASSPHRASE = "point in time passphrase";
const TOKEN = randomBytes(16).toString("hex");
const GROUP = "orders";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const COMMAND_MS = 120_000;

/** Writes for `ms` on the app account and returns the acknowledged notes. */
async function burst(site: MariaDbSite, prefix: string, ms: number): Promise<string[]> {
  const load = ledgerLoad([site], prefix, 2);
  await sleep(ms);
  return load.stop();
}

describe("point-in-time recovery (real operator, agent, MariaDB and MinIO)", () => {
  const { operator, freshGroup } = namespaceWithOperator(ns, "pitr-e2e");
  let sites: MariaDbSites;
  let copies: MariaDbSites;
  let store: S3Store;
  let s3: S3ObjectStore;
  let secrets: string;
  let agent: AgentProcess;
  const acked: Record<"before" | "between" | "after" | "open", string[]> = { before: [], between: [], after: [], open: [] };
  let T: Date;
  let fromGtid: string;

  /** A new server started on the backup, restored into its datadir. */
  const restored = async (name: string): Promise<MariaDbSite> => {
    const server = copies.site(name);
    await server.stop();
    const target = join(server.dir, "restored");
    await restoreBackup({ namespace: ns, group: GROUP, backup: "b1", prefix: "prod", passphrase: PASSPHRASE, targetDir: target, timeoutMs: 120_000 }, s3);
    await rm(join(server.dir, "data"), { recursive: true, force: true });
    await rename(target, join(server.dir, "data"));
    await server.start();
    return server;
  };
  /** Every write acknowledged before T is there, none after. */
  const expectRestoredToT = async (server: MariaDbSite) => {
    expect(await missingOn(server, acked.before, "before")).toEqual([]);
    expect(await missingOn(server, acked.between, "between")).toEqual([]);
    expect(await missingOn(server, acked.after, "after")).toEqual(acked.after);
    expect(await missingOn(server, acked.open, "open")).toEqual(acked.open);
  };
  /** A command of the bundle as a child process, killed after COMMAND_MS, with no secret in its output or result. */
  const bundleCommand = async (command: string, args: string[]) => {
    const resultFile = join(secrets, `result-${randomBytes(4).toString("hex")}`);
    const common = [`--namespace=${ns}`, `--group=${GROUP}`, "--prefix=prod", "--storage=s3", `--s3-bucket=${BUCKET}`, `--s3-endpoint=${store.endpoint}`, "--timeout=100s", `--result-file=${resultFile}`];
    // Only the files name the secrets: none of the runner's own AWS_ or BLOODRAVEN_ variables.
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_") && !k.startsWith("BLOODRAVEN_")));
    const env = {
      ...base,
      BLOODRAVEN_S3_CREDENTIALS_DIR: secrets,
      BLOODRAVEN_BACKUP_PASSPHRASE_FILE: join(secrets, "passphrase"),
      BLOODRAVEN_MYSQL_PASSWORD_FILE: join(secrets, "mysql-password"),
      BLOODRAVEN_ARCHIVE_S3_CREDENTIALS_DIR: secrets,
      BLOODRAVEN_ARCHIVE_PASSPHRASE_FILE: join(secrets, "passphrase"),
    };
    const child = spawn(process.execPath, [`${inject("distDir")}/bloodraven.mjs`, command, ...common, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let [stdout, stderr] = ["", ""];
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => child.kill("SIGKILL"), COMMAND_MS);
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve)).finally(() => clearTimeout(killer));
    const text = await readFile(resultFile, "utf8").catch(() => "");
    for (const secret of [PASSPHRASE, store.secretAccessKey, TEST_USERS.admin.password]) expect(`${stdout}${stderr}${text}`.includes(secret), `a secret in the output:\n${stdout}${stderr}`).toBe(false);
    return { code, stdout, stderr, result: text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>) };
  };
  /** `bloodraven replay` onto `server`. */
  const replayCommand = (server: MariaDbSite, flags: string[]) =>
    bundleCommand("replay", [`--from-gtid=${fromGtid}`, `--mysql-host=${server.host}`, `--mysql-port=${server.port}`, `--mysql-user=${TEST_USERS.admin.user}`, `--work-dir=${join(server.dir, "replay-command")}`, ...flags]);
  const replay = (server: MariaDbSite, until?: Date) =>
    replayArchive(
      { prefix: "prod", namespace: ns, group: GROUP, passphrase: PASSPHRASE, fromGtid, ...(until ? { until } : {}), server: { host: server.host, port: server.port, ...TEST_USERS.admin }, workDir: join(server.dir, "replay"), timeoutMs: 120_000 },
      s3,
    );

  beforeAll(async () => {
    store = await startS3Store();
    await createBucket(store, BUCKET);
    s3 = new S3ObjectStore({ bucket: BUCKET, region: store.region, endpoint: store.endpoint, credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey } });
    secrets = mkdtempSync(join(tmpdir(), "bloodraven-pitr-"));
    writeFileSync(join(secrets, "AWS_ACCESS_KEY_ID"), store.accessKeyId, { mode: 0o600 });
    writeFileSync(join(secrets, "AWS_SECRET_ACCESS_KEY"), store.secretAccessKey, { mode: 0o600 });
    writeFileSync(join(secrets, "passphrase"), PASSPHRASE, { mode: 0o600 });
    writeFileSync(join(secrets, "mysql-password"), `${TEST_USERS.admin.password}\n`, { mode: 0o600 });
    sites = await freshGroup(GROUP);
    copies = await MariaDbSites.start({ names: ["to-t", "latest", "via-command"], firstServerId: 20 });
    agent = await AgentProcess.start({
      site: "iad",
      group: GROUP,
      namespace: ns,
      server: sites.site("iad"),
      operatorUrl: operator().url("status", ""),
      port: await freePort(),
      clone: { token: TOKEN },
      args: ["--archive-storage=s3", `--archive-s3-bucket=${BUCKET}`, `--archive-s3-endpoint=${store.endpoint}`, "--archive-prefix=prod", "--archive-poll-interval=1s"],
      env: { BLOODRAVEN_ARCHIVE_S3_CREDENTIALS_DIR: secrets, BLOODRAVEN_ARCHIVE_PASSPHRASE_FILE: join(secrets, "passphrase") },
    });
    await agent.waitForLog(LOG_MESSAGES.safetyNetLifted, 15_000);

    const iad = sites.site("iad");
    acked.before = await burst(iad, "before", 1_500);
    const backup = await takeBackup({ namespace: ns, group: GROUP, backup: "b1", profile: "p", prefix: "prod", source: { site: "iad", agentUrl: agent.url, token: TOKEN }, passphrase: PASSPHRASE, timeoutMs: 120_000 }, s3);
    fromGtid = backup.manifest.position.gtid;
    acked.between = await burst(iad, "between", 1_500);
    // T on a second boundary with no write near it: binary log events carry whole seconds.
    await sleep(1_000 - (Date.now() % 1_000) + 100);
    T = new Date(Math.floor(Date.now() / 1_000) * 1_000);
    await sleep(1_200);
    acked.after = await burst(iad, "after", 1_500);
    const sealed = await iad.gtidBinlogPos();
    await iad.query("FLUSH BINARY LOGS");
    acked.open = await burst(iad, "open", 500);
    await waitFor(
      "the archive to hold every sealed transaction",
      async () => ((await s3.getText(`prod/${ns}/${GROUP}/binlogs/iad/manifest.json`, AbortSignal.timeout(5_000))) ?? "").includes(`"lastGtid": "${sealed}"`),
      30_000,
      250,
    );
  });

  afterAll(async () => {
    s3?.destroy();
    await agent?.stop("SIGKILL");
    await Promise.all([copies?.teardown(), store?.stop()]);
    if (secrets) rmSync(secrets, { recursive: true, force: true });
  });

  it("restored to T, holds every write acknowledged before T and none after", async () => {
    expect(acked.before.length).toBeGreaterThan(10);
    expect(acked.between.length).toBeGreaterThan(10);
    expect(acked.after.length).toBeGreaterThan(10);
    const server = await restored("to-t");
    const outcome = await replay(server, T);
    expect(outcome).toMatchObject({ site: "iad", short: false });
    await expectRestoredToT(server);
  });

  it("restored to the latest, holds every write of a sealed binary log; the open one is the measured loss", async () => {
    const server = await restored("latest");
    const outcome = await replay(server);
    expect(outcome.short).toBe(false);
    for (const phase of ["before", "between", "after"] as const) expect(await missingOn(server, acked[phase], phase)).toEqual([]);
    const lost = await missingOn(server, acked.open, "open");
    // The writes after the last FLUSH sit in the file the server still writes: never archived.
    expect(lost).toEqual(acked.open);
    process.stderr.write(`pitr: RPO with the server's data lost = ${lost.length} acknowledged writes (those after the last sealed binary log)\n`);
  });

  it("through `bloodraven replay`: the same to T, the outcome as the result line; a malformed --until refused", async () => {
    const server = await restored("via-command");
    // RFC 3339 in whole seconds: the command refuses fractions, even .000.
    const until = T.toISOString().replace(".000Z", "Z");
    const refused = await replayCommand(server, ["--until=yesterday"]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/--until must be an RFC 3339 time/);
    expect(refused.result).toBeUndefined();

    const run = await replayCommand(server, [`--until=${until}`]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.result).toMatchObject({ phase: "Succeeded", site: "iad", short: false, until: T.toISOString(), reachesGtid: expect.stringMatching(/^0-\d+-\d+$/) as unknown });
    const files = run.result?.files as string[];
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(file).toMatch(/\.\d{6}$/);
    // Not short: the archive reaches T.
    expect(Date.parse(run.result?.reachesTime as string)).toBeGreaterThanOrEqual(T.getTime());
    const msgs = run.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toEqual([LOG_MESSAGES.replayJobStarted, LOG_MESSAGES.replayJobSucceeded]);
    await expectRestoredToT(server);
  });

  it("through `bloodraven verify`: restored, replayed to T and counted in a throwaway server, the count exactly the writes before T", async () => {
    const until = T.toISOString().replace(".000Z", "Z");
    const archive = ["--archive-storage=s3", `--archive-s3-bucket=${BUCKET}`, `--archive-s3-endpoint=${store.endpoint}`, "--archive-prefix=prod"];
    const expected = acked.before.length + acked.between.length;
    const run = await bundleCommand("verify", [
      "--backup=b1",
      `--work-dir=${join(secrets, "verify")}`,
      "--mariadbd=/usr/sbin/mariadbd",
      `--mysql-port=${await freePort()}`,
      `--point-in-time=${until}`,
      ...archive,
      "--sanity-query=SELECT COUNT(*) FROM bloodraven_test.writes WHERE note LIKE 'before-%' OR note LIKE 'between-%' OR note LIKE 'after-%' OR note LIKE 'open-%'",
      `--min-rows=${expected}`,
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.result).toMatchObject({ phase: "Succeeded", gtid: fromGtid, count: expected, replayedToGtid: expect.stringMatching(/^0-\d+-\d+$/) as unknown });
    expect(run.result?.replayedFiles).toBeGreaterThan(0);
  });
});
