export {
  CONDITION_STATUSES,
  DEFAULTS,
  LIMITS,
  ON_COOLDOWN_ACTIONS,
  OPERATOR_OWNED_MYSQL_OPTIONS,
  UPDATE_STRATEGIES,
  siteSummary,
  withDefaults,
  type BootstrapStatus,
  type Condition,
  type DefaultedMysqlFailoverGroupSpec,
  type DefaultedSiteSpec,
  type MysqlFailoverGroup,
  type MysqlFailoverGroupSpec,
  type MysqlFailoverGroupStatus,
  type PlannedFailoverStatus,
  type SiteSpec,
  type SiteStatus,
} from "./failover-group.js";
export { BACKUP_PRINTER_COLUMNS, PRINTER_COLUMNS, VERIFICATION_PRINTER_COLUMNS, allCrds, failoverGroupCrd, mysqlBackupCrd, mysqlBackupVerificationCrd, type CustomResourceDefinition, type PrinterColumn } from "./crd.js";
export { BACKUP_DEFAULTS, backupWithDefaults, type BackupSpec, type DefaultedBackupSpec, type MysqlBackup, type MysqlBackupSpec, type MysqlBackupStatus, type PitrStatus } from "./backup.js";
export {
  VERIFICATION_DEFAULTS,
  verificationWithDefaults,
  type DefaultedVerificationSpec,
  type MysqlBackupVerification,
  type MysqlBackupVerificationSpec,
  type MysqlBackupVerificationStatus,
} from "./verification.js";
export { RESTORE_DEFAULTS, type InitFromBackupSpec, type RestoreInPlaceSpec, type RestoreInPlaceStatus, type RestoreStatus } from "./restore.js";
export type { SchemaNode, ValidationRule } from "./schema.js";
