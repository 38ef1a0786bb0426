/**
 * The binary log archive of one site, for point-in-time recovery: the primary's agent uploads each
 * sealed binary log (every file the server lists but the last, which it still writes) and then
 * records it in the site's archive manifest, written after the file so the manifest never names a
 * file that is not whole in the store. Layout under the profile's prefix:
 * `<namespace>/<group>/binlogs/<site>/manifest.json` and `.../<site>/<file>[.g<generation>][.sealed]`.
 *
 * A server whose binary logs are reset (RESET MASTER: a clone or a restore onto its datadir)
 * numbers them from 1 again: its new files carry the names of files archived before, with other
 * transactions. Each such start is a generation of the site's archive; a file is archived once
 * per generation, and a replay follows one generation's files (shared/backup/replay-plan.ts).
 */
import type { ParseResult } from "../annotations.js";
import type { FlavorName } from "../topology/site-observation.js";
import type { BinlogHead, BinlogSummary } from "./binlog.js";
import type { SealKeys } from "./sealing.js";
import { signatureHolds, signedJson } from "./signed-json.js";

export const ARCHIVE_FORMAT = 1;
export const ARCHIVE_MANIFEST = "manifest.json";

export interface ArchivedBinlog extends BinlogSummary {
  /** The server's file name, e.g. mysql-bin.000007. */
  readonly file: string;
  /** The object's name in the site's folder. */
  readonly object: string;
  /** Bytes and SHA-256 of the stored object. */
  readonly bytes: number;
  readonly sha256: string;
  readonly archivedAt: string;
  /** The server's binary log generation the file belongs to; absent: 0. */
  readonly generation?: number;
}

export interface ArchiveManifest {
  readonly format: typeof ARCHIVE_FORMAT;
  readonly namespace: string;
  readonly group: string;
  readonly site: string;
  /** The server's flavor, which says how the files' GTIDs read (binlog.ts); absent: MariaDB. */
  readonly flavor?: "mysql";
  /** The manifest key's salt when the archive is encrypted (each file has its own salt too). */
  readonly encryption?: { readonly algorithm: "AES-256-GCM"; readonly kdf: "scrypt"; readonly salt: string };
  readonly files: readonly ArchivedBinlog[];
  /** The generation the server's binary logs are in now; absent: 0. */
  readonly generation?: number;
  /**
   * The newest file of the current generation pruned from the archive (every retained backup held
   * it): the server may still have it and the ones before, which must not be archived again.
   */
  readonly prunedThrough?: string;
}

export interface ArchiveSite {
  readonly namespace: string;
  readonly group: string;
  readonly site: string;
}

/** The folder that holds every site's archive of a group. */
export function archivesFolder(prefix: string, group: Omit<ArchiveSite, "site">): string {
  const base = prefix.replace(/^\/+|\/+$/g, "");
  return [base, group.namespace, group.group, "binlogs"].filter((p) => p !== "").join("/");
}

export function archiveFolder(prefix: string, site: ArchiveSite): string {
  return `${archivesFolder(prefix, site)}/${site.site}`;
}

/** MariaDB's binary log names: the basename, a dot, six or more digits. Nothing else is uploaded. */
const BINLOG_FILE = /^[A-Za-z0-9_.-]+\.[0-9]{6,}$/;

/** The number of a binary log file: mysql-bin.000042 is 42. */
export const binlogNumber = (file: string): number => Number(file.slice(file.lastIndexOf(".") + 1));

export const generationOf = (f: ArchivedBinlog): number => f.generation ?? 0;
const currentGeneration = (manifest: ArchiveManifest | undefined): number => manifest?.generation ?? 0;

/** The object a file of `generation` is stored as. */
export function archiveObject(file: string, generation: number, sealedSuffix: string | undefined): string {
  return `${file}${generation === 0 ? "" : `.g${generation}`}${sealedSuffix ?? ""}`;
}

/** The files of each generation, oldest generation first, each in its numbering order. */
export function generations(files: readonly ArchivedBinlog[]): ArchivedBinlog[][] {
  const by = new Map<number, ArchivedBinlog[]>();
  for (const f of files) by.set(generationOf(f), [...(by.get(generationOf(f)) ?? []), f]);
  return [...by.entries()].sort(([a], [b]) => a - b).map(([, fs]) => fs.sort((a, b) => binlogNumber(a.file) - binlogNumber(b.file)));
}

/**
 * Which of the server's binary logs (SHOW BINARY LOGS, oldest first) are sealed and not archived
 * in the current generation yet: every one but the last, which the server still writes, and none
 * up to a pruned one.
 */
export function sealedToArchive(serverLogs: readonly string[], manifest: ArchiveManifest | undefined): string[] {
  const generation = currentGeneration(manifest);
  const archived = new Set(manifest?.files.filter((f) => generationOf(f) === generation).map((f) => f.file));
  const pruned = manifest?.prunedThrough === undefined ? 0 : binlogNumber(manifest.prunedThrough);
  return serverLogs.slice(0, -1).filter((f) => BINLOG_FILE.test(f) && !archived.has(f) && binlogNumber(f) > pruned);
}

/**
 * The server file to read the start of, to tell whether the server's binary logs were reset:
 * its newest sealed file that the current generation archived under the same name.
 */
export function resetProbe(serverLogs: readonly string[], manifest: ArchiveManifest | undefined): string | undefined {
  const generation = currentGeneration(manifest);
  const archived = new Set(manifest?.files.filter((f) => generationOf(f) === generation).map((f) => f.file));
  return serverLogs.slice(0, -1).findLast((f) => archived.has(f));
}

/**
 * Whether the server's binary logs started again since the current generation was archived: a
 * file of an archived name begins at another state (`probe`, read from the server's file), or,
 * with no name in common, the server's newest file is numbered below what was archived or pruned.
 */
export function serverWasReset(serverLogs: readonly string[], manifest: ArchiveManifest | undefined, probe: ({ file: string } & BinlogHead) | undefined): boolean {
  if (!manifest) return false;
  const generation = currentGeneration(manifest);
  const current = manifest.files.filter((f) => generationOf(f) === generation);
  if (probe) {
    const archived = current.find((f) => f.file === probe.file);
    // The head read may end before the first transaction: its GTID is compared only when read.
    return archived?.startState !== probe.startState || (probe.firstGtid !== undefined && archived.firstGtid !== probe.firstGtid);
  }
  const newest = serverLogs.at(-1);
  const reached = Math.max(0, ...current.map((f) => binlogNumber(f.file)), manifest.prunedThrough === undefined ? 0 : binlogNumber(manifest.prunedThrough));
  return newest !== undefined && BINLOG_FILE.test(newest) && binlogNumber(newest) <= reached;
}

/** The manifest once the server's binary logs were reset: a new generation, nothing of it pruned. */
export function nextGeneration(manifest: ArchiveManifest): ArchiveManifest {
  const { prunedThrough: _pruned, ...rest } = manifest;
  return { ...rest, generation: currentGeneration(manifest) + 1 };
}

/** The flavor of the server whose binary logs the archive holds. */
export const archiveFlavor = (manifest: Pick<ArchiveManifest, "flavor">): FlavorName => manifest.flavor ?? "mariadb";

export function archiveText(manifest: ArchiveManifest, keys?: SealKeys): string {
  return signedJson(manifest, keys);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads a site's archive manifest; an encrypted one must carry a signature that holds under the keys `keysFor` derives. */
export function parseArchive(text: string, keysFor?: (salt: Buffer) => SealKeys): ParseResult<ArchiveManifest> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, error: `the archive's ${ARCHIVE_MANIFEST} is not JSON: it is damaged` };
  }
  if (!isRecord(body) || body.format !== ARCHIVE_FORMAT || !Array.isArray(body.files) || typeof body.site !== "string") {
    return { ok: false, error: `the archive's ${ARCHIVE_MANIFEST} is not a format-${ARCHIVE_FORMAT} archive manifest` };
  }
  const bad = body.files.findIndex((f) => !isRecord(f) || typeof f.file !== "string" || !BINLOG_FILE.test(f.file) || typeof f.object !== "string" || typeof f.sha256 !== "string" || typeof f.bytes !== "number");
  if (bad >= 0) return { ok: false, error: `entry ${bad} of the archive's ${ARCHIVE_MANIFEST} is malformed: it is damaged` };
  const generation = (v: unknown) => v === undefined || (typeof v === "number" && Number.isInteger(v) && v >= 0);
  if (!generation(body.generation) || body.files.some((f: Record<string, unknown>) => !generation(f.generation))) {
    return { ok: false, error: `the archive's ${ARCHIVE_MANIFEST} names a malformed generation: it is damaged` };
  }
  if (body.flavor !== undefined && body.flavor !== "mysql") return { ok: false, error: `the archive's ${ARCHIVE_MANIFEST} names the flavor ${JSON.stringify(body.flavor)}, which this operator does not know` };
  if (body.prunedThrough !== undefined && (typeof body.prunedThrough !== "string" || !BINLOG_FILE.test(body.prunedThrough))) {
    return { ok: false, error: `the archive's ${ARCHIVE_MANIFEST} names a malformed prunedThrough: it is damaged` };
  }
  const manifest = body as unknown as ArchiveManifest;
  if (!manifest.encryption) {
    if (body.signature !== undefined) return { ok: false, error: `the archive's ${ARCHIVE_MANIFEST} is signed but names no encryption: it was tampered with` };
    return { ok: true, value: manifest };
  }
  if (!keysFor) return { ok: false, error: "the archive is encrypted and no passphrase is configured for it" };
  if (!signatureHolds(body, keysFor(Buffer.from(manifest.encryption.salt, "base64")))) {
    return { ok: false, error: `the archive's ${ARCHIVE_MANIFEST} signature does not match: it was changed, or the passphrase is not the archive's` };
  }
  return { ok: true, value: manifest };
}
