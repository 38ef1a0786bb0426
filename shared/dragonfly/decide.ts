import type { CacheReplication } from "./replication.js";

/**
 * Where the cache master goes, one cycle at a time: the cache (Dragonfly) follows the database, so
 * applications find their sessions where they now write. Pure: the reconciler observes every cache
 * site, asks here, and runs the actions (operator/group/dragonfly.ts).
 */

/** One cache site as this cycle saw it: its endpoint and its replication, or why it did not answer. */
export interface CacheSite {
  name: string;
  host: string;
  port: number;
  observed?: CacheReplication & { keys?: number };
  error?: string;
}

export interface DragonflyInput {
  /** In spec order: ties go to the earlier site. */
  sites: readonly CacheSite[];
  /** The database's primary this cycle; undefined while the database has none. */
  dbPrimary?: string;
  /** The cache master recorded last (status.dragonfly.activeSite). */
  activeSite?: string;
  /**
   * A site whose server is being updated (roll.ts): not made the master while another server
   * answers, so that the master moves off it, by a takeover, before it restarts.
   */
  updating?: string;
}

export type DragonflyAction =
  /**
   * Makes `site` the master: `takeover` from `from`, its reachable master, which hands over once
   * the replica has every write (no session lost); `replicaof-no-one` when there is nobody to take
   * over from (what the dead master had and the replica had not yet received is gone).
   */
  | { kind: "promote"; site: string; method: "takeover"; from: string }
  | { kind: "promote"; site: string; method: "replicaof-no-one" }
  /** `REPLICAOF <master's host> <master's port>` on `site`. */
  | { kind: "replicate"; site: string; master: string };

export type CacheRole = "master" | "replica" | "stale-master" | "unreachable";
export type DragonflyPhase = "Ready" | "Reconciling" | "Promoting" | "Degraded";

export interface DragonflyDecision {
  /** The site that is, or is being made, the master; undefined when no cache site answers. */
  target?: string;
  /** The master applications use until the actions are done (before a promotion: the one taken over from, if any). */
  master?: string;
  actions: DragonflyAction[];
  roles: Record<string, CacheRole>;
  /** Masters beside the target that hold writes the target lacks: left alone, reported. */
  stale: string[];
  /** Replicas of the target, linked and not loading a full copy: caught up as far as can be seen. */
  caughtUp: string[];
  phase: DragonflyPhase;
  message: string;
}

const follows = (replica: CacheSite, master: CacheSite): boolean =>
  replica.observed?.role === "replica" && replica.observed.masterHost === master.host && replica.observed.masterPort === master.port;

/**
 * Whether `stale`, a second master, loses nothing by becoming a replica of `master` (which
 * discards its data set): it holds no keys, or it is the stream `master` was promoted from and has
 * written nothing since (its offset is within what `master` had received: Redis records that as
 * master_replid2 and second_repl_offset). Without those fields it cannot be shown, so no.
 */
export function rejoinLosesNothing(stale: CacheSite["observed"], master: CacheSite["observed"]): boolean {
  if (stale === undefined || master === undefined) return false;
  if (stale.keys === 0) return true;
  return (
    stale.replid !== undefined &&
    stale.replid === master.replid2 &&
    stale.offset !== undefined &&
    master.secondOffset !== undefined &&
    master.secondOffset > 0 &&
    stale.offset <= master.secondOffset - 1
  );
}

/** The site that should be the master, and why another would not do. */
function chooseTarget(input: DragonflyInput, answering: CacheSite[]): CacheSite | undefined {
  const others = answering.filter((s) => s.name !== input.updating);
  const reachable = others.length > 0 ? others : answering;
  const byName = (name: string | undefined) => reachable.find((s) => s.name === name);
  const withDatabase = byName(input.dbPrimary);
  if (withDatabase) return withDatabase;
  // The database's site has no cache that answers (or the database has no primary): the cache
  // stays where it is rather than move away from the database's next primary by guesswork.
  const masters = reachable.filter((s) => s.observed?.role === "master");
  const recorded = masters.find((s) => s.name === input.activeSite);
  if (recorded) return recorded;
  const mostWritten = (sites: CacheSite[]) => sites.reduce<CacheSite | undefined>((best, s) => (best === undefined || (s.observed?.offset ?? -1) > (best.observed?.offset ?? -1) ? s : best), undefined);
  // No master answers at all: the replica that received the most takes over.
  return masters.length > 0 ? mostWritten(masters) : mostWritten(reachable);
}

export function decideDragonfly(input: DragonflyInput): DragonflyDecision {
  const reachable = input.sites.filter((s) => s.observed !== undefined);
  const roles: Record<string, CacheRole> = {};
  for (const s of input.sites) roles[s.name] = s.observed === undefined ? "unreachable" : s.observed.role;
  const unreachable = input.sites.filter((s) => s.observed === undefined).map((s) => s.name);
  const target = chooseTarget(input, reachable);
  if (target === undefined) {
    return { actions: [], roles, stale: [], caughtUp: [], phase: "Degraded", message: `no cache site answers (${unreachable.join(", ")})` };
  }

  if (target.observed?.role !== "master") {
    // One promotion per cycle; the next cycle repoints the others from what it then observes.
    const from = reachable.find((s) => s.observed?.role === "master" && follows(target, s));
    const action: DragonflyAction =
      from !== undefined && target.observed?.linkUp === true ? { kind: "promote", site: target.name, method: "takeover", from: from.name } : { kind: "promote", site: target.name, method: "replicaof-no-one" };
    const why = input.dbPrimary === target.name ? `the database's primary is ${target.name}` : `no cache master answers on the database's site`;
    return { target: target.name, ...(from ? { master: from.name } : {}), actions: [action], roles, stale: [], caughtUp: [], phase: "Promoting", message: `promoting ${target.name} (${why})` };
  }

  // An empty master (a cache server that came back without its data) beside one that holds the
  // sessions: it copies them first, and takes over from that one next.
  const holder = target.observed.keys === 0 ? reachable.find((s) => s !== target && s.observed?.role === "master" && (s.observed.keys ?? 0) > 0) : undefined;
  if (holder !== undefined) {
    return {
      target: target.name,
      master: holder.name,
      actions: [{ kind: "replicate", site: target.name, master: holder.name }],
      roles,
      stale: [],
      caughtUp: [],
      phase: "Reconciling",
      message: `${target.name} is empty while ${holder.name} holds the sessions: it copies them from ${holder.name} before it takes over`,
    };
  }

  const actions: DragonflyAction[] = [];
  const stale: string[] = [];
  const caughtUp: string[] = [];
  const problems: string[] = unreachable.map((name) => `${name} unreachable`);
  for (const s of reachable) {
    if (s === target) continue;
    if (s.observed?.role === "master") {
      if (rejoinLosesNothing(s.observed, target.observed)) {
        actions.push({ kind: "replicate", site: s.name, master: target.name });
      } else {
        stale.push(s.name);
        roles[s.name] = "stale-master";
        problems.push(`${s.name} is a second master holding writes ${target.name} lacks (left alone: repointing it would discard them)`);
      }
    } else if (!follows(s, target)) {
      actions.push({ kind: "replicate", site: s.name, master: target.name });
    } else if (s.observed?.syncInProgress === true) {
      problems.push(`${s.name} is loading a full copy from ${target.name}`);
    } else if (s.observed?.linkUp !== true) {
      problems.push(`${s.name}'s link to ${target.name} is down`);
    } else {
      caughtUp.push(s.name);
    }
  }
  const updating = input.updating !== undefined && input.updating !== target.name ? input.updating : undefined;
  if (input.dbPrimary !== undefined && input.dbPrimary !== target.name && input.dbPrimary !== updating) problems.unshift(`the database's primary ${input.dbPrimary} has no cache that answers; the master stays on ${target.name}`);
  if (updating !== undefined) problems.unshift(`${updating} is being updated; the master stays on ${target.name} until it is back and caught up`);
  const phase: DragonflyPhase = actions.length > 0 || updating !== undefined ? "Reconciling" : problems.length > 0 ? "Degraded" : "Ready";
  const message = [actions.length > 0 ? `repointing ${actions.map((a) => a.site).join(", ")} at ${target.name}` : `${target.name} is the master`, ...problems].join("; ");
  return { target: target.name, master: target.name, actions, roles, stale, caughtUp, phase, message };
}
