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
import type { V1Job, V1OwnerReference, V1PodSpec, V1SecurityContext, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { BackupProfile } from "../api/backup.js";
import { fnv1a } from "../hash.js";
import { ARCHIVE_STORAGE, JOB_STORAGE, storeAccess } from "./store-access.js";
import { agentInstaller, DATA_DIR, INSTALLED_AGENT_COMMAND, INSTALLED_AGENT_VOLUME, VOLUME_DIR } from "../managed/objects.js";
import { managedNames, selector } from "../managed/sites.js";
import { API_GROUP_VERSION, FAILOVER_GROUP, LABELS, MYSQL_BACKUP, MYSQL_BACKUP_VERIFICATION, READ_ONLY_TAINT_EFFECT, readOnlyTaintKey } from "../names.js";

export interface StoreJobInput {
  readonly backup: { readonly name: string; readonly namespace: string; readonly uid: string };
  readonly group: string;
  readonly profile: BackupProfile;
  /** The image with `bloodraven` (the operator's). */
  readonly image: string;
}

/** The group's operator account Secret: its two keys are mounted as the files `username` and `password`. */
export interface AccountSecret {
  readonly name: string;
  readonly usernameKey: string;
  readonly passwordKey: string;
}

export interface BackupJobInput extends StoreJobInput {
  readonly timeoutSeconds: number;
  /**
   * A MariaDB site: its agent streams the copy, asked with the group's agent token. A MySQL site:
   * MySQL Shell dumps its server with the operator account, in the profile's dump image.
   */
  readonly source:
    | { readonly site: string; readonly agentUrl: string; readonly agentToken: { readonly secretName: string; readonly key: string } }
    | { readonly site: string; readonly server: { readonly host: string; readonly port: number }; readonly account: AccountSecret };
}

/** The one container of both Jobs, whose termination message is the command's result. */
export const JOB_CONTAINER = "run";
const SECRETS_DIR = "/etc/bloodraven";
const VOLUME_MOUNT = "/backup";
const ARCHIVE_MOUNT = "/archive";
/** A verification's restored copy and its server's files: as large as the backup unpacked. */
const WORK_MOUNT = "/work";
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
export const verificationJobName = (verification: string): string => jobName(verification, "verify");
export const cleanupJobName = (backup: string): string => jobName(backup, "cleanup");
export const restoreJobName = (group: string): string => jobName(`mysql-${group}`, "restore");
/** An in-place restore's Job, one per request (its confirm, e.g. restore-20261205194721): a failed one's Job, kept a day, never stands in the way of the next. */
export function restoreInPlaceJobName(group: string, confirm: string): string {
  const at = Date.parse(confirm);
  const utc = Number.isNaN(at) ? confirm : new Date(at).toISOString();
  return jobName(`mysql-${group}`, `restore-${utc.replace(/\.\d+/, "").replace(/\D/g, "").slice(0, 14)}`);
}

export function backupJob(input: BackupJobInput): V1Job {
  const { backup, profile, source } = input;
  const how: Partial<JobShape> & Pick<JobShape, "flags"> =
    "agentUrl" in source
      ? { flags: [`--source-agent-url=${source.agentUrl}`], agentToken: source.agentToken }
      : {
          flags: [
            `--source-host=${source.server.host}`,
            `--source-port=${source.server.port}`,
            `--dump-threads=${profile.dump.threads}`,
            `--dump-bytes-per-chunk=${profile.dump.bytesPerChunk}`,
            `--dump-compression=${profile.dump.compression}`,
            `--work-dir=${WORK_MOUNT}/backup`,
          ],
          serverImage: profile.dump.image,
          operatorAccount: source.account,
        };
  return storeJob(input, {
    name: backupJobName(backup.name),
    command: "backup",
    owner: { apiVersion: API_GROUP_VERSION, kind: MYSQL_BACKUP.kind, name: backup.name, uid: backup.uid, controller: true, blockOwnerDeletion: true },
    labels: { [LABELS.backup]: backup.name },
    timeoutSeconds: input.timeoutSeconds,
    passphrase: true,
    ...how,
    flags: [`--profile=${profile.name}`, `--source-site=${source.site}`, ...how.flags],
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
    labels: { [LABELS.backup]: input.backup.name },
    timeoutSeconds: CLEANUP_TIMEOUT_SECONDS,
    flags: [],
    passphrase: false,
  });
}

export interface VerificationJobInput extends StoreJobInput {
  readonly verification: { readonly name: string; readonly uid: string };
  /** An image with mariadbd. */
  readonly serverImage: string;
  readonly timeoutSeconds: number;
  /** The `bloodraven verify` flags of the check itself: --point-in-time, --sanity-query, ... */
  readonly flags: readonly string[];
  /** The binary log archive's profile, when the verification replays it. */
  readonly archive?: BackupProfile;
}

/**
 * A verification of one backup: `bloodraven verify` in the server's image, on an emptyDir as
 * large as the restored copy. Owned by the MysqlBackupVerification.
 */
export function verificationJob(input: VerificationJobInput): V1Job {
  const { verification } = input;
  return storeJob(input, {
    name: verificationJobName(verification.name),
    command: "verify",
    owner: { apiVersion: API_GROUP_VERSION, kind: MYSQL_BACKUP_VERIFICATION.kind, name: verification.name, uid: verification.uid, controller: true, blockOwnerDeletion: true },
    labels: { [LABELS.verification]: verification.name },
    serverImage: input.serverImage,
    ...(input.archive ? { archive: input.archive } : {}),
    timeoutSeconds: input.timeoutSeconds,
    flags: [...input.flags, `--work-dir=${WORK_MOUNT}/verify`],
    passphrase: true,
  });
}

export interface RestoreJobInput {
  readonly group: { readonly name: string; readonly namespace: string; readonly uid: string };
  readonly site: string;
  readonly restoreId: string;
  /** The artifact: the group, namespace and backup that took it. */
  readonly source: { readonly namespace: string; readonly group: string; readonly backup: string };
  readonly profile: BackupProfile;
  readonly archive?: BackupProfile;
  /** `--point-in-time` of `bloodraven stage-restore`. */
  readonly pointInTime: string;
  /** The image with `bloodraven` (the operator's). */
  readonly image: string;
  /** The site's server image: its mariadb-backup prepares the copy, its mariadbd replays onto it. */
  readonly serverImage: string;
  /** The group's operator account Secret: the copy's account of that name gets its password (a load: the account that loads). */
  readonly operatorSecret: AccountSecret;
  readonly timeoutSeconds: number;
  /** A MySQL site's: the dump is loaded into its running server, at this address, in the profile's dump image. */
  readonly load?: { readonly server: { readonly host: string; readonly port: number } };
}

/**
 * The restore of a site (spec.initFromBackup, spec.restoreInPlace). A MariaDB site's: `bloodraven
 * stage-restore` in the site's server image, with the site's volume mounted, staging the copy
 * beside its datadir. It runs on the node of the site's pod (the volume is ReadWriteOnce) and as
 * the image's own user, like the site's agent, so the server can read what it writes; no fsGroup,
 * which would make the kubelet re-own the volume. A MySQL site's: `bloodraven load-restore` in
 * the profile's dump image (MySQL Shell, and for a replay mysqlbinlog and mysql), which reaches
 * the server over the network and needs no volume of the site's. Owned by the group; named by the
 * restore's id.
 */
export function restoreJob(input: RestoreJobInput): V1Job {
  const { group, site, load } = input;
  const common = [`--point-in-time=${input.pointInTime}`, `--work-dir=${WORK_MOUNT}/restore`];
  const how: Pick<JobShape, "command" | "serverImage" | "flags"> & Partial<JobShape> = load
    ? {
        command: "load-restore",
        serverImage: input.profile.dump.image,
        flags: [`--site=${site}`, `--target-host=${load.server.host}`, `--target-port=${load.server.port}`, ...common],
      }
    : {
        command: "stage-restore",
        serverImage: input.serverImage,
        siteVolume: { claim: managedNames.claim(group.name, site), podLabels: selector(group.name, { [LABELS.site]: site }) },
        flags: [`--datadir=${DATA_DIR}`, `--restore-id=${input.restoreId}`, ...common],
      };
  return storeJob(
    { backup: { name: input.source.backup, namespace: group.namespace, uid: "" }, group: group.name, profile: input.profile, image: input.image },
    {
      name: input.restoreId,
      owner: { apiVersion: API_GROUP_VERSION, kind: FAILOVER_GROUP.kind, name: group.name, uid: group.uid, controller: true, blockOwnerDeletion: false },
      labels: { [LABELS.restore]: site },
      ...(input.archive ? { archive: input.archive } : {}),
      artifact: { namespace: input.source.namespace, group: input.source.group },
      operatorAccount: input.operatorSecret,
      timeoutSeconds: input.timeoutSeconds,
      passphrase: true,
      ...how,
    },
  );
}

/**
 * What every pod of a group's Jobs has: no restarts (the operator decides what follows a
 * failure), no API token, an unprivileged user, and the group's read-only taint tolerated. That
 * taint (NoExecute) is on the nodes of the non-writable sites, often the ones beside the source:
 * the pod would be evicted there at once.
 */
export function jobPodBasics(group: string): Pick<V1PodSpec, "restartPolicy" | "tolerations" | "automountServiceAccountToken" | "securityContext"> {
  return {
    restartPolicy: "Never",
    tolerations: [{ key: readOnlyTaintKey(group), operator: "Exists", effect: READ_ONLY_TAINT_EFFECT }],
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
  };
}

export const JOB_CONTAINER_SECURITY: V1SecurityContext = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };

interface JobShape {
  readonly name: string;
  readonly command: string;
  readonly owner: V1OwnerReference;
  /** Says which object the Job serves (LABELS.backup or LABELS.verification). */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Runs the bundle in this image instead of the operator's (a verification needs mariadbd, a
   * MySQL site's backup mysqlsh): an init container of the operator's image copies Node.js and
   * the bundle in first.
   */
  readonly serverImage?: string;
  /** A second store the command reads: the binary log archive's profile. */
  readonly archive?: BackupProfile;
  readonly timeoutSeconds: number;
  /** The command's own flags, after the group, the backup and the store. */
  readonly flags: readonly string[];
  /** The group's agent token Secret, mounted for the backup (which asks the source's agent). */
  readonly agentToken?: { readonly secretName: string; readonly key: string };
  /** Whether the command needs an encrypted profile's passphrase. */
  readonly passphrase: boolean;
  /** The artifact's namespace and group when they are not the Job's (a restore from another group). */
  readonly artifact?: { readonly namespace: string; readonly group: string };
  /** A managed site's volume, mounted where its server has it; the pod runs beside the site's (podLabels) and as the image's user. */
  readonly siteVolume?: { readonly claim: string; readonly podLabels: Readonly<Record<string, string>> };
  /** The group's operator account Secret. */
  readonly operatorAccount?: AccountSecret;
}

function storeJob(input: StoreJobInput, shape: JobShape): V1Job {
  const { backup, profile } = input;
  const store = storeAccess(profile, JOB_STORAGE, { secretsDir: SECRETS_DIR, volumePath: VOLUME_MOUNT }, shape.passphrase);
  const archive = shape.archive && storeAccess(shape.archive, ARCHIVE_STORAGE, { secretsDir: SECRETS_DIR, volumePath: ARCHIVE_MOUNT }, true);
  const token = shape.agentToken;
  const account = shape.operatorAccount;
  const server = shape.serverImage !== undefined;
  const volumes: V1Volume[] = [
    { name: "tmp", emptyDir: {} },
    ...(server ? [{ name: INSTALLED_AGENT_VOLUME.name, emptyDir: {} }, { name: "work", emptyDir: {} }] : []),
    ...(token ? [{ name: "agent-token", secret: { secretName: token.secretName, items: [{ key: token.key, path: "token" }] } }] : []),
    ...(account
      ? [{ name: "operator-account", secret: { secretName: account.name, items: [{ key: account.usernameKey, path: "username" }, { key: account.passwordKey, path: "password" }] } }]
      : []),
    ...(shape.siteVolume ? [{ name: "data", persistentVolumeClaim: { claimName: shape.siteVolume.claim } }] : []),
    ...store.volumes,
    ...(archive?.volumes ?? []),
  ];
  const mounts: V1VolumeMount[] = [
    { name: "tmp", mountPath: "/tmp" },
    ...(server ? [{ ...INSTALLED_AGENT_VOLUME, readOnly: true }, { name: "work", mountPath: WORK_MOUNT }] : []),
    ...(token ? [{ name: "agent-token", mountPath: `${SECRETS_DIR}/agent-token`, readOnly: true }] : []),
    ...(account ? [{ name: "operator-account", mountPath: `${SECRETS_DIR}/operator`, readOnly: true }] : []),
    ...(shape.siteVolume ? [{ name: "data", mountPath: VOLUME_DIR }] : []),
    ...store.mounts,
    ...(archive?.mounts ?? []),
  ];
  const env: Record<string, string> = {
    ...(token ? { BLOODRAVEN_AGENT_TOKEN_FILE: `${SECRETS_DIR}/agent-token/token` } : {}),
    ...(account ? { BLOODRAVEN_OPERATOR_USER_FILE: `${SECRETS_DIR}/operator/username`, BLOODRAVEN_OPERATOR_PASSWORD_FILE: `${SECRETS_DIR}/operator/password` } : {}),
    ...store.env,
    ...archive?.env,
  };
  const flags = [
    `--namespace=${shape.artifact?.namespace ?? backup.namespace}`,
    `--group=${shape.artifact?.group ?? input.group}`,
    `--backup=${backup.name}`,
    ...shape.flags,
    `--timeout=${shape.timeoutSeconds}s`,
    ...store.settings.map(([name, value]) => `--${name}=${value}`),
    ...(archive?.settings ?? []).map(([name, value]) => `--${ARCHIVE_STORAGE.flagPrefix}${name}=${value}`),
  ];
  const labels = { "app.kubernetes.io/name": `bloodraven-${shape.command}`, [LABELS.managedBy]: "bloodraven", [LABELS.failoverGroup]: input.group, ...shape.labels };
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
          ...jobPodBasics(input.group),
          ...(shape.siteVolume
            ? {
                securityContext: { seccompProfile: { type: "RuntimeDefault" } },
                affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { ...shape.siteVolume.podLabels } }, topologyKey: "kubernetes.io/hostname" }] } },
              }
            : {}),
          ...(shape.serverImage !== undefined ? { initContainers: [agentInstaller(input.image)] } : {}),
          containers: [
            {
              name: JOB_CONTAINER,
              image: shape.serverImage ?? input.image,
              ...(server ? { command: INSTALLED_AGENT_COMMAND } : {}),
              args: [shape.command, ...flags],
              env: Object.entries(env).map(([k, value]) => ({ name: k, value })),
              volumeMounts: mounts,
              // The result line the command writes; the operator reads it from the pod's status.
              terminationMessagePath: "/dev/termination-log",
              terminationMessagePolicy: "File",
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
              securityContext: JOB_CONTAINER_SECURITY,
            },
          ],
          volumes,
        },
      },
    },
  };
}
