/**
 * operator/kube/leader-election.ts against the real kube-apiserver, with short timings (lease
 * 2 s, renew deadline 1.5 s, retry 0.3 s). kubectl reads the Lease as an independent observer.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Kube, loadKubeConfig } from "../../shared/kube/client.js";
import { LeaderElector, microTime } from "../../operator/kube/leader-election.js";
import { createLogger, type LogFields } from "../../operator/log.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { kubectl, testKubeconfig } from "../support/kubectl.js";

const namespace = `kube-lease-${randomBytes(4).toString("hex")}`;
const TIMING = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 300 };
// A candidate needs one retry to see the last renewal and one more after the lease expired; each
// retry is jittered by up to 20 %.
const TAKEOVER_BOUND_MS = TIMING.leaseDurationMs + 2 * TIMING.retryPeriodMs * 1.2 + 300;
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

let kube: Kube;
const electors: LeaderElector[] = [];

interface Candidate {
  id: string;
  elector: LeaderElector;
  startedAt: number[];
  stoppedAt: number[];
  signals: AbortSignal[];
  lines: LogFields[];
}

function candidate(id: string, lease: string): Candidate {
  const startedAt: number[] = [];
  const stoppedAt: number[] = [];
  const signals: AbortSignal[] = [];
  const lines: LogFields[] = [];
  const elector = new LeaderElector(kube, {
    namespace,
    name: lease,
    identity: id,
    ...TIMING,
    logger: createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line) as LogFields) }),
    onStartedLeading: (signal) => {
      startedAt.push(Date.now());
      signals.push(signal);
    },
    onStoppedLeading: () => void stoppedAt.push(Date.now()),
  });
  electors.push(elector);
  return { id, elector, startedAt, stoppedAt, signals, lines };
}

interface LeaseJson {
  metadata: { resourceVersion: string };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

async function readLease(name: string): Promise<LeaseJson> {
  const result = await kubectl(["get", "lease", name, "-n", namespace, "-o", "json"]);
  if (result.code !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as LeaseJson;
}

const leaders = (...cs: Candidate[]) => cs.filter((c) => c.elector.isLeader());

beforeAll(async () => {
  kube = new Kube(loadKubeConfig({ kubeconfig: testKubeconfig() }));
  const created = await kubectl(["create", "namespace", namespace]);
  if (created.code !== 0) throw new Error(created.stderr);
});

afterAll(async () => {
  await Promise.all(electors.map((e) => e.release()));
  await kubectl(["delete", "namespace", namespace, "--wait=false"]);
});

describe("microTime", () => {
  it("writes exactly six fractional digits", () => {
    expect(microTime(new Date("2006-01-02T15:04:05.123Z"))).toBe("2006-01-02T15:04:05.123000Z");
    expect(microTime(new Date("2026-12-31T23:59:59.000Z"))).toMatch(MICRO_TIME);
  });
});

describe("LeaderElector", () => {
  it("rejects timings that cannot be safe", () => {
    const base = { namespace, name: "x", identity: "x", logger: createLogger({ write: () => undefined }), onStartedLeading: () => undefined, onStoppedLeading: () => undefined };
    expect(() => new LeaderElector(kube, { ...base, leaseDurationMs: 1_000, renewDeadlineMs: 1_000 })).toThrow(/leaseDuration > renewDeadline/);
    expect(() => new LeaderElector(kube, { ...base, renewDeadlineMs: 500, retryPeriodMs: 500 })).toThrow(/renewDeadline > retryPeriod/);
  });

  it("elects exactly one leader and writes the Lease with 6-digit MicroTimes", async () => {
    const a = candidate("replica-a", "one-leader");
    const b = candidate("replica-b", "one-leader");
    a.elector.start();
    b.elector.start();
    await vi.waitFor(() => expect(leaders(a, b)).toHaveLength(1), { timeout: 5_000 });
    for (let i = 0; i < 50; i++) {
      expect(leaders(a, b)).toHaveLength(1);
      await sleep(50);
    }
    const [leader] = leaders(a, b);
    expect(a.startedAt.length + b.startedAt.length).toBe(1);

    const first = await readLease("one-leader");
    expect(first.spec).toMatchObject({ holderIdentity: leader?.id, leaseDurationSeconds: 2, leaseTransitions: 0 });
    expect(first.spec.acquireTime).toMatch(MICRO_TIME);
    expect(first.spec.renewTime).toMatch(MICRO_TIME);
    await sleep(700);
    const later = await readLease("one-leader");
    expect(Date.parse(later.spec.renewTime ?? "")).toBeGreaterThan(Date.parse(first.spec.renewTime ?? ""));
    expect(later.spec.acquireTime).toBe(first.spec.acquireTime);
    expect(later.spec.leaseTransitions).toBe(0);
  });

  it("takes over a crashed leader's lease once it has expired, not before", async () => {
    const a = candidate("crashing-a", "crash");
    a.elector.start();
    await vi.waitFor(() => expect(a.elector.isLeader()).toBe(true), { timeout: 5_000 });
    const b = candidate("survivor-b", "crash");
    b.elector.start();
    await sleep(1_000);
    expect(b.elector.isLeader()).toBe(false);
    const before = await readLease("crash");

    // A crash: the timers stop and nobody touches the Lease.
    const crashedAt = Date.now();
    await a.elector.stop();
    expect(a.signals[0]?.aborted).toBe(true);
    await vi.waitFor(() => expect(b.elector.isLeader()).toBe(true), { timeout: 5_000 });
    const takeover = (b.startedAt[0] ?? 0) - crashedAt;
    expect(takeover).toBeGreaterThanOrEqual(TIMING.leaseDurationMs - TIMING.retryPeriodMs * 1.2 - 100);
    expect(takeover).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);

    const after = await readLease("crash");
    expect(after.spec).toMatchObject({ holderIdentity: "survivor-b", leaseTransitions: 1 });
    expect(after.spec.acquireTime).not.toBe(before.spec.acquireTime);
    expect(a.stoppedAt).toHaveLength(1);
  });

  it("release() hands the lease over at once, and every handover counts a transition", async () => {
    const a = candidate("releasing-a", "handover");
    a.elector.start();
    await vi.waitFor(() => expect(a.elector.isLeader()).toBe(true), { timeout: 5_000 });
    const b = candidate("waiting-b", "handover");
    b.elector.start();
    await sleep(500);

    let releasedAt = Date.now();
    await a.elector.release();
    expect(a.elector.isLeader()).toBe(false);
    expect(a.stoppedAt).toHaveLength(1);
    expect(a.lines.some((l) => l.msg === LOG_MESSAGES.leaseReleased)).toBe(true);
    await vi.waitFor(() => expect(b.elector.isLeader()).toBe(true), { timeout: 5_000 });
    expect((b.startedAt[0] ?? 0) - releasedAt).toBeLessThan(TIMING.retryPeriodMs * 1.2 + 500);
    expect((await readLease("handover")).spec).toMatchObject({ holderIdentity: "waiting-b", leaseTransitions: 1 });

    const c = candidate("waiting-c", "handover");
    c.elector.start();
    await sleep(500);
    releasedAt = Date.now();
    await b.elector.release();
    await vi.waitFor(() => expect(c.elector.isLeader()).toBe(true), { timeout: 5_000 });
    expect((c.startedAt[0] ?? 0) - releasedAt).toBeLessThan(TIMING.retryPeriodMs * 1.2 + 500);
    expect((await readLease("handover")).spec).toMatchObject({ holderIdentity: "waiting-c", leaseTransitions: 2 });
  });

  it("gives up at the renew deadline when renewals stop succeeding, and waits out the other holder", async () => {
    const a = candidate("usurped-a", "usurped");
    a.elector.start();
    await vi.waitFor(() => expect(a.elector.isLeader()).toBe(true), { timeout: 5_000 });
    await sleep(400);

    // Someone else writes the Lease: every renewal from now on finds it held by another.
    const usurpedAt = Date.now();
    const patch = { spec: { holderIdentity: "intruder", renewTime: microTime(new Date()), leaseDurationSeconds: 2 } };
    const patched = await kubectl(["patch", "lease", "usurped", "-n", namespace, "--type=merge", "-p", JSON.stringify(patch)]);
    expect(patched.code).toBe(0);

    await vi.waitFor(() => expect(a.stoppedAt).toHaveLength(1), { timeout: TIMING.renewDeadlineMs + 500 });
    // Timers run late on a loaded machine (this tier shares two cores with MariaDB and the API
    // server): 300 ms of slack. Statements have their own, earlier stop: the leadership guard
    // refuses them 1 s before the renew deadline (e2e leadership-guard).
    expect((a.stoppedAt[0] ?? 0) - usurpedAt).toBeLessThanOrEqual(TIMING.renewDeadlineMs + 300);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.signals[0]?.aborted).toBe(true);
    expect(a.lines.some((l) => l.msg === LOG_MESSAGES.leaderLost)).toBe(true);

    // The intruder never renews, so its lease expires and the replica takes it back.
    await vi.waitFor(() => expect(a.startedAt).toHaveLength(2), { timeout: TAKEOVER_BOUND_MS + 500 });
    expect((a.startedAt[1] ?? 0) - usurpedAt).toBeGreaterThanOrEqual(TIMING.leaseDurationMs - 100);
    expect((await readLease("usurped")).spec).toMatchObject({ holderIdentity: "usurped-a", leaseTransitions: 1 });
  });
});
