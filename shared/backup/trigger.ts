/**
 * What one scheduled run does (the CronJob's pod, operator/backup/trigger.ts), from the
 * schedule's MysqlBackups as listed: the run's own backup may exist already (a trigger retried
 * by its Job), and an earlier backup of the schedule may still be going, which the schedule's
 * concurrency policy settles. Retries count as the schedule's too.
 */
import type { BACKUP_CONCURRENCY_POLICIES } from "../names.js";

export type ConcurrencyPolicy = (typeof BACKUP_CONCURRENCY_POLICIES)[number];

export interface ScheduledBackup {
  readonly name: string;
  /** undefined: created, not yet picked up by the operator. */
  readonly phase: "Pending" | "Running" | "Succeeded" | "Failed" | undefined;
  readonly deleting: boolean;
}

export type TriggerDecision =
  | { readonly kind: "exists" }
  | { readonly kind: "create" }
  /** Forbid: the run makes no backup. */
  | { readonly kind: "skip"; readonly running: readonly string[] }
  /** Replace: delete these (the operator stops their Jobs and removes what they wrote), then create. */
  | { readonly kind: "replace"; readonly running: readonly string[] };

export function triggerDecision(policy: ConcurrencyPolicy, name: string, backups: readonly ScheduledBackup[]): TriggerDecision {
  if (backups.some((b) => b.name === name)) return { kind: "exists" };
  // One being deleted is on its way out: it holds nothing up.
  const running = backups.filter((b) => !b.deleting && b.phase !== "Succeeded" && b.phase !== "Failed").map((b) => b.name);
  if (running.length === 0 || policy === "Allow") return { kind: "create" };
  return policy === "Forbid" ? { kind: "skip", running } : { kind: "replace", running };
}
