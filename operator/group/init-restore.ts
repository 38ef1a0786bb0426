import { backupWithDefaults, type RestoreStatus } from "../../shared/api/index.js";
import { JOB_CONTAINER, restoreJob, restoreJobName } from "../../shared/backup/backup-job.js";
import { initRestoreStep, restoreTarget, type InitRestoreStep, type RestartedServer, type RestoreRun } from "../../shared/backup/init-restore.js";
import { parseDuration } from "../../shared/duration.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { EVENT_REASONS, RESTORE_KINDS } from "../../shared/names.js";
import { onlyRow, readString } from "../mysql/flavor.js";
import { positionCopy } from "../mysql/copy-position.js";
import { ConnectionError, DeadlineExceeded } from "../mysql/site-client.js";
import type { GroupContext } from "./context.js";
import { DONE, requeue, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

const SQL_DEADLINE_MS = 10_000;
/** A running restore Job is looked at this often. */
const FOLLOW_MS = 5_000;

/**
 * Starts a new group of managed sites from a backup (spec.initFromBackup, shared/backup/init-restore.ts):
 * writes each step to status.restore before it runs, makes the restore Job, restarts the target's
 * server onto the staged copy and positions its GTIDs. The group's first primary waits for it
 * (the bootstrap reconciler reads status.restore). Runs before the bootstrap.
 */
export class InitRestoreReconciler implements Reconciler {
  readonly name = "init-restore";
  private followedAt = -Infinity;

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    const request = ctx.spec.initFromBackup;
    const written = ctx.store.written ?? ctx.group.status;
    const status = written?.restore;
    if (!request || !cycle.observations || status?.phase === "Succeeded" || status?.phase === "Failed") return DONE;
    const running = status?.phase === "Running";
    // The Job is looked at now and then: it takes minutes, and each look is a request to the API server.
    if (running && status.stagedTime === undefined && performance.now() - this.followedAt < FOLLOW_MS) return DONE;
    this.followedAt = performance.now();
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
      restarted: running && status.stagedTime !== undefined ? await this.restarted(site, Date.parse(status.stagedTime)) : undefined,
      job: running && status.stagedTime === undefined ? await ctx.deps.backups.job(ctx.namespace, jobName, JOB_CONTAINER) : { state: "absent" },
      jobName,
      jobsOff: ctx.deps.jobImage ? undefined : "this operator has no image for Jobs (--agent-image, which the chart sets)",
      now: cycle.now,
    });
    return this.act(step, jobName);
  }

  /** The target's server as the staged copy's restart needs it; undefined while it does not answer. */
  private async restarted(site: string, stagedAt: number): Promise<RestartedServer | undefined> {
    return this.ctx
      .withSite(
        site,
        "restore: server",
        async (s) => {
          const row = onlyRow(
            s,
            await s.query(
              "SELECT @@GLOBAL.gtid_binlog_pos AS pos, (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME') AS uptime, " +
                "(SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ('mysql', 'sys', 'performance_schema', 'information_schema')) AS user_schemas",
            ),
            "restore: server",
          );
          const uptimeMs = Number(readString(s, row, "uptime")) * 1000;
          return { binlogPos: readString(s, row, "pos"), startedAfterStaging: Date.now() - uptimeMs > stagedAt, userSchemas: Number(readString(s, row, "user_schemas")) };
        },
        SQL_DEADLINE_MS,
      )
      .catch((err: unknown) => {
        // A server that is down (restarting onto the copy) is waited for; anything else is a fault to report.
        if (err instanceof ConnectionError || err instanceof DeadlineExceeded) return undefined;
        throw err;
      });
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
        await this.createJob(step.run);
        ctx.log.info(LOG_MESSAGES.restoreStarted, { site: step.run.site, backup: step.status.backup, job: jobName, pointInTime: step.run.pointInTime });
        ctx.recordEvent({ type: "Normal", reason: EVENT_REASONS.restoreStarted, message: `Job ${jobName} restores ${step.status.backup ?? ""} (point in time: ${step.run.pointInTime}) for site ${step.run.site}` });
        return DONE;
      case "recreate":
        await this.createJob(step.run);
        return DONE;
      case "staged":
        await ctx.store.persistRestore(step.status);
        await ctx.deps.backups.deleteJob(ctx.namespace, jobName);
        ctx.log.info(LOG_MESSAGES.restoreStaged, { site: step.status.site, gtid: step.status.gtid, replayedToTime: step.status.replayedToTime });
        return requeue(0);
      case "restart":
        // The server exits cleanly and its container restarts, swapping the staged copy in first.
        await ctx.withSite(step.site, "restore: shutdown", (s) => s.query("SHUTDOWN"), SQL_DEADLINE_MS).catch((err: unknown) => {
          // The server ending the session is the shutdown working.
          if (!(err instanceof ConnectionError)) throw err;
        });
        ctx.log.info(LOG_MESSAGES.restoreRestarting, { site: step.site });
        return requeue(2_000);
      case "position":
        await ctx.withSite(step.site, "restore: position", (s) => positionCopy(s, step.gtid), SQL_DEADLINE_MS);
        await this.finish(step.status);
        return requeue(0);
      case "finish":
        await this.finish(step.status);
        return DONE;
    }
  }

  private async finish(status: RestoreStatus): Promise<void> {
    const { ctx } = this;
    await ctx.store.persistRestore(status);
    const site = status.site ?? "";
    if (status.phase === "Succeeded") {
      const started = Date.parse(status.startTime ?? "");
      const finishedAt = Date.parse(status.completionTime ?? "");
      ctx.deps.metrics.recordRestore(ctx.namespace, ctx.name, RESTORE_KINDS.initFromBackup, site, {
        seconds: Number.isFinite(started) ? Math.max(0, (finishedAt - started) / 1000) : 0,
        finishedAt: finishedAt / 1000,
        ...(await this.sourceBytes()),
      });
      ctx.log.info(LOG_MESSAGES.restoreSucceeded, { site, backup: status.backup, gtid: status.gtid });
      ctx.recordEvent({ type: "Normal", reason: EVENT_REASONS.restoreSucceeded, message: `site ${site} starts from ${status.backup ?? ""} at ${status.gtid || "no transactions"}; it becomes the first primary and the other sites are cloned from it` });
    } else {
      ctx.log.warn(LOG_MESSAGES.restoreFailed, { site, backup: status.backup, error: status.message });
      const kept = status.stagedTime === undefined && status.jobName ? ` (Job ${status.jobName} and its pod are kept a day: kubectl logs job/${status.jobName})` : "";
      ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.restoreFailed, message: `${status.message ?? ""}${kept}` });
    }
  }

  /** The artifact's size, from its MysqlBackup when that is in this namespace. */
  private async sourceBytes(): Promise<{ sourceBytes?: number }> {
    const { ctx } = this;
    const source = ctx.spec.initFromBackup?.source;
    if (!source || (source.namespace ?? ctx.namespace) !== ctx.namespace) return {};
    const backup = (await ctx.deps.backups.list(ctx.namespace).catch(() => [])).find((b) => b.metadata.name === source.backup && b.spec.failoverGroupRef.name === source.group);
    const bytes = backup?.status?.sizeBytes;
    return bytes === undefined ? {} : { sourceBytes: bytes };
  }

  private async createJob(run: RestoreRun): Promise<void> {
    const { ctx } = this;
    if (!ctx.deps.jobImage) throw new Error("no Job can be made now: this operator has no image for Jobs (--agent-image)");
    const operator = ctx.spec.credentials?.operator;
    if (!operator) throw new Error("managed sites need spec.credentials.operator: the restored copy's operator account takes its password");
    await ctx.deps.backups.createJob(
      restoreJob({
        group: { name: ctx.name, namespace: ctx.namespace, uid: ctx.group.metadata.uid ?? "" },
        site: run.site,
        restoreId: run.restoreId,
        source: run.source,
        profile: run.profile,
        ...(run.archive ? { archive: run.archive } : {}),
        pointInTime: run.pointInTime,
        image: ctx.deps.jobImage,
        serverImage: ctx.spec.image,
        operatorSecret: { name: operator.secretName, usernameKey: operator.usernameKey, passwordKey: operator.passwordKey },
        timeoutSeconds: Math.ceil(parseDuration(run.timeout) / 1000),
      }),
    );
  }
}
