/**
 * The objects behind `spec.backup.schedules` and the profiles' `verification` schedules: one
 * CronJob per schedule, whose pod runs `bloodraven trigger-backup` or `trigger-verification`
 * (operator/backup/trigger.ts) to create that run's MysqlBackup or MysqlBackupVerification, and
 * the ServiceAccount, Role and RoleBinding that let it do that and nothing else. Each run's object
 * is named after the run's Job, which the CronJob controller names after the scheduled minute: a
 * run retried, or two triggers racing, ask for the same object, never two.
 */
import type { V1CronJob, V1Role, V1RoleBinding, V1ServiceAccount } from "@kubernetes/client-node";
import type { BackupProfile, BackupSchedule, VerificationSchedule } from "../api/backup.js";
import { fnv1a } from "../hash.js";
import { API_GROUP, API_GROUP_VERSION, FAILOVER_GROUP, LABELS, MYSQL_BACKUP, MYSQL_BACKUP_VERIFICATION } from "../names.js";
import { JOB_CONTAINER_SECURITY, jobPodBasics } from "./backup-job.js";
import { checkCron } from "./cron.js";

/** CronJob names leave 11 characters for the Job's `-<minute>` suffix within a label value. */
const MAX_CRONJOB_NAME = 52;
/** A run the CronJob controller could not start within this is skipped, not started late. */
const STARTING_DEADLINE_SECONDS = 300;
/** Creating one MysqlBackup: a trigger still running after this has an API server problem. */
const TRIGGER_DEADLINE_SECONDS = 120;
/** On the CronJob's Jobs and pods, and on the MysqlBackups they create. */
export const SCHEDULE_LABEL = "shipstream.io/backup-schedule";
/** The same for a profile's verification schedule (its value: the profile). */
export const VERIFICATION_SCHEDULE_LABEL = "shipstream.io/verification-schedule";
/** The variable through which the trigger learns its Job's name (the downward API). */
export const TRIGGER_JOB_VARIABLE = "BLOODRAVEN_TRIGGER_JOB";

export interface ScheduleProblem {
  readonly schedule: string;
  readonly message: string;
}

export interface ScheduleGroup {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

export const triggerAccountName = (group: string): string => `mysql-${group}-backup-trigger`;

/** `mysql-<group>-backup-<schedule>`, or its first characters and a hash when longer than a CronJob name may be. */
export function scheduleCronJobName(group: string, schedule: string, kind: "backup" | "verify" = "backup"): string {
  const name = `mysql-${group}-${kind}-${schedule}`;
  if (name.length <= MAX_CRONJOB_NAME) return name;
  const hash = fnv1a(name).toString(16).padStart(8, "0");
  return `${name.slice(0, MAX_CRONJOB_NAME - hash.length - 1).replace(/[-.]+$/, "")}-${hash}`;
}

function timeZoneProblem(timeZone: string): string | undefined {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return undefined;
  } catch {
    return `timeZone "${timeZone}" is not an IANA time zone (for example Etc/UTC, Europe/Berlin, America/New_York)`;
  }
}

/** What is wrong with each schedule the operator cannot turn into a CronJob, naming the field. */
export function scheduleProblems(schedules: readonly BackupSchedule[]): ScheduleProblem[] {
  return schedules.flatMap((s) => {
    const message = cronProblem(s);
    return message ? [{ schedule: s.name, message: `spec.backup.schedules[${s.name}].${message}` }] : [];
  });
}

/** The same for the profiles' verification schedules; `schedule` is then the profile. */
export function verificationScheduleProblems(profiles: readonly BackupProfile[]): ScheduleProblem[] {
  return profiles.flatMap((p) => {
    const message = p.verification && cronProblem(p.verification);
    return message ? [{ schedule: p.name, message: `spec.backup.profiles[${p.name}].verification.${message}` }] : [];
  });
}

function cronProblem(s: { readonly schedule: string; readonly timeZone: string }): string | undefined {
  const cron = checkCron(s.schedule);
  return cron.ok ? timeZoneProblem(s.timeZone) : `schedule: ${cron.error}`;
}

const labels = (group: string): Record<string, string> => ({ [LABELS.managedBy]: "bloodraven", [LABELS.failoverGroup]: group });
const owner = (group: ScheduleGroup) => [{ apiVersion: API_GROUP_VERSION, kind: FAILOVER_GROUP.kind, name: group.name, uid: group.uid, controller: true, blockOwnerDeletion: false }];

/** The trigger's identity: it may read and create the namespace's MysqlBackups (and delete them: Replace) and MysqlBackupVerifications. */
export function triggerAccess(group: ScheduleGroup): [V1ServiceAccount, V1Role, V1RoleBinding] {
  const metadata = { name: triggerAccountName(group.name), namespace: group.namespace, labels: labels(group.name), ownerReferences: owner(group) };
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata, automountServiceAccountToken: false },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata, rules: [
        { apiGroups: [API_GROUP], resources: [MYSQL_BACKUP.plural], verbs: ["get", "list", "create", "delete"] },
        { apiGroups: [API_GROUP], resources: [MYSQL_BACKUP_VERIFICATION.plural], verbs: ["get", "list", "create"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata,
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: metadata.name },
      subjects: [{ kind: "ServiceAccount", name: metadata.name, namespace: group.namespace }],
    },
  ];
}

export function scheduleCronJob(group: ScheduleGroup, schedule: BackupSchedule, image: string): V1CronJob {
  const args = [`--schedule=${schedule.name}`, `--profile=${schedule.profileName}`, `--concurrency-policy=${schedule.concurrencyPolicy}`];
  return triggerCronJob(group, image, { name: scheduleCronJobName(group.name, schedule.name), command: "trigger-backup", label: [SCHEDULE_LABEL, schedule.name], args, schedule });
}

/**
 * A profile's verification schedule: each run creates a MysqlBackupVerification with the
 * schedule's settings (passed to the trigger as JSON, so it needs no read access to the group),
 * unless the schedule's previous one still runs.
 */
export function verificationCronJob(group: ScheduleGroup, profile: string, schedule: VerificationSchedule, image: string): V1CronJob {
  const { pointInTime, sanityCheck, keepOnFailure, image: serverImage, timeout } = schedule;
  const spec = { pointInTime, keepOnFailure, timeout, ...(sanityCheck ? { sanityCheck } : {}), ...(serverImage ? { image: serverImage } : {}) };
  return triggerCronJob(group, image, {
    name: scheduleCronJobName(group.name, profile, "verify"),
    command: "trigger-verification",
    label: [VERIFICATION_SCHEDULE_LABEL, profile],
    args: [`--profile=${profile}`, `--verification=${JSON.stringify(spec)}`],
    schedule: { ...schedule, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3 },
  });
}

interface TriggerShape {
  readonly name: string;
  readonly command: "trigger-backup" | "trigger-verification";
  readonly label: readonly [string, string];
  /** After --namespace and --group. */
  readonly args: readonly string[];
  readonly schedule: Pick<BackupSchedule, "schedule" | "timeZone" | "suspend" | "successfulJobsHistoryLimit" | "failedJobsHistoryLimit">;
}

function triggerCronJob(group: ScheduleGroup, image: string, shape: TriggerShape): V1CronJob {
  const { schedule } = shape;
  const runLabels = { ...labels(group.name), "app.kubernetes.io/name": `bloodraven-${shape.command}`, [shape.label[0]]: shape.label[1] };
  const args = [shape.command, `--namespace=${group.namespace}`, `--group=${group.name}`, ...shape.args];
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: shape.name, namespace: group.namespace, labels: runLabels, ownerReferences: owner(group) },
    spec: {
      schedule: schedule.schedule,
      timeZone: schedule.timeZone,
      suspend: schedule.suspend,
      // A trigger only creates the object; what overlaps is the backups or verifications, and the
      // trigger applies the schedule's policy to them. Two triggers at once are never useful.
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: STARTING_DEADLINE_SECONDS,
      successfulJobsHistoryLimit: schedule.successfulJobsHistoryLimit,
      failedJobsHistoryLimit: schedule.failedJobsHistoryLimit,
      jobTemplate: {
        metadata: { labels: runLabels },
        spec: {
          backoffLimit: 2,
          activeDeadlineSeconds: TRIGGER_DEADLINE_SECONDS,
          template: {
            metadata: { labels: runLabels },
            spec: {
              ...jobPodBasics(group.name),
              serviceAccountName: triggerAccountName(group.name),
              automountServiceAccountToken: true,
              containers: [
                {
                  name: "trigger",
                  image,
                  args,
                  env: [{ name: TRIGGER_JOB_VARIABLE, valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-name']" } } }],
                  resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "256Mi" } },
                  securityContext: JOB_CONTAINER_SECURITY,
                },
              ],
            },
          },
        },
      },
    },
  };
}
