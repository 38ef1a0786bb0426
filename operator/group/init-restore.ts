import { backupWithDefaults, type RestoreStatus } from "../../shared/api/index.js";
import { restoreJobName } from "../../shared/backup/backup-job.js";
import { initRestoreStep, restoreTarget, type InitRestoreStep } from "../../shared/backup/init-restore.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { EVENT_REASONS, RESTORE_KINDS } from "../../shared/names.js";
import type { GroupContext } from "./context.js";
import { DONE, requeue, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";
import { RestoreCopy } from "./restore-copy.js";

/**
 * Starts a new group of managed sites from a backup (spec.initFromBackup, shared/backup/init-restore.ts):
 * writes each step to status.restore before it runs, makes the restore Job, restarts the target's
 * server onto the staged copy and positions its GTIDs (RestoreCopy). The group's first primary
 * waits for it (the bootstrap reconciler reads status.restore). Runs before the bootstrap.
 */
export class InitRestoreReconciler implements Reconciler {
  readonly name = "init-restore";
  private readonly copy: RestoreCopy;

  constructor(private readonly ctx: GroupContext) {
    this.copy = new RestoreCopy(ctx);
  }

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    const request = ctx.spec.initFromBackup;
    const written = ctx.store.written ?? ctx.group.status;
    const status = written?.restore;
    if (!request || !cycle.observations || status?.phase === "Succeeded" || status?.phase === "Failed") return DONE;
    const running = status?.phase === "Running";
    if (running && status.stagedTime === undefined && !this.copy.jobLookDue()) return DONE;
    const { copy } = this;
    const jobName = restoreJobName(ctx.name);
    const site = status?.site ?? restoreTarget(request, ctx.spec.sites) ?? "";
    const step = initRestoreStep({
      group: { name: ctx.name, namespace: ctx.namespace, uid: ctx.group.metadata.uid ?? "" },
      request,
      backup: ctx.spec.backup ? backupWithDefaults(ctx.spec.backup) : undefined,
      sites: ctx.spec.sites,
      status,
      knownPrimary: written?.activeSite || written?.lastKnownPrimary || written?.lastFailoverTarget || undefined,
      target: cycle.observations.get(site),
      restarted: running && status.stagedTime !== undefined ? await copy.restarted(site, Date.parse(status.stagedTime)) : undefined,
      job: running && status.stagedTime === undefined ? await copy.job(jobName) : { state: "absent" },
      jobName,
      jobsOff: copy.jobsOff(),
      now: cycle.now,
    });
    return this.act(step, jobName);
  }

  private async act(step: InitRestoreStep, jobName: string): Promise<ReconcileResult> {
    const { ctx } = this;
    switch (step.kind) {
      case "none":
        return DONE;
      case "pending":
        await ctx.store.persistRestore(step.status);
        ctx.log.info(LOG_MESSAGES.restorePending, { reason: step.status.message });
        ctx.recordEvent({ type: "Warning", reason: step.event === "RestoreBuildFailed" ? EVENT_REASONS.restoreBuildFailed : EVENT_REASONS.restoreTargetUnavailable, message: step.status.message ?? "" });
        return DONE;
      case "start":
        await ctx.store.persistRestore(step.status);
        await this.copy.createJob(step.run);
        ctx.log.info(LOG_MESSAGES.restoreStarted, { site: step.run.site, backup: step.status.backup, job: jobName, pointInTime: step.run.pointInTime });
        ctx.recordEvent({ type: "Normal", reason: EVENT_REASONS.restoreStarted, message: `Job ${jobName} restores ${step.status.backup ?? ""} (point in time: ${step.run.pointInTime}) for site ${step.run.site}` });
        return DONE;
      case "recreate":
        await this.copy.createJob(step.run);
        return DONE;
      case "staged":
        await ctx.store.persistRestore(step.status);
        await this.copy.deleteJob(jobName);
        ctx.log.info(LOG_MESSAGES.restoreStaged, { site: step.status.site, gtid: step.status.gtid, replayedToTime: step.status.replayedToTime });
        return requeue(0);
      case "restart":
        await this.copy.restart(step.site);
        ctx.log.info(LOG_MESSAGES.restoreRestarting, { site: step.site });
        return requeue(2_000);
      case "position":
        await this.copy.position(step.site, step.gtid);
        await this.finish(step.status);
        return requeue(0);
      case "finish":
        await this.finish(step.status);
        return DONE;
    }
  }

  private async finish(status: RestoreStatus): Promise<void> {
    await this.ctx.store.persistRestore(status);
    await this.copy.recordOutcome(
      RESTORE_KINDS.initFromBackup,
      status,
      this.ctx.spec.initFromBackup?.source,
      `site ${status.site ?? ""} starts from ${status.backup ?? ""} at ${status.gtid || "no transactions"}; it becomes the first primary and the other sites are cloned from it`,
    );
  }
}
