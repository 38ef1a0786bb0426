/**
 * One step of a group's spec.initFromBackup, decided from what the operator sees: the request,
 * the group's record (status.restore and whether it ever had a primary), the target site's
 * server and the restore Job. Pure; operator/group/init-restore.ts does what it says.
 *
 * The course: the target (an empty, read-only primary-candidate) is chosen and Running written
 * before the Job is made; the Job stages the copy beside the site's datadir; stagedTime and the
 * copy's position are written; the server is shut down so that its restart swaps the copy in;
 * the restarted server is positioned at the copy's GTIDs; Succeeded. Only then does the group
 * get its first primary (shared/managed/bootstrap.ts). Each step can be repeated after an
 * operator restart: the status says how far it got, the server says whether it restarted.
 */
import type { DefaultedBackupSpec } from "../api/backup.js";
import type { InitFromBackupSpec, RestoreStatus } from "../api/restore.js";
import type { RestoreGate } from "../managed/bootstrap.js";
import type { SiteRole } from "../names.js";
import type { ServerObservation } from "../topology/site-observation.js";
import type { RestoreJobInput } from "./backup-job.js";
import { isCount, isFilled, jobFailureMessage, readJobResult, type BackupJobState } from "./job-result.js";
import { wholeSecond } from "../rfc3339.js";

/** A copy staged this long ago whose server never came back on it has a problem a human must see. */
export const RESTART_LIMIT_MS = 10 * 60_000;

/** The target's server once the copy is staged: its binary log position, whether it started after the staging, and its schemas of its own. */
export interface RestartedServer {
  readonly binlogPos: string;
  readonly startedAfterStaging: boolean;
  readonly userSchemas: number;
}

export interface InitRestoreInput {
  readonly group: { readonly name: string; readonly namespace: string; readonly uid: string };
  readonly request: InitFromBackupSpec | undefined;
  readonly backup: DefaultedBackupSpec | undefined;
  readonly sites: readonly { readonly name: string; readonly role: SiteRole }[];
  readonly status: RestoreStatus | undefined;
  /** The site the group last knew as primary, or failed over to: such a group is not new. */
  readonly knownPrimary: string | undefined;
  /** This cycle's poll of the target site; undefined when it failed. */
  readonly target: ServerObservation | undefined;
  /** Read only once the copy is staged; undefined while the server does not answer. */
  readonly restarted: RestartedServer | undefined;
  readonly job: BackupJobState;
  readonly jobName: string;
  /** Why no Job can be made by this operator; undefined when one can. */
  readonly jobsOff: string | undefined;
  readonly now: string;
}

/** What the restore Job is made from: its input but what the operator adds, and the timeout as the spec says it. */
export type RestoreRun = Omit<RestoreJobInput, "group" | "image" | "serverImage" | "operatorSecret" | "timeoutSeconds"> & { readonly timeout: string };

export type InitRestoreStep =
  | { readonly kind: "none" }
  /** Write `status` (Pending with why); `event` names the reason of the Warning event. */
  | { readonly kind: "pending"; readonly status: RestoreStatus; readonly event: "RestoreTargetUnavailable" | "RestoreBuildFailed" }
  /** Write `status` (Running), then make the Job. */
  | { readonly kind: "start"; readonly status: RestoreStatus; readonly run: RestoreRun }
  /** Running, its Job gone before it finished: make it again. */
  | { readonly kind: "recreate"; readonly run: RestoreRun }
  /** The Job staged the copy: write `status` (stagedTime, the positions), delete the Job. */
  | { readonly kind: "staged"; readonly status: RestoreStatus }
  /** Shut the target's server down: its restart swaps the staged copy in. */
  | { readonly kind: "restart"; readonly site: string }
  /** Position the restarted server at `gtid`, then write `status` (Succeeded). */
  | { readonly kind: "position"; readonly site: string; readonly gtid: string; readonly status: RestoreStatus }
  /** Write `status` (Succeeded or Failed); `deleteJob` once it staged. */
  | { readonly kind: "finish"; readonly status: RestoreStatus };

const NONE: InitRestoreStep = { kind: "none" };

/** The site initFromBackup fills: the one named, else the first primary-candidate. */
export function restoreTarget(request: InitFromBackupSpec, sites: InitRestoreInput["sites"]): string | undefined {
  return request.site ?? sites.find((s) => s.role === "primary-candidate")?.name;
}

/** Whether a group's first primary waits for its restore; the restored site and position once it succeeded. */
export function restoreGate(request: InitFromBackupSpec | undefined, status: RestoreStatus | undefined): RestoreGate {
  if (!request) return undefined;
  if (status?.phase === "Succeeded" && status.site) return { restored: { site: status.site, gtid: status.gtid ?? "" } };
  if (status?.phase === "Failed") return { wait: `initFromBackup failed, so the group gets no primary: ${status.message ?? ""} (recreate the group to try again)` };
  return { wait: "waiting for the restore of spec.initFromBackup" };
}

export function initRestoreStep(input: InitRestoreInput): InitRestoreStep {
  const { request, status } = input;
  if (!request || status?.phase === "Succeeded" || status?.phase === "Failed") return NONE;
  const fail = (message: string): InitRestoreStep => ({ kind: "finish", status: { ...status, phase: "Failed", message, completionTime: input.now } });
  if (status?.phase === "Running") return running(input, status, fail);
  const pending = (message: string, event: "RestoreTargetUnavailable" | "RestoreBuildFailed"): InitRestoreStep =>
    status?.phase === "Pending" && status.message === message ? NONE : { kind: "pending", status: { phase: "Pending", message }, event };
  if (input.knownPrimary) return fail(`spec.initFromBackup: the group already had a primary (${input.knownPrimary}); a restore only fills a new group's empty sites`);
  const planned = plan(input, request);
  if ("refused" in planned) return pending(planned.refused, "RestoreBuildFailed");
  const { run } = planned;
  const target = input.target;
  if (!target) return pending(`waiting for site ${run.site}'s server to answer`, "RestoreTargetUnavailable");
  if (target.gtidExecuted !== "" || target.gtidSlavePos) return fail(`site ${run.site} already holds transactions (${target.gtidExecuted || target.gtidSlavePos}): initFromBackup only fills an empty site`);
  if (!target.readOnly || target.replica) return pending(`site ${run.site} is ${target.readOnly ? "replicating" : "writable"}; the restore waits for an empty, read-only server`, "RestoreTargetUnavailable");
  if (input.jobsOff !== undefined) return pending(input.jobsOff, "RestoreBuildFailed");
  const backup = `${run.source.namespace}/${run.source.group}/${run.source.backup}`;
  return {
    kind: "start",
    run,
    status: { phase: "Running", site: run.site, backup, jobName: input.jobName, restoreId: run.restoreId, startTime: input.now, message: `restoring ${backup} beside site ${run.site}'s datadir in Job ${input.jobName}` },
  };
}

function running(input: InitRestoreInput, status: RestoreStatus, fail: (m: string) => InitRestoreStep): InitRestoreStep {
  const site = status.site ?? "";
  if (status.stagedTime === undefined) {
    if (input.job.state === "running") return NONE;
    if (input.job.state === "absent") {
      const planned = input.request ? plan(input, input.request) : { refused: "spec.initFromBackup was removed" };
      return "run" in planned ? { kind: "recreate", run: { ...planned.run, restoreId: status.restoreId ?? planned.run.restoreId } } : fail(planned.refused);
    }
    const result = parseStageResult(input.job.result);
    if (!input.job.succeeded || result.phase !== "Succeeded") return fail(jobFailureMessage(input.jobName, input.job, result));
    return {
      kind: "staged",
      status: {
        ...status,
        stagedTime: input.now,
        backupGtid: result.backupGtid,
        gtid: result.gtid,
        ...(result.replayedToTime ? { replayedToTime: result.replayedToTime } : {}),
        userSchemas: result.userSchemas,
        message: `the copy (${result.gtid || "no transactions"}) is staged; site ${site}'s server restarts on it`,
      },
    };
  }
  const gtid = status.gtid ?? "";
  const server = input.restarted;
  const succeeded: RestoreStatus = { ...status, phase: "Succeeded", completionTime: input.now, message: `site ${site} runs on the restored copy at ${gtid || "no transactions"}` };
  if (server?.startedAfterStaging && server.binlogPos === gtid && gtid !== "") return { kind: "finish", status: succeeded };
  if (!server) {
    return Date.parse(input.now) - Date.parse(status.stagedTime) > RESTART_LIMIT_MS ? fail(`site ${site}'s server did not come back on the staged copy within ${RESTART_LIMIT_MS / 60_000} minutes: see its pod's log`) : NONE;
  }
  if (!server.startedAfterStaging) return { kind: "restart", site };
  if (server.userSchemas !== status.userSchemas) {
    return fail(`site ${site}'s server restarted but holds ${server.userSchemas} schemas of its own, the copy ${status.userSchemas ?? "?"}: the staged copy was not swapped in (its start must run apply-clone, docs/agent.md)`);
  }
  if (server.binlogPos !== "" && server.binlogPos !== gtid) return fail(`site ${site}'s server wrote ${server.binlogPos} after it restarted on the copy (${gtid}): it is not positioned; recreate the group`);
  return { kind: "position", site, gtid, status: succeeded };
}

type Plan = { readonly run: RestoreRun } | { readonly refused: string };

function plan(input: InitRestoreInput, request: InitFromBackupSpec): Plan {
  const site = restoreTarget(request, input.sites);
  if (!site) return { refused: "spec.initFromBackup.site: the group has no primary-candidate to restore" };
  const profile = input.backup?.profiles.find((p) => p.name === request.profileName);
  if (!profile) return { refused: `spec.initFromBackup.profileName: the group has no profile ${request.profileName} in spec.backup.profiles` };
  const mode = request.pointInTime.mode;
  const archiveName = request.archiveProfileName ?? request.profileName;
  const archive = mode === "none" ? undefined : input.backup?.profiles.find((p) => p.name === archiveName);
  if (mode !== "none" && !archive) return { refused: `spec.initFromBackup.archiveProfileName: the group has no profile ${archiveName} in spec.backup.profiles` };
  const pointInTime = mode === "timestamp" && request.pointInTime.timestamp ? wholeSecond(request.pointInTime.timestamp) : mode === "latest" ? "latest" : "none";
  return {
    run: {
      site,
      restoreId: input.jobName,
      source: { namespace: request.source.namespace ?? input.group.namespace, group: request.source.group, backup: request.source.backup },
      profile,
      ...(archive ? { archive } : {}),
      pointInTime,
      timeout: request.timeout,
    },
  };
}

/** The one-line JSON `bloodraven stage-restore` writes (operator/backup/job.ts). */
export function parseStageResult(text: string | undefined) {
  return readJobResult(
    text,
    (r) =>
      typeof r.gtid === "string" && typeof r.backupGtid === "string" && isCount(r.userSchemas)
        ? { gtid: r.gtid, backupGtid: r.backupGtid, userSchemas: r.userSchemas, ...(isFilled(r.replayedToTime) ? { replayedToTime: r.replayedToTime } : {}) }
        : undefined,
    "gtid, backupGtid or userSchemas",
  );
}
