/**
 * Stable names: the API group, annotation and label keys, event reasons, condition types and
 * metric names. Dashboards, alerts, runbooks and log pipelines key off these strings, so they
 * live in one place and are documented in docs/. Change one only as a breaking change.
 */

export const API_GROUP = "shipstream.io";
export const API_VERSION = "v1alpha1";
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

export const FAILOVER_GROUP = {
  kind: "MysqlFailoverGroup",
  listKind: "MysqlFailoverGroupList",
  plural: "mysqlfailovergroups",
  singular: "mysqlfailovergroup",
  shortNames: ["mfg"],
  categories: ["bloodraven", "mysql"],
} as const;

export const MYSQL_BACKUP = {
  kind: "MysqlBackup",
  listKind: "MysqlBackupList",
  plural: "mysqlbackups",
  singular: "mysqlbackup",
  shortNames: ["mb"],
  categories: ["bloodraven", "mysql"],
} as const;

export const MYSQL_BACKUP_VERIFICATION = {
  kind: "MysqlBackupVerification",
  listKind: "MysqlBackupVerificationList",
  plural: "mysqlbackupverifications",
  singular: "mysqlbackupverification",
  shortNames: ["mbv"],
  categories: ["bloodraven", "mysql"],
} as const;

/** What a verification replays onto the restored backup: nothing, everything archived, or up to a time. */
export const POINT_IN_TIME_MODES = ["none", "latest", "timestamp"] as const;

export const BACKUP_PHASES = ["Pending", "Running", "Succeeded", "Failed"] as const;
export type BackupPhase = (typeof BACKUP_PHASES)[number];
export const BACKUP_SOURCE_REASONS = ["override", "replica-preferred", "primary-fallback"] as const;
export const BACKUP_CONCURRENCY_POLICIES = ["Forbid", "Allow", "Replace"] as const;
/** MySQL Shell's dump compressions (a MySQL site's backup). */
export const DUMP_COMPRESSIONS = ["zstd", "gzip", "none"] as const;

const ANNOTATION_PREFIX = "bloodraven.shipstream.io";

export const ANNOTATIONS = {
  plannedFailover: `${ANNOTATION_PREFIX}/planned-failover`,
  recloneSite: `${ANNOTATION_PREFIX}/reclone-site`,
  lastFailover: `${ANNOTATION_PREFIX}/last-failover`,
  lastFailoverTarget: `${ANNOTATION_PREFIX}/last-failover-target`,
  /** `<target>@<RFC 3339 time>`: the out-of-band copy of status.failoverIntent. */
  failoverIntent: `${ANNOTATION_PREFIX}/failover-intent`,
  maintenance: `${ANNOTATION_PREFIX}/maintenance`,
  /** Set by the plugin next to planned-failover; echoed in status so --wait follows its own request. */
  plannedFailoverRequestId: `${ANNOTATION_PREFIX}/planned-failover-request-id`,
  /** On a failed scheduled MysqlBackup: when its retry is created (RFC 3339), decided once. */
  backupRetryAt: `${ANNOTATION_PREFIX}/retry-at`,
  /**
   * On a managed site's pod: when the operator's password changed on its server (RFC 3339). The
   * update makes the kubelet refresh the pod's mounted Secrets now rather than at its next
   * periodic sync, so that the sidecar logs in with the new password within seconds.
   */
  operatorPasswordChanged: `${ANNOTATION_PREFIX}/operator-password-changed`,
  /** On a group made by `kubectl bloodraven restore`: `<group>/<backup>` it was restored from. Read by people only. */
  restoredFrom: `${ANNOTATION_PREFIX}/restored-from`,
} as const;

export const LABELS = {
  failoverGroup: "shipstream.io/failover-group",
  /** On the cache servers the operator runs (spec.dragonfly): not failoverGroup, which selects the database's objects. */
  dragonflyGroup: "shipstream.io/dragonfly-group",
  /** On those servers' pods: master, replica or stale-master; the group's cache Service selects master. */
  dragonflyRole: "shipstream.io/dragonfly-role",
  site: "shipstream.io/site",
  role: "shipstream.io/role",
  /** On the operator replica's pod that holds the leader Lease (--label-leader-pod); the chart's leader Service selects it. */
  leader: "bloodraven.shipstream.io/leader",
  healthy: "shipstream.io/healthy",
  managedBy: "app.kubernetes.io/managed-by",
  /** On a backup's Job and pod: the MysqlBackup's name. */
  backup: "shipstream.io/backup",
  /** On a verification's Job and pod: the MysqlBackupVerification's name. */
  verification: "shipstream.io/backup-verification",
  /** On a restore's Job and pod (spec.initFromBackup): the site restored. */
  restore: "shipstream.io/restore",
} as const;

/** Taint placed on nodes of a site that is not writable; scoped per group to avoid collisions. */
export function readOnlyTaintKey(group: string): string {
  return `shipstream.io/db-readonly-${group}`;
}
/** Keeps a deleted MysqlBackup until its artifact is deleted from the store (shared/backup/cleanup-step.ts). */
export const BACKUP_ARTIFACT_FINALIZER = "shipstream.io/backup-artifact";
/** Keeps a deleted group until the operator has removed its taints and its managed sites' volumes. */
export const CLEANUP_FINALIZER = `${ANNOTATION_PREFIX}/cleanup`;
export const READ_ONLY_TAINT_VALUE = "true";
/** Application pods leave the nodes; the group's own database pods tolerate it. */
export const READ_ONLY_TAINT_EFFECT = "NoExecute";

export const SITE_ROLES = ["primary-candidate", "dr-only", "read-only"] as const;
export type SiteRole = (typeof SITE_ROLES)[number];

export const SITE_STATES = ["writable", "read-only", "unreachable", "unknown"] as const;
export type SiteState = (typeof SITE_STATES)[number];

export const CONDITION_TYPES = {
  ready: "Ready",
  degraded: "Degraded",
  recoveryPending: "RecoveryPending",
  bootstrapping: "Bootstrapping",
  updating: "Updating",
  maintenance: "Maintenance",
  routingReady: "RoutingReady",
  readersReady: "ReadersReady",
} as const;

export const PLANNED_FAILOVER_PHASES = [
  "Pending",
  "Validating",
  "Deferred",
  "Draining",
  "WaitingForLag",
  "Promoting",
  "Resuming",
  "Succeeded",
  "Failed",
] as const;
export type PlannedFailoverPhase = (typeof PLANNED_FAILOVER_PHASES)[number];

/**
 * Reasons of a `Failed` planned-failover block that mean the operator refused the request while
 * validating it, before changing any server (event PlannedFailoverRejected, result `rejected`).
 */
export const PLANNED_FAILOVER_REJECTION_REASONS = [
  "InvalidAnnotation",
  "UnknownSite",
  "TargetUnhealthy",
  "NoPrimary",
  "TargetHasErrantTransactions",
  "ConcurrentOperation",
  "InvalidFailoverState",
  "CooldownActive",
] as const;
export type PlannedFailoverRejectionReason = (typeof PLANNED_FAILOVER_REJECTION_REASONS)[number];

/**
 * status.bootstrap.phase, and the reason of the Bootstrapping condition while a clone runs: the
 * copy streams and is prepared, the server restarts on it, replication is set up; then Done or
 * Failed.
 */
export const BOOTSTRAP_PHASES = ["Cloning", "WaitingForRestart", "SetupReplication", "Done", "Failed"] as const;
export type BootstrapPhase = (typeof BOOTSTRAP_PHASES)[number];
/** What started a clone: the reclone-site annotation, or an empty site found by the operator. */
export const BOOTSTRAP_SOURCES = ["reclone", "auto-clone", "restore-in-place"] as const;
export type BootstrapSource = (typeof BOOTSTRAP_SOURCES)[number];
/** `result` label of bloodraven_reclone_operations_total. */
export const RECLONE_RESULTS = ["success", "failed", "rejected"] as const;
export type RecloneResult = (typeof RECLONE_RESULTS)[number];

export const RECOVERY_STATES = ["", "RecoveryInProgress", "RecoveryBlocked", "ErrantTransactions"] as const;
export type RecoveryState = (typeof RECOVERY_STATES)[number];

/** Event reasons on MysqlFailoverGroup and MysqlBackup objects (the seeds' monitoring page). */
export const EVENT_REASONS = {
  failoverExecuted: "FailoverExecuted",
  dataLossDetected: "DataLossDetected",
  errantTransactionsDetected: "ErrantTransactionsDetected",
  recoveryComplete: "RecoveryComplete",
  recloneRequested: "RecloneRequested",
  recloneRejected: "RecloneRejected",
  cloneCompleted: "CloneCompleted",
  cloneFailed: "CloneFailed",
  splitBrainDetected: "SplitBrainDetected",
  noPrimaryDetected: "NoPrimaryDetected",
  totalLossDetected: "TotalLossDetected",
  siteRecovered: "SiteRecovered",
  siteUnreachable: "SiteUnreachable",
  siteFenced: "SiteFenced",
  ignoredSpecFields: "IgnoredSpecFields",
  cleanupFailed: "CleanupFailed",
  storageResizeRequested: "StorageResizeRequested",
  storageResizeFailed: "StorageResizeFailed",
  updateRestartingSite: "UpdateRestartingSite",
  updateSwitchoverRequested: "UpdateSwitchoverRequested",
  updateBlocked: "UpdateBlocked",
  updateCompleted: "UpdateCompleted",
  credentialReconcileFailed: "CredentialReconcileFailed",
  secretNotFound: "SecretNotFound",
  secretMissingKey: "SecretMissingKey",
  failoverActionFailed: "FailoverActionFailed",
  failoverBlocked: "FailoverBlocked",
  dnsUpdateFailed: "DnsUpdateFailed",
  plannedFailoverStarted: "PlannedFailoverStarted",
  plannedFailoverDraining: "PlannedFailoverDraining",
  plannedFailoverLagOK: "PlannedFailoverLagOK",
  plannedFailoverCompleted: "PlannedFailoverCompleted",
  plannedFailoverRejected: "PlannedFailoverRejected",
  plannedFailoverFailed: "PlannedFailoverFailed",
  plannedFailoverSkipped: "PlannedFailoverSkipped",
  plannedFailoverDeferred: "PlannedFailoverDeferred",
  gracefulShutdown: "GracefulShutdown",
  maintenanceStarted: "MaintenanceStarted",
  maintenanceEnded: "MaintenanceEnded",
  maintenanceInvalid: "MaintenanceInvalid",
  // On MysqlBackup objects.
  backupStarted: "BackupStarted",
  backupSucceeded: "BackupSucceeded",
  backupFailed: "BackupFailed",
  inFlightFailover: "InFlightFailover",
  backupStopped: "BackupStopped",
  artifactCleanupStarted: "ArtifactCleanupStarted",
  artifactCleanupSucceeded: "ArtifactCleanupSucceeded",
  artifactCleanupFailed: "ArtifactCleanupFailed",
  artifactCleanupSkipped: "ArtifactCleanupSkipped",
  // On MysqlBackupVerification objects.
  backupVerificationStarted: "BackupVerificationStarted",
  backupVerified: "BackupVerified",
  backupVerificationFailed: "BackupVerificationFailed",
  // On the group: its spec.initFromBackup.
  restoreStarted: "RestoreStarted",
  restoreSucceeded: "RestoreSucceeded",
  restoreFailed: "RestoreFailed",
  restoreTargetUnavailable: "RestoreTargetUnavailable",
  restoreBuildFailed: "RestoreBuildFailed",
  // On the group: its backup schedules and retries.
  backupScheduleInvalid: "BackupScheduleInvalid",
  backupScheduleServiceAccountMissing: "BackupScheduleServiceAccountMissing",
  backupRetryScheduled: "BackupRetryScheduled",
  backupRetentionDeleted: "BackupRetentionDeleted",
  // On the group: its session cache (spec.dragonfly).
  dragonflyPromotionStarted: "DragonflyPromotionStarted",
  dragonflyPromotionCompleted: "DragonflyPromotionCompleted",
  dragonflyPromotionFailed: "DragonflyPromotionFailed",
  dragonflySyncTimeout: "DragonflySyncTimeout",
  dragonflyOldSiteReconfigured: "DragonflyOldSiteReconfigured",
  dragonflyStaleMasterDetected: "DragonflyStaleMasterDetected",
} as const;

/** Prometheus metric names (the seeds' monitoring page). */
export const METRICS = {
  pollLatencySeconds: "bloodraven_poll_latency_seconds",
  pollCycleSeconds: "bloodraven_poll_cycle_seconds",
  stateTransitionsTotal: "bloodraven_state_transitions_total",
  taintOperationsTotal: "bloodraven_taint_operations_total",
  dnsFlipsTotal: "bloodraven_dns_flips_total",
  failoversTotal: "bloodraven_failovers_total",
  failoverDurationSeconds: "bloodraven_failover_duration_seconds",
  failoverFailuresTotal: "bloodraven_failover_failures_total",
  failoverBlockedTotal: "bloodraven_failover_blocked_total",
  failoverLostTransactionsTotal: "bloodraven_failover_lost_transactions_total",
  reconcileErrorsTotal: "bloodraven_reconcile_errors_total",
  websocketConnectedClients: "bloodraven_websocket_connected_clients",
  replicationLagSeconds: "bloodraven_replication_lag_seconds",
  replicationRunning: "bloodraven_replication_running",
  siteState: "bloodraven_site_state",
  siteRole: "bloodraven_site_role",
  divergentTransactions: "bloodraven_divergent_transactions",
  recloneOperationsTotal: "bloodraven_reclone_operations_total",
  plannedFailoversTotal: "bloodraven_planned_failovers_total",
  plannedFailoverDurationSeconds: "bloodraven_planned_failover_duration_seconds",
  plannedFailoverLagWaitSeconds: "bloodraven_planned_failover_lag_wait_seconds",
  maintenanceMode: "bloodraven_maintenance_mode",
  websocketDroppedClientsTotal: "bloodraven_websocket_dropped_clients_total",
  buildInfo: "bloodraven_build_info",
  leader: "bloodraven_leader",
  archiverUploadFailures: "bloodraven_archiver_upload_failures",
  archiverLastUploadTimestampSeconds: "bloodraven_archiver_last_upload_timestamp_seconds",
  archiverBacklogFiles: "bloodraven_archiver_backlog_files",
  backupLastSuccessTimestampSeconds: "bloodraven_backup_last_success_timestamp_seconds",
  backupVerifiedTimestampSeconds: "bloodraven_backup_verified_timestamp_seconds",
  backupVerificationLastAttemptTimestampSeconds: "bloodraven_backup_verification_last_attempt_timestamp_seconds",
  backupVerificationRunsTotal: "bloodraven_backup_verification_runs_total",
  backupVerificationDurationSeconds: "bloodraven_backup_verification_duration_seconds",
  backupVerificationReplayLagSeconds: "bloodraven_backup_verification_replay_lag_seconds",
  restoreDurationSeconds: "bloodraven_restore_duration_seconds",
  restoreLastSuccessTimestampSeconds: "bloodraven_restore_last_success_timestamp_seconds",
  restoreLastSourceSizeBytes: "bloodraven_restore_last_source_size_bytes",
  dragonflySiteUp: "bloodraven_dragonfly_site_up",
  dragonflyPromotionsTotal: "bloodraven_dragonfly_promotions_total",
  dragonflyManagerPanicsTotal: "bloodraven_dragonfly_manager_panics_total",
} as const;

/** `result` of bloodraven_dragonfly_promotions_total. */
export const DRAGONFLY_PROMOTION_RESULTS = ["success", "failed", "skipped"] as const;
export type DragonflyPromotionResult = (typeof DRAGONFLY_PROMOTION_RESULTS)[number];

/** The `restore_kind` label of the restore metrics. */
export const RESTORE_KINDS = { initFromBackup: "init_from_backup", inPlace: "in_place" } as const;
export type RestoreKind = (typeof RESTORE_KINDS)[keyof typeof RESTORE_KINDS];

/** Stages of an emergency failover timed from the decision: site writable, DNS and taints moved. */
export const FAILOVER_STAGES = ["writable", "dns"] as const;
export type FailoverStage = (typeof FAILOVER_STAGES)[number];
export const FAILOVER_FAILURE_REASONS = ["fence_failed", "promote_failed", "relay_log_not_applied", "repoint_failed", "dns_failed"] as const;
export type FailoverFailureReason = (typeof FAILOVER_FAILURE_REASONS)[number];

/** `action` label of bloodraven_taint_operations_total. */
export const TAINT_ACTIONS = ["apply", "remove"] as const;
export type TaintAction = (typeof TAINT_ACTIONS)[number];

/** `kind` of bloodraven_failovers_total: who promoted, the emergency core or a switchover. */
export const FAILOVER_KINDS = ["emergency", "planned"] as const;
export type FailoverKind = (typeof FAILOVER_KINDS)[number];

/** `result` label of bloodraven_planned_failovers_total. */
export const PLANNED_FAILOVER_RESULTS = ["success", "rejected", "failed_timeout", "failed_other"] as const;
export type PlannedFailoverResult = (typeof PLANNED_FAILOVER_RESULTS)[number];

/** `reason` label of bloodraven_websocket_dropped_clients_total. */
export const WEBSOCKET_DROP_REASONS = ["slow_consumer", "heartbeat_timeout", "protocol_error"] as const;
export type WebsocketDropReason = (typeof WEBSOCKET_DROP_REASONS)[number];
