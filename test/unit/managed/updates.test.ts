import { describe, expect, it } from "vitest";
import { updateDecision, type UpdateInput, type UpdateSite } from "../../../shared/managed/updates.js";

const healthy = (name: string, extra: Partial<UpdateSite> = {}): UpdateSite => ({
  name,
  role: "primary-candidate",
  managed: true,
  outdated: false,
  podReady: true,
  answered: true,
  state: "read-only",
  replicating: true,
  lagSeconds: 0,
  ...extra,
});
const primary = (name: string, extra: Partial<UpdateSite> = {}) => healthy(name, { state: "writable", replicating: false, lagSeconds: null, ...extra });
const input = (sites: UpdateSite[], extra: Partial<UpdateInput> = {}): UpdateInput => ({ strategy: "OrderedUpdate", sites, primary: "iad", maxLagSeconds: 30, ...extra });

describe("ordered update decisions", () => {
  it("does nothing when every managed pod runs the current template", () => {
    expect(updateDecision(input([primary("iad"), healthy("pdx")]))).toEqual({ kind: "upToDate" });
  });

  it("restarts one outdated replica at a time, in spec order, before the primary", () => {
    const sites = [primary("iad", { outdated: true }), healthy("pdx", { outdated: true }), healthy("sfo", { outdated: true, role: "read-only" })];
    expect(updateDecision(input(sites))).toMatchObject({ kind: "restart", sites: ["pdx"] });
  });

  it("waits for every site to be healthy first, naming the site and why", () => {
    const cases: [Partial<UpdateSite>, string][] = [
      [{ podReady: false }, "site pdx has no Ready pod"],
      [{ answered: false }, "site pdx did not answer this poll"],
      [{ replicating: false }, "site pdx is not replicating"],
      [{ lagSeconds: 31 }, "site pdx lags 31s, above replication.maxLagSeconds (30s)"],
      [{ lagSeconds: null }, "site pdx reports no replication lag"],
      [{ state: "unreachable" }, "site pdx is unreachable, not read-only"],
    ];
    for (const [broken, message] of cases) {
      const decision = updateDecision(input([primary("iad"), healthy("pdx", broken), healthy("sfo", { outdated: true })]));
      expect(decision).toMatchObject({ kind: "wait", reason: "WaitingForHealth", site: "pdx" });
      expect(decision.kind === "wait" && decision.message).toBe(`${message}; the update of site sfo continues once it is healthy`);
    }
    expect(updateDecision(input([primary("iad", { podReady: false }), healthy("pdx", { outdated: true })]))).toMatchObject({ reason: "WaitingForHealth", site: "iad" });
  });

  it("switches over to the first up-to-date candidate once only the primary is outdated", () => {
    const sites = [primary("iad", { outdated: true }), healthy("dr", { role: "dr-only" }), healthy("pdx"), healthy("sfo")];
    expect(updateDecision(input(sites))).toEqual({ kind: "switchover", target: "pdx", message: "only the primary iad is outdated: switching over to pdx, then restarting iad" });
  });

  it("never switches over inside failoverCooldown, nor to an outdated or missing candidate", () => {
    const sites = [primary("iad", { outdated: true }), healthy("pdx")];
    expect(updateDecision(input(sites, { cooldownUntil: Date.parse("2026-12-03T12:00:00Z") }))).toMatchObject({
      kind: "wait",
      reason: "WaitingForCooldown",
      message: "only the primary iad is outdated; the switchover to pdx waits for failoverCooldown until 2026-12-03T12:00:00.000Z",
    });
    const noCandidate = [primary("iad", { outdated: true }), healthy("pdx", { role: "dr-only" }), healthy("ext", { managed: false, role: "read-only" })];
    expect(updateDecision(input(noCandidate))).toMatchObject({ kind: "wait", reason: "NoSwitchoverTarget" });
  });

  it("waits while something else changes the group, or without a primary", () => {
    const sites = [primary("iad"), healthy("pdx", { outdated: true })];
    expect(updateDecision(input(sites, { busy: "a switchover is in progress" }))).toEqual({
      kind: "wait",
      reason: "Busy",
      message: "a switchover is in progress; the update of site pdx waits for it",
    });
    expect(updateDecision(input(sites, { primary: undefined }))).toMatchObject({ kind: "wait", reason: "NoPrimary" });
  });

  it("restarts every outdated pod at once with Recreate, whatever the health", () => {
    const sites = [primary("iad", { outdated: true }), healthy("pdx", { outdated: true, podReady: false }), healthy("sfo")];
    expect(updateDecision(input(sites, { strategy: "Recreate", busy: "x" }))).toMatchObject({ kind: "restart", sites: ["iad", "pdx"] });
  });

  it("leaves external sites out: they are never outdated", () => {
    expect(updateDecision(input([primary("iad"), healthy("ext", { managed: false, outdated: true })]))).toEqual({ kind: "upToDate" });
  });
});
