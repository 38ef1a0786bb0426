/**
 * The operator's side of self-fencing: from what it answered and what the other sites' agents
 * report, the earliest moment at which an unreachable primary's agent has surely fenced its
 * server (fencing.ts). Times are milliseconds on the operator's clock.
 *
 * The subject's agent keeps its server writable until `leaseTimeoutMs` after its latest renewal,
 * counted from when it sent the question. Its renewals are
 *   - an operator answer standing behind it: the operator records when it answered, which is no
 *     earlier than when the agent asked;
 *   - a majority of the group reached: each peer agent reports how long ago the subject last
 *     asked it while the subject's server could be writable (the subject says so in each ask:
 *     a dead server's agent renews nothing that matters). The ask is no earlier than the subject
 *     sent it. A peer that does not answer is counted as reached just now, and a peer that
 *     restarted since as reached when it started.
 * So the bound below is never earlier than the truth. Then `marginMs` for the fence itself.
 */
import { peersForMajority } from "./fencing.js";

/** One other site's agent, as the operator heard it. */
export interface PeerReport {
  readonly site: string;
  /** When the operator received the answer. */
  readonly answeredAt: number;
  /** How long ago the subject last asked this agent while its server could be writable; undefined: not since this agent started. */
  readonly askedAgoMs?: number;
  /** How long this agent has been running. */
  readonly upMs: number;
}

export interface SelfFenceInput {
  readonly subject: string;
  /** Every site of the group, the subject included. */
  readonly groupSize: number;
  readonly leaseTimeoutMs: number;
  readonly marginMs: number;
  /**
   * The latest operator answer that stood behind the subject, or when this operator began to
   * watch the group if later: a new leader cannot know what the previous one answered.
   */
  readonly operatorConfirmedAt: number;
  /** The agents of the other sites that answered (not the subject's). */
  readonly reports: readonly PeerReport[];
}

export type SelfFenceEvidence = { readonly safeAt: number; readonly basis: string } | { readonly unproven: string };

export function selfFencedBy(input: SelfFenceInput): SelfFenceEvidence {
  const k = peersForMajority(input.groupSize);
  const others = input.groupSize - 1;
  const silent = others - input.reports.length;
  if (k > 0 && silent >= k) {
    return {
      unproven: `only ${input.reports.length} of the ${others} other sites' agents answered: ${input.subject}'s agent may still reach a majority through the ${silent} that did not`,
    };
  }
  // The subject's majority renewal: its k-th most recent peer contact, the silent peers taking
  // the most recent places.
  const reached = input.reports.map((r) => r.answeredAt - (r.askedAgoMs ?? r.upMs)).sort((a, b) => b - a);
  const majority = k === 0 ? -Infinity : (reached[k - silent - 1] ?? -Infinity);
  const latest = Math.max(input.operatorConfirmedAt, majority);
  const basis = majority > input.operatorConfirmedAt ? `a majority of the sites reached ${input.subject}'s agent last` : `the operator stood behind ${input.subject} last`;
  return { safeAt: latest + input.leaseTimeoutMs + input.marginMs, basis };
}
