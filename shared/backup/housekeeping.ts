/**
 * What happens to a group's finished MysqlBackups: a failed scheduled one is tried again
 * (`spec.backup.retry`), each attempt a new MysqlBackup, after a backoff that doubles per attempt;
 * and each profile's retention (shared/backup/retention.ts) deletes the backups it no longer
 * keeps. The retry time is decided once and written on the failed backup, so an operator that
 * restarts keeps the same backoff, and a failed backup waiting for its retry is never deleted.
 */
import { archiveFloor } from "./replay-plan.js";
import { backupsToDelete, type RetainedBackup, type RetentionPolicy, type RetentionVerdict } from "./retention.js";

export type Trigger = { readonly kind: "manual" } | { readonly kind: "scheduled"; readonly schedule: string; readonly attempt: number };

const SCHEDULED = /^schedule\/([a-z0-9-]+)$/;
const RETRY = /^retry\/([a-z0-9-]+)\/attempt-([1-9]\d?)$/;

/** `spec.triggeredBy`: `schedule/<name>`, `retry/<name>/attempt-<n>`, anything else is by hand. */
export function parseTrigger(triggeredBy: string | undefined): Trigger {
  const s = SCHEDULED.exec(triggeredBy ?? "");
  if (s) return { kind: "scheduled", schedule: s[1] as string, attempt: 1 };
  const r = RETRY.exec(triggeredBy ?? "");
  if (r) return { kind: "scheduled", schedule: r[1] as string, attempt: Number(r[2]) };
  return { kind: "manual" };
}

export const retryTrigger = (schedule: string, attempt: number): string => `retry/${schedule}/attempt-${attempt}`;

/** `<first attempt's name>-attempt-<n>`. */
export const retryName = (name: string, attempt: number): string => `${name.replace(/-attempt-\d+$/, "")}-attempt-${attempt}`;

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

/** The wait after attempt `failed` failed: the initial backoff, doubled for each attempt after the first, capped. */
export function retryBackoffMs(policy: RetryPolicy, failed: number): number {
  return Math.min(policy.initialBackoffMs * 2 ** (failed - 1), policy.maxBackoffMs);
}

export interface KeptBackup extends RetainedBackup {
  readonly profile: string;
  readonly triggeredBy?: string;
  /** The retry-at annotation, ms since the epoch; NaN when unreadable. */
  readonly retryAt?: number;
  readonly deleting: boolean;
  /** A Succeeded backup's GTID position (status.gtidExecuted). */
  readonly gtid?: string;
}

export interface HousekeepingInput {
  readonly backups: readonly KeptBackup[];
  readonly retry: RetryPolicy;
  /** Per profile of the spec; a backup of another profile is left alone. */
  readonly retention: ReadonlyMap<string, RetentionPolicy>;
  readonly now: number;
}

export interface RetryPlan {
  readonly failed: string;
  readonly name: string;
  readonly attempt: number;
  readonly schedule: string;
  readonly profile: string;
  readonly at: number;
}

export interface Housekeeping {
  /** Failed backups whose retry time is decided now: write it, say it. */
  readonly schedule: readonly RetryPlan[];
  /** Retries due: create them. */
  readonly create: readonly RetryPlan[];
  readonly delete: readonly (RetentionVerdict & { readonly profile: string })[];
  /**
   * What every Succeeded backup that stays holds (replay-plan.ts archiveFloor), whatever its
   * profile: the binary log archive's files within it can be pruned. undefined (prune nothing)
   * while there is none, or while one of them has no GTID position.
   */
  readonly archiveFloor?: string;
}

export function housekeeping(input: HousekeepingInput): Housekeeping {
  const names = new Set(input.backups.map((b) => b.name));
  const schedule: RetryPlan[] = [];
  const create: RetryPlan[] = [];
  const waiting = new Set<string>();
  for (const b of input.backups) {
    const trigger = parseTrigger(b.triggeredBy);
    if (b.deleting || b.phase !== "Failed" || trigger.kind !== "scheduled" || trigger.attempt >= input.retry.maxAttempts) continue;
    const attempt = trigger.attempt + 1;
    const name = retryName(b.name, attempt);
    if (names.has(name)) continue;
    waiting.add(b.name);
    const plan = { failed: b.name, name, attempt, schedule: trigger.schedule, profile: b.profile };
    if (b.retryAt === undefined || Number.isNaN(b.retryAt)) schedule.push({ ...plan, at: (b.completedAt ?? input.now) + retryBackoffMs(input.retry, trigger.attempt) });
    else if (input.now >= b.retryAt) create.push({ ...plan, at: b.retryAt });
  }
  const deletions = [...input.retention].flatMap(([profile, policy]) => {
    const candidates = input.backups.filter((b) => b.profile === profile && !b.deleting && !waiting.has(b.name));
    return backupsToDelete(candidates, policy, input.now).map((v) => ({ ...v, profile }));
  });
  const deleted = new Set(deletions.map((d) => d.name));
  const kept = input.backups.filter((b) => b.phase === "Succeeded" && !b.deleting && !deleted.has(b.name));
  const floor = kept.some((b) => b.gtid === undefined || b.gtid === "") ? undefined : archiveFloor(kept.map((b) => b.gtid as string));
  return { schedule, create, delete: deletions, ...(floor === undefined ? {} : { archiveFloor: floor }) };
}
