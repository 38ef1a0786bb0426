/**
 * Role labels on the pods of managed sites: `shipstream.io/role=primary` on the primary's pod,
 * `replica` on the others. The group's writer and reader Services select them, so in-cluster
 * clients follow a failover without DNS. Written in the step that points DNS and taints at the
 * new primary, and again on every routing resync (a recreated pod comes without labels).
 */
import { apiStatus, mergePatch, type Kube } from "../../shared/kube/client.js";
import { MANAGED_ROLES } from "../../shared/managed/objects.js";
import { managedNames } from "../../shared/managed/sites.js";
import { LABELS } from "../../shared/names.js";

export class PodRoleLabeler {
  constructor(private readonly kube: Kube) {}

  /**
   * Merge-patches each site's pod; a pod that does not exist (yet) is skipped. Every other pod
   * loses the primary label before the primary's pod gets it: were both labelled at once, the
   * writer Service would balance new connections between the fenced old primary and the new one
   * until kube-proxy's next sync (about a second), so clients would see writes alternately
   * refused and accepted instead of one short outage.
   */
  async label(namespace: string, group: string, sites: readonly string[], primary: string): Promise<void> {
    await Promise.all(sites.filter((site) => site !== primary).map((site) => this.patch(namespace, group, site, MANAGED_ROLES.replica)));
    if (sites.includes(primary)) await this.patch(namespace, group, primary, MANAGED_ROLES.primary);
  }

  private patch(namespace: string, group: string, site: string, role: string): Promise<void> {
    return this.setLabels(namespace, managedNames.pod(group, site), { [LABELS.role]: role });
  }

  /** Merge-patches a pod's labels; a pod that does not exist (yet) is skipped. */
  setLabels(namespace: string, name: string, labels: Record<string, string>): Promise<void> {
    return this.patchMetadata(namespace, name, { labels });
  }

  /** Merge-patches a pod's labels or annotations; a pod that does not exist (yet) is skipped. */
  async patchMetadata(namespace: string, name: string, metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }): Promise<void> {
    const body = { metadata };
    try {
      await this.kube.call(`patch pod ${namespace}/${name}`, (options) => this.kube.core.patchNamespacedPod({ namespace, name, body }, mergePatch(options)));
    } catch (err) {
      if (apiStatus(err) !== 404) throw err;
    }
  }
}
