import type { MysqlBackupVerification } from "../../shared/api/index.js";
import { backupWithDefaults, verificationWithDefaults } from "../../shared/api/index.js";
import { JOB_CONTAINER, verificationJob, verificationJobName } from "../../shared/backup/backup-job.js";
import { lastCompletionByProfile } from "../../shared/backup/freshness.js";
import { backupsToDelete } from "../../shared/backup/retention.js";
import { VERIFICATION_SCHEDULE_LABEL } from "../../shared/backup/schedules.js";
import { verificationStep, type VerificationRun, type VerificationStep } from "../../shared/backup/verification-step.js";
import { parseDuration } from "../../shared/duration.js";
import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { EVENT_REASONS } from "../../shared/names.js";
import type { GroupContext } from "./context.js";
import { DONE, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/** Verifications are listed at most this often: a new one starts within it, a finished Job is seen within it. */
const SCAN_MS = 5_000;
/** A group without spec.backup lists them only to fail the ones that name it, this seldom. */
const STRAY_SCAN_MS = 60_000;

/**
 * Drives the group's MysqlBackupVerifications: picks each new one's backup, writes it Running,
 * makes its Job (shared/backup/backup-job.ts), records the Job's outcome with its events and
 * metrics, and deletes the Job unless a failure is kept for inspection; deletes a verification
 * schedule's verifications beyond its retention (docs/backups.md).
 * Throttled and late in the cycle, like the backups: it never holds up failover.
 */
export class VerificationsReconciler implements Reconciler {
  readonly name = "verifications";
  private scannedAt = -Infinity;

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    if (!cycle.observations || performance.now() - this.scannedAt < (ctx.spec.backup ? SCAN_MS : STRAY_SCAN_MS)) return DONE;
    this.scannedAt = performance.now();
    const verifications = (await ctx.deps.verifications.list(ctx.namespace)).filter((v) => v.spec.failoverGroupRef.name === ctx.name && !v.metadata.deletionTimestamp);
    if (verifications.length > 0) {
      const backups = (await ctx.deps.backups.list(ctx.namespace)).map((b) => ({
        name: b.metadata.name ?? "",
        group: b.spec.failoverGroupRef.name,
        profile: b.spec.profileName,
        phase: b.status?.phase,
        completionTime: b.status?.completionTime,
      }));
      for (const verification of verifications) {
        try {
          await this.step(verification, backups, cycle.now);
        } catch (err) {
          // One verification's trouble (a conflict, a refused Job) is retried at the next scan.
          ctx.log.warn(LOG_MESSAGES.verificationStepFailed, { verification: verification.metadata.name, error: errorText(err) });
        }
      }
    }
    await this.applyRetention(verifications, Date.parse(cycle.now));
    const profiles = ctx.spec.backup?.profiles.map((p) => p.name) ?? [];
    const ended = verifications.map((v) => ({ profile: v.spec.profileName, phase: v.status?.phase, completionTime: v.status?.completionTime }));
    ctx.deps.metrics.setVerificationTimes(ctx.namespace, ctx.name, { verified: lastCompletionByProfile(profiles, ended), attempted: lastCompletionByProfile(profiles, ended, ["Succeeded", "Failed"]) });
    return DONE;
  }

  private async step(verification: MysqlBackupVerification, backups: Parameters<typeof verificationStep>[0]["backups"], now: string): Promise<void> {
    const { ctx } = this;
    const name = verification.metadata.name ?? "";
    const jobName = verificationJobName(name);
    const running = verification.status?.phase === "Running";
    const ended = verification.status?.phase === "Succeeded" || verification.status?.phase === "Failed";
    const step = verificationStep({
      spec: verificationWithDefaults(verification.spec),
      status: verification.status,
      group: { name: ctx.name, backup: ctx.spec.backup ? backupWithDefaults(ctx.spec.backup) : undefined, image: ctx.spec.image },
      backups,
      job: running ? await ctx.deps.backups.job(ctx.namespace, jobName, JOB_CONTAINER) : { state: "absent" },
      jobName,
      jobsOff: running || ended || ctx.deps.jobImage ? undefined : "this operator has no image for Jobs (--agent-image, which the chart sets)",
      now,
    });
    await this.act(verification, step, jobName);
  }

  private async act(verification: MysqlBackupVerification, step: VerificationStep, jobName: string): Promise<void> {
    const { ctx } = this;
    const name = verification.metadata.name ?? "";
    const write = (status: NonNullable<MysqlBackupVerification["status"]>) => ctx.deps.verifications.patchStatus(ctx.namespace, name, status, verification.metadata.resourceVersion ?? "");
    switch (step.kind) {
      case "none":
        return;
      case "pending":
        await write(step.status);
        ctx.log.info(LOG_MESSAGES.verificationPending, { verification: name, reason: step.status.message });
        return;
      case "start":
        await write(step.status);
        await this.createJob(verification, step.run);
        ctx.log.info(LOG_MESSAGES.verificationStarted, { verification: name, backup: step.run.backup, job: jobName });
        ctx.deps.verifications.event(verification, "Normal", EVENT_REASONS.backupVerificationStarted, `Job ${jobName} restores ${step.run.backup} into a throwaway server (${step.run.serverImage})`);
        return;
      case "recreate":
        await this.createJob(verification, step.run);
        return;
      case "finish": {
        await write(step.status);
        if (step.deleteJob) await ctx.deps.backups.deleteJob(ctx.namespace, jobName);
        const { phase, message, backupName, startTime, completionTime, replayedToTime } = step.status;
        const passed = phase === "Succeeded";
        const seconds = (at: string | undefined) => (at ? Date.parse(at) / 1000 : NaN);
        const elapsed = seconds(completionTime) - seconds(startTime);
        const lag = seconds(completionTime) - seconds(replayedToTime);
        ctx.deps.metrics.recordVerification(ctx.namespace, ctx.name, verification.spec.profileName, {
          passed,
          seconds: Number.isFinite(elapsed) ? Math.max(0, elapsed) : 0,
          ...(passed && Number.isFinite(lag) ? { replayLagSeconds: Math.max(0, lag) } : {}),
        });
        if (passed) {
          ctx.log.info(LOG_MESSAGES.verificationSucceeded, { verification: name, backup: backupName, count: step.status.count, gtid: step.status.backupGtid });
          ctx.deps.verifications.event(verification, "Normal", EVENT_REASONS.backupVerified, `${backupName ?? ""} restores: ${message ?? ""}`);
        } else {
          ctx.log.warn(LOG_MESSAGES.verificationFailed, { verification: name, backup: backupName, error: message, jobKept: !step.deleteJob });
          const kept = step.deleteJob || !backupName ? "" : ` (Job ${jobName} and its pod are kept a day: kubectl logs job/${jobName})`;
          ctx.deps.verifications.event(verification, "Warning", EVENT_REASONS.backupVerificationFailed, `${message ?? ""}${kept}`);
        }
        return;
      }
    }
  }

  /** A verification schedule's old verifications beyond its `retention` go (shared/backup/retention.ts); those made by hand stay. */
  private async applyRetention(verifications: readonly MysqlBackupVerification[], now: number): Promise<void> {
    const { ctx } = this;
    for (const profile of ctx.spec.backup ? backupWithDefaults(ctx.spec.backup).profiles : []) {
      if (!profile.verification) continue;
      const { keepSucceeded, keepFailed } = profile.verification.retention;
      const scheduled = verifications
        .filter((v) => v.metadata.labels?.[VERIFICATION_SCHEDULE_LABEL] === profile.name)
        .map((v) => ({ name: v.metadata.name ?? "", phase: v.status?.phase ?? "Pending", ...(v.status?.completionTime ? { completedAt: Date.parse(v.status.completionTime) } : {}) }));
      for (const gone of backupsToDelete(scheduled, { count: keepSucceeded, minKeep: 1, maxFailedKeep: keepFailed }, now, "verification")) {
        await ctx.deps.verifications.delete(ctx.namespace, gone.name);
        ctx.log.info(LOG_MESSAGES.verificationDeletedByRetention, { verification: gone.name, profile: profile.name, reason: gone.reason });
      }
    }
  }

  private async createJob(verification: MysqlBackupVerification, run: VerificationRun): Promise<void> {
    const { ctx } = this;
    if (!ctx.deps.jobImage) throw new Error("no Job can be made now: this operator has no image for Jobs (--agent-image)");
    const spec = verificationWithDefaults(verification.spec);
    await ctx.deps.backups.createJob(
      verificationJob({
        backup: { name: run.backup, namespace: ctx.namespace, uid: "" },
        verification: { name: verification.metadata.name ?? "", uid: verification.metadata.uid ?? "" },
        group: ctx.name,
        profile: run.profile,
        ...(run.archive ? { archive: run.archive } : {}),
        image: ctx.deps.jobImage,
        serverImage: run.serverImage,
        timeoutSeconds: Math.ceil(parseDuration(spec.timeout) / 1000),
        flags: run.flags,
      }),
    );
  }
}
