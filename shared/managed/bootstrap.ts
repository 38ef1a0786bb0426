/**
 * Bootstrap of a new group of managed sites: which server becomes the first primary. Pure.
 *
 * A group qualifies only while nothing can be lost: every site is managed, answers, is read-only,
 * has no transaction of its own and replicates from nowhere, and the group has no history (no
 * known primary, no failover, no open promotion). Then the first primary-candidate in spec order
 * is made writable. Nothing needs persisting first: the choice is derived from the spec alone, so
 * an operator that restarts midway chooses the same site, and once that site is writable the group
 * no longer qualifies. The decision core then adopts the single writable site and repoints the
 * others onto it (rule R5 of shared/failover/decide.ts), which holds everything they have: nothing.
 *
 * A group made from a backup (spec.initFromBackup) waits for its restore, then seeds the restored
 * site instead: it alone holds transactions, exactly the restored copy's, and the others are
 * empty (the clone reconciler then copies it onto them).
 */
import type { DurableRecord } from "../failover/decide.js";
import type { SiteRole } from "../names.js";
import type { ServerObservation } from "../topology/site-observation.js";

export interface BootstrapSite {
  name: string;
  role: SiteRole;
  managed: boolean;
  /** This cycle's poll; undefined when it failed. */
  observation: ServerObservation | undefined;
}

/** What the group remembers: a primary it knew (status.lastKnownPrimary or activeSite), a failover, an open promotion. */
export type GroupHistory = Pick<DurableRecord, "activeSite" | "lastFailoverTarget" | "intent">;

export type BootstrapDecision = { kind: "none" } | { kind: "wait"; reason: string } | { kind: "seed"; site: string };

const NONE: BootstrapDecision = { kind: "none" };

/** Where a group made from a backup stands (shared/backup/init-restore.ts restoreGate); undefined for any other group. */
export type RestoreGate = { readonly wait: string } | { readonly restored: { readonly site: string; readonly gtid: string } } | undefined;

export function bootstrapDecision(sites: readonly BootstrapSite[], history: GroupHistory, restore: RestoreGate = undefined): BootstrapDecision {
  if (history.activeSite || history.lastFailoverTarget || history.intent) return NONE;
  // An external server may hold data of its own: such a group starts from a primary someone made writable.
  if (!sites.every((s) => s.managed)) return NONE;
  if (restore && "wait" in restore) return { kind: "wait", reason: restore.wait };
  const silent = sites.filter((s) => s.observation === undefined).map((s) => s.name);
  if (silent.length > 0) return { kind: "wait", reason: `waiting for ${silent.join(", ")} to answer before choosing the first primary` };
  const restored = restore?.restored;
  const holds = (s: BootstrapSite, gtid: string): boolean => s.observation?.readOnly === true && s.observation.gtidExecuted === gtid && s.observation.replica === undefined;
  if (!sites.every((s) => holds(s, s.name === restored?.site ? restored.gtid : ""))) return NONE;
  const seed = restored ? sites.find((s) => s.name === restored.site) : sites.find((s) => s.role === "primary-candidate");
  return seed ? { kind: "seed", site: seed.name } : NONE;
}
