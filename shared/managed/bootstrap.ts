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

export function bootstrapDecision(sites: readonly BootstrapSite[], history: GroupHistory): BootstrapDecision {
  if (history.activeSite || history.lastFailoverTarget || history.intent) return NONE;
  // An external server may hold data of its own: such a group starts from a primary someone made writable.
  if (!sites.every((s) => s.managed)) return NONE;
  const silent = sites.filter((s) => s.observation === undefined).map((s) => s.name);
  if (silent.length > 0) return { kind: "wait", reason: `waiting for ${silent.join(", ")} to answer before choosing the first primary` };
  const fresh = sites.every((s) => s.observation?.readOnly === true && s.observation.gtidExecuted === "" && s.observation.replica === undefined);
  if (!fresh) return NONE;
  const seed = sites.find((s) => s.role === "primary-candidate");
  return seed ? { kind: "seed", site: seed.name } : NONE;
}
