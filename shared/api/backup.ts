/**
 * The backup API: `spec.backup` of a group (where backups go, how long they stay, when they run,
 * the binary log archive) and the `MysqlBackup` resource (one backup, requested by a schedule or
 * by hand). The operator reads both; crds/ is generated from these schemas.
 */
import { BACKUP_CONCURRENCY_POLICIES, BACKUP_PHASES, BACKUP_SOURCE_REASONS, DUMP_COMPRESSIONS, type MYSQL_BACKUP } from "../names.js";
import { celString, DNS_LABEL, MYSQLSH_SIZE, DNS_SUBDOMAIN, duration, quantity, SECRET_KEY, siteName, type CustomResource } from "./fields.js";
import { applyDefaults, array, boolean, enumOf, integer, object, string, timestamp, type Input, type Output } from "./schema.js";
import { keepOnFailureSchema, pointInTimeSchema, sanityCheckSchema, serverImageSchema, verificationTimeoutSchema } from "./verification.js";

export const BACKUP_DEFAULTS = {
  s3: { region: "us-east-1", accessKeyIdKey: "AWS_ACCESS_KEY_ID", secretAccessKeyKey: "AWS_SECRET_ACCESS_KEY" },
  passphraseKey: "passphrase",
  retention: { count: 7, minKeep: 1, maxFailedKeep: 10 },
  verificationRetention: { keepSucceeded: 30, keepFailed: 10 },
  schedule: { timeZone: "Etc/UTC", suspend: false, concurrencyPolicy: "Forbid", successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3 },
  maxLagSecondsForSource: 300,
  timeout: "2h",
  retry: { maxAttempts: 1, initialBackoff: "1m", maxBackoff: "30m" },
  pitr: { enabled: false, maxBinlogSize: "100M", archivePollInterval: "60s" },
  dump: { image: "mysql:8.4", threads: 4, bytesPerChunk: "64M", compression: "zstd" },
} as const;

export const BACKUP_LIMITS = { maxProfiles: 16, maxSchedules: 32 } as const;

const profileName = () => string({ pattern: DNS_LABEL, minLength: 1, maxLength: 63 });
const secretName = () => string({ pattern: DNS_SUBDOMAIN, minLength: 1, maxLength: 253 });
const secretKey = () => string({ pattern: SECRET_KEY, minLength: 1, maxLength: 253 });

// Five whitespace-separated fields or a descriptor; the operator checks each field's values and
// reports a bad one with a BackupScheduleInvalid event naming it.
const CRON_SHAPE = "^(@[a-zA-Z]+|\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+\\S+)$";
const cronSchedule = () =>
  string({ minLength: 1, maxLength: 128 })
    .rule(`self.matches(${celString(CRON_SHAPE)})`, "`schedule` must be five cron fields (minute hour day-of-month month day-of-week) or a descriptor such as @daily")
    .describe("Cron expression, as Kubernetes CronJobs accept it.");
const timeZone = () => string({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_+/-]+$" }).withDefault(BACKUP_DEFAULTS.schedule.timeZone).describe("IANA time zone the schedule is read in.");

const s3StorageSchema = object({
  bucket: string({ pattern: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$" }).required().describe("Bucket name (3-63 characters: lower-case letters, digits, '.' and '-')."),
  prefix: string({ maxLength: 512, pattern: "^[^\\r\\n]*$" }).describe("Key prefix under which the profile's artifacts are written (`<prefix>/<namespace>/<group>/<backup>/`)."),
  region: string({ minLength: 1, maxLength: 64 }).withDefault(BACKUP_DEFAULTS.s3.region).describe("The bucket's region."),
  endpointURL: string({ maxLength: 2048 })
    .rule("isURL(self) && (self.startsWith('https://') || self.startsWith('http://'))", "`endpointURL` must be an http(s) URL of an S3-compatible store, e.g. https://minio.storage.svc:9000")
    .describe("URL of an S3-compatible store; omit it for AWS S3. Path-style addressing is used with it."),
  credentialsSecret: object({
    name: secretName().required().describe("Secret in the group's namespace holding the store's access key."),
    accessKeyIdKey: secretKey().withDefault(BACKUP_DEFAULTS.s3.accessKeyIdKey).describe("Key of the access key id."),
    secretAccessKeyKey: secretKey().withDefault(BACKUP_DEFAULTS.s3.secretAccessKeyKey).describe("Key of the secret access key."),
  })
    .required()
    .describe("The store's credentials, mounted as files into the backup Jobs only."),
});

const profileSchema = object({
  name: profileName().required().describe("The profile's name, referenced by schedules, MysqlBackups and `pitr.profileName`."),
  storage: object({
    s3: s3StorageSchema.describe("An S3 bucket (AWS or any S3-compatible store)."),
    pvc: object({
      claimName: secretName().required().describe("A PersistentVolumeClaim in the group's namespace, mounted into the backup Jobs."),
      subPath: string({ maxLength: 512, pattern: "^[^\\r\\n]*$" })
        .rule("!self.startsWith('/') && !self.contains('..')", "`subPath` must be a relative path inside the volume, without '..'")
        .describe("Folder inside the volume."),
    }).describe("A volume of the cluster."),
  })
    .required()
    .rule("has(self.s3) != has(self.pvc)", "exactly one of `storage.s3` and `storage.pvc` must be set")
    .describe("Where the profile's artifacts are stored."),
  retention: object({
    count: integer({ minimum: 1, maximum: 1000, format: "int32" }).withDefault(BACKUP_DEFAULTS.retention.count).describe("Keep the newest this many Succeeded backups."),
    maxAge: duration().describe("Also keep Succeeded backups younger than this (a backup is kept when any rule keeps it)."),
    minKeep: integer({ minimum: 1, maximum: 1000, format: "int32" }).withDefault(BACKUP_DEFAULTS.retention.minKeep).describe("Never keep fewer than this many Succeeded backups."),
    maxFailedKeep: integer({ minimum: 0, maximum: 1000, format: "int32" }).withDefault(BACKUP_DEFAULTS.retention.maxFailedKeep).describe("Keep the newest this many Failed backups for inspection."),
  })
    .withDefault({})
    .describe("Which backups the retention sweep deletes (the MysqlBackup and its artifact)."),
  encryption: object({
    passphraseSecret: object({
      name: secretName().required().describe("Secret in the group's namespace."),
      key: secretKey().withDefault(BACKUP_DEFAULTS.passphraseKey).describe("Key of the passphrase in the Secret."),
    })
      .required()
      .describe("Secret holding the passphrase. Keep a copy outside the cluster: without it no encrypted backup can be restored."),
  }).describe("AES-256-GCM encryption of the artifacts, with the key derived from a passphrase (scrypt, a new salt per backup); the manifest is signed with it too."),
  dump: object({
    image: string({ minLength: 1, maxLength: 512 })
      .withDefault(BACKUP_DEFAULTS.dump.image)
      .describe("An image with MySQL Shell (`mysqlsh`), which the official MySQL server images carry: a MySQL site's backup Job runs in it."),
    threads: integer({ minimum: 1, maximum: 64, format: "int32" }).withDefault(BACKUP_DEFAULTS.dump.threads).describe("MySQL Shell's dump threads."),
    bytesPerChunk: string({ pattern: MYSQLSH_SIZE, maxLength: 16 })
      .withDefault(BACKUP_DEFAULTS.dump.bytesPerChunk)
      .describe("The size of each data chunk, digits and k, M or G; the Job's work folder holds a few of them at most while the dump runs."),
    compression: enumOf(DUMP_COMPRESSIONS).withDefault(BACKUP_DEFAULTS.dump.compression).describe("The data chunks' compression: zstd, gzip or none."),
  })
    .withDefault({})
    .describe("How a MySQL site is backed up: a consistent MySQL Shell dump (util.dumpInstance), packed into one tar artifact. A MariaDB site is copied by its agent with mariadb-backup and ignores this."),
  verification: object({
    schedule: cronSchedule().required(),
    timeZone: timeZone(),
    suspend: boolean().withDefault(BACKUP_DEFAULTS.schedule.suspend).describe("true: no new verifications start from this schedule."),
    pointInTime: pointInTimeSchema().rule("!has(self.mode) || self.mode != 'timestamp'", "a scheduled verification's `pointInTime.mode` must be none or latest: a fixed time would be verified again and again", { fieldPath: ".mode" }),
    sanityCheck: sanityCheckSchema(),
    keepOnFailure: keepOnFailureSchema(),
    image: serverImageSchema(),
    timeout: verificationTimeoutSchema(),
    retention: object({
      keepSucceeded: integer({ minimum: 1, maximum: 1000, format: "int32" }).withDefault(BACKUP_DEFAULTS.verificationRetention.keepSucceeded).describe("Keep the newest this many Succeeded verifications of the schedule."),
      keepFailed: integer({ minimum: 0, maximum: 1000, format: "int32" }).withDefault(BACKUP_DEFAULTS.verificationRetention.keepFailed).describe("Keep the newest this many Failed ones, for inspection."),
    })
      .withDefault({})
      .describe("Which of the schedule's verifications are deleted (with their Jobs); verifications made by hand are never."),
  }).describe("Verify the profile's newest Succeeded backup on a schedule: a CronJob `mysql-<group>-verify-<profile>` creates a MysqlBackupVerification with these settings at each run."),
});

const scheduleSchema = object({
  name: profileName().required().describe("The schedule's name; the CronJob is `mysql-<group>-backup-<name>`."),
  profileName: profileName().required().describe("The profile the scheduled backups use."),
  schedule: cronSchedule().required(),
  timeZone: timeZone(),
  suspend: boolean().withDefault(BACKUP_DEFAULTS.schedule.suspend).describe("true: no new backups start from this schedule."),
  concurrencyPolicy: enumOf(BACKUP_CONCURRENCY_POLICIES).withDefault(BACKUP_DEFAULTS.schedule.concurrencyPolicy).describe("What a due run does while the previous one still runs: Forbid skips it, Allow runs both, Replace stops the previous one."),
  successfulJobsHistoryLimit: integer({ minimum: 0, maximum: 100, format: "int32" }).withDefault(BACKUP_DEFAULTS.schedule.successfulJobsHistoryLimit).describe("Finished CronJob runs kept."),
  failedJobsHistoryLimit: integer({ minimum: 0, maximum: 100, format: "int32" }).withDefault(BACKUP_DEFAULTS.schedule.failedJobsHistoryLimit).describe("Failed CronJob runs kept."),
});

export const backupSpecSchema = object({
  profiles: array(profileSchema, { minItems: 1, maxItems: BACKUP_LIMITS.maxProfiles, listType: "map", listMapKeys: ["name"] })
    .required()
    .describe("Where backups go and how long they stay."),
  schedules: array(scheduleSchema, { maxItems: BACKUP_LIMITS.maxSchedules, listType: "map", listMapKeys: ["name"] }).describe("When backups run on their own."),
  maxLagSecondsForSource: integer({ minimum: 0, format: "int64" })
    .withDefault(BACKUP_DEFAULTS.maxLagSecondsForSource)
    .describe("A replica further behind than this is not chosen as the source; the primary is, when no replica qualifies."),
  timeout: duration().withDefault(BACKUP_DEFAULTS.timeout).describe("A backup still running after this fails."),
  retry: object({
    maxAttempts: integer({ minimum: 1, maximum: 10, format: "int32" }).withDefault(BACKUP_DEFAULTS.retry.maxAttempts).describe("Attempts of a scheduled backup, the first included."),
    initialBackoff: duration().withDefault(BACKUP_DEFAULTS.retry.initialBackoff).describe("Wait before the second attempt; doubled for each further one."),
    maxBackoff: duration().withDefault(BACKUP_DEFAULTS.retry.maxBackoff).describe("The longest wait between attempts."),
  })
    .withDefault({})
    .describe("Retries of a failed scheduled backup, each a new MysqlBackup."),
  pitr: object({
    enabled: boolean().withDefault(BACKUP_DEFAULTS.pitr.enabled).describe("Archive the primary's sealed binary logs for point-in-time recovery."),
    profileName: profileName().describe("The profile whose storage holds the archive; required when enabled."),
    maxBinlogSize: quantity().withDefault(BACKUP_DEFAULTS.pitr.maxBinlogSize).describe("max_binlog_size of managed sites: a binary log is archived once sealed, so this bounds what an archive can lose."),
    archivePollInterval: duration().withDefault(BACKUP_DEFAULTS.pitr.archivePollInterval).describe("How often the agent looks for sealed binary logs besides watching the folder."),
  })
    .withDefault({})
    .rule("!has(self.enabled) || !self.enabled || has(self.profileName)", "`pitr.profileName` must be set when `pitr.enabled` is true", { fieldPath: ".profileName" })
    .describe("The binary log archive."),
})
  .rule("!has(self.schedules) || self.schedules.all(s, self.profiles.exists(p, p.name == s.profileName))", "every `schedules[].profileName` must name a profile in `profiles`", { fieldPath: ".schedules" })
  .rule("!has(self.pitr) || !has(self.pitr.profileName) || self.profiles.exists(p, p.name == self.pitr.profileName)", "`pitr.profileName` must name a profile in `profiles`", { fieldPath: ".pitr.profileName" });

const backupResourceSpec = object({
  failoverGroupRef: object({ name: string({ pattern: DNS_LABEL, minLength: 1, maxLength: 63 }).required().describe("The MysqlFailoverGroup's name.") })
    .required()
    .describe("The group to back up, in the same namespace."),
  profileName: profileName().required().describe("A profile of the group's `spec.backup.profiles`."),
  sourceSiteOverride: siteName().describe("Take the backup from this site; a read-only-role site is refused."),
  triggeredBy: string({ maxLength: 253 }).describe("Who asked: `schedule/<name>`, `manual`, `retry/<name>/attempt-<n>`."),
})
  .rule("self == oldSelf", "a MysqlBackup's spec may not change: create a new MysqlBackup instead")
  .describe("What to back up, and with which profile.");

const backupResourceStatus = object({
  phase: enumOf(BACKUP_PHASES).describe("Pending, Running, then Succeeded or Failed."),
  message: string({ maxLength: 4096 }).describe("Why it failed, or what it waits for."),
  startTime: timestamp(),
  completionTime: timestamp(),
  jobName: string().describe("The Job that runs the backup."),
  attempt: integer({ minimum: 1, format: "int32" }).describe("Which attempt of a scheduled backup this is."),
  sourceSite: string().describe("The site the copy was taken from."),
  sourceReason: enumOf(BACKUP_SOURCE_REASONS).describe("Why that site: override, replica-preferred or primary-fallback."),
  activeSiteAtStart: string().describe("The group's primary when the backup started; a different one at the end raises InFlightFailover."),
  location: string().describe("The manifest's place in the store, e.g. s3://bucket/prefix/ns/group/name/manifest.json."),
  sizeBytes: integer({ minimum: 0, format: "int64" }).describe("Bytes of the stored artifact."),
  gtidExecuted: string().describe("The copy's GTID position."),
  binlogFile: string().describe("The source's binary log file at the copy's position."),
  binlogPosition: integer({ minimum: 0, format: "int64" }).describe("The position in binlogFile."),
});

export const mysqlBackupSchema = object({
  apiVersion: string(),
  kind: string(),
  metadata: object({}),
  spec: backupResourceSpec.required(),
  status: backupResourceStatus,
}).describe("One backup of a MysqlFailoverGroup, taken by a Job and kept in the profile's storage until retention deletes it.");

export type BackupSpec = Input<typeof backupSpecSchema>;
export type DefaultedBackupSpec = Output<typeof backupSpecSchema>;
export type BackupProfile = Output<typeof profileSchema>;
export type BackupSchedule = Output<typeof scheduleSchema>;
export type VerificationSchedule = NonNullable<BackupProfile["verification"]>;
export type MysqlBackupSpec = Input<typeof backupResourceSpec>;
export type MysqlBackupStatus = Input<typeof backupResourceStatus>;

export type MysqlBackup = CustomResource<typeof MYSQL_BACKUP.kind, MysqlBackupSpec, MysqlBackupStatus>;

export function backupWithDefaults(spec: BackupSpec): DefaultedBackupSpec {
  return applyDefaults(backupSpecSchema, spec);
}

export const pitrStatusSchema = object({
  floor: string().describe("The archive floor the agents prune to: what every retained Succeeded backup holds (per replication domain the lowest GTID seq)."),
  newestTransactionTime: timestamp().describe("The newest transaction any site's archive holds: how far a point-in-time recovery reaches now."),
  sites: array(
    object({
      name: string().required(),
      primary: boolean().required().describe("Its server was writable at the agent's last scan: the site archiving now."),
      filesArchived: integer({ minimum: 0, format: "int64" }).required(),
      bytesArchived: integer({ minimum: 0, format: "int64" }).required(),
      lastArchivedFile: string(),
      lastArchivedTime: timestamp(),
      newestTransactionTime: timestamp(),
      backlogFiles: integer({ minimum: 0, format: "int64" }).required().describe("On the primary: sealed binary logs not archived yet."),
      filesPruned: integer({ minimum: 0, format: "int64" }).describe("Files pruned since the agent started."),
      error: string().describe("Why the agent's last scan failed."),
    }),
    { maxItems: 16, listType: "map", listMapKeys: ["name"] },
  ).describe("Each site whose agent archives, as its /archiver/status last said; a site whose agent does not answer is left out."),
}).describe("The binary log archive for point-in-time recovery, from the sites' agents, read every 10 s.");

export type PitrStatus = Input<typeof pitrStatusSchema>;
