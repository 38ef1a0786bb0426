import type { MysqlBackup } from "../../shared/api/index.js";
import { backupWithDefaults } from "../../shared/api/index.js";
import { housekeeping, retryTrigger, type KeptBackup, type RetryPlan } from "../../shared/backup/housekeeping.js";
import type { RetentionPolicy } from "../../shared/backup/retention.js";
import { SCHEDULE_LABEL } from "../../shared/backup/schedules.js";
import { parseDuration } from "../../shared/duration.js";
import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { ANNOTATIONS, API_GROUP_VERSION, EVENT_REASONS, LABELS, MYSQL_BACKUP } from "../../shared/names.js";
import type { GroupContext } from "./context.js";
import { DONE, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/** Retries and retention are looked at this often: a retry starts at most this late, a pruned backup goes at most this late. */
const HOUSEKEEPING_SCAN_MS = 10_000;

const time = (t: string | undefined): number | undefined => (t === undefined ? undefined : Date.parse(t));

/**
 * Retries a group's failed scheduled backups and deletes what each profile's retention no longer
 * keeps (shared/backup/housekeeping.ts); a deleted backup's finalizer then removes its artifact
 * (backups.ts); and keeps the archive floor the agents prune their binary log archives to
 * (`archiveFloor`). Only with `spec.backup`.
 */
export class BackupHousekeepingReconciler implements Reconciler {
  readonly name = "backup-housekeeping";
  private scannedAt = -Infinity;

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    if (!cycle.observations || !ctx.spec.backup || performance.now() - this.scannedAt < HOUSEKEEPING_SCAN_MS) return DONE;
    this.scannedAt = performance.now();
    const spec = backupWithDefaults(ctx.spec.backup);
    const backups = (await ctx.deps.backups.list(ctx.namespace)).filter((b) => b.spec.failoverGroupRef.name === ctx.name);
    const plan = housekeeping({
      backups: backups.map((b): KeptBackup => ({
        name: b.metadata.name ?? "",
        profile: b.spec.profileName,
        phase: b.status?.phase ?? "Pending",
        completedAt: time(b.status?.completionTime),
        triggeredBy: b.spec.triggeredBy,
        retryAt: time(b.metadata.annotations?.[ANNOTATIONS.backupRetryAt]),
        deleting: b.metadata.deletionTimestamp !== undefined,
        ...(b.status?.gtidExecuted ? { gtid: b.status.gtidExecuted } : {}),
      })),
      retry: { maxAttempts: spec.retry.maxAttempts, initialBackoffMs: parseDuration(spec.retry.initialBackoff), maxBackoffMs: parseDuration(spec.retry.maxBackoff) },
      retention: new Map(spec.profiles.map((p): [string, RetentionPolicy] => [p.name, { count: p.retention.count, minKeep: p.retention.minKeep, maxFailedKeep: p.retention.maxFailedKeep, ...(p.retention.maxAge ? { maxAgeMs: parseDuration(p.retention.maxAge) } : {}) }])),
      now: Date.parse(cycle.now),
    });
    ctx.archiveFloor = plan.archiveFloor;
    const byName = new Map(backups.map((b) => [b.metadata.name ?? "", b]));
    // One backup's trouble (a conflict) is tried again at the next scan; the others go on.
    const each = async (what: string, name: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        ctx.log.warn(LOG_MESSAGES.backupStepFailed, { backup: name, step: what, error: errorText(err) });
      }
    };
    for (const retry of plan.schedule) {
      const failed = byName.get(retry.failed);
      if (!failed) continue;
      await each("retry-at", retry.failed, async () => {
        const at = new Date(retry.at).toISOString();
        await ctx.deps.backups.annotate(ctx.namespace, retry.failed, { [ANNOTATIONS.backupRetryAt]: at }, failed.metadata.resourceVersion ?? "");
        ctx.log.info(LOG_MESSAGES.backupRetryScheduled, { backup: retry.failed, retry: retry.name, attempt: retry.attempt, at });
        ctx.recordEvent({ type: "Normal", reason: EVENT_REASONS.backupRetryScheduled, message: `backup ${retry.failed} of schedule ${retry.schedule} failed: attempt ${retry.attempt} of ${spec.retry.maxAttempts}, ${retry.name}, starts at ${at}` });
      });
    }
    for (const retry of plan.create) await each("retry", retry.failed, () => this.createRetry(retry));
    for (const doomed of plan.delete) {
      await each("retention", doomed.name, async () => {
        await ctx.deps.backups.delete(ctx.namespace, doomed.name);
        ctx.log.info(LOG_MESSAGES.backupRetentionDeleted, { backup: doomed.name, profile: doomed.profile, reason: doomed.reason });
        ctx.recordEvent({ type: "Normal", reason: EVENT_REASONS.backupRetentionDeleted, message: `${doomed.name} of profile ${doomed.profile}: ${doomed.reason}; its artifact is deleted with it` });
      });
    }
    return DONE;
  }

  private async createRetry(retry: RetryPlan): Promise<void> {
    const { ctx } = this;
    const backup: MysqlBackup = {
      apiVersion: API_GROUP_VERSION,
      kind: MYSQL_BACKUP.kind,
      metadata: { name: retry.name, namespace: ctx.namespace, labels: { [LABELS.managedBy]: "bloodraven", [LABELS.failoverGroup]: ctx.name, [SCHEDULE_LABEL]: retry.schedule } },
      spec: { failoverGroupRef: { name: ctx.name }, profileName: retry.profile, triggeredBy: retryTrigger(retry.schedule, retry.attempt) },
    };
    if (await ctx.deps.backups.create(backup)) ctx.log.info(LOG_MESSAGES.backupRetryCreated, { backup: retry.name, attempt: retry.attempt, failed: retry.failed });
  }
}
