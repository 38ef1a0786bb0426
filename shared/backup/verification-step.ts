/**
 * One step of one MysqlBackupVerification, decided from what the operator sees: the
 * verification, the group's backup settings and image, the namespace's MysqlBackups and the
 * verification's Job. As for a backup, Running (with the backup chosen) is written before the
 * Job is made, so an operator that restarts goes on with the same backup and Job.
 */
import type { BackupProfile, DefaultedBackupSpec } from "../api/backup.js";
import type { DefaultedVerificationSpec, MysqlBackupVerificationStatus } from "../api/verification.js";
import type { BackupPhase } from "../names.js";
import { isCount, isFilled, jobFailureMessage, readJobResult, type BackupJobState } from "./job-result.js";
import { checkBackupRequest } from "./request.js";
import { wholeSecond } from "../rfc3339.js";

export interface VerifiableBackup {
  readonly name: string;
  readonly group: string;
  readonly profile: string;
  readonly phase: BackupPhase | undefined;
  readonly completionTime: string | undefined;
}

export interface VerificationStepInput {
  readonly spec: DefaultedVerificationSpec;
  readonly status: MysqlBackupVerificationStatus | undefined;
  readonly group: { readonly name: string; readonly backup: DefaultedBackupSpec | undefined; readonly image: string };
  readonly backups: readonly VerifiableBackup[];
  readonly job: BackupJobState;
  readonly jobName: string;
  /** Why no Job can be made by this operator; undefined when one can. */
  readonly jobsOff: string | undefined;
  readonly now: string;
}

/** What the Job is made from. */
export interface VerificationRun {
  readonly backup: string;
  readonly profile: BackupProfile;
  /** The archive's profile, when the verification replays it. */
  readonly archive?: BackupProfile;
  readonly serverImage: string;
  /** `bloodraven verify`'s flags for the check (the store's and the backup's are the Job's). */
  readonly flags: readonly string[];
}

export type VerificationStep =
  | { readonly kind: "none" }
  | { readonly kind: "pending"; readonly status: MysqlBackupVerificationStatus }
  /** Write `status` (Running, the backup chosen), then make the Job. */
  | { readonly kind: "start"; readonly status: MysqlBackupVerificationStatus; readonly run: VerificationRun }
  /** Running, its Job not there: make it again. */
  | { readonly kind: "recreate"; readonly run: VerificationRun }
  /** Write `status`; `deleteJob`: the Job (and the copy in its pod) is not kept. */
  | { readonly kind: "finish"; readonly status: MysqlBackupVerificationStatus; readonly deleteJob: boolean };

export function verificationStep(input: VerificationStepInput): VerificationStep {
  const { status } = input;
  if (status?.phase === "Succeeded" || status?.phase === "Failed") return { kind: "none" };
  const fail = (message: string): VerificationStep => ({ kind: "finish", status: { ...status, phase: "Failed", message, completionTime: input.now }, deleteJob: false });
  const planned = plan(input, status?.phase === "Running" ? status.backupName : undefined);
  if (status?.phase === "Running") {
    if (input.job.state === "running") return { kind: "none" };
    // Its backup was chosen Succeeded; only a deletion since can leave nothing to make the Job from.
    if (input.job.state === "absent") return "run" in planned ? { kind: "recreate", run: planned.run } : fail("refused" in planned ? planned.refused : planned.waiting);
    return finished(input, input.job);
  }
  if ("refused" in planned) return fail(planned.refused);
  const pending = (message: string): VerificationStep => (status?.phase === "Pending" && status.message === message ? { kind: "none" } : { kind: "pending", status: { phase: "Pending", message } });
  if ("waiting" in planned) return pending(planned.waiting);
  if (input.jobsOff !== undefined) return pending(input.jobsOff);
  return {
    kind: "start",
    run: planned.run,
    status: { phase: "Running", message: `restoring ${planned.run.backup} in Job ${input.jobName}`, startTime: input.now, backupName: planned.run.backup, jobName: input.jobName },
  };
}

type Plan = { readonly run: VerificationRun } | { readonly refused: string } | { readonly waiting: string };

/** The backup to verify (`chosen` once Running) and everything else the Job needs, or why there is none. */
function plan(input: VerificationStepInput, chosen: string | undefined): Plan {
  const { spec, group } = input;
  const request = checkBackupRequest({ name: group.name, profiles: group.backup?.profiles, sites: [] }, { profileName: spec.profileName });
  if ("problem" in request) return { refused: `spec.${request.problem.field}: ${request.problem.message}` };
  const backup = chooseBackup(input, chosen ?? spec.backupRef?.name);
  if ("refused" in backup || "waiting" in backup) return backup;
  const mode = spec.pointInTime.mode;
  let archive: BackupProfile | undefined;
  if (mode !== "none") {
    const pitr = group.backup?.pitr;
    archive = pitr?.enabled ? group.backup?.profiles.find((p) => p.name === pitr.profileName) : undefined;
    if (!archive) return { refused: `spec.pointInTime.mode: ${mode} replays the binary log archive, and the group ${group.name} has none: enable spec.backup.pitr, or use mode none` };
  }
  const sanity = spec.sanityCheck;
  const flags = [
    ...(mode === "latest" ? ["--point-in-time=latest"] : []),
    ...(mode === "timestamp" && spec.pointInTime.timestamp ? [`--point-in-time=${wholeSecond(spec.pointInTime.timestamp)}`] : []),
    ...(sanity ? [`--sanity-query=${sanity.query}`, `--min-rows=${sanity.minRows}`, `--query-timeout=${sanity.timeout}`] : []),
    ...(spec.keepOnFailure ? ["--keep-on-failure"] : []),
  ];
  return { run: { backup: backup.name, profile: request.profile, ...(archive ? { archive } : {}), serverImage: spec.image ?? group.image, flags } };
}

function chooseBackup(input: VerificationStepInput, pinned: string | undefined): { readonly name: string } | { readonly refused: string } | { readonly waiting: string } {
  const { spec, group } = input;
  if (pinned !== undefined) {
    const b = input.backups.find((x) => x.name === pinned);
    if (!b) return { refused: `spec.backupRef.name: there is no MysqlBackup ${pinned} in the namespace` };
    if (b.group !== group.name || b.profile !== spec.profileName) return { refused: `spec.backupRef.name: ${pinned} is a backup of the group ${b.group} with profile ${b.profile}, not of ${group.name} with ${spec.profileName}` };
    if (b.phase === "Failed") return { refused: `spec.backupRef.name: ${pinned} failed; there is nothing to verify` };
    if (b.phase !== "Succeeded") return { waiting: `waiting for the backup ${pinned} to finish (${b.phase ?? "not started"})` };
    return { name: b.name };
  }
  const newest = input.backups
    .filter((b) => b.group === group.name && b.profile === spec.profileName && b.phase === "Succeeded")
    .sort((a, b) => (a.completionTime ?? "").localeCompare(b.completionTime ?? "") || a.name.localeCompare(b.name))
    .at(-1);
  if (!newest) return { refused: `spec.profileName: the group ${group.name} has no Succeeded backup of profile ${spec.profileName} to verify: take one first (kubectl bloodraven backup ${group.name} --profile ${spec.profileName})` };
  return { name: newest.name };
}

/** The one-line JSON `bloodraven verify` writes (operator/backup/job.ts). */
export function parseVerifyResult(text: string | undefined) {
  return readJobResult(
    text,
    (r) =>
      isFilled(r.gtid) && isCount(r.restoreMs)
        ? {
            gtid: r.gtid,
            restoreMs: r.restoreMs,
            ...(isCount(r.count) ? { count: r.count } : {}),
            ...(isCount(r.queryMs) ? { queryMs: r.queryMs } : {}),
            ...(isFilled(r.replayedToGtid) ? { replayedToGtid: r.replayedToGtid } : {}),
            ...(isFilled(r.replayedToTime) ? { replayedToTime: r.replayedToTime } : {}),
          }
        : undefined,
    "gtid or restoreMs",
  );
}

function finished(input: VerificationStepInput, job: Extract<BackupJobState, { state: "finished" }>): VerificationStep {
  const result = parseVerifyResult(job.result);
  const base = { ...input.status, completionTime: input.now };
  if (job.succeeded && result.phase === "Succeeded") {
    return {
      kind: "finish",
      deleteJob: true,
      status: {
        ...base,
        phase: "Succeeded",
        message: result.count === undefined ? "restored and started" : `restored, started and counted ${result.count}`,
        backupGtid: result.gtid,
        restoreSeconds: Math.round(result.restoreMs / 1000),
        ...(result.count !== undefined ? { count: result.count } : {}),
        ...(result.queryMs !== undefined ? { queryMilliseconds: result.queryMs } : {}),
        ...(result.replayedToGtid ? { replayedToGtid: result.replayedToGtid } : {}),
        ...(result.replayedToTime ? { replayedToTime: result.replayedToTime } : {}),
      },
    };
  }
  return { kind: "finish", deleteJob: !input.spec.keepOnFailure, status: { ...base, phase: "Failed", message: jobFailureMessage(input.jobName, job, result) } };
}
