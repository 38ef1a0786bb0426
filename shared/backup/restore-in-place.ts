/**
 * One step of a group's spec.restoreInPlace, decided from what the operator sees: the request,
 * status.restoreInPlace, the sites' polls, the restore Job, the primary's server after the copy
 * is staged, and the last clone. Pure; operator/group/restore-in-place.ts does what it says.
 *
 * The course, each step written to status before it runs: a request whose `confirm` is newer
 * than the last one handled starts (Running) once every site answers and nothing else changes
 * the servers; every site is fenced and the others' replication stopped; fencedTime and the
 * primary's position (what is discarded) are written, then the restore Job is made; the copy's
 * course (shared/backup/staged-copy.ts) brings the primary's server up on the copy, positioned
 * (a MySQL primary's is loaded into its running server instead: `copy` says which);
 * resumedTime and the sites to reclone are written, then the primary is made writable again;
 * each other site is recloned from it (the clone reconciler, source restore-in-place);
 * Succeeded once none is left. A failure before the copy was staged (a loaded copy: before the Job
 * changed the server, as its result says) gives the primary back writable on its own data;
 * after, the group stays fenced for a human.
 *
 * The emergency core stays out until the primary is writable again (restoreHoldsEmergency), and
 * promotes nothing until every other site is recloned (restorePausesFailover): those sites hold
 * the history the restore discarded.
 */
import type { DefaultedBackupSpec } from "../api/backup.js";
import type { RestoreInPlaceSpec, RestoreInPlaceStatus } from "../api/restore.js";
import type { BootstrapStatus } from "../api/index.js";
import type { SiteRole } from "../names.js";
import type { FlavorName } from "../topology/site-observation.js";
import type { BackupJobState } from "./job-result.js";
import { copyOf, planRestore, runBackup, stagedCopyStep, type RestartedServer, type RestoreRun } from "./staged-copy.js";

/** A confirm this far ahead of the operator's clock is refused: it would outrank every later one. */
export const CONFIRM_SKEW_MS = 5 * 60_000;
const FIELD = "spec.restoreInPlace";

export interface InPlaceSite {
  readonly name: string;
  readonly role: SiteRole;
  /** This cycle's poll; undefined when it failed. */
  readonly polled?: { readonly readOnly: boolean; readonly replicating: boolean; readonly gtidExecuted: string; readonly flavor: FlavorName };
}

export interface RestoreInPlaceInput {
  readonly namespace: string;
  readonly request: RestoreInPlaceSpec | undefined;
  readonly backup: DefaultedBackupSpec | undefined;
  /** In spec order. */
  readonly sites: readonly InPlaceSite[];
  readonly status: RestoreInPlaceStatus | undefined;
  /** The primary the group stands behind; "" when none. */
  readonly activeSite: string;
  /** Why the servers must not be changed now (a switchover, a clone in flight); undefined when they may. */
  readonly busy: string | undefined;
  /** Why no Job can be made by this operator; undefined when one can. */
  readonly jobsOff: string | undefined;
  readonly job: BackupJobState;
  readonly jobName: string;
  /** Read only once the copy is staged and before the primary is writable again. */
  readonly restarted: RestartedServer | undefined;
  /** status.bootstrap: the current or last clone. */
  readonly clone: BootstrapStatus | undefined;
  readonly now: string;
}

export type RestoreInPlaceStep =
  | { readonly kind: "none" }
  /** Write `status` (Pending with why); `event` names the reason of the Warning event. */
  | { readonly kind: "pending"; readonly status: RestoreInPlaceStatus; readonly event: "RestoreTargetUnavailable" | "RestoreBuildFailed" }
  /** Write `status` (Running); the fence follows. */
  | { readonly kind: "start"; readonly status: RestoreInPlaceStatus }
  /** Fence `fence` (read_only on), stop replication on `stopReplication`. */
  | { readonly kind: "fence"; readonly site: string; readonly fence: readonly string[]; readonly stopReplication: readonly string[] }
  /** Every site fenced: write `status` (fencedTime, discardedFrom), then make the Job. */
  | { readonly kind: "fenced"; readonly status: RestoreInPlaceStatus; readonly run: RestoreRun }
  | { readonly kind: "recreate"; readonly run: RestoreRun }
  | { readonly kind: "staged"; readonly status: RestoreInPlaceStatus }
  | { readonly kind: "restart"; readonly site: string }
  | { readonly kind: "position"; readonly site: string; readonly gtid: string }
  /** Write `status` (resumedTime, recloning), then make `site` writable (again: after a restart of the operator). */
  | { readonly kind: "resume"; readonly site: string; readonly status: RestoreInPlaceStatus }
  /** Write `status` (the sites left to reclone, the message). */
  | { readonly kind: "progress"; readonly status: RestoreInPlaceStatus }
  /** Make `unfence` writable again (a failure before the copy was staged), then write `status` (Succeeded or Failed). */
  | { readonly kind: "finish"; readonly status: RestoreInPlaceStatus; readonly unfence?: string };

const NONE: RestoreInPlaceStep = { kind: "none" };

/** The emergency core stays out: the servers are fenced, restarted and positioned by the restore. */
export function restoreHoldsEmergency(status: RestoreInPlaceStatus | undefined): boolean {
  return status?.phase === "Running" && status.resumedTime === undefined;
}

/** Why no site may be promoted now: the others still hold the history the restore discarded. */
export function restorePausesFailover(status: RestoreInPlaceStatus | undefined): string | undefined {
  return status?.phase === "Running" ? `a restore in place of ${status.site ?? "?"} is running (spec.restoreInPlace)` : undefined;
}

/** The sites the clone reconciler must copy the restored primary onto, in spec order. */
export function restoreReclones(status: RestoreInPlaceStatus | undefined): readonly string[] {
  return status?.phase === "Running" && status.resumedTime !== undefined ? (status.recloning ?? []) : [];
}

export function restoreInPlaceStep(input: RestoreInPlaceInput): RestoreInPlaceStep {
  const { status } = input;
  if (status?.phase === "Running") return running(input, status);
  const request = input.request;
  if (!request) return NONE;
  const handled = status !== undefined && status.phase !== "Pending" && status.confirm !== undefined && !(Date.parse(request.confirm) > Date.parse(status.confirm));
  if (handled) return NONE;
  const pending = (message: string, event: "RestoreTargetUnavailable" | "RestoreBuildFailed"): RestoreInPlaceStep =>
    status?.phase === "Pending" && status.message === message && status.confirm === request.confirm ? NONE : { kind: "pending", status: { phase: "Pending", confirm: request.confirm, message }, event };
  if (Date.parse(request.confirm) > Date.parse(input.now) + CONFIRM_SKEW_MS) {
    return pending(`${FIELD}.confirm ${request.confirm} is in the future (the operator's clock reads ${input.now}): set it to the time you confirm the restore`, "RestoreBuildFailed");
  }
  const site = request.site ?? input.activeSite;
  if (input.activeSite === "") return pending(`${FIELD} waits for an active primary to restore`, "RestoreTargetUnavailable");
  if (site !== input.activeSite) return pending(`${FIELD}.site ${site} is not the active primary (${input.activeSite}): switch over to it first, or leave the field out`, "RestoreBuildFailed");
  const flavor = input.sites.find((s) => s.name === site)?.polled?.flavor;
  const planned = planRestore(FIELD, request, site, copyOf(flavor ?? "mariadb"), input.backup, input.namespace, input.jobName);
  if ("refused" in planned) return pending(planned.refused, "RestoreBuildFailed");
  if (input.jobsOff !== undefined) return pending(input.jobsOff, "RestoreBuildFailed");
  if (input.busy !== undefined) return pending(`${FIELD} waits: ${input.busy}`, "RestoreTargetUnavailable");
  const silent = input.sites.filter((s) => !s.polled).map((s) => s.name);
  if (silent.length > 0) return pending(`${FIELD} waits for ${silent.join(", ")} to answer: every site is fenced before the restore`, "RestoreTargetUnavailable");
  const backup = runBackup(planned.run);
  return {
    kind: "start",
    status: {
      phase: "Running",
      confirm: request.confirm,
      site,
      backup,
      jobName: input.jobName,
      restoreId: planned.run.restoreId,
      copy: planned.run.copy,
      startTime: input.now,
      message: `restoring ${backup} onto site ${site} in place: fencing every site`,
    },
  };
}

function running(input: RestoreInPlaceInput, status: RestoreInPlaceStatus): RestoreInPlaceStep {
  const site = status.site ?? "";
  // Until a Job ran, or while only a staging Job did, the primary's data is its own; a loading Job may have emptied it.
  const failed = (message: string, serverChanged = status.stagedTime !== undefined || (status.copy === "loaded" && status.fencedTime !== undefined)): RestoreInPlaceStep => {
    const ended = { ...status, phase: "Failed" as const, completionTime: input.now };
    if (!serverChanged) return { kind: "finish", status: { ...ended, message: `${message}; site ${site} was made writable again on its own data, nothing lost` }, unfence: site };
    return { kind: "finish", status: { ...ended, message: `${message}; every site stays fenced: restore again with a newer confirm (docs/backups.md#restoring-a-group-in-place)` } };
  };
  const replan = (): RestoreRun | string => {
    if (!input.request) return `${FIELD} was removed`;
    const planned = planRestore(FIELD, input.request, site, status.copy ?? "staged", input.backup, input.namespace, input.jobName);
    return "run" in planned ? { ...planned.run, restoreId: status.restoreId ?? planned.run.restoreId } : planned.refused;
  };
  if (status.fencedTime === undefined) return fence(input, status, replan, failed);
  if (status.resumedTime !== undefined) return reclone(input, status);
  const step = stagedCopyStep(input, status);
  switch (step.kind) {
    case "wait":
      return NONE;
    case "recreate": {
      const run = replan();
      return typeof run === "string" ? failed(run) : { kind: "recreate", run };
    }
    case "staged":
    case "restart":
    case "position":
      return step;
    case "positioned": {
      const recloning = input.sites.filter((s) => s.name !== site).map((s) => s.name);
      return {
        kind: "resume",
        site,
        status: { ...status, resumedTime: input.now, recloning, message: `site ${site} runs on the copy at ${status.gtid || "no transactions"} and is writable again; recloning ${recloning.join(", ") || "nothing"} from it` },
      };
    }
    case "failed":
      return failed(step.message, step.serverChanged);
  }
}

function fence(input: RestoreInPlaceInput, status: RestoreInPlaceStatus, replan: () => RestoreRun | string, failed: (m: string, serverChanged?: boolean) => RestoreInPlaceStep): RestoreInPlaceStep {
  const site = status.site ?? "";
  const silent = input.sites.filter((s) => !s.polled).map((s) => s.name);
  if (silent.length > 0) return progress(status, `fencing every site: waiting for ${silent.join(", ")} to answer`);
  const writable = input.sites.filter((s) => s.polled?.readOnly === false).map((s) => s.name);
  const replicating = input.sites.filter((s) => s.name !== site && s.polled?.replicating === true).map((s) => s.name);
  if (writable.length > 0 || replicating.length > 0) return { kind: "fence", site, fence: writable, stopReplication: replicating };
  const run = replan();
  if (typeof run === "string") return failed(run);
  const discardedFrom = input.sites.find((s) => s.name === site)?.polled?.gtidExecuted ?? "";
  return {
    kind: "fenced",
    run,
    status: {
      ...status,
      fencedTime: input.now,
      discardedFrom,
      message: `every site is fenced (${site} at ${discardedFrom || "no transactions"}); restoring ${status.backup ?? "?"} ${status.copy === "loaded" ? "into its server" : "beside its datadir"} in Job ${input.jobName}`,
    },
  };
}

/** The primary runs on the copy: give it back if it reads fenced, follow the other sites' reclones. */
function reclone(input: RestoreInPlaceInput, status: RestoreInPlaceStatus): RestoreInPlaceStep {
  const site = status.site ?? "";
  if (input.sites.find((s) => s.name === site)?.polled?.readOnly === true) return { kind: "resume", site, status };
  const resumedAt = Date.parse(status.resumedTime ?? "");
  const clone = input.clone;
  const cloned = (name: string) => clone?.site === name && clone.source === "restore-in-place" && clone.phase === "Done" && Date.parse(clone.startTime) >= resumedAt;
  const known = new Set(input.sites.map((s) => s.name));
  const left = (status.recloning ?? []).filter((name) => known.has(name) && !cloned(name));
  if (left.length === 0) {
    return { kind: "finish", status: { ...status, recloning: [], phase: "Succeeded", completionTime: input.now, message: `the group runs on ${status.backup ?? "the backup"} at ${status.gtid || "no transactions"}: ${site} restored, every other site recloned from it` } };
  }
  const failedClone = clone && left.includes(clone.site) && clone.source === "restore-in-place" && clone.phase === "Failed" ? ` (the last attempt on ${clone.site} failed and is tried again: ${clone.message ?? ""})` : "";
  return progress({ ...status, recloning: left }, `${site} is writable on the copy; recloning ${left.join(", ")} from it${failedClone}`);
}

function progress(status: RestoreInPlaceStatus, message: string): RestoreInPlaceStep {
  const same = status.message === message;
  return same ? NONE : { kind: "progress", status: { ...status, message } };
}
