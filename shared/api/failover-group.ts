/**
 * The `MysqlFailoverGroup` API: its schema, written once, and every type derived from it.
 * `crds/` is generated from these schemas (npm run generate:crds) and docs/crd-reference.md
 * explains them; a unit test keeps all three in step.
 */
import { DURATION_PATTERN } from "../duration.js";
import {
  BOOTSTRAP_PHASES,
  BOOTSTRAP_SOURCES,
  type FAILOVER_GROUP,
  PLANNED_FAILOVER_PHASES,
  RECOVERY_STATES,
  SITE_ROLES,
  SITE_STATES,
  type SiteState,
} from "../names.js";
import {
  applyDefaults,
  array,
  boolean,
  enumOf,
  integer,
  map,
  nullable,
  object,
  string,
  timestamp,
  type Input,
  type Output,
  type Presence,
  type Schema,
} from "./schema.js";
import { backupSpecSchema, pitrStatusSchema } from "./backup.js";
import { dragonflySpecSchema, dragonflyStatusSchema } from "./dragonfly.js";
import { initFromBackupSchema, restoreInPlaceSchema, restoreInPlaceStatusSchema, restoreStatusSchema } from "./restore.js";
import { celString, DNS_LABEL, DNS_SUBDOMAIN, duration, hostName, image, LABEL_VALUE, MAX_SITES, QUALIFIED_NAME, quantity, SECRET_KEY, siteName, type CustomResource } from "./fields.js";

export const UPDATE_STRATEGIES = ["OrderedUpdate", "Recreate"] as const;
export const ON_COOLDOWN_ACTIONS = ["reject", "defer"] as const;
export const CONDITION_STATUSES = ["True", "False", "Unknown"] as const;

/** Every default the schema declares. Code reads these (or `withDefaults`), never a literal. */
export const DEFAULTS = {
  image: "mysql:8.4",
  site: { role: "primary-candidate", endpointPort: 3306 },
  dns: { ttl: 60 },
  pollInterval: "2s",
  failureThreshold: 3,
  recoveryThreshold: 2,
  failoverCooldown: "5m",
  connectionDrainTimeout: "30s",
  replication: { maxLagSeconds: 300 },
  plannedFailover: { maxLagWait: "5m", drainTimeout: "30s", onCooldown: "reject" },
  emergencyFailover: { relayLogApplyTimeout: "30s", allowReceivedTransactionLoss: false },
  updateStrategy: "OrderedUpdate",
  sidecar: { peerCheckInterval: "5s", leaseTimeout: "20s", awaitSelfFence: true, fenceDeadline: true },
  secretKeys: { username: "username", password: "password" },
} as const;

export const LIMITS = {
  minSites: 2,
  maxSites: MAX_SITES,
  /** `shipstream.io/db-readonly-<group>`: the part after `/` of a taint key is at most 63 characters. */
  maxGroupNameLength: 63 - "db-readonly-".length,
} as const;

/**
 * my.cnf options the operator sets itself: failover depends on them (GTID replication, fencing,
 * clone), so `spec.mysqlConf` may not override them. Compared after lower-casing and turning `-`
 * into `_`, as mysqld does; the `loose_` prefix is covered too.
 */
export const OPERATOR_OWNED_MYSQL_OPTIONS = [
  "gtid_mode",
  "enforce_gtid_consistency",
  "log_bin",
  "skip_log_bin",
  "disable_log_bin",
  "log_replica_updates",
  "log_slave_updates",
  "skip_replica_start",
  "skip_slave_start",
  "server_id",
  "read_only",
  "super_read_only",
  "event_scheduler",
  "plugin_load_add",
  "datadir",
] as const;

/** The operator writes `<writable>W/<read-only>RO/<unreachable or unknown>X`; see `siteSummary`. */
const SUMMARY = "^[0-9]+W/[0-9]+RO/[0-9]+X$";

const secretRefFields = () => ({
  secretName: string({ pattern: DNS_SUBDOMAIN, maxLength: 253 })
    .required()
    .describe("Name of a Secret in the group's namespace."),
  usernameKey: string({ pattern: SECRET_KEY, maxLength: 253 })
    .withDefault(DEFAULTS.secretKeys.username)
    .describe("Key of the Secret that holds the MySQL user name."),
  passwordKey: string({ pattern: SECRET_KEY, maxLength: 253 })
    .withDefault(DEFAULTS.secretKeys.password)
    .describe("Key of the Secret that holds the password."),
});
const secretRef = () => object(secretRefFields());

/** Database names the application account may be scoped to: plain identifiers, never a system schema. */
const SCOPED_DATABASE = "^[A-Za-z0-9_$]{1,64}$";

export const siteSpecSchema = object({
  name: siteName()
    .required()
    .describe("Site name: a DNS label, unique in the group. It becomes part of object names, labels and metric labels."),
  role: enumOf(SITE_ROLES)
    .withDefault(DEFAULTS.site.role)
    .describe(
      "primary-candidate: may be promoted. dr-only: a replica that counts in the failover decision but is never promoted. read-only: a reader that never affects failover decisions.",
    ),
  zone: string({ minLength: 1, maxLength: 63 }).describe("Topology zone the site's pods are scheduled into (managed sites)."),
  taintNodeSelector: map(string({ pattern: LABEL_VALUE, maxLength: 63 }), { minProperties: 1, maxProperties: 16 })
    .rule(
      `self.all(k, k.matches(${celString(QUALIFIED_NAME)}) && size(k) <= 317)`,
      "`taintNodeSelector` keys must be label keys, e.g. 'shipstream.io/site.orders'",
    )
    .describe(
    "Labels selecting the site's nodes; the operator taints them while the site is not writable so that application pods leave.",
  ),
  lbIP: string({ maxLength: 45 })
    .rule("isIP(self)", "`lbIP` must be an IPv4 or IPv6 address")
    .describe("Address the DNS record points at while this site is active."),
  storage: object({
    storageClassName: string({ minLength: 1, maxLength: 253 }).describe(
      "StorageClass of the data volume; the cluster default when omitted. It cannot change once the site exists: the volume is already provisioned.",
    ),
    size: quantity()
      .required()
      .describe("Size of the data volume, e.g. '100Gi'. It can grow (the operator patches the site's claim) if the StorageClass allows expansion; it cannot shrink."),
  })
    // Transition rules: they compare with the stored object of the same site (sites is a map keyed by name).
    .rule(
      "quantity(string(self.size)).compareTo(quantity(string(oldSelf.size))) >= 0",
      "`storage.size` may not shrink: a volume never gets smaller; keep the current size",
      { fieldPath: ".size" },
    )
    .rule(
      "has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)",
      "`storage.storageClassName` may not change once the site exists: its volume is already provisioned",
      { fieldPath: ".storageClassName" },
    )
    .describe("Data volume of a managed site. Setting it makes the site managed: the operator runs its MySQL pod."),
  resources: object({
    limits: map(quantity()).describe("Resource limits of the mysql container, e.g. cpu: '2', memory: 8Gi."),
    requests: map(quantity()).describe("Resource requests of the mysql container."),
  }).describe("Compute resources of the mysql container (managed sites)."),
  endpoint: object({
    host: hostName().required().describe("Host name or IP address of the MySQL server."),
    port: integer({ minimum: 1, maximum: 65535, format: "int32" })
      .withDefault(DEFAULTS.site.endpointPort)
      .describe("TCP port of the MySQL server."),
  }).describe("Address of an external MySQL server. Setting it makes the site external: the operator only connects to it."),
  agentUrl: string({ maxLength: 2048, pattern: "^https?://[^\\s/?#]+/?$" }).describe(
    "Base URL of the agent (`bloodraven agent`, docs/agent.md) running beside this external site's server, e.g. 'http://db-iad.example.com:8080'. The operator asks the other sites' agents before an emergency promotion (`sidecar.awaitSelfFence`).",
  ),
})
  .rule(
    "has(self.endpoint) != has(self.storage)",
    "a site must set exactly one of `endpoint` (an external MySQL server the operator connects to) or `storage` (a site the operator runs)",
  )
  .rule(
    "!has(self.endpoint) || !(has(self.zone) || has(self.resources))",
    "`zone` and `resources` may not be set on an external site (one with `endpoint`): the operator runs no pods for it",
  )
  .rule("!has(self.agentUrl) || has(self.endpoint)", "`agentUrl` may not be set on a managed site (one with `storage`): it is for external sites")
  .rule(
    "!has(self.storage) || self.role == 'read-only' || has(self.taintNodeSelector)",
    "a managed site whose role is not 'read-only' must set `taintNodeSelector`: the operator taints those nodes while the site is not writable",
  );

const ownedOptionLiterals = OPERATOR_OWNED_MYSQL_OPTIONS.flatMap((o) => [o, `loose_${o}`])
  .map((o) => `'${o}'`)
  .join(", ");

/** A restore field's rules against the rest of the spec: managed sites, profiles that exist, a primary-candidate site. */
function restoreRules<S extends Schema<unknown, unknown, Presence>>(spec: S, field: "initFromBackup" | "restoreInPlace", storage: string, siteRole: string): S {
  return spec
    .rule(`!has(self.${field}) || self.sites.all(s, has(s.storage))`, storage, { fieldPath: `.${field}` })
    .rule(
      `!has(self.${field}) || (has(self.backup) && self.backup.profiles.exists(p, p.name == self.${field}.profileName))`,
      `\`${field}.profileName\` must name a profile of \`backup.profiles\`: the store the backup is read from`,
      { fieldPath: `.${field}.profileName` },
    )
    .rule(
      `!has(self.${field}) || !has(self.${field}.archiveProfileName) || (has(self.backup) && self.backup.profiles.exists(p, p.name == self.${field}.archiveProfileName))`,
      `\`${field}.archiveProfileName\` must name a profile of \`backup.profiles\`: the store the binary log archive is read from`,
      { fieldPath: `.${field}.archiveProfileName` },
    )
    .rule(
      `!has(self.${field}) || !has(self.${field}.site) || self.sites.exists(s, s.name == self.${field}.site && s.role == 'primary-candidate')`,
      `\`${field}.site\` must name a site of \`sites\` with role 'primary-candidate': ${siteRole}`,
      { fieldPath: `.${field}.site` },
    ) as S;
}

export const specSchema = object({
  image: image().withDefault(DEFAULTS.image).describe("MySQL server image of managed sites."),
  sidecarImage: image().describe(
    "Sidecar image of managed sites. When omitted the operator uses the sidecar that matches its own version, so an operator upgrade never leaves a stale sidecar behind.",
  ),
  sites: array(siteSpecSchema, {
    minItems: LIMITS.minSites,
    maxItems: LIMITS.maxSites,
    listType: "map",
    listMapKeys: ["name"],
  })
    .required()
    .describe("The sites of the group. Their order is the tie-break order for promotion after `splitBrainPolicy`."),
  credentials: object({
    operator: secretRef()
      .required()
      .describe("MySQL account the operator uses to poll, fence, promote and clone (needs all privileges with grant option)."),
    replication: secretRef().describe(
      "MySQL account replicas use to connect to their source; the operator account when omitted. Created and kept by the operator in a group with managed sites.",
    ),
    application: object({
      ...secretRefFields(),
      databases: array(string({ pattern: SCOPED_DATABASE, maxLength: 64 }), { maxItems: 64, listType: "set" })
        .rule(
          "self.all(d, !(d.lowerAscii() in ['mysql', 'sys', 'performance_schema', 'information_schema']))",
          "`credentials.application.databases` may not name a system schema (mysql, sys, performance_schema, information_schema): the application account must not write grant tables",
        )
        .describe(
          "The databases the application account works on; its privileges are granted on each (`<db>`.*) and revoked on `*.*` and on every other database. Omitted: on `*.*`, the system schema included (docs/managed-sites.md).",
        ),
    }).describe("Managed sites: an account for applications (data and schema work, nothing that passes read_only), created and kept by the operator."),
    monitoring: secretRef().describe("Managed sites: an account for exporters (PROCESS, replication status, performance_schema), created and kept by the operator."),
    backup: secretRef().describe("Managed sites: an account for backup tools (consistent reads, locks, binary log positions), created and kept by the operator."),
  }).describe("Per-role MySQL accounts, each read from a Secret. Exactly one of `credentials` and `secretName` must be set."),
  secretName: string({ pattern: DNS_SUBDOMAIN, maxLength: 253 }).describe(
    "Legacy: a Secret with key `dsn` (user:password@tcp(host:port)/) that every component uses. Prefer `credentials`.",
  ),
  dns: object({
    hostname: string({ pattern: DNS_SUBDOMAIN, minLength: 1, maxLength: 253 })
      .required()
      .describe("Name of the A/AAAA record that follows the active site."),
    ttl: integer({ minimum: 1, maximum: 86400, format: "int32" })
      .withDefault(DEFAULTS.dns.ttl)
      .describe("TTL of the record, in seconds."),
  }).describe("DNS record (an external-dns DNSEndpoint) pointing at the active site's `lbIP`. Omit it when clients find the primary another way."),
  pollInterval: duration().withDefault(DEFAULTS.pollInterval).describe("How often every site is polled."),
  failureThreshold: integer({ minimum: 1, format: "int32" })
    .withDefault(DEFAULTS.failureThreshold)
    .describe("Consecutive failed polls before a site counts as unreachable."),
  recoveryThreshold: integer({ minimum: 1, format: "int32" })
    .withDefault(DEFAULTS.recoveryThreshold)
    .describe("Consecutive polls that see a site writable before it counts as writable."),
  failoverCooldown: duration()
    .withDefault(DEFAULTS.failoverCooldown)
    .describe("Minimum time between two failovers (emergency or planned). Raise it (e.g. to '24h') to hold automatic failover during maintenance."),
  connectionDrainTimeout: duration()
    .withDefault(DEFAULTS.connectionDrainTimeout)
    .describe("How long application sessions on a fenced former primary are drained before the rest are killed."),
  replication: object({
    maxLagSeconds: integer({ minimum: 0, format: "int64" })
      .withDefault(DEFAULTS.replication.maxLagSeconds)
      .describe("Replication lag above which the group reports Degraded (reason ReplicationLagging). Never a promotion gate."),
  })
    .withDefault({})
    .describe("Replication health thresholds."),
  plannedFailover: object({
    maxLagWait: duration()
      .withDefault(DEFAULTS.plannedFailover.maxLagWait)
      .describe("How long the target may take to catch up with the fenced source before the switchover is rolled back. The annotation may override it."),
    drainTimeout: duration()
      .withDefault(DEFAULTS.plannedFailover.drainTimeout)
      .describe("How long the operator waits for the application sessions open on the source when it was fenced to end (they are killed) before the switchover goes on anyway."),
    onCooldown: enumOf(ON_COOLDOWN_ACTIONS)
      .withDefault(DEFAULTS.plannedFailover.onCooldown)
      .describe("What a request inside `failoverCooldown` does: reject fails it; defer waits until the cooldown ends."),
  })
    .withDefault({})
    .describe("Defaults for planned failovers requested with the planned-failover annotation."),
  emergencyFailover: object({
    relayLogApplyTimeout: duration()
      .withDefault(DEFAULTS.emergencyFailover.relayLogApplyTimeout)
      .describe("How long an emergency promotion waits for the candidate to apply every transaction it has received (its relay log) before it is made writable."),
    allowReceivedTransactionLoss: boolean()
      .withDefault(DEFAULTS.emergencyFailover.allowReceivedTransactionLoss)
      .describe(
        "false (default): a candidate that cannot apply everything it received within relayLogApplyTimeout is not promoted, and the group stays without a primary until it can or a human decides. true: it is promoted anyway, and the received transactions it discards are recorded in status.lastFailoverLostGtid, a DataLossDetected event and bloodraven_failover_lost_transactions_total.",
      ),
  })
    .withDefault({})
    .describe("How an emergency (unplanned) promotion treats the candidate's received but not yet applied transactions."),
  splitBrainPolicy: object({
    sitePriorities: array(siteName(), { minItems: 1, maxItems: LIMITS.maxSites, listType: "set" })
      .required()
      .describe("Primary-candidate sites, most preferred first."),
  }).describe(
    "When several sites are writable and there is no failover history to decide, keep the first listed writable site and fence the others. Without it the operator only alerts.",
  ),
  sidecar: object({
    peerCheckInterval: duration()
      .withDefault(DEFAULTS.sidecar.peerCheckInterval)
      .rule("duration(self) >= duration('1s')", "`sidecar.peerCheckInterval` must be at least 1s")
      .describe("How often each agent asks the operator and its peers (the agents' --peer-check-interval)."),
    leaseTimeout: duration()
      .withDefault(DEFAULTS.sidecar.leaseTimeout)
      .describe(
        "How long a writable server's agent keeps it writable without hearing the operator stand behind it or reaching a majority of the sites (the agents' --lease-timeout; agents use the shorter of theirs and this one).",
      ),
    awaitSelfFence: boolean()
      .withDefault(DEFAULTS.sidecar.awaitSelfFence)
      .describe(
        "true (default): before an emergency promotion away from an unreachable primary that runs an agent, the operator waits until that agent has surely fenced its server: leaseTimeout plus 1s after the last moment it can have heard from the operator or a majority, as the other sites' agents report. false: promote without waiting, as the original did (a partition can then leave two writable sites for up to leaseTimeout).",
      ),
    fenceDeadline: boolean()
      .withDefault(DEFAULTS.sidecar.fenceDeadline)
      .describe(
        "true (default): managed sites' agents keep their writable server's own fence deadline, so that the server fences itself at the lease's end even when its agent hangs (MariaDB, which needs event_scheduler = ON, set in managed sites' option file). false: only the agent fences (the agents' --fence-deadline=off).",
      ),
  })
    .withDefault({})
    .rule(
      // has(): the API server checks the rule against the bare `{}` default too, before the defaults inside it apply.
      "!has(self.leaseTimeout) || !has(self.peerCheckInterval) || duration(self.leaseTimeout).getMilliseconds() >= 3 * duration(self.peerCheckInterval).getMilliseconds()",
      "`sidecar.leaseTimeout` must be at least 3 x `sidecar.peerCheckInterval`, so that one lost answer never fences a healthy primary",
      { fieldPath: ".leaseTimeout" },
    )
    .describe("The per-site agents' self-fencing settings, and whether the operator waits for it (docs/agent.md)."),
  updateStrategy: enumOf(UPDATE_STRATEGIES)
    .withDefault(DEFAULTS.updateStrategy)
    .describe("OrderedUpdate: replicas first, then a switchover, then the old primary. Recreate: every managed site at once."),
  backup: backupSpecSchema.describe("Backups: where they go (profiles), when they run (schedules), retries, and the binary log archive for point-in-time recovery (docs/backups.md)."),
  initFromBackup: initFromBackupSchema,
  restoreInPlace: restoreInPlaceSchema,
  dragonfly: dragonflySpecSchema,
  mysqlConf: map(string({ maxLength: 1024, pattern: "^[^\\r\\n]*$" }), { maxProperties: 64 })
    .rule(
      "self.all(k, k.matches('^[A-Za-z0-9][-A-Za-z0-9_]*$') && size(k) <= 64)",
      "`mysqlConf` keys must be MySQL option names: letters, digits, '-' and '_', at most 64 characters",
    )
    .rule(
      `self.all(k, !(k.lowerAscii().replace('-', '_') in [${ownedOptionLiterals}]))`,
      `\`mysqlConf\` may not set options the operator owns: ${OPERATOR_OWNED_MYSQL_OPTIONS.join(", ")}`,
    )
    .describe("Extra my.cnf options for managed sites, option name to value."),
})
  .rule(
    "self.sites.filter(s, s.role == 'primary-candidate').size() >= 2",
    "`sites` must include at least two sites with role 'primary-candidate'",
    { fieldPath: ".sites" },
  )
  .rule("has(self.credentials) != has(self.secretName)", "exactly one of `credentials` and `secretName` must be set")
  .apply((spec) => restoreRules(spec, "initFromBackup", "`initFromBackup` fills managed sites: every site must set `storage`", "it becomes the first primary"))
  .apply((spec) => restoreRules(spec, "restoreInPlace", "`restoreInPlace` restores managed sites: every site must set `storage`", "it is the primary after the restore"))
  .rule(
    "!has(self.splitBrainPolicy) || self.splitBrainPolicy.sitePriorities.all(p, self.sites.exists(s, s.name == p && s.role == 'primary-candidate'))",
    "every entry of `splitBrainPolicy.sitePriorities` must name a site in `sites` with role 'primary-candidate'",
    { fieldPath: ".splitBrainPolicy.sitePriorities" },
  )
  .rule(
    "!has(self.dns) || self.sites.all(s, s.role == 'read-only' || has(s.lbIP))",
    "when `dns` is set, every site whose role is not 'read-only' must set `lbIP`, the address the record points at",
    { fieldPath: ".sites" },
  )
  .rule(
    "!has(self.dragonfly) || !has(self.dragonfly.sites) || self.dragonfly.sites.all(d, has(d.endpoint) || (has(self.dragonfly.image) && self.sites.exists(s, s.name == d.name && has(s.storage))))",
    "a `dragonfly.sites` entry without `endpoint` is a cache server the operator runs beside the site's database: it needs `dragonfly.image`, and the site must be managed (`storage`)",
    { fieldPath: ".dragonfly.sites" },
  )
  .rule(
    "!has(self.dragonfly) || !has(self.dragonfly.sites) || self.dragonfly.sites.all(d, self.sites.exists(s, s.name == d.name))",
    "every entry of `dragonfly.sites` must name a site in `sites`",
    { fieldPath: ".dragonfly.sites" },
  )
  .rule(
    "self.sites.all(a, !has(a.endpoint) || self.sites.exists_one(b, has(b.endpoint) && b.endpoint.host == a.endpoint.host && b.endpoint.port == a.endpoint.port))",
    "two sites may not have the same `endpoint` host and port",
    { fieldPath: ".sites" },
  )
  .describe("Desired state of the group: its sites, how they are reached, and the failover policy.");

const conditionSchema = object({
  type: string({ pattern: QUALIFIED_NAME, maxLength: 316 })
    .required()
    .describe("Condition type in CamelCase: Ready, Degraded, RecoveryPending, Bootstrapping, Updating."),
  status: enumOf(CONDITION_STATUSES).required(),
  observedGeneration: integer({ minimum: 0, format: "int64" }).describe("metadata.generation the condition was computed for."),
  lastTransitionTime: timestamp().required().describe("When `status` last changed."),
  reason: string({ pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", minLength: 1, maxLength: 1024 })
    .required()
    .describe("CamelCase category of the last transition, for machines."),
  message: string({ maxLength: 32768 }).required().describe("Details of the last transition, for people."),
});

const siteStatusSchema = object({
  name: siteName().required(),
  state: enumOf(SITE_STATES).required().describe("What the last polls concluded about the site."),
  lastSeen: timestamp().describe("Last successful poll."),
  gtidExecuted: string().describe("@@gtid_executed at the last successful poll."),
  replicating: boolean().describe("Both replication threads are running."),
  secondsBehindSource: nullable(integer({ minimum: 0, format: "int64" })).describe(
    "Replication lag reported by the server; null when it is not replicating.",
  ),
  sourceHost: string().describe("Host the site replicates from."),
  lastError: string().describe("Last poll or replication error, empty when healthy."),
  recoveryState: enumOf(RECOVERY_STATES).describe(
    "RecoveryInProgress: a former primary is being turned into a replica. RecoveryBlocked: it has divergent transactions and needs a reclone. ErrantTransactions: it replicates from the primary but holds transactions the primary never had (divergentGtid); it stays a replica and a candidate.",
  ),
  divergentGtid: string().describe("Transactions this site has that the active primary lacks."),
  divergentTransactionCount: integer({ minimum: 0, format: "int64" }).describe("Number of transactions in `divergentGtid`."),
  pod: object({
    name: string().required(),
    phase: string().required().describe("The pod's phase (Pending, Running, Succeeded, Failed, Unknown), or Terminating while it is being deleted."),
    ready: boolean().required().describe("The kubelet's Ready condition: mysqld accepts connections."),
    restarts: integer({ minimum: 0, format: "int32" }).required().describe("Restarts of the mysql container."),
    node: string().describe("Node the pod runs on."),
  }).describe("Managed sites: the site's pod as the kubelet reports it, read at most every 10 s; absent while there is none."),
});

const plannedFailoverStatusSchema = object({
  requestId: string().describe("Identifies the request this block describes, so a waiting client never reads an earlier request's result."),
  phase: enumOf(PLANNED_FAILOVER_PHASES).required(),
  target: string().describe("Site being promoted."),
  source: string().describe("Primary at the start of the switchover."),
  reason: string().describe("CamelCase reason of the last transition (e.g. CooldownActive, LagTimeout)."),
  message: string(),
  startTime: timestamp(),
  phaseTime: timestamp().describe("When the current phase was entered."),
  completionTime: timestamp(),
  maxLagWait: string({ pattern: DURATION_PATTERN }).describe("Effective maxLagWait (annotation or spec)."),
  drainTimeout: string({ pattern: DURATION_PATTERN }).describe("Effective drainTimeout."),
  acceptErrant: boolean().describe("The request accepts a target that holds transactions the source never had (acceptErrant=true in the annotation)."),
  retryAfter: timestamp().describe("When a Deferred request is validated again."),
  rollingBack: boolean().describe("A rollback is in progress: the source is being unfenced because of `reason` (retried every cycle until it is writable again; the phase stays the one interrupted)."),
  sourceGtidAtFence: string().describe("@@gtid_executed of the source once fenced; the target must contain it before promotion."),
  transactionsLost: integer({ minimum: 0, format: "int64" }).describe("Zero for every successful switchover."),
});

const bootstrapStatusSchema = object({
  site: string().required().describe("The site whose data is replaced."),
  source: enumOf(BOOTSTRAP_SOURCES).required().describe("reclone: the reclone-site annotation; auto-clone: the operator found the site empty; restore-in-place: spec.restoreInPlace replaced the primary's data, and the site's is replaced by a copy of it."),
  phase: enumOf(BOOTSTRAP_PHASES).required().describe("Cloning, WaitingForRestart, SetupReplication, then Done or Failed; the Bootstrapping condition's reason."),
  donor: string().required().describe("The site the copy comes from: the confirmed active primary when the clone started."),
  cloneId: string().required().describe("Identifies the job on the recipient's agent: an operator that restarts follows the same job instead of starting another."),
  request: string().describe("The reclone-site annotation value that started it; removed from the group when the attempt ends."),
  message: string(),
  startTime: timestamp().required(),
  phaseTime: timestamp().describe("When the current phase was entered."),
  completionTime: timestamp(),
  bytes: integer({ minimum: 0, format: "int64" }).describe("Bytes of the copy received so far."),
  gtid: string().describe("The copy's GTID position, once prepared."),
});

export const statusSchema = object({
  observedGeneration: integer({ minimum: 0, format: "int64" }).describe("metadata.generation the operator last acted on."),
  activeSite: string().describe("The one writable primary-candidate; empty when there is none or more than one."),
  lastKnownPrimary: string().describe(
    "The site last seen as the single writable primary. Kept while activeSite is empty, so that emergency failover knows which primary disappeared, also after an operator restart.",
  ),
  summary: string({ pattern: SUMMARY }).describe("Site states at a glance: writable W / read-only RO / unreachable or unknown X."),
  sites: array(siteStatusSchema, { maxItems: LIMITS.maxSites, listType: "map", listMapKeys: ["name"] }),
  conditions: array(conditionSchema, { maxItems: 16, listType: "map", listMapKeys: ["type"] }),
  lastFailover: timestamp().describe("When the last failover (emergency or planned) made a site writable."),
  lastFailoverTarget: string().describe("Site promoted by the last failover."),
  failoverIntent: object({
    target: string().required().describe("Site being promoted."),
    source: string().describe("The primary it replaces."),
    startedAt: timestamp().required().describe("When the intent was recorded, just before the target was made writable."),
    gtidExecuted: string().describe("The target's executed transactions at that moment (what promotionGtidExecuted will be)."),
  }).describe(
    "An emergency promotion that was decided and recorded before the target was made writable, and whose outcome is not recorded yet. The operator settles it from the servers: the target writable means it happened (the failover record is written from this intent), read-only means it did not. While it is open no other promotion starts.",
  ),
  promotionGtidExecuted: string().describe("@@gtid_executed of the last promoted site just before it became writable."),
  lastFailoverLostGtid: string().describe(
    "Transactions the last emergency promotion discarded: received by the promoted site but never applied (only with emergencyFailover.allowReceivedTransactionLoss). Empty when nothing was lost.",
  ),
  lastFailoverLostTransactionCount: integer({ minimum: 0, format: "int64" }).describe("How many transactions lastFailoverLostGtid holds, when the flavor can count them."),
  plannedFailover: plannedFailoverStatusSchema.describe("The current or last planned failover."),
  bootstrap: bootstrapStatusSchema.describe("The current or last clone of a site (reclone or auto-clone), recorded before each step runs."),
  restore: restoreStatusSchema,
  restoreInPlace: restoreInPlaceStatusSchema,
  dragonfly: dragonflyStatusSchema,
  pitr: pitrStatusSchema,
}).describe("Observed state, written by the operator through the status subresource.");

export const failoverGroupSchema = object({
  apiVersion: string(),
  kind: string(),
  metadata: object({}),
  spec: specSchema.required(),
  status: statusSchema,
})
  .rule(
    `self.metadata.name.matches('${DNS_LABEL}') && size(self.metadata.name) <= ${LIMITS.maxGroupNameLength}`,
    `\`metadata.name\` must be a DNS label of at most ${LIMITS.maxGroupNameLength} characters: it becomes part of object names and of the node taint key`,
  )
  .rule(
    "!has(self.status) || !has(self.status.activeSite) || self.status.activeSite == '' || self.spec.sites.exists(s, s.name == self.status.activeSite)",
    "the active site (status.activeSite) may not be removed from `spec.sites`: switch over to another site first (kubectl bloodraven failover <group> <site> --wait)",
    { fieldPath: ".spec.sites" },
  )
  .describe("A group of MySQL sites, one writable at a time, that the operator fails over between.");

export type MysqlFailoverGroupSpec = Input<typeof specSchema>;
export type SiteSpec = Input<typeof siteSpecSchema>;
/** The spec as the apiserver serves it: every defaulted field is present. */
export type DefaultedMysqlFailoverGroupSpec = Output<typeof specSchema>;
export type DefaultedSiteSpec = Output<typeof siteSpecSchema>;
export type MysqlFailoverGroupStatus = Input<typeof statusSchema>;
export type SiteStatus = Input<typeof siteStatusSchema>;
export type PlannedFailoverStatus = Input<typeof plannedFailoverStatusSchema>;
export type BootstrapStatus = Input<typeof bootstrapStatusSchema>;
export type Condition = Input<typeof conditionSchema>;

export type MysqlFailoverGroup = CustomResource<typeof FAILOVER_GROUP.kind, MysqlFailoverGroupSpec, MysqlFailoverGroupStatus>;

/** The spec with the schema's defaults filled in, exactly as the apiserver would; `spec` is not modified. */
export function withDefaults(spec: MysqlFailoverGroupSpec): DefaultedMysqlFailoverGroupSpec {
  return applyDefaults(specSchema, spec);
}

/** The `status.summary` text shown in the Sites column, e.g. `1W/2RO/0X`. */
export function siteSummary(states: readonly SiteState[]): string {
  const count = (match: (s: SiteState) => boolean): number => states.filter(match).length;
  const writable = count((s) => s === "writable");
  const readOnly = count((s) => s === "read-only");
  return `${writable}W/${readOnly}RO/${states.length - writable - readOnly}X`;
}
