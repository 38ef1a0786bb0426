/**
 * A backup artifact in the store: the data object and, written after it, its manifest. The
 * manifest is the commit mark: a backup whose manifest is missing never completed, whatever data
 * object lies beside it, so an upload cut off midway is never listed as a backup.
 *
 * Layout under a profile's prefix: `<namespace>/<group>/<backup>/data.xbstream[.sealed]` (a
 * MariaDB site's mariadb-backup stream) or `data.tar[.sealed]` (a MySQL site's MySQL Shell dump
 * folder, shared/backup/mysql-dump.ts), and `<namespace>/<group>/<backup>/manifest.json`.
 *
 * The manifest names the data object's size and SHA-256, so a damaged object is refused before a
 * restore starts. When the backup is encrypted, the manifest carries the key derivation's salt and
 * an HMAC over everything else in it, so a changed position or checksum is refused too.
 */
import { parseBinlogInfo } from "../agent/clone.js";
import type { ParseResult as Parsed } from "../annotations.js";
import type { SealKeys } from "./sealing.js";
import { signatureHolds, signedJson } from "./signed-json.js";

export const MANIFEST_FORMAT = 1;
export const MANIFEST_FILE = "manifest.json";
export const SEALED_SUFFIX = ".sealed";

/** How a backup was taken, the flavor of server it comes from, and its data object's name. */
export const BACKUP_METHODS = {
  "mariadb-backup": { flavor: "mariadb", dataFile: "data.xbstream" },
  "mysqlsh-dump": { flavor: "mysql", dataFile: "data.tar" },
} as const;
export type BackupMethod = keyof typeof BACKUP_METHODS;

export interface BackupPosition {
  /** MariaDB: gtid_binlog_pos form (`0-1-42`); MySQL: gtid_executed (`<uuid>:1-42,...`). */
  readonly gtid: string;
  readonly binlogFile: string;
  readonly binlogPosition: number;
}

export interface BackupManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly namespace: string;
  readonly group: string;
  readonly backup: string;
  readonly profile: string;
  readonly flavor: (typeof BACKUP_METHODS)[BackupMethod]["flavor"];
  readonly method: BackupMethod;
  readonly sourceSite: string;
  readonly startedAt: string;
  readonly completedAt: string;
  readonly position: BackupPosition;
  readonly data: { readonly object: string; readonly bytes: number; readonly sha256: string };
  readonly encryption?: { readonly algorithm: "AES-256-GCM"; readonly kdf: "scrypt"; readonly salt: string };
  /** HMAC-SHA256 of the manifest without this field (canonical JSON), when encrypted. */
  readonly signature?: string;
}

export interface ArtifactName {
  readonly namespace: string;
  readonly group: string;
  readonly backup: string;
}

/** The folder of one backup under the profile's prefix (which may be empty). */
export function artifactFolder(prefix: string, name: ArtifactName): string {
  const base = prefix.replace(/^\/+|\/+$/g, "");
  return [base, name.namespace, name.group, name.backup].filter((p) => p !== "").join("/");
}

export function dataObjectName(method: BackupMethod, encrypted: boolean): string {
  const file = BACKUP_METHODS[method].dataFile;
  return encrypted ? `${file}${SEALED_SUFFIX}` : file;
}

/** The position a mariadb-backup copy holds, from its xtrabackup_binlog_info. */
export function parsePosition(text: string): Parsed<BackupPosition> {
  const gtid = parseBinlogInfo(text);
  if (!gtid.ok) return gtid;
  const [binlogFile = "", position = ""] = text.trim().split(/\s+/);
  const binlogPosition = Number(position);
  if (binlogFile === "" || !Number.isSafeInteger(binlogPosition) || binlogPosition < 0) return { ok: false, error: `xtrabackup_binlog_info does not name a binary log file and position (${JSON.stringify(text.trim().slice(0, 200))})` };
  return { ok: true, value: { gtid: gtid.value, binlogFile, binlogPosition } };
}

/** The manifest as stored: signed when `keys` are given (an encrypted backup). */
export function manifestText(manifest: Omit<BackupManifest, "signature">, keys?: SealKeys): string {
  return signedJson(manifest, keys);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): v is string => typeof v === "string" && v !== "";
const isMethod = (v: unknown): v is BackupMethod => typeof v === "string" && Object.hasOwn(BACKUP_METHODS, v);
const count = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/**
 * Reads a stored manifest. `keysFor` derives the keys from the manifest's salt when it says the
 * backup is encrypted (undefined when no passphrase is configured: refused, naming the fix).
 */
export function parseManifest(text: string, keysFor?: (salt: Buffer) => SealKeys): Parsed<{ manifest: BackupManifest; keys?: SealKeys }> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, error: `${MANIFEST_FILE} is not JSON: the artifact is damaged` };
  }
  if (!isRecord(body)) return { ok: false, error: `${MANIFEST_FILE} is not a JSON object: the artifact is damaged` };
  if (body.format !== MANIFEST_FORMAT) return { ok: false, error: `${MANIFEST_FILE} has format ${JSON.stringify(body.format)}; this version reads format ${MANIFEST_FORMAT}: restore it with the version that wrote it` };
  const position = body.position;
  const data = body.data;
  const encryption = body.encryption;
  const missing = [
    ...["namespace", "group", "backup", "profile", "sourceSite", "startedAt", "completedAt"].filter((k) => !str(body[k])),
    ...(isMethod(body.method) ? (BACKUP_METHODS[body.method].flavor === body.flavor ? [] : ["flavor"]) : ["method"]),
    ...(isRecord(position) && str(position.gtid) && str(position.binlogFile) && count(position.binlogPosition) ? [] : ["position"]),
    ...(isRecord(data) && str(data.object) && count(data.bytes) && typeof data.sha256 === "string" && /^[0-9a-f]{64}$/.test(data.sha256) ? [] : ["data"]),
    ...(encryption === undefined || (isRecord(encryption) && encryption.algorithm === "AES-256-GCM" && encryption.kdf === "scrypt" && str(encryption.salt)) ? [] : ["encryption"]),
  ];
  if (missing.length > 0) return { ok: false, error: `${MANIFEST_FILE} lacks or has malformed: ${missing.join(", ")}; the artifact is damaged` };
  const manifest = body as unknown as BackupManifest;
  if (!manifest.encryption) {
    if (body.signature !== undefined) return { ok: false, error: `${MANIFEST_FILE} is signed but names no encryption: the artifact was tampered with` };
    return { ok: true, value: { manifest } };
  }
  if (!keysFor) return { ok: false, error: "the backup is encrypted and the profile has no encryption passphrase: set spec.backup.profiles[].encryption.passphraseSecret" };
  const keys = keysFor(Buffer.from(manifest.encryption.salt, "base64"));
  if (!signatureHolds(body, keys)) return { ok: false, error: `${MANIFEST_FILE}'s signature does not match: the manifest was changed, or the passphrase is not the one the backup was made with` };
  return { ok: true, value: { manifest, keys } };
}
