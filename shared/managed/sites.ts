/** Which sites of a group are managed, and the names and labels of what the operator makes for them. */
import type { DefaultedMysqlFailoverGroupSpec, DefaultedSiteSpec } from "../api/failover-group.js";
import { LABELS } from "../names.js";

export const managedNames = {
  site: (group: string, site: string) => `mysql-${group}-${site}`,
  pod: (group: string, site: string) => `mysql-${group}-${site}-0`,
  claim: (group: string, site: string) => `data-mysql-${group}-${site}-0`,
  config: (group: string) => `mysql-${group}-config`,
  writer: (group: string) => `mysql-${group}-primary`,
  reader: (group: string) => `mysql-${group}-replicas`,
  budget: (group: string) => `mysql-${group}`,
  /** The token the group's agents require and send (docs/agent.md); created by the operator when absent. */
  agentToken: (group: string) => `mysql-${group}-agent-token`,
  /** The operator's password before a rotation (objects.ts previousOperatorSecret); `tag` names the password that replaced it. */
  previousOperator: (group: string, tag: string) => `mysql-${group}-operator-previous-${tag}`,
};

/** Port of the per-site agent's API, in the sidecar of a managed site (docs/agent.md). */
export const AGENT_PORT = 8080;

/**
 * Each site's agent, by site: an external site's `agentUrl`, and a managed site's sidecar behind
 * its headless Service when the managed sites run one (`sidecars`).
 */
export function agentUrls(spec: DefaultedMysqlFailoverGroupSpec, group: string, namespace: string, sidecars: boolean): Map<string, string> {
  const urls = new Map<string, string>();
  for (const site of spec.sites) {
    if (site.agentUrl !== undefined) urls.set(site.name, site.agentUrl.replace(/\/$/, ""));
    else if (sidecars && isManaged(site)) urls.set(site.name, `http://${managedNames.site(group, site.name)}.${namespace}.svc:${AGENT_PORT}`);
  }
  return urls;
}

export function isManaged(site: DefaultedSiteSpec): boolean {
  return site.storage !== undefined;
}

export function managedSites(spec: DefaultedMysqlFailoverGroupSpec): DefaultedSiteSpec[] {
  return spec.sites.filter(isManaged);
}

export function selector(group: string, extra: Record<string, string> = {}): Record<string, string> {
  return { [LABELS.failoverGroup]: group, [LABELS.managedBy]: "bloodraven", ...extra };
}

/** Label selector of every object the operator made for the group's managed sites (claims and pods included). */
export function managedSelector(group: string): string {
  return Object.entries(selector(group))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

