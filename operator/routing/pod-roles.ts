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

  /** Merge-patches each site's pod; a pod that does not exist (yet) is skipped. */
  async label(namespace: string, group: string, sites: readonly string[], primary: string): Promise<void> {
    await Promise.all(
      sites.map(async (site) => {
        const name = managedNames.pod(group, site);
        const role = site === primary ? MANAGED_ROLES.primary : MANAGED_ROLES.replica;
        const body = { metadata: { labels: { [LABELS.role]: role } } };
        try {
          await this.kube.call(`label pod ${namespace}/${name}`, (options) => this.kube.core.patchNamespacedPod({ namespace, name, body }, mergePatch(options)));
        } catch (err) {
          if (apiStatus(err) !== 404) throw err;
        }
      }),
    );
  }
}
