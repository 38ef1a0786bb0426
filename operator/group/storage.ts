import { errorText } from "../../shared/errors.js";
import { claimResizes } from "../../shared/managed/storage.js";
import { EVENT_REASONS } from "../../shared/names.js";
import type { GroupContext } from "./context.js";
import { MANAGED_RESYNC_MS } from "./managed-sites.js";
import { DONE, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/**
 * Grows a managed site's claim to a larger `storage.size` (shared/managed/storage.ts). The API
 * server refuses the patch unless the StorageClass allows expansion; the refusal becomes a
 * StorageResizeFailed event naming the site, and the same request is tried again only every
 * MANAGED_RESYNC_MS or after a spec change, never every poll.
 */
export class StorageReconciler implements Reconciler {
  readonly name = "storage";
  /** claim -> the size last asked for, and when. */
  private readonly asked = new Map<string, { to: string; at: number; generation: number }>();

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    if (!cycle.managed) return DONE;
    const generation = ctx.group.metadata.generation ?? 0;
    for (const resize of claimResizes(ctx.spec.sites, cycle.managed)) {
      const last = this.asked.get(resize.claim);
      if (last?.to === resize.to && last.generation === generation && Date.now() - last.at < MANAGED_RESYNC_MS) continue;
      this.asked.set(resize.claim, { to: resize.to, at: Date.now(), generation });
      const what = `site ${resize.site}: data volume ${resize.claim} from ${resize.from} to ${resize.to}`;
      try {
        await ctx.deps.resizeClaim(ctx.namespace, resize.claim, resize.to);
        ctx.recordEvent({ type: "Normal", reason: EVENT_REASONS.storageResizeRequested, message: `${what}: requested; the StorageClass's driver grows the volume` });
      } catch (err) {
        ctx.recordEvent({
          type: "Warning",
          reason: EVENT_REASONS.storageResizeFailed,
          message: `${what}: refused: ${errorText(err)}. Growing a volume needs a StorageClass with allowVolumeExpansion: true`,
        });
      }
    }
    return DONE;
  }
}
