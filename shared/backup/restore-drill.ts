/**
 * A restore drill (`kubectl bloodraven restore`): a new group of managed sites that starts from one
 * of another group's backups (spec.initFromBackup), built from that group's spec so that the copy
 * runs as production does, without taking anything production owns. Pure; the plugin reads the
 * objects and creates the group.
 *
 * Kept: the sites that are managed (name, role, zone, storage, resources), the images, server
 * options, credentials (the same Secrets: the backup's accounts have their passwords), timings
 * and policies, and the backup profiles (the restore reads the backup through one). Left out,
 * because production owns them or they would act on its behalf: external sites, `dns`, `lbIP`,
 * `dragonfly`, backup schedules, per-profile verification schedules and the binary log archive.
 * `taintNodeSelector` is replaced: the operator taints a site's nodes (NoExecute) while it is not
 * writable, so the copy's sites run on nodes labelled for the new group alone
 * (drillNodeLabel), never on the production sites' nodes.
 */
import type { MysqlBackup, MysqlBackupVerification, MysqlBackupVerificationSpec, MysqlFailoverGroupSpec, SiteSpec } from "../api/index.js";

export interface DrillRequest {
  /** The new group's name. */
  readonly group: string;
  readonly pointInTime: NonNullable<MysqlBackupVerificationSpec["pointInTime"]>;
  /** The site restored first; default the first primary-candidate. */
  readonly site?: string;
  /** Go on without a Succeeded verification of the backup. */
  readonly unverified: boolean;
}

export type DrillPlan = { readonly ok: true; readonly spec: MysqlFailoverGroupSpec; readonly leftOut: readonly string[]; readonly verifiedBy?: string } | { readonly ok: false; readonly error: string };

const KEPT = [
  "image",
  "sidecarImage",
  "credentials",
  "secretName",
  "pollInterval",
  "failureThreshold",
  "recoveryThreshold",
  "failoverCooldown",
  "connectionDrainTimeout",
  "replication",
  "plannedFailover",
  "emergencyFailover",
  "splitBrainPolicy",
  "sidecar",
  "updateStrategy",
  "mysqlConf",
] as const;

/** The node label that places a site of the new group: `shipstream.io/site.<new-group>=<site>`. */
export function drillNodeLabel(group: string): string {
  return `shipstream.io/site.${group}`;
}

type SourceCheck = { readonly ok: true; readonly profile: string; readonly verifiedBy?: string; readonly archiveProfileName?: string } | { readonly ok: false; readonly error: string };

/** What both restores require of the backup: the group's, Succeeded, read through a profile it still has, verified (unless told), an archive to replay. */
function checkBackup(source: { name: string; spec: MysqlFailoverGroupSpec }, backup: MysqlBackup, verifications: readonly MysqlBackupVerification[], request: { pointInTime: DrillRequest["pointInTime"]; unverified: boolean }): SourceCheck {
  const backupName = backup.metadata?.name ?? "";
  if (backup.spec.failoverGroupRef.name !== source.name) return { ok: false, error: `--backup: ${backupName} is a backup of group ${backup.spec.failoverGroupRef.name}, not of ${source.name}` };
  if (backup.status?.phase !== "Succeeded") return { ok: false, error: `--backup: ${backupName} is ${backup.status?.phase ?? "not started"}, not Succeeded: only a finished backup can be restored` };
  const profile = source.spec.backup?.profiles.find((p) => p.name === backup.spec.profileName);
  if (!profile) return { ok: false, error: `--backup: ${backupName} was taken with profile ${backup.spec.profileName}, which group ${source.name} no longer has in spec.backup.profiles: it could not be read` };
  const verifiedBy = verifications.find((v) => v.status?.phase === "Succeeded" && v.status.backupName === backupName && v.spec.failoverGroupRef.name === source.name)?.metadata?.name;
  if (!verifiedBy && !request.unverified) {
    return { ok: false, error: `--backup: no MysqlBackupVerification has Succeeded on ${backupName}: prove it restores first (kubectl bloodraven verify-backup ${source.name} --profile ${backup.spec.profileName} --backup ${backupName} --wait), or pass --unverified to restore it anyway` };
  }
  const pitr = source.spec.backup?.pitr;
  const replay = (request.pointInTime.mode ?? "none") !== "none";
  if (replay && !(pitr?.enabled && pitr.profileName)) {
    return { ok: false, error: `--point-in-time: group ${source.name} has no binary log archive (spec.backup.pitr) to replay; restore the backup alone (leave --point-in-time out)` };
  }
  return { ok: true, profile: profile.name, ...(verifiedBy ? { verifiedBy } : {}), ...(replay && pitr?.profileName !== profile.name ? { archiveProfileName: pitr?.profileName } : {}) };
}

/** spec.restoreInPlace for `kubectl bloodraven restore --in-place`: the group's own sites restored from its backup. */
export function planRestoreInPlace(
  source: { name: string; spec: MysqlFailoverGroupSpec },
  backup: MysqlBackup,
  verifications: readonly MysqlBackupVerification[],
  request: { pointInTime: DrillRequest["pointInTime"]; unverified: boolean; confirm: string },
): { readonly ok: true; readonly restoreInPlace: NonNullable<MysqlFailoverGroupSpec["restoreInPlace"]>; readonly verifiedBy?: string } | { readonly ok: false; readonly error: string } {
  const external = source.spec.sites.filter((s) => s.storage === undefined).map((s) => s.name);
  if (external.length > 0) return { ok: false, error: `group ${source.name} has external sites (${external.join(", ")}): a restore in place replaces managed sites' data only; restore into a new group instead (leave --in-place out)` };
  const checked = checkBackup(source, backup, verifications, request);
  if (!checked.ok) return checked;
  return {
    ok: true,
    ...(checked.verifiedBy ? { verifiedBy: checked.verifiedBy } : {}),
    restoreInPlace: {
      profileName: checked.profile,
      source: { group: source.name, backup: backup.metadata?.name ?? "" },
      pointInTime: request.pointInTime,
      ...(checked.archiveProfileName ? { archiveProfileName: checked.archiveProfileName } : {}),
      confirm: request.confirm,
    },
  };
}

/** The new group's spec, what was left out of the source's, and which verification vouches for the backup. */
export function planRestoreDrill(source: { name: string; spec: MysqlFailoverGroupSpec }, backup: MysqlBackup, verifications: readonly MysqlBackupVerification[], request: DrillRequest): DrillPlan {
  const backupName = backup.metadata?.name ?? "";
  if (request.group === source.name) return { ok: false, error: `the new group must have another name than ${source.name}: a drill never replaces the group it copies` };
  const checked = checkBackup(source, backup, verifications, request);
  if (!checked.ok) return checked;
  const { verifiedBy } = checked;
  const managed = source.spec.sites.filter((s) => s.storage !== undefined);
  if (managed.length === 0) return { ok: false, error: `group ${source.name} has no managed site (spec.sites[].storage): a drill restores into managed sites only` };
  if (request.site !== undefined && !managed.some((s) => s.name === request.site && (s.role ?? "primary-candidate") === "primary-candidate")) {
    return { ok: false, error: `--site: ${request.site} is not a managed primary-candidate of ${source.name}; choose one of ${managed.filter((s) => (s.role ?? "primary-candidate") === "primary-candidate").map((s) => s.name).join(", ") || "(none)"}` };
  }

  const leftOut: string[] = [];
  const kept: Record<string, unknown> = {};
  for (const key of KEPT) if (source.spec[key] !== undefined) kept[key] = source.spec[key];
  for (const key of ["dns", "dragonfly"] as const) if (source.spec[key] !== undefined) leftOut.push(key);
  for (const s of source.spec.sites) if (s.storage === undefined) leftOut.push(`sites[${s.name}] (external)`);
  const sites = managed.map((s): SiteSpec => {
    const { lbIP, taintNodeSelector, ...rest } = s;
    if (lbIP !== undefined) leftOut.push(`sites[${s.name}].lbIP`);
    return taintNodeSelector === undefined ? rest : { ...rest, taintNodeSelector: { [drillNodeLabel(request.group)]: s.name } };
  });
  const sourceBackup = source.spec.backup;
  if (sourceBackup?.schedules?.length) leftOut.push("backup.schedules");
  if (sourceBackup?.pitr?.enabled) leftOut.push("backup.pitr");
  const profiles = (sourceBackup?.profiles ?? []).map((p) => {
    const { verification, ...rest } = p;
    if (verification !== undefined) leftOut.push(`backup.profiles[${p.name}].verification`);
    return rest;
  });
  return {
    ok: true,
    leftOut,
    ...(verifiedBy ? { verifiedBy } : {}),
    spec: {
      ...kept,
      sites,
      backup: { profiles, ...(sourceBackup?.timeout ? { timeout: sourceBackup.timeout } : {}) },
      initFromBackup: {
        profileName: checked.profile,
        source: { group: source.name, backup: backupName },
        pointInTime: request.pointInTime,
        ...(checked.archiveProfileName ? { archiveProfileName: checked.archiveProfileName } : {}),
        ...(request.site !== undefined ? { site: request.site } : {}),
      },
    } as MysqlFailoverGroupSpec,
  };
}
