/**
 * `spec.initFromBackup` of a group: a new group of managed sites whose first primary starts from
 * a backup in a store (of another group, or of an earlier group of the same name), optionally
 * brought to a point in time from that group's binary log archive; and `status.restore`, what
 * became of it (docs/backups.md#a-new-group-from-a-backup).
 */
import { BACKUP_PHASES } from "../names.js";
import { DNS_LABEL, DNS_SUBDOMAIN, duration, siteName } from "./fields.js";
import { enumOf, integer, object, string, timestamp, type Input, type Output } from "./schema.js";
import { pointInTimeSchema } from "./verification.js";

export const RESTORE_DEFAULTS = { timeout: "6h" } as const;

const name = (maxLength: number) => string({ pattern: maxLength === 63 ? DNS_LABEL : DNS_SUBDOMAIN, minLength: 1, maxLength });

export const initFromBackupSchema = object({
  profileName: name(63).required().describe("The profile of `spec.backup.profiles` whose store holds the backup (and its passphrase, when encrypted)."),
  source: object({
    namespace: name(63).describe("The namespace of the group that took the backup; default: this group's."),
    group: name(63).required().describe("The group that took the backup; it need not exist any more."),
    backup: name(253).required().describe("The MysqlBackup's name: the artifact's folder `<prefix>/<namespace>/<group>/<backup>/`."),
  })
    .required()
    .describe("The backup's artifact in the profile's store."),
  pointInTime: pointInTimeSchema().describe("A replay of the source group's binary log archive onto the backup: none, latest, or up to a time."),
  archiveProfileName: name(63).describe("The profile whose store holds the source group's binary log archive; default: `profileName`."),
  site: siteName().describe("The primary-candidate that starts from the backup and becomes the first primary; default: the first primary-candidate. The others are cloned from it."),
  timeout: duration().withDefault(RESTORE_DEFAULTS.timeout).describe("A restore Job still running after this fails."),
})
  .rule("self == oldSelf", "`initFromBackup` may not change once set: it describes how the group was created; create a new group for another backup")
  .describe("Start a new group of managed sites from a backup instead of empty (docs/backups.md).");

export const restoreStatusSchema = object({
  phase: enumOf(BACKUP_PHASES).required().describe("Pending, Running (the Job, then the server's restart on the copy), then Succeeded or Failed. Failed is final: recreate the group to try again."),
  site: string().describe("The site restored."),
  backup: string().describe("The artifact restored, `<namespace>/<group>/<backup>`."),
  jobName: string(),
  restoreId: string().describe("Names the staged copy: an operator that restarts goes on with the same one."),
  message: string(),
  startTime: timestamp(),
  stagedTime: timestamp().describe("When the Job finished staging the copy beside the site's datadir; the server's next start swaps it in."),
  completionTime: timestamp(),
  backupGtid: string().describe("The backup's GTID position."),
  gtid: string().describe("The restored copy's position: the backup's plus what the replay applied."),
  replayedToTime: timestamp().describe("The commit time of the last transaction replayed."),
  userSchemas: integer({ minimum: 0, format: "int64" }).describe("Schemas of its own (not mysql, sys, performance_schema) the copy holds: the restarted server must show as many, or the copy was not swapped in."),
}).describe("The restore of spec.initFromBackup, recorded before each step runs.");

export type InitFromBackupSpec = Output<typeof initFromBackupSchema>;
export type RestoreStatus = Input<typeof restoreStatusSchema>;
