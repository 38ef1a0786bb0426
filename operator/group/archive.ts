import { agentUrls } from "../../shared/managed/sites.js";
import { askArchiver } from "../agent/ask.js";
import type { GroupContext } from "./context.js";
import { DONE, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/** The archive changes at most once a sealed binary log: asking every few seconds is plenty. */
const ASK_EVERY_MS = 10_000;
const ASK_TIMEOUT_MS = 2_000;

/**
 * Reads each site agent's binary log archive (GET /archiver/status) into the
 * bloodraven_archiver_* metrics. A site whose agent archives nothing, or does not answer, has no
 * such series: an alert on a stale last upload then fires on the missing series, not on a number
 * the operator made up. Reads only; it writes nothing and so needs no leadership.
 */
export class ArchiveReconciler implements Reconciler {
  readonly name = "archive";
  private askedAt = -Infinity;
  private asking: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly ctx: GroupContext) {}

  /**
   * Never waits for the agents: an unreachable one would hold the whole cycle (and so failover)
   * for its timeout. The asks run beside the cycle, one round at a time, and set the metrics as
   * their answers arrive.
   */
  async reconcile(_cycle: GroupCycle): Promise<ReconcileResult> {
    const now = performance.now();
    if (this.asking || now - this.askedAt < ASK_EVERY_MS) return DONE;
    this.askedAt = now;
    this.asking = this.askAll().finally(() => {
      this.asking = undefined;
    });
    return DONE;
  }

  private async askAll(): Promise<void> {
    const { ctx } = this;
    const urls = agentUrls(ctx.spec, ctx.name, ctx.namespace, ctx.deps.sidecar !== undefined);
    await Promise.all(
      ctx.spec.sites.map(async ({ name: site }) => {
        const url = urls.get(site);
        const asked = url === undefined ? undefined : await askArchiver(url, ASK_TIMEOUT_MS);
        if (this.stopped) return;
        const archive = asked?.ok ? asked.value : null;
        if (archive === null) {
          ctx.deps.metrics.clearArchiver(ctx.namespace, ctx.name, site);
          return;
        }
        const last = archive.lastArchivedAt === undefined ? 0 : Math.floor(Date.parse(archive.lastArchivedAt) / 1000);
        ctx.deps.metrics.setArchiver(ctx.namespace, ctx.name, site, { uploadFailures: archive.uploadFailures, lastUploadSeconds: last, backlogFiles: archive.backlogFiles });
      }),
    );
  }

  stop(): void {
    this.stopped = true;
    for (const { name } of this.ctx.spec.sites) this.ctx.deps.metrics.clearArchiver(this.ctx.namespace, this.ctx.name, name);
  }
}
