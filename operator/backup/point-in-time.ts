/**
 * Point-in-time recovery: replays the archived binary logs onto a server started on a restored
 * backup, from the backup's GTID position up to a time (or everything archived). The files come
 * from one site's archive (shared/backup/replay-plan.ts), are checked against the manifest as
 * they download (size, SHA-256, the frames' authentication when encrypted) into a work folder,
 * and the flavor's binary log reader feeds them to the server (shared/backup/replay-commands.ts):
 * each transaction keeps its GTID, and everything the backup already holds is left out, not
 * replayed.
 *
 * Times are whole seconds, as binary log events carry them: replaying "to T" applies the
 * transactions whose events are stamped before T.
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { archiveFolder, archivesFolder, parseArchive, ARCHIVE_MANIFEST, type ArchiveManifest } from "../../shared/backup/binlog-archive.js";
import { replayCommands } from "../../shared/backup/replay-commands.js";
import { planReplay, type ReplayPlan } from "../../shared/backup/replay-plan.js";
import type { FlavorName } from "../../shared/topology/site-observation.js";
import { deriveKeys } from "../../shared/backup/sealing.js";
import { errorText } from "../../shared/errors.js";
import { loginOptions } from "../tools/option-file.js";
import { exitOf, runTool, stderrTail } from "../tools/run-tool.js";
import { measuring, opening } from "./artifact-streams.js";
import type { ObjectStore } from "./object-store.js";

export interface ReplayTask {
  readonly prefix: string;
  readonly namespace: string;
  readonly group: string;
  readonly passphrase?: string;
  /** The restored backup's position: gtid_binlog_pos form for MariaDB, a GTID set for MySQL. */
  readonly fromGtid: string;
  /** Replay the transactions stamped before this; undefined: everything archived. */
  readonly until?: Date;
  /** The server started on the restored copy, and an account that may set GTIDs (SUPER or BINLOG REPLAY). */
  readonly server: { readonly host: string; readonly port: number; readonly user: string; readonly password: string };
  /** Emptied and used for the downloaded files. */
  readonly workDir: string;
  readonly timeoutMs: number;
  /** Stops the replay early (the Job's SIGTERM); the work folder is still removed. */
  readonly signal?: AbortSignal;
}

/** `none`: the backup alone; `latest`: everything archived after it; a Date: what was stamped before it. */
export type PointInTime = "none" | "latest" | Date;

/** The binary log archive's store, opened. */
export interface ArchiveAccess {
  readonly store: ObjectStore;
  readonly prefix: string;
  readonly passphrase?: string;
}

/**
 * Replays `group`'s archive onto a server started on a restored copy of its backup (at
 * `fromGtid`), to `pointInTime` (not `none`); the files are downloaded into `workDir`/binlogs.
 */
export function replayOnto(
  task: { readonly namespace: string; readonly group: string; readonly pointInTime: PointInTime; readonly workDir: string },
  archive: ArchiveAccess,
  server: ReplayTask["server"],
  fromGtid: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<ReplayOutcome> {
  return replayArchive(
    {
      prefix: archive.prefix,
      namespace: task.namespace,
      group: task.group,
      ...(archive.passphrase !== undefined ? { passphrase: archive.passphrase } : {}),
      fromGtid,
      ...(task.pointInTime instanceof Date ? { until: task.pointInTime } : {}),
      server,
      workDir: join(task.workDir, "binlogs"),
      timeoutMs,
      signal,
    },
    archive.store,
  );
}

export interface ReplayOutcome extends ReplayPlan {
  /** What was asked for, as unix seconds (undefined: everything archived). */
  readonly until?: number;
}

/** Every site's archive manifest under the group's folder. */
export async function readArchives(store: ObjectStore, prefix: string, namespace: string, group: string, passphrase: string | undefined, signal: AbortSignal): Promise<ArchiveManifest[]> {
  const manifests = (await store.list(`${archivesFolder(prefix, { namespace, group })}/`, signal)).filter((o) => o.key.endsWith(`/${ARCHIVE_MANIFEST}`));
  const out: ArchiveManifest[] = [];
  for (const m of manifests) {
    const text = await store.getText(m.key, signal);
    if (text === undefined) continue;
    const read = parseArchive(text, passphrase === undefined ? undefined : (salt) => deriveKeys(passphrase, salt));
    if (!read.ok) throw new Error(`${store.location}${m.key}: ${read.error}`);
    out.push(read.value);
  }
  return out;
}

export async function replayArchive(task: ReplayTask, store: ObjectStore): Promise<ReplayOutcome> {
  const deadline = AbortSignal.timeout(task.timeoutMs);
  const signal = task.signal ? AbortSignal.any([deadline, task.signal]) : deadline;
  const until = task.until === undefined ? undefined : Math.floor(task.until.getTime() / 1000);
  const archives = await readArchives(store, task.prefix, task.namespace, task.group, task.passphrase, signal);
  const choice = planReplay(archives, task.fromGtid, until);
  if ("refused" in choice) throw new Error(choice.refused);
  const plan = choice.plan;
  await rm(task.workDir, { recursive: true, force: true });
  await mkdir(task.workDir, { recursive: true, mode: 0o700 });
  try {
    const folder = archiveFolder(task.prefix, { namespace: task.namespace, group: task.group, site: plan.site });
    const paths: string[] = [];
    for (const file of plan.files) {
      const key = `${folder}/${file.object}`;
      const measure = measuring();
      const passphrase = task.passphrase;
      // Each archived file has a salt of its own, in its header.
      const stages = passphrase === undefined ? [measure.stream] : [measure.stream, opening((salt) => deriveKeys(passphrase, salt))];
      const path = join(task.workDir, file.file);
      await pipeline([await store.get(key, signal), ...stages, createWriteStream(path, { mode: 0o600 })], { signal }).catch((err: unknown) => {
        throw new Error(`${store.location}${key}: ${errorText(err)}`);
      });
      const got = measure.result();
      if (got.bytes !== file.bytes || got.sha256 !== file.sha256) throw new Error(`${store.location}${key} is ${got.bytes} bytes with SHA-256 ${got.sha256}; the archive's manifest says ${file.bytes} and ${file.sha256}: it is damaged`);
      paths.push(path);
    }
    if (paths.length > 0) await apply(task, plan.flavor, paths, signal);
    return { ...plan, ...(until !== undefined ? { until } : {}) };
  } finally {
    await rm(task.workDir, { recursive: true, force: true });
  }
}

/**
 * Pipes the reader's output for `paths` into the client: from after the backup's position, up to
 * the target time. The password goes in a defaults file, never on a command line.
 */
async function apply(task: ReplayTask, flavor: FlavorName, paths: readonly string[], signal: AbortSignal): Promise<void> {
  const defaultsFile = join(task.workDir, "client.cnf");
  await writeFile(defaultsFile, loginOptions("client", task.server), { mode: 0o600 });
  const { reader, applier } = replayCommands(flavor, { fromGtid: task.fromGtid, ...(task.until ? { until: task.until } : {}), paths, defaultsFile });
  const read = spawn(reader.command, reader.args, { stdio: ["ignore", "pipe", "pipe"], signal, env: { ...process.env, TZ: "UTC" } });
  read.on("error", () => undefined);
  const readEnd = exitOf(read, reader.command, stderrTail(read));
  const [written, applied] = await Promise.allSettled([readEnd, runTool(applier.command, applier.args, signal, read.stdout ?? undefined)]);
  const reading = written.status === "rejected" ? `reading the archived binary logs failed: ${errorText(written.reason)}` : undefined;
  // A reader that failed leaves the client without input: both are said, the reader's cause first.
  if (applied.status === "rejected") throw new Error([reading, `applying the archived binary logs failed: ${errorText(applied.reason)}`].filter(Boolean).join("; "));
  if (reading) throw new Error(reading);
}
