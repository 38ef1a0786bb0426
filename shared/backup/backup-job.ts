/**
 * The Kubernetes Jobs of one MysqlBackup, in the operator's image: the backup (`bloodraven
 * backup`, streaming the source site's copy from its agent into the profile's store) and, when
 * the MysqlBackup is deleted, the cleanup (`bloodraven delete-backup`, removing its artifact).
 * Computed from the backup and its profile alone, so the reconciler only creates them.
 *
 * Secrets reach the pod only as files: the group's agent token (backup only), the store's access
 * key (its two keys mapped to the file names the command reads) and the passphrase (backup only).
 * One attempt per Job (`backoffLimit: 0`): the operator decides what happens after a failure.
 */
import type { V1Job, V1OwnerReference, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { BackupProfile } from "../api/backup.js";
import { fnv1a } from "../hash.js";
import { API_GROUP_VERSION, FAILOVER_GROUP, LABELS, MYSQL_BACKUP, READ_ONLY_TAINT_EFFECT, readOnlyTaintKey } from "../names.js";

export interface StoreJobInput {
  readonly backup: { readonly name: string; readonly namespace: string; readonly uid: string };
  readonly group: string;
  readonly profile: BackupProfile;
  /** The image with `bloodraven` (the operator's). */
  readonly image: string;
}

export interface BackupJobInput extends StoreJobInput {
  readonly timeoutSeconds: number;
  readonly source: { readonly site: string; readonly agentUrl: string };
  /** The group's agent token Secret and key. */
  readonly agentToken: { readonly secretName: string; readonly key: string };
}

/** The one container of both Jobs, whose termination message is the command's result. */
export const JOB_CONTAINER = "run";
const SECRETS_DIR = "/etc/bloodraven";
const VOLUME_MOUNT = "/backup";
/** Job and pod names end up in label values: at most 63 characters. */
const MAX_NAME = 63;
/** After the run's own deadline: time to write its Failed result before the Job's deadline kills the pod. */
const DEADLINE_MARGIN_SECONDS = 60;
/** Finished Jobs (and their pods' logs) stay this long for inspection; the MysqlBackup keeps the outcome. */
const KEEP_FINISHED_SECONDS = 24 * 3600;
/** Deleting an artifact is a few requests: a cleanup that takes longer has a store problem. */
const CLEANUP_TIMEOUT_SECONDS = 600;

/** `<backup>-<suffix>`, or the backup's first characters and a hash when longer than a label value allows. */
function jobName(backup: string, suffix: string): string {
  const name = `${backup}-${suffix}`;
  if (name.length <= MAX_NAME) return name;
  const hash = fnv1a(backup).toString(16).padStart(8, "0");
  return `${backup.slice(0, MAX_NAME - hash.length - suffix.length - 2).replace(/[-.]+$/, "")}-${hash}-${suffix}`;
}

export const backupJobName = (backup: string): string => jobName(backup, "backup");
export const cleanupJobName = (backup: string): string => jobName(backup, "cleanup");

export function backupJob(input: BackupJobInput): V1Job {
  const { backup, profile, source } = input;
  const passphrase = profile.encryption?.passphraseSecret;
  return storeJob(input, {
    name: backupJobName(backup.name),
    command: "backup",
    owner: { apiVersion: API_GROUP_VERSION, kind: MYSQL_BACKUP.kind, name: backup.name, uid: backup.uid, controller: true, blockOwnerDeletion: true },
    timeoutSeconds: input.timeoutSeconds,
    flags: [`--profile=${profile.name}`, `--source-site=${source.site}`, `--source-agent-url=${source.agentUrl}`],
    secrets: [
      { volume: "agent-token", secret: input.agentToken.secretName, key: input.agentToken.key, file: "token", variable: "BLOODRAVEN_AGENT_TOKEN_FILE" },
      ...(passphrase ? [{ volume: "passphrase", secret: passphrase.name, key: passphrase.key, file: "passphrase", variable: "BLOODRAVEN_BACKUP_PASSPHRASE_FILE" }] : []),
    ],
  });
}

/**
 * The cleanup of a deleted MysqlBackup's artifact. Owned by the group, not by the backup: a
 * foreground deletion of the backup would otherwise delete the very Job it waits for.
 */
export function cleanupJob(input: StoreJobInput & { readonly groupUid: string }): V1Job {
  return storeJob(input, {
    name: cleanupJobName(input.backup.name),
    command: "delete-backup",
    owner: { apiVersion: API_GROUP_VERSION, kind: FAILOVER_GROUP.kind, name: input.group, uid: input.groupUid, controller: true, blockOwnerDeletion: false },
    timeoutSeconds: CLEANUP_TIMEOUT_SECONDS,
    flags: [],
    secrets: [],
  });
}

interface SecretFile {
  readonly volume: string;
  readonly secret: string;
  readonly key: string;
  readonly file: string;
  /** The variable that names the file for the command. */
  readonly variable: string;
}

interface JobShape {
  readonly name: string;
  readonly command: string;
  readonly owner: V1OwnerReference;
  readonly timeoutSeconds: number;
  /** The command's own flags, after the group, the backup and the store. */
  readonly flags: readonly string[];
  readonly secrets: readonly SecretFile[];
}

function storeJob(input: StoreJobInput, shape: JobShape): V1Job {
  const { backup, profile } = input;
  const volumes: V1Volume[] = [{ name: "tmp", emptyDir: {} }];
  const mounts: V1VolumeMount[] = [{ name: "tmp", mountPath: "/tmp" }];
  const env: Record<string, string> = {};
  const mountSecret = (volume: string, secretName: string, items: { key: string; path: string }[]): void => {
    volumes.push({ name: volume, secret: { secretName, items } });
    mounts.push({ name: volume, mountPath: `${SECRETS_DIR}/${volume}`, readOnly: true });
  };
  for (const s of shape.secrets) {
    mountSecret(s.volume, s.secret, [{ key: s.key, path: s.file }]);
    env[s.variable] = `${SECRETS_DIR}/${s.volume}/${s.file}`;
  }
  const flags = [`--namespace=${backup.namespace}`, `--group=${input.group}`, `--backup=${backup.name}`, ...shape.flags, `--timeout=${shape.timeoutSeconds}s`];
  const { s3, pvc } = profile.storage;
  if (s3) {
    const { credentialsSecret: creds } = s3;
    flags.push("--storage=s3", `--s3-bucket=${s3.bucket}`, `--s3-region=${s3.region}`, ...(s3.endpointURL ? [`--s3-endpoint=${s3.endpointURL}`] : []), `--prefix=${s3.prefix ?? ""}`);
    mountSecret("s3-credentials", creds.name, [
      { key: creds.accessKeyIdKey, path: "AWS_ACCESS_KEY_ID" },
      { key: creds.secretAccessKeyKey, path: "AWS_SECRET_ACCESS_KEY" },
    ]);
    env.BLOODRAVEN_S3_CREDENTIALS_DIR = `${SECRETS_DIR}/s3-credentials`;
  } else if (pvc) {
    flags.push("--storage=volume", `--volume-path=${VOLUME_MOUNT}`, "--prefix=");
    volumes.push({ name: "backup-volume", persistentVolumeClaim: { claimName: pvc.claimName } });
    mounts.push({ name: "backup-volume", mountPath: VOLUME_MOUNT, ...(pvc.subPath ? { subPath: pvc.subPath } : {}) });
  }
  const labels = { "app.kubernetes.io/name": `bloodraven-${shape.command}`, [LABELS.managedBy]: "bloodraven", [LABELS.failoverGroup]: input.group, [LABELS.backup]: backup.name };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: shape.name, namespace: backup.namespace, labels, ownerReferences: [shape.owner] },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: shape.timeoutSeconds + DEADLINE_MARGIN_SECONDS,
      ttlSecondsAfterFinished: KEEP_FINISHED_SECONDS,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          // The group's read-only taint (NoExecute) is on the nodes of its non-writable sites, often
          // the ones beside the source: the pod would be evicted there at once.
          tolerations: [{ key: readOnlyTaintKey(input.group), operator: "Exists", effect: READ_ONLY_TAINT_EFFECT }],
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: JOB_CONTAINER,
              image: input.image,
              args: [shape.command, ...flags],
              env: Object.entries(env).map(([k, value]) => ({ name: k, value })),
              volumeMounts: mounts,
              // The result line the command writes; the operator reads it from the pod's status.
              terminationMessagePath: "/dev/termination-log",
              terminationMessagePolicy: "File",
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
            },
          ],
          volumes,
        },
      },
    },
  };
}
