import { describe, expect, it } from "vitest";
import type { Condition } from "../../../shared/api/index.js";
import { setCondition, topologyConditions } from "../../../shared/topology/conditions.js";
import { replicationHealth } from "../../../shared/topology/replication-health.js";
import { EMPTY_MEMORY, topologyCycle, type GroupMemory, type SitePoll } from "../../../shared/topology/cycle.js";
import { needsStatusWrite, topologyStatus } from "../../../shared/topology/status.js";
import { topologyVerdict } from "../../../shared/topology/verdict.js";

const T = { failureThreshold: 2, recoveryThreshold: 2 };
const replica = { ioRunning: true, sqlRunning: true, secondsBehindSource: 0, lastError: "", sourceHost: "127.0.0.1" };
const rw = (name: string): SitePoll => ({ name, role: "primary-candidate", ok: true, readOnly: false, gtidExecuted: "0-1-5" });
const ro = (name: string): SitePoll => ({ name, role: "primary-candidate", ok: true, readOnly: true, gtidExecuted: "0-1-5", replica });
const down = (name: string): SitePoll => ({ name, role: "primary-candidate", ok: false, error: "connect ECONNREFUSED" });

function cycles(steps: SitePoll[][]) {
  let memory: GroupMemory = EMPTY_MEMORY;
  return steps.map((polls, i) => {
    const r = topologyCycle(memory, polls, T, `2026-01-01T00:00:0${i}Z`);
    memory = r.memory;
    return r;
  });
}

describe("topology cycle", () => {
  it("emits no verdict event while a site has never been seen (operator start)", () => {
    const [first, second, third] = cycles([[rw("iad"), ro("pdx")], [rw("iad"), ro("pdx")], [rw("iad"), ro("pdx")]]);
    expect(first?.settled).toBe(false);
    expect(first?.events).toEqual([]);
    expect(second?.settled).toBe(true);
    expect(second?.verdict.verdict).toBe("Healthy");
    expect(second?.events).toEqual([]);
    expect(third?.events).toEqual([]);
  });

  it("reports a replica loss once, then its recovery", () => {
    const results = cycles([[rw("iad"), ro("pdx")], [rw("iad"), ro("pdx")], [rw("iad"), down("pdx")], [rw("iad"), down("pdx")], [rw("iad"), down("pdx")], [rw("iad"), ro("pdx")]]);
    const reasons = results.map((r) => r.events.map((e) => e.reason));
    expect(reasons).toEqual([[], [], [], ["SiteUnreachable"], [], ["SiteRecovered"]]);
    expect(results[3]?.transitions).toEqual([{ site: "pdx", from: "read-only", to: "unreachable" }]);
    expect(results[3]?.verdict.verdict).toBe("Degraded");
  });

  it("detects split brain once per episode", () => {
    const results = cycles([[rw("iad"), ro("pdx")], [rw("iad"), ro("pdx")], [rw("iad"), rw("pdx")], [rw("iad"), rw("pdx")], [rw("iad"), rw("pdx")]]);
    expect(results.map((r) => r.verdict.verdict)).toEqual(["NoPrimary", "Healthy", "Healthy", "SplitBrain", "SplitBrain"]);
    expect(results.flatMap((r) => r.events.map((e) => e.reason))).toEqual(["SplitBrainDetected"]);
  });
});

describe("conditions", () => {
  it("moves lastTransitionTime only when the status flips", () => {
    let c: Condition[] = setCondition(undefined, { type: "Ready", status: "True", reason: "Healthy", message: "a" }, "t1");
    c = setCondition(c, { type: "Ready", status: "True", reason: "Healthy", message: "b" }, "t2");
    expect(c[0]).toMatchObject({ lastTransitionTime: "t1", message: "b" });
    c = setCondition(c, { type: "Ready", status: "False", reason: "NoPrimary", message: "c" }, "t3");
    expect(c[0]).toMatchObject({ lastTransitionTime: "t3", status: "False" });
  });

  it("keeps conditions owned by others and reports replication problems", () => {
    const prev: Condition[] = [{ type: "RecoveryPending", status: "True", reason: "DivergentTransactions", message: "x", lastTransitionTime: "t0" }];
    const verdict = topologyVerdict([{ name: "iad", role: "primary-candidate", state: "writable" }, { name: "pdx", role: "primary-candidate", state: "read-only" }]);
    const fine = { broken: [], lagging: [] };
    const c = topologyConditions(prev, verdict, { broken: [{ site: "pdx", reason: "sql thread not running" }], lagging: [], readers: fine }, 3, "t1");
    expect(c.find((x) => x.type === "RecoveryPending")?.reason).toBe("DivergentTransactions");
    expect(c.find((x) => x.type === "Degraded")).toMatchObject({ status: "True", reason: "ReplicationBroken", observedGeneration: 3 });
    expect(c.find((x) => x.type === "Ready")).toMatchObject({ status: "False", reason: "ReplicationBroken" });
    const lagging = topologyConditions(undefined, verdict, { broken: [], lagging: [{ site: "pdx", seconds: 400 }], readers: fine }, 3, "t1");
    expect(lagging.find((x) => x.type === "Degraded")).toMatchObject({ status: "True", reason: "ReplicationLagging" });
    expect(lagging.find((x) => x.type === "Ready")?.status).toBe("True");
    expect(lagging.find((x) => x.type === "ReadersReady")).toMatchObject({ status: "True", reason: "Replicating" });
  });

  it("a reader's broken replication has its own condition and leaves Ready and Degraded alone", () => {
    const verdict = topologyVerdict([
      { name: "iad", role: "primary-candidate", state: "writable" },
      { name: "pdx", role: "primary-candidate", state: "read-only" },
      { name: "r", role: "read-only", state: "read-only" },
    ]);
    const health = replicationHealth(
      [
        { name: "iad", role: "primary-candidate", state: "writable" },
        { name: "pdx", role: "primary-candidate", state: "read-only", replica: { ioRunning: true, sqlRunning: true, secondsBehindSource: 0, lastError: "" } },
        { name: "r", role: "read-only", state: "read-only", replica: { ioRunning: true, sqlRunning: false, secondsBehindSource: null, lastError: "Duplicate entry" } },
      ],
      "iad",
      300,
    );
    const c = topologyConditions(undefined, verdict, health, 3, "t1");
    expect(c.find((x) => x.type === "Ready")).toMatchObject({ status: "True", reason: "Healthy" });
    expect(c.find((x) => x.type === "Degraded")).toMatchObject({ status: "False" });
    expect(c.find((x) => x.type === "ReadersReady")).toMatchObject({ status: "False", reason: "ReaderReplicationBroken", message: "r: sql thread not running: Duplicate entry" });
  });
});

describe("status writes", () => {
  const [, settled] = cycles([[rw("iad"), ro("pdx")], [rw("iad"), ro("pdx")]]);
  const polls = [rw("iad"), ro("pdx")];
  const status = topologyStatus(undefined, settled!, polls, 300, 1, "t1");

  it("builds the topology part of status", () => {
    expect(status).toMatchObject({ activeSite: "iad", summary: "1W/1RO/0X", observedGeneration: 1 });
    expect(status.sites[1]).toMatchObject({ name: "pdx", state: "read-only", replicating: true, secondsBehindSource: 0, sourceHost: "127.0.0.1" });
  });

  it("writes material changes at once and volatile ones at most every refresh interval", () => {
    const moved = { ...status, sites: status.sites.map((s) => ({ ...s, gtidExecuted: "0-1-9", lastSeen: "t9" })) };
    expect(needsStatusWrite(undefined, status, 0, 30_000)).toBe(true);
    expect(needsStatusWrite(status, status, 60_000, 30_000)).toBe(false);
    expect(needsStatusWrite(status, moved, 1_000, 30_000)).toBe(false);
    expect(needsStatusWrite(status, moved, 30_000, 30_000)).toBe(true);
    const flipped = { ...status, activeSite: "" };
    expect(needsStatusWrite(status, flipped, 0, 30_000)).toBe(true);
  });
});
