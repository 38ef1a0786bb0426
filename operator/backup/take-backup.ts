/**
 * One backup, as the backup Job runs it. The copy comes from the source site by its flavor's
 * method: a MariaDB site's agent streams a consistent physical copy (the stream a clone donor
 * serves, `GET /v1/clone/backup`, read by the xbstream scan on its way); a MySQL site is dumped
 * by MySQL Shell, packed file by file (operator/backup/take-dump.ts). Either flows through the
 * optional AES-256-GCM frames and the hash straight into the store. The manifest is written last
 * and only when the copy ended whole with its position in it, so a backup cut off anywhere leaves
 * no manifest, and its data object is deleted.
 */
import { artifactFolder, dataObjectName, MANIFEST_FILE, manifestText, parsePosition, BACKUP_METHODS, type ArtifactName, type BackupManifest, type BackupMethod } from "../../shared/backup/manifest.js";
import { deriveKeys, newSalt } from "../../shared/backup/sealing.js";
import { XbstreamScanner } from "../../shared/backup/xbstream.js";
import { DONOR_NOT_READY_WAIT_MS } from "../../shared/agent/clone.js";
import { errorText } from "../../shared/errors.js";
import { openStreamWhenReady, startOf } from "../tools/http-stream.js";
import { measuring, scanningAs, sealing, streamToStore, type CopyStream } from "./artifact-streams.js";
import type { ObjectStore } from "./object-store.js";
import { openDump, type DumpSource } from "./take-dump.js";

/** mariadb-backup writes the position near the end and xtrabackup_info last: both present means the copy finished. */
const POSITION_FILE = "xtrabackup_binlog_info";
const LAST_FILE = "xtrabackup_info";
/** The source's agent sending nothing this long is dead. */
const IDLE_MS = 60_000;
const CLEANUP_MS = 30_000;

/** A MariaDB site, copied by its agent. */
export interface AgentSource {
  readonly site: string;
  readonly agentUrl: string;
  readonly token: string;
}

export interface BackupTask extends ArtifactName {
  readonly profile: string;
  readonly prefix: string;
  readonly source: AgentSource | DumpSource;
  /** Encrypts the artifact and signs its manifest. */
  readonly passphrase?: string;
  readonly timeoutMs: number;
  /** Stops the backup early (the Job's SIGTERM); the data object is still removed. */
  readonly signal?: AbortSignal;
}

export interface BackupOutcome {
  readonly manifest: BackupManifest;
  /** The manifest's key in the store. */
  readonly location: string;
}

export async function takeBackup(task: BackupTask, store: ObjectStore): Promise<BackupOutcome> {
  const startedAt = new Date().toISOString();
  const deadline = AbortSignal.timeout(task.timeoutMs);
  const signal = task.signal ? AbortSignal.any([deadline, task.signal]) : deadline;
  const keys = task.passphrase === undefined ? undefined : deriveKeys(task.passphrase, newSalt());
  const method: BackupMethod = "agentUrl" in task.source ? "mariadb-backup" : "mysqlsh-dump";
  const folder = artifactFolder(task.prefix, task);
  const dataObject = dataObjectName(method, keys !== undefined);
  const dataKey = `${folder}/${dataObject}`;
  const copy = "agentUrl" in task.source ? await openAgentCopy(task.source, signal) : await openDump(task.source, signal);
  const measure = measuring();
  try {
    await streamToStore([...copy.streams, ...(keys ? [sealing(keys)] : []), measure.stream], store, dataKey, signal, `the copy from ${task.source.site} broke off`);
    const manifest: BackupManifest = {
      format: 1,
      namespace: task.namespace,
      group: task.group,
      backup: task.backup,
      profile: task.profile,
      flavor: BACKUP_METHODS[method].flavor,
      method,
      sourceSite: task.source.site,
      startedAt,
      completedAt: new Date().toISOString(),
      position: copy.position(),
      data: { object: dataObject, ...measure.result() },
      ...(keys ? { encryption: { algorithm: "AES-256-GCM", kdf: "scrypt", salt: keys.salt.toString("base64") } as const } : {}),
    };
    const location = `${folder}/${MANIFEST_FILE}`;
    await store.putText(location, manifestText(manifest, keys), signal);
    return { manifest, location };
  } catch (err) {
    // Without its manifest the data object is no backup; removing it keeps the store honest.
    await store.delete([dataKey], AbortSignal.timeout(CLEANUP_MS)).catch(() => undefined);
    throw deadline.aborted ? new Error(`the backup did not finish within ${task.timeoutMs / 1000}s: ${errorText(err)}`) : err;
  } finally {
    await copy.stop();
  }
}

async function openAgentCopy(source: AgentSource, signal: AbortSignal): Promise<CopyStream> {
  const res = await openStreamWhenReady(`${source.agentUrl}/v1/clone/backup`, source.token, signal, DONOR_NOT_READY_WAIT_MS, IDLE_MS).catch((err: unknown) => {
    throw new Error(`the agent of ${source.site} (${source.agentUrl}) did not answer: ${errorText(err)}`);
  });
  if (res.statusCode !== 200) throw new Error(`the agent of ${source.site} answered HTTP ${res.statusCode}: ${await startOf(res, 300)}`);
  const scan = scanningAs(new XbstreamScanner([POSITION_FILE]), "backup");
  return {
    streams: [res, scan.stream],
    position: () => {
      const summary = scan.summary();
      if (!summary.files.includes(LAST_FILE)) throw new Error(`the copy from ${source.site} ended before mariadb-backup wrote ${LAST_FILE}: it is incomplete`);
      const position = parsePosition(summary.captured.get(POSITION_FILE) ?? "");
      if (!position.ok) throw new Error(position.error);
      return position.value;
    },
    stop: () => {
      res.destroy();
      return Promise.resolve();
    },
  };
}
