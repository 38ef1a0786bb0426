/**
 * Where a process finds the backup store, from flags and mounted Secrets: the backup and restore
 * Jobs (flags `--storage`, `--s3-bucket`, ...) and the agent's binary log archive (the same flags
 * prefixed `archive-`). Secrets come only from files, so no value shows in `ps`, `kubectl
 * describe` or a log.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, duration, httpOrigin, type Flag } from "../flags.js";
import { storageVariable, type StorageNames } from "../../shared/backup/store-access.js";
import { S3ObjectStore, VolumeObjectStore, type ObjectStore, type S3Settings } from "./object-store.js";

export type StorageConfig = ({ readonly kind: "s3" } & S3Settings) | { readonly kind: "volume"; readonly path: string };

export interface StoreConfig {
  readonly prefix: string;
  readonly storage: StorageConfig;
  readonly passphrase?: string;
}

type FlagValue = (name: string) => string | undefined;

export function storageFlags(names: StorageNames, requirement: "required" | "optional"): Flag[] {
  const f = (name: string, help: string): Flag => ({ name: `${names.flagPrefix}${name}`, env: storageVariable(names, name), help });
  return [
    f("storage", `s3 or volume: where the ${names.purpose} goes (${requirement === "required" ? "required" : "none: off"})`),
    f("prefix", "the profile's folder in the store (default none)"),
    f("s3-bucket", "the bucket (required for s3)"),
    f("s3-region", "its region (default us-east-1)"),
    f("s3-endpoint", "an S3-compatible store's URL (default AWS)"),
    f("s3-idle-timeout", "a request to the store that sends or receives nothing this long fails (retried 3 times; default 30s)"),
    f("volume-path", "where the backup volume is mounted (required for volume)"),
  ];
}

export function storageSecretsHelp(names: StorageNames): string {
  return `  ${storageVariable(names, "s3-credentials-dir").padEnd(38)} a folder with the files AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
  ${"".padEnd(38)} and optionally AWS_SESSION_TOKEN (required for s3)
  ${`${names.passphraseVariable}_FILE`.padEnd(38)} the encryption passphrase (optional; a trailing newline is dropped)`;
}

/** Reads a secret from `file`, named by `variable` in messages; a value with nothing in it is refused. */
export function secretFile(variable: string, file: string, clean: (text: string) => string): string {
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
export function fileOnly(environment: NodeJS.ProcessEnv, variable: string): string | undefined {
  if (environment[variable] !== undefined) throw new ConfigError(`${variable} is not read: give the secret as a file, ${variable}_FILE`);
  const file = environment[`${variable}_FILE`];
  return file === undefined || file === "" ? undefined : file;
}

function s3Credentials(names: StorageNames, environment: NodeJS.ProcessEnv): S3Settings["credentials"] {
  const variable = storageVariable(names, "s3-credentials-dir");
  const dir = environment[variable];
  if (dir === undefined || dir === "") throw new ConfigError(`--${names.flagPrefix}storage=s3 needs ${variable}: a folder with the files AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (a mounted Secret)`);
  const read = (name: string): string => secretFile(`${variable}/${name}`, join(dir, name), (t) => t.trim());
  const credentials = { accessKeyId: read("AWS_ACCESS_KEY_ID"), secretAccessKey: read("AWS_SECRET_ACCESS_KEY") };
  // Temporary credentials only: long-lived keys come without one.
  return existsSync(join(dir, "AWS_SESSION_TOKEN")) ? { ...credentials, sessionToken: read("AWS_SESSION_TOKEN") } : credentials;
}

/** The store the flags name; undefined when `--<prefix>storage` is not given (only where it is optional). */
export function parseStore(flag: FlagValue, environment: NodeJS.ProcessEnv, names: StorageNames): StoreConfig | undefined {
  const name = (n: string): string => `${names.flagPrefix}${n}`;
  const need = (n: string): string => {
    const value = flag(name(n));
    if (value === undefined || value === "") throw new ConfigError(`--${name(n)} is required`);
    return value;
  };
  const kind = flag(name("storage"));
  if (kind === undefined || kind === "") return undefined;
  let storage: StorageConfig;
  if (kind === "volume") storage = { kind, path: need("volume-path") };
  else if (kind === "s3") {
    const endpoint = flag(name("s3-endpoint"));
    const idle = flag(name("s3-idle-timeout"));
    storage = {
      kind,
      bucket: need("s3-bucket"),
      region: flag(name("s3-region")) || "us-east-1",
      ...(endpoint ? { endpoint: httpOrigin(name("s3-endpoint"), endpoint) } : {}),
      credentials: s3Credentials(names, environment),
      ...(idle ? { limits: { idleMs: duration(name("s3-idle-timeout"), idle) } } : {}),
    };
  } else throw new ConfigError(`--${name("storage")} must be s3 or volume, got ${JSON.stringify(kind)}`);
  const prefix = flag(name("prefix")) ?? "";
  if (prefix.split("/").some((p) => p === "." || p === "..")) throw new ConfigError(`--${name("prefix")} must not contain . or .. segments, got ${JSON.stringify(prefix)}`);
  const passphraseFile = fileOnly(environment, names.passphraseVariable);
  const passphrase = passphraseFile ? secretFile(`${names.passphraseVariable}_FILE`, passphraseFile, (t) => t.replace(/\r?\n$/, "")) : undefined;
  return { prefix, storage, ...(passphrase !== undefined ? { passphrase } : {}) };
}

export function openStore(storage: StorageConfig): { store: ObjectStore; close: () => void } {
  if (storage.kind === "volume") return { store: new VolumeObjectStore(storage.path), close: () => undefined };
  const { kind: _kind, ...settings } = storage;
  const store = new S3ObjectStore(settings);
  return { store, close: () => store.destroy() };
}
