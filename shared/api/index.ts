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
export { PRINTER_COLUMNS, failoverGroupCrd, type CustomResourceDefinition, type PrinterColumn } from "./crd.js";
export type { SchemaNode, ValidationRule } from "./schema.js";
