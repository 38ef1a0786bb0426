import { describe, expect, it } from "vitest";
import type { MysqlFailoverGroup } from "../../../shared/api/index.js";
import { ANNOTATIONS } from "../../../shared/names.js";
import { cooldownRemainingMs, effectiveLastFailover } from "../../../cli/commands/status.js";

const NOW = Date.parse("2026-11-22T03:00:00Z");

function group(status: MysqlFailoverGroup["status"], annotations?: Record<string, string>): MysqlFailoverGroup {
  return {
    apiVersion: "shipstream.io/v1alpha1",
    kind: "MysqlFailoverGroup",
    metadata: { name: "orders", namespace: "shop", ...(annotations ? { annotations } : {}) },
    spec: { secretName: "dsn", failoverCooldown: "5m", sites: [] },
    ...(status ? { status } : {}),
  };
}

describe("the last failover and the cooldown, as the operator counts them", () => {
  it("takes the newer of the status and the annotation; the status wins a tie within the second", () => {
    const annotated = { [ANNOTATIONS.lastFailover]: "2026-11-22T02:58:00Z", [ANNOTATIONS.lastFailoverTarget]: "iad" };
    expect(effectiveLastFailover(group({ lastFailover: "2026-11-22T02:50:00Z", lastFailoverTarget: "pdx" }, annotated))).toEqual({ at: "2026-11-22T02:58:00Z", target: "iad" });
    expect(effectiveLastFailover(group({ lastFailover: "2026-11-22T02:58:00.400Z", lastFailoverTarget: "pdx" }, annotated))).toEqual({ at: "2026-11-22T02:58:00.400Z", target: "pdx" });
    expect(effectiveLastFailover(group(undefined, annotated))).toEqual({ at: "2026-11-22T02:58:00Z", target: "iad" });
    expect(effectiveLastFailover(group({}))).toBeUndefined();
  });

  it("shows a time recorded without its target, and counts the cooldown from it", () => {
    const g = group({ lastFailover: "2026-11-22T02:58:00Z" });
    expect(effectiveLastFailover(g)).toEqual({ at: "2026-11-22T02:58:00Z" });
    expect(cooldownRemainingMs(g, NOW)).toBe(3 * 60_000);
    expect(cooldownRemainingMs(g, NOW + 10 * 60_000)).toBe(0);
  });

  it("an unreadable annotation never wins over a readable status time", () => {
    const g = group({ lastFailover: "2026-11-22T02:58:00Z", lastFailoverTarget: "pdx" }, { [ANNOTATIONS.lastFailover]: "soon", [ANNOTATIONS.lastFailoverTarget]: "iad" });
    expect(effectiveLastFailover(g)).toEqual({ at: "2026-11-22T02:58:00Z", target: "pdx" });
  });
});
