/**
 * The flags of the one-shot commands a backup Job's pod runs, `bloodraven backup` and
 * `bloodraven restore`. Both share the artifact's name, the store and the result file; secrets
 * come only from files (mounted Secrets), so no value shows in `ps`, `kubectl describe` or a log.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isSiteName, isValidGroupName } from "../../shared/annotations.js";
import { ConfigError, duration, flagsHelp, logLevel, readFlags, type Flag } from "../flags.js";
import type { LogLevel } from "../log.js";
import type { S3Settings } from "./object-store.js";

export type StorageConfig = ({ readonly kind: "s3" } & Omit<S3Settings, "limits">) | { readonly kind: "volume"; readonly path: string };

export interface JobConfig {
  readonly namespace: string;
  readonly group: string;
  readonly backup: string;
  readonly prefix: string;
  readonly storage: StorageConfig;
  readonly passphrase?: string;
  readonly timeoutMs: number;
  /** Where the one-line JSON result goes: the container's termination message. */
  readonly resultFile: string;
  readonly logLevel: LogLevel;
}

export interface BackupJobConfig extends JobConfig {
  readonly profile: string;
  readonly source: { readonly site: string; readonly agentUrl: string; readonly token: string };
}

export interface RestoreJobConfig extends JobConfig {
  readonly targetDir: string;
}

const COMMON_FLAGS: readonly Flag[] = [
  { name: "namespace", env: "BLOODRAVEN_NAMESPACE", help: "the MysqlFailoverGroup's namespace (required)" },
  { name: "group", env: "BLOODRAVEN_GROUP", help: "the MysqlFailoverGroup's name (required)" },
  { name: "backup", env: "BLOODRAVEN_BACKUP", help: "the MysqlBackup's name: the artifact's folder (required)" },
  { name: "prefix", env: "BLOODRAVEN_PREFIX", help: "the profile's folder in the store (default none)" },
  { name: "storage", env: "BLOODRAVEN_STORAGE", help: "s3 or volume (required)" },
  { name: "s3-bucket", env: "BLOODRAVEN_S3_BUCKET", help: "the bucket (required for s3)" },
  { name: "s3-region", env: "BLOODRAVEN_S3_REGION", help: "its region (default us-east-1)" },
  { name: "s3-endpoint", env: "BLOODRAVEN_S3_ENDPOINT", help: "an S3-compatible store's URL (default AWS)" },
  { name: "volume-path", env: "BLOODRAVEN_VOLUME_PATH", help: "where the backup volume is mounted (required for volume)" },
  { name: "timeout", env: "BLOODRAVEN_TIMEOUT", help: "longest the run may take (default 2h)" },
  { name: "result-file", env: "BLOODRAVEN_RESULT_FILE", help: "where the JSON result is written (default /dev/termination-log)" },
  { name: "log-level", env: "BLOODRAVEN_LOG_LEVEL", help: "debug, info, warn or error (default info)" },
];

export const BACKUP_JOB_FLAGS: readonly Flag[] = [
  ...COMMON_FLAGS,
  { name: "profile", env: "BLOODRAVEN_PROFILE", help: "the backup profile, recorded in the manifest (required)" },
  { name: "source-site", env: "BLOODRAVEN_SOURCE_SITE", help: "the site the copy is taken from (required)" },
  { name: "source-agent-url", env: "BLOODRAVEN_SOURCE_AGENT_URL", help: "that site's agent, e.g. http://mysql-orders-pdx:8080 (required)" },
];

export const RESTORE_JOB_FLAGS: readonly Flag[] = [...COMMON_FLAGS, { name: "target-dir", env: "BLOODRAVEN_TARGET_DIR", help: "the folder the prepared copy is written to; absent or empty (required)" }];

const SECRET_FILES = `Secrets, as files only (environment variables naming them; never a value):
  BLOODRAVEN_S3_CREDENTIALS_DIR      a folder with the files AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
                                     and optionally AWS_SESSION_TOKEN (required for s3)
  BLOODRAVEN_BACKUP_PASSPHRASE_FILE  the encryption passphrase (optional; a trailing newline is dropped)`;

export function backupJobFlagsHelp(): string {
  return `${flagsHelp(BACKUP_JOB_FLAGS)}

${SECRET_FILES}
  BLOODRAVEN_AGENT_TOKEN_FILE        the token the agents' clone endpoints require (required)`;
}

export function restoreJobFlagsHelp(): string {
  return `${flagsHelp(RESTORE_JOB_FLAGS)}

${SECRET_FILES}`;
}

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

function httpUrl(name: string, value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // reported below with the form to give
  }
  if (url?.protocol !== "http:" && url?.protocol !== "https:") throw new ConfigError(`--${name}: ${JSON.stringify(value)} is not an http(s) URL; give http(s)://host:port`);
  return url.origin;
}

/** Reads a secret from `file`, named by `variable` in messages; a value with nothing in it is refused. */
function secretFile(variable: string, file: string, clean: (text: string) => string): string {
  let text: string;
  try {
    text = clean(readFileSync(file, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(`${variable}: cannot read ${file} (${code}); mount the Secret there`);
  }
  if (text === "") throw new ConfigError(`${variable}: ${file} is empty; put the secret in it`);
  return text;
}

/** Secrets given as values would show in the pod spec; the file variant is the only way in. */
function fileOnly(env: NodeJS.ProcessEnv, variable: string): string | undefined {
  if (env[variable] !== undefined) throw new ConfigError(`${variable} is not read: give the secret as a file, ${variable}_FILE`);
  const file = env[`${variable}_FILE`];
  return file === undefined || file === "" ? undefined : file;
}

const dropNewline = (text: string): string => text.replace(/\r?\n$/, "");

function s3Credentials(env: NodeJS.ProcessEnv): S3Settings["credentials"] {
  const dir = env.BLOODRAVEN_S3_CREDENTIALS_DIR;
  if (dir === undefined || dir === "") throw new ConfigError("--storage=s3 needs BLOODRAVEN_S3_CREDENTIALS_DIR: a folder with the files AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (a mounted Secret)");
  const read = (name: string): string => secretFile(`BLOODRAVEN_S3_CREDENTIALS_DIR/${name}`, join(dir, name), (t) => t.trim());
  const credentials = { accessKeyId: read("AWS_ACCESS_KEY_ID"), secretAccessKey: read("AWS_SECRET_ACCESS_KEY") };
  // Temporary credentials only: long-lived keys come without one.
  return existsSync(join(dir, "AWS_SESSION_TOKEN")) ? { ...credentials, sessionToken: read("AWS_SESSION_TOKEN") } : credentials;
}

function storage(flag: FlagValue, env: NodeJS.ProcessEnv): StorageConfig {
  const kind = required(flag, "storage");
  if (kind === "volume") return { kind, path: required(flag, "volume-path") };
  if (kind !== "s3") throw new ConfigError(`--storage must be s3 or volume, got ${JSON.stringify(kind)}`);
  const endpoint = flag("s3-endpoint");
  return {
    kind,
    bucket: required(flag, "s3-bucket"),
    region: flag("s3-region") || "us-east-1",
    ...(endpoint ? { endpoint: httpUrl("s3-endpoint", endpoint) } : {}),
    credentials: s3Credentials(env),
  };
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

/** The flags both commands share; `flags` is the command's full list. Flags win over environment variables. */
function parseJob(flags: readonly Flag[], argv: string[], env: NodeJS.ProcessEnv): { config: JobConfig; flag: FlagValue } {
  const { value: flag } = readFlags(flags, argv, env);
  const passphraseFile = fileOnly(env, "BLOODRAVEN_BACKUP_PASSPHRASE");
  const config: JobConfig = {
    namespace: objectName(flag, "namespace", isSiteName, "a namespace name (a DNS label)"),
    group: objectName(flag, "group", isValidGroupName, "a Kubernetes object name"),
    backup: objectName(flag, "backup", isValidGroupName, "a Kubernetes object name"),
    prefix: flag("prefix") ?? "",
    storage: storage(flag, env),
    ...(passphraseFile ? { passphrase: secretFile("BLOODRAVEN_BACKUP_PASSPHRASE_FILE", passphraseFile, dropNewline) } : {}),
    timeoutMs: duration("timeout", flag("timeout") || "2h"),
    resultFile: writableFile("result-file", flag("result-file") || "/dev/termination-log"),
    logLevel: logLevel(flag("log-level") || undefined),
  };
  if (config.prefix.split("/").some((p) => p === "." || p === "..")) throw new ConfigError(`--prefix must not contain . or .. segments, got ${JSON.stringify(config.prefix)}`);
  return { config, flag };
}

export function parseBackupJobConfig(argv: string[], env: NodeJS.ProcessEnv): BackupJobConfig {
  const { config, flag } = parseJob(BACKUP_JOB_FLAGS, argv, env);
  const tokenFile = fileOnly(env, "BLOODRAVEN_AGENT_TOKEN");
  if (tokenFile === undefined) throw new ConfigError("BLOODRAVEN_AGENT_TOKEN_FILE is required: the file holding the token the agents' clone endpoints require (a mounted Secret)");
  const token = secretFile("BLOODRAVEN_AGENT_TOKEN_FILE", tokenFile, (t) => t.trim());
  if (token.length < 16) throw new ConfigError(`BLOODRAVEN_AGENT_TOKEN_FILE: the token in ${tokenFile} is shorter than 16 characters; the agents refuse it`);
  return {
    ...config,
    profile: required(flag, "profile"),
    source: {
      site: objectName(flag, "source-site", isSiteName, "a site name (a DNS label)"),
      agentUrl: httpUrl("source-agent-url", required(flag, "source-agent-url")),
      token,
    },
  };
}

export function parseRestoreJobConfig(argv: string[], env: NodeJS.ProcessEnv): RestoreJobConfig {
  const { config, flag } = parseJob(RESTORE_JOB_FLAGS, argv, env);
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
