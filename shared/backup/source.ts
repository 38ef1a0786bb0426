/**
 * Where a backup is taken from. A replica that replicates within the lag limit spares the
 * primary the copy's I/O; the primary is the fallback. A read-only-role site (a reader) never
 * serves, not even when asked by name: it may be far behind or carry reader-only settings.
 * An override is checked against the group's sites first (shared/backup/request.ts); here it is
 * refused only while it cannot serve.
 * A MariaDB site is copied by its agent (mariadb-backup); a MySQL site is dumped by the backup
 * Job's MySQL Shell and needs no agent. A site serves one backup at a time: a backup waits for a
 * busy replica rather than load the primary, and for a busy primary when no replica qualifies.
 */
import type { DecisionSite, FlavorName } from "../topology/site-observation.js";

export type BackupSourceSite = Pick<DecisionSite, "name" | "role" | "state" | "polledOk"> & {
  /** Seconds behind its source; null when not replicating or unknown. */
  readonly secondsBehindSource: number | null;
  /** Its backup agent answers (a MariaDB site without one cannot serve). */
  readonly agent: boolean;
  /** Its server's flavor, when it was observed. */
  readonly flavor?: FlavorName;
  /** The backup its agent streams now, if any. */
  readonly streaming?: string;
};

export type BackupSource = { readonly site: string; readonly reason: "override" | "replica-preferred" | "primary-fallback" } | { readonly refused: string };

const busy = (site: BackupSourceSite): string =>
  `${site.flavor === "mysql" ? `${site.name} is dumped for backup` : `${site.name}'s agent streams backup`} ${site.streaming ?? ""} now (one at a time): this one starts when it ends`;
/** Something can copy it: MySQL Shell dumps a MySQL site, a MariaDB site's agent streams its copy. */
const copyable = (s: BackupSourceSite): boolean => s.flavor === "mysql" || s.agent;

export function chooseBackupSource(sites: readonly BackupSourceSite[], maxLagSeconds: number, override?: string): BackupSource {
  const serves = (s: BackupSourceSite): boolean => s.polledOk && copyable(s) && s.role !== "read-only";
  if (override !== undefined) {
    const site = sites.find((s) => s.name === override);
    if (!site || !serves(site)) return { refused: `sourceSiteOverride names ${override}, which cannot serve now (${site && !copyable(site) ? "it runs no agent" : "not reachable"}): wait, or name another site` };
    if (site.streaming !== undefined) return { refused: busy(site) };
    return { site: site.name, reason: "override" };
  }
  const replicas = sites
    .filter((s) => serves(s) && s.state === "read-only" && s.secondsBehindSource !== null && s.secondsBehindSource <= maxLagSeconds)
    .sort((a, b) => (a.secondsBehindSource as number) - (b.secondsBehindSource as number) || (a.name < b.name ? -1 : 1));
  const replica = replicas.find((s) => s.streaming === undefined);
  if (replica) return { site: replica.name, reason: "replica-preferred" };
  if (replicas[0]) return { refused: busy(replicas[0]) };
  const primary = sites.find((s) => serves(s) && s.state === "writable");
  if (primary) return primary.streaming === undefined ? { site: primary.name, reason: "primary-fallback" } : { refused: busy(primary) };
  return { refused: `no site can serve the backup: no replica within ${maxLagSeconds}s of lag and no reachable primary, each with a running agent (MariaDB) or dumpable by MySQL Shell (MySQL)` };
}
