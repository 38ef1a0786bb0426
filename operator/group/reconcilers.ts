import { AccountsReconciler } from "./accounts.js";
import { AgentTokenReconciler } from "./agent-token.js";
import { ArchiveReconciler } from "./archive.js";
import { BackupHousekeepingReconciler } from "./backup-housekeeping.js";
import { BackupSchedulesReconciler } from "./backup-schedules.js";
import { BackupsReconciler } from "./backups.js";
import { BootstrapReconciler } from "./bootstrap.js";
import { CloneReconciler } from "./clone.js";
import type { GroupContext } from "./context.js";
import { DeletionReconciler } from "./deletion.js";
import { DragonflyReconciler } from "./dragonfly.js";
import { FailoverReconciler } from "./failover.js";
import { FollowersReconciler } from "./followers.js";
import { InitRestoreReconciler } from "./init-restore.js";
import { MaintenanceReconciler } from "./maintenance.js";
import { ManagedSitesReconciler } from "./managed-sites.js";
import { ObserveReconciler } from "./observe.js";
import { RestoreInPlaceReconciler } from "./restore-in-place.js";
import { SecretWatchReconciler } from "./secret-watch.js";
import { PlannedReconciler } from "./planned.js";
import type { Reconciler } from "./reconciler.js";
import { StatusReconciler } from "./report.js";
import { SpecWarningsReconciler } from "./spec-warnings.js";
import { StorageReconciler } from "./storage.js";
import { UpdatesReconciler } from "./updates.js";
import { VerificationsReconciler } from "./verifications.js";

/**
 * A group's concerns, in the order each cycle runs them: keep the finalizer (and, once the group
 * is being deleted, clean up: then nothing else runs), say which spec fields are not acted on
 * yet (once per generation), keep the managed sites' objects, keep the agents' token read for
 * the status API, watch the Secrets the group names (--watch-secrets), grow their volumes, observe the
 * sites, read maintenance, step a switchover, restore a new group's first site from a backup
 * (spec.initFromBackup), restore the group's own sites from one (spec.restoreInPlace: it holds
 * the core and pauses failover meanwhile), give a new group of managed sites its first primary, clone a site (a reclone request, an empty site) before the core would repoint it, run the emergency/topology core (unless the switchover holds it), keep the
 * accounts of a managed group, point DNS, taints and pod role labels at the primary, move the
 * session cache's master to it (beside the cycle),
 * roll a new template onto the managed sites' pods, read the agents' binary log archives into
 * metrics, take the MysqlBackups, verify backups (MysqlBackupVerifications), retry failed scheduled ones and apply retention, keep the backup
 * schedules' CronJobs, report. A new concern is a new file and one
 * line here.
 */
export function groupReconcilers(ctx: GroupContext): { reconcilers: Reconciler[]; status: StatusReconciler } {
  const observe = new ObserveReconciler(ctx);
  const status = new StatusReconciler(ctx);
  const reconcilers: Reconciler[] = [
    new DeletionReconciler(ctx),
    new SpecWarningsReconciler(ctx),
    new ManagedSitesReconciler(ctx),
    new AgentTokenReconciler(ctx),
    new SecretWatchReconciler(ctx),
    new StorageReconciler(ctx),
    observe,
    new MaintenanceReconciler(ctx),
    new PlannedReconciler(ctx, (cycle, primary) => status.announceOwn(cycle, primary)),
    new InitRestoreReconciler(ctx),
    new RestoreInPlaceReconciler(ctx),
    new BootstrapReconciler(ctx),
    new CloneReconciler(ctx),
    new FailoverReconciler(ctx, observe, (cycle, primary) => status.announce(cycle, primary)),
    new AccountsReconciler(ctx),
    new FollowersReconciler(ctx),
    new DragonflyReconciler(ctx),
    new UpdatesReconciler(ctx),
    new ArchiveReconciler(ctx),
    new BackupsReconciler(ctx),
    new VerificationsReconciler(ctx),
    new BackupHousekeepingReconciler(ctx),
    new BackupSchedulesReconciler(ctx),
    status,
  ];
  return { reconcilers, status };
}
