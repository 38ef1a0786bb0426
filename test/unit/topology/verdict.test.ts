import { describe, expect, it } from "vitest";
import type { SiteRole, SiteState } from "../../../shared/names.js";
import { topologyVerdict } from "../../../shared/topology/verdict.js";

const site = (name: string, state: SiteState, role: SiteRole = "primary-candidate") => ({ name, role, state });

describe("topology verdict (the seeds' decision table)", () => {
  const cases: { name: string; sites: ReturnType<typeof site>[]; verdict: string; active: string }[] = [
    { name: "one writable, others read-only", sites: [site("iad", "writable"), site("pdx", "read-only")], verdict: "Healthy", active: "iad" },
    { name: "both writable", sites: [site("iad", "writable"), site("pdx", "writable")], verdict: "SplitBrain", active: "" },
    { name: "both read-only", sites: [site("iad", "read-only"), site("pdx", "read-only")], verdict: "NoPrimary", active: "" },
    { name: "both unreachable", sites: [site("iad", "unreachable"), site("pdx", "unreachable")], verdict: "TotalLoss", active: "" },
    { name: "primary unreachable, replica read-only", sites: [site("iad", "unreachable"), site("pdx", "read-only")], verdict: "NoPrimary", active: "" },
    { name: "replica unreachable", sites: [site("iad", "writable"), site("pdx", "unreachable")], verdict: "Degraded", active: "iad" },
    { name: "not yet polled counts as unreachable", sites: [site("iad", "writable"), site("pdx", "unknown")], verdict: "Degraded", active: "iad" },
    { name: "writable dr-only is fenced, not trusted", sites: [site("iad", "read-only"), site("pdx", "read-only"), site("dr", "writable", "dr-only")], verdict: "Degraded", active: "" },
    { name: "writable dr-only beside the primary", sites: [site("iad", "writable"), site("pdx", "read-only"), site("dr", "writable", "dr-only")], verdict: "SplitBrain", active: "" },
    { name: "writable reader beside the primary", sites: [site("iad", "writable"), site("pdx", "read-only"), site("r", "writable", "read-only")], verdict: "SplitBrain", active: "" },
    { name: "writable reader without a primary is fenced, not a split brain", sites: [site("iad", "read-only"), site("pdx", "read-only"), site("r", "writable", "read-only")], verdict: "Degraded", active: "" },
    { name: "reader unreachable does not degrade", sites: [site("iad", "writable"), site("pdx", "read-only"), site("r", "unreachable", "read-only")], verdict: "Healthy", active: "iad" },
    { name: "three sites, two writable", sites: [site("a", "writable"), site("b", "writable"), site("c", "read-only")], verdict: "SplitBrain", active: "" },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const v = topologyVerdict(c.sites);
      expect(v.verdict).toBe(c.verdict);
      expect(v.activeSite).toBe(c.active);
    });
  }

  it("lists writable non-promotable sites for fencing", () => {
    const v = topologyVerdict([site("iad", "writable"), site("dr", "writable", "dr-only"), site("r", "writable", "read-only")]);
    expect(v.writableNonPromotable).toEqual(["dr", "r"]);
  });
});
