/**
 * Restores a MySQL site's dump into the site's running, fenced server (spec.initFromBackup and
 * spec.restoreInPlace of a MySQL site; shared/backup/mysql-site-load.ts says why not as a staged
 * datadir). The server is shown to be one the load may empty, the dump restored into the work
 * folder and checked whole, MySQL Shell shown to run, and the server checked again, before it is
 * touched; then the server is emptied, MySQL Shell loads the dump, its GTIDs are checked against
 * the backup's, the archive is replayed onto it when asked, and it is fenced again whatever
 * happened. A failure before the server was changed says so (`ServerUnchanged`): the operator then
 * gives the site back as it was. After, the site's data is gone and the operator leaves it fenced.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { loadProgram } from "../../shared/backup/mysql-load.js";
import type { ServerWithAccountFiles } from "../../shared/backup/mysql-dump.js";
import { clearStatements, gtidModeRefusal, LOADED_POSITION, refenceStatements, TARGET_IDENTITY, TARGET_SETTINGS, targetRefusal, USER_SCHEMAS } from "../../shared/backup/mysql-site-load.js";
import { errorText } from "../../shared/errors.js";
import { canonicalGtidSet } from "../../shared/gtid/gtid-set.js";
import { runMysqlShell } from "../tools/mysql-shell.js";
import type { ObjectStore } from "./object-store.js";
import { replayOnto, type ArchiveAccess, type PointInTime } from "./point-in-time.js";
import { restoreBackup, type ArtifactRef } from "./restore-backup.js";
import type { StageOutcome } from "./stage-restore.js";

const DUMP_ONLY = { accepted: ["mysqlsh-dump"], why: "a MySQL site's server loads a MySQL Shell dump; a mariadb-backup copy is restored into a MariaDB site" } as const;
/** Each statement that reads the server or sets a variable; dropping schemas may take the restore's whole time (InnoDB removes their files). */
const STATEMENT_MS = 60_000;
const CONNECT_MS = 10_000;
const IMAGE_HINT = "a MySQL site's restore runs in the profile's dump.image, which must carry MySQL Shell";

/** A failure before the server was changed: the site still holds its own data. */
export class ServerUnchanged extends Error {}

export interface LoadTask extends ArtifactRef {
  readonly site: string;
  /** The site's server, the operator account's files (MySQL Shell reads them) and its password (the Job's own sessions). */
  readonly target: ServerWithAccountFiles & { readonly user: string; readonly password: string };
  readonly mysqlsh: string;
  readonly pointInTime: PointInTime;
  readonly archive?: ArchiveAccess;
  /** Emptied first, removed after: the restored dump, MySQL Shell's files, the downloaded binary logs. */
  readonly workDir: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export async function loadRestore(task: LoadTask, store: ObjectStore): Promise<StageOutcome> {
  const deadline = AbortSignal.timeout(task.timeoutMs);
  const signal = task.signal ? AbortSignal.any([deadline, task.signal]) : deadline;
  if (task.pointInTime !== "none" && !task.archive) throw new ServerUnchanged("a replay needs the binary log archive's store: give the --archive-* flags");
  const end = Date.now() + task.timeoutMs;
  const left = (): number => Math.max(1, end - Date.now());
  await rm(task.workDir, { recursive: true, force: true });
  await mkdir(task.workDir, { recursive: true, mode: 0o700 });
  try {
    const started = Date.now();
    const dumpDir = join(task.workDir, "dump");
    const { schemas, localInfile, manifest } = await unchanged(async () => {
      // Once before the download, which may take hours, to fail fast; again right before the server is emptied, which decides.
      await inspect(task);
      const manifest = await restoreBackup({ ...task, targetDir: dumpDir, timeoutMs: left(), signal, methods: DUMP_ONLY }, store);
      await (await runMysqlShell({ mysqlsh: task.mysqlsh, name: "check", text: "", workDir: task.workDir, imageHint: IMAGE_HINT }, signal)).exited;
      return { manifest, ...(await inspect(task)) };
    });
    const restoreMs = Date.now() - started;
    let loaded: Omit<StageOutcome, "sourceSite" | "backupCompletedAt" | "restoreMs"> | undefined;
    let failure: string | undefined;
    try {
      loaded = await load(task, dumpDir, schemas, manifest.position.gtid, signal, left);
    } catch (err) {
      failure = deadline.aborted ? `the restore did not finish within ${task.timeoutMs / 1000}s: ${errorText(err)}` : errorText(err);
    }
    // Fenced again whatever happened (read_only stayed ON throughout); a failure here fails the restore too.
    const refenced = await onTarget(task, refenceStatements(localInfile)).then(
      () => undefined,
      (err: unknown) => `setting super_read_only ON again failed (read_only stays ON): ${errorText(err)}`,
    );
    if (failure !== undefined) throw new Error([`site ${task.site}'s server was emptied for the load, which then failed: ${failure}`, refenced].filter(Boolean).join("; "));
    if (refenced !== undefined || !loaded) throw new Error(`site ${task.site}'s server holds the restored copy, but ${refenced ?? "nothing was loaded"}`);
    return { ...loaded, sourceSite: manifest.sourceSite, backupCompletedAt: manifest.completedAt, restoreMs };
  } catch (err) {
    if (deadline.aborted && err instanceof ServerUnchanged) throw new ServerUnchanged(`the restore did not finish within ${task.timeoutMs / 1000}s: ${err.message}`);
    throw err;
  } finally {
    await rm(task.workDir, { recursive: true, force: true });
  }
}

/** Empties the fenced server, loads the dump, checks its GTIDs, replays the archive when asked. */
async function load(task: LoadTask, dumpDir: string, schemas: readonly string[], backupGtid: string, signal: AbortSignal, left: () => number) {
  await onTarget(task, clearStatements(schemas), left());
  const shell = await runMysqlShell({ mysqlsh: task.mysqlsh, name: "util.loadDump", text: loadProgram({ dumpDir, target: task.target }), workDir: task.workDir, imageHint: IMAGE_HINT }, signal);
  await shell.exited;
  const [holds] = await onTarget(task, [["SELECT GTID_SUBSET(@@GLOBAL.gtid_executed, ?) AND GTID_SUBSET(?, @@GLOBAL.gtid_executed) AS same, @@GLOBAL.gtid_executed AS gtid", [backupGtid, backupGtid]]]);
  if (Number(holds?.same) !== 1) throw new Error(`the loaded dump holds the GTIDs ${String(holds?.gtid)}, not the backup's ${backupGtid}`);
  const replay = task.archive && task.pointInTime !== "none" ? await replayOnto({ ...task, pointInTime: task.pointInTime }, task.archive, task.target, backupGtid, signal, left()) : undefined;
  const [position] = await onTarget(task, [LOADED_POSITION]);
  // As the operator observes the server's GTIDs: the restored site's bootstrap compares the two as text.
  const gtid = canonicalGtidSet(String(position?.gtid ?? ""));
  return { gtid, backupGtid, userSchemas: Number(position?.user_schemas ?? 0), ...(replay ? { replay } : {}) };
}

/** Runs `work`, whose failures leave the server as it was. */
async function unchanged<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw err instanceof ServerUnchanged ? err : new ServerUnchanged(errorText(err));
  }
}

/** The schemas to drop and the setting to give back, once the server is shown to be one the load may empty. */
async function inspect(task: LoadTask): Promise<{ schemas: string[]; localInfile: boolean }> {
  const [identity] = await onTarget(task, [TARGET_IDENTITY]);
  const refused = targetRefusal(task.site, { version: String(identity?.version ?? ""), readOnly: Number(identity?.read_only) === 1 });
  if (refused) throw new ServerUnchanged(refused);
  const [settings] = await onTarget(task, [TARGET_SETTINGS]);
  const gtids = gtidModeRefusal(task.site, String(settings?.gtid_mode ?? ""));
  if (gtids) throw new ServerUnchanged(gtids);
  const schemas = (await onTarget(task, [USER_SCHEMAS])).map((r) => String(r.name));
  return { schemas, localInfile: Number(settings?.local_infile) === 1 };
}

/** Runs `statements` in one session of the target, each under `timeoutMs`; the last one's rows. */
async function onTarget(task: LoadTask, statements: readonly (string | [string, string[]])[], timeoutMs = STATEMENT_MS): Promise<Record<string, unknown>[]> {
  const { host, port, user, password } = task.target;
  const conn = await mysql.createConnection({ host, port, user, password, connectTimeout: CONNECT_MS }).catch((err: unknown) => {
    throw new Error(`cannot reach site ${task.site}'s server at ${host}:${port}: ${errorText(err)}`);
  });
  try {
    let rows: Record<string, unknown>[] = [];
    for (const s of statements) {
      const [sql, values] = typeof s === "string" ? [s, []] : s;
      const [result] = await conn.query({ sql, values, timeout: timeoutMs }).catch((err: unknown) => {
        throw new Error(`${sql.split(" ").slice(0, 4).join(" ")}: ${errorText(err)}`);
      });
      rows = Array.isArray(result) ? (result as Record<string, unknown>[]) : [];
    }
    return rows;
  } finally {
    await conn.end().catch(() => undefined);
  }
}
