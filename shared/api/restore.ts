/**
 * `spec.initFromBackup` of a group: a new group of managed sites whose first primary starts from
 * a backup in a store (of another group, or of an earlier group of the same name), optionally
 * brought to a point in time from that group's binary log archive; and `status.restore`, what
 * became of it (docs/backups.md#a-new-group-from-a-backup).
 */
import { BACKUP_PHASES } from "../names.js";
import { DNS_LABEL, DNS_SUBDOMAIN, duration, MAX_SITES, siteName } from "./fields.js";
import { array, enumOf, integer, object, string, timestamp, type Input, type Output } from "./schema.js";
import { pointInTimeSchema } from "./verification.js";

export const RESTORE_DEFAULTS = { timeout: "6h" } as const;

/**
 * How the copy reaches the site's server: `staged` beside a MariaDB site's datadir, which its
 * restart swaps in; `loaded` into a MySQL site's running, fenced server by MySQL Shell.
 */
export const RESTORE_COPIES = ["staged", "loaded"] as const;
export type RestoreCopy = (typeof RESTORE_COPIES)[number];

const name = (maxLength: number) => string({ pattern: maxLength === 63 ? DNS_LABEL : DNS_SUBDOMAIN, minLength: 1, maxLength });

/** Where a restore reads from and how far it replays: the same for a new group and an in-place restore. */
const restoreSourceFields = () => ({
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
  timeout: duration().withDefault(RESTORE_DEFAULTS.timeout).describe("A restore Job still running after this fails."),
});

export const initFromBackupSchema = object({
  ...restoreSourceFields(),
  site: siteName().describe("The primary-candidate that starts from the backup and becomes the first primary; default: the first primary-candidate. The others are cloned from it."),
})
  .rule("self == oldSelf", "`initFromBackup` may not change once set: it describes how the group was created; create a new group for another backup")
  .describe("Start a new group of managed sites from a backup instead of empty (docs/backups.md).");

export const restoreInPlaceSchema = object({
  ...restoreSourceFields(),
  site: siteName().describe("The primary-candidate restored, which is the primary afterwards; default: the active primary. Every other site is recloned from it."),
  confirm: timestamp()
    .required()
    .describe(
      "When someone confirmed this destructive restore (RFC 3339; `kubectl bloodraven restore --in-place` sets it to now). A restore runs once per confirm: to run another, set a strictly newer one. Everything the group wrote after the backup (or the point in time) is discarded.",
    ),
}).describe(
  "Restore the group's own sites from a backup, destructively (docs/backups.md#restoring-a-group-in-place): every site fenced, the restored site's data replaced and positioned, the group writable again on it, then every other site recloned from it.",
);

const restoreStatusFields = () => ({
  phase: enumOf(BACKUP_PHASES).required().describe("Pending, Running (the Job, then the server's restart on the copy), then Succeeded or Failed."),
  site: string().describe("The site restored."),
  backup: string().describe("The artifact restored, `<namespace>/<group>/<backup>`."),
  jobName: string(),
  restoreId: string().describe("Names the staged copy: an operator that restarts goes on with the same one."),
  copy: enumOf(RESTORE_COPIES).describe(
    "How the copy reaches the site's server, chosen by its flavor when the restore starts: `staged` beside a MariaDB site's datadir for its restart, `loaded` into a MySQL site's running, fenced server (absent: `staged`).",
  ),
  message: string(),
  startTime: timestamp(),
  stagedTime: timestamp().describe("When the Job finished staging the copy beside the site's datadir (the server's next start swaps it in), or loading it into the server."),
  completionTime: timestamp(),
  backupGtid: string().describe("The backup's GTID position."),
  gtid: string().describe("The restored copy's position: the backup's plus what the replay applied."),
  replayedToTime: timestamp().describe("The commit time of the last transaction replayed."),
  userSchemas: integer({ minimum: 0, format: "int64" }).describe("Schemas of its own (not mysql, sys, performance_schema) the copy holds: the server must show as many, or the copy was not swapped in."),
});

export const restoreStatusSchema = object(restoreStatusFields()).describe("The restore of spec.initFromBackup, recorded before each step runs. Failed is final: recreate the group to try again.");

export const restoreInPlaceStatusSchema = object({
  ...restoreStatusFields(),
  confirm: timestamp().describe("The `spec.restoreInPlace.confirm` this record is about: a newer one starts another restore once this one ended."),
  fencedTime: timestamp().describe("When every site was seen read-only, replication stopped on the others; the Job is made after it."),
  discardedFrom: string().describe("The restored site's GTID position when it was fenced: what the group held beyond the copy's position is discarded."),
  resumedTime: timestamp().describe("When the restored site was made writable again, on the copy."),
  recloning: array(siteName(), { maxItems: MAX_SITES, listType: "set" }).describe("The sites still to be recloned from the restored site; the restore Succeeds once none is left."),
}).describe("The last restore of spec.restoreInPlace, recorded before each step runs.");

export type InitFromBackupSpec = Output<typeof initFromBackupSchema>;
export type RestoreStatus = Input<typeof restoreStatusSchema>;
export type RestoreInPlaceSpec = Output<typeof restoreInPlaceSchema>;
export type RestoreInPlaceStatus = Input<typeof restoreInPlaceStatusSchema>;
