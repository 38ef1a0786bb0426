/**
 * Proves a backup restorable: restores it (manifest, signature, hash and the position checked,
 * operator/backup/restore-backup.ts), gets it into a throwaway server, replays the archived binary
 * logs onto it when asked (to the latest, or to a time), and runs the sanity query under a time
 * limit. A mariadb-backup copy is the server's datadir; a MySQL Shell dump is loaded into a fresh
 * MySQL server by `util.loadDump`, after which the server must hold exactly the dump's GTIDs.
 * Every step that fails fails the verification with its reason; the work folder is emptied at the
 * end either way, unless `keepOnFailure` keeps it for inspection.
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { BackupManifest } from "../../shared/backup/manifest.js";
import { loadProgram } from "../../shared/backup/mysql-load.js";
import { judgeSanityQuery } from "../../shared/backup/sanity-check.js";
import { errorText } from "../../shared/errors.js";
import { runMysqlShell } from "../tools/mysql-shell.js";
import { ScratchServer } from "../tools/scratch-server.js";
import type { ObjectStore } from "./object-store.js";
import { replayOnto, type ArchiveAccess, type PointInTime, type ReplayOutcome } from "./point-in-time.js";
import { restoreBackup, type ArtifactRef } from "./restore-backup.js";

export interface SanityQuery {
  readonly query: string;
  readonly minRows: number;
  readonly timeoutMs: number;
}

export interface VerifyTask extends ArtifactRef {
  /** Emptied first; holds the restored copy, the server's files and the downloaded binary logs. */
  readonly workDir: string;
  readonly pointInTime: PointInTime;
  /** The archive's store settings, when pointInTime is not `none`. */
  readonly archive?: ArchiveAccess;
  readonly sanity?: SanityQuery;
  /** The throwaway server's binaries (mariadbd for a mariadb-backup copy; mysqld and mysqlsh for a dump) and loopback port. */
  readonly server: { readonly mariadbd: string; readonly mysqld: string; readonly mysqlsh: string; readonly port: number };
  /** Leaves the work folder (and so the copy) in place when the verification fails. */
  readonly keepOnFailure: boolean;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface VerifyOutcome {
  readonly gtid: string;
  readonly sourceSite: string;
  readonly backupCompletedAt: string;
  readonly replay?: ReplayOutcome;
  readonly count?: number;
  readonly queryMs?: number;
  readonly restoreMs: number;
}

const STATEMENT_LIMIT: Record<BackupManifest["flavor"], (ms: number) => [string, number[]]> = {
  mariadb: (ms) => ["SET SESSION max_statement_time = ?", [ms / 1000]],
  mysql: (ms) => ["SET SESSION max_execution_time = ?", [ms]],
};

export async function verifyBackup(task: VerifyTask, store: ObjectStore): Promise<VerifyOutcome> {
  const deadline = AbortSignal.timeout(task.timeoutMs);
  const signal = task.signal ? AbortSignal.any([deadline, task.signal]) : deadline;
  if (task.pointInTime !== "none" && !task.archive) throw new Error("a replay needs the binary log archive's store: give the --archive-* flags");
  if ((await readdir(task.workDir).catch(() => [])).length > 0) await rm(task.workDir, { recursive: true, force: true });
  await mkdir(task.workDir, { recursive: true, mode: 0o700 });
  const end = Date.now() + task.timeoutMs;
  const left = (): number => Math.max(1, end - Date.now());
  let kept = false;
  try {
    const started = Date.now();
    const manifest = await restoreBackup({ ...task, targetDir: join(task.workDir, "data"), timeoutMs: left(), signal }, store);
    const restoreMs = Date.now() - started;
    const server = await startOn(manifest, task, signal, left());
    try {
      const replay = task.pointInTime === "none" || !task.archive ? undefined : await replayOnto(task, task.archive, server.login, manifest.position.gtid, signal, left());
      const check = task.sanity ? await runSanityQuery(server, task.sanity, manifest.flavor) : undefined;
      return { gtid: manifest.position.gtid, sourceSite: manifest.sourceSite, backupCompletedAt: manifest.completedAt, restoreMs, ...(replay ? { replay } : {}), ...check };
    } finally {
      await server.stop();
    }
  } catch (err) {
    kept = task.keepOnFailure;
    throw deadline.aborted ? new Error(`the verification did not finish within ${task.timeoutMs / 1000}s: ${errorText(err)}`) : err;
  } finally {
    if (!kept) await rm(task.workDir, { recursive: true, force: true });
  }
}

/** A throwaway server holding the restored backup: on the copy itself, or a fresh MySQL server the dump is loaded into. */
async function startOn(manifest: BackupManifest, task: VerifyTask, signal: AbortSignal, timeoutMs: number): Promise<ScratchServer> {
  const restored = join(task.workDir, "data");
  const common = { runDir: task.workDir, port: task.server.port, startTimeoutMs: timeoutMs, signal };
  if (manifest.method === "mariadb-backup") return ScratchServer.start({ ...common, datadir: restored, binary: { flavor: "mariadb", mariadbd: task.server.mariadbd } });
  const server = await ScratchServer.start({ ...common, datadir: join(task.workDir, "server"), binary: { flavor: "mysql", mysqld: task.server.mysqld } });
  try {
    const text = loadProgram({ dumpDir: restored, target: { socket: server.socket } });
    const shell = await runMysqlShell({ mysqlsh: task.server.mysqlsh, name: "util.loadDump", text, workDir: task.workDir, imageHint: "a MySQL dump's verification runs in an image with mysqld and MySQL Shell (the verification's spec.image, else the group's)" }, signal);
    // `signal` carries the verification's deadline: MySQL Shell is ended with it.
    await shell.exited;
    const [row] = await server.run(["SELECT GTID_SUBSET(@@GLOBAL.gtid_executed, ?) AND GTID_SUBSET(?, @@GLOBAL.gtid_executed) AS same, @@GLOBAL.gtid_executed AS holds", [manifest.position.gtid, manifest.position.gtid]]);
    if (Number(row?.same) !== 1) throw new Error(`the loaded dump holds the GTIDs ${String(row?.holds)}, not the backup's ${manifest.position.gtid}`);
    return server;
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** The query under the server's own statement limit and the client's, whichever ends it first. */
async function runSanityQuery(server: ScratchServer, sanity: SanityQuery, flavor: BackupManifest["flavor"]): Promise<{ count: number; queryMs: number }> {
  const conn = await server.connect();
  try {
    // MariaDB's limit is in seconds and applies to any statement; MySQL's in milliseconds, to a SELECT.
    await conn.query(...STATEMENT_LIMIT[flavor](sanity.timeoutMs));
    const started = Date.now();
    const [result] = await conn.query({ sql: sanity.query, rowsAsArray: true, timeout: sanity.timeoutMs + 1_000 }).catch((err: unknown) => {
      throw new Error(`the sanity query failed after ${Date.now() - started} ms (limit ${sanity.timeoutMs} ms): ${errorText(err)}`);
    });
    const queryMs = Date.now() - started;
    if (!Array.isArray(result)) throw new Error("the sanity query returned no rows to judge: it must be a SELECT of one count, e.g. SELECT COUNT(*) FROM shop.orders");
    const rows = result as unknown[][];
    const verdict = judgeSanityQuery(rows, sanity.minRows);
    if (!verdict.passed) throw new Error(verdict.reason);
    return { count: verdict.count, queryMs };
  } finally {
    conn.destroy();
  }
}
