/**
 * What a group's status says about its managed sites: each site's pod beside its MySQL state,
 * and the Bootstrapping condition. A site is bootstrapping from the moment it is in the spec
 * until its server has been polled successfully on its current data volume: a new site, and a
 * site whose volume was deleted and created again (the PVC-loss runbook).
 */
import type { DefaultedSiteSpec } from "../api/failover-group.js";
import type { SiteStatus } from "../api/index.js";
import { CONDITION_TYPES } from "../names.js";
import { setCondition } from "../topology/conditions.js";
import type { TopologyStatus } from "../topology/status.js";
import type { ManagedInventory, SiteInventory } from "./inventory.js";
import { isManaged } from "./sites.js";

export function withManagedSites(status: TopologyStatus, sites: readonly DefaultedSiteSpec[], inventory: ManagedInventory | undefined, generation: number, now: string): TopologyStatus {
  const managed = sites.filter(isManaged).map((s) => s.name);
  if (managed.length === 0 || !inventory) return status;
  const withPods = status.sites.map((s): SiteStatus => {
    const pod = inventory.get(s.name)?.pod;
    if (!managed.includes(s.name)) return s;
    const { pod: _stale, ...rest } = s;
    return pod ? { ...rest, pod } : rest;
  });
  const starting = managed.flatMap((name) => {
    const why = startingReason(inventory.get(name), withPods.find((s) => s.name === name));
    return why ? [`site ${name}: ${why}`] : [];
  });
  const base = { type: CONDITION_TYPES.bootstrapping, observedGeneration: generation };
  const update =
    starting.length > 0
      ? { ...base, status: "True" as const, reason: "SitesStarting", message: starting.join("; ") }
      : { ...base, status: "False" as const, reason: "SitesStarted", message: "every managed site's server has answered on its current volume" };
  return { ...status, sites: withPods, conditions: setCondition(status.conditions, update, now) };
}

/** Why the site is still starting, or undefined when its server answered since its volume was created. */
function startingReason(inventory: SiteInventory | undefined, site: SiteStatus | undefined): string | undefined {
  const claim = inventory?.claim;
  if (!claim) return "its data volume is not created yet";
  if (site?.lastSeen && (!claim.createdAt || Date.parse(site.lastSeen) >= Date.parse(claim.createdAt))) return undefined;
  if (claim.phase !== "Bound") return `its data volume ${claim.name} is ${claim.phase ?? "not bound yet"}`;
  const pod = inventory.pod;
  if (!pod) return "its pod is not created yet";
  if (!pod.ready) return `its pod ${pod.name} is ${pod.phase}, not Ready`;
  return "its server has not answered a poll yet";
}
