/**
 * Proves a backup restorable: restores it (manifest, signature, hash and the prepared position
 * checked, operator/backup/restore-backup.ts), starts a throwaway server on the copy, replays the
 * archived binary logs onto it when asked (to the latest, or to a time), and runs the sanity
 * query under a time limit. Every step that fails fails the verification with its reason; the
 * work folder is emptied at the end either way, unless `keepOnFailure` keeps it for inspection.
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { judgeSanityQuery } from "../../shared/backup/sanity-check.js";
import { errorText } from "../../shared/errors.js";
import { ScratchServer } from "../tools/scratch-server.js";
import type { ObjectStore } from "./object-store.js";
import { replayOnto, type ArchiveAccess, type PointInTime, type ReplayOutcome } from "./point-in-time.js";
import { restoreBackup, type ArtifactRef } from "./restore-backup.js";

const PHYSICAL_ONLY = { accepted: ["mariadb-backup"], why: "a verification starts a MariaDB server on the restored copy; verifying a MySQL Shell dump (util.loadDump into a MySQL server) is not built, see docs/backups.md" } as const;

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
  readonly server: { readonly mariadbd: string; readonly port: number };
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
    const manifest = await restoreBackup({ ...task, targetDir: join(task.workDir, "data"), timeoutMs: left(), signal, methods: PHYSICAL_ONLY }, store);
    const restoreMs = Date.now() - started;
    const server = await ScratchServer.start({ datadir: join(task.workDir, "data"), runDir: task.workDir, port: task.server.port, mariadbd: task.server.mariadbd, startTimeoutMs: left(), signal });
    try {
      const replay = task.pointInTime === "none" || !task.archive ? undefined : await replayOnto(task, task.archive, server.login, manifest.position.gtid, signal, left());
      const check = task.sanity ? await runSanityQuery(server, task.sanity) : undefined;
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

/** The query under the server's own statement limit and the client's, whichever ends it first. */
async function runSanityQuery(server: ScratchServer, sanity: SanityQuery): Promise<{ count: number; queryMs: number }> {
  const conn = await server.connect();
  try {
    await conn.query("SET SESSION max_statement_time = ?", [sanity.timeoutMs / 1000]);
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
