import type { V1Service, V1StatefulSet } from "@kubernetes/client-node";
import type { DragonflySpec, DragonflyStatus } from "../api/dragonfly.js";
import { ownerReference, type ManagedGroup } from "../managed/objects.js";
import { parseQuantity } from "../managed/quantity.js";
import { selector } from "../managed/sites.js";
import { LABELS, READ_ONLY_TAINT_EFFECT, readOnlyTaintKey } from "../names.js";

/** The cache servers the operator runs (spec.dragonfly entries without `endpoint`). */
export const dragonflyNames = {
  /** The StatefulSet and the Service of a site's cache server. */
  site: (group: string, site: string) => `dragonfly-${group}-${site}`,
  pod: (group: string, site: string) => `dragonfly-${group}-${site}-0`,
  /** The group's cache Service: the master among the servers the operator runs. */
  master: (group: string) => `dragonfly-${group}`,
};

/** The role labels of the servers' pods (LABELS.dragonflyRole). */
export const CACHE_POD_ROLES = { master: "master", replica: "replica", stale: "stale-master" } as const;
export type CachePodRole = (typeof CACHE_POD_ROLES)[keyof typeof CACHE_POD_ROLES];

/** The environment variable the password comes in from the auth Secret; the flags refer to it. */
const PASSWORD_VARIABLE = "DRAGONFLY_PASSWORD";
const DATA_DIR = "/data";
/** `--dbfilename` when snapshots are on. */
export const SNAPSHOT_FILE = "dump";

function labels(group: string, site: string): Record<string, string> {
  return { "app.kubernetes.io/name": "dragonfly", "app.kubernetes.io/instance": group, [LABELS.managedBy]: "bloodraven", [LABELS.dragonflyGroup]: group, [LABELS.site]: site };
}

/** The sites whose cache server the operator runs. */
export function managedCacheSites(spec: DragonflySpec | undefined): string[] {
  if (spec?.enabled !== true) return [];
  return (spec.sites ?? []).filter((s) => s.endpoint === undefined).map((s) => s.name);
}

/** The cache objects the operator finds labelled with a group (LABELS.dragonflyGroup). */
export interface ExistingCacheObjects {
  /**
   * With the StatefulSet's update revision (status.updateRevision), once its controller set it, and
   * whether the controller has seen its latest spec (status.observedGeneration).
   */
  statefulSets: { name: string; updateRevision?: string; settled: boolean }[];
  services: string[];
  /** With the revision of the template each pod was made from (its controller-revision-hash label). */
  pods: { name: string; uid: string; revision?: string }[];
}

export interface CacheObjectRef {
  kind: "StatefulSet" | "Service";
  name: string;
}

/**
 * Whether the group may have cache objects the operator made: it runs servers only under a
 * spec.dragonfly, and removes status.dragonfly only once the servers it no longer runs are
 * deleted. A group with neither has nothing to list.
 */
export function mayHaveCacheObjects(spec: DragonflySpec | undefined, status: DragonflyStatus | undefined): boolean {
  return spec !== undefined || status !== undefined;
}

/**
 * What to delete of the cache servers the operator ran and no longer runs (spec.dragonfly turned
 * off, an entry removed or given an endpoint): a site's StatefulSet and Service, and the group's
 * cache Service once it runs none. Never the server that is the recorded master (`activeSite`)
 * while the cache stays enabled: it goes once the master has moved to a server of the spec, so
 * that removing an entry never drops the sessions' only copy.
 */
export function unwantedCacheObjects(group: string, spec: DragonflySpec | undefined, existing: ExistingCacheObjects, activeSite?: string): CacheObjectRef[] {
  const wanted = new Set(managedCacheSites(spec));
  const master = dragonflyNames.master(group);
  const prefix = dragonflyNames.site(group, "");
  const keep = (name: string): boolean => {
    if (!name.startsWith(prefix)) return true;
    const site = name.slice(prefix.length);
    return wanted.has(site) || (spec?.enabled === true && site === activeSite);
  };
  const statefulSets = existing.statefulSets.map((s) => s.name);
  const serversLeft = wanted.size > 0 || statefulSets.some(keep);
  return [
    ...statefulSets.filter((n) => !keep(n)).map((name) => ({ kind: "StatefulSet" as const, name })),
    ...existing.services.filter((n) => n !== master && !keep(n)).map((name) => ({ kind: "Service" as const, name })),
    ...(!serversLeft && existing.services.includes(master) ? [{ kind: "Service" as const, name: master }] : []),
  ];
}

/** Where a site's cache server is reached: its endpoint, or the Service of the one the operator runs. */
export function cacheAddress(spec: DragonflySpec, group: string, namespace: string, site: string): { host: string; port: number } {
  const entry = (spec.sites ?? []).find((s) => s.name === site);
  if (entry?.endpoint) return { host: entry.endpoint.host, port: entry.endpoint.port };
  return { host: `${dragonflyNames.site(group, site)}.${namespace}.svc`, port: spec.port };
}

/**
 * The StatefulSet and Service of one site's cache server: one replica beside the site's database
 * pod (required pod affinity: the cache follows the database's node, and the sessions stay near
 * where the application writes), tolerating the read-only taint the database's nodes get while
 * they are not the primary's. Its data lives in an emptyDir: it is a cache, and a restarted server
 * copies the sessions from the master (decide.ts). The flags the operator owns come first, then
 * `args`; the password reaches them through an environment variable from the auth Secret.
 */
/**
 * The group's cache Service `dragonfly-<group>`: the pod labelled master among the servers the
 * operator runs, so that in-cluster clients follow the cache master without DNS, as the database's
 * writer Service follows the primary. A stale master is labelled apart and so shed.
 */
export function dragonflyMasterService(group: ManagedGroup, spec: DragonflySpec): V1Service {
  const name = dragonflyNames.master(group.name);
  const groupLabels = { "app.kubernetes.io/name": "dragonfly", "app.kubernetes.io/instance": group.name, [LABELS.managedBy]: "bloodraven", [LABELS.dragonflyGroup]: group.name };
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: group.namespace, labels: groupLabels, ownerReferences: [ownerReference(group)] },
    spec: { selector: { [LABELS.dragonflyGroup]: group.name, [LABELS.dragonflyRole]: CACHE_POD_ROLES.master }, ports: [{ name: "cache", port: spec.port, targetPort: spec.port }] },
  };
}

export function dragonflyObjects(group: ManagedGroup, spec: DragonflySpec, site: string): [V1StatefulSet, V1Service] {
  const name = dragonflyNames.site(group.name, site);
  const meta = { name, namespace: group.namespace, labels: labels(group.name, site), ownerReferences: [ownerReference(group)] };
  const auth = spec.auth;
  const memory = spec.maxMemory === undefined ? undefined : parseQuantity(String(spec.maxMemory));
  const flags = [
    `--port=${spec.port}`,
    `--bind=0.0.0.0`,
    `--dir=${DATA_DIR}`,
    ...(auth ? [`--requirepass=$(${PASSWORD_VARIABLE})`, `--masterauth=$(${PASSWORD_VARIABLE})`] : []),
    ...(spec.adminPort !== undefined ? [`--admin_port=${spec.adminPort}`] : []),
    ...(memory ? [`--maxmemory=${memory.numerator / memory.denominator}`] : []),
    ...(spec.threads !== undefined ? [`--proactor_threads=${spec.threads}`] : []),
    // One file name, so that a server loads its own last snapshot when it starts.
    ...(spec.snapshot ? [`--dbfilename=${SNAPSHOT_FILE}`] : []),
    ...(spec.snapshot?.cron !== undefined ? [`--snapshot_cron=${spec.snapshot.cron}`] : []),
    ...(spec.args ?? []),
  ];
  const volume = spec.snapshot?.storage;
  const statefulSet: V1StatefulSet = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta,
    spec: {
      replicas: 1,
      serviceName: name,
      // The operator restarts each pod on a new template itself, the master last and only once it
      // has handed the master over (shared/dragonfly/roll.ts).
      updateStrategy: { type: "OnDelete" },
      selector: { matchLabels: { [LABELS.dragonflyGroup]: group.name, [LABELS.site]: site } },
      template: {
        metadata: { labels: labels(group.name, site) },
        spec: {
          affinity: {
            podAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: selector(group.name, { [LABELS.site]: site }) }, topologyKey: "kubernetes.io/hostname" }],
            },
          },
          tolerations: [{ key: readOnlyTaintKey(group.name), operator: "Exists", effect: READ_ONLY_TAINT_EFFECT }],
          containers: [
            {
              name: "dragonfly",
              image: spec.image,
              args: flags,
              ...(auth ? { env: [{ name: PASSWORD_VARIABLE, valueFrom: { secretKeyRef: { name: auth.secretName, key: auth.passwordKey } } }] } : {}),
              ports: [{ name: "cache", containerPort: spec.port }],
              volumeMounts: [{ name: "data", mountPath: DATA_DIR }],
              readinessProbe: { tcpSocket: { port: spec.port }, periodSeconds: 2, failureThreshold: 3 },
              livenessProbe: { tcpSocket: { port: spec.port }, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 6 },
            },
          ],
          ...(volume ? {} : { volumes: [{ name: "data", emptyDir: {} }] }),
        },
      },
      ...(volume
        ? {
            // The snapshots are a cache's: they go with the server.
            persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" },
            volumeClaimTemplates: [
              {
                metadata: { name: "data", labels: labels(group.name, site) },
                spec: {
                  accessModes: ["ReadWriteOnce"],
                  ...(volume.storageClassName !== undefined ? { storageClassName: volume.storageClassName } : {}),
                  resources: { requests: { storage: String(volume.size) } },
                },
              },
            ],
          }
        : {}),
    },
  };
  const service: V1Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta,
    spec: { selector: { [LABELS.dragonflyGroup]: group.name, [LABELS.site]: site }, ports: [{ name: "cache", port: spec.port, targetPort: spec.port }] },
  };
  return [statefulSet, service];
}
