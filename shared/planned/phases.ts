import type { PlannedFailoverPhase } from "../names.js";

/** One phase of a switchover: what is persisted before its work, the work, and what undoes it. */
export interface PlannedPhase {
  /** Written (awaited) before the phase's work starts, so a restarted operator resumes from it. */
  persistedFirst: string;
  /**
   * False where a crash before the write is safe without it: the work runs first, and the phase is
   * written only if the switchover does not move on at once (the next block supersedes it).
   */
  writtenBeforeWork: boolean;
  /** The work of the phase, once it is persisted. */
  work: string;
  /**
   * How the switchover is abandoned from this phase: `nothing` to undo (it just ends Failed),
   * `unfence-source` (a rollback, recorded with `rollingBack` and retried until the source is
   * writable again), or `forward-only` (too late: it can only go on).
   */
  undo: "nothing" | "unfence-source" | "forward-only";
  /** Removing the request annotation cancels the switchover in this phase. */
  cancellable: boolean;
  /** The phase's work changes servers: the emergency core stays out while it is current. */
  holdsEmergency: boolean;
}

/**
 * The switchover's do and undo, one row per phase: read by the state machine (step.ts), by
 * docs/failover.md (whose table a unit test holds to this one) and by the tests.
 */
export const PLANNED_PHASES: Readonly<Record<PlannedFailoverPhase, PlannedPhase>> = {
  Pending: {
    persistedFirst: "the block: requestId, target, source, effective maxLagWait and drainTimeout, startTime",
    writtenBeforeWork: true,
    work: "none on a server",
    undo: "nothing",
    cancellable: true,
    holdsEmergency: false,
  },
  Validating: {
    persistedFirst: "the phase",
    writtenBeforeWork: true,
    work: "checks the target, the primary, errant transactions, recoveries and the cooldown",
    undo: "nothing",
    cancellable: true,
    holdsEmergency: false,
  },
  Deferred: {
    persistedFirst: "the phase and retryAfter",
    writtenBeforeWork: true,
    work: "none until retryAfter",
    undo: "nothing",
    cancellable: true,
    holdsEmergency: false,
  },
  Draining: {
    persistedFirst: "the phase",
    writtenBeforeWork: true,
    work: "fences the source, reads its executed GTIDs, kills its application sessions",
    undo: "unfence-source",
    cancellable: true,
    holdsEmergency: true,
  },
  WaitingForLag: {
    persistedFirst: "nothing: the phase and sourceGtidAtFence are written after the first wait, and only if the target has not caught up (a restart in Draining fences again)",
    writtenBeforeWork: false,
    work: "waits until the target contains sourceGtidAtFence",
    undo: "unfence-source",
    cancellable: true,
    holdsEmergency: true,
  },
  Promoting: {
    persistedFirst: "the phase",
    writtenBeforeWork: true,
    work: "promotes the target if it still contains sourceGtidAtFence, then persists the failover record",
    undo: "unfence-source",
    cancellable: false,
    holdsEmergency: true,
  },
  Resuming: {
    persistedFirst: "the phase",
    writtenBeforeWork: true,
    work: "none of its own: the emergency core adopts the target and repoints the source",
    undo: "forward-only",
    cancellable: false,
    holdsEmergency: false,
  },
  Succeeded: { persistedFirst: "the phase, transactionsLost 0, completionTime", writtenBeforeWork: true, work: "clears the request", undo: "forward-only", cancellable: false, holdsEmergency: false },
  Failed: { persistedFirst: "the phase, reason, message, completionTime", writtenBeforeWork: true, work: "clears the request", undo: "nothing", cancellable: false, holdsEmergency: false },
};

/** Phases whose work changes servers: the emergency path stays out of them. */
export const PLANNED_HOLD_PHASES: readonly PlannedFailoverPhase[] = (Object.keys(PLANNED_PHASES) as PlannedFailoverPhase[]).filter((p) => PLANNED_PHASES[p].holdsEmergency);
