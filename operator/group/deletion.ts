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
  /** The informer's resourceVersion when the finalizer was added: until the informer brings a newer copy, it is on. */
  private addedTo: string | undefined;

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(): Promise<ReconcileResult> {
    const { ctx } = this;
    const { metadata } = ctx.group;
    const held = (metadata.finalizers ?? []).includes(CLEANUP_FINALIZER);
    if (!metadata.deletionTimestamp) {
      if (held || this.addedTo === metadata.resourceVersion) return DONE;
      // A fresh read: the informer's copy lags behind our own status writes, and a stale
      // resourceVersion would only earn a conflict.
      const fresh = await ctx.deps.readGroup(ctx.namespace, ctx.name);
      const finalizers = fresh.metadata.finalizers ?? [];
      if (!finalizers.includes(CLEANUP_FINALIZER)) await ctx.deps.setFinalizers(ctx.namespace, ctx.name, [...finalizers, CLEANUP_FINALIZER], fresh.metadata.resourceVersion ?? "");
      this.addedTo = metadata.resourceVersion;
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
    const fresh = await ctx.deps.readGroup(ctx.namespace, ctx.name);
    const finalizers = fresh.metadata.finalizers ?? [];
    await ctx.deps.setFinalizers(ctx.namespace, ctx.name, finalizers.filter((f) => f !== CLEANUP_FINALIZER), fresh.metadata.resourceVersion ?? "");
    ctx.log.info(LOG_MESSAGES.groupCleanedUp, {});
    return DONE;
  }
}
