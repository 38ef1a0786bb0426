import { describe, expect, it } from "vitest";
import type { TopologyStatus } from "../../../shared/topology/status.js";
import { withFailoverBlocked, withRouting } from "../../../shared/topology/status.js";

const T0 = "2026-01-01T00:00:00.000Z";
const T1 = "2026-01-01T00:00:05.000Z";

function status(ready: "True" | "False", reason: string, message: string): TopologyStatus {
  return {
    observedGeneration: 1,
    activeSite: "",
    summary: "",
    sites: [],
    conditions: [
      { type: "Ready", status: ready, reason, message, lastTransitionTime: T0, observedGeneration: 1 },
      { type: "Degraded", status: ready === "True" ? "False" : "True", reason, message, lastTransitionTime: T0, observedGeneration: 1 },
    ],
  };
}

describe("withFailoverBlocked", () => {
  const veto = { reason: "PrimaryReachableByReplicas", message: "operator cannot reach the primary iad; replicas can (pdx still receive from it)" };

  it("a witness veto replaces the verdict's reason on Ready and Degraded and keeps lastTransitionTime", () => {
    const out = withFailoverBlocked(status("False", "NoPrimary", "no writable site"), veto, T1);
    for (const c of out.conditions) {
      expect(c.reason).toBe("PrimaryReachableByReplicas");
      expect(c.message).toBe(`no writable site; failover blocked: ${veto.message}`);
      expect(c.lastTransitionTime).toBe(T0);
    }
  });

  it("another reason is only appended, once; healthy conditions and no block are left alone", () => {
    const cooldown = { reason: "Cooldown", message: "blocked by the anti-flap cooldown" };
    const once = withFailoverBlocked(status("False", "NoPrimary", "no writable site"), cooldown, T1);
    const twice = withFailoverBlocked(once, cooldown, T1);
    expect(twice.conditions.map((c) => [c.reason, c.message])).toEqual([
      ["NoPrimary", "no writable site; failover blocked: blocked by the anti-flap cooldown"],
      ["NoPrimary", "no writable site; failover blocked: blocked by the anti-flap cooldown"],
    ]);
    const healthy = status("True", "Healthy", "iad is the primary");
    expect(withFailoverBlocked(healthy, veto, T1).conditions[0]).toEqual(healthy.conditions[0]);
    expect(withFailoverBlocked(healthy, undefined, T1)).toBe(healthy);
  });
});

describe("withRouting", () => {
  it("True while DNS and taints follow the primary, False with the error while moving them fails; untouched without a primary", () => {
    const failing = withRouting(status("True", "Healthy", "iad is the primary"), { site: "pdx", error: "dnsendpoints is forbidden" }, 1, T0);
    expect(failing.conditions.find((c) => c.type === "RoutingReady")).toMatchObject({
      status: "False",
      reason: "RoutingFailed",
      message: "moving DNS and node taints to pdx failed (retried every poll): dnsendpoints is forbidden",
      lastTransitionTime: T0,
    });
    const fixed = withRouting(failing, { site: "pdx" }, 1, T1);
    expect(fixed.conditions.find((c) => c.type === "RoutingReady")).toMatchObject({ status: "True", reason: "Routed", lastTransitionTime: T1 });
    expect(withRouting(fixed, undefined, 1, T1)).toBe(fixed);
  });
});
