import { describe, expect, it } from "vitest";
import { managedSpec } from "../../support/fixtures.js";
import type { SiteInventory } from "../../../shared/managed/inventory.js";
import { claimResizes } from "../../../shared/managed/storage.js";

const spec = managedSpec({ iadSize: "2Gi" });
const claim = (site: string, size: string) => ({ claim: { name: `data-mysql-orders-${site}-0`, size } });

describe("claim resizes", () => {
  it("asks to grow only the claims smaller than their site's storage.size", () => {
    const inventory = new Map([
      ["iad", claim("iad", "1Gi")],
      ["pdx", claim("pdx", "1024Mi")],
    ]);
    expect(claimResizes(spec.sites, inventory)).toEqual([{ site: "iad", claim: "data-mysql-orders-iad-0", from: "1Gi", to: "2Gi" }]);
  });

  it("never shrinks a claim that is larger (grown by hand), and waits for a claim that does not exist yet", () => {
    expect(claimResizes(spec.sites, new Map<string, SiteInventory>([["iad", claim("iad", "5Gi")], ["pdx", {}]]))).toEqual([]);
  });
});
