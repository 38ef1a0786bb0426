import { describe, expect, it } from "vitest";
import { INITIAL_TRACKER, nextSiteTracker, type PollOutcome, type SiteTracker } from "../../../shared/topology/site-state.js";
import type { SiteRole } from "../../../shared/names.js";

const T = { failureThreshold: 3, recoveryThreshold: 2 };
const FAIL: PollOutcome = { ok: false };
const RO: PollOutcome = { ok: true, readOnly: true };
const RW: PollOutcome = { ok: true, readOnly: false };

function run(outcomes: PollOutcome[], role: SiteRole = "primary-candidate", start: SiteTracker = INITIAL_TRACKER): string[] {
  let t = start;
  return outcomes.map((o, i) => (t = nextSiteTracker(t, o, role, T, `t${i}`)).state);
}

describe("site state debouncing", () => {
  it("turns unreachable only after failureThreshold failures in a row", () => {
    expect(run([RO, FAIL, FAIL, FAIL])).toEqual(["read-only", "read-only", "read-only", "unreachable"]);
    expect(run([RO, FAIL, FAIL, RO, FAIL, FAIL])).toEqual(["read-only", "read-only", "read-only", "read-only", "read-only", "read-only"]);
  });

  it("believes read-only at once", () => {
    expect(run([RW, RW, RO])).toEqual(["unknown", "writable", "read-only"]);
  });

  it("turns writable only after recoveryThreshold writable polls", () => {
    expect(run([RO, RW, RW, RW])).toEqual(["read-only", "read-only", "writable", "writable"]);
    expect(run([FAIL, FAIL, FAIL, RW, RW])).toEqual(["unknown", "unknown", "unreachable", "unreachable", "writable"]);
  });

  it("a failure resets the writable streak", () => {
    expect(run([RO, RW, FAIL, RW, RW])).toEqual(["read-only", "read-only", "read-only", "read-only", "writable"]);
  });

  it("applies a writable non-promotable site at once (it must be fenced now)", () => {
    expect(run([RO, RW], "dr-only")).toEqual(["read-only", "writable"]);
    expect(run([RO, RW], "read-only")).toEqual(["read-only", "writable"]);
  });

  it("records lastSeen only on successful polls", () => {
    let t = nextSiteTracker(INITIAL_TRACKER, RO, "primary-candidate", T, "a");
    t = nextSiteTracker(t, FAIL, "primary-candidate", T, "b");
    expect(t.lastSeen).toBe("a");
  });
});
