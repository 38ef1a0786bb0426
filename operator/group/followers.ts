import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { EVENT_REASONS } from "../../shared/names.js";
import type { GroupContext } from "./context.js";
import { DONE, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/**
 * While the watched copies of DNS, nodes and pods cannot tell (not listed yet, or the watch is
 * refused), DNS and taints are read back and corrected this often: a taint removed by hand, a
 * new node matching a site's selector, a DNSEndpoint edited by hand. Each pass reads them (one
 * GET, one node LIST per tainted site) and writes only what differs.
 */
export const ROUTING_RESYNC_MS = 10_000;
/** With the watched copies answering, the read-back pass is only a backstop. */
export const ROUTING_WATCHED_RESYNC_MS = 300_000;

/**
 * Keeps DNS, the node taints and the managed pods' role labels following the primary the
 * failover reconciler stands behind, level-based: brought to the desired state at once when the
 * primary or the spec changes, in any cycle where the watched copies (operator/routing/
 * routing-cache.ts) differ from it, every cycle while the last attempt failed (a failed DNS write
 * never causes another failover), and on a slow resync. Nothing is written while they agree.
 */
export class FollowersReconciler implements Reconciler {
  readonly name = "followers";
  /** The primary, generation and time of the last pass that succeeded. */
  private followed: { site: string; generation: number; at: number } | undefined;
  /** Why the last pass failed; the next cycle tries again. */
  private error: string | undefined;

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    const primary = cycle.primary;
    if (!primary) return DONE;
    const generation = ctx.group.metadata.generation ?? 0;
    const f = this.followed;
    const inSync = ctx.deps.routingInSync(ctx.group, ctx.spec, primary);
    const resyncMs = inSync === undefined ? ROUTING_RESYNC_MS : ROUTING_WATCHED_RESYNC_MS;
    if (this.error !== undefined || f === undefined || f.site !== primary || f.generation !== generation || inSync === false || Date.now() - f.at >= resyncMs) {
      try {
        await ctx.deps.followPrimary(ctx.group, ctx.spec, primary);
        this.followed = { site: primary, generation, at: Date.now() };
        this.error = undefined;
        if (cycle.promoted?.site === primary) ctx.deps.metrics.observeFailover(ctx.namespace, ctx.name, "dns", (Date.now() - cycle.promoted.decidedAt) / 1000);
      } catch (err) {
        this.error = errorText(err);
        ctx.deps.metrics.recordFailoverFailure(ctx.namespace, ctx.name, "dns_failed");
        ctx.log.warn(LOG_MESSAGES.dnsUpdateFailed, { site: primary, error: this.error });
        ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.dnsUpdateFailed, message: `moving DNS and taints to ${primary} failed (retried every poll): ${this.error}` });
      }
    }
    cycle.routing = { site: primary, ...(this.error ? { error: this.error } : {}) };
    return DONE;
  }
}
