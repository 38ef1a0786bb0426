/**
 * How a pod reaches a backup profile's store: the storage settings a process reads (the flags of
 * operator/backup/storage-config.ts, or their environment variables), and the Secrets and volume
 * it needs mounted. Backup Jobs take the settings as flags; the agent's binary log archive, in a
 * managed site's sidecar, as `BLOODRAVEN_ARCHIVE_*` variables, so its pod template does not
 * depend on argument order.
 */
import type { V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { BackupProfile } from "../api/backup.js";

/** How one process names the store's flags and variables. */
export interface StorageNames {
  readonly flagPrefix: string;
  readonly envPrefix: string;
  readonly passphraseVariable: string;
  /** What the store is for, in help texts. */
  readonly purpose: string;
}

export const JOB_STORAGE: StorageNames = { flagPrefix: "", envPrefix: "BLOODRAVEN_", passphraseVariable: "BLOODRAVEN_BACKUP_PASSPHRASE", purpose: "backup" };
export const ARCHIVE_STORAGE: StorageNames = { flagPrefix: "archive-", envPrefix: "BLOODRAVEN_ARCHIVE_", passphraseVariable: "BLOODRAVEN_ARCHIVE_PASSPHRASE", purpose: "binary log archive" };

/** The variable that stands for the storage flag `name` (without the prefix). */
export const storageVariable = (names: StorageNames, name: string): string => `${names.envPrefix}${name.toUpperCase().replaceAll("-", "_")}`;

export interface StoreAccess {
  /** Storage flag (without the prefix) and value. */
  readonly settings: readonly (readonly [string, string])[];
  /** Variables naming the mounted secret files and folders. */
  readonly env: Readonly<Record<string, string>>;
  readonly volumes: readonly V1Volume[];
  readonly mounts: readonly V1VolumeMount[];
}

/**
 * `secretsDir`: where the Secrets are mounted; `volumePath`: where a `pvc` profile's claim is;
 * `passphrase`: whether the process needs an encrypted profile's passphrase (a deletion does not).
 */
export function storeAccess(profile: BackupProfile, names: StorageNames, where: { readonly secretsDir: string; readonly volumePath: string }, passphrase: boolean): StoreAccess {
  const settings: [string, string][] = [];
  const env: Record<string, string> = {};
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  const volumeName = (name: string): string => `${names.flagPrefix}${name}`;
  const { s3, pvc } = profile.storage;
  if (s3) {
    const { credentialsSecret: creds } = s3;
    settings.push(["storage", "s3"], ["s3-bucket", s3.bucket], ["s3-region", s3.region], ...(s3.endpointURL ? [["s3-endpoint", s3.endpointURL] as [string, string]] : []), ["prefix", s3.prefix ?? ""]);
    const volume = volumeName("s3-credentials");
    volumes.push({ name: volume, secret: { secretName: creds.name, items: [{ key: creds.accessKeyIdKey, path: "AWS_ACCESS_KEY_ID" }, { key: creds.secretAccessKeyKey, path: "AWS_SECRET_ACCESS_KEY" }] } });
    mounts.push({ name: volume, mountPath: `${where.secretsDir}/${volume}`, readOnly: true });
    env[storageVariable(names, "s3-credentials-dir")] = `${where.secretsDir}/${volume}`;
  } else if (pvc) {
    settings.push(["storage", "volume"], ["volume-path", where.volumePath], ["prefix", ""]);
    const volume = volumeName("backup-volume");
    volumes.push({ name: volume, persistentVolumeClaim: { claimName: pvc.claimName } });
    mounts.push({ name: volume, mountPath: where.volumePath, ...(pvc.subPath ? { subPath: pvc.subPath } : {}) });
  }
  const secret = profile.encryption?.passphraseSecret;
  if (passphrase && secret) {
    const volume = volumeName("passphrase");
    volumes.push({ name: volume, secret: { secretName: secret.name, items: [{ key: secret.key, path: "passphrase" }] } });
    mounts.push({ name: volume, mountPath: `${where.secretsDir}/${volume}`, readOnly: true });
    env[`${names.passphraseVariable}_FILE`] = `${where.secretsDir}/${volume}/passphrase`;
  }
  return { settings, env, volumes, mounts };
}
