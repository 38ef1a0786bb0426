/**
 * The flags of the one-shot commands a backup Job's pod runs, `bloodraven backup` and
 * `bloodraven restore`. Both share the artifact's name, the store and the result file; secrets
 * come only from files (mounted Secrets), so no value shows in `ps`, `kubectl describe` or a log.
 */
import { closeSync, openSync, readdirSync } from "node:fs";
import { isSiteName, isValidGroupName } from "../../shared/annotations.js";
import { ConfigError, duration, flagsHelp, httpOrigin, logLevel, readFlags, type Flag } from "../flags.js";
import type { LogLevel } from "../log.js";
import { fileOnly, JOB_STORAGE, parseStore, secretFile, storageFlags, storageSecretsHelp, type StorageConfig } from "./storage-config.js";

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
  ...storageFlags(JOB_STORAGE, "required"),
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
${storageSecretsHelp(JOB_STORAGE)}`;

export function backupJobFlagsHelp(): string {
  return `${flagsHelp(BACKUP_JOB_FLAGS)}

${SECRET_FILES}
  ${"BLOODRAVEN_AGENT_TOKEN_FILE".padEnd(38)} the token the agents' clone endpoints require (required)`;
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
  const store = parseStore(flag, env, JOB_STORAGE);
  if (!store) throw new ConfigError("--storage is required");
  const config: JobConfig = {
    namespace: objectName(flag, "namespace", isSiteName, "a namespace name (a DNS label)"),
    group: objectName(flag, "group", isValidGroupName, "a Kubernetes object name"),
    backup: objectName(flag, "backup", isValidGroupName, "a Kubernetes object name"),
    ...store,
    timeoutMs: duration("timeout", flag("timeout") || "2h"),
    resultFile: writableFile("result-file", flag("result-file") || "/dev/termination-log"),
    logLevel: logLevel(flag("log-level") || undefined),
  };
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
      agentUrl: httpOrigin("source-agent-url", required(flag, "source-agent-url")),
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
