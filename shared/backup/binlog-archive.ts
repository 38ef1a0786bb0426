/**
 * The binary log archive of one site, for point-in-time recovery: the primary's agent uploads each
 * sealed binary log (every file the server lists but the last, which it still writes) and then
 * records it in the site's archive manifest, written after the file so the manifest never names a
 * file that is not whole in the store. Layout under the profile's prefix:
 * `<namespace>/<group>/binlogs/<site>/manifest.json` and `.../<site>/<file>[.sealed]`.
 */
import type { ParseResult } from "../annotations.js";
import type { BinlogSummary } from "./binlog.js";
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
}

export interface ArchiveManifest {
  readonly format: typeof ARCHIVE_FORMAT;
  readonly namespace: string;
  readonly group: string;
  readonly site: string;
  /** The manifest key's salt when the archive is encrypted (each file has its own salt too). */
  readonly encryption?: { readonly algorithm: "AES-256-GCM"; readonly kdf: "scrypt"; readonly salt: string };
  readonly files: readonly ArchivedBinlog[];
  /**
   * The newest file pruned from the archive (every retained backup held it): the server may still
   * have it and the ones before, which must not be archived again.
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

/**
 * Which of the server's binary logs (SHOW BINARY LOGS, oldest first) are sealed and not archived
 * yet: every one but the last, which the server still writes, and none up to a pruned one.
 */
export function sealedToArchive(serverLogs: readonly string[], manifest: ArchiveManifest | undefined): string[] {
  const archived = new Set(manifest?.files.map((f) => f.file));
  const pruned = manifest?.prunedThrough === undefined ? 0 : binlogNumber(manifest.prunedThrough);
  return serverLogs.slice(0, -1).filter((f) => BINLOG_FILE.test(f) && !archived.has(f) && binlogNumber(f) > pruned);
}

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
