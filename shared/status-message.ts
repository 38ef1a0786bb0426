import type { RecoveryState, SiteRole, SiteState } from "./names.js";

/**
 * One failover group as the status API and the WebSocket stream show it (the seeds' monitoring
 * page): camelCase keys, one message per group at the end of every poll cycle.
 */
export interface SiteStatusMessage {
  name: string;
  role: SiteRole;
  state: SiteState;
  lastSeen?: string;
  replicating: boolean;
  secondsBehindSource?: number | null;
  gtidExecuted?: string;
  sourceHost?: string;
  recoveryState?: RecoveryState;
  divergentGtid?: string;
  divergentTransactionCount?: number;
}

export interface GroupStatusMessage {
  namespace: string;
  group: string;
  /** The single writable primary candidate; "" when authority is ambiguous. */
  activeSite: string;
  /**
   * The site the operator stands behind as primary, also while activeSite is "" (a split brain,
   * a primary that is down): what the agents' self-fencing compares against.
   */
  lastKnownPrimary?: string;
  /** Healthy | Degraded | SplitBrain | NoPrimary | TotalLoss */
  verdict: string;
  sites: SiteStatusMessage[];
  lastFailover?: string;
  lastFailoverTarget?: string;
  promotionGtidExecuted?: string;
  /** Present while maintenance mode pauses automatic failover. */
  maintenance?: { until: string; reason?: string; by?: string };
  /** The session cache (spec.dragonfly) as last written to status.dragonfly, when enabled. */
  dragonfly?: { phase: string; activeSite?: string };
  pollTime: string;
}

/**
 * The primary the operator stands behind while its last poll sees it writable; "" otherwise (no
 * primary yet, or it is down or unreachable). Agents keep a writable server up on this answer
 * (shared/agent/fencing.ts), so an operator that lost its primary stops renewing it at once.
 */
export function confirmedPrimary(message: GroupStatusMessage): string {
  const primary = message.lastKnownPrimary ?? "";
  return message.sites.some((s) => s.name === primary && s.state === "writable") ? primary : "";
}
