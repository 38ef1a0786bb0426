/**
 * The Kubernetes Job that takes one MysqlBackup: `bloodraven backup` in the operator's image,
 * streaming the source site's copy from its agent into the profile's store. Computed from the
 * backup, its profile and the chosen source alone, so the reconciler only creates it.
 *
 * Secrets reach the pod only as files: the group's agent token, the store's access key (its two
 * keys mapped to the file names the command reads) and the passphrase. One attempt per Job
 * (`backoffLimit: 0`): a retry is a new MysqlBackup, with its own artifact folder.
 */
import type { V1Job, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { BackupProfile } from "../api/backup.js";
import { fnv1a } from "../hash.js";
import { API_GROUP_VERSION, LABELS, MYSQL_BACKUP, READ_ONLY_TAINT_EFFECT, readOnlyTaintKey } from "../names.js";

export interface BackupJobInput {
  readonly backup: { readonly name: string; readonly namespace: string; readonly uid: string };
  readonly group: string;
  readonly profile: BackupProfile;
  readonly source: { readonly site: string; readonly agentUrl: string };
  /** The image with `bloodraven` (the operator's). */
  readonly image: string;
  /** The group's agent token Secret and key. */
  readonly agentToken: { readonly secretName: string; readonly key: string };
  readonly timeoutSeconds: number;
}

const SECRETS_DIR = "/etc/bloodraven";
const VOLUME_MOUNT = "/backup";
/** Job and pod names end up in label values: at most 63 characters. */
const MAX_NAME = 63;
/** After the run's own deadline: time to write its Failed result before the Job's deadline kills the pod. */
const DEADLINE_MARGIN_SECONDS = 60;
/** Finished Jobs (and their pods' logs) stay this long for inspection; the MysqlBackup keeps the outcome. */
const KEEP_FINISHED_SECONDS = 24 * 3600;

/** `<backup>-backup`, or its first characters and a hash when longer than a label value allows. */
export function backupJobName(backup: string): string {
  const name = `${backup}-backup`;
  if (name.length <= MAX_NAME) return name;
  const hash = fnv1a(backup).toString(16).padStart(8, "0");
  return `${backup.slice(0, MAX_NAME - hash.length - 8).replace(/[-.]+$/, "")}-${hash}-backup`;
}

export function backupJob(input: BackupJobInput): V1Job {
  const { backup, profile, source } = input;
  const name = backupJobName(backup.name);
  const volumes: V1Volume[] = [
    { name: "agent-token", secret: { secretName: input.agentToken.secretName, items: [{ key: input.agentToken.key, path: "token" }] } },
    { name: "tmp", emptyDir: {} },
  ];
  const mounts: V1VolumeMount[] = [
    { name: "agent-token", mountPath: `${SECRETS_DIR}/agent-token`, readOnly: true },
    { name: "tmp", mountPath: "/tmp" },
  ];
  const env: Record<string, string> = { BLOODRAVEN_AGENT_TOKEN_FILE: `${SECRETS_DIR}/agent-token/token` };
  const flags = [
    `--namespace=${backup.namespace}`,
    `--group=${input.group}`,
    `--backup=${backup.name}`,
    `--profile=${profile.name}`,
    `--source-site=${source.site}`,
    `--source-agent-url=${source.agentUrl}`,
    `--timeout=${input.timeoutSeconds}s`,
  ];
  const { s3, pvc } = profile.storage;
  if (s3) {
    const { credentialsSecret: creds } = s3;
    flags.push("--storage=s3", `--s3-bucket=${s3.bucket}`, `--s3-region=${s3.region}`, ...(s3.endpointURL ? [`--s3-endpoint=${s3.endpointURL}`] : []), `--prefix=${s3.prefix ?? ""}`);
    volumes.push({
      name: "s3-credentials",
      secret: {
        secretName: creds.name,
        items: [
          { key: creds.accessKeyIdKey, path: "AWS_ACCESS_KEY_ID" },
          { key: creds.secretAccessKeyKey, path: "AWS_SECRET_ACCESS_KEY" },
        ],
      },
    });
    mounts.push({ name: "s3-credentials", mountPath: `${SECRETS_DIR}/s3`, readOnly: true });
    env.BLOODRAVEN_S3_CREDENTIALS_DIR = `${SECRETS_DIR}/s3`;
  } else if (pvc) {
    flags.push("--storage=volume", `--volume-path=${VOLUME_MOUNT}`, "--prefix=");
    volumes.push({ name: "backup-volume", persistentVolumeClaim: { claimName: pvc.claimName } });
    mounts.push({ name: "backup-volume", mountPath: VOLUME_MOUNT, ...(pvc.subPath ? { subPath: pvc.subPath } : {}) });
  }
  const passphrase = profile.encryption?.passphraseSecret;
  if (passphrase) {
    volumes.push({ name: "passphrase", secret: { secretName: passphrase.name, items: [{ key: passphrase.key, path: "passphrase" }] } });
    mounts.push({ name: "passphrase", mountPath: `${SECRETS_DIR}/passphrase`, readOnly: true });
    env.BLOODRAVEN_BACKUP_PASSPHRASE_FILE = `${SECRETS_DIR}/passphrase/passphrase`;
  }
  const labels = { "app.kubernetes.io/name": "bloodraven-backup", [LABELS.managedBy]: "bloodraven", [LABELS.failoverGroup]: input.group, [LABELS.backup]: backup.name };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace: backup.namespace,
      labels,
      ownerReferences: [{ apiVersion: API_GROUP_VERSION, kind: MYSQL_BACKUP.kind, name: backup.name, uid: backup.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: input.timeoutSeconds + DEADLINE_MARGIN_SECONDS,
      ttlSecondsAfterFinished: KEEP_FINISHED_SECONDS,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          // The group's read-only taint (NoExecute) is on the nodes of its non-writable sites, often
          // the ones beside the source: the copy's pod would be evicted there at once.
          tolerations: [{ key: readOnlyTaintKey(input.group), operator: "Exists", effect: READ_ONLY_TAINT_EFFECT }],
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "backup",
              image: input.image,
              args: ["backup", ...flags],
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
