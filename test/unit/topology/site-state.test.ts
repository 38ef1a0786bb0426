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

  it("uncounted polls refresh what is seen but move neither threshold", () => {
    const step = (t: SiteTracker, o: PollOutcome, counted: boolean): SiteTracker => nextSiteTracker(t, o, "primary-candidate", T, "t", counted);
    let t = step(INITIAL_TRACKER, RO, true);
    for (let i = 0; i < 5; i++) t = step(t, FAIL, false);
    expect(t).toMatchObject({ state: "read-only", consecutiveFailures: 0 });
    t = step(step(step(t, FAIL, true), FAIL, true), FAIL, true);
    expect(t.state).toBe("unreachable");

    let w = step(step(INITIAL_TRACKER, RO, true), RW, true);
    for (let i = 0; i < 5; i++) w = step(w, RW, false);
    expect(w).toMatchObject({ state: "read-only", consecutiveWritable: 1 });
    expect(step(w, RW, true).state).toBe("writable");
    // Read-only and a writable state already reached are believed either way.
    expect(step(step(w, RW, true), RO, false).state).toBe("read-only");
    expect(step(step(w, RW, true), RW, false).state).toBe("writable");
    // A failed uncounted poll still breaks a writable streak.
    expect(step(w, FAIL, false).consecutiveWritable).toBe(0);
  });

  it("records lastSeen only on successful polls", () => {
    let t = nextSiteTracker(INITIAL_TRACKER, RO, "primary-candidate", T, "a");
    t = nextSiteTracker(t, FAIL, "primary-candidate", T, "b");
    expect(t.lastSeen).toBe("a");
  });
});
