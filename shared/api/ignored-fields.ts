import { DEFAULTS, type MysqlFailoverGroupSpec } from "./failover-group.js";

/**
 * Spec fields the operator accepts but does not act on yet: everything that describes a managed
 * site (the operator runs no pods, volumes or Services so far) and the session drain of a fenced
 * former primary. Named only when set to something other than their default (the API server
 * writes the defaults into every object).
 */
export function ignoredSpecFields(spec: MysqlFailoverGroupSpec): string[] {
  const group: [keyof MysqlFailoverGroupSpec, unknown][] = [
    ["image", DEFAULTS.image],
    ["sidecarImage", undefined],
    ["updateStrategy", DEFAULTS.updateStrategy],
    ["mysqlConf", undefined],
    ["connectionDrainTimeout", DEFAULTS.connectionDrainTimeout],
  ];
  const fields = group.filter(([key, byDefault]) => spec[key] !== undefined && spec[key] !== byDefault).map(([key]) => `spec.${key}`);
  for (const site of spec.sites ?? []) {
    for (const key of ["storage", "resources", "zone"] as const) if (site[key] !== undefined) fields.push(`spec.sites[${site.name}].${key}`);
  }
  return fields;
}
