/**
 * What both restores of a group's sites share (spec.initFromBackup, shared/backup/init-restore.ts;
 * spec.restoreInPlace, shared/backup/restore-in-place.ts): the restore Job planned from the
 * request, then the course of its copy once Running is written. A `staged` copy (a MariaDB site):
 * the Job stages the copy beside the site's datadir; stagedTime and the copy's position are
 * written; the server is shut down so that its restart swaps the copy in; the restarted server is
 * positioned at the copy's GTIDs. A `loaded` copy (a MySQL site, shared/backup/mysql-site-load.ts):
 * the Job empties the fenced server and loads the dump into it, which leaves it at the copy's
 * GTIDs; stagedTime and the position are written; the server must then hold exactly that. Each
 * step can be repeated after an operator restart: the status says how far it got, the server
 * says whether it restarted. Pure.
 */
import type { DefaultedBackupSpec } from "../api/backup.js";
import type { RestoreCopy, RestoreStatus } from "../api/restore.js";
import type { FlavorName } from "../topology/site-observation.js";
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

/** What the restore Job is made from: its input but what the operator adds, and the timeout as the spec says it. */
export type RestoreRun = Omit<RestoreJobInput, "group" | "image" | "serverImage" | "operatorSecret" | "timeoutSeconds" | "load"> & { readonly timeout: string; readonly copy: RestoreCopy };

/** A MySQL site's server cannot restart onto a staged datadir: its copy is loaded into it. */
export const copyOf = (flavor: FlavorName): RestoreCopy => (flavor === "mysql" ? "loaded" : "staged");

/** The fields both requests share (InitFromBackupSpec, RestoreInPlaceSpec). */
export interface RestoreRequest {
  readonly profileName: string;
  readonly source: { readonly namespace?: string; readonly group: string; readonly backup: string };
  readonly pointInTime: { readonly mode: "none" | "latest" | "timestamp"; readonly timestamp?: string };
  readonly archiveProfileName?: string;
  readonly timeout: string;
}

export type RestorePlan = { readonly run: RestoreRun } | { readonly refused: string };

/** The restore Job of `request` for `site`, whose copy is `copy`; `field` names the request in what is refused. */
export function planRestore(field: string, request: RestoreRequest, site: string, copy: RestoreCopy, backup: DefaultedBackupSpec | undefined, namespace: string, jobName: string): RestorePlan {
  const profile = backup?.profiles.find((p) => p.name === request.profileName);
  if (!profile) return { refused: `${field}.profileName: the group has no profile ${request.profileName} in spec.backup.profiles` };
  const mode = request.pointInTime.mode;
  const archiveName = request.archiveProfileName ?? request.profileName;
  const archive = mode === "none" ? undefined : backup?.profiles.find((p) => p.name === archiveName);
  if (mode !== "none" && !archive) return { refused: `${field}.archiveProfileName: the group has no profile ${archiveName} in spec.backup.profiles` };
  const pointInTime = mode === "timestamp" && request.pointInTime.timestamp ? wholeSecond(request.pointInTime.timestamp) : mode === "latest" ? "latest" : "none";
  return {
    run: {
      site,
      restoreId: jobName,
      source: { namespace: request.source.namespace ?? namespace, group: request.source.group, backup: request.source.backup },
      profile,
      ...(archive ? { archive } : {}),
      pointInTime,
      timeout: request.timeout,
      copy,
    },
  };
}

/** `<namespace>/<group>/<backup>` of a run's artifact, as status records it. */
export const runBackup = (run: RestoreRun): string => `${run.source.namespace}/${run.source.group}/${run.source.backup}`;

export interface StagedCopyInput {
  readonly job: BackupJobState;
  readonly jobName: string;
  /** Read only once the copy is staged; undefined while the server does not answer. */
  readonly restarted: RestartedServer | undefined;
  readonly now: string;
}

export type StagedCopyStep<T extends RestoreStatus> =
  /** Nothing to do this cycle (the Job runs, the server restarts). */
  | { readonly kind: "wait" }
  /** The Job is gone before it finished: make it again, from the request as it is now. */
  | { readonly kind: "recreate" }
  /** The Job staged the copy: write `status` (stagedTime, the positions), delete the Job. */
  | { readonly kind: "staged"; readonly status: T }
  /** Shut the target's server down: its restart swaps the staged copy in. */
  | { readonly kind: "restart"; readonly site: string }
  /** Position the restarted server at `gtid`. */
  | { readonly kind: "position"; readonly site: string; readonly gtid: string }
  /** The server runs on the copy, positioned. */
  | { readonly kind: "positioned" }
  /** `serverChanged`: the site's data may be gone (a staged copy swapped in, a server emptied for a load). */
  | { readonly kind: "failed"; readonly message: string; readonly serverChanged: boolean };

/** Where the copy of a Running restore stands; `status.site` is the target. */
export function stagedCopyStep<T extends RestoreStatus>(input: StagedCopyInput, status: T): StagedCopyStep<T> {
  const site = status.site ?? "";
  const loaded = status.copy === "loaded";
  const failed = (message: string): StagedCopyStep<T> => ({ kind: "failed", message, serverChanged: true });
  if (status.stagedTime === undefined) {
    if (input.job.state === "running") return { kind: "wait" };
    if (input.job.state === "absent") return { kind: "recreate" };
    const result = parseStageResult(input.job.result);
    if (!input.job.succeeded || result.phase !== "Succeeded") {
      // A staging Job never touches the server; a loading one says when it failed before it did.
      const serverChanged = loaded && !(result.phase === "Failed" && result.serverChanged === false);
      return { kind: "failed", message: jobFailureMessage(input.jobName, input.job, result), serverChanged };
    }
    const copy = result.gtid || "no transactions";
    return {
      kind: "staged",
      status: {
        ...status,
        stagedTime: input.now,
        backupGtid: result.backupGtid,
        gtid: result.gtid,
        ...(result.replayedToTime ? { replayedToTime: result.replayedToTime } : {}),
        userSchemas: result.userSchemas,
        message: loaded ? `the copy (${copy}) is loaded into site ${site}'s server` : `the copy (${copy}) is staged; site ${site}'s server restarts on it`,
      },
    };
  }
  const gtid = status.gtid ?? "";
  const server = input.restarted;
  if (!server) {
    return Date.parse(input.now) - Date.parse(status.stagedTime) > RESTART_LIMIT_MS
      ? failed(`site ${site}'s server did not ${loaded ? "answer after the load" : "come back on the staged copy"} within ${RESTART_LIMIT_MS / 60_000} minutes: see its pod's log`)
      : { kind: "wait" };
  }
  // A loaded server is at the copy's GTIDs already: it must hold exactly the copy, nothing since.
  if (loaded) {
    if (server.userSchemas !== status.userSchemas) return failed(`site ${site}'s server holds ${server.userSchemas} schemas of its own after the load, the copy ${status.userSchemas ?? "?"}: something changed it since`);
    if (server.binlogPos !== gtid) return failed(`site ${site}'s server is at ${server.binlogPos || "no transactions"} after the load, the copy at ${gtid || "no transactions"}: something changed it since`);
    return { kind: "positioned" };
  }
  if (server.startedAfterStaging && server.binlogPos === gtid && gtid !== "") return { kind: "positioned" };
  if (!server.startedAfterStaging) return { kind: "restart", site };
  if (server.userSchemas !== status.userSchemas) {
    return failed(`site ${site}'s server restarted but holds ${server.userSchemas} schemas of its own, the copy ${status.userSchemas ?? "?"}: the staged copy was not swapped in (its start must run apply-clone, docs/agent.md)`);
  }
  if (server.binlogPos !== "" && server.binlogPos !== gtid) return failed(`site ${site}'s server wrote ${server.binlogPos} after it restarted on the copy (${gtid}): it is not positioned`);
  return { kind: "position", site, gtid };
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
