/**
 * Which backups of one profile a retention sweep deletes. A Succeeded backup is kept when any
 * enabled rule keeps it (the newest `count`, those younger than `maxAge`, the newest `minKeep`);
 * Failed ones beyond the newest `maxFailedKeep` go; a backup still Pending or Running, or one
 * whose completion time is unknown, is never touched.
 */
export interface RetentionPolicy {
  /** Keep the newest this many Succeeded backups. */
  readonly count?: number;
  /** Keep the Succeeded backups younger than this (ms). */
  readonly maxAgeMs?: number;
  /** Whatever the other rules say, keep at least the newest this many Succeeded backups. */
  readonly minKeep: number;
  readonly maxFailedKeep: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { count: 7, minKeep: 1, maxFailedKeep: 10 };

export interface RetainedBackup {
  readonly name: string;
  readonly phase: "Pending" | "Running" | "Succeeded" | "Failed";
  /** ms since the epoch; undefined while it runs. */
  readonly completedAt?: number;
}

export interface RetentionVerdict {
  readonly name: string;
  readonly reason: string;
}

const newestFirst = (a: RetainedBackup, b: RetainedBackup): number => (b.completedAt ?? 0) - (a.completedAt ?? 0) || (a.name < b.name ? -1 : 1);

/** `noun`: what the reasons call the objects (verifications are kept by the same rules). */
export function backupsToDelete(backups: readonly RetainedBackup[], policy: RetentionPolicy, now: number, noun = "backup"): RetentionVerdict[] {
  const done = backups.filter((b) => b.completedAt !== undefined);
  const succeeded = done.filter((b) => b.phase === "Succeeded").sort(newestFirst);
  const failed = done.filter((b) => b.phase === "Failed").sort(newestFirst);
  const out: RetentionVerdict[] = [];
  // With neither rule enabled no Succeeded backup ages out.
  const ages = policy.count !== undefined || policy.maxAgeMs !== undefined;
  succeeded.forEach((b, i) => {
    if (!ages || i < policy.minKeep) return;
    if (policy.count !== undefined && i < policy.count) return;
    if (policy.maxAgeMs !== undefined && now - (b.completedAt as number) < policy.maxAgeMs) return;
    const rules = [
      ...(policy.count !== undefined ? [`beyond the newest ${policy.count}`] : []),
      ...(policy.maxAgeMs !== undefined ? [`older than ${Math.round(policy.maxAgeMs / 3_600_000)}h`] : []),
    ];
    out.push({ name: b.name, reason: `succeeded ${noun} ${rules.join(" and ")}` });
  });
  failed.slice(policy.maxFailedKeep).forEach((b) => out.push({ name: b.name, reason: `failed ${noun} beyond the newest ${policy.maxFailedKeep}` }));
  return out;
}
