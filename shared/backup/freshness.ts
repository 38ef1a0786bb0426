/**
 * How old each profile's recovery point is: the completion time of its newest Succeeded backup,
 * which the backup-stale alert compares with the clock. A profile without one reports 0, so the
 * alert fires for it too (no recovery point is the stalest of all) instead of finding no series.
 */
export interface FinishedBackup {
  readonly profile: string;
  readonly phase: string | undefined;
  readonly completionTime: string | undefined;
}

/**
 * Unix seconds per profile of `profiles`; backups of other profiles are ignored. `phases`: which
 * outcomes count (a verification's last attempt counts Failed ones too).
 */
export function lastCompletionByProfile(profiles: readonly string[], backups: readonly FinishedBackup[], phases: readonly string[] = ["Succeeded"]): Map<string, number> {
  const last = new Map(profiles.map((p) => [p, 0]));
  for (const b of backups) {
    const at = b.phase !== undefined && phases.includes(b.phase) && b.completionTime ? Math.floor(Date.parse(b.completionTime) / 1000) : NaN;
    if (Number.isFinite(at) && last.has(b.profile) && at > (last.get(b.profile) ?? 0)) last.set(b.profile, at);
  }
  return last;
}
