import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fenceVerdict, leaseUntil, liftFenceAtStartup, majorityReachedAt, newerView, peersForMajority, startupAnswerDecides, type LeaseInput } from "../../../shared/agent/fencing.js";

const LEASE = 20_000;
const base: LeaseInput = { site: "iad", groupSize: 3, leaseTimeoutMs: LEASE, peerReachedAt: {}, writableSince: 0, becameWritableAfter: -Infinity };
const operatorView = (primary: string, observedAt: number) => ({ primary, observedAt, source: "operator" });

describe("majority", () => {
  it("needs floor(n/2) peers besides this site", () => {
    expect([1, 2, 3, 4, 5].map(peersForMajority)).toEqual([0, 1, 1, 2, 2]);
  });

  it("is reached when the k-th most recent peer answered", () => {
    expect(majorityReachedAt(5, { a: 10, b: 30, c: 20, d: 5 })).toBe(20);
    expect(majorityReachedAt(3, { a: 10, b: 30 })).toBe(30);
    expect(majorityReachedAt(5, { a: 10 })).toBeUndefined();
  });

  it("is never reached without peers: a lone agent depends on the operator", () => {
    expect(majorityReachedAt(1, {})).toBeUndefined();
    expect(fenceVerdict({ ...base, groupSize: 1 }, undefined, LEASE)).toEqual({ fence: true, rule: "lease", reason: `no confirmation from the operator for ${LEASE} ms, and no peers configured` });
  });
});

describe("the lease (rule 2)", () => {
  it("runs from the last renewal; becoming writable renews it from the last check that still read the server read-only, not from when the agent noticed", () => {
    const renewed = { ...base, operatorConfirmedAt: 1_000, writableSince: 5_000 };
    expect(fenceVerdict(renewed, undefined, 1_000 + LEASE - 1)).toEqual({ fence: false, leaseUntil: 1_000 + LEASE });
    expect(fenceVerdict(renewed, undefined, 1_000 + LEASE)).toMatchObject({ fence: true, rule: "lease" });
    expect(fenceVerdict({ ...renewed, becameWritableAfter: 4_000 }, undefined, 1_000 + LEASE)).toEqual({ fence: false, leaseUntil: 4_000 + LEASE });
  });

  it("is renewed by the operator standing behind this site", () => {
    expect(leaseUntil({ ...base, operatorConfirmedAt: 50_000 })).toBe(50_000 + LEASE);
  });

  it("is renewed by a majority of the group, not by one reader of five", () => {
    expect(leaseUntil({ ...base, peerReachedAt: { pdx: 40_000 } })).toBe(40_000 + LEASE);
    const five = { ...base, groupSize: 5, peerReachedAt: { pdx: 40_000 } };
    expect(leaseUntil(five)).toBe(-Infinity);
    expect(fenceVerdict(five, undefined, 40_000)).toEqual({
      fence: true,
      rule: "lease",
      reason: `no confirmation from the operator and no majority of the 5 sites reachable for ${LEASE} ms (peers reachable: pdx; 2 needed)`,
    });
  });

  it("never lasts longer than leaseTimeout after the latest renewal, whatever the renewals", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.integer({ min: 0, max: 100_000 }), { maxLength: 6 }),
        fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 100_000 }),
        (groupSize, peerTimes, operatorConfirmedAt, becameWritableAfter) => {
          const peerReachedAt = Object.fromEntries(peerTimes.slice(0, groupSize - 1).map((t, i) => [`p${i}`, t]));
          const input = { ...base, groupSize, peerReachedAt, operatorConfirmedAt, becameWritableAfter };
          const latest = Math.max(becameWritableAfter, operatorConfirmedAt ?? 0, ...Object.values(peerReachedAt));
          expect(leaseUntil(input)).toBeLessThanOrEqual(latest + LEASE);
          expect(fenceVerdict(input, undefined, latest + LEASE).fence).toBe(true);
        },
      ),
    );
  });
});

describe("the topology rule (rule 1)", () => {
  const now = 5_000;
  const leased = { ...base, operatorConfirmedAt: now };
  it("fences at once when the operator stands behind another site, lease or not", () => {
    expect(fenceVerdict(leased, operatorView("pdx", 2_000), now)).toEqual({ fence: true, rule: "topology", reason: "the operator stands behind pdx as primary" });
    expect(fenceVerdict(base, { primary: "pdx", observedAt: 2_000, source: "sfo" }, now)).toMatchObject({ reason: "peer sfo, relaying the operator, stands behind pdx as primary" });
  });

  it("ignores a view observed before the server became writable: the operator announces its own promotion a moment later", () => {
    expect(fenceVerdict({ ...leased, writableSince: 3_000 }, operatorView("pdx", 2_999), now)).toMatchObject({ fence: false });
  });

  it("does not act on an empty view or one naming this site", () => {
    expect(fenceVerdict(leased, operatorView("", 2_000), now).fence).toBe(false);
    expect(fenceVerdict(leased, operatorView("iad", 2_000), now).fence).toBe(false);
  });

  it("keeps the newest view: a relay replaces the operator's only when observed later", () => {
    const direct = operatorView("iad", 100);
    expect(newerView(direct, { primary: "pdx", observedAt: 100, source: "sfo" })).toBe(direct);
    expect(newerView(direct, { primary: "pdx", observedAt: 101, source: "sfo" }).primary).toBe("pdx");
    expect(newerView(undefined, direct)).toBe(direct);
  });
});

describe("the startup safety net", () => {
  const answer = (activeSite: string, lastKnownPrimary: string) => ({ activeSite, lastKnownPrimary });

  it("lifts the fence on an answer that names this site as the single writable one", () => {
    expect(liftFenceAtStartup("iad", answer("iad", "iad"), true)).toBe(true);
    // Read-only at start: nothing of the agent's to take back, whatever the answer (a view from
    // before a restart, or from after the operator made it writable itself and may fence it again).
    expect(liftFenceAtStartup("iad", answer("iad", "iad"), false)).toBe(false);
    expect(liftFenceAtStartup("iad", answer("", "iad"), false)).toBe(false);
    expect(liftFenceAtStartup("iad", answer("pdx", "pdx"), true)).toBe(false);
    expect(liftFenceAtStartup("iad", undefined, true)).toBe(false);
  });

  it("lifts it on the operator standing behind this site only when the server was writable before the agent's own fence", () => {
    // The operator polled the freshly fenced primary: no single writable site, but it still stands behind iad.
    expect(liftFenceAtStartup("iad", answer("", "iad"), true)).toBe(true);
    // A server that restarted read-only waits for the operator's own checks.
    expect(liftFenceAtStartup("iad", answer("", "iad"), false)).toBe(false);
  });

  it("asks again while the operator names no site at all: a new group between its first primary's seed and the operator adopting it", () => {
    expect(startupAnswerDecides(answer("", ""))).toBe(false);
    expect(startupAnswerDecides(answer("", "iad"))).toBe(true);
    expect(startupAnswerDecides(answer("pdx", "pdx"))).toBe(true);
  });
});
