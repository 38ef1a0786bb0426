import { backupWithDefaults } from "../../shared/api/index.js";
import {
  scheduleCronJob,
  scheduleProblems,
  SCHEDULE_LABEL,
  triggerAccess,
  verificationCronJob,
  verificationScheduleProblems,
  VERIFICATION_SCHEDULE_LABEL,
  type ScheduleProblem,
} from "../../shared/backup/schedules.js";
import { apiStatus } from "../../shared/kube/client.js";
import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { EVENT_REASONS, LABELS } from "../../shared/names.js";
import type { GroupContext } from "./context.js";
import { DONE, failed, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/** The objects are applied again this often (a hand edit or a deleted CronJob is back within it), and at once on a spec change. */
const REAPPLY_MS = 300_000;
/** After a failure (no image, RBAC refused), the same objects are tried again this often. */
const RETRY_MS = 30_000;

/**
 * Keeps one CronJob per valid schedule of `spec.backup.schedules` and per profile's
 * `verification` schedule (shared/backup/schedules.ts), the trigger's ServiceAccount, Role and
 * RoleBinding while there is one, and deletes the CronJobs of schedules that are gone. A schedule the operator cannot run is reported once
 * (BackupScheduleInvalid) and left out; the others still run.
 */
export class BackupSchedulesReconciler implements Reconciler {
  readonly name = "backup-schedules";
  private applied = "";
  private appliedAt = -Infinity;
  /** The problems last reported, so that each is said once. */
  private reported = "";
  /** The last failure, what it was for and when: said once, tried again after RETRY_MS. */
  private failure = { message: "", wanted: "", at: -Infinity };

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    if (!cycle.observations) return DONE;
    const backup = ctx.spec.backup ? backupWithDefaults(ctx.spec.backup) : undefined;
    const schedules = backup?.schedules ?? [];
    const verified = (backup?.profiles ?? []).filter((p) => p.verification);
    const scheduleIssues = scheduleProblems(schedules);
    const verificationIssues = verificationScheduleProblems(verified);
    const said = JSON.stringify([scheduleIssues, verificationIssues]);
    if (said !== this.reported) {
      const report = (p: ScheduleProblem, what: string) => {
        ctx.log.warn(LOG_MESSAGES.backupScheduleInvalid, { schedule: p.schedule, error: p.message });
        ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.backupScheduleInvalid, message: `${p.message}; ${what} until it is fixed` });
      };
      for (const p of scheduleIssues) report(p, `no backups run from schedule ${p.schedule}`);
      for (const p of verificationIssues) report(p, `no verifications of profile ${p.schedule} run`);
      this.reported = said;
    }
    const runnable = schedules.filter((s) => !scheduleIssues.some((p) => p.schedule === s.name));
    const runnableVerifications = verified.filter((p) => !verificationIssues.some((x) => x.schedule === p.name));
    const group = { name: ctx.name, namespace: ctx.namespace, uid: ctx.group.metadata.uid ?? "" };
    const image = ctx.deps.jobImage;
    const wanted = JSON.stringify([runnable, runnableVerifications.map((p) => [p.name, p.verification]), image, group.uid]);
    if (wanted === this.applied && performance.now() - this.appliedAt < REAPPLY_MS) return DONE;
    if (wanted === this.failure.wanted && performance.now() - this.failure.at < RETRY_MS) return DONE;
    if (runnable.length + runnableVerifications.length > 0 && !image) return this.failed(wanted, "backup schedules need an image for their CronJobs: this operator has none (--agent-image, which the chart sets)");
    const cronJobs = image
      ? [...runnable.map((s) => scheduleCronJob(group, s, image)), ...runnableVerifications.flatMap((p) => (p.verification ? [verificationCronJob(group, p.name, p.verification, image)] : []))]
      : [];
    if (cronJobs.length > 0) {
      try {
        for (const obj of triggerAccess(group)) await ctx.deps.applyObject(obj);
      } catch (err) {
        if (apiStatus(err) !== 403) throw err;
        const message = `the schedules' ServiceAccount, Role and RoleBinding cannot be made: ${errorText(err)}. Give the operator's ServiceAccount what the chart's RBAC grants (serviceaccounts, roles, rolebindings and mysqlbackups in this namespace)`;
        if (message !== this.failure.message) ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.backupScheduleServiceAccountMissing, message });
        return this.failed(wanted, message);
      }
      for (const cronJob of cronJobs) await ctx.deps.applyObject(cronJob);
    }
    const keep = new Set(cronJobs.map((c) => c.metadata?.name));
    const existing = [
      ...(await ctx.deps.backups.cronJobs(ctx.namespace, `${LABELS.failoverGroup}=${ctx.name},${SCHEDULE_LABEL}`)),
      ...(await ctx.deps.backups.cronJobs(ctx.namespace, `${LABELS.failoverGroup}=${ctx.name},${VERIFICATION_SCHEDULE_LABEL}`)),
    ];
    for (const c of existing) {
      const name = c.metadata?.name ?? "";
      if (keep.has(name)) continue;
      await ctx.deps.backups.deleteCronJob(ctx.namespace, name);
      ctx.log.info(LOG_MESSAGES.backupScheduleRemoved, { cronJob: name });
    }
    if (cronJobs.length > 0 && wanted !== this.applied) ctx.log.info(LOG_MESSAGES.backupSchedulesApplied, { cronJobs: [...keep] });
    this.applied = wanted;
    this.appliedAt = performance.now();
    this.failure = { message: "", wanted: "", at: -Infinity };
    return DONE;
  }

  /** Reported (reconcile failed) when it is new; either way tried again after RETRY_MS. */
  private failed(wanted: string, message: string): ReconcileResult {
    const repeated = message === this.failure.message;
    this.failure = { message, wanted, at: performance.now() };
    return repeated ? DONE : failed(message);
  }
}
