/**
 * The decision core: one pure function from (this poll's observation, the durable record, the
 * policy) to the actions a thin executor carries out. This is where failover safety lives; the
 * executor may not second-guess it and the caller may not skip it.
 *
 * Vocabulary used below:
 * - core site: role primary-candidate or dr-only. Readers (role read-only) never count, except
 *   that a writable reader is fenced like any non-promotable site.
 * - seen writable: the site answered this poll with read_only=0 (raw, not debounced). Fences act
 *   on this: fencing is always safe, so it need not wait for the debounce.
 * - possibly writable: seen writable, or its debounced state is still `writable` (its last polls
 *   failed, but not yet failureThreshold of them). Promotion waits while any site is possibly
 *   writable.
 * - authority: `record.activeSite`, the last primary we knew (status.activeSite, which survives
 *   restarts), when it names a primary-candidate of the group.
 * - history: `record.lastFailoverTarget` is set, i.e. some failover has happened.
 *
 * The rules are evaluated in this order; each is commented where it is implemented:
 *   R0 not settled -> nothing
 *   R1 writable non-promotable site -> fence (always, even with automatic failover off)
 *   R2 history + writable candidate other than target/authority -> fence ReturningOldPrimary
 *      (except R2a: a successor that holds everything the demoted authority holds is adopted)
 *   R3 two or more writable candidates left -> split brain: alert, or fence by sitePriorities
 *   R4 no authorised writable primary -> emergency failover (or say why not, in `blocked`);
 *      R4b a recorded primary that came back read-only is re-asserted if provably safe
 *   R5 a confirmed primary -> repoint / record divergence / clear recovery for the others
 */

import { cooldown } from "./cooldown.js";
import { contains, missing, withoutOrigin, type MissingTransactions } from "./gtid-compare.js";
import { witnessVerdict } from "./witness.js";
import type { DecisionSite } from "../topology/site-observation.js";

export type { ServerFlavor, ServerPosition } from "./gtid-compare.js";
export type { DecisionSite } from "../topology/site-observation.js";


export type RecoveryRecordState = "RecoveryInProgress" | "RecoveryBlocked" | "ErrantTransactions";

export interface SiteRecoveryRecord {
  state: RecoveryRecordState;
  divergentGtid?: string;
  divergentTransactionCount?: number;
}

/** What the operator remembers across restarts (CR status and, for the anti-flap pair, annotations). */
export interface DurableRecord {
  /** ISO time of the last failover (emergency or planned). */
  lastFailover?: string;
  lastFailoverTarget?: string;
  promotionGtidExecuted?: string;
  /** The primary we last knew (status.activeSite, kept across restarts). */
  activeSite?: string;
  recovery: Record<string, SiteRecoveryRecord>;
  /** An emergency promotion recorded before its target was made writable, outcome not yet recorded (record.ts). */
  intent?: { target: string; at: string };
  /**
   * A site whose data a clone is replacing (status.bootstrap, shared/reclone/step.ts): its
   * position means nothing until the clone is done, so it is neither repointed nor promoted
   * nor counted as holding anything.
   */
  cloning?: string;
}

export interface DecisionPolicy {
  failoverCooldownMs: number;
  /** spec.splitBrainPolicy.sitePriorities; [] means split brain is alert-only. */
  sitePriorities: readonly string[];
  /** False during maintenance or a restore in place: no automatic promotion (safety fencing continues). */
  automaticFailover: boolean;
  /** Why automatic failover is off, for the messages; default: maintenance. */
  pausedBy?: string;
}

export interface DecisionInput {
  /** ISO time of this decision. */
  now: string;
  /** Every core site has been seen once since the operator started. */
  settled: boolean;
  /** In declaration order (spec.sites): the order breaks ties between candidates. */
  sites: readonly DecisionSite[];
  record: DurableRecord;
  policy: DecisionPolicy;
  /** Decision.ahead of the previous cycle: an errant set is reported once two cycles in a row show it. */
  aheadLastCycle?: Readonly<Record<string, string>>;
  /**
   * Per unreachable site that runs an agent, when the operator waits for it to fence itself
   * (spec.sidecar.awaitSelfFence): the moment its agent has surely fenced its server (ISO), or
   * why that cannot be known (shared/agent/evidence.ts). Absent: no wait for that site.
   */
  selfFence?: Readonly<Record<string, { safeAt: string; basis: string } | { unproven: string }>>;
  /**
   * Empty sites that wait for their clone while another runs (shared/reclone/step.ts
   * awaitingClone): not repointed meanwhile, so that each gets a copy of the primary instead of
   * replaying its whole history.
   */
  awaitingClone?: readonly string[];
}

export type FenceReason = "NonPromotableWritable" | "SplitBrainLoser" | "ReturningOldPrimary";

export type Action =
  | { kind: "fence"; site: string; reason: FenceReason }
  /**
   * The executor fences oldPrimary first if it answers at all. catchUpFrom: a reachable site that
   * holds transactions the target lacks; the target replicates from it until it holds them all,
   * before it is made writable.
   */
  | { kind: "promote"; site: string; oldPrimary?: string; reason: string; catchUpFrom?: string }
  | { kind: "repoint"; site: string; source: string; formerPrimary: boolean }
  /** errant: the site still replicates from the primary (ErrantTransactions), else it is fenced off (RecoveryBlocked). */
  | { kind: "recordDivergence"; site: string; divergentGtid: string; count: number | undefined; errant?: boolean }
  | { kind: "clearRecovery"; site: string };

export type BlockedReason =
  | "NotSettled"
  | "OtherWritable"
  | "NoCandidate"
  | "AutomaticFailoverOff"
  | "Cooldown"
  | "CandidatesDiverged"
  /** A promotion was started (its intent recorded) and its outcome is not known yet. */
  | "FailoverInProgress"
  /** The recorded primary came back read-only (after a crash or a total loss), but making it writable again is not provably safe. */
  | "PrimaryReturnedFenced"
  /** The operator cannot reach the primary, but a replica still receives from it. */
  | "PrimaryReachableByReplicas"
  /** Replicas connected to the unreachable primary have not yet shown whether it is gone. */
  | "WitnessPending"
  /** No reachable site replicates from the unreachable primary: nothing confirms it is gone. */
  | "NoWitness"
  /** The unreachable primary's agent may still keep its server writable: waiting until its lease has surely run out. */
  | "AwaitingSelfFence"
  /** Too few of the other agents answered to know when the unreachable primary's agent fences itself. */
  | "SelfFenceUnproven"
  /** A comparison needed for a safe choice could not be made (position missing or unparsable). */
  | "PositionUnknown";

export interface Blocked {
  reason: BlockedReason;
  /** Stable across cycles while the situation is unchanged (callers emit an event on change). */
  message: string;
  /** ISO time when the cooldown ends (reason Cooldown with a readable record). */
  retryAt?: string;
}

export interface Decision {
  /** In execution order: fences first, then at most one promote, then repoints and records. */
  actions: Action[];
  /** Why no promotion (or split-brain resolution) happened although one was wanted. */
  blocked?: Blocked;
  /**
   * The primary this decision stands behind: persist it as record.activeSite (status.activeSite)
   * rather than the verdict's activeSite, which would also name a writable site decide() is
   * fencing. Undefined: keep the record as it is (after a promote, the executor records the
   * target once it is confirmed writable).
   */
  primary?: string;
  /** Per replica of the confirmed primary: what it holds that the primary lacks this cycle (see aheadLastCycle). */
  ahead?: Record<string, string>;
}

type Answer = "yes" | "no" | "unknown";

/** contains(), turned total: a missing position, bad text or mixed flavors is "unknown". */
function holds(a: DecisionSite, b: DecisionSite): Answer {
  if (a.position === undefined || b.position === undefined) return "unknown";
  try {
    return contains(a.position, b.position) ? "yes" : "no";
  } catch {
    return "unknown";
  }
}

/**
 * What `b` holds that `a` lacks (missing(), turned total): undefined when it cannot be compared.
 * `base`: a's position when it was promoted (MariaDB counts from it, see missing()).
 */
export function lacks(a: DecisionSite, b: DecisionSite, base?: string): MissingTransactions | undefined {
  if (a.position === undefined || b.position === undefined) return undefined;
  try {
    return missing(a.position, b.position, base);
  } catch {
    return undefined;
  }
}

const seenWritable = (s: DecisionSite): boolean =>
  s.polledOk && (s.readOnly === false || (s.readOnly === undefined && s.state === "writable"));
const possiblyWritable = (s: DecisionSite): boolean => seenWritable(s) || s.state === "writable";
const seenReadOnly = (s: DecisionSite): boolean => s.polledOk && s.readOnly !== false && s.state === "read-only";
const isCandidate = (s: DecisionSite): boolean => s.role === "primary-candidate";
const names = (sites: readonly DecisionSite[]): string => sites.map((s) => s.name).join(", ");

export function decide(input: DecisionInput): Decision {
  const nowMs = Date.parse(input.now);
  if (Number.isNaN(nowMs)) throw new RangeError(`decide: invalid time ${JSON.stringify(input.now)}`);
  const { sites, record, policy } = input;

  // R0: nothing mutating before every core site has been seen once since start. A fresh
  // operator knows nothing about sites it has not reached yet; acting on half a picture is how
  // restart amnesia turns into split brain.
  if (!input.settled) {
    return { actions: [], blocked: { reason: "NotSettled", message: "waiting until every core site has been polled once since the operator started" } };
  }

  const byName = new Map(sites.map((s) => [s.name, s]));
  const actions: Action[] = [];
  const fenced = new Set<string>();
  const fence = (site: string, reason: FenceReason): void => {
    if (fenced.has(site)) return;
    fenced.add(site);
    actions.push({ kind: "fence", site, reason });
  };

  // R1: a writable site that may never be primary (dr-only or reader) is fenced on every poll it
  // is seen writable, with no debounce, whatever else is going on, automatic failover off
  // included: it takes writes nobody will ever fail over to (upstream §5.2 rule 1, §5.7 layer 5).
  for (const s of sites) if (!isCandidate(s) && seenWritable(s)) fence(s.name, "NonPromotableWritable");

  const recorded = record.activeSite !== undefined ? byName.get(record.activeSite) : undefined;
  const authority = recorded !== undefined && isCandidate(recorded) ? recorded : undefined;
  // An open intent names the site that may have just been promoted: it is the target, not an
  // intruder to fence.
  const target = record.intent?.target ?? record.lastFailoverTarget;
  const writable = sites.filter((s) => isCandidate(s) && seenWritable(s));

  let rest = writable;
  const only = writable.length === 1 ? writable[0] : undefined;
  if (only !== undefined && authority !== undefined && only !== authority && isSuccessor(only, authority)) {
    // R2a: the recorded primary answers read-only and this writable site holds every transaction
    // it has: a manual promotion (the seeds' break-glass procedure) or a switchover finished while
    // we were not looking. Adopting it loses nothing; fencing it would leave no primary.
    rest = [only];
  } else if (target !== undefined) {
    // R2: after a failover, a writable candidate that is neither the failover target nor the
    // recorded primary is an old primary coming back (a healed partition, a restarted server that
    // skipped its fence). Fence it before anything else, even when the recorded primary is down:
    // it became writable without us, and may lack what the target wrote since. Once read-only,
    // R5 compares it with the primary; if the primary is down, R4 may still choose it, but only
    // through the GTID checks (upstream §5.7 layer 6).
    for (const s of writable) if (s.name !== target && s !== authority) fence(s.name, "ReturningOldPrimary");
    rest = writable.filter((s) => s.name === target || s === authority);
  }

  let blocked: Blocked | undefined;
  let primary: DecisionSite | undefined;
  if (rest.length >= 2) {
    // Maintenance pauses automatic split-brain resolution too: alert only.
    const resolved = policy.automaticFailover ? splitBrain(rest, policy.sitePriorities) : { blocked: { reason: "AutomaticFailoverOff" as const, message: `split brain: ${names(rest)} are writable; automatic resolution is paused (${policy.pausedBy ?? "maintenance"})` } };
    if ("blocked" in resolved) blocked = resolved.blocked;
    else {
      for (const loser of resolved.losers) fence(loser.name, "SplitBrainLoser");
      primary = resolved.winner;
    }
  } else if (rest.length === 1) {
    // One authorised writable candidate: the primary, unless another candidate's debounced state
    // still says writable while its polls fail (then authority is unclear: wait, do nothing).
    const unseen = sites.some((s) => isCandidate(s) && s.state === "writable" && !seenWritable(s));
    if (!unseen) primary = rest[0];
  } else {
    blocked = emergency(input, nowMs, authority, actions);
  }

  // R5 runs only under a confirmed primary: debounced writable, seen writable now, and nothing
  // else possibly writable (no fence pending this cycle). Repointing onto a site whose authority
  // is still contested could chain a replica onto the loser of a split brain.
  const confirmed =
    primary !== undefined &&
    primary.state === "writable" &&
    seenWritable(primary) &&
    fenced.size === 0 &&
    sites.every((s) => s === primary || !possiblyWritable(s));
  const ahead: Record<string, string> = {};
  if (confirmed && primary !== undefined) actions.push(...converge(primary, sites, record, input.aheadLastCycle ?? {}, ahead, new Set(input.awaitingClone)));

  return { actions, ...(blocked ? { blocked } : {}), ...(primary ? { primary: primary.name } : {}), ...(Object.keys(ahead).length > 0 ? { ahead } : {}) };
}

/** The recorded primary answers read-only and `site` holds everything it has executed. */
function isSuccessor(site: DecisionSite, authority: DecisionSite): boolean {
  return seenReadOnly(authority) && holds(site, authority) === "yes";
}

/**
 * R3: two or more writable primary-candidates (after R2). Without sitePriorities: alert only,
 * the seeds' "the operator will not take automatic action". With it: keep the first listed
 * writable site, but only if it holds every transaction the others hold; otherwise fencing the
 * others would hide their divergent writes behind a read-only flag, so alert only and let a
 * human reconcile (upstream ignores GTIDs here; we do not).
 */
function splitBrain(
  writable: readonly DecisionSite[],
  priorities: readonly string[],
): { winner: DecisionSite; losers: DecisionSite[] } | { blocked: Blocked } {
  const head = `split brain: ${names(writable)} are writable`;
  if (priorities.length === 0) {
    return { blocked: { reason: "OtherWritable", message: `${head}; no splitBrainPolicy.sitePriorities, so this is alert-only: fence the non-authoritative site by hand` } };
  }
  const winner = priorities.map((p) => writable.find((s) => s.name === p)).find((s) => s !== undefined);
  if (winner === undefined) {
    return { blocked: { reason: "OtherWritable", message: `${head}; none of them is listed in splitBrainPolicy.sitePriorities, so this is alert-only` } };
  }
  const losers = writable.filter((s) => s !== winner);
  const notHeld = losers.filter((s) => holds(winner, s) !== "yes");
  if (notHeld.length > 0) {
    return {
      blocked: {
        reason: "OtherWritable",
        message: `${head}; preferred site ${winner.name} does not provably hold every transaction of ${names(notHeld)}, and fencing would hide those writes: reconcile by hand`,
      },
    };
  }
  return { winner, losers };
}

/**
 * R4: no authorised writable primary. Promotes a candidate when all of these hold, else says why
 * not (in this order):
 * - a primary was known before (record.activeSite): never elect one from nothing (upstream §5.2
 *   rule 5, "no auto-election"); a fresh operator on a primary-less group waits for a human;
 * - that primary is unreachable (debounced): a reachable read-only one was demoted on purpose
 *   (no automatic election), and one still debouncing its failed polls is not down yet (nothing
 *   is reported meanwhile);
 * - no earlier promotion is still open (an intent whose target has not answered since): it may
 *   have made its target writable already;
 * - no site is possibly writable (a fence must be confirmed first, upstream §5.2 rule 1);
 * - automatic failover is on (off during maintenance);
 * - the cooldown since the last failover has passed (absent record: no cooldown; unreadable
 *   record: refuse, like an unreadable GTID);
 * - some reachable, read-only, primary-candidate site is left that is not known to be divergent;
 * - when that primary runs an agent and the operator waits for it (spec.sidecar.awaitSelfFence),
 *   its lease has surely run out, so its agent has fenced it even if it is up and cut off from
 *   the operator only (shared/agent/evidence.ts): never two writable sites;
 * - the replicas of that primary confirm it is gone (witness.ts): none still receives from it
 *   after the operator lost it, none is still waiting to tell, and at least one replicates from it.
 *   The operator's own failed polls prove only that the operator cannot reach it; promoting
 *   while it serves applications would make two writers. A primary that replicas reach but
 *   applications do not is therefore never failed over automatically;
 * - one of those candidates (divergent ones, RecoveryBlocked, are left to a human, like MOCO's
 *   errant replicas) holds every other reachable site's transactions (readers included, unless
 *   already reported as errant); or, failing that, some reachable site does, and the preferred
 *   candidate catches up from it first (catchUpFrom). Never promote a site that would lose
 *   transactions another reachable site has. Among several (they then hold the same set), one whose applier
 *   is healthy first, then sitePriorities order, then declaration order.
 */
function emergency(input: DecisionInput, nowMs: number, authority: DecisionSite | undefined, actions: Action[]): Blocked | undefined {
  const { sites, record, policy } = input;
  if (authority === undefined) {
    const why = record.activeSite === undefined ? "no primary has been seen yet (status.activeSite is empty)" : `the recorded primary ${record.activeSite} is not a primary-candidate of this group`;
    return { reason: "NoCandidate", message: `no writable site and ${why}; Bloodraven never elects a primary from nothing: promote one by hand` };
  }
  // Still debouncing its failed polls (its last good state was writable or read-only): it is not
  // down yet, and saying "blocked" for every lost packet would only be noise.
  if (authority.state !== "unreachable" && !authority.polledOk) return undefined;
  if (authority.state === "writable") return undefined;
  if (authority.state === "read-only" && authority.lostSinceWritable === true) return reassert(input, nowMs, authority, actions);
  if (authority.state !== "unreachable") {
    return { reason: "NoCandidate", message: `no writable site, but the primary ${authority.name} is ${authority.state}, not unreachable; no automatic election: promote a site by hand or request a planned failover` };
  }
  if (record.intent !== undefined) {
    const { target, at } = record.intent;
    return { reason: "FailoverInProgress", message: `primary ${authority.name} is unreachable; the promotion of ${target} started at ${at} is not settled yet: waiting until ${target} answers` };
  }
  const writable = sites.filter(possiblyWritable);
  if (writable.length > 0) {
    return { reason: "OtherWritable", message: `primary ${authority.name} is unreachable, but ${names(writable)} may be writable; waiting for the fence to be confirmed` };
  }
  if (!policy.automaticFailover) {
    return { reason: "AutomaticFailoverOff", message: `primary ${authority.name} is unreachable; automatic failover is off (${policy.pausedBy ?? "maintenance"})` };
  }
  const cooling = cooldownBlock(record, policy, nowMs, `primary ${authority.name} is unreachable`);
  if (cooling !== undefined) return cooling;

  const candidates = sites.filter(
    (s) => isCandidate(s) && s !== authority && seenReadOnly(s) && s.position !== undefined && record.recovery[s.name]?.state !== "RecoveryBlocked" && s.name !== record.cloning,
  );
  if (candidates.length === 0) {
    return { reason: "NoCandidate", message: `primary ${authority.name} is unreachable and no reachable, read-only, non-divergent primary-candidate is left` };
  }
  const witnessBlock = witnessesSayNo(sites, authority, nowMs);
  if (witnessBlock !== undefined) return witnessBlock;
  const fenceWait = selfFenceWait(input.selfFence?.[authority.name], authority.name, nowMs);
  if (fenceWait !== undefined) return fenceWait;
  const priority = (s: DecisionSite): number => {
    const i = policy.sitePriorities.indexOf(s.name);
    return i < 0 ? policy.sitePriorities.length : i;
  };
  const declared = new Map(sites.map((s, i) => [s, i]));
  // A candidate whose applier is broken comes last: it is chosen only when no other one holds
  // everything, and then the executor refuses it unless the spec accepts the loss.
  const broken = (s: DecisionSite): number => (s.applierError === true ? 1 : 0);
  const ordered = [...candidates].sort((a, b) => broken(a) - broken(b) || priority(a) - priority(b) || declared.get(a)! - declared.get(b)!);
  // Readers count too: one may have received more than every candidate, and is then the only
  // copy. Not those already reported for holding transactions the primary never had.
  const counted = sites.filter((s) => s.polledOk && s.name !== record.cloning && (s.role !== "read-only" || record.recovery[s.name] === undefined));

  const shortfalls: string[] = [];
  const unknowns: string[] = [];
  for (const c of ordered) {
    const others = counted.filter((s) => s !== c);
    const answers = others.map((o) => ({ o, answer: holds(c, o) }));
    const no = answers.filter((a) => a.answer === "no").map((a) => a.o);
    const unknown = answers.filter((a) => a.answer === "unknown").map((a) => a.o);
    if (no.length === 0 && unknown.length === 0) {
      const reason = others.length > 0 ? `primary ${authority.name} is unreachable; ${c.name} holds every transaction of ${names(others)}` : `primary ${authority.name} is unreachable; ${c.name} is the only reachable core site`;
      actions.push({ kind: "promote", site: c.name, oldPrimary: authority.name, reason });
      return undefined;
    }
    if (no.length > 0) shortfalls.push(`${c.name} lacks transactions of ${names(no)}`);
    else unknowns.push(`${c.name} vs ${names(unknown)}`);
  }
  if (shortfalls.length === ordered.length) {
    // No candidate holds everything, but a site that may not be promoted (a reader, dr-only) may:
    // the preferred candidate then catches up from it first, so nothing received is lost.
    const donor = counted.find((d) => counted.every((o) => o === d || holds(d, o) === "yes"));
    const first = ordered[0];
    if (donor !== undefined && first !== undefined) {
      const reason = `primary ${authority.name} is unreachable; ${donor.name} holds every transaction of ${names(counted.filter((o) => o !== donor))}, so ${first.name} catches up from it before it is promoted`;
      actions.push({ kind: "promote", site: first.name, oldPrimary: authority.name, reason, catchUpFrom: donor.name });
      return undefined;
    }
    return { reason: "CandidatesDiverged", message: `primary ${authority.name} is unreachable; no candidate holds every reachable site's transactions (${shortfalls.join("; ")}); promoting any would lose data` };
  }
  return { reason: "PositionUnknown", message: `primary ${authority.name} is unreachable; cannot compare executed transactions (${unknowns.join("; ")})` };
}

/** Blocked while an unreachable primary's agent may still keep its server writable. */
function selfFenceWait(evidence: NonNullable<DecisionInput["selfFence"]>[string] | undefined, primary: string, nowMs: number): Blocked | undefined {
  if (evidence === undefined) return undefined;
  if ("unproven" in evidence) {
    return { reason: "SelfFenceUnproven", message: `primary ${primary} is unreachable, but it runs an agent and ${evidence.unproven}; promoting now could leave two writable sites` };
  }
  if (Date.parse(evidence.safeAt) <= nowMs) return undefined;
  return {
    reason: "AwaitingSelfFence",
    // Stable while the wait lasts (an event per change): the moment itself is in retryAt.
    message: `primary ${primary} is unreachable; waiting until its agent has surely fenced it: ${evidence.basis}, and its lease runs out leaseTimeout after that`,
    retryAt: evidence.safeAt,
  };
}

/** The anti-flap cooldown since the last failover, as a Blocked with `head` in front; undefined once it is over. */
function cooldownBlock(record: DurableRecord, policy: DecisionPolicy, nowMs: number, head: string): Blocked | undefined {
  const c = cooldown(record.lastFailover, policy.failoverCooldownMs, nowMs);
  if (!c.active) return undefined;
  if (c.unreadable) {
    return { reason: "Cooldown", message: `${head}; the recorded last failover time ${JSON.stringify(record.lastFailover)} is unreadable, so the cooldown cannot be proven over` };
  }
  const retryAt = new Date(c.untilMs).toISOString();
  return { reason: "Cooldown", message: `${head}; failover blocked by the anti-flap cooldown until ${retryAt} (last failover ${record.lastFailover})`, retryAt };
}

/**
 * R4b: the recorded primary was lost (a crash, a restart too short to fail over, a total loss)
 * and came back read-only (a server boots fenced). It is made writable again (through the
 * promotion sequence, intent first) only when that provably loses nothing and cannot make two
 * writers: every site of the group answers read-only, the recorded primary holds every other site's transactions and the recorded
 * promotion position, nothing else is open, automatic failover is on, and the cooldown is over
 * (a re-assertion is recorded like a failover, so it happens at most once per cooldown).
 */
function reassert(input: DecisionInput, nowMs: number, authority: DecisionSite, actions: Action[]): Blocked | undefined {
  const { sites, record, policy } = input;
  const head = `the recorded primary ${authority.name} came back read-only after it was lost`;
  const why = ((): string | undefined => {
    const notBack = sites.filter((s) => !seenReadOnly(s));
    if (notBack.length > 0) return `${names(notBack)} ${notBack.length === 1 ? "is" : "are"} not answering read-only yet`;
    if (record.intent !== undefined) return `the promotion of ${record.intent.target} started at ${record.intent.at} is not settled`;
    if (record.recovery[authority.name]?.state === "RecoveryBlocked") return `${authority.name} is marked divergent`;
    const behind = sites.filter((s) => s !== authority && holds(authority, s) !== "yes");
    if (behind.length > 0) return `${authority.name} does not provably hold every transaction of ${names(behind)}`;
    const promoted = record.lastFailoverTarget === authority.name ? record.promotionGtidExecuted : undefined;
    if (!promoted) return undefined;
    const atPromotion: DecisionSite = { ...authority, ...(authority.position ? { position: { flavor: authority.position.flavor, gtidExecuted: promoted } } : {}) };
    return holds(authority, atPromotion) === "yes" ? undefined : `${authority.name} does not hold its recorded promotion position ${promoted}`;
  })();
  if (why !== undefined) return { reason: "PrimaryReturnedFenced", message: `${head}, but it is not made writable: ${why}; promote a site by hand once you know which holds your data` };
  if (!policy.automaticFailover) return { reason: "AutomaticFailoverOff", message: `${head}; automatic failover is off (${policy.pausedBy ?? "maintenance"})` };
  const cooling = cooldownBlock(record, policy, nowMs, head);
  if (cooling !== undefined) return cooling;
  actions.push({ kind: "promote", site: authority.name, reason: `${head}, and it holds every transaction of the group: re-asserted as the primary` });
  return undefined;
}

/** Why the replicas' evidence forbids promoting now, or undefined when they confirm the primary is gone. */
function witnessesSayNo(sites: readonly DecisionSite[], authority: DecisionSite, nowMs: number): Blocked | undefined {
  // Unknown start of the outage: any receipt at all counts as a sign of life.
  const lostAt = authority.failingSince !== undefined ? Date.parse(authority.failingSince) : -Infinity;
  const views = sites.flatMap((s) => (s !== authority && s.polledOk && s.replicatingFrom === authority.name && s.receiver !== undefined ? [{ name: s.name, ...s.receiver }] : []));
  const verdict = witnessVerdict(views, Number.isNaN(lostAt) ? -Infinity : lostAt, nowMs);
  const p = authority.name;
  switch (verdict.kind) {
    case "alive":
      return {
        reason: "PrimaryReachableByReplicas",
        message: `operator cannot reach the primary ${p}; replicas can (${verdict.sites.join(", ")} still receive from it): no failover while it is alive. Check the network between the operator and ${p}`,
      };
    case "pending":
      return { reason: "WitnessPending", message: `primary ${p} is unreachable; waiting for ${verdict.sites.join(", ")} (still connected to it) to confirm it is gone` };
    case "none":
      return {
        reason: "NoWitness",
        message: `primary ${p} is unreachable, but no reachable site replicates from it, so nothing confirms it is gone: check that ${p} is down, then promote a site by hand`,
      };
    case "gone":
      return undefined;
  }
}

/**
 * R5, under a confirmed primary P, for every other site that answers read-only:
 * - a managed site configured to replicate from P whose threads are stopped without an error (its
 *   server restarted) and whose transactions P holds: repoint it, which starts replication again;
 * - replicating from P: clear its recovery record, if any, once P holds everything it has. If it
 *   holds transactions P lacks, report them (ErrantTransactions, with the set and count) once two
 *   cycles in a row show the same set: a replica read a moment after P can look ahead of it
 *   (MOCO's false "errant" reports), but never by the same set twice. It stays a replica and a
 *   candidate (promoting it loses nothing);
 * - otherwise (an old primary, a follower of the old primary, a fenced loser): repoint it onto P
 *   only if P holds every transaction it has (never repoint onto a source missing its
 *   transactions: replication would either break or silently skip history). `formerPrimary`
 *   when it has no replication source at all or has a recovery record: the executor then uses
 *   the old-primary sequence (RESET REPLICA ALL, RecoveryInProgress persisted first);
 * - not held: record the divergence (site − P, with the exact count where the flavor allows)
 *   and never repoint. Re-checked every cycle: if someone replays the missing transactions on
 *   P, it becomes held and is repointed. Emitted only when the record would change.
 * Positions that are missing or cannot be compared: nothing this cycle.
 * Also clears leftover recovery records of P itself and of sites no longer in the group.
 */
function converge(
  primary: DecisionSite,
  sites: readonly DecisionSite[],
  record: DurableRecord,
  aheadLastCycle: Readonly<Record<string, string>>,
  ahead: Record<string, string>,
  awaitingClone: ReadonlySet<string>,
): Action[] {
  const out: Action[] = [];
  const base = primary.name === record.lastFailoverTarget ? record.promotionGtidExecuted : undefined;
  const recorded = (rec: SiteRecoveryRecord | undefined, state: RecoveryRecordState, m: MissingTransactions): boolean =>
    rec?.state === state && rec.divergentGtid === m.text && rec.divergentTransactionCount === m.count;
  const known = new Set(sites.map((s) => s.name));
  for (const name of Object.keys(record.recovery)) if (!known.has(name)) out.push({ kind: "clearRecovery", site: name });
  if (record.recovery[primary.name] !== undefined) out.push({ kind: "clearRecovery", site: primary.name });
  for (const s of sites) {
    if (s === primary || !seenReadOnly(s) || s.name === record.cloning || awaitingClone.has(s.name)) continue;
    const rec = record.recovery[s.name];
    const answer = holds(primary, s);
    if (s.replicatingFrom === primary.name && s.replicationStopped && answer === "yes") {
      out.push({ kind: "repoint", site: s.name, source: primary.name, formerPrimary: rec !== undefined });
      continue;
    }
    if (s.replicatingFrom === primary.name) {
      if (answer === "yes" && rec !== undefined) out.push({ kind: "clearRecovery", site: s.name });
      const found = answer === "no" ? lacks(primary, s, base) : undefined;
      // The primary's own newest writes, read on the replica after the primary's poll, are not errant.
      const m = found && primary.origin && primary.position ? withoutOrigin(found, primary.position.flavor, primary.origin) : found;
      if (m !== undefined && m.text !== "") {
        ahead[s.name] = m.text;
        if (aheadLastCycle[s.name] === m.text && rec?.state !== "RecoveryBlocked" && !recorded(rec, "ErrantTransactions", m)) {
          out.push({ kind: "recordDivergence", site: s.name, divergentGtid: m.text, count: m.count, errant: true });
        }
      }
      continue;
    }
    if (answer === "yes") {
      out.push({ kind: "repoint", site: s.name, source: primary.name, formerPrimary: s.replicatingFrom === undefined || rec !== undefined });
    } else if (answer === "no") {
      const m = lacks(primary, s, base);
      if (m === undefined) continue;
      if (!recorded(rec, "RecoveryBlocked", m)) out.push({ kind: "recordDivergence", site: s.name, divergentGtid: m.text, count: m.count });
    }
  }
  return out;
}
