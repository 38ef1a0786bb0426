import { describe, expect, it } from "vitest";
import type { PlannedFailoverStatus } from "../../../shared/api/index.js";
import { plannedStep, type PlannedAction, type PlannedInput, type PlannedSite, type PlannedWork } from "../../../shared/planned/step.js";

const IAD = "11111111-1111-1111-1111-111111111111";
const PDX = "22222222-2222-2222-2222-222222222222";
const NOW = "2025-06-01T12:00:00.000Z";
const secondsBefore = (s: number): string => new Date(Date.parse(NOW) - s * 1000).toISOString();

function site(name: string, state: "writable" | "read-only" | "unreachable", opts: Partial<PlannedSite> & { gtid?: string } = {}): PlannedSite {
  const polledOk = state !== "unreachable";
  return {
    name,
    role: "primary-candidate",
    state,
    polledOk,
    ...(polledOk ? { readOnly: state !== "writable", position: { flavor: "mysql" as const, gtidExecuted: opts.gtid ?? `${IAD}:1-10` } } : {}),
    ...(state === "read-only" ? { replicating: true, replicatingFrom: "iad" } : {}),
    ...opts,
  };
}

const healthy = (): PlannedSite[] => [site("iad", "writable"), site("pdx", "read-only")];

function input(over: Partial<PlannedInput> = {}): PlannedInput {
  return {
    now: NOW,
    annotation: "pdx",
    requestId: "req-1",
    newRequestId: "gen-1",
    current: undefined,
    sites: healthy(),
    activeSite: "iad",
    lastFailover: undefined,
    cooldownMs: 300_000,
    defaults: { maxLagWait: "5m", drainTimeout: "30s", onCooldown: "reject" },
    lastWork: undefined,
    ...over,
  };
}

const block = (phase: PlannedFailoverStatus["phase"], over: Partial<PlannedFailoverStatus> = {}): PlannedFailoverStatus => ({
  requestId: "req-1",
  phase,
  target: "pdx",
  source: "iad",
  startTime: secondsBefore(10),
  phaseTime: secondsBefore(1),
  maxLagWait: "5m",
  drainTimeout: "30s",
  ...over,
});

const kinds = (actions: PlannedAction[]): string[] => actions.map((a) => (a.kind === "event" ? `event:${a.reason}` : a.kind === "metric" ? `metric:${a.result}` : a.kind));
const work = (phase: PlannedFailoverStatus["phase"], over: Partial<PlannedWork> = {}): PlannedWork => ({ requestId: "req-1", phase, ok: true, ...over });

describe("plannedStep: intake", () => {
  it("does nothing without an annotation or in-flight block", () => {
    expect(plannedStep(input({ annotation: undefined }))).toEqual({ actions: [], holdEmergency: false });
  });

  it("starts a request at Pending with the request id and effective timeouts", () => {
    const r = plannedStep(input({ annotation: "pdx:maxLagWait=2s" }));
    expect(r.status).toMatchObject({ phase: "Pending", requestId: "req-1", target: "pdx", source: "iad", maxLagWait: "2s", drainTimeout: "30s", startTime: NOW });
    expect(kinds(r.actions)).toEqual(["event:PlannedFailoverStarted"]);
  });

  it("generates a request id when the plugin posted none, and writes it next to the request", () => {
    const r = plannedStep(input({ requestId: undefined }));
    expect(r.status?.requestId).toBe("gen-1");
    expect(r.actions[0]).toEqual({ kind: "setRequestId", requestId: "gen-1" });
  });

  it("rejects a malformed annotation and clears it", () => {
    const r = plannedStep(input({ annotation: "pdx:foo=1" }));
    expect(r.status).toMatchObject({ phase: "Failed", reason: "InvalidAnnotation" });
    expect(kinds(r.actions)).toEqual(["event:PlannedFailoverRejected", "metric:rejected", "clearAnnotation"]);
  });

  it("skips a request for the active site without recording a phase", () => {
    const r = plannedStep(input({ annotation: "iad" }));
    expect(r.status).toBeUndefined();
    expect(kinds(r.actions)).toEqual(["event:PlannedFailoverSkipped", "clearAnnotation"]);
  });

  it("only clears a leftover annotation of a request that already ended", () => {
    const r = plannedStep(input({ current: block("Succeeded") }));
    // Conditional on what was seen: a request posted meanwhile is not wiped.
    expect(r).toEqual({ actions: [{ kind: "clearAnnotation", seen: { request: "pdx", requestId: "req-1" } }], holdEmergency: false });
  });

  it("clears a malformed request exactly as it read it, id or not", () => {
    const r = plannedStep(input({ annotation: "pdx:maxLagWait=", requestId: undefined }));
    expect(r.actions.at(-1)).toEqual({ kind: "clearAnnotation", seen: { request: "pdx:maxLagWait=" } });
  });

  it("treats a new request id after a terminal block as a new request", () => {
    const r = plannedStep(input({ current: block("Failed"), requestId: "req-2" }));
    expect(r.status).toMatchObject({ phase: "Pending", requestId: "req-2" });
  });
});

describe("plannedStep: validation", () => {
  const validating = (over: Partial<PlannedInput> = {}) => plannedStep(input({ current: block("Pending"), ...over }));

  it("moves Pending to Validating, then Validating to Draining", () => {
    expect(validating().status?.phase).toBe("Validating");
    const r = plannedStep(input({ current: block("Validating") }));
    expect(r.status).toMatchObject({ phase: "Draining", source: "iad", phaseTime: NOW });
    expect(r.holdEmergency).toBe(true);
    expect(kinds(r.actions)).toEqual(["event:PlannedFailoverDraining"]);
  });

  const rejections: [string, Partial<PlannedInput>, string][] = [
    ["unknown site", { current: block("Validating", { target: "sfo" }) }, "UnknownSite"],
    ["dr-only target", { current: block("Validating"), sites: [site("iad", "writable"), site("pdx", "read-only", { role: "dr-only" })] }, "UnknownSite"],
    ["unreachable target", { current: block("Validating"), sites: [site("iad", "writable"), site("pdx", "unreachable")] }, "TargetUnhealthy"],
    ["target not replicating", { current: block("Validating"), sites: [site("iad", "writable"), site("pdx", "read-only", { replicating: false })] }, "TargetUnhealthy"],
    ["writable target (split brain)", { current: block("Validating"), sites: [site("iad", "writable"), site("pdx", "writable")] }, "TargetUnhealthy"],
    ["no primary", { current: block("Validating"), sites: [site("iad", "unreachable"), site("pdx", "read-only")] }, "NoPrimary"],
    ["recovery in flight", { current: block("Validating"), sites: [site("iad", "writable"), site("pdx", "read-only", { recoveryState: "RecoveryInProgress" })] }, "ConcurrentOperation"],
    ["unreadable record", { current: block("Validating"), lastFailover: "yesterday" }, "InvalidFailoverState"],
    ["cooldown", { current: block("Validating"), lastFailover: secondsBefore(60) }, "CooldownActive"],
    ["errant transaction on the target", { current: block("Validating"), sites: [site("iad", "writable"), site("pdx", "read-only", { gtid: `${IAD}:1-10,${PDX}:1` })] }, "TargetHasErrantTransactions"],
  ];

  it("a target read just after the source, ahead by the source's own newest writes, is not errant; acceptErrant lets a real one through", () => {
    const origin = { serverId: 1, serverUuid: IAD };
    const skewed = plannedStep(input({ current: block("Validating"), sites: [{ ...site("iad", "writable"), origin }, site("pdx", "read-only", { gtid: `${IAD}:1-12` })] }));
    expect(skewed.status?.phase).toBe("Draining");
    const errant = [{ ...site("iad", "writable"), origin }, site("pdx", "read-only", { gtid: `${IAD}:1-10,${PDX}:1-2` })];
    expect(plannedStep(input({ current: block("Validating"), sites: errant })).status).toMatchObject({ phase: "Failed", reason: "TargetHasErrantTransactions", message: expect.stringContaining(`pdx holds 2 transaction(s) the primary iad never had (${PDX}:1-2)`) });
    expect(plannedStep(input({ current: block("Validating", { acceptErrant: true }), sites: errant })).status?.phase).toBe("Draining");
  });
  it.each(rejections)("rejects: %s", (_name, over, reason) => {
    const r = plannedStep(input(over));
    expect(r.status).toMatchObject({ phase: "Failed", reason, completionTime: NOW });
    expect(kinds(r.actions)).toEqual(["event:PlannedFailoverRejected", "metric:rejected", "clearAnnotation"]);
    expect(r.holdEmergency).toBe(false);
  });

  it("says when the cooldown ends", () => {
    const r = plannedStep(input({ current: block("Validating"), lastFailover: secondsBefore(60) }));
    expect(r.status?.message).toContain(new Date(Date.parse(NOW) + 240_000).toISOString());
  });

  it("defers inside the cooldown with onCooldown: defer, keeping the annotation", () => {
    const r = plannedStep(input({ current: block("Validating"), lastFailover: secondsBefore(60), defaults: { maxLagWait: "5m", drainTimeout: "30s", onCooldown: "defer" } }));
    expect(r.status).toMatchObject({ phase: "Deferred", reason: "CooldownActive", retryAfter: new Date(Date.parse(NOW) + 240_000).toISOString() });
    expect(kinds(r.actions)).toEqual(["event:PlannedFailoverDeferred"]);
  });

  it("waits in Deferred until retryAfter, then validates again", () => {
    const deferred = block("Deferred", { reason: "CooldownActive", retryAfter: new Date(Date.parse(NOW) + 1000).toISOString() });
    expect(plannedStep(input({ current: deferred })).status).toBeUndefined();
    const due = block("Deferred", { reason: "CooldownActive", retryAfter: secondsBefore(1) });
    expect(plannedStep(input({ current: due })).status).toMatchObject({ phase: "Validating" });
    expect(plannedStep(input({ current: due })).status?.reason).toBeUndefined();
  });

  it("cancels a Deferred request when the annotation is removed", () => {
    const r = plannedStep(input({ annotation: undefined, current: block("Deferred", { retryAfter: NOW }) }));
    expect(r.status).toMatchObject({ phase: "Failed", reason: "Cancelled" });
    expect(kinds(r.actions)).toEqual(["event:PlannedFailoverFailed", "metric:failed_other", "clearAnnotation"]);
  });
});

describe("plannedStep: drain, lag wait, promotion", () => {
  it("drains in Draining: fence and a first kill pass", () => {
    const r = plannedStep(input({ current: block("Draining", { phaseTime: secondsBefore(10) }) }));
    expect(r.status).toBeUndefined();
    expect(r.actions).toEqual([{ kind: "drain", site: "iad" }]);
    expect(r.holdEmergency).toBe(true);
  });

  it("kills the sessions open at the fence again while some are left and drainTimeout has not run out", () => {
    const drained = (open: readonly number[] | "all", phaseTime = secondsBefore(10)) =>
      plannedStep(input({ current: block("Draining", { phaseTime }), lastWork: work("Draining", { gtidAtFence: `${IAD}:1-12`, openSessions: open }) }));
    expect(drained([4, 9]).actions).toEqual([{ kind: "killSessions", site: "iad", only: [4, 9] }]);
    expect(drained("all").actions).toEqual([{ kind: "killSessions", site: "iad" }]);
    expect(drained([4, 9]).status).toBeUndefined();
    const late = drained([4, 9], secondsBefore(31));
    expect(late.status).toMatchObject({ phase: "WaitingForLag", message: "2 session(s) open on iad at the fence were still there after drainTimeout 30s; they cannot commit" });
    expect(drained([]).status).toMatchObject({ phase: "WaitingForLag" });
    expect(drained([]).status?.message).toBeUndefined();
  });

  it("records the source's GTIDs at the fence and waits for the target", () => {
    const r = plannedStep(input({ current: block("Draining"), lastWork: work("Draining", { gtidAtFence: `${IAD}:1-12` }) }));
    expect(r.status).toMatchObject({ phase: "WaitingForLag", sourceGtidAtFence: `${IAD}:1-12`, phaseTime: NOW });
    expect(r.actions).toEqual([{ kind: "waitForGtid", site: "pdx", gtid: `${IAD}:1-12`, seconds: 1 }]);
  });

  it("ignores the work result of another request", () => {
    const r = plannedStep(input({ current: block("Draining"), lastWork: { ...work("Draining", { gtidAtFence: "x" }), requestId: "old" } }));
    expect(kinds(r.actions)).toEqual(["drain"]);
  });

  it("rolls back when draining failed", () => {
    const sites = [site("iad", "read-only", { replicating: false, replicatingFrom: undefined }), site("pdx", "read-only")];
    const r = plannedStep(input({ sites, current: block("Draining"), lastWork: work("Draining", { ok: false, error: "boom" }) }));
    expect(r.status).toMatchObject({ phase: "Draining", reason: "DrainFailed" });
    expect(r.actions).toEqual([{ kind: "unfence", site: "iad" }]);
    expect(r.holdEmergency).toBe(true);
  });

  const fenced = (pdxGtid: string) => [site("iad", "read-only", { gtid: `${IAD}:1-12`, replicating: false, replicatingFrom: undefined }), site("pdx", "read-only", { gtid: pdxGtid })];

  it("keeps waiting while the target lacks the source's transactions", () => {
    const r = plannedStep(input({ sites: fenced(`${IAD}:1-11`), current: block("WaitingForLag", { sourceGtidAtFence: `${IAD}:1-12` }) }));
    expect(r.status).toBeUndefined();
    expect(kinds(r.actions)).toEqual(["waitForGtid"]);
    expect(r.holdEmergency).toBe(true);
  });

  it("promotes once the target contains the source at the fence (observed)", () => {
    const r = plannedStep(input({ sites: fenced(`${IAD}:1-12`), current: block("WaitingForLag", { sourceGtidAtFence: `${IAD}:1-12` }) }));
    expect(r.status).toMatchObject({ phase: "Promoting" });
    expect(kinds(r.actions)).toEqual(["event:PlannedFailoverLagOK", "promote"]);
    expect(r.actions[1]).toEqual({ kind: "promote", site: "pdx", oldPrimary: "iad", gtid: `${IAD}:1-12` });
  });

  it("promotes once the bounded wait saw the transactions", () => {
    const r = plannedStep(input({ sites: fenced(`${IAD}:1-11`), current: block("WaitingForLag", { sourceGtidAtFence: `${IAD}:1-12` }), lastWork: work("WaitingForLag", { caughtUp: true }) }));
    expect(r.status?.phase).toBe("Promoting");
  });

  it("rolls back on lag timeout, then turns Failed{LagTimeout} once the source is writable", () => {
    const waiting = block("WaitingForLag", { sourceGtidAtFence: `${IAD}:1-12`, maxLagWait: "2s", phaseTime: secondsBefore(3) });
    const r = plannedStep(input({ sites: fenced(`${IAD}:1-11`), current: waiting }));
    expect(r.status).toMatchObject({ phase: "WaitingForLag", reason: "LagTimeout", rollingBack: true });
    expect(r.status?.message).toBe("pdx did not catch up with iad within maxLagWait 2s");
    expect(r.actions).toEqual([{ kind: "unfence", site: "iad" }]);
    // Restart mid-rollback: the block still says so; retried, not re-persisted.
    const again = plannedStep(input({ sites: fenced(`${IAD}:1-11`), current: r.status }));
    expect(again.status).toBeUndefined();
    expect(again.actions).toEqual([{ kind: "unfence", site: "iad" }]);
    const done = plannedStep(input({ sites: [site("iad", "writable", { gtid: `${IAD}:1-12` }), site("pdx", "read-only")], current: r.status }));
    expect(done.status).toMatchObject({ phase: "Failed", reason: "LagTimeout", completionTime: NOW });
    expect(done.status?.rollingBack).toBeUndefined();
    expect(kinds(done.actions)).toEqual(["event:PlannedFailoverFailed", "metric:failed_timeout", "clearAnnotation"]);
  });

  it("a reason without rollingBack is no rollback: a drain that left sessions goes on waiting", () => {
    const waiting = block("WaitingForLag", { sourceGtidAtFence: `${IAD}:1-12`, reason: "SessionsLeft", message: "2 session(s) open" });
    const r = plannedStep(input({ sites: fenced(`${IAD}:1-11`), current: waiting }));
    expect(kinds(r.actions)).toEqual(["waitForGtid"]);
  });

  it("rolls back when cancelled mid-wait", () => {
    const r = plannedStep(input({ annotation: undefined, sites: fenced(`${IAD}:1-11`), current: block("WaitingForLag", { sourceGtidAtFence: `${IAD}:1-12` }) }));
    expect(r.status).toMatchObject({ phase: "WaitingForLag", reason: "Cancelled" });
    expect(r.actions).toEqual([{ kind: "unfence", site: "iad" }]);
  });

  it("gives up on a crashed source instead of holding the emergency path", () => {
    const sites = [site("iad", "unreachable"), site("pdx", "read-only")];
    const r = plannedStep(input({ sites, current: block("WaitingForLag", { sourceGtidAtFence: `${IAD}:1-12`, reason: "LagTimeout", message: "x" }) }));
    expect(r.status).toMatchObject({ phase: "Failed", reason: "SourceCrashed" });
    expect(r.holdEmergency).toBe(false);
  });

  it("hands a source that crashed mid-wait to the emergency path at once", () => {
    const sites = [site("iad", "unreachable"), site("pdx", "read-only", { gtid: `${IAD}:1-11` })];
    const r = plannedStep(input({ sites, current: block("WaitingForLag", { sourceGtidAtFence: `${IAD}:1-12` }) }));
    expect(r.status).toMatchObject({ phase: "Failed", reason: "SourceCrashed" });
    expect(kinds(r.actions)).toEqual(["event:PlannedFailoverFailed", "metric:failed_other", "clearAnnotation"]);
    expect(r.holdEmergency).toBe(false);
  });

  it("still promotes a caught-up target when the fenced source crashed", () => {
    const sites = [site("iad", "unreachable"), site("pdx", "read-only", { gtid: `${IAD}:1-12` })];
    const r = plannedStep(input({ sites, current: block("WaitingForLag", { sourceGtidAtFence: `${IAD}:1-12` }) }));
    expect(r.status?.phase).toBe("Promoting");
  });

  it("rolls back on an unreadable GTID", () => {
    const r = plannedStep(input({ sites: fenced(`${IAD}:1-11`), current: block("WaitingForLag", { sourceGtidAtFence: "garbage" }) }));
    expect(r.status).toMatchObject({ reason: "InvalidGTID" });
  });

  it("rolls back past the overall deadline", () => {
    const r = plannedStep(input({ sites: fenced(`${IAD}:1-11`), current: block("Draining", { startTime: secondsBefore(1000) }) }));
    expect(r.status).toMatchObject({ reason: "DeadlineExceeded" });
  });

  it("moves to Resuming once promoted, and releases the emergency hold", () => {
    const r = plannedStep(input({ sites: fenced(`${IAD}:1-12`), current: block("Promoting"), lastWork: work("Promoting") }));
    expect(r.status?.phase).toBe("Resuming");
    expect(r.holdEmergency).toBe(false);
  });

  it("retries the promotion after a restart while the target is read-only", () => {
    const r = plannedStep(input({ sites: fenced(`${IAD}:1-12`), current: block("Promoting", { sourceGtidAtFence: `${IAD}:1-12` }) }));
    expect(kinds(r.actions)).toEqual(["promote"]);
  });

  it("rolls back a failed promotion only once the target is seen read-only", () => {
    const r = plannedStep(input({ sites: fenced(`${IAD}:1-12`), current: block("Promoting"), lastWork: work("Promoting", { ok: false, error: "denied" }) }));
    expect(r.status).toMatchObject({ phase: "Promoting", reason: "ExecuteFailed" });
    expect(r.actions).toEqual([{ kind: "unfence", site: "iad" }]);
    const unknown = plannedStep(input({ sites: [site("iad", "read-only"), site("pdx", "unreachable")], current: block("Promoting"), lastWork: work("Promoting", { ok: false }) }));
    expect(unknown.actions).toEqual([]);
    expect(unknown.holdEmergency).toBe(true);
  });

  it("never unfences the source once the target answers writable", () => {
    const sites = [site("iad", "read-only"), site("pdx", "writable")];
    const r = plannedStep(input({ sites, lastFailover: secondsBefore(5), current: block("Promoting", { reason: "ExecuteFailed" }) }));
    expect(r.status?.phase).toBe("Resuming");
    expect(r.actions).toEqual([]);
  });

  it("records a promotion that the operator did not record before it stopped (target writable after a restart)", () => {
    const sites = [site("iad", "read-only"), site("pdx", "writable")];
    const current = block("Promoting", { sourceGtidAtFence: `${IAD}:1-12` });
    // The last record is from before this switchover started (10 s ago): it is not this one's.
    for (const lastFailover of [undefined, secondsBefore(3600), secondsBefore(11)]) {
      const r = plannedStep(input({ sites, lastFailover, current }));
      expect(r.status?.phase).toBe("Resuming");
      expect(r.actions).toEqual([{ kind: "record", site: "pdx", gtid: `${IAD}:1-12` }]);
      expect(r.holdEmergency).toBe(false);
    }
    // Recorded since the start: nothing to add.
    expect(plannedStep(input({ sites, lastFailover: secondsBefore(2), current })).actions).toEqual([]);
    // The same while a rollback was under way.
    const rolling = plannedStep(input({ sites, current: { ...current, reason: "ExecuteFailed", rollingBack: true } }));
    expect(rolling.actions).toEqual([{ kind: "record", site: "pdx", gtid: `${IAD}:1-12` }]);
  });

  it("succeeds once the target is the recorded primary", () => {
    expect(plannedStep(input({ current: block("Resuming") })).status).toBeUndefined();
    const r = plannedStep(input({ activeSite: "pdx", current: block("Resuming") }));
    expect(r.status).toMatchObject({ phase: "Succeeded", transactionsLost: 0, completionTime: NOW });
    expect(kinds(r.actions)).toEqual(["event:PlannedFailoverCompleted", "metric:success", "clearAnnotation"]);
  });

  it("leaves a request posted over a running one in place; it starts once the running one ended", () => {
    const r = plannedStep(input({ requestId: "req-2", annotation: "iad", activeSite: "pdx", current: block("Resuming") }));
    expect(r.status?.phase).toBe("Succeeded");
    expect(kinds(r.actions)).toEqual(["event:PlannedFailoverCompleted", "metric:success"]);
    const next = plannedStep(input({ requestId: "req-2", annotation: "iad", activeSite: "pdx", current: r.status }));
    expect(next.status).toMatchObject({ phase: "Pending", requestId: "req-2", target: "iad", source: "pdx" });
  });

  it("ignores cancellation once promoting", () => {
    const r = plannedStep(input({ annotation: undefined, sites: fenced(`${IAD}:1-12`), current: block("Promoting"), lastWork: work("Promoting") }));
    expect(r.status?.phase).toBe("Resuming");
  });
});
