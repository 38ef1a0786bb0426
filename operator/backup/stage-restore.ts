/**
 * Restores a backup for a site to start on (spec.initFromBackup): the copy is restored beside the
 * site's datadir (`<datadir>.restore`, on the same volume), brought to the requested point in
 * time by replaying the archive onto a throwaway server that records the GTIDs it applies, its
 * operator account given this group's password (the copy holds the source group's accounts, and
 * an image that sets the password only on an empty datadir would lock the operator out), and
 * handed over exactly as the agent hands over a clone: the manifest (shared/agent/clone.ts) is
 * written last and the folder renamed to `<datadir>.clone`, which the server's start swaps in
 * (images/mariadb/apply-clone.sh). Until that rename nothing the server would pick up exists, so
 * a restore that fails or is stopped leaves the site as it was.
 */
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CLONE_MANIFEST, type CloneManifest } from "../../shared/agent/clone.js";
import { artifactFolder } from "../../shared/backup/manifest.js";
import { errorText } from "../../shared/errors.js";
import { ScratchServer } from "../tools/scratch-server.js";
import type { ObjectStore } from "./object-store.js";
import { replayOnto, type ArchiveAccess, type PointInTime, type ReplayOutcome } from "./point-in-time.js";
import { restoreBackup, type ArtifactRef } from "./restore-backup.js";

const PHYSICAL_ONLY = { accepted: ["mariadb-backup"], why: "a site restarts onto a restored mariadb-backup copy; restoring a MySQL Shell dump into a site (util.loadDump) is not built, see docs/backups.md" } as const;

export interface StageTask extends ArtifactRef {
  /** The site's datadir; the copy is staged beside it and never touches it. */
  readonly datadir: string;
  /** Names the staged copy (the clone manifest's id): the operator's restore. */
  readonly id: string;
  readonly pointInTime: PointInTime;
  readonly archive?: ArchiveAccess;
  /** The throwaway server, and the folder of its socket, log and binary log. */
  readonly server: { readonly mariadbd: string; readonly port: number };
  /** The group's operator account, which the copy gets with this password. */
  readonly operator: { readonly user: string; readonly password: string };
  readonly workDir: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface StageOutcome {
  /** The staged copy's GTID position: the backup's, plus what the replay applied. */
  readonly gtid: string;
  readonly backupGtid: string;
  readonly sourceSite: string;
  readonly backupCompletedAt: string;
  readonly restoreMs: number;
  readonly replay?: ReplayOutcome;
  /** How many schemas of its own (not mysql, sys, performance_schema) the copy holds: the server restarted on it must show as many. */
  readonly userSchemas: number;
}

const SYSTEM_SCHEMAS = new Set(["mysql", "sys", "performance_schema"]);

/** A MariaDB datadir's schemas are its folders; `#`-folders are the server's own. */
async function countUserSchemas(datadir: string): Promise<number> {
  const entries = await readdir(datadir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith("#") && !SYSTEM_SCHEMAS.has(e.name)).length;
}

export const stagingDirs = (datadir: string) => ({ restoring: `${datadir}.restore`, staged: `${datadir}.clone` });

export async function stageRestore(task: StageTask, store: ObjectStore): Promise<StageOutcome> {
  const deadline = AbortSignal.timeout(task.timeoutMs);
  const signal = task.signal ? AbortSignal.any([deadline, task.signal]) : deadline;
  if (task.pointInTime !== "none" && !task.archive) throw new Error("a replay needs the binary log archive's store: give the --archive-* flags");
  const dirs = stagingDirs(task.datadir);
  const end = Date.now() + task.timeoutMs;
  const left = (): number => Math.max(1, end - Date.now());
  // What an earlier attempt left: its half-restored copy, or a staged one this run replaces.
  await rm(dirs.restoring, { recursive: true, force: true });
  await rm(task.workDir, { recursive: true, force: true });
  await mkdir(task.workDir, { recursive: true, mode: 0o700 });
  try {
    const started = Date.now();
    const manifest = await restoreBackup({ ...task, targetDir: dirs.restoring, timeoutMs: left(), signal, methods: PHYSICAL_ONLY }, store);
    const restoreMs = Date.now() - started;
    const backupGtid = manifest.position.gtid;
    const { replay, gtid } = await onServer(task, dirs.restoring, backupGtid, signal, left);
    const userSchemas = await countUserSchemas(dirs.restoring);
    const clone: CloneManifest = { id: task.id, gtid, donor: `backup ${artifactFolder("", task)}`, preparedAt: new Date().toISOString() };
    await writeFile(join(dirs.restoring, CLONE_MANIFEST), JSON.stringify(clone), { flush: true });
    await rm(dirs.staged, { recursive: true, force: true });
    await rename(dirs.restoring, dirs.staged);
    return { gtid, backupGtid, sourceSite: manifest.sourceSite, backupCompletedAt: manifest.completedAt, restoreMs, userSchemas, ...(replay ? { replay } : {}) };
  } catch (err) {
    await rm(dirs.restoring, { recursive: true, force: true });
    throw deadline.aborted ? new Error(`the restore did not finish within ${task.timeoutMs / 1000}s: ${errorText(err)}`) : err;
  } finally {
    await rm(task.workDir, { recursive: true, force: true });
  }
}

/**
 * Runs a throwaway server on the restored copy: replays the archive when asked, gives the operator
 * account this group's password, and removes its own account. With a replay its binary log starts
 * at the backup's position, so its @@gtid_binlog_pos afterwards is exactly what the copy holds.
 */
async function onServer(task: StageTask, datadir: string, backupGtid: string, signal: AbortSignal, left: () => number): Promise<{ replay?: ReplayOutcome; gtid: string }> {
  const archive = task.pointInTime === "none" ? undefined : task.archive;
  const server = await ScratchServer.start({
    datadir,
    runDir: task.workDir,
    ...(archive ? { binlogDir: task.workDir } : {}),
    port: task.server.port,
    binary: { flavor: "mariadb", mariadbd: task.server.mariadbd },
    startTimeoutMs: left(),
    signal,
  });
  try {
    let replayed: { replay: ReplayOutcome; gtid: string } | undefined;
    if (archive) {
      await server.run("RESET MASTER", ["SET GLOBAL gtid_binlog_state = ?", [backupGtid]]);
      const replay = await replayOnto(task, archive, server.login, backupGtid, signal, left());
      const [row] = await server.run("SELECT @@GLOBAL.gtid_binlog_pos AS pos");
      replayed = { replay, gtid: String(row?.pos ?? "") };
    }
    const { user, password } = task.operator;
    // Not binary-logged: the copy's position is what it holds, nothing of this server's own.
    await server.run(
      "SET SESSION sql_log_bin = 0",
      ["CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", [user, password]],
      ["ALTER USER ?@'%' IDENTIFIED BY ?", [user, password]],
      ["GRANT ALL ON *.* TO ?@'%' WITH GRANT OPTION", [user]],
    );
    await server.dropAccount();
    return replayed ?? { gtid: backupGtid };
  } finally {
    await server.stop();
  }
}
