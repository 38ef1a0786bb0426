import { describe, expect, it } from "vitest";
import { triggerDecision } from "../../../shared/backup/trigger.js";

const done = [{ name: "r1", phase: "Succeeded" as const, deleting: false }, { name: "r2", phase: "Failed" as const, deleting: false }];

describe("triggerDecision", () => {
  it("creates when nothing of the schedule runs, whatever the policy", () => {
    for (const policy of ["Forbid", "Allow", "Replace"] as const) expect(triggerDecision(policy, "r3", done)).toEqual({ kind: "create" });
  });

  it("does nothing when its own backup exists (a retried trigger)", () => {
    expect(triggerDecision("Allow", "r1", done)).toEqual({ kind: "exists" });
  });

  it("settles an unfinished earlier backup by the policy; one being deleted holds nothing up", () => {
    const busy = [...done, { name: "r3", phase: "Running" as const, deleting: false }, { name: "r3-attempt-2", phase: undefined, deleting: false }, { name: "r0", phase: "Running" as const, deleting: true }];
    expect(triggerDecision("Forbid", "r4", busy)).toEqual({ kind: "skip", running: ["r3", "r3-attempt-2"] });
    expect(triggerDecision("Replace", "r4", busy)).toEqual({ kind: "replace", running: ["r3", "r3-attempt-2"] });
    expect(triggerDecision("Allow", "r4", busy)).toEqual({ kind: "create" });
    expect(triggerDecision("Forbid", "r4", [{ name: "r0", phase: "Running", deleting: true }])).toEqual({ kind: "create" });
  });
});
