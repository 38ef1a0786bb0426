/**
 * What a group's status says about its managed sites: each site's pod beside its MySQL state,
 * and the Bootstrapping condition. A site is bootstrapping from the moment it is in the spec
 * until its server has been polled successfully on its current data volume: a new site, and a
 * site whose volume was deleted and created again (the PVC-loss runbook).
 */
import type { DefaultedSiteSpec } from "../api/failover-group.js";
import type { SiteStatus } from "../api/index.js";
import { CONDITION_TYPES } from "../names.js";
import { setCondition, type ConditionUpdate } from "../topology/conditions.js";
import type { TopologyStatus } from "../topology/status.js";
import type { ManagedInventory, SiteInventory } from "./inventory.js";
import { isManaged } from "./sites.js";
import type { UpdateDecision } from "./updates.js";

export function withManagedSites(
  status: TopologyStatus,
  sites: readonly DefaultedSiteSpec[],
  inventory: ManagedInventory | undefined,
  update: UpdateDecision | undefined,
  generation: number,
  now: string,
): TopologyStatus {
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
  const bootstrapping: ConditionUpdate =
    starting.length > 0
      ? { ...base, status: "True" as const, reason: "SitesStarting", message: starting.join("; ") }
      : { ...base, status: "False" as const, reason: "SitesStarted", message: "every managed site's server has answered on its current volume" };
  const conditions = setCondition(status.conditions, bootstrapping, now);
  return { ...status, sites: withPods, conditions: update ? setCondition(conditions, updatingCondition(update, generation), now) : conditions };
}

/** Updating: True while a new template is being rolled onto the managed sites' pods, with where it stands. */
function updatingCondition(update: UpdateDecision, generation: number): ConditionUpdate {
  const base = { type: CONDITION_TYPES.updating, observedGeneration: generation };
  switch (update.kind) {
    case "upToDate":
      return { ...base, status: "False", reason: "UpToDate", message: "every managed site runs its StatefulSet's current template" };
    case "restart":
      return { ...base, status: "True", reason: "RestartingSites", message: update.message };
    case "switchover":
      return { ...base, status: "True", reason: "SwitchingOver", message: update.message };
    case "wait":
      return { ...base, status: "True", reason: update.reason, message: update.message };
  }
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
