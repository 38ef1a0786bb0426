import type { DragonflyPromotionResult, FailoverFailureReason, FailoverKind, FailoverStage, PlannedFailoverResult, RecloneResult, RestoreKind, SiteRole, SiteState } from "../../shared/names.js";

/** The metrics one group reports (operator/http/metrics.ts implements them). */
export interface GroupMetrics {
  observePoll(namespace: string, group: string, site: string, seconds: number): void;
  observeCycle(seconds: number): void;
  recordTransition(namespace: string, group: string, site: string, from: SiteState, to: SiteState): void;
  /** Creates a site's counters at zero, so the first increment shows in increase(). */
  registerSite(namespace: string, group: string, site: string): void;
  forgetSite(namespace: string, group: string, site: string): void;
  setSiteState(namespace: string, group: string, site: string, state: SiteState): void;
  setSiteRole(namespace: string, group: string, site: string, role: SiteRole): void;
  setReplication(namespace: string, group: string, site: string, lagSeconds: number | null, ioRunning: boolean, sqlRunning: boolean): void;
  clearReplication(namespace: string, group: string, site: string): void;
  forgetGroup(namespace: string, group: string): void;
  recordFailover(namespace: string, group: string, targetSite: string, kind: FailoverKind): void;
  observeFailover(namespace: string, group: string, stage: FailoverStage, seconds: number): void;
  recordFailoverFailure(namespace: string, group: string, reason: FailoverFailureReason): void;
  recordFailoverBlocked(namespace: string, group: string, reason: string): void;
  recordLostTransactions(namespace: string, group: string, site: string, count: number): void;
  recordReconcileError(namespace: string, group: string, reconciler: string): void;
  recordPlannedFailover(namespace: string, group: string, targetSite: string, result: PlannedFailoverResult): void;
  observePlannedFailover(namespace: string, group: string, seconds: number): void;
  observePlannedLagWait(namespace: string, group: string, seconds: number): void;
  setMaintenance(namespace: string, group: string, active: boolean): void;
  setDivergent(namespace: string, group: string, site: string, transactions: number): void;
  recordReclone(namespace: string, group: string, site: string, result: RecloneResult): void;
  setArchiver(namespace: string, group: string, site: string, archive: { uploadFailures: number; lastUploadSeconds: number; backlogFiles: number }): void;
  clearArchiver(namespace: string, group: string, site: string): void;
  /** The completion time (Unix seconds; 0 for none yet) of each profile's newest Succeeded backup; profiles not named lose their series. */
  setBackupLastSuccess(namespace: string, group: string, byProfile: ReadonlyMap<string, number>): void;
  /** Per profile: the completion time of the newest Succeeded verification, and of the newest ended one (0: none). */
  setVerificationTimes(namespace: string, group: string, times: { verified: ReadonlyMap<string, number>; attempted: ReadonlyMap<string, number> }): void;
  /** A verification this operator saw end; `replayLagSeconds` only for a Succeeded one that replayed. */
  recordVerification(namespace: string, group: string, profile: string, outcome: { passed: boolean; seconds: number; replayLagSeconds?: number }): void;
  /** A restore this operator saw succeed: its duration and, when known, the source artifact's size (unknown clears the older one). */
  setDragonflySiteUp(namespace: string, group: string, site: string, up: boolean): void;
  forgetDragonflySite(namespace: string, group: string, site: string): void;
  /** A promotion of a cache server; the other results of the target start at 0, so increase() sees the first one. */
  recordDragonflyPromotion(namespace: string, group: string, targetSite: string, result: DragonflyPromotionResult): void;
  /** A fault of the cache reconciler, caught. */
  recordDragonflyPanic(namespace: string, group: string): void;
  recordRestore(namespace: string, group: string, kind: RestoreKind, targetSite: string, outcome: { seconds: number; finishedAt: number; sourceBytes?: number }): void;
}
