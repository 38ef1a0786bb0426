import { describe, expect, it } from "vitest";
import { housekeeping, parseTrigger, retryBackoffMs, retryName, type KeptBackup } from "../../../shared/backup/housekeeping.js";

const MIN = 60_000;
const NOW = Date.parse("2026-12-04T12:00:00Z");
const retry = { maxAttempts: 3, initialBackoffMs: MIN, maxBackoffMs: 3 * MIN };
const b = (name: string, over: Partial<KeptBackup> = {}): KeptBackup => ({ name, profile: "nightly", phase: "Succeeded", completedAt: NOW - MIN, deleting: false, ...over });
const run = (backups: KeptBackup[], retention = new Map([["nightly", { count: 2, minKeep: 1, maxFailedKeep: 0 }]])) => housekeeping({ backups, retry, retention, now: NOW });

describe("parseTrigger", () => {
  it("reads schedules and retries; anything else is by hand", () => {
    expect(parseTrigger("schedule/nightly")).toEqual({ kind: "scheduled", schedule: "nightly", attempt: 1 });
    expect(parseTrigger("retry/nightly/attempt-3")).toEqual({ kind: "scheduled", schedule: "nightly", attempt: 3 });
    for (const t of [undefined, "manual", "kubectl bloodraven backup", "retry/nightly/attempt-0", "schedule/"]) expect(parseTrigger(t)).toEqual({ kind: "manual" });
  });
});

describe("retries", () => {
  it("doubles the backoff per failed attempt, up to the cap", () => {
    expect([1, 2, 3, 4].map((n) => retryBackoffMs(retry, n) / MIN)).toEqual([1, 2, 3, 3]);
    expect(retryName("mysql-orders-backup-nightly-29412345", 2)).toBe("mysql-orders-backup-nightly-29412345-attempt-2");
    expect(retryName("mysql-orders-backup-nightly-29412345-attempt-2", 3)).toBe("mysql-orders-backup-nightly-29412345-attempt-3");
  });

  it("decides the time once, then creates the retry when it is due", () => {
    const failed = b("n-1", { phase: "Failed", triggeredBy: "schedule/nightly", completedAt: NOW - 30_000 });
    expect(run([failed]).schedule).toEqual([{ failed: "n-1", name: "n-1-attempt-2", attempt: 2, schedule: "nightly", profile: "nightly", at: NOW + 30_000 }]);
    expect(run([{ ...failed, retryAt: NOW + 30_000 }])).toMatchObject({ schedule: [], create: [] });
    expect(run([{ ...failed, retryAt: NOW }]).create).toEqual([{ failed: "n-1", name: "n-1-attempt-2", attempt: 2, schedule: "nightly", profile: "nightly", at: NOW }]);
  });

  it("never retries a manual backup, the last attempt, or one whose retry exists", () => {
    const plan = run([
      b("m", { phase: "Failed" }),
      b("n-1-attempt-3", { phase: "Failed", triggeredBy: "retry/nightly/attempt-3" }),
      b("n-2", { phase: "Failed", triggeredBy: "schedule/nightly", retryAt: NOW - 1 }),
      b("n-2-attempt-2", { phase: "Running", completedAt: undefined, triggeredBy: "retry/nightly/attempt-2" }),
    ]);
    expect(plan.schedule).toEqual([]);
    expect(plan.create).toEqual([]);
  });
});

describe("retention", () => {
  it("deletes per profile what it no longer keeps, but never a failed backup waiting for its retry", () => {
    const plan = run([
      b("s1", { completedAt: NOW - 3 * MIN }),
      b("s2", { completedAt: NOW - 2 * MIN }),
      b("s3", { completedAt: NOW - MIN }),
      b("f1", { phase: "Failed", triggeredBy: "schedule/nightly" }),
      b("f2", { phase: "Failed" }),
      b("other", { profile: "weekly", completedAt: NOW - 99 * MIN }),
      b("gone", { completedAt: NOW - 98 * MIN, deleting: true }),
    ]);
    expect(plan.delete.map((d) => d.name)).toEqual(["s1", "f2"]);
    expect(plan.delete[0]).toEqual({ name: "s1", profile: "nightly", reason: "succeeded backup beyond the newest 2" });
  });

  it("names the archive floor from the Succeeded backups that stay, of every profile, and none while one lacks a position", () => {
    const retention = new Map([["nightly", { count: 2, minKeep: 1, maxFailedKeep: 0 }]]);
    const backups = [
      b("b1", { completedAt: NOW - 3 * MIN, gtid: "0-1-10" }),
      b("b2", { completedAt: NOW - 2 * MIN, gtid: "0-1-20" }),
      b("b3", { completedAt: NOW - MIN, gtid: "0-1-30" }),
      b("weekly", { profile: "weekly", completedAt: NOW - 10 * MIN, gtid: "0-1-15" }),
      b("f", { phase: "Failed", gtid: "0-1-1" }),
      b("gone", { deleting: true, gtid: "0-1-2" }),
    ];
    const plan = run(backups, retention);
    expect(plan.delete.map((d) => d.name)).toEqual(["b1", "f"]);
    expect(plan.archiveFloor).toBe("0-0-15");
    expect(run(backups.filter((x) => x.name !== "weekly"), retention).archiveFloor).toBe("0-0-20");
    expect(run([...backups, b("nopos")], retention).archiveFloor).toBeUndefined();
    expect(run([b("f", { phase: "Failed", gtid: "0-1-1" })], retention).archiveFloor).toBeUndefined();
  });
});
