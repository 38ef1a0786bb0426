/**
 * What a backup Job's pod runs: one takeBackup, restoreBackup or replayArchive, JSON log lines on stdout, and
 * the outcome as one JSON line in the result file. The operator reads that line from the pod's
 * termination message, so the Job needs no Kubernetes credentials and no write access to the API.
 */
import { writeFile } from "node:fs/promises";
import { artifactFolder, MANIFEST_FILE } from "../../shared/backup/manifest.js";
import { errorText, redacted } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { createLogger, type LogFields, type Logger } from "../log.js";
import type { ArtifactJobConfig, BackupJobConfig, JobConfig, LoadRestoreJobConfig, ReplayJobConfig, RestoreJobConfig, StageRestoreJobConfig, VerifyJobConfig } from "./job-config.js";
import type { ObjectStore } from "./object-store.js";
import { replayArchive, type ArchiveAccess, type ReplayOutcome } from "./point-in-time.js";
import { openStore, type StoreConfig } from "./storage-config.js";
import { restoreBackup } from "./restore-backup.js";
import { loadRestore, ServerUnchanged } from "./load-restore.js";
import { stageRestore, type StageOutcome } from "./stage-restore.js";
import { takeBackup } from "./take-backup.js";
import { verifyBackup } from "./verify-backup.js";

/** Kubernetes keeps at most this many bytes of a termination message. */
export const RESULT_LIMIT_BYTES = 4096;
/** After SIGTERM the run gets this long to clean up (remove its data object or folder) before the Failed result is written regardless; the pod's default grace is 30 s. */
const STOP_GRACE_MS = 20_000;

/** `serverChanged: false`: a restore into a running server failed before it changed the server. */
export type JobResult = ({ phase: "Succeeded" } & Record<string, unknown>) | { phase: "Failed"; message: string; serverChanged?: false };

/** The result as one line of at most RESULT_LIMIT_BYTES: a long failure message is cut, never the JSON. */
export function resultLine(result: JobResult): string {
  const line = (r: JobResult): string => `${JSON.stringify(r)}\n`;
  const whole = line(result);
  if (result.phase !== "Failed" || Buffer.byteLength(whole) <= RESULT_LIMIT_BYTES) return whole;
  const cut = (n: number): string => line({ ...result, message: `${result.message.slice(0, n)}...` });
  // Escapes and multi-byte characters make bytes no multiple of characters: search the longest prefix that fits.
  let [fits, over] = [0, result.message.length];
  while (over - fits > 1) {
    const mid = Math.floor((fits + over) / 2);
    if (Buffer.byteLength(cut(mid)) <= RESULT_LIMIT_BYTES) fits = mid;
    else over = mid;
  }
  return cut(fits);
}

/** Every secret the run holds, so that none reaches the result even when an error quotes one. */
function secretsOf(config: JobConfig & { archive?: StoreConfig }, ...others: string[]): string[] {
  const s3 = [config, config.archive].flatMap((c) => (c?.storage.kind === "s3" ? [c.storage.credentials.secretAccessKey, c.storage.credentials.sessionToken] : []));
  return [config.passphrase, config.archive?.passphrase, ...others, ...s3].filter((s): s is string => s !== undefined && s !== "");
}

/**
 * Rejects `graceMs` after `signal` aborts: a run that does not wind down in time is left behind.
 * The timer is not unref'd: it must fire even when the stuck run holds no handle of its own.
 */
function abandonedAfter(signal: AbortSignal, graceMs: number): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener("abort", () => setTimeout(() => reject(new Error(`it did not wind down within ${graceMs / 1000}s`)), graceMs), { once: true });
  });
}

interface JobRun {
  readonly config: JobConfig;
  readonly messages: { readonly started: string; readonly succeeded: string; readonly failed: string };
  /** What the started line says besides the artifact's name. */
  readonly fields: LogFields;
  readonly secrets: readonly string[];
  work(store: ObjectStore, signal: AbortSignal): Promise<Record<string, unknown>>;
  /** Whether a failure of `work` left the server it restores into as it was. */
  unchanged?(err: unknown): boolean;
}

/** Runs `run` once and writes its result; 0 when it succeeded and the result was written, else 1. */
async function runJob(run: JobRun, signal: AbortSignal, log: Logger): Promise<0 | 1> {
  const { config, messages } = run;
  const { store, close } = openStore(config.storage);
  const onStop = (): void => log.warn(LOG_MESSAGES.jobStopping, { reason: errorText(signal.reason) });
  signal.addEventListener("abort", onStop, { once: true });
  log.info(messages.started, { store: store.location, prefix: config.prefix, encrypted: config.passphrase !== undefined, timeoutMs: config.timeoutMs, ...run.fields });
  let result: JobResult;
  try {
    const details = await Promise.race([run.work(store, signal), abandonedAfter(signal, STOP_GRACE_MS)]);
    result = { phase: "Succeeded", ...details };
    log.info(messages.succeeded, details);
  } catch (err) {
    const why = run.secrets.reduce((text, secret) => redacted(text, secret), errorText(err));
    const message = signal.aborted ? `stopped (${errorText(signal.reason)}): ${why}` : why;
    result = { phase: "Failed", message, ...(run.unchanged?.(err) ? { serverChanged: false as const } : {}) };
    log.error(messages.failed, { error: message });
  } finally {
    signal.removeEventListener("abort", onStop);
    close();
  }
  try {
    await writeFile(config.resultFile, resultLine(result));
  } catch (err) {
    log.error(LOG_MESSAGES.jobResultNotWritten, { file: config.resultFile, error: errorText(err) });
    return 1;
  }
  return result.phase === "Succeeded" ? 0 : 1;
}

/** Every line names the group, and the artifact when the command works on one. */
function jobLogger(config: JobConfig & { backup?: string }): Logger {
  return createLogger({ level: config.logLevel, base: { namespace: config.namespace, group: config.group, ...(config.backup !== undefined ? { backup: config.backup } : {}) } });
}

export function runBackupJob(config: BackupJobConfig, signal: AbortSignal): Promise<0 | 1> {
  const { source } = config;
  const run: JobRun = {
    config,
    messages: { started: LOG_MESSAGES.backupJobStarted, succeeded: LOG_MESSAGES.backupJobSucceeded, failed: LOG_MESSAGES.backupJobFailed },
    fields: { profile: config.profile, sourceSite: source.site, ...("agentUrl" in source ? { sourceAgentUrl: source.agentUrl } : { sourceServer: `${source.host}:${source.port}`, method: "mysqlsh-dump" }) },
    secrets: secretsOf(config, "agentUrl" in source ? source.token : source.password),
    async work(store, signal) {
      const { manifest, location } = await takeBackup({ ...config, signal }, store);
      return {
        location: `${store.location}${location}`,
        bytes: manifest.data.bytes,
        sha256: manifest.data.sha256,
        ...manifest.position,
        startedAt: manifest.startedAt,
        completedAt: manifest.completedAt,
        sourceSite: manifest.sourceSite,
        encrypted: manifest.encryption !== undefined,
      };
    },
  };
  return runJob(run, signal, jobLogger(config));
}

export function runRestoreJob(config: RestoreJobConfig, signal: AbortSignal): Promise<0 | 1> {
  const run: JobRun = {
    config,
    messages: { started: LOG_MESSAGES.restoreJobStarted, succeeded: LOG_MESSAGES.restoreJobSucceeded, failed: LOG_MESSAGES.restoreJobFailed },
    fields: { targetDir: config.targetDir },
    secrets: secretsOf(config),
    async work(store, signal) {
      const manifest = await restoreBackup({ ...config, signal }, store);
      return {
        location: `${store.location}${artifactFolder(config.prefix, config)}/${MANIFEST_FILE}`,
        targetDir: config.targetDir,
        ...manifest.position,
        sourceSite: manifest.sourceSite,
        backupCompletedAt: manifest.completedAt,
      };
    },
  };
  return runJob(run, signal, jobLogger(config));
}

/** Removes one backup's artifact: the manifest first (without it the folder is no backup), then whatever else the folder holds. Nothing there counts as deleted. */
export function runDeleteJob(config: ArtifactJobConfig, signal: AbortSignal): Promise<0 | 1> {
  const run: JobRun = {
    config,
    messages: { started: LOG_MESSAGES.deleteJobStarted, succeeded: LOG_MESSAGES.deleteJobSucceeded, failed: LOG_MESSAGES.deleteJobFailed },
    fields: {},
    secrets: secretsOf(config),
    async work(store, signal) {
      const folder = artifactFolder(config.prefix, config);
      await store.delete([`${folder}/${MANIFEST_FILE}`], signal);
      const rest = (await store.list(`${folder}/`, signal)).map((o) => o.key);
      if (rest.length > 0) await store.delete(rest, signal);
      return { location: `${store.location}${folder}/`, deletedObjects: rest.length };
    },
  };
  return runJob(run, signal, jobLogger(config));
}

const isoOf = (unixSeconds: number | undefined): string | undefined => (unixSeconds === undefined ? undefined : new Date(unixSeconds * 1000).toISOString());

export function runReplayJob(config: ReplayJobConfig, signal: AbortSignal): Promise<0 | 1> {
  const { server } = config;
  const run: JobRun = {
    config,
    messages: { started: LOG_MESSAGES.replayJobStarted, succeeded: LOG_MESSAGES.replayJobSucceeded, failed: LOG_MESSAGES.replayJobFailed },
    fields: { fromGtid: config.fromGtid, until: config.until?.toISOString(), server: `${server.host}:${server.port}`, user: server.user, workDir: config.workDir },
    secrets: secretsOf(config, server.password),
    async work(store, signal) {
      const outcome = await replayArchive({ ...config, signal }, store);
      // Absent rather than null: JSON.stringify leaves undefined fields out of the result line.
      return {
        site: outcome.site,
        files: outcome.files.map((f) => f.file),
        reachesGtid: outcome.reachesGtid,
        reachesTime: isoOf(outcome.reachesTime),
        until: isoOf(outcome.until),
        short: outcome.short,
      };
    },
  };
  return runJob(run, signal, jobLogger(config));
}

/** Runs `work` with the config's archive store opened (when it names one), and closes it after. */
async function withArchive<C extends { readonly archive?: StoreConfig }, T>(config: C, work: (task: Omit<C, "archive"> & { archive?: ArchiveAccess }) => Promise<T>): Promise<T> {
  const { archive: archiveConfig, ...task } = config;
  const archive = archiveConfig && { ...archiveConfig, ...openStore(archiveConfig.storage) };
  try {
    return await work({ ...task, ...(archive ? { archive } : {}) });
  } finally {
    archive?.close();
  }
}

/** What a result says about a replay. */
function replayFields(replay: ReplayOutcome | undefined) {
  return replay ? { replayedFiles: replay.files.length, replayedToGtid: replay.reachesGtid, replayedToTime: isoOf(replay.reachesTime) } : {};
}

export function runVerifyJob(config: VerifyJobConfig, signal: AbortSignal): Promise<0 | 1> {
  const { pointInTime } = config;
  const run: JobRun = {
    config,
    messages: { started: LOG_MESSAGES.verifyJobStarted, succeeded: LOG_MESSAGES.verifyJobSucceeded, failed: LOG_MESSAGES.verifyJobFailed },
    fields: { workDir: config.workDir, pointInTime: pointInTime instanceof Date ? pointInTime.toISOString() : pointInTime, sanityQuery: config.sanity?.query, minRows: config.sanity?.minRows },
    secrets: secretsOf(config),
    async work(store, signal) {
      const outcome = await withArchive(config, (task) => verifyBackup({ ...task, signal }, store));
      return {
        location: `${store.location}${artifactFolder(config.prefix, config)}/${MANIFEST_FILE}`,
        gtid: outcome.gtid,
        sourceSite: outcome.sourceSite,
        backupCompletedAt: outcome.backupCompletedAt,
        restoreMs: outcome.restoreMs,
        ...replayFields(outcome.replay),
        ...(outcome.count !== undefined ? { count: outcome.count, queryMs: outcome.queryMs } : {}),
      };
    },
  };
  return runJob(run, signal, jobLogger(config));
}

/** Restores a backup beside a site's datadir for its next start (operator/backup/stage-restore.ts). */
export function runStageRestoreJob(config: StageRestoreJobConfig, signal: AbortSignal): Promise<0 | 1> {
  const { pointInTime } = config;
  const run: JobRun = {
    config,
    messages: { started: LOG_MESSAGES.stageRestoreJobStarted, succeeded: LOG_MESSAGES.stageRestoreJobSucceeded, failed: LOG_MESSAGES.stageRestoreJobFailed },
    fields: { datadir: config.datadir, restoreId: config.id, pointInTime: pointInTime instanceof Date ? pointInTime.toISOString() : pointInTime },
    secrets: secretsOf(config, config.operator.password),
    async work(store, signal) {
      return restoredFields(config, store, await withArchive(config, (task) => stageRestore({ ...task, signal }, store)));
    },
  };
  return runJob(run, signal, jobLogger(config));
}

/** Loads a MySQL site's dump into the site's running, fenced server (operator/backup/load-restore.ts). */
export function runLoadRestoreJob(config: LoadRestoreJobConfig, signal: AbortSignal): Promise<0 | 1> {
  const { pointInTime, target } = config;
  const run: JobRun = {
    config,
    messages: { started: LOG_MESSAGES.loadRestoreJobStarted, succeeded: LOG_MESSAGES.loadRestoreJobSucceeded, failed: LOG_MESSAGES.loadRestoreJobFailed },
    fields: { site: config.site, server: `${target.host}:${target.port}`, pointInTime: pointInTime instanceof Date ? pointInTime.toISOString() : pointInTime },
    secrets: secretsOf(config, target.password),
    async work(store, signal) {
      return restoredFields(config, store, await withArchive(config, (task) => loadRestore({ ...task, signal }, store)));
    },
    unchanged: (err) => err instanceof ServerUnchanged,
  };
  return runJob(run, signal, jobLogger(config));
}

/** What a site's restore result says (shared/backup/staged-copy.ts parseStageResult reads it). */
function restoredFields(config: ArtifactJobConfig, store: ObjectStore, outcome: StageOutcome): Record<string, unknown> {
  return {
    location: `${store.location}${artifactFolder(config.prefix, config)}/${MANIFEST_FILE}`,
    gtid: outcome.gtid,
    backupGtid: outcome.backupGtid,
    userSchemas: outcome.userSchemas,
    sourceSite: outcome.sourceSite,
    backupCompletedAt: outcome.backupCompletedAt,
    restoreMs: outcome.restoreMs,
    ...replayFields(outcome.replay),
  };
}
