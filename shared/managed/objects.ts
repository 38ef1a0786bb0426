/**
 * The Kubernetes objects of a group's managed sites (those with `storage`), computed from the
 * group alone so the reconciler only applies them. One StatefulSet of one replica and one headless
 * Service per site; for the group a ConfigMap with each site's server options, a writer and a
 * reader Service that follow the role label, and a PodDisruptionBudget over the candidates.
 */
import { createHmac } from "node:crypto";
import type { V1ConfigMap, V1OwnerReference, V1PodDisruptionBudget, V1Secret, V1Service, V1StatefulSet, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { DefaultedMysqlFailoverGroupSpec, DefaultedSiteSpec } from "../api/failover-group.js";
import type { ManagedInventory, SiteInventory } from "./inventory.js";
import { AGENT_PORT, managedNames, managedSites, selector } from "./sites.js";
import { fnv1a } from "../hash.js";
import { backupWithDefaults, type BackupProfile } from "../api/backup.js";
import { ARCHIVE_STORAGE, storageVariable, storeAccess } from "../backup/store-access.js";
import { parseQuantity } from "./quantity.js";
import { API_GROUP_VERSION, FAILOVER_GROUP, LABELS, READ_ONLY_TAINT_EFFECT, readOnlyTaintKey } from "../names.js";

export const MYSQL_PORT = 3306;
/** A clean InnoDB shutdown of a busy server flushes its buffer pool; the kubelet must not cut it short. */
export const TERMINATION_GRACE_SECONDS = 120;
/** Where the site's option file is mounted; passed first on the command line, as mysqld requires. */
export const OPTION_FILE = "/etc/bloodraven/my.cnf";
/** Where the site's volume is mounted. */
export const VOLUME_DIR = "/var/lib/mysql";
/**
 * The datadir, one level down the volume: a clone is staged beside it on the same filesystem
 * (VOLUME_DIR/data.clone), so that swapping it in is a rename; and a filesystem's lost+found is
 * never taken for a database.
 */
export const DATA_DIR = `${VOLUME_DIR}/data`;
export const CONFIG_HASH_ANNOTATION = "bloodraven.shipstream.io/config-hash";

export const MANAGED_ROLES = { primary: "primary", replica: "replica" } as const;

export interface ManagedGroup {
  name: string;
  namespace: string;
  uid: string;
  spec: DefaultedMysqlFailoverGroupSpec;
}

/**
 * The sidecar of each managed site (`bloodraven agent`, docs/agent.md): the image that holds the
 * agent (spec.sidecarImage, or the operator's own), and the operator's status API it asks. Absent:
 * no sidecar.
 */
export interface SidecarOptions {
  image: string;
  operatorUrl: string;
}

/** The operator's Secret, mounted into the sidecar: the kubelet updates the file when it changes, so a rotated password reaches the agent. */
const CREDENTIALS_DIR = "/etc/bloodraven/credentials";
/** The group's agent token Secret (agentTokenSecret), mounted into the sidecar. */
const AGENT_TOKEN_DIR = "/etc/bloodraven/agent-token";
export const AGENT_TOKEN_KEY = "token";
/**
 * Where the init container puts the agent (Node.js and the bundle) for the sidecar, which runs it
 * in the server's image: the backup and clone tools must be the server's own, of its exact
 * version, and they are in that image, not in the operator's.
 */
const AGENT_DIR = "/opt/bloodraven";
/** How a container of another image runs the bundle that agentInstaller copied into AGENT_DIR. */
export const INSTALLED_AGENT_COMMAND = [`${AGENT_DIR}/node`, `${AGENT_DIR}/bloodraven.mjs`];
/** The emptyDir volume agentInstaller fills, and where a container mounts it (read-only). */
export const INSTALLED_AGENT_VOLUME = { name: "agent", mountPath: AGENT_DIR } as const;
/** The archive's Secrets, and a `pvc` profile's claim, in the sidecar. */
const ARCHIVE_SECRETS_DIR = "/etc/bloodraven/archive";
const ARCHIVE_VOLUME_DIR = "/archive";

/** The binary log archive of `spec.backup.pitr`, when enabled: its profile, how often the agent scans, the binary log size. */
export interface PitrArchive {
  readonly profile: BackupProfile;
  readonly pollInterval: string;
  readonly maxBinlogBytes: number;
}

export function pitrArchive(spec: DefaultedMysqlFailoverGroupSpec): PitrArchive | undefined {
  if (!spec.backup) return undefined;
  const backup = backupWithDefaults(spec.backup);
  const profile = backup.profiles.find((p) => p.name === backup.pitr.profileName);
  if (!backup.pitr.enabled || !profile) return undefined;
  const size = parseQuantity(backup.pitr.maxBinlogSize);
  return { profile, pollInterval: backup.pitr.archivePollInterval, maxBinlogBytes: size ? Number(size.numerator / size.denominator) : 0 };
}

function labels(group: string, site?: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "mysql",
    "app.kubernetes.io/instance": group,
    [LABELS.managedBy]: "bloodraven",
    [LABELS.failoverGroup]: group,
    ...(site ? { [LABELS.site]: site } : {}),
  };
}

/** The group as the controller of an object it owns: deleting the group deletes it. */
export function ownerReference(group: ManagedGroup): V1OwnerReference {
  return { apiVersion: API_GROUP_VERSION, kind: FAILOVER_GROUP.kind, name: group.name, uid: group.uid, controller: true, blockOwnerDeletion: true };
}

function metadata(group: ManagedGroup, name: string, site?: string) {
  return { name, namespace: group.namespace, labels: labels(group.name, site), ownerReferences: [ownerReference(group)] };
}

/**
 * server_id of a site: a hash of its name, so that adding or removing another site never changes
 * it (a server whose id changes writes GTIDs under a new id). Within 1000..2^32-1; ids below 1000
 * stay free for servers outside the group, e.g. a migration source. Two sites of one group whose
 * names hash alike are refused by sameServerIds() before anything is applied.
 */
export function serverId(site: string): number {
  return 1000 + (fnv1a(site) % (2 ** 32 - 1 - 1000));
}

/** Site names of the group that would get the same server_id; empty when all differ. */
export function sameServerIds(spec: DefaultedMysqlFailoverGroupSpec): string[] {
  const seen = new Map<number, string>();
  const clashes: string[] = [];
  for (const site of spec.sites) {
    const id = serverId(site.name);
    const other = seen.get(id);
    if (other !== undefined) clashes.push(other, site.name);
    seen.set(id, site.name);
  }
  return clashes;
}

/**
 * The option file of one site. Every server starts read-only, so a restarted server never comes
 * back writable on its own; the operator makes the primary writable. Options one flavor lacks are
 * `loose_`: MySQL ignores MariaDB's and the other way round, with a warning.
 */
export function optionFile(spec: DefaultedMysqlFailoverGroupSpec, site: string): string {
  const required: [string, string][] = [
    ["server_id", String(serverId(site))],
    ["datadir", DATA_DIR],
    ["log_bin", "mysql-bin"],
    ["binlog_format", "ROW"],
    ["loose_log_replica_updates", "ON"],
    ["loose_log_slave_updates", "ON"],
    ["loose_gtid_mode", "ON"],
    ["loose_enforce_gtid_consistency", "ON"],
    ["loose_gtid_strict_mode", "ON"],
    ["read_only", "ON"],
    ["loose_super_read_only", "ON"],
    ["loose_skip_replica_start", "ON"],
    ["loose_skip_slave_start", "ON"],
    // Runs the agent's fence deadline (operator/mysql/flavor.ts fenceDeadline).
    ["event_scheduler", "ON"],
  ];
  // The archive takes a binary log once it is sealed: its size bounds what the archive lags by.
  const archive = pitrArchive(spec);
  const sealing: [string, string][] = archive && archive.maxBinlogBytes > 0 ? [["max_binlog_size", String(archive.maxBinlogBytes)]] : [];
  const extra = Object.entries(spec.mysqlConf ?? {})
    .filter(([k]) => sealing.length === 0 || k.replaceAll("-", "_") !== "max_binlog_size")
    .sort(([a], [b]) => a.localeCompare(b));
  const lines = [...required, ...sealing, ...extra].map(([k, v]) => `${k} = ${v}`);
  return `# Written by bloodraven for site ${site}; spec.mysqlConf adds to it.\n[mysqld]\n${lines.join("\n")}\n`;
}

export function configMap(group: ManagedGroup): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: metadata(group, managedNames.config(group.name)),
    data: Object.fromEntries(managedSites(group.spec).map((s) => [`${s.name}.cnf`, optionFile(group.spec, s.name)])),
  };
}

/** Quantities as the API sends them: strings (the CRD accepts `cpu: 2` as well as `cpu: "2"`). */
function quantities(values: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
}

/**
 * The site's nodes: those its taintNodeSelector labels select (they carry the read-only taint) and
 * its zone. Neither set: anywhere.
 */
function nodeAffinity(site: DefaultedSiteSpec) {
  const expressions = [
    ...Object.entries(site.taintNodeSelector ?? {}).map(([key, value]) => ({ key, operator: "In", values: [value] })),
    ...(site.zone ? [{ key: "topology.kubernetes.io/zone", operator: "In", values: [site.zone] }] : []),
  ];
  if (expressions.length === 0) return undefined;
  return { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: expressions }] } } };
}

/**
 * One site's server. The probes only ask whether mysqld accepts connections: a fenced (read-only)
 * or lagging server is healthy and must not be restarted or taken out of its own Service.
 */
export function statefulSet(
  group: ManagedGroup,
  site: DefaultedSiteSpec,
  credentialsSecret: OperatorSecret,
  inventory: SiteInventory | undefined,
  sidecar?: SidecarOptions,
): V1StatefulSet {
  const name = managedNames.site(group.name, site.name);
  const podLabels = labels(group.name, site.name);
  const password = { valueFrom: { secretKeyRef: { name: credentialsSecret.name, key: credentialsSecret.passwordKey } } };
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: metadata(group, name, site.name),
    spec: {
      replicas: 1,
      serviceName: name,
      selector: { matchLabels: selector(group.name, { [LABELS.site]: site.name }) },
      // The operator decides when a server restarts (ordered updates); the controller never does on its own.
      updateStrategy: { type: "OnDelete" },
      template: {
        // The option file is mounted from the ConfigMap, which a running pod does not reread: its
        // hash in the template makes an option change a new revision, rolled like an image change.
        metadata: { labels: podLabels, annotations: { [CONFIG_HASH_ANNOTATION]: fnv1a(optionFile(group.spec, site.name)).toString(16) } },
        spec: {
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          affinity: nodeAffinity(site),
          // The operator taints a site's nodes while it is not writable, to move applications away;
          // the site's own server stays.
          tolerations: [{ key: readOnlyTaintKey(group.name), operator: "Exists", effect: READ_ONLY_TAINT_EFFECT }],
          containers: [
            {
              name: "mysql",
              image: group.spec.image,
              args: [`--defaults-extra-file=${OPTION_FILE}`],
              // The official MySQL and MariaDB images, and the test image, initialise an empty datadir with this root password.
              env: [
                { name: "MYSQL_ROOT_PASSWORD", ...password },
                { name: "MARIADB_ROOT_PASSWORD", ...password },
              ],
              ports: [{ name: "mysql", containerPort: MYSQL_PORT }],
              resources: site.resources && {
                limits: site.resources.limits && quantities(site.resources.limits),
                requests: site.resources.requests && quantities(site.resources.requests),
              },
              volumeMounts: [
                { name: "data", mountPath: VOLUME_DIR },
                { name: "config", mountPath: OPTION_FILE, subPath: `${site.name}.cnf`, readOnly: true },
              ],
              readinessProbe: { tcpSocket: { port: MYSQL_PORT }, periodSeconds: 2, failureThreshold: 3 },
              livenessProbe: { tcpSocket: { port: MYSQL_PORT }, initialDelaySeconds: 30, periodSeconds: 10, failureThreshold: 6 },
            },
            ...(sidecar ? [sidecarContainer(group, site, credentialsSecret, sidecar)] : []),
          ],
          ...(sidecar ? { initContainers: [agentInstaller(sidecar.image)] } : {}),
          volumes: [
            { name: "config", configMap: { name: managedNames.config(group.name) } },
            ...(sidecar
              ? [
                  { name: "credentials", secret: { secretName: credentialsSecret.name, items: [{ key: credentialsSecret.passwordKey, path: "password" }] } },
                  { name: "agent-token", secret: { secretName: managedNames.agentToken(group.name), items: [{ key: AGENT_TOKEN_KEY, path: AGENT_TOKEN_KEY }] } },
                  { name: "agent", emptyDir: {} },
                  { name: "agent-tmp", emptyDir: {} },
                  ...(archiveAccess(group.spec)?.volumes ?? []),
                ]
              : []),
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: "data", labels: podLabels },
          spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: site.storage?.storageClassName,
            // Immutable once the StatefulSet exists: a larger size goes to the claim (storage.ts).
            resources: { requests: { storage: inventory?.templateSize ?? String(site.storage?.size ?? "") } },
          },
        },
      ],
    },
  };
}

/** The operator's credentials Secret and its keys. */
export interface OperatorSecret {
  name: string;
  usernameKey: string;
  passwordKey: string;
}

/**
 * The site's agent: it fences the server at start and whenever it loses the operator and a
 * majority of the sites, streams backups and clones of the datadir, and archives the binary logs
 * (docs/agent.md). It learns its peers from the operator's answers, so adding a site changes no
 * pod template; it logs in as the operator, whose sessions it therefore never kills. It runs in
 * the server's image as the server's user, so it reads and replaces the datadir's files.
 */
function sidecarContainer(group: ManagedGroup, site: DefaultedSiteSpec, secret: OperatorSecret, sidecar: SidecarOptions) {
  const env: Record<string, string> = {
    BLOODRAVEN_SITE: site.name,
    BLOODRAVEN_GROUP: group.name,
    POD_NAMESPACE: group.namespace,
    BLOODRAVEN_OPERATOR_URL: sidecar.operatorUrl,
    BLOODRAVEN_AGENT_PORT: String(AGENT_PORT),
    BLOODRAVEN_MYSQL_HOST: "127.0.0.1",
    BLOODRAVEN_MYSQL_PORT: String(MYSQL_PORT),
    BLOODRAVEN_MYSQL_PASSWORD_FILE: `${CREDENTIALS_DIR}/password`,
    BLOODRAVEN_AGENT_TOKEN_FILE: `${AGENT_TOKEN_DIR}/${AGENT_TOKEN_KEY}`,
    BLOODRAVEN_DATADIR: DATA_DIR,
    BLOODRAVEN_PEER_CHECK_INTERVAL: group.spec.sidecar.peerCheckInterval,
    BLOODRAVEN_LEASE_TIMEOUT: group.spec.sidecar.leaseTimeout,
    BLOODRAVEN_FENCE_DEADLINE: group.spec.sidecar.fenceDeadline ? "on" : "off",
  };
  const archive = archiveAccess(group.spec);
  if (archive) Object.assign(env, archive.env);
  return {
    name: "sidecar",
    image: group.spec.image,
    command: INSTALLED_AGENT_COMMAND,
    args: ["agent"],
    env: [...Object.entries(env).map(([name, value]) => ({ name, value })), { name: "BLOODRAVEN_MYSQL_USER", valueFrom: { secretKeyRef: { name: secret.name, key: secret.usernameKey } } }],
    ports: [{ name: "agent", containerPort: AGENT_PORT }],
    // A backup or clone stream passes through in bounded buffers; mariadb-backup itself is the larger part.
    resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "512Mi" } },
    volumeMounts: [
      { ...INSTALLED_AGENT_VOLUME, readOnly: true },
      { name: "data", mountPath: VOLUME_DIR },
      { name: "credentials", mountPath: CREDENTIALS_DIR, readOnly: true },
      { name: "agent-token", mountPath: AGENT_TOKEN_DIR, readOnly: true },
      // mariadb-backup's and the agent's temporary files; the root filesystem stays read-only.
      { name: "agent-tmp", mountPath: "/tmp" },
      ...(archive?.mounts ?? []),
    ],
    livenessProbe: { httpGet: { path: "/healthz", port: AGENT_PORT }, periodSeconds: 10, failureThreshold: 3 },
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
  };
}

/**
 * The sidecar's binary log archive (`spec.backup.pitr`): the profile's store as the agent's
 * `BLOODRAVEN_ARCHIVE_*` variables, its Secrets and claim mounted. Every site's agent has it:
 * only the primary's uploads, and the next primary's takes over within one scan.
 */
function archiveAccess(spec: DefaultedMysqlFailoverGroupSpec): { env: Record<string, string>; volumes: readonly V1Volume[]; mounts: readonly V1VolumeMount[] } | undefined {
  const archive = pitrArchive(spec);
  if (!archive) return undefined;
  const access = storeAccess(archive.profile, ARCHIVE_STORAGE, { secretsDir: ARCHIVE_SECRETS_DIR, volumePath: ARCHIVE_VOLUME_DIR }, true);
  const env = Object.fromEntries(access.settings.map(([name, value]) => [storageVariable(ARCHIVE_STORAGE, name), value]));
  return { env: { ...env, ...access.env, BLOODRAVEN_ARCHIVE_POLL_INTERVAL: archive.pollInterval }, volumes: access.volumes, mounts: access.mounts };
}

/** Copies the agent (Node.js and the bundle) out of its image (the operator's) for a container of the server's image. */
export function agentInstaller(image: string) {
  return {
    name: "agent-install",
    image,
    args: ["install-agent", `--target=${AGENT_DIR}`],
    volumeMounts: [INSTALLED_AGENT_VOLUME],
    // The copy's page cache (Node.js is about 120 MB) is charged to the container: a tighter limit is OOM-killed.
    resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "512Mi" } },
    securityContext: { runAsNonRoot: true, runAsUser: 65532, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
  };
}

/**
 * The token the group's agents require on their backup and clone endpoints and send to each
 * other: one per group, so one group's token opens no other group's data. Created once with a
 * random `token` and never rewritten (a new token would lock out the running agents until their
 * files update); owned by the group, so it goes with it.
 */
export function agentTokenSecret(group: ManagedGroup, token: string): V1Secret {
  return { apiVersion: "v1", kind: "Secret", metadata: metadata(group, managedNames.agentToken(group.name)), type: "Opaque", stringData: { [AGENT_TOKEN_KEY]: token } };
}

/** The keys of a previousOperatorSecret. */
export const PREVIOUS_OPERATOR_KEYS = { username: "username", password: "password" } as const;

/**
 * Names the password that replaced a previous one, without revealing it: a hash keyed by the
 * group's uid, so that the same password in another group gives another name.
 */
export function passwordTag(groupUid: string, password: string): string {
  return createHmac("sha256", groupUid).update(password, "utf8").digest("hex").slice(0, 16);
}

/**
 * The operator's password before the operator Secret's changed, kept for the managed servers that
 * still have it: written before the operator changes any server's (an operator that restarts
 * midway still logs in to the others), named by the password that replaced it, so that the next
 * operator finds it from the Secret it reads. One per rotation, never rewritten; owned by the
 * group, so it goes with it.
 */
export function previousOperatorSecret(group: ManagedGroup, replacedBy: string, previous: { user: string; password: string }): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: metadata(group, managedNames.previousOperator(group.name, passwordTag(group.uid, replacedBy))),
    type: "Opaque",
    stringData: { [PREVIOUS_OPERATOR_KEYS.username]: previous.user, [PREVIOUS_OPERATOR_KEYS.password]: previous.password },
  };
}

/** The site's stable address (`mysql-<group>-<site>.<namespace>.svc`), also while its server is not Ready. */
export function siteService(group: ManagedGroup, site: DefaultedSiteSpec): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(group, managedNames.site(group.name, site.name), site.name),
    spec: {
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: selector(group.name, { [LABELS.site]: site.name }),
      ports: [
        { name: "mysql", port: MYSQL_PORT, targetPort: "mysql" },
        { name: "agent", port: AGENT_PORT, targetPort: AGENT_PORT },
      ],
    },
  };
}

function roleService(group: ManagedGroup, name: string, role: string): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(group, name),
    spec: { selector: selector(group.name, { [LABELS.role]: role }), ports: [{ name: "mysql", port: MYSQL_PORT, targetPort: "mysql" }] },
  };
}

/** Never two candidates (the primary among them) evicted at once by a drain; none without managed candidates. */
export function disruptionBudget(group: ManagedGroup): V1PodDisruptionBudget | undefined {
  const candidates = managedSites(group.spec)
    .filter((s) => s.role === "primary-candidate")
    .map((s) => s.name);
  if (candidates.length === 0) return undefined;
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: metadata(group, managedNames.budget(group.name)),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: selector(group.name), matchExpressions: [{ key: LABELS.site, operator: "In", values: candidates }] },
    },
  };
}

export type ManagedObject = V1ConfigMap | V1Service | V1StatefulSet | V1PodDisruptionBudget;

/** Everything the group's managed sites need, in an order that lets each object find what it names. */
export function managedObjects(group: ManagedGroup, credentialsSecret: OperatorSecret, inventory: ManagedInventory, sidecar?: SidecarOptions): ManagedObject[] {
  const sites = managedSites(group.spec);
  if (sites.length === 0) return [];
  const budget = disruptionBudget(group);
  return [
    configMap(group),
    ...sites.map((s) => siteService(group, s)),
    roleService(group, managedNames.writer(group.name), MANAGED_ROLES.primary),
    roleService(group, managedNames.reader(group.name), MANAGED_ROLES.replica),
    ...(budget ? [budget] : []),
    ...sites.map((s) => statefulSet(group, s, credentialsSecret, inventory.get(s.name), sidecar)),
  ];
}
