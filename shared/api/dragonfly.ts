/**
 * `spec.dragonfly` of a group: the session cache (Dragonfly, or another server of the Redis
 * replication protocol) that follows the database's primary, one cache server per database site;
 * and `status.dragonfly`, what the operator last saw of it (docs/dragonfly.md).
 */
import { celString, DNS_SUBDOMAIN, duration, hostName, image, quantity, SECRET_KEY, siteName } from "./fields.js";
import { array, boolean, enumOf, integer, object, string, timestamp, type Input, type Output } from "./schema.js";

export const DRAGONFLY_DEFAULTS = { port: 6379, passwordKey: "password", maxSyncWait: "30s" } as const;
export const DRAGONFLY_PHASES = ["Ready", "Reconciling", "Promoting", "Degraded"] as const;
export const CACHE_ROLES = ["master", "replica", "stale-master", "unreachable"] as const;
export const PROMOTION_METHODS = ["takeover", "replicaof-no-one"] as const;
export const ON_SYNC_TIMEOUT = ["proceed", "fail"] as const;
/** Flags of a managed cache server the operator sets itself; `args` may not. */
export const OPERATOR_OWNED_DRAGONFLY_FLAGS = ["port", "bind", "requirepass", "masterauth", "dir", "admin_port", "maxmemory", "proactor_threads", "dbfilename", "snapshot_cron"] as const;
/** Five cron fields (minute hour day-of-month month day-of-week), as Dragonfly's --snapshot_cron reads them. */
const SNAPSHOT_CRON = "^\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+\\S+$";
const hasSnapshotVolume = (o: string) => `(has(${o}.snapshot) && has(${o}.snapshot.storage))`;

export const dragonflySpecSchema = object({
  enabled: boolean().withDefault(false).describe("Keep the cache master on the database's primary site."),
  sites: array(
    object({
      name: siteName().required().describe("A site of `spec.sites`: its cache follows that site's database."),
      endpoint: object({
        host: hostName().required().describe("Host name or IP address of the cache server."),
        port: integer({ minimum: 1, maximum: 65535, format: "int32" }).withDefault(DRAGONFLY_DEFAULTS.port).describe("Its TCP port."),
      }).describe("Address of an external cache server, as the operator and the other cache servers reach it. Without it the operator runs the site's cache server itself (`image`), beside the site's managed database."),
    }),
    { minItems: 1, maxItems: 16, listType: "map", listMapKeys: ["name"] },
  ).describe("The cache server of each site (external servers: the operator connects to them)."),
  image: image().describe("The image of the cache servers the operator runs (entries of `sites` without `endpoint`), pinned to a version or digest."),
  port: integer({ minimum: 1, maximum: 65535, format: "int32" }).withDefault(DRAGONFLY_DEFAULTS.port).describe("The port of the cache servers the operator runs."),
  adminPort: integer({ minimum: 1, maximum: 65535, format: "int32" }).describe("Dragonfly's admin port (`--admin_port`) on the cache servers the operator runs; none when unset."),
  maxMemory: quantity().describe("The memory a cache server the operator runs may use for data (`--maxmemory`, in bytes), e.g. 2Gi; the server's default when unset."),
  threads: integer({ minimum: 1, maximum: 256, format: "int32" }).describe("Dragonfly's worker threads (`--proactor_threads`) on the cache servers the operator runs; one per core when unset."),
  args: array(string({ minLength: 1, maxLength: 256 }), { maxItems: 32 })
    .rule(
      `self.all(a, !a.matches('^--(${OPERATOR_OWNED_DRAGONFLY_FLAGS.join("|")})(=|$)'))`,
      `\`dragonfly.args\` may not set flags the operator owns: ${OPERATOR_OWNED_DRAGONFLY_FLAGS.map((f) => `--${f}`).join(", ")}`,
    )
    .describe("Extra flags of the cache servers the operator runs, e.g. --cache_mode=true; memory, threads and ports have their own fields."),
  auth: object({
    secretName: string({ pattern: DNS_SUBDOMAIN, minLength: 1, maxLength: 253 }).required().describe("A Secret in the group's namespace."),
    passwordKey: string({ pattern: SECRET_KEY, maxLength: 253 }).withDefault(DRAGONFLY_DEFAULTS.passwordKey).describe("Its key holding the password (`requirepass`)."),
  }).describe("The cache servers' password; the replicas must know it too (`masterauth`)."),
  snapshot: object({
    cron: string({ minLength: 9, maxLength: 128 })
      .rule(`self.matches(${celString(SNAPSHOT_CRON)})`, "`snapshot.cron` must be five cron fields (minute hour day-of-month month day-of-week), e.g. */15 * * * *")
      .describe("When each cache server the operator runs saves a snapshot (`--snapshot_cron`), five cron fields in UTC; none on a schedule when unset."),
    storage: object({
      storageClassName: string({ minLength: 1, maxLength: 253 }).describe("StorageClass of the snapshot volumes; the cluster default when omitted."),
      size: quantity().required().describe("Size of each server's snapshot volume, e.g. 4Gi: room for two snapshots of `maxMemory`."),
    })
      .rule("self == oldSelf", "`snapshot.storage` may not change: the servers' volumes exist. Remove `spec.dragonfly` (its servers go) and add it again to start over")
      .describe(
        "A volume per cache server the operator runs (claim `data-dragonfly-<group>-<site>-0`) for its snapshots: a server that restarts loads its last one, and a lone server saves one right before an update restarts it. Without it the servers keep their data in an emptyDir and come back empty.",
      ),
  }).describe("Snapshots of the cache servers the operator runs (`--dir` is their volume, `--dbfilename=dump`)."),
  plannedFailover: object({
    maxSyncWait: duration().withDefault(DRAGONFLY_DEFAULTS.maxSyncWait).describe("How long a takeover waits for the new master to hold every write of the old one."),
    onSyncTimeout: enumOf(ON_SYNC_TIMEOUT)
      .withDefault("proceed")
      .describe("After a takeover that did not complete: proceed promotes the new master with what it has (the old master keeps its last writes and is reported as a stale master); fail leaves the master where it is and tries again after a minute."),
  })
    .withDefault({})
    .describe("How the cache master moves while the old one still answers."),
})
  .rule("!self.enabled || (has(self.sites) && size(self.sites) > 0)", "`dragonfly.sites` must name the cache server of at least one site when `enabled`", { fieldPath: ".sites" })
  // A StatefulSet's volume claims cannot change: the servers would need to be made again.
  .rule(`${hasSnapshotVolume("self")} == ${hasSnapshotVolume("oldSelf")}`, "`dragonfly.snapshot.storage` may not be added or removed while `spec.dragonfly` exists: remove `spec.dragonfly` (its servers go) and add it again", {
    fieldPath: ".snapshot",
  })
  .describe("The session cache that follows the database's primary (docs/dragonfly.md).");

export const dragonflyStatusSchema = object({
  phase: enumOf(DRAGONFLY_PHASES).required().describe("Ready: one master, on the database's primary site, every other site replicating from it. Reconciling: repointing replicas. Promoting: moving the master. Degraded: see message."),
  activeSite: string().describe("The cache master's site."),
  message: string(),
  lastPromotionTime: timestamp(),
  lastPromotionTarget: string(),
  lastPromotionMethod: enumOf(PROMOTION_METHODS).describe("takeover: handed over once the new master had every write; replicaof-no-one: promoted with what it had received (the old master did not answer)."),
  sites: array(
    object({
      name: string().required(),
      role: enumOf(CACHE_ROLES).required().describe("stale-master: a second master holding writes the master lacks, left alone (repointing it would discard them)."),
      reachable: boolean().required(),
      linkStatus: enumOf(["up", "down"] as const).describe("A replica's link to its master."),
      syncInProgress: boolean().describe("A replica is loading a full copy from its master."),
      lastIOSecondsAgo: integer({ minimum: 0, format: "int64" }).describe("Seconds since a replica last heard from its master."),
      ready: boolean().required().describe("The master, or a replica streaming from the master (link up, no copy in progress)."),
      keys: integer({ minimum: 0, format: "int64" }),
      error: string().describe("Why it did not answer."),
    }),
    { maxItems: 16, listType: "map", listMapKeys: ["name"] },
  ),
}).describe("The session cache as the operator last saw it.");

export type DragonflySpec = Output<typeof dragonflySpecSchema>;
export type DragonflyStatus = Input<typeof dragonflyStatusSchema>;
export type DragonflySiteStatus = NonNullable<DragonflyStatus["sites"]>[number];
