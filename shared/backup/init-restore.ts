/**
 * One step of a group's spec.initFromBackup, decided from what the operator sees: the request,
 * the group's record (status.restore and whether it ever had a primary), the target site's
 * server and the restore Job. Pure; operator/group/init-restore.ts does what it says.
 *
 * The course: the target (an empty, read-only primary-candidate) is chosen and Running written,
 * with how its copy reaches it (by its flavor), before the Job is made; then the copy's course
 * (shared/backup/staged-copy.ts); Succeeded once the server runs on the copy, positioned. Only
 * then does the group get its first primary (shared/managed/bootstrap.ts).
 */
import type { DefaultedBackupSpec } from "../api/backup.js";
import type { InitFromBackupSpec, RestoreStatus } from "../api/restore.js";
import type { RestoreGate } from "../managed/bootstrap.js";
import type { SiteRole } from "../names.js";
import type { ServerObservation } from "../topology/site-observation.js";
import type { BackupJobState } from "./job-result.js";
import { copyOf, planRestore, runBackup, stagedCopyStep, type RestartedServer, type RestorePlan, type RestoreRun } from "./staged-copy.js";
import type { RestoreCopy } from "../api/restore.js";

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
  const planned = plan(input, request, copyOf(input.target?.flavor ?? "mariadb"));
  if ("refused" in planned) return pending(planned.refused, "RestoreBuildFailed");
  const { run } = planned;
  const target = input.target;
  if (!target) return pending(`waiting for site ${run.site}'s server to answer`, "RestoreTargetUnavailable");
  if (target.gtidExecuted !== "" || target.gtidSlavePos) return fail(`site ${run.site} already holds transactions (${target.gtidExecuted || target.gtidSlavePos}): initFromBackup only fills an empty site`);
  if (!target.readOnly || target.replica) return pending(`site ${run.site} is ${target.readOnly ? "replicating" : "writable"}; the restore waits for an empty, read-only server`, "RestoreTargetUnavailable");
  if (input.jobsOff !== undefined) return pending(input.jobsOff, "RestoreBuildFailed");
  const backup = runBackup(run);
  return {
    kind: "start",
    run,
    status: {
      phase: "Running",
      site: run.site,
      backup,
      jobName: input.jobName,
      restoreId: run.restoreId,
      copy: run.copy,
      startTime: input.now,
      message: `restoring ${backup} ${run.copy === "loaded" ? "into" : "beside"} site ${run.site}'s ${run.copy === "loaded" ? "server" : "datadir"} in Job ${input.jobName}`,
    },
  };
}

function running(input: InitRestoreInput, status: RestoreStatus, fail: (m: string) => InitRestoreStep): InitRestoreStep {
  const site = status.site ?? "";
  const gtid = status.gtid ?? "";
  const succeeded: RestoreStatus = { ...status, phase: "Succeeded", completionTime: input.now, message: `site ${site} runs on the restored copy at ${gtid || "no transactions"}` };
  const step = stagedCopyStep(input, status);
  switch (step.kind) {
    case "wait":
      return NONE;
    case "recreate": {
      const planned = input.request ? plan(input, input.request, status.copy ?? "staged") : { refused: "spec.initFromBackup was removed" };
      return "run" in planned ? { kind: "recreate", run: { ...planned.run, restoreId: status.restoreId ?? planned.run.restoreId } } : fail(planned.refused);
    }
    case "staged":
    case "restart":
      return step;
    case "position":
      return { ...step, status: succeeded };
    case "positioned":
      return { kind: "finish", status: succeeded };
    case "failed":
      return fail(step.message);
  }
}

function plan(input: InitRestoreInput, request: InitFromBackupSpec, copy: RestoreCopy): RestorePlan {
  const site = restoreTarget(request, input.sites);
  if (!site) return { refused: "spec.initFromBackup.site: the group has no primary-candidate to restore" };
  return planRestore("spec.initFromBackup", request, site, copy, input.backup, input.group.namespace, input.jobName);
}
