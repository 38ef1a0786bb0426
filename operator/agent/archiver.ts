/**
 * The binary log archiver (point-in-time recovery): while this agent's server is writable, each
 * scan uploads every sealed binary log it has not archived yet into the site's archive folder
 * (shared/backup/binlog-archive.ts), then records it in the site's manifest. A replica's agent
 * uploads nothing; after a failover the new primary's agent archives its own logs from its next
 * scan on. Scans run every pollIntervalMs and once at start; `status()` is GET /archiver/status.
 *
 * Each file is read from the server's binary log folder, scanned as the server's flavor writes it
 * (transactions, times, whole; shared/backup/binlog.ts), sealed with a salt of its own when a
 * passphrase is set, and streamed to the store; the manifest is rewritten after it. A file that
 * fails is tried again next scan; files are archived in order, so the archive never skips one.
 *
 * Pruning, on any site's agent (each is the only writer of its site's folder): once the operator
 * names an archive floor (what every retained Succeeded backup holds, `pruneTo`), a scan drops
 * the oldest files that hold nothing after it (shared/backup/replay-plan.ts prunableFiles):
 * first from the manifest (which records the newest pruned file, `prunedThrough`, so that the
 * server's copies of them are never archived again), then from the store, with any object the
 * manifest does not name (left by an earlier prune that stopped between the two), so the manifest
 * never names a missing object.
 *
 * A server whose binary logs were reset (a clone or a restore onto its datadir) starts a new
 * generation of the archive (shared/backup/binlog-archive.ts): each scan reads the start of the
 * newest server file whose name the current generation archived, and a different start means the
 * server's files are new ones.
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  archiveFlavor,
  archiveFolder,
  ARCHIVE_MANIFEST,
  archiveObject,
  archiveText,
  generationOf,
  nextGeneration,
  parseArchive,
  resetProbe,
  sealedToArchive,
  serverWasReset,
  type ArchivedBinlog,
  type ArchiveManifest,
  type ArchiveSite,
} from "../../shared/backup/binlog-archive.js";
import { prunableFiles } from "../../shared/backup/replay-plan.js";
import type { ArchiverStatus } from "../../shared/agent/archiver-status.js";
import { BinlogScanner, type BinlogHead } from "../../shared/backup/binlog.js";
import { SEALED_SUFFIX } from "../../shared/backup/manifest.js";
import { deriveKeys, newSalt, type SealKeys } from "../../shared/backup/sealing.js";
import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { measuring, scanningAs, sealing, streamToStore } from "../backup/artifact-streams.js";
import type { ObjectStore } from "../backup/object-store.js";
import type { Logger } from "../log.js";
import { onlyRow, readString } from "../mysql/flavor.js";
import type { SiteClient } from "../mysql/site-client.js";
import type { FlavorName } from "../../shared/topology/site-observation.js";

const SQL_DEADLINE_MS = 10_000;
/** One file's upload: a sealed binary log is at most max_binlog_size (1 GiB). */
const FILE_DEADLINE_MS = 30 * 60_000;
const STORE_DEADLINE_MS = 30_000;
/** How much of a file's start is read to tell whether it is the file archived under its name. */
const HEAD_BYTES = 256 * 1024;

export interface ArchiverSettings extends ArchiveSite {
  readonly store: ObjectStore;
  readonly prefix: string;
  readonly passphrase?: string;
  readonly pollIntervalMs: number;
}

export class BinlogArchiver {
  private manifest: ArchiveManifest | undefined;
  private manifestKeys: SealKeys | undefined;
  private loaded = false;
  private state: ArchiverStatus;
  private stopped = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly folder: string;
  /** The operator's archive floor, and the one the last finished prune went to. */
  private floor: string | undefined;
  private prunedTo: string | undefined;
  /** The server's, as the last scan found it: how its files read, and what the manifest says. */
  private flavor: FlavorName = "mariadb";

  constructor(
    private readonly settings: ArchiverSettings,
    private readonly client: () => SiteClient,
    private readonly log: Logger,
  ) {
    this.folder = archiveFolder(settings.prefix, settings);
    this.state = { enabled: true, site: settings.site, location: `${settings.store.location}${this.folder}/`, primary: false, filesArchived: 0, bytesArchived: 0, uploadFailures: 0, backlogFiles: 0, filesPruned: 0 };
  }

  status(): ArchiverStatus {
    return this.state;
  }

  /** The operator's archive floor; the next scan prunes up to it. */
  pruneTo(floor: string): void {
    this.floor = floor;
  }

  start(): void {
    this.log.info(LOG_MESSAGES.archiverStarting, { location: this.state.location, intervalMs: this.settings.pollIntervalMs });
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // An upload in flight is abandoned (the object never makes it into the manifest); the next
    // start uploads the file again.
    this.abort.abort(new Error("the agent is stopping"));
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.scan();
      const ac = new AbortController();
      this.wake = () => ac.abort();
      await sleep(this.settings.pollIntervalMs, undefined, { signal: ac.signal }).catch(() => undefined);
    }
  }

  /** One scan; errors are recorded in the status and logged, and the next scan tries again. */
  async scan(): Promise<void> {
    try {
      const server = await this.client().run(
        "archiver: read_only",
        async (s) => {
          const row = onlyRow(s, await s.query("SELECT @@GLOBAL.read_only AS ro, @@GLOBAL.log_bin_basename AS base"), "read_only");
          return { readOnly: readString(s, row, "ro") === "1", base: readString(s, row, "base"), flavor: s.flavor.name };
        },
        SQL_DEADLINE_MS,
      );
      this.flavor = server.flavor;
      this.state = { ...this.state, primary: !server.readOnly, lastScanAt: new Date().toISOString() };
      if (server.readOnly) this.state = { ...this.state, backlogFiles: 0 };
      else await this.archiveSealed(server.base);
      await this.prune();
      this.state = { ...this.state, lastError: undefined };
    } catch (err) {
      this.state = { ...this.state, lastError: errorText(err) };
      this.log.warn(LOG_MESSAGES.archiverFailed, { error: errorText(err) });
    }
  }

  private async archiveSealed(base: string): Promise<void> {
    if (base === "") throw new Error("the server writes no binary log (log_bin is off): there is nothing to archive");
    const logs = await this.client().run("archiver: SHOW BINARY LOGS", async (s) => (await s.query("SHOW BINARY LOGS")).map((r) => readString(s, r, "Log_name")), SQL_DEADLINE_MS);
    await this.load();
    await this.followReset(dirname(base), logs);
    const todo = sealedToArchive(logs, this.manifest);
    this.state = { ...this.state, backlogFiles: todo.length };
    for (const [i, file] of todo.entries()) {
      if (this.stopped) return;
      await this.archive(dirname(base), file).catch((err: unknown) => {
        this.state = { ...this.state, uploadFailures: this.state.uploadFailures + 1 };
        throw err;
      });
      this.state = { ...this.state, backlogFiles: todo.length - i - 1 };
    }
  }

  /** Starts a new generation when the server's binary logs were reset since the current one. */
  private async followReset(folder: string, logs: readonly string[]): Promise<void> {
    const manifest = this.manifest;
    const probe = resetProbe(logs, manifest);
    const head = probe === undefined ? undefined : await readHead(join(folder, probe), this.flavor);
    if (!manifest || !serverWasReset(logs, manifest, probe === undefined || head === undefined ? undefined : { file: probe, ...head })) return;
    const next = nextGeneration(manifest);
    await this.settings.store.putText(`${this.folder}/${ARCHIVE_MANIFEST}`, archiveText(next, this.manifestKeys), AbortSignal.timeout(STORE_DEADLINE_MS));
    this.manifest = next;
    this.log.info(LOG_MESSAGES.archiverNewGeneration, { generation: next.generation, probe: probe ?? null, newestServerFile: logs.at(-1) });
  }

  private async prune(): Promise<void> {
    const floor = this.floor;
    if (floor === undefined || floor === this.prunedTo || this.stopped) return;
    await this.load();
    const doomed = this.manifest ? prunableFiles(this.manifest, floor) : [];
    if (doomed.length > 0) {
      const gone = new Set(doomed);
      // Only a file of the current generation can still be on the server and be taken again.
      const current = this.manifest?.generation ?? 0;
      const next = this.manifestWith((this.manifest?.files ?? []).filter((f) => !gone.has(f)), doomed.findLast((f) => generationOf(f) === current)?.file);
      await this.settings.store.putText(`${this.folder}/${ARCHIVE_MANIFEST}`, archiveText(next, this.manifestKeys), AbortSignal.timeout(STORE_DEADLINE_MS));
      this.manifest = next;
      const named = new Set([ARCHIVE_MANIFEST, ...next.files.map((f) => f.object)]);
      const stored = await this.settings.store.list(`${this.folder}/`, AbortSignal.timeout(STORE_DEADLINE_MS));
      const unnamed = stored.map((o) => o.key).filter((key) => !named.has(key.slice(this.folder.length + 1)));
      await this.settings.store.delete(unnamed, AbortSignal.timeout(STORE_DEADLINE_MS));
      this.state = {
        ...this.state,
        filesArchived: next.files.length,
        bytesArchived: next.files.reduce((n, f) => n + f.bytes, 0),
        newestTransactionTime: next.files.findLast((f) => f.lastTime !== undefined)?.lastTime,
        filesPruned: (this.state.filesPruned ?? 0) + doomed.length,
      };
      this.log.info(LOG_MESSAGES.archiverPruned, { files: doomed.length, through: doomed.at(-1)?.file, objectsDeleted: unnamed.length, floor });
    }
    this.prunedTo = floor;
    this.state = { ...this.state, prunedTo: floor };
  }

  /** The site's manifest with these files; the pruned boundary is kept unless a newer one is given. */
  private manifestWith(files: ArchivedBinlog[], prunedThrough = this.manifest?.prunedThrough): ArchiveManifest {
    const keys = this.manifestKeys;
    return {
      format: 1,
      namespace: this.settings.namespace,
      group: this.settings.group,
      site: this.settings.site,
      ...(this.flavor === "mysql" ? { flavor: "mysql" as const } : {}),
      ...(keys ? { encryption: { algorithm: "AES-256-GCM", kdf: "scrypt", salt: keys.salt.toString("base64") } as const } : {}),
      files,
      ...(this.manifest?.generation ? { generation: this.manifest.generation } : {}),
      ...(prunedThrough === undefined ? {} : { prunedThrough }),
    };
  }

  /** The site's manifest from the store, once (this agent is its only writer while it is primary). */
  private async load(): Promise<void> {
    if (this.loaded) return;
    const passphrase = this.settings.passphrase;
    const text = await this.settings.store.getText(`${this.folder}/${ARCHIVE_MANIFEST}`, AbortSignal.timeout(STORE_DEADLINE_MS));
    if (text !== undefined) {
      const read = parseArchive(text, passphrase === undefined ? undefined : (salt) => deriveKeys(passphrase, salt));
      if (!read.ok) throw new Error(`${this.state.location}${ARCHIVE_MANIFEST}: ${read.error}`);
      // One archive holds one flavor's files: their GTIDs read differently.
      if (archiveFlavor(read.value) !== this.flavor) throw new Error(`${this.state.location}${ARCHIVE_MANIFEST} holds a ${archiveFlavor(read.value)} server's binary logs, and this server runs ${this.flavor}: archive it under another prefix`);
      this.manifest = read.value;
    }
    if (passphrase !== undefined) {
      const salt = this.manifest?.encryption ? Buffer.from(this.manifest.encryption.salt, "base64") : newSalt();
      this.manifestKeys = deriveKeys(passphrase, salt);
    }
    const files = this.manifest?.files ?? [];
    this.state = { ...this.state, filesArchived: files.length, bytesArchived: files.reduce((n, f) => n + f.bytes, 0), newestTransactionTime: files.findLast((f) => f.lastTime !== undefined)?.lastTime };
    this.loaded = true;
  }

  private async archive(folder: string, file: string): Promise<void> {
    const signal = AbortSignal.any([AbortSignal.timeout(FILE_DEADLINE_MS), this.abort.signal]);
    const keys = this.settings.passphrase === undefined ? undefined : deriveKeys(this.settings.passphrase, newSalt());
    const generation = this.manifest?.generation ?? 0;
    const object = archiveObject(file, generation, keys ? SEALED_SUFFIX : undefined);
    const scan = scanningAs(new BinlogScanner(this.flavor), "binary log");
    const measure = measuring();
    const stages = keys ? [scan.stream, sealing(keys), measure.stream] : [scan.stream, measure.stream];
    await streamToStore([createReadStream(join(folder, file)), ...stages], this.settings.store, `${this.folder}/${object}`, signal, `reading ${file}`);
    const entry: ArchivedBinlog = { file, object, ...measure.result(), ...scan.summary(), archivedAt: new Date().toISOString(), ...(generation ? { generation } : {}) };
    const next = this.manifestWith([...(this.manifest?.files ?? []), entry]);
    await this.settings.store.putText(`${this.folder}/${ARCHIVE_MANIFEST}`, archiveText(next, this.manifestKeys), AbortSignal.timeout(STORE_DEADLINE_MS));
    this.manifest = next;
    this.state = {
      ...this.state,
      filesArchived: next.files.length,
      bytesArchived: this.state.bytesArchived + entry.bytes,
      lastArchivedFile: file,
      lastArchivedAt: entry.archivedAt,
      newestTransactionTime: entry.lastTime ?? this.state.newestTransactionTime,
    };
    this.log.info(LOG_MESSAGES.archiverArchived, { file, bytes: entry.bytes, transactions: entry.transactions, lastGtid: entry.lastGtid });
  }
}

/** The start of a binary log file; undefined when the file is gone (purged meanwhile) or its start is not whole yet. */
async function readHead(path: string, flavor: FlavorName): Promise<BinlogHead | undefined> {
  const scanner = new BinlogScanner(flavor);
  const file = await open(path).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  });
  if (!file) return undefined;
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await file.read(buffer, 0, HEAD_BYTES, 0);
    scanner.push(buffer.subarray(0, bytesRead));
    return scanner.head();
  } finally {
    await file.close();
  }
}
