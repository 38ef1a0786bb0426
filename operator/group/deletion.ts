import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { CLEANUP_FINALIZER, EVENT_REASONS } from "../../shared/names.js";
import type { GroupContext } from "./context.js";
import { DONE, failed, type ReconcileResult, type Reconciler } from "./reconciler.js";

/**
 * The group's finalizer. While the group lives it makes sure the finalizer is on it; once the
 * group is being deleted it is the only reconciler that runs: it removes what garbage collection
 * would not (taints, managed volumes; GroupDeps.cleanUp), then the finalizer. A failed step keeps
 * the finalizer, says which step and why in a CleanupFailed event, and is retried every cycle.
 */
export class DeletionReconciler implements Reconciler {
  readonly name = "deletion";
  readonly whileDeleting = true;
  private lastFailure = "";
  /** The resourceVersion the finalizer was added to: until the informer brings a newer one, it is on. */
  private addedTo: string | undefined;

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(): Promise<ReconcileResult> {
    const { ctx } = this;
    const { metadata } = ctx.group;
    const finalizers = metadata.finalizers ?? [];
    const held = finalizers.includes(CLEANUP_FINALIZER);
    const resourceVersion = metadata.resourceVersion ?? "";
    if (!metadata.deletionTimestamp) {
      if (held || this.addedTo === resourceVersion) return DONE;
      await ctx.deps.setFinalizers(ctx.namespace, ctx.name, [...finalizers, CLEANUP_FINALIZER], resourceVersion);
      this.addedTo = resourceVersion;
      return DONE;
    }
    if (!held) return DONE;
    try {
      await ctx.deps.cleanUp(ctx.group, ctx.spec);
    } catch (err) {
      const message = `cleanup before deletion failed, the group is kept until it succeeds (retried every poll): ${errorText(err)}`;
      if (message !== this.lastFailure) ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.cleanupFailed, message });
      this.lastFailure = message;
      return failed(message);
    }
    await ctx.deps.setFinalizers(ctx.namespace, ctx.name, finalizers.filter((f) => f !== CLEANUP_FINALIZER), resourceVersion);
    ctx.log.info(LOG_MESSAGES.groupCleanedUp, {});
    return DONE;
  }
}
