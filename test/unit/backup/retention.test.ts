import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backupsToDelete, DEFAULT_RETENTION, type RetainedBackup } from "../../../shared/backup/retention.js";

const H = 3_600_000;
const now = 1_000 * H;
const ok = (name: string, hoursAgo: number): RetainedBackup => ({ name, phase: "Succeeded", completedAt: now - hoursAgo * H });
const failed = (name: string, hoursAgo: number): RetainedBackup => ({ name, phase: "Failed", completedAt: now - hoursAgo * H });

describe("backup retention", () => {
  it("keeps the newest count Succeeded backups and the newest maxFailedKeep Failed ones", () => {
    const backups = [ok("b1", 5), ok("b2", 4), ok("b3", 3), ok("b4", 2), failed("f1", 6), failed("f2", 1), { name: "r", phase: "Running" } as RetainedBackup];
    expect(backupsToDelete(backups, { count: 2, minKeep: 1, maxFailedKeep: 1 }, now).map((d) => d.name)).toEqual(["b2", "b1", "f1"]);
  });

  it("names what it keeps the way its caller does (a verification schedule's retention uses the same rules)", () => {
    const verdicts = backupsToDelete([ok("v1", 3), ok("v2", 2), failed("v3", 1), failed("v4", 0)], { count: 1, minKeep: 1, maxFailedKeep: 1 }, now, "verification");
    expect(verdicts).toEqual([
      { name: "v1", reason: "succeeded verification beyond the newest 1" },
      { name: "v3", reason: "failed verification beyond the newest 1" },
    ]);
  });

  it("keeps a backup when any rule keeps it: the newest count or younger than maxAge", () => {
    const backups = [ok("old", 100), ok("mid", 30), ok("new", 1)];
    expect(backupsToDelete(backups, { count: 1, maxAgeMs: 48 * H, minKeep: 1, maxFailedKeep: 10 }, now).map((d) => d.name)).toEqual(["old"]);
    expect(backupsToDelete(backups, { maxAgeMs: 0, minKeep: 2, maxFailedKeep: 10 }, now).map((d) => d.name)).toEqual(["old"]);
    expect(backupsToDelete(backups, { minKeep: 0, maxFailedKeep: 10 }, now)).toEqual([]);
  });

  it("never deletes a running backup, never more than the policy allows, and never the newest minKeep", () => {
    const phases = ["Pending", "Running", "Succeeded", "Failed"] as const;
    fc.assert(
      fc.property(
        fc.array(fc.record({ phase: fc.constantFrom(...phases), hoursAgo: fc.integer({ min: 0, max: 500 }) }), { maxLength: 30 }),
        fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
        fc.integer({ min: 0, max: 5 }),
        (rows, count, minKeep) => {
          const backups: RetainedBackup[] = rows.map((r, i) => ({ name: `b${i}`, phase: r.phase, ...(r.phase === "Succeeded" || r.phase === "Failed" ? { completedAt: now - r.hoursAgo * H } : {}) }));
          const policy = { ...DEFAULT_RETENTION, count, minKeep };
          const gone = new Set(backupsToDelete(backups, policy, now).map((d) => d.name));
          const kept = backups.filter((b) => !gone.has(b.name));
          for (const b of backups) if (b.phase === "Pending" || b.phase === "Running") expect(gone.has(b.name)).toBe(false);
          const succeeded = backups.filter((b) => b.phase === "Succeeded").length;
          expect(kept.filter((b) => b.phase === "Succeeded").length).toBe(Math.min(succeeded, Math.max(minKeep, count ?? succeeded)));
        },
      ),
      { numRuns: 300 },
    );
  });

});
