import { describe, expect, it } from "vitest";
import type { PlannedFailoverStatus } from "../../../shared/api/index.js";
import type { PlannedInput, PlannedSite } from "../../../shared/planned/step.js";
import { PlannedExecutor, type PlannedExecutorDeps } from "../../../operator/planned/executor.js";
import type { Logger } from "../../../operator/log.js";
import type { SiteSession } from "../../../operator/mysql/site-client.js";

const IAD = "11111111-1111-1111-1111-111111111111";
const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet } as unknown as Logger;

/**
 * Records every call in order; the fake server of `site` answers fence/observe/kill/wait/promote.
 * `sessions[i]`: the application session ids the i-th kill pass finds (none after the last).
 */
function fakes(opts: { persistFails?: boolean; gtid?: string; sessions?: number[][]; pauses?: string[]; caughtUp?: boolean } = {}) {
  const calls: string[] = [];
  const observed: string[] = [];
  let pass = 0;
  const kill = (site: string, only: ReadonlySet<number> | undefined): Promise<number[]> => {
    const found = (opts.sessions?.[pass++] ?? []).filter((id) => only === undefined || only.has(id));
    calls.push(`kill ${site}${only ? ` only ${[...only].join("+")}` : ""}`);
    return Promise.resolve(found);
  };
  const session = (site: string): SiteSession =>
    ({
      flavor: {
        fence: () => (calls.push(`fence ${site}`), Promise.resolve()),
        unfence: () => (calls.push(`unfence ${site}`), Promise.resolve()),
        observe: () => Promise.resolve({ flavor: "mysql", gtidExecuted: opts.gtid ?? `${IAD}:1-12` }),
        killApplicationConnections: (_s: unknown, o: { only?: ReadonlySet<number> }) => kill(site, o.only),
        waitForGtid: () => (calls.push(`wait ${site}`), Promise.resolve(opts.caughtUp ?? false)),
        promote: () => (calls.push(`promote ${site}`), Promise.resolve({ gtidExecuted: `${IAD}:1-12` })),
      },
    }) as unknown as SiteSession;
  const deps: PlannedExecutorDeps = {
    log: quiet,
    withSite: (site, _op, fn) => fn(session(site)),
    spareUsers: ["operator"],
    persistBlock: (block) => {
      calls.push(`persist ${block.phase}${block.reason ? `/${block.reason}` : ""}`);
      return opts.persistFails ? Promise.reject(new Error("apiserver down")) : Promise.resolve();
    },
    setRequestId: (id) => (calls.push(`request-id ${id}`), Promise.resolve()),
    clearRequest: (seen) => (calls.push(`clear ${JSON.stringify(seen)}`), Promise.resolve()),
    persistFailover: (r) => (calls.push(`record ${r.lastFailoverTarget}`), Promise.resolve()),
    recordEvent: (e) => void calls.push(`event ${e.reason}`),
    recordResult: (t, r) => void calls.push(`metric ${t} ${r}`),
    recordPromotion: (t) => void calls.push(`promoted ${t}`),
    observeDuration: (seconds) => void observed.push(`duration ${seconds}`),
    observeLagWait: (seconds) => void observed.push(`lag-wait ${seconds}`),
    markWritable: (s) => void calls.push(`writable ${s}`),
    markReadOnly: (s) => void calls.push(`read-only ${s}`),
    announce: (s) => void calls.push(`announce ${s}`),
    pause: (point) => (opts.pauses?.includes(point) ? (calls.push(`pause ${point}`), Promise.resolve()) : Promise.resolve()),
  };
  return { calls, observed, deps };
}

const NOW = "2025-06-01T12:00:00.000Z";
const sites = (iadWritable: boolean): PlannedSite[] => [
  { name: "iad", role: "primary-candidate", state: iadWritable ? "writable" : "read-only", polledOk: true, readOnly: !iadWritable, position: { flavor: "mysql", gtidExecuted: `${IAD}:1-12` } },
  { name: "pdx", role: "primary-candidate", state: "read-only", polledOk: true, readOnly: true, replicating: true, replicatingFrom: "iad", position: { flavor: "mysql", gtidExecuted: `${IAD}:1-11` } },
];
const block = (phase: PlannedFailoverStatus["phase"], over: Partial<PlannedFailoverStatus> = {}): PlannedFailoverStatus => ({
  requestId: "r1",
  phase,
  target: "pdx",
  source: "iad",
  startTime: NOW,
  phaseTime: NOW,
  maxLagWait: "5m",
  drainTimeout: "1s",
  ...over,
});
const input = (over: Partial<Omit<PlannedInput, "lastWork" | "newRequestId">>): Omit<PlannedInput, "lastWork" | "newRequestId"> => ({
  now: NOW,
  annotation: "pdx",
  requestId: "r1",
  current: undefined,
  sites: sites(true),
  activeSite: "iad",
  lastFailover: undefined,
  cooldownMs: 1000,
  defaults: { maxLagWait: "5m", drainTimeout: "1s", onCooldown: "reject" },
  ...over,
});

describe("PlannedExecutor", () => {
  it("persists each phase before its work, and feeds the work's result into the next step", async () => {
    const { calls, deps } = fakes();
    const ex = new PlannedExecutor(deps);
    const r1 = await ex.step(input({ current: block("Validating") }));
    expect(r1).toMatchObject({ holdEmergency: true, block: { phase: "Draining" } });
    const r2 = await ex.step(input({ current: r1.block }));
    expect(r2.holdEmergency).toBe(true);
    const r3 = await ex.step(input({ current: r2.block, sites: sites(false) }));
    expect(r3.block).toMatchObject({ phase: "WaitingForLag", sourceGtidAtFence: `${IAD}:1-12` });
    // WaitingForLag is the one phase written after its work (phases.ts): the wait is read-only.
    expect(calls).toEqual(["persist Draining", "event PlannedFailoverDraining", "fence iad", "read-only iad", "kill iad", "wait pdx", "persist WaitingForLag"]);
  });

  it("says when the next step may be taken at once: after the fence, after a wait that caught up; not after a promotion", async () => {
    const { deps } = fakes();
    const ex = new PlannedExecutor(deps);
    const persisted = await ex.step(input({ current: block("Validating") }));
    expect(persisted.continueNow).toBe(false);
    const fenced = await ex.step(input({ current: persisted.block }));
    expect(fenced.continueNow).toBe(true);
    const waited = await ex.step(input({ current: fenced.block, sites: sites(false) }));
    // The fake's wait never catches up.
    expect(waited).toMatchObject({ block: { phase: "WaitingForLag" }, continueNow: false });
    const caughtUp = sites(false).map((s) => ({ ...s, position: { flavor: "mysql" as const, gtidExecuted: `${IAD}:1-12` } }));
    const promoted = await ex.step(input({ current: waited.block, sites: caughtUp }));
    expect(promoted).toMatchObject({ block: { phase: "Promoting" }, continueNow: false, progressed: true });
  });

  it("a wait that caught up leaves WaitingForLag unwritten: the Promoting block, written before the promotion, holds the fence's GTIDs", async () => {
    const { calls, deps } = fakes({ caughtUp: true });
    const ex = new PlannedExecutor(deps);
    const fenced = await ex.step(input({ current: block("Draining") }));
    const waited = await ex.step(input({ current: fenced.block, sites: sites(false) }));
    expect(waited).toMatchObject({ block: { phase: "WaitingForLag", sourceGtidAtFence: `${IAD}:1-12` }, continueNow: true, progressed: true });
    const promoted = await ex.step(input({ current: waited.block, sites: sites(false) }));
    expect(promoted.block).toMatchObject({ phase: "Promoting", sourceGtidAtFence: `${IAD}:1-12` });
    expect(calls).toEqual(["fence iad", "read-only iad", "kill iad", "wait pdx", "persist Promoting", "event PlannedFailoverLagOK", "promote pdx", "writable pdx", "announce pdx", "promoted pdx", "record pdx"]);
  });

  it("drains, one kill pass per step, until no session open at the fence is left; sessions opened later do not hold it", async () => {
    // Pass 1 kills 5, 6, 9; pass 2 finds 6 still rolling back (12, 13 are new); pass 3 finds none of them.
    const { calls, deps } = fakes({ sessions: [[5, 6, 9], [6, 12, 13], [14, 15]] });
    const ex = new PlannedExecutor(deps);
    let r = await ex.step(input({ current: block("Draining") }));
    for (let i = 0; i < 3 && r.block?.phase === "Draining"; i++) {
      expect(r.progressed).toBe(true);
      r = await ex.step(input({ current: r.block, sites: sites(false) }));
    }
    expect(r.block).toMatchObject({ phase: "WaitingForLag", sourceGtidAtFence: `${IAD}:1-12` });
    expect(r.block?.message).toBeUndefined();
    expect(calls.filter((c) => !c.startsWith("persist") && !c.startsWith("wait"))).toEqual(["fence iad", "read-only iad", "kill iad", "kill iad only 5+6+9", "kill iad only 6"]);
  });

  it("goes on after drainTimeout with the sessions left named in the message: they cannot commit", async () => {
    const { calls, deps } = fakes({ sessions: Array.from({ length: 10 }, () => [7]) });
    const ex = new PlannedExecutor(deps);
    const later = new Date(Date.parse(NOW) + 1_500).toISOString();
    const drained = await ex.step(input({ current: block("Draining") }));
    const again = await ex.step(input({ current: drained.block, sites: sites(false) }));
    expect(calls).toContain("kill iad only 7");
    const r = await ex.step(input({ now: later, current: again.block, sites: sites(false) }));
    expect(r.block).toMatchObject({ phase: "WaitingForLag", message: "1 session(s) open on iad at the fence were still there after drainTimeout 1s; they cannot commit" });
  });

  it("a failed first kill pass is done again in full next step", async () => {
    const { calls, deps } = fakes({ sessions: [[3]] });
    let failures = 1;
    const withSite = deps.withSite;
    deps.withSite = (site, op, fn, ms) => (op === "planned drain" && failures-- > 0 ? Promise.reject(new Error("lost connection")) : withSite(site, op, fn, ms));
    const ex = new PlannedExecutor(deps);
    const drained = await ex.step(input({ current: block("Draining") }));
    const again = await ex.step(input({ current: drained.block, sites: sites(false) }));
    expect(again.block?.phase).toBe("Draining");
    expect(calls.filter((c) => c.startsWith("kill"))).toEqual(["kill iad"]);
  });

  it("reports progress for a new phase or finished work, not for a wait that did not catch up; pauses at failpoints", async () => {
    const { calls, deps } = fakes({ pauses: ["planned.after.persist.WaitingForLag", "planned.after.drain"] });
    const ex = new PlannedExecutor(deps);
    const drained = await ex.step(input({ current: block("Draining") }));
    expect(drained.progressed).toBe(true);
    const waiting = await ex.step(input({ current: drained.block, sites: sites(false) }));
    expect(waiting).toMatchObject({ progressed: true, block: { phase: "WaitingForLag" } });
    const again = await ex.step(input({ current: waiting.block, sites: sites(false) }));
    expect(again).toMatchObject({ progressed: false, block: { phase: "WaitingForLag" } });
    expect(calls.filter((c) => c.startsWith("pause"))).toEqual(["pause planned.after.drain", "pause planned.after.persist.WaitingForLag"]);
    // WaitingForLag is written after its wait (phases.ts), the failpoint right after the write.
    expect(calls.indexOf("pause planned.after.persist.WaitingForLag")).toBe(calls.indexOf("persist WaitingForLag") + 1);
  });

  it("does no work when the phase could not be persisted", async () => {
    const { calls, deps } = fakes({ persistFails: true });
    const ex = new PlannedExecutor(deps);
    const r = await ex.step(input({ current: block("Validating") }));
    expect(r).toMatchObject({ holdEmergency: true, block: { phase: "Validating" } });
    expect(calls).toEqual(["persist Draining"]);
  });

  it("promotes only after persisting Promoting, then records the failover", async () => {
    const { calls, deps } = fakes();
    const ex = new PlannedExecutor(deps);
    const caughtUp = sites(false).map((s) => ({ ...s, position: { flavor: "mysql" as const, gtidExecuted: `${IAD}:1-12` } }));
    const r = await ex.step(input({ current: block("WaitingForLag", { sourceGtidAtFence: `${IAD}:1-12` }), sites: caughtUp }));
    expect(r.block?.phase).toBe("Promoting");
    expect(calls).toEqual(["persist Promoting", "event PlannedFailoverLagOK", "promote pdx", "writable pdx", "announce pdx", "promoted pdx", "record pdx"]);
  });

  it("refuses to promote a target that lacks the fenced source's transactions", async () => {
    const { calls, deps } = fakes({ gtid: `${IAD}:1-11` });
    const ex = new PlannedExecutor(deps);
    const r = await ex.step(input({ current: block("Promoting", { sourceGtidAtFence: `${IAD}:1-12` }), sites: sites(false) }));
    expect(calls).not.toContain("promote pdx");
    // The failed attempt rolls back next cycle (the target is seen read-only).
    const next = await ex.step(input({ current: r.block, sites: sites(false) }));
    expect(next.block).toMatchObject({ phase: "Promoting", reason: "ExecuteFailed" });
    expect(calls.slice(-2)).toEqual(["unfence iad", "writable iad"]);
  });

  it("clears both annotations when the request ends", async () => {
    const { calls, deps } = fakes();
    const ex = new PlannedExecutor(deps);
    await ex.step(input({ current: block("Resuming"), activeSite: "pdx" }));
    expect(calls).toEqual(["persist Succeeded", "event PlannedFailoverCompleted", "metric pdx success", `clear {"request":"pdx","requestId":"r1"}`]);
  });

  it("times the lag wait when WaitingForLag is left and the whole switchover at Succeeded, from the block's timestamps", async () => {
    const { observed, deps } = fakes();
    const ex = new PlannedExecutor(deps);
    const later = (ms: number): string => new Date(Date.parse(NOW) + ms).toISOString();
    const caughtUp = sites(false).map((s) => ({ ...s, position: { flavor: "mysql" as const, gtidExecuted: `${IAD}:1-12` } }));
    const waiting = block("WaitingForLag", { sourceGtidAtFence: `${IAD}:1-12`, phaseTime: later(400) });
    const promoting = await ex.step(input({ now: later(650), current: waiting, sites: caughtUp }));
    expect(observed).toEqual(["lag-wait 0.25"]);
    await ex.step(input({ now: later(1500), current: { ...promoting.block!, phase: "Resuming" }, activeSite: "pdx" }));
    expect(observed).toEqual(["lag-wait 0.25", "duration 1.5"]);
  });
});
