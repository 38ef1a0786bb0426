import { describe, expect, it } from "vitest";
import { backupWithDefaults } from "../../../shared/api/index.js";
import { cleanupStep, type CleanupInput } from "../../../shared/backup/cleanup-step.js";

const [profile] = backupWithDefaults({ profiles: [{ name: "nightly", storage: { pvc: { claimName: "backups" } } }] }).profiles;
const LOCATION = "s3://backups/prod/shop/orders/b1/manifest.json";

function input(over: Partial<CleanupInput> = {}): CleanupInput {
  return {
    status: { phase: "Succeeded", jobName: "b1-backup", location: LOCATION },
    profile,
    profileName: "nightly",
    backupJob: { state: "finished", succeeded: true, result: undefined },
    cleanupJob: { state: "absent" },
    cleanupJobName: "b1-cleanup",
    ...over,
  };
}

describe("cleanupStep", () => {
  it("lets a backup that never started go at once, without an event: nothing was written", () => {
    expect(cleanupStep(input({ status: undefined }))).toEqual({ kind: "release" });
    expect(cleanupStep(input({ status: { phase: "Failed", message: "profile weekly is not in ..." } }))).toEqual({ kind: "release" });
  });

  it("stops the backup's own Job while it copies and waits until its pod is gone (it may still write), then makes the cleanup Job", () => {
    const copying = { status: { phase: "Running" as const, jobName: "b1-backup" } };
    expect(cleanupStep(input({ ...copying, backupJob: { state: "running" } }))).toEqual({ kind: "stop", jobName: "b1-backup" });
    expect(cleanupStep(input({ ...copying, backupJob: { state: "running", stopping: true } }))).toEqual({ kind: "wait" });
    expect(cleanupStep(input({ ...copying, backupJob: { state: "absent" } }))).toEqual({ kind: "create", profile });
    expect(cleanupStep(input())).toEqual({ kind: "create", profile });
    expect(cleanupStep(input({ cleanupJob: { state: "running" } }))).toEqual({ kind: "wait" });
  });

  it("releases once the cleanup succeeded, and keeps the finalizer while it failed, saying how to retry", () => {
    expect(cleanupStep(input({ cleanupJob: { state: "finished", succeeded: true, result: '{"phase":"Succeeded","deletedObjects":1}' } }))).toEqual({
      kind: "release",
      event: { reason: "ArtifactCleanupSucceeded", message: `the artifact (${LOCATION}) was deleted from the store` },
    });
    expect(cleanupStep(input({ cleanupJob: { state: "finished", succeeded: false, result: '{"phase":"Failed","message":"store s3://backups/: AccessDenied"}' } }))).toEqual({
      kind: "failed",
      message: `the Job b1-cleanup could not delete the artifact (${LOCATION}): store s3://backups/: AccessDenied. The MysqlBackup stays until it can; delete that Job to try again`,
    });
  });

  it("lets go of a backup whose profile is gone, saying its artifact was left", () => {
    expect(cleanupStep(input({ profile: undefined }))).toEqual({
      kind: "release",
      event: { reason: "ArtifactCleanupSkipped", message: `profile nightly is no longer in the group's spec.backup: the artifact (${LOCATION}) was left in place` },
    });
  });
});
