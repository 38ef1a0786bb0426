import { describe, expect, it } from "vitest";
import type { BootstrapStatus, MysqlFailoverGroup } from "../../../shared/api/index.js";
import { ANNOTATIONS } from "../../../shared/names.js";
import { recloneRunbook } from "../../../cli/commands/reclone.js";
import {
  cloneEnd,
  interruptedEnd,
  newRejection,
  priorClone,
  recloneProgress,
  recloneStepKey,
  recloneStepText,
  rejectedEnd,
  rejectionMarks,
  timedOutEnd,
  withdrawnEnd,
  type RecloneRequest,
  type RejectionEvent,
} from "../../../cli/reclone-wait.js";

const VALUE = "pdx:confirm=orders";
const REQUEST: RecloneRequest = { site: "pdx", value: VALUE, runbook: "pvc-loss" };
const DESCRIBE = "kubectl describe mfg orders -n shop";
const WITHDRAW = `kubectl annotate mfg orders -n shop ${ANNOTATIONS.recloneSite}-`;

function clone(over: Partial<BootstrapStatus> = {}): BootstrapStatus {
  return {
    site: "pdx",
    source: "reclone",
    phase: "Cloning",
    donor: "iad",
    cloneId: "clone-new",
    request: VALUE,
    message: "reclone of pdx from iad: receiving the copy from iad",
    startTime: "2026-11-22T03:00:02Z",
    bytes: 0,
    ...over,
  };
}

function group(annotation: string | undefined, bootstrap?: BootstrapStatus): MysqlFailoverGroup {
  return {
    apiVersion: "shipstream.io/v1alpha1",
    kind: "MysqlFailoverGroup",
    metadata: { name: "orders", namespace: "shop", annotations: annotation === undefined ? {} : { [ANNOTATIONS.recloneSite]: annotation } },
    spec: { secretName: "dsn", sites: [] },
    status: { activeSite: "iad", ...(bootstrap ? { bootstrap } : {}) },
  };
}

describe("recloneProgress: only the clone this request started counts", () => {
  // An earlier attempt of the same request, recorded when this one was posted.
  const earlier = clone({ cloneId: "clone-old", startTime: "2026-11-22T02:00:00Z", phase: "Done", message: "reclone of pdx from iad done: pdx replicates from iad" });
  const prior = priorClone(group(VALUE, earlier));

  it("the prior clone is taken from the group as posted", () => {
    expect(prior).toEqual({ cloneId: "clone-old", startTime: "2026-11-22T02:00:00Z" });
    expect(priorClone(group(VALUE))).toBeUndefined();
  });

  it("is pending while the annotation holds it and no clone of it is recorded, even beside an earlier Done of the same value", () => {
    expect(recloneProgress(group(VALUE), VALUE, undefined)).toEqual({ state: "pending" });
    expect(recloneProgress(group(VALUE, earlier), VALUE, prior)).toEqual({ state: "pending" });
  });

  it("an earlier attempt of the same value still running when this one was posted is not this one, whatever it ends in", () => {
    const running = clone({ cloneId: "clone-old", startTime: "2026-11-22T02:00:00Z", phase: "SetupReplication" });
    const posted = priorClone(group(VALUE, running));
    const ended = { ...running, phase: "Failed" as const, message: "failed" };
    expect(recloneProgress(group(VALUE, running), VALUE, posted)).toEqual({ state: "pending", other: running });
    expect(recloneProgress(group(VALUE, ended), VALUE, posted)).toEqual({ state: "pending" });
  });

  it("names another clone that runs meanwhile (an auto-clone), and ignores one that ended", () => {
    const auto = clone({ site: "sfo", source: "auto-clone", cloneId: "clone-auto", phase: "WaitingForRestart" });
    delete auto.request;
    expect(recloneProgress(group(VALUE, auto), VALUE, undefined)).toEqual({ state: "pending", other: auto });
    expect(recloneProgress(group(VALUE, { ...auto, phase: "Done" }), VALUE, undefined)).toEqual({ state: "pending" });
  });

  it.each(["Cloning", "WaitingForRestart", "SetupReplication"] as const)("a new clone carrying the value in %s is running", (phase) => {
    const record = clone({ phase });
    expect(recloneProgress(group(VALUE, record), VALUE, prior)).toEqual({ state: "running", record });
  });

  it("the same cloneId with another startTime is a new clone too", () => {
    const record = clone({ cloneId: "clone-old" });
    expect(recloneProgress(group(VALUE, record), VALUE, prior)).toMatchObject({ state: "running" });
  });

  it("Done and Failed end it; the annotation removed just before is not a withdrawal", () => {
    const running = clone({ phase: "SetupReplication" });
    expect(recloneProgress(group(undefined, running), VALUE, prior)).toEqual({ state: "running", record: running });
    const done = clone({ phase: "Done", gtid: "0-1-57" });
    expect(recloneProgress(group(undefined, done), VALUE, prior)).toEqual({ state: "done", ok: true, record: done });
    const failed = clone({ phase: "Failed" });
    expect(recloneProgress(group(undefined, failed), VALUE, prior)).toEqual({ state: "done", ok: false, record: failed });
  });

  it("is withdrawn when the annotation is gone or replaced and no clone of it is recorded", () => {
    expect(recloneProgress(group(undefined), VALUE, undefined)).toEqual({ state: "withdrawn" });
    expect(recloneProgress(group(undefined, earlier), VALUE, prior)).toEqual({ state: "withdrawn" });
    expect(recloneProgress(group("sfo:confirm=orders"), VALUE, undefined)).toEqual({ state: "withdrawn", by: "sfo:confirm=orders" });
    // A clone of another request is not this one's.
    expect(recloneProgress(group(undefined, clone({ request: "pdx" })), VALUE, undefined)).toEqual({ state: "withdrawn" });
  });
});

describe("the lines", () => {
  it("a step: phase, bytes copied, the message without the opening every line would repeat", () => {
    expect(recloneStepText(clone())).toBe("Cloning: receiving the copy from iad");
    expect(recloneStepText(clone({ bytes: 47_395_635 }))).toBe("Cloning (45.2 MiB copied): receiving the copy from iad");
    expect(recloneStepText(clone({ phase: "Done", bytes: 1024, message: "reclone of pdx from iad done: pdx replicates from iad" }))).toBe(
      "Done (1.0 KiB copied): reclone of pdx from iad done: pdx replicates from iad",
    );
    const bare = clone();
    delete bare.message;
    expect(recloneStepText(bare)).toBe("Cloning");
  });

  it("a byte count alone is not a new step; a new phase or message is", () => {
    expect(recloneStepKey(clone({ bytes: 1 }))).toBe(recloneStepKey(clone({ bytes: 2 })));
    expect(recloneStepKey(clone())).not.toBe(recloneStepKey(clone({ phase: "WaitingForRestart" })));
    expect(recloneStepKey(clone())).not.toBe(recloneStepKey(clone({ message: "reclone of pdx from iad: preparing the copy (45 MiB received)" })));
  });

  it("Done: exit 0 with the GTID the site started from and its source", () => {
    const done = clone({ phase: "Done", gtid: "0-1-57,\n1-2-3", bytes: 47_395_635 });
    expect(cloneEnd(done, group(undefined), REQUEST, 62_400)).toEqual({
      code: 0,
      stream: "out",
      text: "reclone of pdx in shop/orders done after 1m2s: pdx started from GTID 0-1-57,1-2-3 and replicates from iad; 45.2 MiB copied\n",
    });
    expect(cloneEnd(clone({ phase: "Done" }), group(undefined), REQUEST, 5_000).text).toBe(
      "reclone of pdx in shop/orders done after 5s: pdx started from the copy (its GTID position was not reported) and replicates from iad\n",
    );
  });

  it("Failed: exit 1 with the operator's message, describe and the runbook", () => {
    const failed = clone({ phase: "Failed", message: "reclone of pdx from iad failed: mariadb-backup exited 1" });
    expect(cloneEnd(failed, group(undefined), REQUEST, 1_000)).toEqual({
      code: 1,
      stream: "err",
      text: `error: reclone of pdx in shop/orders failed: reclone of pdx from iad failed: mariadb-backup exited 1; see ${DESCRIBE} and kubectl bloodraven runbook pvc-loss\n`,
    });
  });

  it("rejected: exit 1 with the event's message (code first)", () => {
    const message = "NoAgent: pdx runs no agent (spec.sites[].agentUrl); see docs/agent.md. The annotation was removed; nothing was cloned.";
    expect(rejectedEnd(message, group(undefined), REQUEST)).toEqual({
      code: 1,
      stream: "err",
      text: `error: the operator rejected the reclone of pdx in shop/orders (${ANNOTATIONS.recloneSite}=${VALUE}): NoAgent: pdx runs no agent (spec.sites[].agentUrl); see docs/agent.md. The annotation was removed; nothing was cloned; see ${DESCRIBE} and kubectl bloodraven runbook pvc-loss\n`,
    });
  });

  it("withdrawn without a rejection found, or with events that cannot be read", () => {
    expect(withdrawnEnd({}, group(undefined), REQUEST).text).toBe(
      `error: the reclone request ${ANNOTATIONS.recloneSite}=${VALUE} was removed on shop/orders without a clone starting, and no RecloneRejected event for it was found; see ${DESCRIBE}\n`,
    );
    expect(withdrawnEnd({ by: "sfo:confirm=orders" }, group(undefined), REQUEST, "forbidden: you cannot list events").text).toBe(
      `error: the reclone request ${ANNOTATIONS.recloneSite}=${VALUE} was replaced by ${ANNOTATIONS.recloneSite}=sfo:confirm=orders on shop/orders without a clone starting, and the events that would say why cannot be read (forbidden: you cannot list events); see ${DESCRIBE}\n`,
    );
  });

  it("--timeout says what still runs: the clone continues, or the request stays and what it waits for", () => {
    const g = group(VALUE);
    expect(timedOutEnd({ state: "running", record: clone({ bytes: 1024 }) }, g, REQUEST, 1_800_000)).toEqual({
      code: 1,
      stream: "err",
      text: `error: timed out after 30m waiting for the reclone of pdx in shop/orders: it is still running (Cloning (1.0 KiB copied): receiving the copy from iad) and the clone continues; follow it with ${DESCRIBE}\n`,
    });
    expect(timedOutEnd({ state: "pending" }, g, REQUEST, 60_000).text).toMatch(
      new RegExp(`^error: timed out after 1m waiting for the reclone of pdx in shop/orders: the operator has not started the clone: is it running\\? \\(kubectl get pods .*\\); it also waits for a confirmed active primary and for pdx's server to answer read-only\\. The request stays in place; withdraw it with: ${WITHDRAW}\n$`),
    );
    const other = clone({ site: "sfo", source: "auto-clone", phase: "Cloning" });
    expect(timedOutEnd({ state: "pending", other }, g, REQUEST, 60_000).text).toBe(
      `error: timed out after 1m waiting for the reclone of pdx in shop/orders: a clone of sfo is still running (Cloning) and this request waits for it. The request stays in place; withdraw it with: ${WITHDRAW}\n`,
    );
  });

  it("Ctrl-C: exit 130, the clone or the request goes on", () => {
    expect(interruptedEnd({ state: "running", record: clone() }, group(VALUE), REQUEST)).toEqual({
      code: 130,
      stream: "err",
      text: `interrupted: the clone continues (Cloning: receiving the copy from iad); follow it with ${DESCRIBE}\n`,
    });
    expect(interruptedEnd({ state: "pending" }, group(VALUE), REQUEST).text).toBe(
      `interrupted: the reclone request ${ANNOTATIONS.recloneSite}=${VALUE} stays in place and the operator acts on it; follow it with ${DESCRIBE}, or withdraw it before its clone starts with: ${WITHDRAW}\n`,
    );
  });

  it("the runbook follows the kind of request", () => {
    expect(recloneRunbook({ site: "iad", kind: "prefix", prefix: "3e11fa47-71c" })).toBe("divergent-old-primary");
    expect(recloneRunbook({ site: "pdx", kind: "confirm", group: "orders" })).toBe("pvc-loss");
    expect(recloneRunbook({ site: "pdx", kind: "bare" })).toBe("pvc-loss");
  });
});

describe("newRejection: only an occurrence recorded after the post answers it", () => {
  const event = (name: string, count: number, lastTimestamp: string, message = `${name}: no`): RejectionEvent => ({ name, count, lastTimestamp, message });
  const before = [event("orders.a", 1, "2026-11-22T02:00:00.000Z"), event("orders.b", 3, "2026-11-22T02:10:00.000Z")];
  const marks = rejectionMarks(before);

  it("nothing new: none", () => {
    expect(newRejection(before, marks)).toBeUndefined();
    expect(newRejection([], marks)).toBeUndefined();
  });

  it("a new Event", () => {
    const fresh = event("orders.c", 1, "2026-11-22T03:00:01.000Z", "NoAgent: pdx runs no agent");
    expect(newRejection([...before, fresh], marks)).toBe(fresh);
  });

  it("a repeat folded into a known Event (count up), or a known series started over (count 1 again, a new time)", () => {
    const again = event("orders.b", 4, "2026-11-22T03:00:01.000Z");
    expect(newRejection([before[0]!, again], marks)).toBe(again);
    const restarted = event("orders.a", 1, "2026-11-22T03:00:01.000Z");
    expect(newRejection([restarted, before[1]!], marks)).toBe(restarted);
  });

  it("the latest of several", () => {
    const first = event("orders.c", 1, "2026-11-22T03:00:01.000Z");
    const second = event("orders.d", 1, "2026-11-22T03:00:02.000Z");
    expect(newRejection([first, second, ...before], marks)).toBe(second);
  });
});
