import { backupWithDefaults, type RestoreInPlaceStatus } from "../../shared/api/index.js";
import { restoreInPlaceJobName } from "../../shared/backup/backup-job.js";
import { restoreHoldsEmergency, restoreInPlaceStep, restorePausesFailover, restoreReclones, type InPlaceSite, type RestoreInPlaceStep } from "../../shared/backup/restore-in-place.js";
import { cloneInFlight } from "../../shared/reclone/step.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { EVENT_REASONS, RESTORE_KINDS } from "../../shared/names.js";
import type { GroupContext } from "./context.js";
import { DONE, requeue, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";
import { RestoreCopy } from "./restore-copy.js";

/** Fencing one server, or making it writable again, and confirming it: a promotion's bounds. */
const FENCE_DEADLINE_MS = 10_000;
const FENCE_LOCK_WAIT_SECONDS = 2;

/**
 * Restores the group's own sites from a backup (spec.restoreInPlace,
 * shared/backup/restore-in-place.ts): writes each step to status.restoreInPlace before it runs,
 * fences every site, makes the restore Job, restarts the primary's server onto the copy and
 * positions it (RestoreCopy), makes it writable again, and leaves the others to the clone
 * reconciler. Meanwhile it holds the emergency core, then pauses automatic failover, for the
 * reconcilers after it in the cycle. Runs after the switchover's reconciler (whose hold it
 * waits for) and before the clone reconciler.
 */
export class RestoreInPlaceReconciler implements Reconciler {
  readonly name = "restore-in-place";
  private readonly copy: RestoreCopy;

  constructor(private readonly ctx: GroupContext) {
    this.copy = new RestoreCopy(ctx);
  }

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    const status = (ctx.store.written ?? ctx.group.status)?.restoreInPlace;
    const result = await this.step(cycle, status);
    const now = ctx.store.written?.restoreInPlace ?? status;
    if (restoreHoldsEmergency(now)) cycle.holdEmergency = true;
    const paused = restorePausesFailover(now);
    if (paused !== undefined) cycle.failoverPaused = paused;
    const reclones = restoreReclones(now);
    if (reclones.length > 0) cycle.restoreReclones = reclones;
    return result;
  }

  private async step(cycle: GroupCycle, status: RestoreInPlaceStatus | undefined): Promise<ReconcileResult> {
    const { ctx, copy } = this;
    const request = ctx.spec.restoreInPlace;
    const observations = cycle.observations;
    if (!observations || (!request && status?.phase !== "Running")) return DONE;
    const running = status?.phase === "Running";
    const copying = running && status.fencedTime !== undefined && status.resumedTime === undefined;
    if (copying && status.stagedTime === undefined && !copy.jobLookDue()) return DONE;
    const site = status?.site ?? "";
    const written = ctx.store.written ?? ctx.group.status;
    const sites: InPlaceSite[] = ctx.spec.sites.map((s) => {
      const o = observations.get(s.name);
      return { name: s.name, role: s.role, ...(o ? { polled: { readOnly: o.readOnly, replicating: o.replica !== undefined && (o.replica.ioRunning || o.replica.ioConnecting || o.replica.sqlRunning), gtidExecuted: o.gtidExecuted, flavor: o.flavor } } : {}) };
    });
    const clone = cloneInFlight(written?.bootstrap);
    const jobName = status?.phase === "Running" ? (status.jobName ?? "") : request ? restoreInPlaceJobName(ctx.name, request.confirm) : "";
    const busy = cycle.holdEmergency ? "a switchover is in progress" : clone !== undefined ? `a clone of ${clone} is in flight` : written?.restore?.phase === "Running" ? "spec.initFromBackup's restore is running" : undefined;
    const step = restoreInPlaceStep({
      namespace: ctx.namespace,
      request,
      backup: ctx.spec.backup ? backupWithDefaults(ctx.spec.backup) : undefined,
      sites,
      status,
      activeSite: written?.activeSite ?? "",
      busy,
      jobsOff: copy.jobsOff(),
      job: copying && status.stagedTime === undefined ? await copy.job(jobName) : { state: "absent" },
      jobName,
      restarted: copying && status.stagedTime !== undefined ? await copy.restarted(site, Date.parse(status.stagedTime)) : undefined,
      clone: written?.bootstrap,
      now: cycle.now,
    });
    return this.act(step);
  }

  private async act(step: RestoreInPlaceStep): Promise<ReconcileResult> {
    const { ctx, copy } = this;
    const store = ctx.store;
    switch (step.kind) {
      case "none":
        return DONE;
      case "pending":
        await store.persistRestoreInPlace(step.status);
        ctx.log.info(LOG_MESSAGES.restorePending, { reason: step.status.message, kind: RESTORE_KINDS.inPlace });
        ctx.recordEvent({ type: "Warning", reason: step.event === "RestoreBuildFailed" ? EVENT_REASONS.restoreBuildFailed : EVENT_REASONS.restoreTargetUnavailable, message: step.status.message ?? "" });
        return DONE;
      case "start":
        await store.persistRestoreInPlace(step.status);
        ctx.log.warn(LOG_MESSAGES.restoreFencing, { site: step.status.site, backup: step.status.backup, confirm: step.status.confirm });
        ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.restoreStarted, message: `${step.status.message ?? ""}: everything written after ${step.status.backup ?? "the backup"} is discarded (confirmed ${step.status.confirm ?? "?"})` });
        return requeue(0);
      case "fence":
        for (const site of step.fence) {
          await ctx.withSite(site, "restore: fence", (s) => s.flavor.fence(s, { lockWaitTimeoutSeconds: FENCE_LOCK_WAIT_SECONDS }), FENCE_DEADLINE_MS);
          ctx.markState(site, "read-only");
        }
        for (const site of step.stopReplication) await ctx.withSite(site, "restore: stop replication", (s) => s.flavor.stopReplica(s), FENCE_DEADLINE_MS);
        return requeue(0);
      case "fenced":
        await store.persistRestoreInPlace(step.status);
        await copy.createJob(step.run);
        ctx.log.info(LOG_MESSAGES.restoreStarted, { site: step.run.site, backup: step.status.backup, job: step.run.restoreId, pointInTime: step.run.pointInTime, discardedFrom: step.status.discardedFrom, kind: RESTORE_KINDS.inPlace });
        return DONE;
      case "recreate":
        await copy.createJob(step.run);
        return DONE;
      case "staged":
        await store.persistRestoreInPlace(step.status);
        await copy.deleteJob(step.status.jobName ?? "");
        ctx.log.info(LOG_MESSAGES.restoreStaged, { site: step.status.site, gtid: step.status.gtid, replayedToTime: step.status.replayedToTime, kind: RESTORE_KINDS.inPlace });
        return requeue(0);
      case "restart":
        await copy.restart(step.site);
        ctx.log.info(LOG_MESSAGES.restoreRestarting, { site: step.site, kind: RESTORE_KINDS.inPlace });
        return requeue(2_000);
      case "position":
        await copy.position(step.site, step.gtid);
        return requeue(0);
      case "resume":
        await store.persistRestoreInPlace(step.status);
        await this.unfence(step.site);
        ctx.log.info(LOG_MESSAGES.restoreResumed, { site: step.site, gtid: step.status.gtid, recloning: step.status.recloning });
        return requeue(0);
      case "progress":
        await store.persistRestoreInPlace(step.status);
        return DONE;
      case "finish":
        if (step.unfence !== undefined) await this.unfence(step.unfence);
        await store.persistRestoreInPlace(step.status);
        await copy.recordOutcome(
          RESTORE_KINDS.inPlace,
          step.status,
          ctx.spec.restoreInPlace?.source,
          `the group runs on ${step.status.backup ?? ""} at ${step.status.gtid || "no transactions"}: site ${step.status.site ?? ""} restored in place, every other site recloned from it`,
        );
        return DONE;
    }
  }

  private async unfence(site: string): Promise<void> {
    const { ctx } = this;
    await ctx.withSite(site, "restore: unfence", (s) => s.flavor.unfence(s), FENCE_DEADLINE_MS).finally(() => ctx.madeWritable(site));
    ctx.markState(site, "writable");
  }
}
