import { describe, expect, it } from "vitest";
import { backupWithDefaults, verificationWithDefaults, type MysqlBackupVerificationSpec } from "../../../shared/api/index.js";
import { verificationStep, type VerifiableBackup, type VerificationStepInput } from "../../../shared/backup/verification-step.js";

const NOW = "2026-12-05T03:00:00Z";
const s3 = (bucket: string) => ({ s3: { bucket, credentialsSecret: { name: "s3" } } });
const backup = backupWithDefaults({ profiles: [{ name: "nightly", storage: s3("backups") }, { name: "wal", storage: s3("binlogs") }], pitr: { enabled: true, profileName: "wal" } });
const b = (name: string, over: Partial<VerifiableBackup> = {}): VerifiableBackup => ({ name, group: "orders", profile: "nightly", phase: "Succeeded", completionTime: "2026-12-05T01:00:00Z", ...over });

function input(spec: Partial<MysqlBackupVerificationSpec> = {}, over: Partial<VerificationStepInput> = {}): VerificationStepInput {
  return {
    spec: verificationWithDefaults({ failoverGroupRef: { name: "orders" }, profileName: "nightly", ...spec }),
    status: undefined,
    group: { name: "orders", backup, image: "mariadb:10.11.9" },
    backups: [b("old", { completionTime: "2026-12-04T01:00:00Z" }), b("new"), b("other", { group: "payments", completionTime: "2026-12-05T02:00:00Z" }), b("running", { phase: "Running", completionTime: undefined })],
    job: { state: "absent" },
    jobName: "v1-verify",
    jobsOff: undefined,
    now: NOW,
    ...over,
  };
}

describe("a verification's step", () => {
  it("starts with the newest Succeeded backup of the group and profile, Running written before its Job", () => {
    expect(verificationStep(input())).toEqual({
      kind: "start",
      status: { phase: "Running", message: "restoring new in Job v1-verify", startTime: NOW, backupName: "new", jobName: "v1-verify" },
      run: { backup: "new", profile: backup.profiles[0], serverImage: "mariadb:10.11.9", flags: ["--keep-on-failure"] },
    });
  });

  it("hands the check to the Job as flags: a replay (to a whole second, rounded up), the sanity query, the archive's profile", () => {
    const step = verificationStep(
      input({ backupRef: { name: "old" }, pointInTime: { mode: "timestamp", timestamp: "2026-12-05T00:30:00.250Z" }, sanityCheck: { query: "SELECT COUNT(*) FROM t", minRows: 5 }, keepOnFailure: false, image: "mariadb:11.4.3" }),
    );
    expect(step).toMatchObject({
      kind: "start",
      run: { backup: "old", archive: backup.profiles[1], serverImage: "mariadb:11.4.3", flags: ["--point-in-time=2026-12-05T00:30:01Z", "--sanity-query=SELECT COUNT(*) FROM t", "--min-rows=5", "--query-timeout=60s"] },
    });
    expect(verificationStep(input({ pointInTime: { mode: "latest" } }))).toMatchObject({ run: { flags: ["--point-in-time=latest", "--keep-on-failure"] } });
  });

  it("fails what can never run, naming the field", () => {
    const failed = (i: VerificationStepInput) => {
      const step = verificationStep(i);
      return step.kind === "finish" && step.status.phase === "Failed" ? step.status.message : `not failed: ${step.kind}`;
    };
    expect(failed(input({ profileName: "weekly" }))).toBe("spec.profileName: weekly is not a profile of the group orders; its profiles: nightly, wal");
    expect(failed(input({}, { group: { name: "orders", backup: undefined, image: "x" } }))).toMatch(/^spec.profileName: the group orders has no spec.backup.profiles/);
    expect(failed(input({ backupRef: { name: "nope" } }))).toBe("spec.backupRef.name: there is no MysqlBackup nope in the namespace");
    expect(failed(input({ backupRef: { name: "other" } }))).toBe("spec.backupRef.name: other is a backup of the group payments with profile nightly, not of orders with nightly");
    expect(failed(input({}, { backups: [b("bad", { phase: "Failed" })] }))).toMatch(/^spec.profileName: the group orders has no Succeeded backup of profile nightly to verify: take one first \(kubectl bloodraven backup orders --profile nightly\)/);
    expect(failed(input({ backupRef: { name: "bad" } }, { backups: [b("bad", { phase: "Failed" })] }))).toBe("spec.backupRef.name: bad failed; there is nothing to verify");
    const noPitr = backupWithDefaults({ profiles: [{ name: "nightly", storage: s3("backups") }] });
    expect(failed(input({ pointInTime: { mode: "latest" } }, { group: { name: "orders", backup: noPitr, image: "x" } }))).toMatch(/^spec.pointInTime.mode: latest replays the binary log archive, and the group orders has none/);
  });

  it("waits Pending, said once, for a pinned backup still running or a Job this operator cannot make", () => {
    const step = verificationStep(input({ backupRef: { name: "running" } }));
    expect(step).toEqual({ kind: "pending", status: { phase: "Pending", message: "waiting for the backup running to finish (Running)" } });
    expect(verificationStep({ ...input({ backupRef: { name: "running" } }), status: step.kind === "pending" ? step.status : undefined })).toEqual({ kind: "none" });
    expect(verificationStep(input({}, { jobsOff: "no image" }))).toEqual({ kind: "pending", status: { phase: "Pending", message: "no image" } });
  });

  it("goes on with the backup it chose once Running, even when a newer one succeeded since", () => {
    const running = { phase: "Running" as const, backupName: "old", jobName: "v1-verify", startTime: NOW };
    expect(verificationStep(input({}, { status: running, job: { state: "running" } }))).toEqual({ kind: "none" });
    expect(verificationStep(input({}, { status: running }))).toMatchObject({ kind: "recreate", run: { backup: "old" } });
    expect(verificationStep(input({}, { status: running, backups: [] }))).toMatchObject({ kind: "finish", status: { phase: "Failed", message: "spec.backupRef.name: there is no MysqlBackup old in the namespace" } });
  });

  it("records the Job's result: Succeeded with the count and the replay (Job deleted); Failed with the reason (Job kept unless keepOnFailure is off)", () => {
    const running = { phase: "Running" as const, backupName: "new", jobName: "v1-verify", startTime: NOW };
    const result = JSON.stringify({ phase: "Succeeded", gtid: "0-1-42", restoreMs: 4_600, count: 20, queryMs: 3, replayedToGtid: "0-1-50", replayedToTime: "2026-12-05T00:30:00.000Z" });
    expect(verificationStep(input({}, { status: running, job: { state: "finished", succeeded: true, result } }))).toEqual({
      kind: "finish",
      deleteJob: true,
      status: { ...running, phase: "Succeeded", message: "restored, started and counted 20", completionTime: NOW, backupGtid: "0-1-42", restoreSeconds: 5, count: 20, queryMilliseconds: 3, replayedToGtid: "0-1-50", replayedToTime: "2026-12-05T00:30:00.000Z" },
    });
    const failed = JSON.stringify({ phase: "Failed", message: "the sanity query counted 3, fewer than the 5 expected: the restored data is not all there" });
    expect(verificationStep(input({}, { status: running, job: { state: "finished", succeeded: false, result: failed } }))).toEqual({
      kind: "finish",
      deleteJob: false,
      status: { ...running, phase: "Failed", message: "the sanity query counted 3, fewer than the 5 expected: the restored data is not all there", completionTime: NOW },
    });
    expect(verificationStep(input({ keepOnFailure: false }, { status: running, job: { state: "finished", succeeded: false, result: undefined, reason: "DeadlineExceeded" } }))).toMatchObject({
      deleteJob: true,
      status: { phase: "Failed", message: "the Job v1-verify failed without a result (DeadlineExceeded): see its pod's log" },
    });
    expect(verificationStep(input({}, { status: { ...running, phase: "Succeeded" } }))).toEqual({ kind: "none" });
  });
});
