/**
 * The flags of the one-shot commands a backup Job's pod runs, `bloodraven backup`, `bloodraven
 * restore`, `bloodraven stage-restore`, `bloodraven load-restore`, `bloodraven verify`, `bloodraven delete-backup` and `bloodraven replay` (and those of `bloodraven
 * trigger-backup`, a schedule's run, at the end). All share the group, the store and
 * the result file; all but replay also the artifact's name. Secrets come only from files (mounted Secrets), so no value shows
 * in `ps`, `kubectl describe` or a log.
 */
import { closeSync, openSync, readdirSync } from "node:fs";
import { parse as parsePath, resolve } from "node:path";
import { isSiteName, isValidGroupName } from "../../shared/annotations.js";
import type { ConcurrencyPolicy } from "../../shared/backup/trigger.js";
import { TRIGGER_JOB_VARIABLE } from "../../shared/backup/schedules.js";
import { BACKUP_CONCURRENCY_POLICIES, DUMP_COMPRESSIONS } from "../../shared/names.js";
import { parseRfc3339Seconds } from "../../shared/rfc3339.js";
import { GtidSet, GtidSetParseError } from "../../shared/gtid/gtid-set.js";
import { formatMariadbGtids, MariadbGtidParseError, parseMariadbPosition } from "../../shared/gtid/mariadb-position.js";
import { ConfigError, duration, flagsHelp, httpOrigin, logLevel, port, readFlags, type Flag } from "../flags.js";
import type { LogLevel } from "../log.js";
import { ARCHIVE_STORAGE, JOB_STORAGE } from "../../shared/backup/store-access.js";
import { fileOnly, parseStore, secretFile, storageFlags, storageSecretsHelp, type StorageConfig, type StoreConfig } from "./storage-config.js";
import type { PointInTime } from "./point-in-time.js";
import type { SanityQuery, VerifyTask } from "./verify-backup.js";
import type { AgentSource } from "./take-backup.js";
import type { DumpSource } from "./take-dump.js";
import type { LoadTask } from "./load-restore.js";
import type { DumpCompression } from "../../shared/backup/mysql-dump.js";
import { BACKUP_DEFAULTS } from "../../shared/api/index.js";
import { MYSQLSH_SIZE } from "../../shared/api/fields.js";
import type { MysqlBackupVerificationSpec } from "../../shared/api/index.js";

export interface JobConfig {
  readonly namespace: string;
  readonly group: string;
  readonly prefix: string;
  readonly storage: StorageConfig;
  readonly passphrase?: string;
  readonly timeoutMs: number;
  /** Where the one-line JSON result goes: the container's termination message. */
  readonly resultFile: string;
  readonly logLevel: LogLevel;
}

/** A command that works on one backup artifact. */
export interface ArtifactJobConfig extends JobConfig {
  readonly backup: string;
}

export interface BackupJobConfig extends ArtifactJobConfig {
  readonly profile: string;
  /** A MariaDB site's agent, or a MySQL site's server that MySQL Shell dumps (its password read only to keep it out of the result). */
  readonly source: AgentSource | (DumpSource & { readonly password: string });
}

export interface RestoreJobConfig extends ArtifactJobConfig {
  readonly targetDir: string;
}

export interface VerifyJobConfig extends ArtifactJobConfig {
  readonly workDir: string;
  readonly pointInTime: PointInTime;
  /** The binary log archive's store: required unless pointInTime is `none`. */
  readonly archive?: StoreConfig;
  readonly sanity?: SanityQuery;
  readonly server: VerifyTask["server"];
  readonly keepOnFailure: boolean;
}

export interface StageRestoreJobConfig extends ArtifactJobConfig {
  readonly datadir: string;
  /** The group's operator account: the copy's account of that name gets this password. */
  readonly operator: { readonly user: string; readonly password: string };
  readonly id: string;
  readonly pointInTime: PointInTime;
  readonly archive?: StoreConfig;
  readonly server: { readonly mariadbd: string; readonly port: number };
  readonly workDir: string;
}

export interface LoadRestoreJobConfig extends ArtifactJobConfig {
  readonly site: string;
  /** The site's server and the operator account: its files for MySQL Shell, its values for the Job's own sessions. */
  readonly target: LoadTask["target"];
  readonly mysqlsh: string;
  readonly pointInTime: PointInTime;
  readonly archive?: StoreConfig;
  readonly workDir: string;
}

export interface ReplayJobConfig extends JobConfig {
  /** The restored backup's position, in canonical gtid_binlog_pos form. */
  readonly fromGtid: string;
  readonly until?: Date;
  readonly server: { readonly host: string; readonly port: number; readonly user: string; readonly password: string };
  readonly workDir: string;
}

const BACKUP_NAME_FLAG: Flag = { name: "backup", env: "BLOODRAVEN_BACKUP", help: "the MysqlBackup's name: the artifact's folder (required)" };

const WORK_DIR_FLAG = (what: string): Flag => ({ name: "work-dir", env: "BLOODRAVEN_WORK_DIR", help: `${what}; emptied first and removed after (required)` });

/** The flags every command shares; `backup` among them for the commands that work on one artifact. */
function commonFlags(backup: "with backup name" | "without"): Flag[] {
  return [
    { name: "namespace", env: "BLOODRAVEN_NAMESPACE", help: "the MysqlFailoverGroup's namespace (required)" },
    { name: "group", env: "BLOODRAVEN_GROUP", help: "the MysqlFailoverGroup's name (required)" },
    ...(backup === "with backup name" ? [BACKUP_NAME_FLAG] : []),
    ...storageFlags(JOB_STORAGE, "required"),
    { name: "timeout", env: "BLOODRAVEN_TIMEOUT", help: "longest the run may take (default 2h)" },
    { name: "result-file", env: "BLOODRAVEN_RESULT_FILE", help: "where the JSON result is written (default /dev/termination-log)" },
    { name: "log-level", env: "BLOODRAVEN_LOG_LEVEL", help: "debug, info, warn or error (default info)" },
  ];
}

/** The flags of a restore's point in time and its throwaway server, shared by verify and stage-restore. */
const POINT_IN_TIME_FLAG: Flag = { name: "point-in-time", env: "BLOODRAVEN_POINT_IN_TIME", help: "none (the backup alone), latest (replay everything archived) or an RFC 3339 time to replay to (default none)" };
const MARIADBD_FLAG: Flag = { name: "mariadbd", env: "BLOODRAVEN_MARIADBD", help: "the server binary (default mariadbd)" };
const MYSQLSH_FLAG = (use: string): Flag => ({ name: "mysqlsh", env: "BLOODRAVEN_MYSQLSH", help: `MySQL Shell, ${use} (default mysqlsh)` });
const SCRATCH_PORT_FLAG: Flag = { name: "mysql-port", env: "BLOODRAVEN_MYSQL_PORT", help: "the loopback port the restored server listens on (default 3306)" };

export const BACKUP_JOB_FLAGS: readonly Flag[] = [
  ...commonFlags("with backup name"),
  { name: "profile", env: "BLOODRAVEN_PROFILE", help: "the backup profile, recorded in the manifest (required)" },
  { name: "source-site", env: "BLOODRAVEN_SOURCE_SITE", help: "the site the copy is taken from (required)" },
  { name: "source-agent-url", env: "BLOODRAVEN_SOURCE_AGENT_URL", help: "a MariaDB site: its agent, which streams mariadb-backup's copy, e.g. http://mysql-orders-pdx:8080 (this or --source-host)" },
  { name: "source-host", env: "BLOODRAVEN_SOURCE_HOST", help: "a MySQL site: its server, which MySQL Shell dumps (this or --source-agent-url)" },
  { name: "source-port", env: "BLOODRAVEN_SOURCE_PORT", help: "that server's port (default 3306)" },
  MYSQLSH_FLAG("with --source-host"),
  { name: "dump-threads", env: "BLOODRAVEN_DUMP_THREADS", help: `MySQL Shell's dump threads (default ${BACKUP_DEFAULTS.dump.threads})` },
  { name: "dump-bytes-per-chunk", env: "BLOODRAVEN_DUMP_BYTES_PER_CHUNK", help: `the size of its data chunks, digits and k, M or G (default ${BACKUP_DEFAULTS.dump.bytesPerChunk})` },
  { name: "dump-compression", env: "BLOODRAVEN_DUMP_COMPRESSION", help: `${DUMP_COMPRESSIONS.join(", ")} (default ${BACKUP_DEFAULTS.dump.compression})` },
  { name: "work-dir", env: "BLOODRAVEN_WORK_DIR", help: "with --source-host: where the dump's finished files wait for the store; emptied first and removed after (required with it)" },
];

export const RESTORE_JOB_FLAGS: readonly Flag[] = [...commonFlags("with backup name"), { name: "target-dir", env: "BLOODRAVEN_TARGET_DIR", help: "the folder the prepared copy is written to; absent or empty (required)" }];

export const DELETE_JOB_FLAGS: readonly Flag[] = commonFlags("with backup name");

export const REPLAY_JOB_FLAGS: readonly Flag[] = [
  ...commonFlags("without"),
  { name: "from-gtid", env: "BLOODRAVEN_FROM_GTID", help: "the restored backup's GTID position, e.g. 0-1-42 (required)" },
  { name: "until", env: "BLOODRAVEN_UNTIL", help: "replay the transactions stamped before this RFC 3339 time, whole seconds, e.g. 2026-12-04T02:00:00Z (default: everything archived)" },
  { name: "mysql-host", env: "BLOODRAVEN_MYSQL_HOST", help: "the server started on the restored backup (default 127.0.0.1)" },
  { name: "mysql-port", env: "BLOODRAVEN_MYSQL_PORT", help: "its port (default 3306)" },
  { name: "mysql-user", env: "BLOODRAVEN_MYSQL_USER", help: "an account that may set GTIDs: SUPER or BINLOG REPLAY (required)" },
  WORK_DIR_FLAG("where the archived files are downloaded"),
];

export const VERIFY_JOB_FLAGS: readonly Flag[] = [
  ...commonFlags("with backup name"),
  ...storageFlags(ARCHIVE_STORAGE, "optional"),
  WORK_DIR_FLAG("where the backup is restored and its server runs"),
  POINT_IN_TIME_FLAG,
  { name: "sanity-query", env: "BLOODRAVEN_SANITY_QUERY", help: "a SELECT of one count run on the restored server, e.g. SELECT COUNT(*) FROM shop.orders (default none)" },
  { name: "min-rows", env: "BLOODRAVEN_MIN_ROWS", help: "the least count the sanity query may return (default 0)" },
  { name: "query-timeout", env: "BLOODRAVEN_QUERY_TIMEOUT", help: "longest the sanity query may run (default 60s)" },
  MARIADBD_FLAG,
  { name: "mysqld", env: "BLOODRAVEN_MYSQLD", help: "the MySQL server binary, which a MySQL site's dump is loaded into (default mysqld)" },
  MYSQLSH_FLAG("which loads a MySQL site's dump"),
  SCRATCH_PORT_FLAG,
  { name: "keep-on-failure", boolean: true, help: "leave the work folder (the restored copy, the server's error log) in place when the verification fails" },
];

export const STAGE_RESTORE_JOB_FLAGS: readonly Flag[] = [
  ...commonFlags("with backup name"),
  ...storageFlags(ARCHIVE_STORAGE, "optional"),
  { name: "datadir", env: "BLOODRAVEN_DATADIR", help: "the site's datadir; the copy is staged beside it as <datadir>.clone, which the server's next start swaps in (required)" },
  { name: "restore-id", env: "BLOODRAVEN_RESTORE_ID", help: "names the staged copy in its manifest, e.g. the group's restore (required)" },
  POINT_IN_TIME_FLAG,
  MARIADBD_FLAG,
  SCRATCH_PORT_FLAG,
  WORK_DIR_FLAG("where the replay's server keeps its files"),
];

export const LOAD_RESTORE_JOB_FLAGS: readonly Flag[] = [
  ...commonFlags("with backup name"),
  ...storageFlags(ARCHIVE_STORAGE, "optional"),
  { name: "site", env: "BLOODRAVEN_SITE", help: "the site restored, named in messages (required)" },
  { name: "target-host", env: "BLOODRAVEN_TARGET_HOST", help: "the site's server, fenced, which the dump is loaded into: everything of its own is dropped first (required)" },
  { name: "target-port", env: "BLOODRAVEN_TARGET_PORT", help: "its port (default 3306)" },
  POINT_IN_TIME_FLAG,
  MYSQLSH_FLAG("which loads the dump"),
  WORK_DIR_FLAG("where the dump is restored before the load, and the archived files downloaded"),
];

const AGENT_TOKEN = "BLOODRAVEN_AGENT_TOKEN";
const MYSQL_PASSWORD = "BLOODRAVEN_MYSQL_PASSWORD";
const OPERATOR_USER = "BLOODRAVEN_OPERATOR_USER";
const OPERATOR_PASSWORD = "BLOODRAVEN_OPERATOR_PASSWORD";

/** The flag list, then the secret files: the store's and `extra` ([variable, meaning] pairs). */
function jobHelp(flags: readonly Flag[], ...extra: (readonly [string, string])[]): string {
  return `${flagsHelp(flags)}

Secrets, as files only (environment variables naming them; never a value):
${[storageSecretsHelp(JOB_STORAGE), ...extra.map(([variable, meaning]) => `  ${`${variable}_FILE`.padEnd(38)} ${meaning}`)].join("\n")}`;
}

export const backupJobFlagsHelp = (): string =>
  jobHelp(
    BACKUP_JOB_FLAGS,
    [AGENT_TOKEN, "the token the agents' clone endpoints require (required with --source-agent-url)"],
    [OPERATOR_USER, "the account MySQL Shell dumps with (required with --source-host)"],
    [OPERATOR_PASSWORD, "its password (required with --source-host)"],
  );
export const restoreJobFlagsHelp = (): string => jobHelp(RESTORE_JOB_FLAGS);
export const stageRestoreJobFlagsHelp = (): string =>
  `${jobHelp(STAGE_RESTORE_JOB_FLAGS, [OPERATOR_USER, "the group's operator account name (required)"], [OPERATOR_PASSWORD, "its password, which the copy's account takes (required)"])}\n${storageSecretsHelp(ARCHIVE_STORAGE)}`;
export const loadRestoreJobFlagsHelp = (): string =>
  `${jobHelp(LOAD_RESTORE_JOB_FLAGS, [OPERATOR_USER, "the group's operator account, which empties and loads the server (required)"], [OPERATOR_PASSWORD, "its password (required)"])}\n${storageSecretsHelp(ARCHIVE_STORAGE)}`;
export const deleteJobFlagsHelp = (): string => jobHelp(DELETE_JOB_FLAGS);
export const verifyJobFlagsHelp = (): string => `${jobHelp(VERIFY_JOB_FLAGS)}\n${storageSecretsHelp(ARCHIVE_STORAGE)}`;
export const replayJobFlagsHelp = (): string => jobHelp(REPLAY_JOB_FLAGS, [MYSQL_PASSWORD, "the --mysql-user's password (required; a trailing newline is dropped)"]);

type FlagValue = (name: string) => string | undefined;

function required(flag: FlagValue, name: string): string {
  const value = flag(name);
  if (value === undefined || value === "") throw new ConfigError(`--${name} is required`);
  return value;
}

/** The names become path segments in the store: Kubernetes' own rules keep them from leaving the folder. */
function objectName(flag: FlagValue, name: string, valid: (v: string) => boolean, rule: string): string {
  const value = required(flag, name);
  if (!valid(value)) throw new ConfigError(`--${name} must be ${rule}, got ${JSON.stringify(value)}`);
  return value;
}

/** Kubernetes reads the termination message only from a file it can open: a typo fails here, not after hours of copying. */
function writableFile(name: string, file: string): string {
  try {
    closeSync(openSync(file, "a"));
  } catch (err) {
    throw new ConfigError(`--${name}: cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return file;
}

/** The flags every command shares; `flags` is the command's full list. Flags win over environment variables. */
function parseJob(flags: readonly Flag[], argv: string[], env: NodeJS.ProcessEnv): { config: JobConfig; flag: FlagValue; set: (name: string) => boolean } {
  const { value: flag, set } = readFlags(flags, argv, env);
  const store = parseStore(flag, env, JOB_STORAGE);
  if (!store) throw new ConfigError("--storage is required");
  const config: JobConfig = {
    namespace: objectName(flag, "namespace", isSiteName, "a namespace name (a DNS label)"),
    group: objectName(flag, "group", isValidGroupName, "a Kubernetes object name"),
    ...store,
    timeoutMs: duration("timeout", flag("timeout") || "2h"),
    resultFile: writableFile("result-file", flag("result-file") || "/dev/termination-log"),
    logLevel: logLevel(flag("log-level") || undefined),
  };
  return { config, flag, set };
}

/** parseJob for a command that works on one artifact, named by `--backup`. */
function parseArtifactJob(flags: readonly Flag[], argv: string[], env: NodeJS.ProcessEnv): { config: ArtifactJobConfig; flag: FlagValue; set: (name: string) => boolean } {
  const { config, flag, set } = parseJob(flags, argv, env);
  return { config: { ...config, backup: objectName(flag, "backup", isValidGroupName, "a Kubernetes object name") }, flag, set };
}

/** A secret the command cannot run without, from the file `<variable>_FILE` names. */
function requiredSecret(env: NodeJS.ProcessEnv, variable: string, what: string, clean: (text: string) => string): { file: string; value: string } {
  const file = fileOnly(env, variable);
  if (file === undefined) throw new ConfigError(`${variable}_FILE is required: the file holding ${what} (a mounted Secret)`);
  return { file, value: secretFile(`${variable}_FILE`, file, clean) };
}

export function parseBackupJobConfig(argv: string[], env: NodeJS.ProcessEnv): BackupJobConfig {
  const { config, flag } = parseArtifactJob(BACKUP_JOB_FLAGS, argv, env);
  const site = objectName(flag, "source-site", isSiteName, "a site name (a DNS label)");
  const agentUrl = flag("source-agent-url") || undefined;
  const host = flag("source-host") || undefined;
  if ((agentUrl === undefined) === (host === undefined)) throw new ConfigError("give exactly one of --source-agent-url (a MariaDB site's agent) and --source-host (a MySQL site's server)");
  const dumpOnly = ["source-port", "mysqlsh", "dump-threads", "dump-bytes-per-chunk", "dump-compression", "work-dir"].filter((n) => flag(n) !== undefined && flag(n) !== "");
  if (agentUrl !== undefined) {
    if (dumpOnly.length > 0) throw new ConfigError(`--${dumpOnly[0]} is for a MySQL site's dump (--source-host); a MariaDB site's agent streams its own copy`);
    const { file: tokenFile, value: token } = requiredSecret(env, AGENT_TOKEN, "the token the agents' clone endpoints require", (t) => t.trim());
    if (token.length < 16) throw new ConfigError(`${AGENT_TOKEN}_FILE: the token in ${tokenFile} is shorter than 16 characters; the agents refuse it`);
    return { ...config, profile: required(flag, "profile"), source: { site, agentUrl: httpOrigin("source-agent-url", agentUrl), token } };
  }
  return { ...config, profile: required(flag, "profile"), source: { site, host: host ?? "", ...dumpSettings(flag, env) } };
}

/** The account MySQL Shell reads from its files (checked here: a missing Secret fails before the dump starts), and how it dumps. */
function dumpSettings(flag: FlagValue, env: NodeJS.ProcessEnv): Omit<DumpSource, "site" | "host"> & { password: string } {
  const user = requiredSecret(env, OPERATOR_USER, "the account MySQL Shell dumps with", chomp);
  const password = requiredSecret(env, OPERATOR_PASSWORD, "its password", chomp);
  const threads = Number(flag("dump-threads") || BACKUP_DEFAULTS.dump.threads);
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new ConfigError(`--dump-threads must be a whole number from 1 to 64, got ${JSON.stringify(flag("dump-threads"))}`);
  const bytesPerChunk = flag("dump-bytes-per-chunk") || BACKUP_DEFAULTS.dump.bytesPerChunk;
  if (!new RegExp(MYSQLSH_SIZE).test(bytesPerChunk)) throw new ConfigError(`--dump-bytes-per-chunk must be digits and an optional k, M or G, e.g. 64M, got ${JSON.stringify(bytesPerChunk)}`);
  const compression = flag("dump-compression") || BACKUP_DEFAULTS.dump.compression;
  if (!(DUMP_COMPRESSIONS as readonly string[]).includes(compression)) throw new ConfigError(`--dump-compression must be one of ${DUMP_COMPRESSIONS.join(", ")}, got ${JSON.stringify(compression)}`);
  return {
    port: port("source-port", flag("source-port") || "3306"),
    userFile: user.file,
    passwordFile: password.file,
    password: password.value,
    settings: { threads, bytesPerChunk, compression: compression as DumpCompression },
    workDir: workFolder(flag),
    mysqlsh: flag("mysqlsh") || "mysqlsh",
  };
}

export function parseDeleteJobConfig(argv: string[], env: NodeJS.ProcessEnv): ArtifactJobConfig {
  return parseArtifactJob(DELETE_JOB_FLAGS, argv, env).config;
}

export function parseRestoreJobConfig(argv: string[], env: NodeJS.ProcessEnv): RestoreJobConfig {
  const { config, flag } = parseArtifactJob(RESTORE_JOB_FLAGS, argv, env);
  const targetDir = required(flag, "target-dir");
  let entries: string[] = [];
  try {
    entries = readdirSync(targetDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") throw new ConfigError(`--target-dir: ${targetDir} is not a readable folder (${code ?? String(err)})`);
  }
  if (entries.length > 0) throw new ConfigError(`--target-dir: ${targetDir} is not empty; give an absent or empty folder`);
  return { ...config, targetDir };
}

/** A MariaDB position (gtid_binlog_pos form) or a MySQL GTID set, in its canonical text. */
function gtidPosition(name: string, value: string): string {
  let canonical: string;
  try {
    canonical = formatMariadbGtids(parseMariadbPosition(value));
  } catch (mariadb) {
    if (!(mariadb instanceof MariadbGtidParseError)) throw mariadb;
    try {
      canonical = GtidSet.parse(value).toString();
    } catch (mysql) {
      if (!(mysql instanceof GtidSetParseError)) throw mysql;
      throw new ConfigError(`--${name} is neither a MariaDB position (${mariadb.message}) nor a MySQL GTID set (${mysql.message})`);
    }
  }
  if (canonical === "") throw new ConfigError(`--${name} must name at least one GTID, e.g. 0-1-42 (MariaDB) or 3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42 (MySQL)`);
  return canonical;
}

/** An RFC 3339 time in whole seconds (shared/rfc3339.ts), the flag named when it is not one. */
function rfc3339(name: string, value: string): Date {
  const form = "an RFC 3339 time such as 2026-12-04T02:00:00Z or 2026-12-04T03:00:00+01:00";
  const parsed = parseRfc3339Seconds(value);
  if (parsed.ok) return parsed.date;
  switch (parsed.reason) {
    case "malformed":
      throw new ConfigError(`--${name} must be ${form}, got ${JSON.stringify(value)}`);
    case "fractional":
      throw new ConfigError(`--${name}: ${JSON.stringify(value)} has fractional seconds; binary log times are whole seconds, give ${form}`);
    case "no-such-time":
      throw new ConfigError(`--${name}: ${JSON.stringify(value)} is no such time; give ${form}`);
  }
}

/** A Secret's file as Kubernetes users write them: one trailing newline is not part of the value. */
const chomp = (t: string): string => t.replace(/\r?\n$/, "");

/** The value goes into the client's option file, one setting a line: a line break would start another. */
function oneLine(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new ConfigError(`${name} must not contain a line break`);
  return value;
}

/** The folder is emptied: a slip that names the filesystem's root must not get that far. */
function workFolder(flag: FlagValue): string {
  const workDir = required(flag, "work-dir");
  if (parsePath(resolve(workDir)).root === resolve(workDir)) throw new ConfigError(`--work-dir: ${workDir} is a filesystem root; give a folder of its own, it is emptied`);
  return workDir;
}

export function parseVerifyJobConfig(argv: string[], env: NodeJS.ProcessEnv): VerifyJobConfig {
  const { config, flag, set } = parseArtifactJob(VERIFY_JOB_FLAGS, argv, env);
  const { pointInTime, archive, server } = restoreOnServer(flag, env);
  const query = flag("sanity-query");
  const minRowsText = flag("min-rows");
  if (minRowsText !== undefined && !query) throw new ConfigError("--min-rows applies to the sanity query: give --sanity-query too");
  if (minRowsText !== undefined && !/^\d{1,15}$/.test(minRowsText)) throw new ConfigError(`--min-rows must be a whole number of at least 0, got ${JSON.stringify(minRowsText)}`);
  return {
    ...config,
    workDir: workFolder(flag),
    pointInTime,
    ...(archive ? { archive } : {}),
    ...(query ? { sanity: { query, minRows: Number(minRowsText ?? 0), timeoutMs: duration("query-timeout", flag("query-timeout") || "60s") } } : {}),
    server: { ...server, mysqld: flag("mysqld") || "mysqld", mysqlsh: flag("mysqlsh") || "mysqlsh" },
    keepOnFailure: set("keep-on-failure"),
  };
}

/** --point-in-time, the archive's store it needs (absent for none) and the throwaway server's flags. */
function restoreOnServer(flag: FlagValue, env: NodeJS.ProcessEnv) {
  const when = flag("point-in-time") || "none";
  const pointInTime: PointInTime = when === "none" || when === "latest" ? when : rfc3339("point-in-time", when);
  const archive = parseStore(flag, env, ARCHIVE_STORAGE);
  if (pointInTime !== "none" && !archive) throw new ConfigError(`--point-in-time=${when} replays the binary log archive: give its store with --${ARCHIVE_STORAGE.flagPrefix}storage and the other --${ARCHIVE_STORAGE.flagPrefix}* flags`);
  const server = { mariadbd: flag("mariadbd") || "mariadbd", port: port("mysql-port", flag("mysql-port") || "3306") };
  return { pointInTime, ...(archive && pointInTime !== "none" ? { archive } : {}), server };
}

export function parseStageRestoreJobConfig(argv: string[], env: NodeJS.ProcessEnv): StageRestoreJobConfig {
  const { config, flag } = parseArtifactJob(STAGE_RESTORE_JOB_FLAGS, argv, env);
  const datadir = required(flag, "datadir").replace(/(.)\/+$/, "$1");
  if (parsePath(resolve(datadir)).root === resolve(datadir)) throw new ConfigError(`--datadir: ${datadir} is a filesystem root; give the site's datadir`);
  const id = required(flag, "restore-id");
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(id)) throw new ConfigError(`--restore-id must be lowercase letters, digits and '-', at most 63, got ${JSON.stringify(id)}`);
  const user = oneLine(`${OPERATOR_USER}_FILE`, requiredSecret(env, OPERATOR_USER, "the group's operator account name", chomp).value);
  const password = oneLine(`${OPERATOR_PASSWORD}_FILE`, requiredSecret(env, OPERATOR_PASSWORD, "the operator account's password", chomp).value);
  return { ...config, ...restoreOnServer(flag, env), datadir, id, workDir: workFolder(flag), operator: { user, password } };
}

export function parseLoadRestoreJobConfig(argv: string[], env: NodeJS.ProcessEnv): LoadRestoreJobConfig {
  const { config, flag } = parseArtifactJob(LOAD_RESTORE_JOB_FLAGS, argv, env);
  const { pointInTime, archive } = restoreOnServer(flag, env);
  const user = requiredSecret(env, OPERATOR_USER, "the group's operator account name", chomp);
  const password = requiredSecret(env, OPERATOR_PASSWORD, "the operator account's password", chomp);
  return {
    ...config,
    site: objectName(flag, "site", isSiteName, "a site name (a DNS label)"),
    target: {
      host: oneLine("--target-host", required(flag, "target-host")),
      port: port("target-port", flag("target-port") || "3306"),
      // A replay hands them to the client in an option file, one setting a line.
      user: oneLine(`${OPERATOR_USER}_FILE`, user.value),
      password: oneLine(`${OPERATOR_PASSWORD}_FILE`, password.value),
      userFile: user.file,
      passwordFile: password.file,
    },
    mysqlsh: flag("mysqlsh") || "mysqlsh",
    pointInTime,
    ...(archive ? { archive } : {}),
    workDir: workFolder(flag),
  };
}

export function parseReplayJobConfig(argv: string[], env: NodeJS.ProcessEnv): ReplayJobConfig {
  const { config, flag } = parseJob(REPLAY_JOB_FLAGS, argv, env);
  const fromGtid = gtidPosition("from-gtid", required(flag, "from-gtid"));
  const untilText = flag("until");
  const workDir = workFolder(flag);
  const { value: password } = requiredSecret(env, MYSQL_PASSWORD, "the --mysql-user's password", chomp);
  return {
    ...config,
    fromGtid,
    ...(untilText ? { until: rfc3339("until", untilText) } : {}),
    server: {
      host: oneLine("--mysql-host", flag("mysql-host") || "127.0.0.1"),
      port: port("mysql-port", flag("mysql-port") || "3306"),
      user: oneLine("--mysql-user", required(flag, "mysql-user")),
      password: oneLine(`${MYSQL_PASSWORD}_FILE`, password),
    },
    workDir,
  };
}

export interface TriggerConfig {
  readonly namespace: string;
  readonly group: string;
  readonly schedule: string;
  readonly profile: string;
  readonly concurrencyPolicy: ConcurrencyPolicy;
  /** The run's Job, whose name the run's MysqlBackup takes. */
  readonly job: string;
  readonly logLevel: LogLevel;
}

export const TRIGGER_FLAGS: readonly Flag[] = [
  { name: "namespace", env: "BLOODRAVEN_NAMESPACE", help: "the MysqlFailoverGroup's namespace (required)" },
  { name: "group", env: "BLOODRAVEN_GROUP", help: "the MysqlFailoverGroup's name (required)" },
  { name: "schedule", env: "BLOODRAVEN_SCHEDULE", help: "the schedule's name in spec.backup.schedules (required)" },
  { name: "profile", env: "BLOODRAVEN_PROFILE", help: "the profile the backup uses (required)" },
  { name: "concurrency-policy", env: "BLOODRAVEN_CONCURRENCY_POLICY", help: `what to do while an earlier backup of the schedule runs: ${BACKUP_CONCURRENCY_POLICIES.join(", ")} (default Forbid)` },
  { name: "log-level", env: "BLOODRAVEN_LOG_LEVEL", help: "debug, info, warn or error (default info)" },
];

export interface VerificationTriggerConfig {
  readonly namespace: string;
  readonly group: string;
  readonly profile: string;
  /** The schedule's settings, copied onto each run's MysqlBackupVerification. */
  readonly verification: Pick<MysqlBackupVerificationSpec, "pointInTime" | "sanityCheck" | "keepOnFailure" | "image" | "timeout">;
  readonly job: string;
  readonly logLevel: LogLevel;
}

export const VERIFICATION_TRIGGER_FLAGS: readonly Flag[] = [
  ...TRIGGER_FLAGS.filter((f) => f.name === "namespace" || f.name === "group" || f.name === "log-level"),
  { name: "profile", env: "BLOODRAVEN_PROFILE", help: "the profile whose newest Succeeded backup is verified (required)" },
  { name: "verification", env: "BLOODRAVEN_VERIFICATION", help: "the schedule's settings as JSON: pointInTime, sanityCheck, keepOnFailure, image, timeout (required)" },
];

export const verificationTriggerFlagsHelp = (): string => `${flagsHelp(VERIFICATION_TRIGGER_FLAGS)}\n  ${TRIGGER_JOB_VARIABLE}: the run's Job name, which the verification takes (required)`;

const VERIFICATION_FIELDS = ["pointInTime", "sanityCheck", "keepOnFailure", "image", "timeout"];

export function parseVerificationTriggerConfig(argv: string[], env: NodeJS.ProcessEnv): VerificationTriggerConfig {
  const { value: flag } = readFlags(VERIFICATION_TRIGGER_FLAGS, argv, env);
  let verification: unknown;
  try {
    verification = JSON.parse(required(flag, "verification"));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`--verification must be a JSON object of the schedule's settings: ${(err as Error).message}`);
  }
  if (typeof verification !== "object" || verification === null || Array.isArray(verification)) throw new ConfigError("--verification must be a JSON object of the schedule's settings");
  const unknown = Object.keys(verification).filter((k) => !VERIFICATION_FIELDS.includes(k));
  if (unknown.length > 0) throw new ConfigError(`--verification: ${unknown.join(", ")} ${unknown.length === 1 ? "is" : "are"} not a setting of a verification schedule (${VERIFICATION_FIELDS.join(", ")})`);
  return {
    namespace: objectName(flag, "namespace", isSiteName, "a namespace name (a DNS label)"),
    group: objectName(flag, "group", isValidGroupName, "a Kubernetes object name"),
    profile: objectName(flag, "profile", isSiteName, "a profile name (a DNS label)"),
    verification: verification as VerificationTriggerConfig["verification"],
    job: triggerJob(env),
    logLevel: logLevel(flag("log-level") || undefined),
  };
}

/** The run's Job name, from the downward API. */
function triggerJob(env: NodeJS.ProcessEnv): string {
  const job = env[TRIGGER_JOB_VARIABLE] ?? "";
  if (!isValidGroupName(job)) throw new ConfigError(`${TRIGGER_JOB_VARIABLE} must be the run's Job name (a Kubernetes object name), got ${JSON.stringify(job)}`);
  return job;
}

export const triggerFlagsHelp = (): string => `${flagsHelp(TRIGGER_FLAGS)}\n  ${TRIGGER_JOB_VARIABLE}: the run's Job name, which the backup takes (required; the CronJob sets it from the pod's batch.kubernetes.io/job-name label)`;

export function parseTriggerConfig(argv: string[], env: NodeJS.ProcessEnv): TriggerConfig {
  const { value: flag } = readFlags(TRIGGER_FLAGS, argv, env);
  const policy = flag("concurrency-policy") || "Forbid";
  if (!(BACKUP_CONCURRENCY_POLICIES as readonly string[]).includes(policy)) throw new ConfigError(`--concurrency-policy must be one of ${BACKUP_CONCURRENCY_POLICIES.join(", ")}, got ${JSON.stringify(policy)}`);
  const job = triggerJob(env);
  return {
    namespace: objectName(flag, "namespace", isSiteName, "a namespace name (a DNS label)"),
    group: objectName(flag, "group", isValidGroupName, "a Kubernetes object name"),
    schedule: objectName(flag, "schedule", isSiteName, "a schedule name (a DNS label)"),
    profile: objectName(flag, "profile", isSiteName, "a profile name (a DNS label)"),
    concurrencyPolicy: policy as ConcurrencyPolicy,
    job,
    logLevel: logLevel(flag("log-level") || undefined),
  };
}
