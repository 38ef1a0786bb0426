import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { EVENT_REASONS } from "../../shared/names.js";
import type { GroupContext } from "./context.js";
import { DONE, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/**
 * Keeps DNS and the node taints following the primary the failover reconciler stands behind:
 * moved right after a promotion, and retried every cycle until they match (a failed DNS write
 * never causes another failover).
 */
export class FollowersReconciler implements Reconciler {
  readonly name = "followers";
  private followed = "";
  /** Why DNS and taints do not follow `followed`'s successor yet. */
  private error: string | undefined;

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    const primary = cycle.primary;
    if (!primary) return DONE;
    if (primary !== this.followed) {
      try {
        await ctx.deps.followPrimary(ctx.group, ctx.spec, primary);
        this.followed = primary;
        this.error = undefined;
        if (cycle.promoted?.site === primary) ctx.deps.metrics.observeFailover(ctx.namespace, ctx.name, "dns", (Date.now() - cycle.promoted.decidedAt) / 1000);
      } catch (err) {
        this.error = errorText(err);
        ctx.deps.metrics.recordFailoverFailure(ctx.namespace, ctx.name, "dns_failed");
        ctx.log.warn(LOG_MESSAGES.dnsUpdateFailed, { site: primary, error: this.error });
        ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.dnsUpdateFailed, message: `moving DNS and taints to ${primary} failed (retried every poll): ${this.error}` });
      }
    }
    cycle.routing = { site: primary, ...(this.followed !== primary && this.error ? { error: this.error } : {}) };
    return DONE;
  }
}
