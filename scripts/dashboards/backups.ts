/** bloodraven-backups: backups, their verification by test restore, and restores. */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { METRICS } from "../../shared/names.js";
import { dashboard, groupSeries, quantiles, timeseries } from "./panels.js";

/** Time since a unix-time gauge, per series of `by`. */
function age(metric: string, by: string): string {
  return `time() - max by (${by}) (${groupSeries(metric)})`;
}

const PROFILE = "{{namespace}}/{{group}} {{profile}}";
const RESTORE = "{{namespace}}/{{group}} {{target_site}} {{restore_kind}}";

export function backupsDashboard(): Dashboard {
  return dashboard("backups", "Backup freshness per profile, verifications that prove backups restorable (runs, duration, replay lag), and restores.", [
    { row: "Backups" },
    timeseries({
      title: "Age of the newest successful backup",
      onlyWhen: "the group has spec.backup",
      description: "Per profile, the time since its newest Succeeded MysqlBackup completed (the whole range since 1970 when none did). Above the schedule's period: BloodravenBackupStale; `kubectl get mysqlbackups` and `kubectl bloodraven runbook failed-backup`.",
      unit: "s",
      queries: [{ expr: age(METRICS.backupLastSuccessTimestampSeconds, "namespace, group, profile"), legend: PROFILE }],
    }),
    timeseries({
      title: "Age of the newest verification attempt",
      onlyWhen: "the group has spec.backup",
      description: "Per profile, the time since a verification last ended, whatever its result. Beside the next panel it tells 'never ran' (both old) from 'ran and failed' (this one young, the verified age old): then `kubectl get mbv` names the failure.",
      unit: "s",
      queries: [{ expr: age(METRICS.backupVerificationLastAttemptTimestampSeconds, "namespace, group, profile"), legend: PROFILE }],
    }),
    { row: "Verification" },
    timeseries({
      title: "Age of the newest verified backup",
      onlyWhen: "the group has spec.backup",
      description: "Per profile, the time since a verification last proved a backup restorable. A fresh backup without a fresh verification is not proven: BloodravenBackupVerificationStale, `kubectl bloodraven runbook failed-backup`.",
      unit: "s",
      width: 8,
      queries: [{ expr: age(METRICS.backupVerifiedTimestampSeconds, "namespace, group, profile"), legend: PROFILE }],
    }),
    timeseries({
      title: "Verification runs",
      onlyWhen: "a verification ended",
      description: "Verifications that ended, by result. `failure`: the backup could not be restored or failed its sanity query; `kubectl describe mbv <name>` says which.",
      width: 8,
      queries: [{ expr: `sum by (namespace, group, profile, result) (increase(${groupSeries(METRICS.backupVerificationRunsTotal)}[$__rate_interval]))`, legend: `${PROFILE} {{result}}` }],
    }),
    timeseries({
      title: "Verification duration",
      onlyWhen: "a verification ended",
      description: "From Running to the outcome. It bounds how long a real restore of the same backup takes: compare it with your recovery time objective.",
      unit: "s",
      width: 8,
      queries: quantiles(METRICS.backupVerificationDurationSeconds, "namespace, group, profile", PROFILE),
    }),
    timeseries({
      title: "Replay lag of verified point-in-time restores",
      onlyWhen: "a verification replayed archived binary logs",
      description: "For verifications that replay archived binary logs: completion minus the commit time of the last transaction replayed. Rising: the archive trails the primary and a point-in-time restore would stop early; see the PITR Archiver dashboard.",
      unit: "s",
      width: 24,
      queries: [{ expr: `max by (namespace, group, profile) (${groupSeries(METRICS.backupVerificationReplayLagSeconds)})`, legend: PROFILE }],
    }),
    { row: "Restores" },
    timeseries({
      title: "Restore duration",
      onlyWhen: "a restore succeeded",
      description: "Successful restores, from the restore Job's creation until the site runs on the copy. Your recovery time for a site of this size.",
      unit: "s",
      width: 8,
      queries: quantiles(METRICS.restoreDurationSeconds, "namespace, group, restore_kind, target_site", RESTORE),
    }),
    timeseries({
      title: "Age of the last successful restore",
      onlyWhen: "a restore succeeded",
      description: "The time since the operator last saw a restore succeed, per target site. Informational: restores happen when a group starts from a backup.",
      unit: "s",
      width: 8,
      queries: [{ expr: age(METRICS.restoreLastSuccessTimestampSeconds, "namespace, group, restore_kind, target_site"), legend: RESTORE }],
    }),
    timeseries({
      title: "Size of the last restored backup",
      onlyWhen: "a restore of a known MysqlBackup succeeded",
      description: "The restored artifact's size when its MysqlBackup is known. With the restore duration it gives the restore rate to plan recoveries with.",
      unit: "bytes",
      width: 8,
      queries: [{ expr: `max by (namespace, group, restore_kind, target_site) (${groupSeries(METRICS.restoreLastSourceSizeBytes)})`, legend: RESTORE }],
    }),
  ]);
}
