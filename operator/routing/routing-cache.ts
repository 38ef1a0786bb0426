/**
 * Watched copies of what routing writes (the groups' DNSEndpoints, the nodes, the managed pods),
 * so that each cycle can tell at no API cost whether DNS, taints and role labels still follow the
 * primary. The followers reconciler writes only when they do not, or on its slow resync.
 *
 * Each watch starts the first time a group needs it (nodes for taintNodeSelector, DNSEndpoints for
 * spec.dns, pods for managed sites). Until its first list completes, or while it cannot run (no
 * permission, external-dns's CRD missing), the answer is "unknown" and the reconciler falls back
 * to reading the live objects on its resync.
 */
import type { KubernetesObject, V1Node, V1Pod } from "@kubernetes/client-node";
import type { DefaultedMysqlFailoverGroupSpec, MysqlFailoverGroup } from "../../shared/api/index.js";
import { MANAGED_ROLES } from "../../shared/managed/objects.js";
import { managedNames, managedSites } from "../../shared/managed/sites.js";
import { LABELS, readOnlyTaintKey } from "../../shared/names.js";
import type { Kube } from "../../shared/kube/client.js";
import type { Logger } from "../log.js";
import { KubeInformer, collectionPath, type InformerResource } from "../kube/informer.js";
import { DNS_ENDPOINT, dnsEndpointName, dnsEndpointUpToDate, type DnsEndpointObject } from "./dns.js";
import { withReadOnlyTaint } from "./taints.js";

const OURS = `${LABELS.managedBy}=bloodraven`;

const NODES: InformerResource<V1Node> = {
  plural: "nodes",
  path: () => collectionPath("", "v1", "nodes", undefined),
  list: (kube, _namespace, selectors) => kube.call("list nodes", (options) => kube.core.listNode(selectors, options)),
};

const PODS: InformerResource<V1Pod> = {
  plural: "pods",
  path: (namespace) => collectionPath("", "v1", "pods", namespace),
  list: (kube, namespace, selectors) =>
    kube.call(`list pods in ${namespace ?? "all namespaces"}`, (options) =>
      namespace === undefined ? kube.core.listPodForAllNamespaces(selectors, options) : kube.core.listNamespacedPod({ namespace, ...selectors }, options),
    ),
};

const DNS_ENDPOINTS: InformerResource<DnsEndpointObject & KubernetesObject> = {
  plural: DNS_ENDPOINT.plural,
  path: (namespace) => collectionPath(DNS_ENDPOINT.group, DNS_ENDPOINT.version, DNS_ENDPOINT.plural, namespace),
  list: (kube, namespace, selectors) => {
    const resource = { group: DNS_ENDPOINT.group, version: DNS_ENDPOINT.version, plural: DNS_ENDPOINT.plural, ...selectors };
    return kube.call(`list ${DNS_ENDPOINT.plural} in ${namespace ?? "all namespaces"}`, (options) =>
      namespace === undefined ? kube.customObjects.listCustomObjectForAllNamespaces(resource, options) : kube.customObjects.listNamespacedCustomObject({ ...resource, namespace }, options),
    );
  },
};

export interface RoutingCacheOptions {
  /** The operator's watched namespaces; empty or undefined: all. */
  namespaces?: readonly string[];
  logger: Logger;
}

export class RoutingCache {
  private nodes?: KubeInformer<V1Node>;
  private pods?: KubeInformer<V1Pod>;
  private dnsEndpoints?: KubeInformer<DnsEndpointObject & KubernetesObject>;
  private stopped = false;

  constructor(
    private readonly kube: Kube,
    private readonly opts: RoutingCacheOptions,
  ) {}

  /**
   * Whether DNS, the taints and the pods' role labels already follow `primary`; undefined when a
   * watch this group needs has not listed yet. A site's nodes, a pod or a DNSEndpoint that does
   * not exist counts as out of step only where following the primary would create something
   * (the DNSEndpoint); the writer skips missing pods and nodes too.
   */
  inSync(group: MysqlFailoverGroup, spec: DefaultedMysqlFailoverGroupSpec, primary: string): boolean | undefined {
    if (this.stopped) return undefined;
    const name = group.metadata.name ?? "";
    const namespace = group.metadata.namespace ?? "";
    const tainted = spec.sites.filter((s) => s.taintNodeSelector && s.role !== "read-only");
    const managed = managedSites(spec);
    const nodes = tainted.length > 0 ? this.watch("nodes") : undefined;
    const pods = managed.length > 0 ? this.watch("pods") : undefined;
    const dns = spec.dns ? this.watch("dnsEndpoints") : undefined;
    if ([nodes, pods, dns].some((w) => w !== undefined && !w.hasSynced())) return undefined;

    if (dns) {
      const live = dns.get(namespace, dnsEndpointName(name));
      if (!live || !dnsEndpointUpToDate(live, group, primary)) return false;
    }
    if (nodes) {
      const key = readOnlyTaintKey(name);
      for (const site of tainted) {
        const selector = Object.entries(site.taintNodeSelector ?? {});
        const matching = nodes.list().filter((n) => selector.every(([k, v]) => n.metadata?.labels?.[k] === v));
        if (matching.some((n) => withReadOnlyTaint(n.spec?.taints, key, site.name !== primary) !== undefined)) return false;
      }
    }
    if (pods) {
      for (const site of managed) {
        const pod = pods.get(namespace, managedNames.pod(name, site.name));
        const want = site.name === primary ? MANAGED_ROLES.primary : MANAGED_ROLES.replica;
        if (pod && pod.metadata?.labels?.[LABELS.role] !== want) return false;
      }
    }
    return true;
  }

  stop(): void {
    this.stopped = true;
    for (const informer of [this.nodes, this.pods, this.dnsEndpoints]) informer?.stop();
  }

  private watch(kind: "nodes"): KubeInformer<V1Node>;
  private watch(kind: "pods"): KubeInformer<V1Pod>;
  private watch(kind: "dnsEndpoints"): KubeInformer<DnsEndpointObject & KubernetesObject>;
  private watch(kind: "nodes" | "pods" | "dnsEndpoints"): KubeInformer<V1Node> | KubeInformer<V1Pod> | KubeInformer<DnsEndpointObject & KubernetesObject> {
    const logger = this.opts.logger;
    // Nothing reads these caches on a timer: no resync events.
    const base = { logger, resyncPeriodMs: 0, ...(this.opts.namespaces ? { namespaces: this.opts.namespaces } : {}) };
    switch (kind) {
      case "nodes":
        return (this.nodes ??= started(new KubeInformer(this.kube, NODES, { logger, resyncPeriodMs: 0 })));
      case "pods":
        return (this.pods ??= started(new KubeInformer(this.kube, PODS, { ...base, labelSelector: OURS })));
      case "dnsEndpoints":
        return (this.dnsEndpoints ??= started(new KubeInformer(this.kube, DNS_ENDPOINTS, { ...base, labelSelector: OURS })));
    }
  }
}

function started<T extends KubernetesObject>(informer: KubeInformer<T>): KubeInformer<T> {
  informer.start();
  return informer;
}
