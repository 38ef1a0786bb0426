import { API_GROUP, API_VERSION, CONDITION_TYPES, FAILOVER_GROUP } from "../names.js";
import { failoverGroupSchema } from "./failover-group.js";
import type { SchemaNode } from "./schema.js";

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

export function failoverGroupCrd(): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${FAILOVER_GROUP.plural}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      names: {
        kind: FAILOVER_GROUP.kind,
        listKind: FAILOVER_GROUP.listKind,
        plural: FAILOVER_GROUP.plural,
        singular: FAILOVER_GROUP.singular,
        shortNames: [...FAILOVER_GROUP.shortNames],
        categories: [...FAILOVER_GROUP.categories],
      },
      scope: "Namespaced",
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: structuredClone([...PRINTER_COLUMNS]),
          schema: { openAPIV3Schema: structuredClone(failoverGroupSchema.node) },
        },
      ],
    },
  };
}
