/**
 * Growing a managed site's data volume. The StatefulSet's claim template cannot change once
 * created, so a larger `storage.size` is applied to the site's claim itself; whether the volume
 * actually grows is the StorageClass's and the CSI driver's business (allowVolumeExpansion). A
 * smaller size never reaches here: the CRD refuses it.
 */
import type { DefaultedSiteSpec } from "../api/failover-group.js";
import type { ManagedInventory } from "./inventory.js";
import { isManaged } from "./sites.js";
import { compareQuantities, parseQuantity } from "./quantity.js";

export interface ClaimResize {
  site: string;
  claim: string;
  from: string;
  to: string;
}

/** Claims smaller than their site's `storage.size`, in spec order. */
export function claimResizes(sites: readonly DefaultedSiteSpec[], inventory: ManagedInventory): ClaimResize[] {
  return sites.filter(isManaged).flatMap((site) => {
    const claim = inventory.get(site.name)?.claim;
    const to = String(site.storage?.size ?? "");
    const wanted = parseQuantity(to);
    const current = claim && parseQuantity(claim.size);
    if (!claim || !wanted || !current || compareQuantities(wanted, current) <= 0) return [];
    return [{ site: site.name, claim: claim.name, from: claim.size, to }];
  });
}
