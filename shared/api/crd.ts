import { API_GROUP, API_VERSION, CONDITION_TYPES, FAILOVER_GROUP, MYSQL_BACKUP, MYSQL_BACKUP_VERIFICATION } from "../names.js";
import { mysqlBackupSchema } from "./backup.js";
import { mysqlBackupVerificationSchema } from "./verification.js";
import { failoverGroupSchema } from "./failover-group.js";
import type { AnySchema, SchemaNode } from "./schema.js";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date";
  jsonPath: string;
  description: string;
  priority?: number;
}

/** The CustomResourceDefinition as it is written to crds/ (apiextensions.k8s.io/v1). */
export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: "Namespaced";
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: SchemaNode };
    }[];
  };
}

export const PRINTER_COLUMNS: readonly PrinterColumn[] = [
  { name: "Active", type: "string", jsonPath: ".status.activeSite", description: "The writable primary-candidate site." },
  {
    name: "Ready",
    type: "string",
    jsonPath: `.status.conditions[?(@.type=="${CONDITION_TYPES.ready}")].status`,
    description: "Status of the Ready condition.",
  },
  {
    name: "Sites",
    type: "string",
    jsonPath: ".status.summary",
    description: "Sites by state: writable W / read-only RO / unreachable or unknown X.",
  },
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Time since creation." },
  {
    name: "Planned",
    type: "string",
    jsonPath: ".status.plannedFailover.phase",
    description: "Phase of the current or last planned failover.",
    priority: 1,
  },
  {
    name: "Last-Failover",
    type: "date",
    jsonPath: ".status.lastFailover",
    description: "Time since the last failover.",
    priority: 1,
  },
];

export const BACKUP_PRINTER_COLUMNS: readonly PrinterColumn[] = [
  { name: "Group", type: "string", jsonPath: ".spec.failoverGroupRef.name", description: "The group backed up." },
  { name: "Profile", type: "string", jsonPath: ".spec.profileName", description: "The profile of spec.backup it uses." },
  { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Pending, Running, Succeeded or Failed." },
  { name: "Started", type: "date", jsonPath: ".status.startTime", description: "When the Job started." },
  { name: "Completed", type: "date", jsonPath: ".status.completionTime", description: "When it succeeded or failed." },
  { name: "Location", type: "string", jsonPath: ".status.location", description: "The manifest's place in the store.", priority: 1 },
  { name: "Size", type: "integer", jsonPath: ".status.sizeBytes", description: "Bytes of the stored artifact.", priority: 1 },
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Time since creation." },
];

export const VERIFICATION_PRINTER_COLUMNS: readonly PrinterColumn[] = [
  { name: "Group", type: "string", jsonPath: ".spec.failoverGroupRef.name", description: "The group whose backup is verified." },
  { name: "Profile", type: "string", jsonPath: ".spec.profileName", description: "The profile of the backup." },
  { name: "Backup", type: "string", jsonPath: ".status.backupName", description: "The MysqlBackup verified." },
  { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Pending, Running, Succeeded or Failed." },
  { name: "Count", type: "integer", jsonPath: ".status.count", description: "What the sanity query counted.", priority: 1 },
  { name: "Started", type: "date", jsonPath: ".status.startTime", description: "When the Job started." },
  { name: "Completed", type: "date", jsonPath: ".status.completionTime", description: "When it succeeded or failed." },
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Time since creation." },
];

type ResourceNames = typeof FAILOVER_GROUP | typeof MYSQL_BACKUP | typeof MYSQL_BACKUP_VERIFICATION;

function customResourceDefinition(names: ResourceNames, schema: AnySchema, columns: readonly PrinterColumn[]): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${names.plural}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      names: {
        kind: names.kind,
        listKind: names.listKind,
        plural: names.plural,
        singular: names.singular,
        shortNames: [...names.shortNames],
        categories: [...names.categories],
      },
      scope: "Namespaced",
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: structuredClone([...columns]),
          schema: { openAPIV3Schema: structuredClone(schema.node) },
        },
      ],
    },
  };
}

export function failoverGroupCrd(): CustomResourceDefinition {
  return customResourceDefinition(FAILOVER_GROUP, failoverGroupSchema, PRINTER_COLUMNS);
}

export function mysqlBackupCrd(): CustomResourceDefinition {
  return customResourceDefinition(MYSQL_BACKUP, mysqlBackupSchema, BACKUP_PRINTER_COLUMNS);
}

export function mysqlBackupVerificationCrd(): CustomResourceDefinition {
  return customResourceDefinition(MYSQL_BACKUP_VERIFICATION, mysqlBackupVerificationSchema, VERIFICATION_PRINTER_COLUMNS);
}

/** Every CRD the chart installs. */
export function allCrds(): CustomResourceDefinition[] {
  return [failoverGroupCrd(), mysqlBackupCrd(), mysqlBackupVerificationCrd()];
}
