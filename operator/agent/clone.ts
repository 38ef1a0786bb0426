/**
 * The agent's two clone roles (protocol in shared/agent/clone.ts):
 * - donor (MariaDB): `streamBackup` answers one request with `mariadb-backup --backup --stream=xbstream`;
 * - recipient: `CloneRecipient` pulls such a stream into the staging directory, prepares it,
 *   shuts the server down for the swap, and positions the restarted server's GTID state; on
 *   MySQL it has its server run CLONE INSTANCE from the donor's instead (operator/mysql/mysql-clone.ts).
 *
 * Deadlines: the stream is aborted after IDLE_MS without a byte and after the clone timeout in
 * all; every tool runs under the same overall deadline; the restart is waited for RESTART_MS.
 * A failed job leaves the server as it was (read-only, old data) unless the swap already
 * happened, and a new job starts from an empty staging directory.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CLONE_MANIFEST, DONOR_NOT_READY_WAIT_MS, DONOR_RETRY_AFTER_S, parseBinlogInfo, parseCloneManifest, type CloneJob, type CloneManifest, type CloneRequest } from "../../shared/agent/clone.js";
import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { sendJson } from "../http/respond.js";
import type { Logger } from "../log.js";
import type { FlavorName } from "../../shared/topology/site-observation.js";
import { onlyRow, readString } from "../mysql/flavor.js";
import { positionCopy } from "../mysql/copy-position.js";
import { cloneInstance, cloneStatus, gtidExecuted } from "../mysql/mysql-clone.js";
import type { SiteClient } from "../mysql/site-client.js";
import { openStreamWhenReady, startOf } from "../tools/http-stream.js";
import { loginOptions } from "../tools/option-file.js";
import { exitOf, runTool, stderrTail } from "../tools/run-tool.js";

/** A stream that sends nothing for this long is dead. */
const IDLE_MS = 60_000;
/** From SHUTDOWN until the server answers again on the swapped-in copy. */
const RESTART_MS = 600_000;
/** How often the bytes received are counted (GET /v1/clone shows them). */
const PROGRESS_MS = 500;
/** How often the restarting server is tried: a second's wait was a fifth of a 1 GB clone. */
const RESTART_POLL_MS = 200;
const SQL_DEADLINE_MS = 10_000;

export interface CloneSettings {
  datadir: string;
  /** Where the copy is staged; on the datadir's filesystem, so that the swap is a rename. */
  stagingDir: string;
  mysql: { host: string; port: number; user: string };
  password: () => string;
  /** Why the server refuses the password, if it does (see DONOR_NOT_READY_WAIT_MS). */
  loginRefused: () => Promise<string | undefined>;
  /** Sent to the donor's agent. */
  token: string;
  timeoutMs: number;
}

/** A defaults file for mariadb-backup, so the password never shows in `ps`; removed by the caller. */
async function credentialsFile(settings: CloneSettings): Promise<{ path: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "bloodraven-clone-"));
  const path = join(dir, "client.cnf");
  const { host, port, user } = settings.mysql;
  await writeFile(path, loginOptions("mariadb-backup", { host, port, user, password: settings.password() }), { mode: 0o600 });
  return { path, dir };
}

/**
 * Donor: answers with a consistent physical backup of this server as an xbstream. A backup
 * that fails is cut off mid-stream (the recipient's extraction fails), never ended cleanly. A
 * server that refuses the agent's password gets a 503 first: the rotated password has not
 * reached the agent yet, and asking again shortly succeeds.
 */
export async function streamBackup(settings: CloneSettings, res: ServerResponse, log: Logger): Promise<void> {
  const refused = await settings.loginRefused();
  if (refused !== undefined) {
    log.warn(LOG_MESSAGES.cloneDonorNotReady, { error: refused });
    sendJson(res, 503, { error: `this site's server refuses its agent's password (${refused}); a rotated password reaches the agent when its password file changes: ask again shortly` }, { "Retry-After": String(DONOR_RETRY_AFTER_S) });
    return;
  }
  const creds = await credentialsFile(settings);
  const ac = new AbortController();
  const deadline = setTimeout(() => ac.abort(), settings.timeoutMs);
  res.once("close", () => ac.abort());
  try {
    const child = spawn("mariadb-backup", [`--defaults-file=${creds.path}`, "--backup", "--stream=xbstream", `--datadir=${settings.datadir}`, `--target-dir=${creds.dir}`], {
      stdio: ["ignore", "pipe", "pipe"],
      signal: ac.signal,
    });
    child.on("error", () => undefined);
    const stderr = stderrTail(child);
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Cache-Control": "no-store" });
    child.stdout?.pipe(res, { end: false });
    log.info(LOG_MESSAGES.cloneDonorStarted);
    try {
      await exitOf(child, "mariadb-backup --backup", stderr);
      res.end();
      log.info(LOG_MESSAGES.cloneDonorFinished);
    } catch (err) {
      res.destroy();
      log.error(LOG_MESSAGES.cloneDonorFailed, { error: errorText(err) });
    }
  } finally {
    clearTimeout(deadline);
    await rm(creds.dir, { recursive: true, force: true });
  }
}

type JobState = { -readonly [K in keyof CloneJob]: CloneJob[K] };

/** Recipient: one clone job at a time, in memory (an agent that restarts forgets it; the operator starts another). */
export class CloneRecipient {
  private job: JobState | undefined;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly settings: CloneSettings,
    private readonly client: () => SiteClient,
    private readonly log: Logger,
  ) {}

  current(): CloneJob | undefined {
    return this.job ? { ...this.job } : undefined;
  }

  /** Starts `request` unless a job runs: the same id answers with that job, another id is refused. */
  start(request: CloneRequest): { started: boolean; job: CloneJob } | { refused: string } {
    const job = this.job;
    if (job && job.id === request.id) return { started: false, job: { ...job } };
    if (job && this.running) return { refused: `clone ${job.id} is still ${job.phase}; wait for it to finish` };
    this.job = { ...request, phase: "Cloning", startedAt: new Date().toISOString(), bytes: 0 };
    const started = this.job;
    this.running = this.run(started).finally(() => {
      this.running = undefined;
    });
    return { started: true, job: { ...started } };
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async run(job: JobState): Promise<void> {
    const log = this.log.child({ clone: job.id, donor: job.donor.site });
    log.info(LOG_MESSAGES.cloneStarted);
    try {
      const flavor = await this.refuseWritable();
      if (flavor === "mysql") await this.cloneInstance(job, log);
      else await this.cloneByBackup(job, log);
      job.phase = "Ready";
      job.finishedAt = new Date().toISOString();
      log.info(LOG_MESSAGES.cloneReady, { gtid: job.gtid });
    } catch (err) {
      job.phase = "Failed";
      job.error = errorText(err);
      job.finishedAt = new Date().toISOString();
      log.error(LOG_MESSAGES.cloneFailed, { error: job.error });
      // The staged copy is never swapped in half-written: only a complete one has its manifest.
      await rm(this.settings.stagingDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** MariaDB: the donor agent's backup stream, prepared here, swapped in by whatever restarts the server. */
  private async cloneByBackup(job: JobState, log: Logger): Promise<void> {
    await this.receive(job);
    job.phase = "Preparing";
    const manifest = await this.prepare(job);
    job.gtid = manifest.gtid;
    job.phase = "WaitingForRestart";
    log.info(LOG_MESSAGES.clonePrepared, { bytes: job.bytes, gtid: manifest.gtid });
    await this.shutdown();
    // Whatever restarts the server does the swap (apply-clone.sh before the server starts); a
    // server back without it means the restart path skips that step.
    await this.awaitRestart(async (wentDown) => {
      const applied = await readFile(join(this.settings.datadir, CLONE_MANIFEST), "utf8").then(parseCloneManifest, () => undefined);
      if (applied?.ok && applied.value.id === manifest.id) return true;
      if (wentDown && existsSync(this.settings.stagingDir)) {
        throw new Error("the server restarted without swapping in the staged copy: run apply-clone before the server starts (docs/agent.md, external sites)");
      }
      return false;
    });
    await this.position(manifest);
  }

  /** MySQL: the server clones itself from the donor's (CLONE INSTANCE) and restarts on the copy. */
  private async cloneInstance(job: JobState, log: Logger): Promise<void> {
    const donor = job.donor.mysql;
    if (!donor) throw new Error("the request names no donor server (donor.mysql), which MySQL's CLONE INSTANCE needs: run an operator as new as this agent");
    const account = { ...donor, user: this.settings.mysql.user, password: this.settings.password() };
    const outcome = await this.client().run("clone: CLONE INSTANCE", (s) => cloneInstance(s, account), this.settings.timeoutMs);
    const cloned = performance.now();
    job.phase = "WaitingForRestart";
    log.info(LOG_MESSAGES.clonePrepared, { outcome });
    if (outcome === "restart-needed") await this.shutdown();
    await this.awaitRestart(async () => {
      // A server going down again between the two looks is not there yet.
      const status = await this.client()
        .run("clone: status", cloneStatus, SQL_DEADLINE_MS)
        .catch(() => undefined);
      // Up for less time than has passed since the clone: it restarted since.
      if (!status || status.uptimeSeconds > (performance.now() - cloned) / 1000 + 1) return false;
      if (status.state === "Completed") return true;
      throw new Error(`the server restarted, but its clone ended ${status.state}: ${status.errorMessage || "no message"} (error ${status.errorNo})`);
    });
    job.gtid = await this.client().run("clone: gtid_executed", gtidExecuted, SQL_DEADLINE_MS);
  }

  private signal(): AbortSignal {
    return AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.settings.timeoutMs)]);
  }

  /** A writable server is a primary, or may be one: its data is never replaced. Returns the server's flavor. */
  private async refuseWritable(): Promise<FlavorName> {
    const { readOnly, flavor } = await this.client().run(
      "clone: read_only",
      async (s) => ({ readOnly: readString(s, onlyRow(s, await s.query("SELECT @@GLOBAL.read_only AS ro"), "read_only"), "ro"), flavor: s.flavor.name }),
      SQL_DEADLINE_MS,
    );
    if (readOnly !== "1") throw new Error("the server is writable: only a fenced server is cloned over");
    return flavor;
  }

  private async receive(job: JobState): Promise<void> {
    const staging = this.settings.stagingDir;
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true, mode: 0o750 });
    const url = `${job.donor.url}/v1/clone/backup`;
    const res = await openStreamWhenReady(url, this.settings.token, this.signal(), DONOR_NOT_READY_WAIT_MS, IDLE_MS).catch((err: unknown) => {
      throw new Error(`receiving the copy from ${job.donor.site} failed: ${errorText(err)}`);
    });
    if (res.statusCode !== 200) throw new Error(`receiving the copy from ${job.donor.site} failed: its agent answered HTTP ${res.statusCode}: ${await startOf(res, 300)}`);
    const idle = new AbortController();
    const idleTimer = setTimeout(() => idle.abort(new Error(`no data from the donor for ${IDLE_MS / 1000}s`)), IDLE_MS);
    const signal = AbortSignal.any([this.signal(), idle.signal]);
    let progress: NodeJS.Timeout | undefined;
    try {
      // Counted from the socket now and then, not per chunk: nothing but the pipe touches the bytes.
      const socket = res.socket;
      const start = socket.bytesRead;
      const count = (): void => {
        const received = socket.bytesRead - start;
        if (received === job.bytes) return;
        job.bytes = received;
        idleTimer.refresh();
      };
      progress = setInterval(count, PROGRESS_MS);
      await runTool("mbstream", ["-x", "-C", staging], signal, res).finally(count);
    } catch (err) {
      res.destroy();
      throw new Error(`receiving the copy from ${job.donor.site} failed after ${job.bytes} bytes: ${errorText(signal.reason instanceof Error ? signal.reason : err)}`);
    } finally {
      clearInterval(progress);
      clearTimeout(idleTimer);
    }
  }

  /** Applies the redo log, reads the copy's GTID position, and writes the manifest last. */
  private async prepare(job: JobState): Promise<CloneManifest> {
    const staging = this.settings.stagingDir;
    await runTool("mariadb-backup", ["--prepare", `--target-dir=${staging}`], this.signal());
    const info = parseBinlogInfo(await readFile(join(staging, "xtrabackup_binlog_info"), "utf8").catch(() => ""));
    if (!info.ok) throw new Error(info.error);
    const manifest: CloneManifest = { id: job.id, gtid: info.value, donor: job.donor.site, preparedAt: new Date().toISOString() };
    await writeFile(join(staging, `${CLONE_MANIFEST}.tmp`), JSON.stringify(manifest), { flag: "w", flush: true });
    await rename(join(staging, `${CLONE_MANIFEST}.tmp`), join(staging, CLONE_MANIFEST));
    return manifest;
  }

  private async shutdown(): Promise<void> {
    await this.client()
      .run("clone: shutdown", (s) => s.query("SHUTDOWN"), SQL_DEADLINE_MS)
      .catch(() => undefined);
  }

  /**
   * Waits up to RESTART_MS until the server answers again and `back` (told whether it was seen
   * down meanwhile) says it runs on the copy; `back` throws when it never will.
   */
  private async awaitRestart(back: (wentDown: boolean) => Promise<boolean>): Promise<void> {
    const until = performance.now() + RESTART_MS;
    let wentDown = false;
    while (performance.now() < until) {
      this.signal().throwIfAborted();
      await sleep(RESTART_POLL_MS);
      const up = await this.client()
        .run("clone: ping", (s) => s.query("SELECT 1"), SQL_DEADLINE_MS)
        .then(() => true)
        .catch(() => false);
      if (!up) {
        wentDown = true;
        continue;
      }
      if (await back(wentDown)) return;
    }
    throw new Error(`the server did not come back on the copy within ${RESTART_MS / 1000}s`);
  }

  private async position(manifest: CloneManifest): Promise<void> {
    await this.client().run("clone: position", (s) => positionCopy(s, manifest.gtid), SQL_DEADLINE_MS);
  }
}
