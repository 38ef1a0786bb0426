import { describe, expect, it } from "vitest";
import type { MysqlFailoverGroup, PlannedFailoverStatus } from "../../../shared/api/index.js";
import { parsePlannedFailover } from "../../../shared/annotations.js";
import { formatMaintenance } from "../../../shared/maintenance.js";
import { ANNOTATIONS } from "../../../shared/names.js";
import {
  cancelCommand,
  cancelOutcome,
  checkCancel,
  checkFailover,
  followedOutcome,
  outcomeMessage,
  phaseText,
  removedOutcome,
  requestWithdrawal,
  type FollowedOutcome,
} from "../../../cli/commands/failover.js";
import { isTerminal } from "../../../shared/planned/step.js";

const NOW = Date.parse("2026-11-22T03:00:00Z");

function group(over: { annotations?: Record<string, string>; status?: MysqlFailoverGroup["status"]; spec?: Partial<MysqlFailoverGroup["spec"]> } = {}): MysqlFailoverGroup {
  return {
    apiVersion: "shipstream.io/v1alpha1",
    kind: "MysqlFailoverGroup",
    metadata: { name: "orders", namespace: "shop", ...(over.annotations ? { annotations: over.annotations } : {}) },
    spec: {
      secretName: "dsn",
      sites: [
        { name: "iad", role: "primary-candidate", endpoint: { host: "10.0.0.1" } },
        { name: "pdx", endpoint: { host: "10.0.0.2" } },
        { name: "dr", role: "dr-only", endpoint: { host: "10.0.0.3" } },
      ],
      ...over.spec,
    },
    status: over.status ?? {
      activeSite: "iad",
      sites: [
        { name: "iad", state: "writable" },
        { name: "pdx", state: "read-only", replicating: true },
        { name: "dr", state: "read-only", replicating: true },
      ],
    },
  };
}

describe("checkFailover", () => {
  it("posts `<site>` or `<site>:maxLagWait=<d>` in the shared grammar (role defaults to primary-candidate)", () => {
    const bare = checkFailover(group(), "pdx", {}, NOW);
    expect(bare).toEqual({ verdict: "post", request: { site: "pdx" }, value: "pdx", notes: [] });
    const timed = checkFailover(group(), "pdx", { maxLagWaitMs: 90_000 }, NOW);
    expect(timed.verdict === "post" && timed.value).toBe("pdx:maxLagWait=1m30s");
    if (timed.verdict === "post") expect(parsePlannedFailover(timed.value)).toEqual({ ok: true, value: { site: "pdx", maxLagWaitMs: 90_000 } });
    const accepting = checkFailover(group(), "pdx", { maxLagWaitMs: 90_000, acceptErrant: true }, NOW);
    expect(accepting.verdict === "post" && accepting.value).toBe("pdx:maxLagWait=1m30s:acceptErrant=true");
  });

  it("rejects an unknown site and a site that is not a primary-candidate", () => {
    expect(checkFailover(group(), "lax", {}, NOW)).toEqual({
      verdict: "reject",
      message: 'site "lax" is not in spec.sites of shop/orders; its sites: iad (primary-candidate), pdx (primary-candidate), dr (dr-only)',
    });
    expect(checkFailover(group(), "dr", {}, NOW)).toEqual({
      verdict: "reject",
      message: "dr is a dr-only site of shop/orders and is never promoted; only primary-candidate sites can be: iad, pdx",
    });
  });

  it("the active site is nothing to do", () => {
    expect(checkFailover(group(), "iad", {}, NOW)).toEqual({ verdict: "noop", message: "iad is already the active site of shop/orders; nothing to do" });
  });

  it.each(["Pending", "Validating", "Deferred", "Draining", "WaitingForLag", "Promoting", "Resuming"] as const)("rejects while a planned failover is %s", (phase) => {
    const g = group({ status: { activeSite: "iad", plannedFailover: { phase, target: "pdx", requestId: "r1" } } });
    const check = checkFailover(g, "pdx", {}, NOW);
    expect(check.verdict).toBe("reject");
    expect(check.verdict === "reject" && check.message).toBe(
      `a planned failover of shop/orders to pdx is already in progress (phase ${phase}, request r1); follow it with kubectl bloodraven status orders -n shop --watch, or wait for it to end`,
    );
  });

  it("a finished block does not block a new request; a pending annotation does", () => {
    for (const phase of ["Succeeded", "Failed"] as const) {
      const g = group({ status: { activeSite: "iad", plannedFailover: { phase, target: "pdx" } } });
      expect(checkFailover(g, "pdx", {}, NOW).verdict).toBe("post");
    }
    const pending = group({ annotations: { [ANNOTATIONS.plannedFailover]: "pdx:maxLagWait=30s", [ANNOTATIONS.plannedFailoverRequestId]: "abc" } });
    const check = checkFailover(pending, "pdx", {}, NOW);
    expect(check.verdict === "reject" && check.message).toBe(
      `a planned failover request is already pending on shop/orders (${ANNOTATIONS.plannedFailover}=pdx:maxLagWait=30s, request abc); follow it with kubectl bloodraven status orders -n shop --watch, or remove it first with: ${cancelCommand(pending)}`,
    );
  });

  it("the not yet removed annotations of a request that ended do not block a new one", () => {
    const annotations = { [ANNOTATIONS.plannedFailover]: "pdx", [ANNOTATIONS.plannedFailoverRequestId]: "r1" };
    const ended = group({ annotations, status: { activeSite: "iad", plannedFailover: { phase: "Failed", target: "pdx", requestId: "r1" } } });
    expect(checkFailover(ended, "pdx", {}, NOW).verdict).toBe("post");
    const other = group({ annotations, status: { activeSite: "iad", plannedFailover: { phase: "Failed", target: "pdx", requestId: "r0" } } });
    expect(checkFailover(other, "pdx", {}, NOW).verdict).toBe("reject");
  });

  it("notes maintenance, the cooldown and an unhealthy target, without rejecting", () => {
    const maintenance = formatMaintenance({ until: "2026-11-22T05:00:00Z", reason: "network work" });
    const g = group({
      annotations: { [ANNOTATIONS.maintenance]: maintenance },
      status: { activeSite: "iad", lastFailover: "2026-11-22T02:58:00Z", sites: [{ name: "pdx", state: "unreachable" }] },
    });
    const check = checkFailover(g, "pdx", {}, NOW);
    expect(check.verdict).toBe("post");
    expect(check.verdict === "post" && check.notes).toEqual([
      "note: shop/orders is in maintenance until 2026-11-22T05:00:00Z (network work); planned failovers still run during maintenance",
      "warning: the failover cooldown of shop/orders has 3m left; the operator will reject it (CooldownActive)",
      "warning: pdx is unreachable in status; the operator promotes only a reachable, read-only, replicating site and will likely reject the request",
    ]);
    // An expired maintenance is not mentioned.
    const expired = group({ annotations: { [ANNOTATIONS.maintenance]: formatMaintenance({ until: "2026-11-22T02:00:00Z" }) } });
    expect(checkFailover(expired, "pdx", {}, NOW)).toMatchObject({ verdict: "post", notes: [] });
    const deferring = group({ spec: { plannedFailover: { onCooldown: "defer" } }, status: { activeSite: "iad", lastFailover: "2026-11-22T02:58:00Z" } });
    expect(checkFailover(deferring, "pdx", {}, NOW)).toMatchObject({ notes: ["warning: the failover cooldown of shop/orders has 3m left; the operator will defer it until then"] });
  });
});

describe("followedOutcome: only the status block of this request counts", () => {
  const block = (over: Partial<PlannedFailoverStatus>): PlannedFailoverStatus => ({ phase: "Pending", target: "pdx", ...over });

  it("waits while there is no block, a block of another request, or one without a request id", () => {
    expect(followedOutcome(undefined, "r1")).toEqual({ state: "waiting" });
    expect(followedOutcome(block({ requestId: "r0", phase: "Succeeded", transactionsLost: 0 }), "r1")).toEqual({ state: "waiting" });
    expect(followedOutcome(block({ phase: "Succeeded" }), "r1")).toEqual({ state: "waiting" });
    expect(followedOutcome(block({ requestId: "", phase: "Succeeded" }), "")).toEqual({ state: "waiting" });
    expect(followedOutcome(block({ requestId: "r0", phase: "Failed" }), "r1")).toEqual({ state: "waiting" });
  });

  it.each(["Pending", "Validating", "Deferred", "Draining", "WaitingForLag", "Promoting", "Resuming"] as const)("%s is running", (phase) => {
    const b = block({ requestId: "r1", phase });
    expect(followedOutcome(b, "r1")).toEqual({ state: "running", phase, block: b });
    expect(isTerminal(phase)).toBe(false);
  });

  it("Succeeded (0), skipped (0), Failed (1), rejected (1)", () => {
    const ok = block({ requestId: "r1", phase: "Succeeded", transactionsLost: 0 });
    expect(followedOutcome(ok, "r1")).toEqual({ state: "done", outcome: "succeeded", exitCode: 0, block: ok });
    const already = block({ requestId: "r1", phase: "Succeeded", reason: "AlreadyActive" });
    expect(followedOutcome(already, "r1")).toMatchObject({ outcome: "skipped", exitCode: 0 });
    const failed = block({ requestId: "r1", phase: "Failed", reason: "LagTimeout" });
    expect(followedOutcome(failed, "r1")).toMatchObject({ outcome: "failed", exitCode: 1 });
    const rejected = block({ requestId: "r1", phase: "Failed", reason: "Rejected" });
    expect(followedOutcome(rejected, "r1")).toMatchObject({ outcome: "rejected", exitCode: 1 });
    // The operator's validation failures are rejections: nothing was changed.
    for (const reason of ["CooldownActive", "TargetUnhealthy", "NoPrimary", "UnknownSite", "ConcurrentOperation", "InvalidAnnotation", "TargetHasErrantTransactions", "InvalidFailoverState"]) {
      expect(followedOutcome(block({ requestId: "r1", phase: "Failed", reason }), "r1")).toMatchObject({ outcome: "rejected", exitCode: 1 });
    }
    for (const reason of ["LagTimeout", "DrainFailed", "ExecuteFailed", "Cancelled", "SourceCrashed", "DeadlineExceeded"]) {
      expect(followedOutcome(block({ requestId: "r1", phase: "Failed", reason }), "r1")).toMatchObject({ outcome: "failed", exitCode: 1 });
    }
    // Not phases of today's CRD; accepted should the operator report them as phases.
    expect(followedOutcome(block({ requestId: "r1", phase: "Skipped" as never }), "r1")).toMatchObject({ outcome: "skipped", exitCode: 0 });
    expect(followedOutcome(block({ requestId: "r1", phase: "Rejected" as never }), "r1")).toMatchObject({ outcome: "rejected", exitCode: 1 });
  });
});

describe("requestWithdrawal", () => {
  it("ours, replaced by another request, or removed", () => {
    const mine = { [ANNOTATIONS.plannedFailover]: "pdx", [ANNOTATIONS.plannedFailoverRequestId]: "r1" };
    expect(requestWithdrawal(group({ annotations: mine }), "r1")).toEqual({ state: "ours" });
    expect(requestWithdrawal(group({ annotations: { ...mine, [ANNOTATIONS.plannedFailoverRequestId]: "r2" } }), "r1")).toEqual({ state: "superseded", by: "r2" });
    expect(requestWithdrawal(group({ annotations: {} }), "r1")).toEqual({ state: "removed" });
    expect(requestWithdrawal(group({ annotations: { [ANNOTATIONS.plannedFailoverRequestId]: "r1" } }), "r1")).toEqual({ state: "removed" });
  });
});

describe("removedOutcome", () => {
  it("a request cleared without a block is a skip when the target is the primary, else a cancellation", () => {
    expect(removedOutcome(group(), "iad", "r1")).toEqual({
      code: 0,
      stream: "out",
      text: "planned failover of shop/orders to iad skipped by the operator: iad is already the active site; nothing changed\n",
    });
    expect(removedOutcome(group({ status: { activeSite: "", lastKnownPrimary: "pdx" } }), "pdx", "r1")).toMatchObject({ code: 0 });
    expect(removedOutcome(group(), "pdx", "r1")).toEqual({
      code: 1,
      stream: "err",
      text: "error: the planned failover request r1 was removed from shop/orders without a result in status.plannedFailover (cancelled by someone, or an operator that does not report request ids); check kubectl bloodraven status orders -n shop --watch\n",
    });
  });
});

describe("messages", () => {
  it("phaseText", () => {
    expect(phaseText({ phase: "Draining", message: "fencing iad" })).toBe("Draining: fencing iad");
    expect(phaseText({ phase: "Deferred", reason: "CooldownActive", retryAfter: "2026-11-22T03:05:00.000Z" })).toBe("Deferred (CooldownActive) until 2026-11-22T03:05:00Z");
    expect(phaseText({ phase: "Promoting" })).toBe("Promoting");
    expect(phaseText({ phase: "WaitingForLag", reason: "LagTimeout", rollingBack: true, message: "pdx did not catch up" })).toBe("WaitingForLag (LagTimeout), rolling back: pdx did not catch up");
  });

  it("outcomeMessage", () => {
    const g = group();
    const done = (block: PlannedFailoverStatus) => followedOutcome({ ...block, requestId: "r1" }, "r1") as Extract<FollowedOutcome, { state: "done" }>;
    expect(outcomeMessage(done({ phase: "Succeeded", target: "pdx", source: "iad", transactionsLost: 0 }), g, 12_400)).toEqual({
      stream: "out",
      text: "planned failover of shop/orders to pdx succeeded after 12s (from iad); transactions lost: 0\n",
    });
    expect(outcomeMessage(done({ phase: "Failed", target: "pdx", source: "iad", reason: "LagTimeout", message: "pdx did not catch up" }), g, 1).text).toBe(
      "error: planned failover of shop/orders to pdx failed (LagTimeout): pdx did not catch up; the operator rolled back: iad is unfenced and still primary; find out why pdx lags before retrying\n",
    );
    expect(outcomeMessage(done({ phase: "Rejected" as never, target: "pdx", reason: "CooldownActive", message: "3m left" }), g, 1).text).toBe(
      "error: the operator rejected the planned failover of shop/orders to pdx (CooldownActive: 3m left); nothing changed. wait for the cooldown to end (kubectl bloodraven status orders -n shop shows it), or set spec.plannedFailover.onCooldown: defer\n",
    );
    expect(outcomeMessage(done({ phase: "Succeeded", target: "pdx", reason: "AlreadyActive", message: "pdx is already active" }), g, 1)).toEqual({
      stream: "out",
      text: "planned failover of shop/orders to pdx skipped by the operator (AlreadyActive: pdx is already active); nothing changed\n",
    });
  });

  it("cancelCommand removes both request annotations", () => {
    expect(cancelCommand(group())).toBe(`kubectl annotate mfg orders -n shop ${ANNOTATIONS.plannedFailover}- ${ANNOTATIONS.plannedFailoverRequestId}-`);
  });
});

describe("checkCancel", () => {
  const running = (block: PlannedFailoverStatus, annotations: Record<string, string> = { [ANNOTATIONS.plannedFailover]: "pdx", [ANNOTATIONS.plannedFailoverRequestId]: "r1" }) =>
    checkCancel(group({ annotations, status: { activeSite: "iad", plannedFailover: block } }));

  it("withdraws a switchover in a cancellable phase", () => {
    const block: PlannedFailoverStatus = { phase: "WaitingForLag", requestId: "r1", target: "pdx", source: "iad" };
    expect(running(block)).toEqual({ verdict: "post", requestId: "r1", running: block });
  });

  it("withdraws a request the operator has not picked up yet", () => {
    const g = group({ annotations: { [ANNOTATIONS.plannedFailover]: "pdx", [ANNOTATIONS.plannedFailoverRequestId]: "r2" } });
    expect(checkCancel(g)).toEqual({ verdict: "post", requestId: "r2", running: undefined });
  });

  it("refuses from Promoting on, where the operator only goes forward", () => {
    for (const phase of ["Promoting", "Resuming"] as const) {
      const c = running({ phase, requestId: "r1", target: "pdx" });
      expect(c.verdict).toBe("reject");
      expect(c.verdict === "reject" && c.message).toMatch(/can no longer be cancelled: from Promoting on the target may already be writable/);
    }
  });

  it("refuses a rollback under way, and says a withdrawn one is already ending", () => {
    expect(running({ phase: "Draining", requestId: "r1", rollingBack: true, reason: "DrainFailed" })).toMatchObject({ verdict: "reject", message: expect.stringMatching(/already rolling back \(DrainFailed\)/) as unknown });
    expect(running({ phase: "WaitingForLag", requestId: "r1" }, {})).toMatchObject({ verdict: "noop", message: expect.stringMatching(/already withdrawn/) as unknown });
  });

  it("refuses when nothing is pending: no request, or only the leftovers of a finished one", () => {
    expect(checkCancel(group())).toEqual({ verdict: "reject", message: "no planned failover is pending or in progress on shop/orders; nothing to cancel" });
    expect(running({ phase: "Succeeded", requestId: "r1" })).toMatchObject({ verdict: "reject" });
  });
});

describe("cancelOutcome", () => {
  const g = group();
  const done = (block: PlannedFailoverStatus) => {
    const f = followedOutcome(block, "r1");
    if (f.state !== "done") throw new Error("not done");
    return cancelOutcome(f, g);
  };

  it("exits 0 once cancelled, 1 when the switchover went through anyway", () => {
    expect(done({ phase: "Failed", reason: "Cancelled", requestId: "r1", target: "pdx", message: "the request was withdrawn (annotation removed); rolled back, iad is writable again" })).toEqual({
      code: 0,
      stream: "out",
      text: "planned failover of shop/orders to pdx cancelled: the request was withdrawn (annotation removed); rolled back, iad is writable again\n",
    });
    expect(done({ phase: "Succeeded", requestId: "r1", target: "pdx" })).toMatchObject({ code: 1, stream: "err", text: expect.stringMatching(/was not cancelled: it had reached Promoting/) as unknown });
    expect(done({ phase: "Failed", reason: "LagTimeout", requestId: "r1", target: "pdx" })).toMatchObject({ code: 0, text: expect.stringMatching(/ended before the withdrawal was acted on: Failed \(LagTimeout\)/) as unknown });
  });
});
