/**
 * The `MysqlBackupVerification` resource: one proof that a backup restores. The operator restores
 * the backup (a pinned one, or the newest Succeeded of a profile) in a Job, starts a throwaway
 * server on the copy, replays the binary log archive when asked and runs a sanity query; the
 * outcome is the status (docs/backups.md#verification).
 */
import { BACKUP_PHASES, POINT_IN_TIME_MODES, type MYSQL_BACKUP_VERIFICATION } from "../names.js";
import { DNS_LABEL, DNS_SUBDOMAIN, duration, image, type CustomResource } from "./fields.js";
import { applyDefaults, boolean, enumOf, integer, object, string, timestamp, type Input, type Output } from "./schema.js";

export const VERIFICATION_DEFAULTS = {
  pointInTime: "none",
  minRows: 0,
  queryTimeout: "60s",
  keepOnFailure: true,
  timeout: "2h",
} as const;

export const pointInTimeSchema = () =>
  object({
    mode: enumOf(POINT_IN_TIME_MODES).withDefault(VERIFICATION_DEFAULTS.pointInTime).describe("none: the backup alone; latest: replay everything archived after it; timestamp: replay up to `timestamp`."),
    timestamp: timestamp().describe("With mode timestamp: replay the transactions stamped before this time."),
  })
    .withDefault({})
    .rule("!has(self.mode) || self.mode != 'timestamp' || has(self.timestamp)", "`pointInTime.timestamp` must be set when `pointInTime.mode` is timestamp", { fieldPath: ".timestamp" })
    .rule("!has(self.timestamp) || (has(self.mode) && self.mode == 'timestamp')", "`pointInTime.timestamp` must be left out unless `pointInTime.mode` is timestamp", { fieldPath: ".timestamp" })
    .describe("A replay of the group's binary log archive (`spec.backup.pitr`) onto the restored backup.");

export const sanityCheckSchema = () =>
  object({
    query: string({ minLength: 1, maxLength: 4096 }).required().describe("One SELECT of one count, e.g. `SELECT COUNT(*) FROM shop.orders`; no row counts as 0."),
    minRows: integer({ minimum: 0, format: "int64" }).withDefault(VERIFICATION_DEFAULTS.minRows).describe("The least count that passes."),
    timeout: duration().withDefault(VERIFICATION_DEFAULTS.queryTimeout).describe("The query's time limit."),
  }).describe("A query run on the restored server; the verification fails when it errs, runs too long or counts too few.");

export const keepOnFailureSchema = () =>
  boolean().withDefault(VERIFICATION_DEFAULTS.keepOnFailure).describe("Keep a failed verification's Job and pod, with the restored copy and the server's error log, for a day.");
export const serverImageSchema = () => image().describe("An image with the throwaway server: `mariadbd`, or `mysqld` and `mysqlsh` for a MySQL site's dump; default: the group's `spec.image`.");
export const verificationTimeoutSchema = () => duration().withDefault(VERIFICATION_DEFAULTS.timeout).describe("A verification still running after this fails.");

const verificationSpec = object({
  failoverGroupRef: object({ name: string({ pattern: DNS_LABEL, minLength: 1, maxLength: 63 }).required().describe("The MysqlFailoverGroup's name.") })
    .required()
    .describe("The group whose backup is verified, in the same namespace."),
  profileName: string({ pattern: DNS_LABEL, minLength: 1, maxLength: 63 }).required().describe("A profile of the group's `spec.backup.profiles`."),
  backupRef: object({ name: string({ pattern: DNS_SUBDOMAIN, minLength: 1, maxLength: 253 }).required().describe("A MysqlBackup of the group and profile.") }).describe(
    "The backup to verify; without it, the newest Succeeded backup of the profile when the verification starts.",
  ),
  pointInTime: pointInTimeSchema(),
  sanityCheck: sanityCheckSchema(),
  keepOnFailure: keepOnFailureSchema(),
  image: serverImageSchema(),
  timeout: verificationTimeoutSchema(),
  triggeredBy: string({ maxLength: 253 }).describe("Who asked: `manual`, or a schedule."),
})
  .rule("self == oldSelf", "a MysqlBackupVerification's spec may not change: create a new one instead")
  .describe("Which backup to verify, and how.");

const verificationStatus = object({
  phase: enumOf(BACKUP_PHASES).describe("Pending, Running, then Succeeded or Failed."),
  message: string({ maxLength: 4096 }).describe("Why it failed, or what it waits for."),
  startTime: timestamp(),
  completionTime: timestamp(),
  backupName: string().describe("The MysqlBackup verified."),
  backupGtid: string().describe("The backup's GTID position, as the restored copy holds it."),
  jobName: string().describe("The Job that runs the verification."),
  restoreSeconds: integer({ minimum: 0, format: "int64" }).describe("How long the restore took."),
  count: integer({ minimum: 0, format: "int64" }).describe("What the sanity query counted."),
  queryMilliseconds: integer({ minimum: 0, format: "int64" }).describe("How long the sanity query ran."),
  replayedToGtid: string().describe("The last transaction the replay applied."),
  replayedToTime: timestamp().describe("When that transaction was committed on the primary."),
});

export const mysqlBackupVerificationSchema = object({
  apiVersion: string(),
  kind: string(),
  metadata: object({}),
  spec: verificationSpec.required(),
  status: verificationStatus,
}).describe("One verification of a MysqlBackup by a test restore: restored in a Job, started, optionally replayed to a point in time, and queried.");

export type MysqlBackupVerificationSpec = Input<typeof verificationSpec>;
export type DefaultedVerificationSpec = Output<typeof verificationSpec>;
export type MysqlBackupVerificationStatus = Input<typeof verificationStatus>;
export type MysqlBackupVerification = CustomResource<typeof MYSQL_BACKUP_VERIFICATION.kind, MysqlBackupVerificationSpec, MysqlBackupVerificationStatus>;

export function verificationWithDefaults(spec: MysqlBackupVerificationSpec): DefaultedVerificationSpec {
  return applyDefaults(verificationSpec, spec);
}
