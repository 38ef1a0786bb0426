import { describe, expect, it } from "vitest";
import type { MysqlFailoverGroupStatus } from "../../../shared/api/index.js";
import type { TopologyStatus } from "../../../shared/topology/status.js";
import { GroupStatusStore } from "../../../operator/group/status-store.js";
import type { Logger } from "../../../operator/log.js";

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet } as unknown as Logger;

/** A store whose writes are recorded and settle when the test says so. */
function store(initial?: MysqlFailoverGroupStatus) {
  const patches: unknown[] = [];
  const annotations: unknown[] = [];
  const written: MysqlFailoverGroupStatus[] = [];
  let fail = false;
  const pending: (() => void)[] = [];
  const s = new GroupStatusStore(initial, {
    log: quiet,
    patchStatus: (status) => {
      patches.push(status);
      if (fail) return Promise.reject(new Error("apiserver down"));
      return new Promise<void>((resolve) => pending.push(resolve));
    },
    patchAnnotations: (a) => (annotations.push(a), fail ? Promise.reject(new Error("apiserver down")) : Promise.resolve()),
    refreshMs: 60_000,
    onWritten: (w) => void written.push(w),
  });
  const settle = async (): Promise<void> => {
    while (pending.length > 0) pending.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { s, patches, annotations, written, settle, failing: (f: boolean) => (fail = f) };
}

const IAD = { name: "iad", state: "read-only" as const };
const PDX = { name: "pdx", state: "writable" as const };
const topology = (activeSite: string): TopologyStatus => ({ observedGeneration: 1, activeSite, summary: activeSite, sites: [IAD, PDX], conditions: [] });

describe("GroupStatusStore", () => {
  it("reports a changed topology once at a time, and not again while nothing material changed", async () => {
    const { s, patches, written, settle } = store();
    s.report(topology("iad"));
    s.report(topology("pdx")); // a write is in flight: skipped, the next cycle retries
    expect(patches).toHaveLength(1);
    await settle();
    expect(written.at(-1)?.activeSite).toBe("iad");
    s.report(topology("iad"));
    expect(patches).toHaveLength(1);
    s.report(topology("pdx"));
    await settle();
    expect(patches).toHaveLength(2);
    expect(s.written?.activeSite).toBe("pdx");
  });

  it("removes the fields a new planned-failover block drops, with null", async () => {
    const { s, patches, settle } = store();
    const done = s.persistPlanned({ requestId: "r", phase: "Failed", reason: "LagTimeout" }, { requestId: "r", phase: "WaitingForLag", sourceGtidAtFence: "0-1-5", reason: "LagTimeout" });
    await settle();
    await done;
    expect(patches).toEqual([{ plannedFailover: { requestId: "r", phase: "Failed", reason: "LagTimeout", sourceGtidAtFence: null } }]);
    expect(s.written?.plannedFailover).toEqual({ requestId: "r", phase: "Failed", reason: "LagTimeout" });
  });

  it("keeps a failover record that could not be written in memory and writes it on the next flush", async () => {
    const { s, patches, annotations, failing, settle } = store();
    failing(true);
    await s.persistFailover({ lastFailover: "2026-11-22T05:00:00.123Z", lastFailoverTarget: "pdx", promotionGtidExecuted: "0-2-7" });
    expect(s.written).toMatchObject({ lastFailoverTarget: "pdx" });
    failing(false);
    const flushed = s.flushFailoverRecord();
    await settle();
    await flushed;
    // The record settles any open intent, in both copies.
    expect(patches.at(-1)).toEqual({ lastFailover: "2026-11-22T05:00:00.123Z", lastFailoverTarget: "pdx", promotionGtidExecuted: "0-2-7", failoverIntent: null });
    expect(annotations.at(-1)).toEqual({
      "bloodraven.shipstream.io/last-failover": "2026-11-22T05:00:00Z",
      "bloodraven.shipstream.io/last-failover-target": "pdx",
      "bloodraven.shipstream.io/failover-intent": null,
    });
    const count = patches.length;
    await s.flushFailoverRecord();
    expect(patches).toHaveLength(count);
  });

  it("persists an intent in both copies, or throws; the copies of the record are repaired towards the newer", async () => {
    const { s, patches, annotations, failing, settle } = store();
    const settled = async (work: Promise<void>): Promise<void> => {
      await settle();
      await work;
    };
    failing(true);
    await expect(s.persistIntent({ target: "pdx", source: "iad", startedAt: "2026-11-22T05:00:00.123Z", gtidExecuted: "0-1-9" })).rejects.toThrow();
    expect(s.written?.failoverIntent).toBeUndefined();
    failing(false);
    await settled(s.persistIntent({ target: "pdx", source: "iad", startedAt: "2026-11-22T05:00:00.123Z", gtidExecuted: "0-1-9" }));
    expect(annotations.at(-1)).toEqual({ "bloodraven.shipstream.io/failover-intent": "pdx@2026-11-22T05:00:00Z" });
    expect(s.written?.failoverIntent?.target).toBe("pdx");
    await settled(s.dropIntent({ target: "pdx", at: "2026-11-22T05:00:00.123Z" }));
    expect(patches.at(-1)).toEqual({ failoverIntent: null });
    expect(s.written?.failoverIntent).toBeUndefined();
    expect(s.isClosed({ target: "pdx", at: "2026-11-22T05:00:00Z" })).toBe(true);
    expect(s.isClosed({ target: "pdx", at: "2026-11-22T05:00:01Z" })).toBe(false);

    // Only the annotations were written (a kill in between): the status follows, and then nothing more.
    await settled(s.repairRecordCopies({ at: "2026-11-22T06:00:00Z", target: "iad" }));
    expect(patches.at(-1)).toEqual({ lastFailover: "2026-11-22T06:00:00Z", lastFailoverTarget: "iad" });
    const count = patches.length + annotations.length;
    await settled(s.repairRecordCopies({ at: "2026-11-22T06:00:00Z", target: "iad" }));
    expect(patches.length + annotations.length).toBe(count);
    // Only the status: the annotations follow.
    await settled(s.repairRecordCopies(undefined));
    expect(annotations.at(-1)).toEqual({ "bloodraven.shipstream.io/last-failover": "2026-11-22T06:00:00Z", "bloodraven.shipstream.io/last-failover-target": "iad" });
  });

  it("writes recovery fields after the topology write in flight, on top of it", async () => {
    const { s, patches, settle } = store({ sites: [IAD, PDX] });
    s.report(topology("pdx"));
    const recovery = s.persistRecovery("iad", { state: "RecoveryInProgress" });
    expect(patches).toHaveLength(1);
    await settle();
    await settle();
    await recovery;
    expect(patches[1]).toEqual({ sites: [{ ...IAD, recoveryState: "RecoveryInProgress" }, PDX] });
    expect(s.recoveryOf("iad")).toEqual({ state: "RecoveryInProgress" });
    expect(s.recoveryOf("pdx")).toBeUndefined();
  });
});
