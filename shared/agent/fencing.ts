/**
 * The per-site agent's self-fencing rules, as pure functions of what the agent has heard and
 * when. Times are milliseconds on the agent's own monotonic clock.
 *
 * A writable server keeps a lease. The lease is renewed by either
 *   - the operator answering that it stands behind this very site as primary, or
 *   - a majority of the group's sites (this one included) being reachable: the agent pinged
 *     enough peers successfully. An agent without peers has only the operator.
 * A renewal counts from the moment its request was sent, never from when the answer arrived, so
 * the lease can only end earlier than the truth, never later. Renewals are tracked whether the
 * server is writable or not. Becoming writable renews it from the last check that still saw the
 * server read-only (`becameWritableAfter`): the operator, which records when it makes a server
 * writable, knows of that renewal too (evidence.ts).
 *
 * Rule 1 (topology): the freshest authoritative view (the operator's answer, or a peer's relay of
 * it) names another site: fence at once. Only views observed after the server became writable
 * count: the operator announces a new primary a moment after making it writable, and an answer
 * from before must not fence the primary it has just promoted.
 * Rule 2 (lease): no renewal for `leaseTimeoutMs`: fence. Unlike the original, one reachable
 * reader does not keep an isolated primary writable in a group of three: it takes a majority.
 *
 * The agent never lifts its own fence; only the operator makes a server writable.
 */

/**
 * The agent's server as its last read found it: `down` when nothing listens on its port (it
 * accepts no writes from anyone), `unknown` when the read failed otherwise (a wrong password, a
 * timeout: it may be up and writable).
 */
export type ServerState = "writable" | "read-only" | "down" | "unknown";
export const SERVER_STATES: readonly ServerState[] = ["writable", "read-only", "down", "unknown"];

/** A server that may accept writes: only these keep a lease that matters (evidence.ts). */
export function possiblyWritable(state: ServerState): boolean {
  return state === "writable" || state === "unknown";
}

/** What the operator last said, directly or relayed by a peer. */
export interface ActiveSiteView {
  /** The site the operator stands behind as primary; "" when it has none. */
  readonly primary: string;
  /**
   * When the operator observed the sites for this view, on this agent's clock (estimated on
   * the early side: the ask's send time minus the age the answer reports).
   */
  readonly observedAt: number;
  /** "operator", or the peer that relayed it. */
  readonly source: string;
}

export interface LeaseInput {
  readonly site: string;
  /** Every site of the group, this one included (majority is counted over these). */
  readonly groupSize: number;
  readonly leaseTimeoutMs: number;
  /** Send time of the last operator answer naming this site. */
  readonly operatorConfirmedAt?: number | undefined;
  /** Send time of the last successful ping, per peer site. */
  readonly peerReachedAt: Readonly<Record<string, number>>;
  /** When the agent saw its server writable first (late, never early): rule 1 ignores views observed before. */
  readonly writableSince: number;
  /**
   * No later than the moment the server became writable: the send time of the agent's last check
   * that still read it read-only. It renews the lease, so a promotion is not undone by the
   * silence before it: the operator records each server it makes writable as one it stands
   * behind, at a moment no earlier than this.
   */
  readonly becameWritableAfter: number;
}

export type FenceVerdict =
  | { readonly fence: false; readonly leaseUntil: number }
  | { readonly fence: true; readonly rule: "topology" | "lease"; readonly reason: string };

/** Peers needed, besides this site, for a strict majority of `groupSize` sites (groups of two or more). */
export function peersForMajority(groupSize: number): number {
  return Math.floor(groupSize / 2);
}

/**
 * The last moment a majority was reachable: the k-th most recent peer contact, where k peers
 * make a majority with this site. Without peers there is no majority to reach: a lone agent,
 * which might just lack its peer list, must hear from the operator.
 */
export function majorityReachedAt(groupSize: number, peerReachedAt: Readonly<Record<string, number>>): number | undefined {
  const k = peersForMajority(groupSize);
  if (k === 0) return undefined;
  const times = Object.values(peerReachedAt).sort((a, b) => b - a);
  return times.length >= k ? times[k - 1] : undefined;
}

/** When the lease ends, from the latest of its renewals. */
export function leaseUntil(input: LeaseInput): number {
  const renewals = [input.becameWritableAfter, input.operatorConfirmedAt, majorityReachedAt(input.groupSize, input.peerReachedAt)].filter((t): t is number => t !== undefined);
  return Math.max(-Infinity, ...renewals) + input.leaseTimeoutMs;
}

/** Whether a writable server must fence itself now, and by which rule. */
export function fenceVerdict(input: LeaseInput, view: ActiveSiteView | undefined, now: number): FenceVerdict {
  if (view !== undefined && view.primary !== "" && view.primary !== input.site && view.observedAt > input.writableSince) {
    return { fence: true, rule: "topology", reason: `${view.source === "operator" ? "the operator" : `peer ${view.source}, relaying the operator,`} stands behind ${view.primary} as primary` };
  }
  const until = leaseUntil(input);
  if (now >= until) {
    const reached = Object.keys(input.peerReachedAt).filter((peer) => (input.peerReachedAt[peer] ?? -Infinity) + input.leaseTimeoutMs > now);
    return {
      fence: true,
      rule: "lease",
      reason:
        input.groupSize > 1
          ? `no confirmation from the operator and no majority of the ${input.groupSize} sites reachable for ${input.leaseTimeoutMs} ms (peers reachable: ${reached.length > 0 ? reached.sort().join(", ") : "none"}; ${peersForMajority(input.groupSize)} needed)`
          : `no confirmation from the operator for ${input.leaseTimeoutMs} ms, and no peers configured`,
    };
  }
  return { fence: false, leaseUntil: until };
}

/** A relayed view replaces the cached one only when strictly newer: the operator stays authoritative. */
export function newerView(cached: ActiveSiteView | undefined, candidate: ActiveSiteView): ActiveSiteView {
  return cached === undefined || candidate.observedAt > cached.observedAt ? candidate : cached;
}

/**
 * Whether an answer to the startup question decides it: it names a site, active or last known.
 * One that names none (a new group between its first primary's seed and the operator adopting
 * it, or a group that never had a primary) is asked again at the next check, the fence kept, so
 * that the operator's next word, not a snapshot taken a moment too early, decides.
 */
export function startupAnswerDecides(answer: { activeSite: string; lastKnownPrimary: string }): boolean {
  return answer.activeSite !== "" || answer.lastKnownPrimary !== "";
}

/**
 * The startup safety net's one decision, once the server is fenced: lift the fence only when the
 * server was writable when the agent started (only the agent restarted, and its own fence must
 * not take the primary away: the operator may have polled it fenced in between, and never
 * re-asserts a primary it saw demoted while reachable), and the operator itself answered
 * (`undefined`: no answer, a timeout, an error status) naming this site as the single writable
 * one or standing behind it as primary.
 *
 * A server that started read-only is never lifted: there is no fence of the agent's to take back.
 * After a restart the operator makes it writable again only once it has checked that it holds
 * every transaction of the group; and an answer naming it active was observed either before the
 * restart, or after the operator made it writable itself, in which case lifting it later could
 * undo a fence the operator has set since (a switchover's).
 */
export function liftFenceAtStartup(site: string, answer: { activeSite: string; lastKnownPrimary: string } | undefined, wasWritable: boolean): boolean {
  if (answer === undefined || !wasWritable) return false;
  return answer.activeSite === site || answer.lastKnownPrimary === site;
}
