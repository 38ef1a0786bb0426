/**
 * What becomes of a deleted MysqlBackup's artifact. The backup carries the operator's finalizer
 * from the moment it starts copying. Deleting it while it copies stops the copy first (its Job
 * is deleted, and waited for until its pod is gone); then a cleanup Job removes the artifact
 * from the store, and the finalizer comes off only once that Job
 * succeeded (a not-found artifact counts as deleted). A backup that never copied anything is let
 * go at once; one whose profile is gone is let go with its artifact left, said in an event.
 */
import type { BackupProfile, MysqlBackupStatus } from "../api/backup.js";
import { parseResult } from "./backup-step.js";
import type { BackupJobState } from "./job-result.js";

export interface CleanupInput {
  readonly status: MysqlBackupStatus | undefined;
  /** The backup's profile as the group has it now; undefined when gone. */
  readonly profile: BackupProfile | undefined;
  readonly profileName: string;
  /** The backup's own Job: while it runs it may still write. */
  readonly backupJob: BackupJobState;
  readonly cleanupJob: BackupJobState;
  readonly cleanupJobName: string;
}

export type CleanupStep =
  | { readonly kind: "wait" }
  /** Delete the backup's Job: the copy is no longer wanted. */
  | { readonly kind: "stop"; readonly jobName: string }
  /** Take the finalizer off; with `event`, say why (nothing was deleted, or the artifact is gone). */
  | { readonly kind: "release"; readonly event?: { readonly reason: "ArtifactCleanupSucceeded" | "ArtifactCleanupSkipped"; readonly message: string } }
  | { readonly kind: "create"; readonly profile: BackupProfile }
  | { readonly kind: "failed"; readonly message: string };

export function cleanupStep(input: CleanupInput): CleanupStep {
  const { status } = input;
  // Never went Running: no Job was made, nothing was written.
  if (status?.jobName === undefined) return { kind: "release" };
  if (input.backupJob.state === "running") return input.backupJob.stopping ? { kind: "wait" } : { kind: "stop", jobName: status.jobName };
  const where = status.location ?? "its folder in the store";
  if (!input.profile) {
    return { kind: "release", event: { reason: "ArtifactCleanupSkipped", message: `profile ${input.profileName} is no longer in the group's spec.backup: the artifact (${where}) was left in place` } };
  }
  const job = input.cleanupJob;
  if (job.state === "absent") return { kind: "create", profile: input.profile };
  if (job.state === "running") return { kind: "wait" };
  const result = parseResult(job.result);
  if (job.succeeded) return { kind: "release", event: { reason: "ArtifactCleanupSucceeded", message: `the artifact (${where}) was deleted from the store` } };
  const why = result.phase === "Failed" ? result.message : (job.reason ?? "no result: see its pod's log");
  return { kind: "failed", message: `the Job ${input.cleanupJobName} could not delete the artifact (${where}): ${why}. The MysqlBackup stays until it can; delete that Job to try again` };
}
