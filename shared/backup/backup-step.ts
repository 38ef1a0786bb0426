/**
 * One step of one MysqlBackup, decided from what the operator sees: the backup's status, the
 * group's backup profiles and sites, and the backup's Job. The status the step writes is always
 * written before the Job is made, so an operator that restarts finds `Running` with the Job's name
 * and goes on with that Job (made again if it never was), never a second copy.
 */
import { parseTrigger } from "./housekeeping.js";
import type { BackupProfile, MysqlBackupSpec, MysqlBackupStatus } from "../api/backup.js";
import { isCount, isFilled, jobFailureMessage, readJobResult, type BackupJobState } from "./job-result.js";
import { checkBackupRequest } from "./request.js";
import { chooseBackupSource, type BackupSourceSite } from "./source.js";

export interface BackupStepInput {
  readonly spec: MysqlBackupSpec;
  readonly status: MysqlBackupStatus | undefined;
  /** The group's profiles; undefined when it has no spec.backup. */
  readonly profiles: readonly BackupProfile[] | undefined;
  readonly sites: readonly BackupSourceSite[];
  readonly maxLagSeconds: number;
  readonly activeSite: string;
  readonly job: BackupJobState;
  readonly jobName: string;
  /** Why no Job can be made by this operator (no image for it); undefined when one can. */
  readonly jobsOff: string | undefined;
  /** Why no Job can copy a MariaDB site (`agent`: the agent token Secret) or dump a MySQL site (`dump`: the operator account Secret) now. */
  readonly missingSecret?: { readonly agent?: string; readonly dump?: string };
  readonly now: string;
}

export type BackupStep =
  | { readonly kind: "none" }
  /** Cannot start yet: written as the message of a Pending backup, once per change. */
  | { readonly kind: "pending"; readonly status: MysqlBackupStatus }
  /** Write `status` (Running, the source chosen), then make the Job. */
  | { readonly kind: "start"; readonly status: MysqlBackupStatus; readonly profile: BackupProfile; readonly source: string }
  /** Running, its Job not there: make it again (the operator stopped between the status write and the Job). */
  | { readonly kind: "recreate"; readonly profile: BackupProfile; readonly source: string }
  | { readonly kind: "finish"; readonly status: MysqlBackupStatus; readonly inFlightFailover: boolean };

export function backupStep(input: BackupStepInput): BackupStep {
  const { status, spec } = input;
  if (status?.phase === "Succeeded" || status?.phase === "Failed") return { kind: "none" };
  const fail = (message: string): BackupStep => ({ kind: "finish", status: { ...status, phase: "Failed", message, completionTime: input.now }, inFlightFailover: false });
  if (status?.phase === "Running") {
    if (input.job.state === "running") return { kind: "none" };
    if (input.job.state === "absent") {
      // Without its Job and its profile there is nothing to make the Job from.
      const profile = input.profiles?.find((p) => p.name === spec.profileName);
      if (!profile) return fail(`profile ${spec.profileName} is no longer in the group's spec.backup.profiles`);
      return { kind: "recreate", profile, source: status.sourceSite ?? "" };
    }
    return finished(input, input.job);
  }
  const request = checkBackupRequest({ name: spec.failoverGroupRef.name, profiles: input.profiles, sites: input.sites }, spec);
  if ("problem" in request) return fail(`spec.${request.problem.field}: ${request.problem.message}`);
  const pending = (message: string): BackupStep => (status?.phase === "Pending" && status.message === message ? { kind: "none" } : { kind: "pending", status: { phase: "Pending", message } });
  if (input.jobsOff !== undefined) return pending(input.jobsOff);
  const source = chooseBackupSource(input.sites, input.maxLagSeconds, spec.sourceSiteOverride);
  // The request is sound (above): a source that cannot serve now may come back.
  if ("refused" in source) return pending(source.refused);
  const missing = input.sites.find((s) => s.name === source.site)?.flavor === "mysql" ? input.missingSecret?.dump : input.missingSecret?.agent;
  if (missing !== undefined) return pending(missing);
  return {
    kind: "start",
    profile: request.profile,
    source: source.site,
    status: {
      phase: "Running",
      message: `copying from ${source.site} (${source.reason})`,
      startTime: input.now,
      jobName: input.jobName,
      attempt: status?.attempt ?? attemptOf(spec.triggeredBy),
      sourceSite: source.site,
      sourceReason: source.reason,
      activeSiteAtStart: input.activeSite,
    },
  };
}

/** A retry's attempt number, from its `triggeredBy` (shared/backup/housekeeping.ts); 1 otherwise. */
function attemptOf(triggeredBy: string | undefined): number {
  const trigger = parseTrigger(triggeredBy);
  return trigger.kind === "scheduled" ? trigger.attempt : 1;
}

function finished(input: BackupStepInput, job: Extract<BackupJobState, { state: "finished" }>): BackupStep {
  const result = parseResult(job.result);
  const inFlightFailover = input.status?.activeSiteAtStart !== undefined && input.activeSite !== "" && input.activeSite !== input.status.activeSiteAtStart;
  const base = { ...input.status, completionTime: input.now };
  if (job.succeeded && result.phase === "Succeeded") {
    const { location, bytes, gtid, binlogFile, binlogPosition } = result;
    return { kind: "finish", inFlightFailover, status: { ...base, phase: "Succeeded", message: "", location, sizeBytes: bytes, gtidExecuted: gtid, binlogFile, binlogPosition } };
  }
  return { kind: "finish", inFlightFailover, status: { ...base, phase: "Failed", message: jobFailureMessage(input.jobName, job, result) } };
}

/** The one-line JSON the backup command writes (operator/backup/job.ts), checked field by field. */
export function parseResult(text: string | undefined) {
  return readJobResult(
    text,
    (r) =>
      isFilled(r.location) && isCount(r.bytes) && isFilled(r.gtid) && isFilled(r.binlogFile) && isCount(r.binlogPosition)
        ? { location: r.location, bytes: r.bytes, gtid: r.gtid, binlogFile: r.binlogFile, binlogPosition: r.binlogPosition }
        : undefined,
    "location, bytes, gtid, binlogFile or binlogPosition",
  );
}
