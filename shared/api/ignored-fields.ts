import { DEFAULTS, type MysqlFailoverGroupSpec } from "./failover-group.js";

/**
 * Spec fields the operator accepts but does not act on: those that describe managed sites when
 * the group has none (`image`, `sidecarImage`, `mysqlConf`, `updateStrategy`); the session drain
 * of a fenced former primary; and an enabled `spec.backup.pitr` in a group without managed sites
 * (the archive is configured in managed sites' sidecars; an external site's agent takes its
 * `--archive-*` flags by hand). Named only when set to something other
 * than their default (the API server writes the defaults into every object).
 */
export function ignoredSpecFields(spec: MysqlFailoverGroupSpec): string[] {
  const managed = (spec.sites ?? []).some((s) => s.storage !== undefined);
  const fields: { key: keyof MysqlFailoverGroupSpec; byDefault: unknown; ignored: boolean }[] = [
    { key: "image", byDefault: DEFAULTS.image, ignored: !managed },
    { key: "sidecarImage", byDefault: undefined, ignored: !managed },
    { key: "updateStrategy", byDefault: DEFAULTS.updateStrategy, ignored: !managed },
    { key: "mysqlConf", byDefault: undefined, ignored: !managed },
    { key: "connectionDrainTimeout", byDefault: DEFAULTS.connectionDrainTimeout, ignored: true },
  ];
  const backup = spec.backup?.pitr?.enabled === true && !managed ? ["spec.backup.pitr"] : [];
  return [...fields.filter((f) => f.ignored && spec[f.key] !== undefined && spec[f.key] !== f.byDefault).map((f) => `spec.${f.key}`), ...backup];
}
