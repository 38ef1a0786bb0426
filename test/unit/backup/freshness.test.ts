import { describe, expect, it } from "vitest";
import { lastCompletionByProfile } from "../../../shared/backup/freshness.js";

describe("lastCompletionByProfile", () => {
  it("takes each profile's newest Succeeded completion, 0 for a profile without one, and ignores the rest", () => {
    const at = (iso: string) => Date.parse(iso) / 1000;
    const backups = [
      { profile: "nightly", phase: "Succeeded", completionTime: "2026-12-03T03:10:00Z" },
      { profile: "nightly", phase: "Succeeded", completionTime: "2026-12-04T03:10:00Z" },
      { profile: "nightly", phase: "Failed", completionTime: "2026-12-04T09:00:00Z" },
      { profile: "nightly", phase: "Running", completionTime: undefined },
      { profile: "gone", phase: "Succeeded", completionTime: "2026-12-04T03:10:00Z" },
      { profile: "hourly", phase: "Succeeded", completionTime: "not a time" },
    ];
    expect(lastCompletionByProfile(["nightly", "hourly"], backups)).toEqual(
      new Map([
        ["nightly", at("2026-12-04T03:10:00Z")],
        ["hourly", 0],
      ]),
    );
  });
});
