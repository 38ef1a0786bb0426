/**
 * Brings a backup back from the store into a folder: the manifest is read and checked first (its
 * signature when encrypted), then the data object flows through the hash and the frame
 * authentication into its unpacker. A mariadb-backup copy goes into mbstream, is prepared by
 * mariadb-backup and becomes a datadir a server can start on; a MySQL Shell dump is unpacked file
 * by file into the dump folder `util.loadDump` reads. Either must hold the position the manifest names.
 * Any mismatch fails the restore and removes the folder, so a damaged artifact never becomes a
 * datadir or a dump.
 */
import { mkdir, open, readdir, readFile, rm, statfs, type FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";
import { join } from "node:path";
import { artifactFolder, MANIFEST_FILE, parseManifest, parsePosition, type ArtifactName, type BackupManifest, type BackupMethod } from "../../shared/backup/manifest.js";
import { DUMP_DONE_FILE, DUMP_METADATA_FILE, dumpPosition } from "../../shared/backup/mysql-dump.js";
import { TarReader } from "../../shared/backup/tar.js";
import { deriveKeys, type SealKeys } from "../../shared/backup/sealing.js";
import { errorText } from "../../shared/errors.js";
import { runTool } from "../tools/run-tool.js";
import { measuring, opening } from "./artifact-streams.js";
import type { ObjectStore } from "./object-store.js";

export interface ArtifactRef extends ArtifactName {
  readonly prefix: string;
  readonly passphrase?: string;
}

export interface RestoreTask extends ArtifactRef {
  /** Created by the restore; must not exist or be empty. */
  readonly targetDir: string;
  readonly timeoutMs: number;
  /** Stops the restore early (the Job's SIGTERM); the folder is still removed. */
  readonly signal?: AbortSignal;
  /** The methods the caller can use the result of (a server starts only on a mariadb-backup copy); any when absent. */
  readonly methods?: { readonly accepted: readonly BackupMethod[]; readonly why: string };
}

/** How each method's data object is unpacked into the folder, and where the unpacked copy names its position. */
const UNPACKERS: Record<BackupMethod, { readonly unpack: (input: Readable, dir: string, signal: AbortSignal) => Promise<void>; readonly position: (dir: string, signal: AbortSignal) => Promise<string | undefined> }> = {
  "mariadb-backup": {
    unpack: (input, dir, signal) => runTool("mbstream", ["-x", "-C", dir], signal, input),
    position: async (dir, signal) => {
      await runTool("mariadb-backup", ["--prepare", `--target-dir=${dir}`], signal);
      const position = parsePosition(await readFile(join(dir, "xtrabackup_binlog_info"), "utf8").catch(() => ""));
      return position.ok ? position.value.gtid : undefined;
    },
  },
  "mysqlsh-dump": {
    unpack: unpackDump,
    position: async (dir) => {
      if (!(await readdir(dir)).includes(DUMP_DONE_FILE)) return undefined;
      const position = dumpPosition(await readFile(join(dir, DUMP_METADATA_FILE), "utf8").catch(() => ""));
      return position.ok ? position.value.gtid : undefined;
    },
  },
};

/** A dump's tar stream into its folder: plain files only, each new (TarReader refuses anything else). */
async function unpackDump(input: Readable, dir: string, signal: AbortSignal): Promise<void> {
  const reader = new TarReader();
  let file: FileHandle | undefined;
  try {
    for await (const chunk of input) {
      signal.throwIfAborted();
      for (const event of reader.push(chunk as Buffer)) {
        if (event.kind === "file") file = await open(join(dir, event.name), "wx", 0o640);
        else if (event.kind === "data") await file?.writeFile(event.bytes);
        else {
          await file?.close();
          file = undefined;
        }
      }
    }
    reader.end();
  } finally {
    await file?.close();
  }
}

/** The backup's manifest, checked against where it was found and, when encrypted, its signature. */
export async function readManifest(ref: ArtifactRef, store: ObjectStore, signal: AbortSignal): Promise<{ manifest: BackupManifest; keys?: SealKeys }> {
  const key = `${artifactFolder(ref.prefix, ref)}/${MANIFEST_FILE}`;
  const text = await store.getText(key, signal);
  if (text === undefined) throw new Error(`${store.location}${key} does not exist: the backup never completed, or it was deleted`);
  const passphrase = ref.passphrase;
  const read = parseManifest(text, passphrase === undefined ? undefined : (salt) => deriveKeys(passphrase, salt));
  if (!read.ok) throw new Error(`${store.location}${key}: ${read.error}`);
  const { manifest } = read.value;
  const moved = (["namespace", "group", "backup"] as const).filter((f) => manifest[f] !== ref[f]);
  if (moved.length > 0) throw new Error(`${store.location}${key} describes ${manifest.namespace}/${manifest.group}/${manifest.backup}, not the backup at this place (${moved.join(", ")} differ): the artifact was moved or copied`);
  return read.value;
}

function sameBackup(salt: Buffer, keys: SealKeys): SealKeys {
  if (!salt.equals(keys.salt)) throw new Error("the data object's salt is not the manifest's: the two belong to different backups");
  return keys;
}

export async function restoreBackup(task: RestoreTask, store: ObjectStore): Promise<BackupManifest> {
  const deadline = AbortSignal.timeout(task.timeoutMs);
  const signal = task.signal ? AbortSignal.any([deadline, task.signal]) : deadline;
  const { manifest, keys } = await readManifest(task, store, signal);
  if (task.methods && !task.methods.accepted.includes(manifest.method)) {
    throw new Error(`${store.location}${artifactFolder(task.prefix, task)} is a backup by ${manifest.method} of a ${manifest.flavor} site: ${task.methods.why}`);
  }
  const unpacker = UNPACKERS[manifest.method];
  if ((await readdir(task.targetDir).catch(() => [])).length > 0) throw new Error(`${task.targetDir} is not empty: a restore starts from an empty folder`);
  await mkdir(task.targetDir, { recursive: true, mode: 0o750 });
  try {
    const dataKey = `${artifactFolder(task.prefix, task)}/${manifest.data.object}`;
    const data = await store.get(dataKey, signal);
    const measure = measuring();
    // The hash sees the stored bytes; the frames are authenticated before mbstream sees a byte.
    data.pipe(measure.stream);
    const plain = keys ? measure.stream.pipe(opening((salt) => sameBackup(salt, keys))) : measure.stream;
    for (const s of [data, measure.stream]) s.once("error", (err) => plain.destroy(err));
    let inputFailed = false;
    // EPIPE is the unpacker having stopped reading, not a failure of the input.
    plain.once("error", (err: NodeJS.ErrnoException) => (inputFailed = err.code !== "EPIPE"));
    await unpacker.unpack(plain, task.targetDir, signal).catch((err: unknown) => {
      // The input's own failure (the store, a frame's authentication) says why; otherwise the
      // unpacker (mbstream checks each chunk, tar each header) usually stops at a flipped byte before the hash can.
      if (inputFailed || signal.aborted) throw err;
      throw new Error(`${store.location}${dataKey} could not be unpacked, so the artifact is damaged: ${errorText(err)}`);
    });
    const got = measure.result();
    if (got.bytes !== manifest.data.bytes || got.sha256 !== manifest.data.sha256) {
      throw new Error(`${store.location}${dataKey} is ${got.bytes} bytes with SHA-256 ${got.sha256}; the manifest says ${manifest.data.bytes} bytes with ${manifest.data.sha256}: the artifact is damaged`);
    }
    const gtid = await unpacker.position(task.targetDir, signal);
    if (gtid !== manifest.position.gtid) {
      throw new Error(`the restored copy holds ${gtid ?? "no position"}, the manifest says ${manifest.position.gtid}: the artifact does not match its manifest`);
    }
    return manifest;
  } catch (err) {
    // Asked before the copy is removed: whatever failed, a full disk is what to fix first.
    const full = await diskFull(task.targetDir);
    await rm(task.targetDir, { recursive: true, force: true });
    if (full !== undefined) throw new Error(`the disk of ${task.targetDir} is full (${full}): the restored copy needs more room than the volume has; ${errorText(err)}`);
    throw deadline.aborted ? new Error(`the restore did not finish within ${task.timeoutMs / 1000}s: ${errorText(err)}`) : err;
  }
}

/** Below this much free room a failed restore is put down to the disk. */
const FULL_BELOW_BYTES = 1024 * 1024;

/** "N bytes free of M" when the file system of `dir` has (almost) no room left; undefined otherwise or when unknown. */
async function diskFull(dir: string): Promise<string | undefined> {
  const fs = await statfs(dir).catch(() => undefined);
  if (fs === undefined) return undefined;
  const free = fs.bavail * fs.bsize;
  return free < FULL_BELOW_BYTES ? `${free} bytes free of ${fs.blocks * fs.bsize}` : undefined;
}
