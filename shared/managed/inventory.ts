/**
 * What exists in the cluster for a group's managed sites, reduced to what the reconcilers decide
 * on: each site's StatefulSet claim template size, its data volume and its pod. Built from the
 * objects the operator lists by the group's label; objects of other names (an old claim left by
 * hand) are not the site's and are ignored.
 */
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import type { DefaultedSiteSpec } from "../api/failover-group.js";
import { isManaged, managedNames } from "./sites.js";

export interface SitePod {
  name: string;
  uid: string;
  /** The StatefulSet revision the pod was made from (label controller-revision-hash). */
  revision?: string;
  /** The pod's phase, or `Terminating` once it is being deleted. */
  phase: string;
  /** The kubelet's Ready condition: mysqld accepts connections (the probes ask nothing more). */
  ready: boolean;
  /** Restarts of the mysql container. */
  restarts: number;
  node?: string;
}

export interface SiteClaim {
  name: string;
  /** spec.resources.requests.storage, as written. */
  size: string;
  phase?: string;
  /** creationTimestamp: a server not polled since is still starting on this volume. */
  createdAt?: string;
}

export interface SiteInventory {
  /** Size in the StatefulSet's claim template: immutable once created, so every apply repeats it. */
  templateSize?: string;
  /**
   * The StatefulSet's current template revision (status.updateRevision), once its controller has
   * seen the latest template (status.observedGeneration); undefined while it has not.
   */
  updateRevision?: string;
  claim?: SiteClaim;
  pod?: SitePod;
}

export type ManagedInventory = ReadonlyMap<string, SiteInventory>;

export interface ManagedObjectLists {
  statefulSets: readonly V1StatefulSet[];
  claims: readonly V1PersistentVolumeClaim[];
  pods: readonly V1Pod[];
}

export function inventoryOf(group: string, sites: readonly DefaultedSiteSpec[], lists: ManagedObjectLists): ManagedInventory {
  const byName = <T extends { metadata?: { name?: string } }>(items: readonly T[]) => new Map(items.map((o) => [o.metadata?.name ?? "", o]));
  const statefulSets = byName(lists.statefulSets);
  const claims = byName(lists.claims);
  const pods = byName(lists.pods);
  return new Map(
    sites.filter(isManaged).map((site) => {
      const set = statefulSets.get(managedNames.site(group, site.name));
      const claim = claims.get(managedNames.claim(group, site.name));
      const pod = pods.get(managedNames.pod(group, site.name));
      const templateSize = set?.spec?.volumeClaimTemplates?.find((t) => t.metadata?.name === "data")?.spec?.resources?.requests?.storage;
      const observed = set?.status?.observedGeneration !== undefined && set.status.observedGeneration === set.metadata?.generation;
      return [
        site.name,
        {
          ...(templateSize !== undefined ? { templateSize: String(templateSize) } : {}),
          ...(observed && set?.status?.updateRevision ? { updateRevision: set.status.updateRevision } : {}),
          ...(claim ? { claim: siteClaim(claim) } : {}),
          ...(pod ? { pod: sitePod(pod) } : {}),
        },
      ];
    }),
  );
}

function siteClaim(claim: V1PersistentVolumeClaim): SiteClaim {
  return {
    name: claim.metadata?.name ?? "",
    size: String(claim.spec?.resources?.requests?.storage ?? ""),
    ...(claim.status?.phase ? { phase: claim.status.phase } : {}),
    ...(claim.metadata?.creationTimestamp ? { createdAt: new Date(claim.metadata.creationTimestamp).toISOString() } : {}),
  };
}

function sitePod(pod: V1Pod): SitePod {
  const mysql = pod.status?.containerStatuses?.find((c) => c.name === "mysql");
  const revision = pod.metadata?.labels?.["controller-revision-hash"];
  return {
    name: pod.metadata?.name ?? "",
    uid: pod.metadata?.uid ?? "",
    ...(revision ? { revision } : {}),
    phase: pod.metadata?.deletionTimestamp ? "Terminating" : (pod.status?.phase ?? "Unknown"),
    ready: pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    restarts: mysql?.restartCount ?? 0,
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
  };
}

/** The site's pod runs an older template than its StatefulSet's (an image, resource or option change). */
export function isOutdated(site: SiteInventory | undefined): boolean {
  return site?.pod?.revision !== undefined && site.updateRevision !== undefined && site.pod.revision !== site.updateRevision;
}

/**
 * Every managed site has a bound volume and a Ready pod of its StatefulSet's current template:
 * nothing is starting or rolling, so the objects need not be listed again soon.
 */
export function isSettled(inventory: ManagedInventory): boolean {
  return [...inventory.values()].every((s) => s.claim?.phase === "Bound" && s.pod?.ready === true && s.pod.phase === "Running" && s.updateRevision !== undefined && !isOutdated(s));
}
