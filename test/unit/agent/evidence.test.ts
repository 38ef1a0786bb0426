import { describe, expect, it } from "vitest";
import { selfFencedBy, type SelfFenceInput } from "../../../shared/agent/evidence.js";

const LEASE = 20_000;
const input = (over: Partial<SelfFenceInput>): SelfFenceInput => ({ subject: "iad", groupSize: 3, leaseTimeoutMs: LEASE, marginMs: 1_000, operatorConfirmedAt: 0, reports: [], ...over });
const report = (site: string, answeredAt: number, askedAgoMs: number | undefined, upMs = 1_000_000) => ({ site, answeredAt, upMs, ...(askedAgoMs === undefined ? {} : { askedAgoMs }) });

describe("when an unreachable primary's agent has surely fenced itself", () => {
  it("counts from the operator's last answer standing behind it when no peer was reached since", () => {
    expect(selfFencedBy(input({ operatorConfirmedAt: 5_000, reports: [report("pdx", 9_000, 7_000), report("sfo", 9_000, undefined)] }))).toEqual({
      safeAt: 5_000 + LEASE + 1_000,
      basis: "the operator stood behind iad last",
    });
  });

  it("counts from the last majority contact: in a group of three, the most recent peer", () => {
    expect(selfFencedBy(input({ reports: [report("pdx", 9_000, 1_000), report("sfo", 9_000, 5_000)] }))).toEqual({
      safeAt: 8_000 + LEASE + 1_000,
      basis: "a majority of the sites reached iad's agent last",
    });
  });

  it("in a group of five, the second most recent peer: one reader alone keeps nobody up", () => {
    const reports = [report("a", 10_000, 1_000), report("b", 10_000, 6_000), report("c", 10_000, 8_000), report("d", 10_000, undefined)];
    expect(selfFencedBy(input({ groupSize: 5, reports }))).toMatchObject({ safeAt: 4_000 + LEASE + 1_000 });
  });

  it("counts a silent peer as reached just now, and a restarted peer as reached when it started", () => {
    // Five sites, d silent: it takes the most recent place; c restarted 500 ms ago comes next.
    const reports = [report("a", 10_000, 1_000), report("b", 10_000, 6_000), report("c", 10_000, undefined, 500)];
    expect(selfFencedBy(input({ groupSize: 5, reports }))).toMatchObject({ safeAt: 9_500 + LEASE + 1_000 });
    expect(selfFencedBy(input({ groupSize: 5, reports: [report("a", 10_000, undefined, 2_000), report("b", 10_000, undefined, 500), report("c", 10_000, undefined)] }))).toMatchObject({ safeAt: 9_500 + LEASE + 1_000 });
  });

  it("cannot know when too few agents answered for the subject's majority to be excluded", () => {
    expect(selfFencedBy(input({ reports: [] }))).toEqual({ unproven: "only 0 of the 2 other sites' agents answered: iad's agent may still reach a majority through the 2 that did not" });
    expect("unproven" in selfFencedBy(input({ groupSize: 5, reports: [report("a", 1, undefined), report("b", 1, undefined)] }))).toBe(true);
    expect("unproven" in selfFencedBy(input({ groupSize: 5, reports: [report("a", 1, undefined), report("b", 1, undefined), report("c", 1, undefined)] }))).toBe(false);
  });
});
