import { durableRecord } from "../../shared/failover/decision-input.js";
import { cooldown } from "../../shared/failover/cooldown.js";
import { formatPlannedFailover } from "../../shared/annotations.js";
import { parseDuration } from "../../shared/duration.js";
import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { isOutdated } from "../../shared/managed/inventory.js";
import { isManaged } from "../../shared/managed/sites.js";
import { updateDecision, type UpdateDecision } from "../../shared/managed/updates.js";
import { ANNOTATIONS, EVENT_REASONS } from "../../shared/names.js";
import { isTerminal } from "../../shared/planned/step.js";
import type { GroupContext } from "./context.js";
import { DONE, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/** Request ids of the switchovers an update asks for start with this, so they read as the update's in status. */
const UPDATE_REQUEST_PREFIX = "ordered-update-";
/** After a failed switchover (for example LagTimeout, rolled back), the update asks again this much later. */
const SWITCHOVER_RETRY_MS = 60_000;

/**
 * Rolls a new template onto the managed sites' pods (shared/managed/updates.ts): restarts pods
 * (eviction, so the PodDisruptionBudget has its say, or deletion with Recreate) and asks for the
 * switchover the same way `kubectl bloodraven failover` does, so the planned path with its
 * GTID proof and rollback does the primary's part.
 */
export class UpdatesReconciler implements Reconciler {
  readonly name = "updates";
  /** site -> uid of the pod this reconciler restarted; until the site has another pod, it counts as not Ready. */
  private readonly restarted = new Map<string, string>();
  /** Sites this update restarted: waiting for them to catch up is progress, not a blocked update. */
  private readonly rolled = new Set<string>();
  private lastReason: string | undefined;
  /** The switchover this reconciler asked for, until status shows its outcome; then, if it failed, when to ask again. */
  private requested: { id: string; target: string } | undefined;
  private retryAt = 0;

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    const { managed, observed, observations } = cycle;
    if (!managed || !observed) return DONE;
    const statuses = new Map(observed.sites.map((s) => [s.name, s]));
    const sites = ctx.spec.sites.map((spec) => {
      const inventory = managed.get(spec.name);
      const pod = inventory?.pod;
      const status = statuses.get(spec.name);
      if (pod && this.restarted.has(spec.name) && this.restarted.get(spec.name) !== pod.uid) this.restarted.delete(spec.name);
      const restarting = pod !== undefined && this.restarted.get(spec.name) === pod.uid;
      return {
        name: spec.name,
        role: spec.role,
        managed: isManaged(spec),
        outdated: isOutdated(inventory),
        podReady: !isManaged(spec) || (pod?.ready === true && pod.phase === "Running" && !restarting),
        answered: observations?.get(spec.name) !== undefined,
        state: status?.state,
        replicating: status?.replicating,
        lagSeconds: status?.secondsBehindSource,
      };
    });
    this.settleRequest();
    const record = durableRecord(ctx.store.written ?? ctx.group.status, ctx.annotations);
    const wait = cooldown(record.lastFailover, parseDuration(ctx.spec.failoverCooldown), Date.now());
    const decision = updateDecision({
      strategy: ctx.spec.updateStrategy,
      sites,
      primary: cycle.primary,
      maxLagSeconds: ctx.spec.replication.maxLagSeconds,
      busy: this.busy(cycle, wait.active && wait.unreadable),
      ...(wait.active && !wait.unreadable ? { cooldownUntil: wait.untilMs } : {}),
    });
    cycle.update = decision;
    this.report(decision);
    if (decision.kind === "restart") await this.restart(decision.sites, managed);
    if (decision.kind === "switchover") await this.switchOver(decision.target);
    return DONE;
  }

  /**
   * Forgets the switchover this update asked for once status shows its outcome (until then the
   * annotation may not have reached this copy of the group: never ask twice); after a failure,
   * asks again only SWITCHOVER_RETRY_MS later.
   */
  private settleRequest(): void {
    const { ctx } = this;
    const asked = this.requested;
    const block = (ctx.store.written ?? ctx.group.status)?.plannedFailover;
    if (!asked || block?.requestId !== asked.id || !isTerminal(block.phase)) return;
    this.requested = undefined;
    if (block.phase !== "Failed") return;
    this.retryAt = Date.now() + SWITCHOVER_RETRY_MS;
    ctx.recordEvent({
      type: "Warning",
      reason: EVENT_REASONS.updateBlocked,
      message: `the switchover to ${asked.target} failed (${block.reason ?? "no reason"}: ${block.message ?? ""}); the update asks again at ${new Date(this.retryAt).toISOString()}`,
    });
  }

  /** Something else is changing the group; the update waits for it. */
  private busy(cycle: GroupCycle, unreadableCooldown: boolean): string | undefined {
    const { ctx } = this;
    const written = ctx.store.written ?? ctx.group.status;
    const restoring = written?.restoreInPlace?.phase === "Running";
    if (restoring) return "a restore in place is running (spec.restoreInPlace)";
    if (cycle.holdEmergency) return "a switchover is in progress";
    if (ctx.annotations[ANNOTATIONS.plannedFailover] !== undefined) return "a planned failover is requested";
    if (this.requested) return `the switchover to ${this.requested.target} this update asked for has not finished`;
    if (Date.now() < this.retryAt) return `the update's last switchover failed; it asks again at ${new Date(this.retryAt).toISOString()}`;
    if (written?.failoverIntent) return `the promotion of ${written.failoverIntent.target} is being settled`;
    const recovering = cycle.observed?.sites.find((s) => s.recoveryState === "RecoveryInProgress");
    if (recovering) return `site ${recovering.name} is rejoining as a replica`;
    if (unreadableCooldown) return "the time of the last failover cannot be read, so failoverCooldown cannot be proven over";
    return undefined;
  }

  private async restart(sites: readonly string[], managed: NonNullable<GroupCycle["managed"]>): Promise<void> {
    const { ctx } = this;
    const respectBudget = ctx.spec.updateStrategy === "OrderedUpdate";
    for (const site of sites) {
      const pod = managed.get(site)?.pod;
      if (!pod || this.restarted.get(site) === pod.uid) continue;
      try {
        await ctx.deps.restartPod(ctx.namespace, pod.name, pod.uid, respectBudget);
      } catch (err) {
        // A budget refusal (429) or a pod already replaced (409): the next cycle decides again.
        ctx.log.warn(LOG_MESSAGES.updateWaiting, { site, pod: pod.name, error: errorText(err) });
        continue;
      }
      this.restarted.set(site, pod.uid);
      this.rolled.add(site);
      ctx.log.info(LOG_MESSAGES.updateRestartingSite, { site, pod: pod.name, strategy: ctx.spec.updateStrategy });
      ctx.recordEvent({ type: "Normal", reason: EVENT_REASONS.updateRestartingSite, message: `site ${site}: pod ${pod.name} restarted on the new template (${ctx.spec.updateStrategy})` });
    }
  }

  private async switchOver(target: string): Promise<void> {
    const { ctx } = this;
    const requestId = `${UPDATE_REQUEST_PREFIX}${Date.now()}`;
    await ctx.deps.patchAnnotations(ctx.namespace, ctx.name, {
      [ANNOTATIONS.plannedFailover]: formatPlannedFailover({ site: target }),
      [ANNOTATIONS.plannedFailoverRequestId]: requestId,
    });
    this.requested = { id: requestId, target };
    ctx.log.info(LOG_MESSAGES.updateSwitchoverRequested, { target, requestId });
    ctx.recordEvent({ type: "Normal", reason: EVENT_REASONS.updateSwitchoverRequested, message: `the primary is the last outdated site: switchover to ${target} requested (${requestId})` });
  }

  /**
   * An event when the update is blocked (a site it did not restart is unhealthy, or no target)
   * and when it is done; not every cycle.
   */
  private report(decision: UpdateDecision): void {
    const { ctx } = this;
    const reason = decision.kind === "wait" ? `${decision.reason}/${decision.site ?? ""}` : decision.kind;
    if (reason === this.lastReason) return;
    const before = this.lastReason;
    this.lastReason = reason;
    if (decision.kind === "wait") {
      ctx.log.info(LOG_MESSAGES.updateWaiting, { reason: decision.reason, message: decision.message });
      const progress = decision.site !== undefined && this.rolled.has(decision.site);
      if ((decision.reason === "WaitingForHealth" && !progress) || decision.reason === "NoSwitchoverTarget") {
        ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.updateBlocked, message: decision.message });
      }
    }
    if (decision.kind === "upToDate" && before !== undefined) {
      this.rolled.clear();
      ctx.log.info(LOG_MESSAGES.updateCompleted, {});
      ctx.recordEvent({ type: "Normal", reason: EVENT_REASONS.updateCompleted, message: "every managed site runs its StatefulSet's current template" });
    }
  }
}
