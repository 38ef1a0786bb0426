/**
 * What makes a request for a backup wrong whatever the moment: the group has no profiles, the
 * profile is not one of them, the source site is not a site of the group or is a reader. The
 * operator fails a MysqlBackup for it (naming the spec field), the plugin refuses its flags before
 * creating one (naming the flag): one rule, so the two never disagree.
 */
import type { SiteRole } from "../names.js";

export interface BackupRequest {
  readonly profileName: string;
  readonly sourceSiteOverride?: string | undefined;
}

export interface BackupRequestGroup<P extends { readonly name: string }> {
  readonly name: string;
  /** undefined when the group has no spec.backup. */
  readonly profiles: readonly P[] | undefined;
  readonly sites: readonly { readonly name: string; readonly role?: SiteRole | undefined }[];
}

export interface BackupRequestProblem {
  readonly field: keyof BackupRequest;
  /** Says what is wrong and what to do, without the field's name (each caller names it its way). */
  readonly message: string;
}

/** The request's profile, or what is wrong with the request. */
export function checkBackupRequest<P extends { readonly name: string }>(group: BackupRequestGroup<P>, request: BackupRequest): { readonly profile: P } | { readonly problem: BackupRequestProblem } {
  const problem = (field: keyof BackupRequest, message: string) => ({ problem: { field, message } });
  const profiles = group.profiles ?? [];
  if (profiles.length === 0) return problem("profileName", `the group ${group.name} has no spec.backup.profiles: add a profile named ${request.profileName} first (docs/backups.md)`);
  const profile = profiles.find((p) => p.name === request.profileName);
  if (!profile) return problem("profileName", `${request.profileName} is not a profile of the group ${group.name}; its profiles: ${profiles.map((p) => p.name).join(", ")}`);
  const override = request.sourceSiteOverride;
  const site = group.sites.find((s) => s.name === override);
  if (override !== undefined && !site) return problem("sourceSiteOverride", `${override} is not a site of the group ${group.name}; its sites: ${group.sites.map((s) => s.name).join(", ")}`);
  if (site?.role === "read-only") return problem("sourceSiteOverride", `${override} is a read-only-role site, which never serves backups: name a primary-candidate or dr-only site, or leave it out`);
  return { profile };
}
