import { durableRecord } from "../../shared/failover/decision-input.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { restoreGate } from "../../shared/backup/init-restore.js";
import { bootstrapDecision } from "../../shared/managed/bootstrap.js";
import { isManaged, managedSites } from "../../shared/managed/sites.js";
import type { GroupContext } from "./context.js";
import { DONE, requeue, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/** Making one server writable and confirming it: the same bound as a promotion's unfence. */
const UNFENCE_DEADLINE_MS = 10_000;

/**
 * Gives a new group of managed sites its first primary (shared/managed/bootstrap.ts); the decision
 * core then adopts it and repoints the others onto it. Nothing while a switchover holds the group
 * or maintenance pauses automatic failover.
 */
export class BootstrapReconciler implements Reconciler {
  readonly name = "bootstrap";
  private lastWait = "";

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    const observations = cycle.observations;
    if (!observations || cycle.holdEmergency || cycle.maintenance?.state.active) return DONE;
    if (managedSites(ctx.spec).length === 0) return DONE;
    const decision = bootstrapDecision(
      ctx.spec.sites.map((s) => ({ name: s.name, role: s.role, managed: isManaged(s), observation: observations.get(s.name) })),
      durableRecord(ctx.store.written ?? ctx.group.status, ctx.annotations),
      restoreGate(ctx.spec.initFromBackup, (ctx.store.written ?? ctx.group.status)?.restore),
    );
    if (decision.kind === "wait" && decision.reason !== this.lastWait) ctx.log.info(LOG_MESSAGES.bootstrapWaiting, { reason: decision.reason });
    this.lastWait = decision.kind === "wait" ? decision.reason : "";
    if (decision.kind !== "seed") return DONE;
    await ctx.withSite(decision.site, "bootstrap unfence", (s) => s.flavor.unfence(s), UNFENCE_DEADLINE_MS).finally(() => ctx.madeWritable(decision.site));
    ctx.log.info(LOG_MESSAGES.bootstrapSeeded, { site: decision.site });
    // The next cycle at once: the decision core adopts the new primary and repoints the others.
    return requeue(0);
  }
}
